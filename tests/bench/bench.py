"""otp-tui's benchmark: start-up, memory, responsiveness, send time and the ledger under load.

    python tests/bench/bench.py [--runs N] [--screen-runs N] [--json PATH]
                                [--only-link | --only-ledger]

Everything runs for real on this machine: the apps in pseudo-terminals at 80x24, an aiosmtpd
server with STARTTLS on 127.0.0.1, a listener that never answers, an SQLite ledger in a temp
directory, redis-server alone, behind Sentinel and as a Cluster. HOME and the XDG directories
point into that temp directory, so the real home is never touched, and nothing leaves
127.0.0.1. Each comparison alternates its two sides run by run, so drift on the machine hits
both alike. Every wait is bounded.

The ledger step times one check-and-record (`admit_guess`) on Redis alone, behind Sentinel (the
ledger waiting for one replica) and on a Cluster, in turns with bare round trips to the server
that holds the address's keys (a bare socket, commands packed once, no client library) and with
a peer. Two budgets. The ledger's script, sent bare with the ledger's arguments, within 1.5x of
the least script that keeps a count on the same key (`least_check_and_record.lua`: read the
hash, write it back, answer 1), each with a WAIT 1 after it behind Sentinel: what the script
does and sends back. And the whole ledger call, client and all, faster than alisaifee/limits'
moving-window hit() on the same server. A bare TIME, the floor first named for it, is shown and
not budgeted: any script costs the server more than a TIME (the least one 2.7 µs by INFO
commandstats, a TIME 0.11 µs), so the least script alone is 1.1-1.7x a TIME here, leaving
nothing for the ledger's own work. The whole call against the least script is shown too, with
the client's share (the whole call less its script sent bare): a cost in Python paid per call
whatever the round trip, 14-43 µs on this busy two-core machine, which a loopback round trip of
9 µs cannot hide and one of 80 µs mostly does.

Prints a table, writes it as JSON (default tests/bench/results.json), and exits 1 if a budget
fails. Not part of the test run: pytest collects only test_*.py files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import re
import select
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ptyprocess
import trustme
from aiosmtpd.smtp import SMTP, Envelope, Session

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ROWS, COLS = 24, 80

# The otp-tui measured is the checkout this file is in, ahead of any installed copy (an editable
# install may point at another checkout): here, in the ledger workers, and in every program the
# benchmark starts (PYTHONPATH, below).
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(HERE.parent / "e2e"))
sys.path.insert(0, str(HERE.parent))
from vt_screen import Screen  # noqa: E402 - the tests' own terminal screen

CODE_LINE = re.compile(r"Your verification code for .+ is:\s*(\d+)")
VERIFIED = re.compile(rb"Verified")

ADDRESS_SCREEN = re.compile(rb"Verify your email address")
SENDING_SCREEN = re.compile(rb"Sending a code to")
CODE_SCREEN = re.compile(rb"Enter the code")
SEND_FAILED = re.compile(rb"Could not send")

# Textual asks the terminal for the kitty keyboard protocol (CSI > 1 u), in which Escape arrives
# as CSI 27 u. A bare ESC byte would instead wait out Textual's ESCDELAY (100 ms) to tell it from
# the start of a sequence: a property of old terminals, not of the app being measured.
KEY_ESCAPE = b"\x1b[27u"
KEY_ENTER = b"\r"
KEY_BACKSPACE = b"\x7f"
KEY_QUIT = b"\x11"  # ctrl+q: quits both apps

# Seconds between typing the address and pressing Enter: a person takes at least this long.
TYPING_TIME = 2.0

WAIT = 20.0  # the longest any single step may take before the run is declared failed

BUDGETS = {
    "first_screen": 1.10,
    "peak_rss": 1.15,
    "responsiveness": 1.20,
    "send_time": 1.50,
    "first_frame": 1.50,  # bytes until the first screen is drawn, against the bare floor's
    "idle_cpu": 2.00,  # CPU time while a screen idles, against the bare floor's
    "key_echo": 1.30,  # a typed character until it shows, against a bare Textual Input
}
ABSOLUTE_BUDGETS = {
    # Bytes a second while a screen idles (the bare floor changes one label a second).
    "idle_bytes_address": 0.0,
    "idle_bytes_code": 300.0,
    "idle_bytes_sending": 300.0,
    "idle_bytes_result": 0.0,
    # Bytes written after the first frame, within FIRST_FRAME_WINDOW of it: nothing changed.
    "first_frame_after": 0.0,
}
FIRST_FRAME_WINDOW = 3.0  # seconds after the first screen shows, for what is drawn after it
FRAME_GAP = 0.1  # seconds of silence that end a frame's burst of output
IDLE_SETTLE = 2.0  # seconds a screen is left alone before its idle output is counted


STAT_NAMES = {"paired": "median of run ratios"}


class BenchError(Exception):
    """A step did not happen within its bound, or a part misbehaved."""


# --- numbers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile, linearly interpolated (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "p25": percentile(values, 25),
        "p75": percentile(values, 75),
        "p95": percentile(values, 95),
    }


# --- a pseudo-terminal that records when each byte arrived --------------------------------


class Terminal:
    """One program in a pseudo-terminal at 80x24; a thread drains its output as it comes."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path) -> None:
        self._cond = threading.Condition()
        self._buffer = bytearray()
        self._chunks: list[tuple[int, float]] = []  # (end offset, arrival time)
        self._closed = False
        self.screen = Screen(COLS, ROWS)  # what a terminal shows, fed as the output arrives
        self.started = time.perf_counter()
        self.process = ptyprocess.PtyProcess.spawn(
            list(argv), env=env, cwd=str(cwd), dimensions=(ROWS, COLS)
        )
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def _drain(self) -> None:
        fd = self.process.fd
        while True:
            try:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    if not self.process.isalive():
                        break
                    continue
                data = os.read(fd, 65536)
            except OSError:  # EIO: the program has gone and the terminal is closed
                break
            if not data:
                break
            now = time.perf_counter()
            with self._cond:
                self.screen.feed(data)
                self._buffer += data
                self._chunks.append((len(self._buffer), now))
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def offset(self) -> int:
        with self._cond:
            return len(self._buffer)

    def send(self, data: bytes) -> float:
        """Write keys as a terminal would; returns the time just before the write."""
        now = time.perf_counter()
        os.write(self.process.fd, data)
        return now

    def wait_for(self, pattern: re.Pattern[bytes], since: int, timeout: float = WAIT) -> float:
        """When the output from offset `since` on first matched `pattern` (its last byte's time)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                match = pattern.search(self._buffer, max(0, since))
                if match is not None:
                    last = match.end() - 1
                    return next(t for end, t in self._chunks if end > last)
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    tail = bytes(self._buffer[-600:])
                    state = "exited" if self._closed else f"no match within {timeout:g} s"
                    raise BenchError(f"{pattern.pattern!r}: {state}; output ends {tail!r}")
                self._cond.wait(min(remaining, 0.5))

    def wait_screen(self, shows: Callable[[Screen], bool], timeout: float = WAIT) -> float:
        """When the screen first satisfied `shows` (the arrival time of the output that did it,
        or now if it already does)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if shows(self.screen):
                    return self._chunks[-1][1] if self._chunks else time.perf_counter()
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    raise BenchError(
                        f"the screen never showed what was awaited:\n{self.screen.text}"
                    )
                self._cond.wait(min(remaining, 0.5))

    def chunks(self) -> tuple[bytes, list[tuple[int, float]]]:
        with self._cond:
            return bytes(self._buffer), list(self._chunks)

    def cpu_seconds(self) -> float:
        """CPU time of all the program's threads so far (schedstat: nanoseconds, not ticks)."""
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9

    def peak_rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            raise BenchError(f"no VmHWM for pid {self.pid}")
        return int(match.group(1))

    def close(self) -> None:
        """Quit with ctrl+q; kill the program if it has not gone within 5 s."""
        with suppress(OSError):
            self.send(KEY_QUIT)
        deadline = time.monotonic() + 5
        while self.process.isalive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.process.isalive():
            self.process.terminate(force=True)
        self._reader.join(timeout=5)
        with suppress(OSError):
            self.process.close(force=True)


# --- loopback servers ---------------------------------------------------------------------


class _Counting:
    """aiosmtpd handler: accepts every message, counts it, and keeps each one's code."""

    def __init__(self) -> None:
        self.messages = 0
        self.codes: dict[str, str] = {}  # recipient -> the code in the newest message

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        import email
        from email.message import Message

        self.messages += 1
        message = email.message_from_bytes(envelope.original_content or b"")
        for part in message.walk():
            payload = part.get_payload(decode=True) if isinstance(part, Message) else None
            if part.get_content_type() == "text/plain" and isinstance(payload, bytes):
                found = CODE_LINE.search(payload.decode("utf-8", "replace"))
                if found is not None:
                    for recipient in envelope.rcpt_tos:
                        self.codes[recipient] = found.group(1)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS required, in its own thread and event loop."""

    def __init__(self, server_context: ssl.SSLContext) -> None:
        self.handler = _Counting()
        self._loop = asyncio.new_event_loop()
        self._context = server_context
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def __enter__(self) -> SmtpServer:
        self._thread.start()

        async def start() -> asyncio.Server:
            def protocol() -> SMTP:
                return SMTP(
                    self.handler,
                    hostname="localhost",  # not socket.getfqdn(), which may query DNS
                    tls_context=self._context,
                    require_starttls=True,
                )

            # Not aiosmtpd's Controller: it cannot take port 0.
            return await asyncio.get_running_loop().create_server(
                protocol, host="127.0.0.1", port=0
            )

        self._server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(WAIT)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

        with suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


class StallingListener:
    """A loopback TCP listener that accepts connections and never says a word.

    With `refuse` set, it greets each new connection with 554 instead, and so refuses the send.
    """

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._accepted = threading.Condition()
        self.accepted = 0
        self.refuse = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            if self.refuse:
                with suppress(OSError):
                    connection.sendall(b"554 no service here\r\n")
            self._held.append(connection)
            with self._accepted:
                self.accepted += 1
                self._accepted.notify_all()

    def wait_accepted(self, count: int, timeout: float = WAIT) -> None:
        with self._accepted:
            if not self._accepted.wait_for(lambda: self.accepted >= count, timeout):
                raise BenchError(f"the stalling listener never saw connection {count}")

    def __enter__(self) -> StallingListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._held:
            connection.close()
        self._socket.close()


# --- the workspace: temp home, configuration files, commands ------------------------------


def _byte_compile_otp_tui() -> None:
    """Byte-compile the package, as pip does when it installs a wheel.

    An editable install under PYTHONDONTWRITEBYTECODE (set on this machine) would otherwise
    compile every otp_tui module from source at each start, which no installed copy does; the
    libraries on both sides of the comparison are already compiled.
    """
    import compileall

    package = Path(__file__).resolve().parents[2] / "otp_tui"
    if not compileall.compile_dir(str(package), quiet=1):
        raise BenchError(f"could not byte-compile {package}")


@dataclass
class Workspace:
    root: Path
    ca_file: Path
    server_context: ssl.SSLContext
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def create(cls) -> Iterator[Workspace]:
        with tempfile.TemporaryDirectory(prefix="otp-tui-bench-") as name:
            root = Path(name)
            ca = trustme.CA()
            ca_file = root / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            workspace = cls(root, ca_file, context)
            workspace.env = workspace._environment()
            _byte_compile_otp_tui()
            yield workspace

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OTP_TUI_", "TEXTUAL", "REFERENCE_"))
            and key not in ("NO_COLOR", "ESCDELAY")
        }
        home = self.root / "home"
        for name, path in {
            "HOME": home,
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_STATE_HOME": home / ".local/state",
            "XDG_DATA_HOME": home / ".local/share",
            "XDG_CACHE_HOME": home / ".cache",
        }.items():
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        env.update(TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env.pop("LC_ALL", None)
        env.pop("SSH_CONNECTION", None)
        return env

    def otp_config(self, name: str, port: int, *, timeout: float = 15) -> Path:
        """A production-shaped otp-tui configuration: a real server, STARTTLS, a sender."""
        path = self.root / f"{name}.toml"
        path.write_text(
            "[smtp]\n"
            'host = "127.0.0.1"\n'
            f"port = {port}\n"
            'security = "starttls"\n'
            f'ca_file = "{self.ca_file}"\n'
            f"timeout = {timeout}\n"
            "[sender]\n"
            'address = "otp@example.com"\n'
            "[policy]\n"
            # The benchmark sends many codes to one address; the default hourly budget is 5.
            "max_sends_per_hour = 100000\n"
            "max_sends_per_hour_total = 100000\n"
            "max_sends_per_hour_per_requester = 100000\n"
        )
        return path

    def reference_config(self, port: int) -> Path:
        path = self.root / "reference.toml"
        path.write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {port}\n[sender]\naddress = "otp@example.com"\n'
        )
        return path

    def otp_tui(self, config: Path, *args: str) -> Terminal:
        argv = [*otp_tui_command(), "--config", str(config), *args]
        return Terminal(argv, self.env, self.root)

    def bare(self, kind: str) -> Terminal:
        """tests/bench/bare_textual.py: `label` (one label, updated once a second) or `input`."""
        argv = [sys.executable, str(HERE / "bare_textual.py"), kind]
        return Terminal(argv, self.env, self.root)

    def reference(self, config: Path) -> Terminal:
        argv = [sys.executable, str(HERE / "reference_app.py"), str(config)]
        return Terminal(argv, self.env, self.root)


def otp_tui_command() -> list[str]:
    """The console script installed next to this interpreter, as a user runs it."""
    script = Path(sys.executable).parent / "otp-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "otp_tui"]


def alternate(runs: int) -> Iterator[tuple[int, bool]]:
    """(run index, whether otp-tui goes first); run -1 is a warm-up whose figures are dropped."""
    for run in range(-1, runs):
        yield run, run % 2 == 0


def jitter() -> None:
    # A random pause, so keystrokes do not fall into step with the app's timers.
    time.sleep(random.uniform(0.15, 0.35))


# --- 1 and 2: first screen and peak RSS ---------------------------------------------------


def first_screen(workspace: Workspace, runs: int) -> dict[str, Any]:
    """Start to first screen and peak RSS: otp-tui, the stack's floor (Textual and
    pydantic-settings: reference_app.py) and bare Textual (bare_textual.py input), in turn."""
    otp_config = workspace.otp_config("first-screen", port=9)  # never contacted at start-up
    reference_config = workspace.reference_config(port=9)
    times: dict[str, list[float]] = {"otp-tui": [], "reference": [], "bare": []}
    rss: dict[str, list[float]] = {"otp-tui": [], "reference": [], "bare": []}
    starts = {
        "otp-tui": lambda: workspace.otp_tui(otp_config),
        "reference": lambda: workspace.reference(reference_config),
        "bare": lambda: workspace.bare("input"),
    }

    def one(side: str) -> tuple[float, int]:
        terminal = starts[side]()
        try:
            drawn = terminal.wait_for(ADDRESS_SCREEN, 0)
            peak = terminal.peak_rss_kib()
        finally:
            terminal.close()
        return drawn - terminal.started, peak

    for run, otp_first in alternate(runs):
        pair = ["otp-tui", "reference"] if otp_first else ["reference", "otp-tui"]
        for side in [*pair, "bare"] if run % 4 < 2 else ["bare", *pair]:
            seconds, peak = one(side)
            if run >= 0:
                times[side].append(seconds)
                rss[side].append(peak / 1024)
    return {"times": times, "rss": rss}


# --- 3: responsiveness while the server stalls --------------------------------------------


def responsiveness(workspace: Workspace, runs: int, pairs: int) -> dict[str, list[float]]:
    """Keystroke to screen change, while the server stalls and while nothing is in flight.

    On the sending screen Escape is the one key that does anything while a send is under way,
    and its screen change is a whole one: cancel the send, pop the screen, redraw the address
    screen. So the budget compares like with like, in one process, alternating:

    - stalled: Escape on the sending screen while the server has accepted the connection and
      says nothing (and would say nothing for 600 s), until the address screen is drawn;
    - idle: the same Escape, on the same screen, after the server refused the send (a 554
      greeting), so nothing is in flight, until the address screen is drawn.

    Also measured, against no budget: one character typed into the address field of the idle
    address screen, until it is drawn. That changes one line, not the whole screen, so it is
    cheaper than any screen change: it shows the floor of key-to-screen latency.
    """
    samples: dict[str, list[float]] = {"stalled": [], "idle": [], "typing": []}
    address = b"bench@example.com"
    with StallingListener() as listener:
        config = workspace.otp_config("stall", listener.port, timeout=600)

        def escape_back(terminal: Terminal, stall: bool) -> float:
            listener.refuse = not stall
            seen = listener.accepted
            mark = terminal.offset()
            terminal.send(KEY_ENTER)
            listener.wait_accepted(seen + 1)
            # A stalled send gets the sending screen after a moment; a refused one goes
            # straight to the failure.
            terminal.wait_for(SENDING_SCREEN if stall else SEND_FAILED, mark)
            jitter()
            mark = terminal.offset()
            pressed = terminal.send(KEY_ESCAPE)
            return terminal.wait_for(ADDRESS_SCREEN, mark) - pressed

        def typing(terminal: Terminal, row: int, col: int) -> float:
            # Read off the screen, as a terminal shows it: only what changed is sent, so the
            # Backspace that takes the x away sends no text at all.
            shown = address.decode() + "x"

            def echoed(screen: Screen) -> bool:
                return screen.line(row)[col : col + len(shown)] == shown

            jitter()
            pressed = terminal.send(b"x")
            took = terminal.wait_screen(echoed) - pressed
            terminal.send(KEY_BACKSPACE)
            terminal.wait_screen(lambda screen: not echoed(screen))
            return took

        for run in range(-1, runs):
            terminal = workspace.otp_tui(config)
            try:
                row, col = _entry_at(terminal, "you@example.com")
                _type_address(terminal, address)
                for pair in range(pairs):
                    order = ["stalled", "idle"] if (run + pair) % 2 == 0 else ["idle", "stalled"]
                    for side in [*order, "typing"]:
                        if side == "typing":
                            took = typing(terminal, row, col)
                        else:
                            took = escape_back(terminal, stall=side == "stalled")
                        if run >= 0:
                            samples[side].append(took)
            finally:
                terminal.close()
    return samples


# --- 4: send time -------------------------------------------------------------------------


class BareSender:
    """tests/bench/bare_send.py: aiosmtplib.send of the same message, one per line on stdin."""

    def __init__(self, workspace: Workspace, port: int, to: str) -> None:
        argv = [sys.executable, str(HERE / "bare_send.py"), str(port), str(workspace.ca_file), to]
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=workspace.env,
            cwd=workspace.root,
        )
        self.read_line()  # "ready"

    def read_line(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], WAIT)
        if not ready:
            raise BenchError("the bare sender did not answer")
        return self.process.stdout.readline().decode().strip()

    def send(self) -> float:
        assert self.process.stdin is not None
        started = time.perf_counter()
        self.process.stdin.write(b"\n")
        self.process.stdin.flush()
        line = self.read_line()
        took = time.perf_counter() - started
        if line != "sent":
            raise BenchError(f"bare send failed: {line}")
        return took

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def send_time(workspace: Workspace, runs: int) -> dict[str, Any]:
    """Enter on the address screen until the code screen is drawn, vs a bare aiosmtplib send.

    Each otp-tui run is a fresh process sending its first code, as a user does. The address is
    typed in one go and Enter pressed TYPING_TIME later, about as fast as a person types an
    address: otp-tui uses that time to load what the send needs (the mail stack and the TLS
    trust store), which it keeps off the start-up path. The bare side waits as long before its
    send, and builds its TLS context inside the timed send, as aiosmtplib.send does.
    """
    times: dict[str, list[float]] = {"otp-tui": [], "bare": []}
    with SmtpServer(workspace.server_context) as server:
        config = workspace.otp_config("send", server.port)
        expected = 0

        def otp_tui(run: int) -> float:
            address = f"send{run + 1}@example.com".encode()
            terminal = workspace.otp_tui(config)
            try:
                terminal.wait_for(ADDRESS_SCREEN, 0)
                mark = terminal.offset()
                terminal.send(address)
                terminal.wait_for(re.compile(re.escape(address)), mark)
                time.sleep(TYPING_TIME)
                jitter()
                mark = terminal.offset()
                pressed = terminal.send(KEY_ENTER)
                return terminal.wait_for(CODE_SCREEN, mark) - pressed
            finally:
                terminal.close()

        def bare(run: int) -> float:
            sender = BareSender(workspace, server.port, f"bare{run + 1}@example.com")
            try:
                time.sleep(TYPING_TIME)
                jitter()
                return sender.send()
            finally:
                sender.close()

        for run, otp_first in alternate(runs):
            for side in ("otp-tui", "bare") if otp_first else ("bare", "otp-tui"):
                took = otp_tui(run) if side == "otp-tui" else bare(run)
                expected += 1
                if run >= 0:
                    times[side].append(took)
        if server.handler.messages != expected:
            raise BenchError(f"the server got {server.handler.messages} of {expected} messages")
    return times


# --- 5: over a slow link: the first frame, idle output and CPU, key echo ----------------------


def _first_burst_end(chunks: list[tuple[int, float]], shown_at: float) -> tuple[int, float]:
    """The offset and time at which the output burst that drew the first screen ended: the
    first silence of FRAME_GAP seconds after the screen showed."""
    previous = None
    for end, arrived in chunks:
        if previous is not None and previous[1] >= shown_at and arrived - previous[1] >= FRAME_GAP:
            return previous
        previous = (end, arrived)
    assert previous is not None
    return previous


def first_frame(workspace: Workspace, runs: int) -> dict[str, dict[str, list[float]]]:
    """Bytes until the first screen is drawn, and bytes drawn after it while nothing changes.

    The bare floor is tests/bench/bare_textual.py's label app: Textual itself, drawing one
    line. The first frame is everything written from the start until the first silence of
    FRAME_GAP seconds after the first screen's title arrived (terminal set-up included); what
    comes in the FIRST_FRAME_WINDOW seconds after that is "after" (the floor updates its label
    once a second there, so its "after" is not a floor for anything).
    """
    config = workspace.otp_config("first-frame", port=9)  # never contacted at start-up
    sides = {
        "otp-tui": lambda: workspace.otp_tui(config),
        "otp-tui --demo": lambda: workspace.otp_tui(config, "--demo"),
        "bare": lambda: workspace.bare("label"),
    }
    out: dict[str, dict[str, list[float]]] = {"first": {}, "after": {}}
    for run in range(-1, runs):
        order = list(sides)
        random.shuffle(order)
        for side in order:
            terminal = sides[side]()
            try:
                shown = terminal.wait_for(ADDRESS_SCREEN, 0)
                time.sleep(FRAME_GAP + FIRST_FRAME_WINDOW)
                _, chunks = terminal.chunks()
            finally:
                terminal.close()
            end, ended = _first_burst_end(chunks, shown)
            after = max(
                (offset for offset, at in chunks if at <= ended + FIRST_FRAME_WINDOW), default=end
            )
            if run >= 0:
                out["first"].setdefault(side, []).append(end)
                out["after"].setdefault(side, []).append(after - end)
    return out


def _type_address(terminal: Terminal, address: bytes) -> None:
    terminal.wait_for(ADDRESS_SCREEN, 0)
    mark = terminal.offset()
    terminal.send(address)
    terminal.wait_for(re.compile(re.escape(address)), mark)


def _to_code_screen(terminal: Terminal, address: str) -> None:
    _type_address(terminal, address.encode())
    mark = terminal.offset()
    terminal.send(KEY_ENTER)
    terminal.wait_for(CODE_SCREEN, mark)


def idle(workspace: Workspace, runs: int, window: float) -> dict[str, dict[str, list[float]]]:
    """Bytes a second and share of a CPU while each screen sits untouched, beside the floor.

    Each run starts the bare floor (one label updated once a second) and otp-tui on each of its
    screens at once: the address screen; the code screen (its countdown running); the sending
    screen while the server has accepted the connection and says nothing; the result screen
    after the right code. Once all are there and IDLE_SETTLE seconds have passed, the same
    `window` seconds are counted for all of them: bytes from the pty, CPU time from schedstat.
    """
    out: dict[str, dict[str, list[float]]] = {"bytes": {}, "cpu": {}}
    with SmtpServer(workspace.server_context) as server, StallingListener() as listener:
        mail = workspace.otp_config("idle", server.port)
        stall = workspace.otp_config("idle-stall", listener.port, timeout=600)
        for run in range(-1, runs):
            terminals: dict[str, Terminal] = {}
            try:
                terminals["bare"] = workspace.bare("label")
                terminals["address"] = workspace.otp_tui(mail)
                terminals["code"] = workspace.otp_tui(mail)
                terminals["sending"] = workspace.otp_tui(stall)
                terminals["result"] = workspace.otp_tui(mail)
                terminals["bare"].wait_for(ADDRESS_SCREEN, 0)
                terminals["address"].wait_for(ADDRESS_SCREEN, 0)
                _to_code_screen(terminals["code"], f"idle-code{run + 1}@example.com")
                sending = terminals["sending"]
                _type_address(sending, b"idle-sending@example.com")
                mark = sending.offset()
                sending.send(KEY_ENTER)
                sending.wait_for(SENDING_SCREEN, mark)
                result = terminals["result"]
                address = f"idle-result{run + 1}@example.com"
                _to_code_screen(result, address)
                mark = result.offset()
                result.send(server.handler.codes[address].encode())
                result.wait_for(VERIFIED, mark)
                time.sleep(IDLE_SETTLE)
                before = {name: (t.offset(), t.cpu_seconds()) for name, t in terminals.items()}
                started = time.perf_counter()
                time.sleep(window)
                after = {name: (t.offset(), t.cpu_seconds()) for name, t in terminals.items()}
                took = time.perf_counter() - started
            finally:
                for terminal in terminals.values():
                    terminal.close()
            if run >= 0:
                for name in terminals:
                    written = after[name][0] - before[name][0]
                    cpu = after[name][1] - before[name][1]
                    out["bytes"].setdefault(name, []).append(written / took)
                    out["cpu"].setdefault(name, []).append(cpu / took * 100)
    return out


def _entry_at(terminal: Terminal, placeholder: str) -> tuple[int, int]:
    """Where an empty entry's text starts: where its placeholder shows."""
    found: list[tuple[int, int]] = []

    def shows(screen: Screen) -> bool:
        place = screen.find(placeholder)
        if place is not None:
            found.append(place)
        return place is not None

    terminal.wait_screen(shows)
    return found[-1]


def key_echo(workspace: Workspace, runs: int, pairs: int) -> dict[str, list[float]]:
    """A typed character until the terminal shows it, against a bare Textual Input.

    Each run starts the bare Input app (tests/bench/bare_textual.py input), otp-tui on its
    address screen and otp-tui on its code screen. Each sample types one character into one of
    them, in random order, and waits until the screen (read by tests/vt_screen.py, as a
    terminal would) shows it in the entry; a Backspace then takes it away again. The address and
    the bare entry hold an address already, as when a person corrects one.
    """
    out: dict[str, list[float]] = {"bare": [], "address": [], "code": []}
    typed = "bench@example.com"
    with SmtpServer(workspace.server_context) as server:
        config = workspace.otp_config("echo", server.port)
        for run in range(-1, runs):
            terminals: dict[str, Terminal] = {}
            try:
                terminals["bare"] = workspace.bare("input")
                terminals["address"] = workspace.otp_tui(config)
                terminals["code"] = workspace.otp_tui(config)
                origins = {}
                for name in ("bare", "address"):
                    origins[name] = _entry_at(terminals[name], "you@example.com")
                    _type_address(terminals[name], typed.encode())
                _to_code_screen(terminals["code"], f"echo{run + 1}@example.com")
                origins["code"] = _entry_at(terminals["code"], "6 digits")
                for _ in range(pairs):
                    order = list(out)
                    random.shuffle(order)
                    for name in order:
                        terminal = terminals[name]
                        row, col = origins[name]
                        value, key = ("", b"5") if name == "code" else (typed, b"x")
                        shown = value + key.decode()

                        def echoed(screen: Screen, row: int = row, col: int = col) -> bool:
                            return screen.line(row)[col : col + len(shown)] == shown  # noqa: B023

                        def gone(screen: Screen, row: int = row, col: int = col) -> bool:
                            return screen.line(row)[col : col + len(shown)] != shown  # noqa: B023

                        jitter()
                        pressed = terminal.send(key)
                        took = terminal.wait_screen(echoed) - pressed
                        terminal.send(KEY_BACKSPACE)
                        terminal.wait_screen(gone)
                        if run >= 0:
                            out[name].append(took)
            finally:
                for terminal in terminals.values():
                    terminal.close()
    return out


# --- 6: the ledger on Redis, beside the round trips it needs and a peer doing less ---------

# The ledger's script within 1.5x of the least server-side script that keeps a count on the same
# key (both over a bare socket; with ledger_replicas, a WAIT 1 after each), on every topology, and
# the whole ledger call faster than alisaifee/limits' moving-window hit() on the same server (the
# module's docstring says why these and not 1.5x of a bare TIME). SQLite is shown for reference.
LEDGER_BUDGET = 1.5
LEDGER_LIMITS = (10**9, 900.0, 10**9)  # GuessLimits that never lock: every guess is counted
LATENCY_BLOCKS = 10  # the timed calls of each side come in this many blocks, the sides in turn
LEDGER_ADDRESS = "latency@example.com"
LEAST_SCRIPT = HERE / "least_check_and_record.lua"


def _open_bench_ledger(spec: str) -> Any:
    """A ledger from a spec: an SQLite path, or a Redis URL with `#replicas=N` after it."""
    if spec.startswith(("redis://", "redis+")):
        from otp_tui.state.redis_ledger import RedisLedger

        url, _, replicas = spec.partition("#replicas=")
        return RedisLedger.from_url(url, timeout=WAIT, replicas=int(replicas or 0))
    from otp_tui.state.sqlite_ledger import SqliteLedger

    return SqliteLedger(Path(spec))


def _contend(spec: str, address: str, count: int, barrier: Any, spans: Any) -> None:
    """A worker: open the ledger, wait for the others, then time only its own ledger calls."""
    from otp_tui.core.limits import GuessLimits

    limits = GuessLimits(*LEDGER_LIMITS)
    with _open_bench_ledger(spec) as ledger:
        ledger.status(address)  # connected (Redis) and the schema read (SQLite) before timing
        barrier.wait(WAIT)
        # CLOCK_MONOTONIC is one clock for every process on Linux: the spans line up.
        started = time.monotonic()
        for number in range(count):
            ledger.admit_guess(address, limits, f"{os.getpid()}-{number}")
        spans.put((started, time.monotonic()))


def _seed(spec: str, addresses: int) -> None:
    """Give the ledger `addresses` other addresses first, so its size is part of the run (with
    no replica waited for: the seeding is not what is measured)."""
    from otp_tui.core.limits import GuessLimits

    limits = GuessLimits(*LEDGER_LIMITS)
    with _open_bench_ledger(spec.partition("#")[0]) as ledger:
        for number in range(addresses):
            ledger.admit_guess(f"seed{number}@example.com", limits, "seed")


def ledger_latency(
    specs: dict[str, str], samples: int, others: dict[str, Callable[[], object]]
) -> dict[str, list[float]]:
    """Seconds for one check-and-record (`admit_guess`: lock checked, guess counted) on each
    ledger, and for each of `others` (a bare round trip, a peer's call), the sides taking turns
    a block of calls at a time.

    Turns, so that drift on the machine hits every side alike; blocks rather than single calls,
    because on this virtual machine the first call after one that waited on a socket runs slower,
    whatever it is, and single turns would charge Redis's waits to another side.
    """
    from otp_tui.core.limits import GuessLimits

    limits = GuessLimits(*LEDGER_LIMITS)
    address = LEDGER_ADDRESS
    with ExitStack() as stack:
        calls: dict[str, Callable[[int], object]] = {}
        for name, spec in specs.items():
            ledger = stack.enter_context(_open_bench_ledger(spec))
            ledger.status(address)  # connected (Redis) and the schema read (SQLite)
            ledger.admit_guess(address, limits, "warm-up")  # the script cached on the server

            def call(number: int, ledger: Any = ledger) -> object:
                return ledger.admit_guess(address, limits, str(number))

            calls[name] = call
        for name, other in others.items():
            other()  # warm: connected, scripts cached

            def other_call(number: int, other: Callable[[], object] = other) -> object:
                return other()

            calls[name] = other_call
        names = list(calls)
        times: dict[str, list[float]] = {name: [] for name in names}
        per_block = max(1, samples // LATENCY_BLOCKS)
        number = 0
        for block in range(LATENCY_BLOCKS):
            for name in names if block % 2 == 0 else names[::-1]:
                timed, out = calls[name], times[name]
                for _ in range(per_block):
                    number += 1
                    started = time.perf_counter()
                    timed(number)
                    out.append(time.perf_counter() - started)
    return times


class RoundTrip:
    """A floor under the ledger: one command to the redis-server that holds the ledger's keys
    (the primary, the Cluster node of the address's slot) over a bare socket, packed once, with
    no client library; with replicas to wait for, a WAIT after it in the same write, as the
    ledger sends it. `prime`, sent once first: EVAL of a script the command runs by its SHA1."""

    def __init__(
        self,
        port: int,
        user: str,
        password: str,
        command: Sequence[str | int],
        replicas: int = 0,
        prime: Sequence[str | int] = (),
    ) -> None:
        import hiredis

        from otp_tui.state.redis_scripts import pack

        self.reader = hiredis.Reader()
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._ask(pack(("AUTH", user, password)), "the ledger's user")
        if prime:
            self._ask(pack(prime), "the floor's script")
        self.command = pack(command)
        self.replies = 1
        if replicas:
            self.command += pack(("WAIT", replicas, 1000))
            self.replies = 2

    def _reply(self) -> Any:
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            data = self.socket.recv(1 << 16)
            if not data:
                raise BenchError("the redis-server closed the connection")
            self.reader.feed(data)

    def _ask(self, packed: bytes, what: str) -> None:
        self.socket.sendall(packed)
        if isinstance(self._reply(), Exception):
            raise BenchError(f"the redis-server refused {what}")

    def __call__(self) -> Any:
        self.socket.sendall(self.command)
        answer = self._reply()
        if self.replies == 2:
            answer = self._reply()
        return answer

    def close(self) -> None:
        self.socket.close()


def bare_floors(port: int, replicas: int) -> dict[str, RoundTrip]:
    """The round trips beside the ledger, on the server that holds the address's keys:
    `time`, a bare TIME; `least`, the least script that keeps a count on the address's key;
    `script`, the ledger's own admit_guess with the ledger's arguments (the ledger less its
    client); each followed by WAIT for `replicas`."""
    import hashlib

    from redis_server import PASSWORD, USER

    from otp_tui.state.redis_ledger import address_keys
    from otp_tui.state.redis_scripts import script

    key = address_keys(LEDGER_ADDRESS)[0]
    least = LEAST_SCRIPT.read_text(encoding="utf-8")
    least_sha = hashlib.sha1(least.encode(), usedforsecurity=False).hexdigest()
    ours = script("admit_guess")
    limits = [str(LEDGER_LIMITS[0]), repr(LEDGER_LIMITS[1]), str(LEDGER_LIMITS[2]), "bare"]
    floors = {}
    try:
        floors["time"] = RoundTrip(port, USER, PASSWORD, ("TIME",), replicas)
        floors["least"] = RoundTrip(
            port, USER, PASSWORD, ("EVALSHA", least_sha, 1, key), replicas, ("EVAL", least, 1, key)
        )
        floors["script"] = RoundTrip(
            port,
            USER,
            PASSWORD,
            ("EVALSHA", ours.sha, 1, key, "", *limits),
            replicas,
            ("EVAL", ours.source, 1, key, "", *limits),
        )
    except BaseException:
        for floor in floors.values():
            floor.close()
        raise
    return floors


def limits_hit(uri: str, **options: Any) -> Callable[[], object]:
    """One moving-window hit() of alisaifee/limits on the same server (a limit it never
    reaches, so every call records): the peer that does less than a check-and-record."""
    from limits import RateLimitItemPerHour
    from limits.storage import storage_from_string
    from limits.strategies import MovingWindowRateLimiter

    limiter = MovingWindowRateLimiter(storage_from_string(uri, **options))
    item = RateLimitItemPerHour(10**6)
    return lambda: limiter.hit(item, LEDGER_ADDRESS)


def ledger_contention(spec: str, processes: int = 50, events: int = 20) -> dict[str, Any]:
    address = "contended@example.com"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    spans = context.Queue()
    workers = [
        context.Process(target=_contend, args=(spec, address, events, barrier, spans))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    collected = []
    try:
        for _ in range(processes):
            collected.append(spans.get(timeout=WAIT * 3))
        for worker in workers:
            worker.join(WAIT * 3)
    except Exception as error:  # queue.Empty: a worker died or hung
        raise BenchError(f"a ledger worker did not finish: {error!r}") from None
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join(5)
    failed = [worker.exitcode for worker in workers if worker.exitcode != 0]
    with _open_bench_ledger(spec) as ledger:
        recorded = ledger.status(address).consecutive_failures
    # From the first worker's first call to the last worker's last: the ledger work only.
    seconds = max(end for _, end in collected) - min(start for start, _ in collected)
    return {
        "processes": processes,
        "events_each": events,
        "expected": processes * events,
        "recorded": recorded,
        "failed_processes": len(failed),
        "seconds": seconds,
    }


@dataclass
class BenchTopology:
    """One way to run the ledger on Redis, as the tests start it: its ledger spec, how to empty
    it, the port of the server that holds the ledger address's keys (for the bare round trips
    beside it), the replicas the ledger waits for, and the peer beside it."""

    spec: str
    flush: Callable[[], None]
    port: Callable[[], int]
    replicas: int
    peer: Callable[[], Callable[[], object]]


@contextmanager
def redis_topologies(directory: Path) -> Iterator[dict[str, BenchTopology]]:
    """One redis-server, a Sentinel group (a primary, a replica, three sentinels; the ledger
    waits for the replica) and a three-master Cluster, the tests' own, on loopback."""
    sys.path.insert(0, str(HERE.parent / "state"))
    from redis_cluster import RedisClusterGroup
    from redis_group import SentinelGroup
    from redis_server import ADMIN_PASSWORD, RedisServer

    with ExitStack() as stack:
        single = RedisServer(directory / "redis")
        stack.callback(single.stop)
        group = SentinelGroup(directory / "sentinel", replicas=1)
        stack.callback(group.stop)
        cluster = RedisClusterGroup(directory / "cluster")
        stack.callback(cluster.stop)
        admin = f"admin:{ADMIN_PASSWORD}@127.0.0.1"

        def primary() -> int:
            return group.primary_port()

        def slot_node() -> int:
            from otp_tui.state.redis_ledger import address_keys

            return cluster.node_of(address_keys(LEDGER_ADDRESS)[0]).port

        hosts = ",".join(f"127.0.0.1:{s.port}" for s in group.sentinels)
        yield {
            "redis": BenchTopology(
                single.url(),
                single.flush,
                lambda: single.port,
                0,
                lambda: limits_hit(f"redis://{admin}:{single.port}/0"),
            ),
            "sentinel": BenchTopology(
                f"{group.url()}#replicas=1",
                group.flush,
                primary,
                1,
                lambda: limits_hit(
                    f"redis+sentinel://{hosts}/otp",
                    username="admin",
                    password=ADMIN_PASSWORD,
                    sentinel_kwargs={"username": "", "password": ""},
                ),
            ),
            "cluster": BenchTopology(
                cluster.url(),
                cluster.flush,
                slot_node,
                0,
                lambda: limits_hit(f"redis+cluster://{admin}:{cluster.nodes[0].port}"),
            ),
        }


def ledger_side_by_side(workspace: Workspace, samples: int, sizes: Sequence[int]) -> dict[str, Any]:
    """Per topology and size: the ledger seeded first, then timed in turns with the bare round
    trips and the peer, then under contention; SQLite alone, for reference."""
    results: dict[str, Any] = {"topologies": {}, "sqlite": {}}
    for size in sizes:
        path = str(workspace.root / f"ledger-{size}.sqlite3")
        _seed(path, size)
        results["sqlite"][size] = ledger_latency({"sqlite": path}, samples, {})["sqlite"]
    with redis_topologies(workspace.root) as topologies:
        for name, topology in topologies.items():
            found: dict[int, Any] = results["topologies"].setdefault(name, {})
            for size in sizes:
                topology.flush()
                _seed(topology.spec, size)
                floors = bare_floors(topology.port(), topology.replicas)
                try:
                    times = ledger_latency(
                        {"ledger": topology.spec}, samples, {**floors, "limits": topology.peer()}
                    )
                finally:
                    for floor in floors.values():
                        floor.close()
                times["contention"] = ledger_contention(topology.spec)  # type: ignore[assignment]
                found[size] = times
    return results


# --- the report ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("otp-tui", "textual", "pydantic-settings", "aiosmtplib", "aiosmtpd")
    return {name: version(name) for name in names}


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def _us(value: float) -> str:
    return f"{value * 1e6:.0f} µs"


def _mib(value: float) -> str:
    return f"{value:.1f} MiB"


def _bytes(value: float) -> str:
    return f"{value:,.0f} B"


def _bytes_per_second(value: float) -> str:
    return f"{value:,.0f} B/s"


def _pct(value: float) -> str:
    return f"{value:.2f} %"


def ledger_report(raw: dict[str, Any]) -> dict[str, Any]:
    """Per topology and size: the ledger's script over a bare socket against the least script on
    the same key (the script's budget), the whole ledger call against limits' hit() (the
    client's), the contention run; and, shown, the whole call against both bare floors and the
    client's share (the whole call less its script over a bare socket)."""
    rows = []
    for name, sizes in raw["topologies"].items():
        for size, times in sizes.items():
            sides = ("ledger", "script", "least", "time", "limits")
            ledger, ours, least, bare_time, peer = (summary(times[k]) for k in sides)
            run = times["contention"]
            ratio = ours["median"] / least["median"]
            lost = run["expected"] - run["recorded"]
            rows.append(
                {
                    "topology": name,
                    "size": size,
                    "ledger": ledger,
                    "script": ours,
                    "least": least,
                    "time": bare_time,
                    "limits": peer,
                    "sqlite": summary(raw["sqlite"][size]) if size in raw["sqlite"] else None,
                    "contention": run,
                    "ratio": ratio,
                    "ratio_to_limits": ledger["median"] / peer["median"],
                    "ledger_to_least": ledger["median"] / least["median"],
                    "ledger_to_time": ledger["median"] / bare_time["median"],
                    "least_to_time": least["median"] / bare_time["median"],
                    "client": ledger["median"] - ours["median"],
                    "lost": lost,
                    "pass": ratio <= LEDGER_BUDGET
                    and ledger["median"] < peer["median"]
                    and not lost
                    and not run["failed_processes"],
                }
            )
    return {"rows": rows, "pass": all(row["pass"] for row in rows)}


def build_report(raw: dict[str, Any], runs: int, screen_runs: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []

    def compare(
        key: str,
        what: str,
        side: str,
        base: str,
        values: dict[str, list[float]],
        unit: Callable[[float], str],
        stat: str = "median",
        budgeted: bool = True,
    ) -> None:
        ours, theirs = summary(values[side]), summary(values[base])
        if stat == "paired":
            # The median of run-by-run ratios. With two-mode start-up times the median of each
            # side falls between the modes and moves with how many slow starts it drew; the
            # pairs where both sides drew the same mode sit in the middle of the ratios.
            pairs = zip(values[side], values[base], strict=True)
            ratio = statistics.median(a / b for a, b in pairs)
        else:
            ratio = ours[stat] / theirs[stat]
        shown_stat = "median" if stat == "paired" else stat
        budget = BUDGETS[key] if budgeted else None
        rows.append(
            {
                "key": key if budgeted else f"{key}_{stat}",
                "what": what,
                "side": side,
                "base": base,
                "stat": stat,
                side: ours,
                base: theirs,
                "shown": (unit(ours[shown_stat]), unit(theirs[shown_stat])),
                "spread": (
                    f"{unit(ours['min'])}–{unit(ours['max'])}",
                    f"{unit(theirs['min'])}–{unit(theirs['max'])}",
                ),
                "ratio": ratio,
                "budget": budget,
                "pass": None if budget is None else ratio <= budget,
            }
        )

    def absolute(
        key: str, what: str, side: str, base: str, values: dict[str, list[float]], unit: Any
    ) -> None:
        """A row judged against a fixed budget (`key` names it); the floor is shown beside."""
        ours, theirs = summary(values[side]), summary(values[base])
        budget = ABSOLUTE_BUDGETS[key]
        rows.append(
            {
                "key": key,
                "what": what,
                "side": side,
                "base": base,
                "stat": "median",
                side: ours,
                base: theirs,
                "shown": (unit(ours["median"]), unit(theirs["median"])),
                "spread": (
                    f"{unit(ours['min'])}–{unit(ours['max'])}",
                    f"{unit(theirs['min'])}–{unit(theirs['max'])}",
                ),
                "ratio": None,
                "budget": budget,
                "budget_shown": f"≤ {unit(budget)}",
                # Every run, not only the median: a screen that repaints once in a while fails.
                "pass": ours["max"] <= budget,
            }
        )

    if "first_screen" in raw:
        first = raw["first_screen"]
        # Start-up on a shared virtual machine swings by half from one process to the next, and the
        # ratio of two medians swings with it; the budget is judged on the median paired ratio.
        what = "time to first screen"
        compare("first_screen", what, "otp-tui", "reference", first["times"], _ms, "paired")
        compare("first_screen", what, "otp-tui", "reference", first["times"], _ms, budgeted=False)
        compare("peak_rss", "peak RSS at first screen", "otp-tui", "reference", first["rss"], _mib)
        # What the settings stack costs on top of Textual itself: shown, not budgeted.
        compare("first_screen_bare", what, "otp-tui", "bare", first["times"], _ms, "paired", False)
        compare(
            "peak_rss_bare",
            "peak RSS at first screen",
            "otp-tui",
            "bare",
            first["rss"],
            _mib,
            budgeted=False,
        )
    if "responsiveness" in raw:
        stall = raw["responsiveness"]
        what = "Escape to address screen"
        compare("responsiveness", what, "stalled", "idle", stall, _ms)
        # The budgets are on medians; the 95th percentiles are shown beside them.
        compare("responsiveness", what, "stalled", "idle", stall, _ms, "p95", budgeted=False)
        # For information: a whole screen change against the cheapest change there is.
        compare(
            "typing",
            "Escape (stalled) vs a typed key",
            "stalled",
            "typing",
            stall,
            _ms,
            budgeted=False,
        )
    if "send" in raw:
        compare(
            "send_time", "Enter to code screen / bare send", "otp-tui", "bare", raw["send"], _ms
        )
    if "first_frame" in raw:
        frame = raw["first_frame"]
        for side in ("otp-tui", "otp-tui --demo"):
            compare("first_frame", "first frame, bytes", side, "bare", frame["first"], _bytes)
            absolute(
                "first_frame_after",
                "bytes drawn after the first frame",
                side,
                "bare",
                frame["after"],
                _bytes,
            )
    if "idle" in raw:
        quiet = raw["idle"]
        for screen in ("address", "code", "sending", "result"):
            absolute(
                f"idle_bytes_{screen}",
                f"idle output, {screen} screen",
                screen,
                "bare",
                quiet["bytes"],
                _bytes_per_second,
            )
        for screen in ("address", "code", "sending", "result"):
            compare("idle_cpu", f"idle CPU, {screen} screen", screen, "bare", quiet["cpu"], _pct)
    if "key_echo" in raw:
        for screen in ("address", "code"):
            what = f"key echo, {screen} screen"
            compare("key_echo", what, screen, "bare", raw["key_echo"], _ms)
            compare("key_echo", what, screen, "bare", raw["key_echo"], _ms, "p95", budgeted=False)
    ledger = ledger_report(raw["ledger"]) if "ledger" in raw else {"pass": True, "rows": []}
    return {
        "runs": runs,
        "screen_runs": screen_runs,
        "machine": machine(),
        "versions": versions(),
        "comparisons": rows,
        "ledger": ledger,
        "raw": raw,
    }


def render(report: dict[str, Any]) -> str:
    head = ("measure", "stat", "otp-tui side", "baseline", "ratio", "budget", "")
    lines = [head]
    for row in report["comparisons"]:
        budget = f"≤ {row['budget']:.2f}" if row["budget"] is not None else "—"
        budget = row.get("budget_shown", budget)
        verdict = {True: "PASS", False: "FAIL", None: ""}[row["pass"]]
        lines.append(
            (
                f"{row['what']} ({row['side']} vs {row['base']})",
                STAT_NAMES.get(row["stat"], row["stat"]),
                f"{row['shown'][0]} [{row['spread'][0]}]",
                f"{row['shown'][1]} [{row['spread'][1]}]",
                "—" if row["ratio"] is None else f"{row['ratio']:.2f}x",
                budget,
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    ]
    out.insert(1, "  ".join("-" * width for width in widths))
    out.append("")
    wait = {"redis": "", "sentinel": ", then WAIT 1", "cluster": ""}
    for row in report["ledger"]["rows"]:
        ledger, ours, least, peer = row["ledger"], row["script"], row["least"], row["limits"]
        then = wait[row["topology"]]
        out.append(
            f"ledger on {row['topology']} with {row['size']} other addresses, one"
            f" check-and-record (admit_guess{then}): its script over a bare socket"
            f" {_us(ours['median'])} (p95 {_us(ours['p95'])}); the least script on the same"
            f" key{then}: {_us(least['median'])} (p95 {_us(least['p95'])}):"
            f" {row['ratio']:.2f}x, budget ≤ {LEDGER_BUDGET:.2f}"
        )
        out.append(
            f"  the whole ledger call: {_us(ledger['median'])} (p95 {_us(ledger['p95'])});"
            f" limits' moving-window hit() on the same server: {_us(peer['median'])}"
            f" (p95 {_us(peer['p95'])}): ledger/hit() {row['ratio_to_limits']:.2f}x, budget < 1"
        )
        out.append(
            f"  not budgeted: the whole call is {row['ledger_to_least']:.2f}x the least script"
            f" and {row['ledger_to_time']:.2f}x a bare TIME{then}"
            f" ({_us(row['time']['median'])}; the least script {row['least_to_time']:.2f}x it);"
            f" the client's share {_us(row['client'])}"
        )
        if row.get("sqlite"):
            out.append(
                f"  SQLite, for reference: {_us(row['sqlite']['median'])}"
                f" (p95 {_us(row['sqlite']['p95'])})"
            )
        run = row["contention"]
        out.append(
            f"  {run['processes']} processes x {run['events_each']} on one address:"
            f" {run['seconds']:.3f} s of ledger work, {run['recorded']}/{run['expected']}"
            f" recorded, {run['failed_processes']} processes failed"
        )
        out.append("  " + ("PASS" if row["pass"] else "FAIL"))
    m = report["machine"]
    out.append(
        f"machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['platform']}; "
        f"medians of {report['runs']} runs per side ({report['screen_runs']} for the first "
        "screen), [min–max]"
    )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per side (at least 7)")
    parser.add_argument(
        "--screen-runs",
        type=int,
        default=25,
        help="runs per side for the first screen, the noisiest measure (at least 7)",
    )
    parser.add_argument(
        "--pairs", type=int, default=5, help="responsiveness samples per side in each run"
    )
    parser.add_argument("--json", type=Path, default=HERE / "results.json", metavar="PATH")
    parser.add_argument(
        "--only-ledger",
        action="store_true",
        help="run only the ledger step (Redis on each topology, beside its round trips)",
    )
    parser.add_argument(
        "--only-link",
        action="store_true",
        help="run only the slow-link steps (first frame, idle output and CPU, key echo)",
    )
    parser.add_argument(
        "--link-runs",
        type=int,
        default=5,
        help="runs per side for the slow-link steps (bytes are deterministic; at least 3)",
    )
    parser.add_argument(
        "--idle-window", type=float, default=10.0, help="seconds each idle screen is counted"
    )
    parser.add_argument(
        "--ledger-samples", type=int, default=500, help="timed check-and-records per ledger"
    )
    parser.add_argument(
        "--ledger-sizes",
        default="0,100000",
        metavar="N,N",
        help="other addresses in the ledger before it is timed (comma-separated)",
    )
    args = parser.parse_args(argv)
    if min(args.runs, args.screen_runs) < 7:
        parser.error("--runs and --screen-runs must be at least 7")
    if args.link_runs < 3:
        parser.error("--link-runs must be at least 3")
    sizes = [int(size) for size in args.ledger_sizes.split(",")]
    raw: dict[str, Any] = {}
    with Workspace.create() as workspace:
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("first_screen", lambda: first_screen(workspace, args.screen_runs)),
            ("responsiveness", lambda: responsiveness(workspace, args.runs, args.pairs)),
            ("send", lambda: send_time(workspace, args.runs)),
            ("first_frame", lambda: first_frame(workspace, args.link_runs)),
            ("idle", lambda: idle(workspace, args.link_runs, args.idle_window)),
            ("key_echo", lambda: key_echo(workspace, args.link_runs, args.pairs)),
            ("ledger", lambda: ledger_side_by_side(workspace, args.ledger_samples, sizes)),
        ]
        if args.only_ledger:
            steps = steps[-1:]
        elif args.only_link:
            steps = steps[3:-1]
        for name, step in steps:
            print(f"bench: {name}…", file=sys.stderr, flush=True)
            raw[name] = step()
    report = build_report(raw, args.runs, args.screen_runs)
    print(render(report))
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"bench: wrote {args.json}", file=sys.stderr)
    failed = [row for row in report["comparisons"] if row["pass"] is False]
    return 1 if failed or not report["ledger"]["pass"] else 0


if __name__ == "__main__":
    sys.exit(main())
