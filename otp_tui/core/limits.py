"""The limits that must outlive one process, as an interface the core speaks to.

The verification machine decides *what* the rules are, and the rules a ledger applies to its
counts are decided here too, as pure functions (`judge_guess`, `after_success`, `wait_for_room`);
a `LimitsLedger` only keeps the counts and applies those rules atomically, so that many processes
(and restarts, and hosts sharing one ledger) share one truth. `MemoryLedger` below keeps the
counts in dicts; `otp_tui.state.sqlite_ledger` keeps them in SQLite and calls the same functions
inside its transactions; `otp_tui.state.redis_ledger` runs them as Lua scripts on the server,
which a differential test holds to these functions.

Every check-and-count is one ledger step: `reserve_send` checks and records a send against the
address's budget and the budgets shared across addresses at once, and `admit_guess` checks the
lock and counts the guess (as wrong, until it is proved right) before the guess is compared, so
racing processes can never compare more guesses than the window allows.

Times here are wall-clock seconds (what survives a restart), supplied by the ledger's own clock
(the Redis server's, for Redis), never by the machine's monotonic one.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

HOUR = 3600.0

# `locked_until` value for a lock that only an operator's `otp-tui unlock` lifts.
FOREVER = math.inf

# The budget shared by every address in the ledger, as a budget name.
TOTAL = "total"


def lock_end_as_shown(end: float) -> float:
    """The moment a lock ends, as every screen and `otp-tui status` tell it: rounded up to the
    whole minute, so no one is told a time at which the address is still locked."""
    return math.ceil(end / 60) * 60


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger holds for one address, as of the ledger's clock."""

    sends_last_hour: int
    wrong_codes: int  # wrong codes since the last success or the last lock
    consecutive_failures: int  # wrong codes since the last success, across locks
    locked_for: float  # seconds left on the lock; 0 unlocked, FOREVER until an operator unlocks


@dataclass(frozen=True)
class Requester:
    """Who asks for a code: the budgets per identity are kept under these names.

    `user` is the local account running otp-tui; `ssh_client` the SSH client's IP address (only
    the address: no port), when the run comes over SSH. An IPv6 client is counted by its /64,
    which one subscriber usually holds whole, so that walking through it buys nothing.
    """

    user: str | None = None
    ssh_client: str | None = None

    def __post_init__(self) -> None:
        if self.user is not None and (not self.user or not self.user.isprintable()):
            raise ValueError("Requester.user must be a printable, non-empty name")
        if self.ssh_client is not None:
            ipaddress.ip_address(self.ssh_client)  # ValueError for anything but an IP address

    @property
    def budget_names(self) -> tuple[str, ...]:
        names = []
        if self.user is not None:
            names.append(f"user:{self.user}")
        if self.ssh_client is not None:
            client = ipaddress.ip_address(self.ssh_client)
            if isinstance(client, ipaddress.IPv6Address):
                if client.ipv4_mapped is not None:  # an IPv4 client seen through IPv6
                    client = client.ipv4_mapped
                else:
                    names.append(f"ssh:{ipaddress.ip_network((client, 64), strict=False)}")
                    return tuple(names)
            names.append(f"ssh:{client}")
        return tuple(names)


@dataclass(frozen=True)
class SendBudget:
    """Sends allowed per hour: to one address, in the whole ledger, and per requesting identity.

    `requesters` are budget names (`Requester.budget_names`); each gets `per_requester`.
    """

    per_address: int
    total: int
    per_requester: int
    requesters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if min(self.per_address, self.total, self.per_requester) < 1:
            raise ValueError("every per_hour budget must be at least 1")

    def windows(self) -> list[tuple[str, int]]:
        """The shared budgets this send must fit in, as (name, per hour)."""
        return [(TOTAL, self.total), *((name, self.per_requester) for name in self.requesters)]


@dataclass(frozen=True)
class GuessLimits:
    """When wrong codes lock an address (the policy's numbers, handed to the ledger)."""

    max_attempts: int  # wrong codes since the last lock that lock the address for `lockout`
    lockout: float
    max_consecutive_failures: int  # wrong codes without a success that lock it FOREVER


@dataclass(frozen=True)
class GuessRefused:
    """The address is locked: the guess must not be compared."""

    locked_for: float


@dataclass(frozen=True)
class GuessAdmitted:
    """The guess may be compared; it is already counted as wrong.

    `attempts_left`: wrong codes still allowed after this one. `lock`: the lock this guess set
    off (`lockout` seconds or FOREVER) because it reached a limit, None if it did not; a guess
    that then matches lifts that lock again through `record_success` with its token.
    """

    attempts_left: int
    lock: float | None = None


GuessVerdict = GuessRefused | GuessAdmitted


class LimitsLedger(Protocol):
    """Atomic counters per address and per budget. Every method is one short, atomic step."""

    def status(self, address: str) -> LedgerEntry: ...

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        """Record a send if it fits in every budget of `budget` for the last hour.

        Returns 0 when the send was recorded (against the address and every shared budget),
        else the seconds until it would fit in all of them; a refused send records nothing.
        """
        ...

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        """Before a guess is compared: refuse it if the address is locked, else count it.

        The guess counts as a wrong code at once; if that reaches `max_consecutive_failures`
        the address is locked FOREVER, else if it reaches `max_attempts` it is locked for
        `lockout` (restarting `wrong_codes`), all in this one step. `token` (unique per guess)
        marks a lock set off here, so that `record_success` lifts that lock and no other.
        """
        ...

    def record_success(self, address: str, token: str | None = None) -> None:
        """A verified address: clear wrong codes and consecutive failures, and lift the lock
        the guess with `token` set off, if it is still in place. Any other lock stays."""
        ...

    def unlock(self, address: str) -> None:
        """The operator's override: lift any lock and clear the failure counts."""
        ...


@dataclass(frozen=True)
class GuessCounts:
    """What a ledger keeps about one address's guesses, as the guess rules read and write it.

    `locked_until` is a wall-clock time (0 for no lock, FOREVER until an operator unlocks);
    `lock_token` the token of the guess that set the lock off, if that guess may lift it.
    """

    wrong_codes: int = 0
    consecutive_failures: int = 0
    locked_until: float = 0.0
    lock_token: str | None = None


# -- the rules every ledger applies (the Lua scripts of the Redis ledger are held to these by a
# differential test: same inputs, same answers) ----------------------------------------------------


def judge_guess(
    counts: GuessCounts, limits: GuessLimits, token: str, now: float
) -> tuple[GuessVerdict, GuessCounts]:
    """The guess decision: refused while locked, else counted as wrong at once; the guess that
    reaches `max_consecutive_failures` locks FOREVER, else the one that reaches `max_attempts`
    locks for `lockout` (restarting `wrong_codes`). The verdict and the counts to keep."""
    if counts.locked_until - now > 0:
        return GuessRefused(counts.locked_until - now), counts
    wrong = counts.wrong_codes + 1
    consecutive = counts.consecutive_failures + 1
    attempts_left = max(0, limits.max_attempts - wrong)
    if consecutive >= limits.max_consecutive_failures:
        lock = FOREVER
    elif attempts_left == 0:
        lock = float(limits.lockout)
    else:
        return GuessAdmitted(attempts_left), replace(
            counts, wrong_codes=wrong, consecutive_failures=consecutive
        )
    # Never shorten a lock already in place (an ended one is in the past: max keeps it moot).
    locked = GuessCounts(0, consecutive, max(counts.locked_until, now + lock), token)
    return GuessAdmitted(0, lock), locked


def after_success(counts: GuessCounts, token: str | None) -> GuessCounts:
    """A verified address: the failure counts restart, and the lock the guess with `token` set
    off is lifted if it is still the one in place. Any other lock stays."""
    if token is not None and counts.lock_token == token:
        return GuessCounts()
    return replace(counts, wrong_codes=0, consecutive_failures=0)


def recent(stamps: Iterable[float], now: float) -> list[float]:
    """The stamps that still count, oldest first: those of the last hour. A stamp in the future
    (the wall clock went back) still counts: fail closed."""
    return sorted(t for t in stamps if t > now - HOUR)


def wait_for_room(stamps: Iterable[float], per_hour: int, now: float) -> float:
    """0 if one more send fits among `stamps` in a window of `per_hour` an hour, else the seconds
    until the stamp that must age out does; never reported as under a second."""
    counted = recent(stamps, now)
    if len(counted) < per_hour:
        return 0.0
    return max(counted[len(counted) - per_hour] + HOUR - now, 1.0)


def wait_for_send(
    address_stamps: Iterable[float],
    budget: SendBudget,
    shared_stamps: Mapping[str, Iterable[float]],
    now: float,
) -> float:
    """0 if a send fits in the address's budget and every shared one (`shared_stamps` by budget
    name; a budget with none may be absent), else the longest of their waits."""
    waits = [wait_for_room(address_stamps, budget.per_address, now)]
    waits += [
        wait_for_room(shared_stamps.get(name, ()), per_hour, now)
        for name, per_hour in budget.windows()
    ]
    return max(waits)


class MemoryLedger:
    """A `LimitsLedger` in dicts: the rules above with nothing around them, and the reference
    the SQLite and Redis ledgers are tested against. A lock makes each method one step for
    callers in several threads."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._guesses: dict[str, GuessCounts] = {}
        self._sends: dict[str, list[float]] = {}
        self._budgets: dict[str, list[float]] = {}
        self._mutex = threading.RLock()

    def status(self, address: str) -> LedgerEntry:
        with self._mutex:
            counts = self._guesses.get(address, GuessCounts())
            now = self._clock()
            return LedgerEntry(
                sends_last_hour=len(recent(self._sends.get(address, ()), now)),
                wrong_codes=counts.wrong_codes,
                consecutive_failures=counts.consecutive_failures,
                locked_for=max(0.0, counts.locked_until - now),
            )

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        with self._mutex:
            now = self._clock()
            sends = self._sends[address] = recent(self._sends.get(address, ()), now)
            for name, _per_hour in budget.windows():
                self._budgets[name] = recent(self._budgets.get(name, ()), now)
            wait = wait_for_send(sends, budget, self._budgets, now)
            if wait > 0:
                return wait
            sends.append(now)
            for name, _per_hour in budget.windows():
                self._budgets[name].append(now)
            return 0.0

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        with self._mutex:
            counts = self._guesses.get(address, GuessCounts())
            verdict, self._guesses[address] = judge_guess(counts, limits, token, self._clock())
            return verdict

    def record_success(self, address: str, token: str | None = None) -> None:
        with self._mutex:
            self._guesses[address] = after_success(self._guesses.get(address, GuessCounts()), token)

    def unlock(self, address: str) -> None:
        with self._mutex:
            self._guesses[address] = GuessCounts()
