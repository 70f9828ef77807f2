"""Every sentence a run shows, in one place, so the TUI and the plain line mode read alike.

Durations, clock times and masked addresses are worded here too: a front end prints what it is
handed and never words a rule itself.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otp_tui.config.schema import PolicySettings
    from otp_tui.core.outcomes import (
        CooldownActive,
        InvalidAddress,
        Locked,
        NotAllowed,
        ResendsExhausted,
        TooManySends,
    )

    Refusal = (
        InvalidAddress | NotAllowed | Locked | CooldownActive | ResendsExhausted | TooManySends
    )

DEMO_SERVER = "the demo outbox"


# Durations and times
def clock_duration(seconds: float) -> str:
    """`9:41` for a countdown; rounded up, so it never reads 0:00 while time is left."""
    whole = max(0, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def rough_duration(seconds: float) -> str:
    """`15 minutes`, `2 hours`, `40 seconds`: for waits a person plans around."""
    whole = max(0, math.ceil(seconds))
    if whole < 90:
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(whole / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"


def time_of_day(when: float, now: float) -> str:
    """Local `14:05` for wall-clock second `when`, with the date too unless it is `now`'s day."""
    moment = datetime.fromtimestamp(when)
    same_day = moment.date() == datetime.fromtimestamp(now).date()
    return moment.strftime("%H:%M") if same_day else moment.strftime("%Y-%m-%d %H:%M")


def until(seconds: float, now: float) -> str:
    """`until 14:05 (15 minutes)`, or the operator's way out for a lock with no end. The time
    is rounded up to the minute, as `otp-tui status` rounds it."""
    from otp_tui.core.limits import lock_end_as_shown

    if math.isinf(seconds):
        return "until an operator unlocks it"
    end = lock_end_as_shown(now + seconds)
    return f"until {time_of_day(end, now)} ({rough_duration(seconds)})"


def mask_address(address: str) -> str:
    """`a***@example.com`: enough to recognise one's own address, not to harvest it."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


# The help
def limits(policy: PolicySettings) -> tuple[str, ...]:
    """The policy as a person plans around it."""
    resends = policy.max_resends
    return (
        f"A code works for {rough_duration(policy.code_ttl)} after it is sent, once.",
        f"You can ask for {resends} new code{'s' if resends != 1 else ''}, "
        f"{rough_duration(policy.resend_cooldown)} apart; a new code replaces the last.",
        f"{policy.max_attempts} wrong codes lock the address for {rough_duration(policy.lockout)}.",
        f"At most {policy.max_sends_per_hour} codes go to one address in an hour.",
    )


DEMO_HELP = (
    "Demo mode: no mail leaves this machine. The code goes to an outbox on this computer; "
    "ctrl+o shows the newest message there."
)


# The address screen
def address_hint(code_length: int) -> str:
    return f"We will email you a {code_length}-digit code."


TYPE_YOUR_ADDRESS = "Type your email address."
FIXED_ADDRESS_AGAIN = "Press Enter to send a new code, or Escape to quit."
SENDING_NOW = "Sending…"


def refusal(answer: Refusal, wall_now: float) -> str:
    """Why no code is sent now (or no more guesses taken)."""
    from otp_tui.core.outcomes import (
        CooldownActive,
        InvalidAddress,
        Locked,
        NotAllowed,
        ResendsExhausted,
    )

    if isinstance(answer, InvalidAddress | NotAllowed):
        return answer.message
    if isinstance(answer, Locked):
        return f"This address is locked {until(answer.seconds, wall_now)}."
    if isinstance(answer, CooldownActive):
        return f"You can ask for another code in {clock_duration(answer.seconds_left)}."
    if isinstance(answer, ResendsExhausted):
        return "No more codes can be sent in this session."
    return (
        "Too many codes were sent to this address; "
        f"try again in {rough_duration(answer.seconds_left)}."
    )


# Sending
def sending_to(address: str, via: str) -> str:
    return f"Sending a code to {address} via {via}…"


def could_not_send(address: str, via: str) -> str:
    return f"Could not send the code to {address} via {via}."


def elapsed(seconds: float, timeout: float) -> str:
    return f"{seconds:.0f} s of {timeout:g} s"


def trying_again(attempt: int, wall_now: float) -> str:
    return f"Trying again (try {attempt}, started at {time_of_day(wall_now, wall_now)})…"


def tried(attempts: int, wall_last: float) -> str:
    return f"Tried {attempts} times; the last try started at {time_of_day(wall_last, wall_last)}."


def unexpected_send_error(name: str) -> str:
    return f"The code could not be sent because of an unexpected error ({name})."


CERTIFICATES_UNCHECKED = "Certificate checks are off (smtp.validate_certs = false)."


# The code screen
def code_hint(code_length: int, address: str) -> str:
    return f"We sent a {code_length}-digit code to {address}."


def wrong_code(attempts_left: int) -> str:
    return f"Wrong code: {attempts_left} attempt{'s' if attempts_left != 1 else ''} left."


def malformed(length: int) -> str:
    return f"The code has {length} digits."


EXPIRED_ASK_AGAIN = "That code has expired. Press ctrl+r for a new one."
COUNTDOWN_EXPIRED = "The code has expired. Press ctrl+r for a new one."
SENDING_NEW_CODE = "Sending a new code…"


def cooldown_any_address(seconds: float) -> str:
    """After going back: the cooldown holds for every address, not only the last one."""
    if seconds <= 0:
        return "You can ask for a code now."
    return f"You can ask for another code, to this or any address, in {clock_duration(seconds)}."


def cooldown_new_code(seconds: float) -> str:
    if seconds <= 0:
        return "You can ask for a new code now: press ctrl+r."
    return f"You can ask for a new code in {clock_duration(seconds)}."


def still_valid(expires_in: float) -> str:
    return f"You already have a code; it expires in {clock_duration(expires_in)}."


def new_code_sent(wall_now: float) -> str:
    return f"New code sent at {time_of_day(wall_now, wall_now)}; earlier codes no longer work."


def paste_refused(length: int) -> str:
    return f"That paste held no single {length}-digit code; type the code instead."


def expires_in(seconds: float) -> str:
    return f"Code expires in {clock_duration(seconds)}"


def resend_label(resend_in: float, resends_left: int) -> str:
    if resends_left == 0:
        return "No resends left"
    if resend_in > 0:
        return f"Resend in {clock_duration(resend_in)}"
    return f"Resend code ({resends_left} left)"


# Endings
VERIFIED = "Verified"
LOCKED = "Locked"
NOT_VERIFIED = "Not verified"
PRESS_ENTER_TO_QUIT = "Press Enter to quit."


def verified_detail(address: str) -> str:
    return f"{address} is confirmed: you control this address."


def locked_detail(address: str, seconds: float, wall_now: float) -> str:
    return f"Too many wrong codes. {address} is locked {until(seconds, wall_now)}."


ALLOWED_WITHOUT_MAIL = "Let in without a code"


def allowed_without_mail_detail(reason: str) -> str:
    return f"{reason} This gate lets you in when that happens."


EXPIRED_DETAIL = "The code expired and no more codes can be sent."
STOPPED_DETAIL = "The verification was stopped."


# The plain line mode (`otp-tui --plain`): the same journey, one line at a time. Its keys are
# typed words, not chords, so the sentences above that name a TUI key have a plain twin here.
def plain_chosen(term: str) -> str:
    """The first line when the terminal, not --plain, chose the line mode."""
    named = f"TERM is {term}" if term else "TERM is not set"
    return f"{named}: otp-tui runs in its plain line mode (--plain)."


PLAIN_DEMO = "Demo mode: mail stays on this machine (type o at the code prompt to read it)."
PLAIN_ADDRESS_TITLE = "Verify your email address."
PLAIN_ADDRESS_PROMPT = "Email address: "
PLAIN_CODE_PROMPT = "Code: "
PLAIN_AGAIN_PROMPT = "> "
PLAIN_EXPIRED = "The code has expired. Type r for a new one."
PLAIN_FIXED_ADDRESS_AGAIN = "Press Enter to send a new code, or Ctrl+D to quit."
OUTBOX_EMPTY = "The outbox is empty: no code has been sent yet."
PLAIN_OUTBOX_START = "--- Demo outbox: the newest message ---"
PLAIN_OUTBOX_END = "--- end of message ---"

# A notice the run worded for the TUI's keys, and what the line mode says instead.
PLAIN_INSTEAD = {
    EXPIRED_ASK_AGAIN: PLAIN_EXPIRED,
    COUNTDOWN_EXPIRED: PLAIN_EXPIRED,
    FIXED_ADDRESS_AGAIN: PLAIN_FIXED_ADDRESS_AGAIN,
}


def plain_code_keys(*, demo: bool) -> str:
    outbox = ", o shows the demo outbox" if demo else ""
    return (
        "Type the code and press Enter. r asks for a new code, an empty line shows the time "
        f"left{outbox}; Ctrl+D quits."
    )


def plain_time_left(expires_in_seconds: float, resend_in: float, resends_left: int) -> str:
    """`Code expires in 9:41. A new code can be asked for in 0:30.` for the code prompt."""
    if expires_in_seconds > 0:
        expiry = f"{expires_in(expires_in_seconds)}."
    else:
        expiry = "The code has expired."
    if resends_left == 0:
        resend = "No more codes can be sent."
    elif resend_in > 0:
        resend = f"A new code can be asked for in {clock_duration(resend_in)}."
    else:
        left = f"{resends_left} more code{'s' if resends_left != 1 else ''}"
        resend = f"Type r for a new code ({left} can be sent)."
    return f"{expiry} {resend}"


def plain_still_sending(seconds: float, timeout: float) -> str:
    return f"Still sending: {elapsed(seconds, timeout)}."


def plain_after_send_problem(*, retryable: bool, fixed_address: bool) -> str:
    again = "start again" if fixed_address else "change the address"
    if retryable:
        return f"Type r to try again, or press Enter to {again}."
    return f"Press Enter to {again}."


def plain_ending(headline: str, detail: str) -> str:
    """`Verified. a@example.com is confirmed: you control this address.`"""
    return f"{headline}. {detail}" if detail else f"{headline}."
