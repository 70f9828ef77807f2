"""Every sentence a run shows, in one place, so the TUI and the plain line mode read alike.

Durations, clock times and masked addresses are worded here too: a front end prints what it is
handed and never words a rule itself. Each sentence is whole in the catalog, with named
placeholders for the values in it, so a translation can order its words as its language needs;
a count picks its plural form through `ngettext`. Translated when asked for, never at import,
so the language chosen at start (`otp_tui.language.use_language`) is the one shown.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

from otp_tui.language import SOURCE_LANGUAGE, _, current, ngettext, pgettext

if TYPE_CHECKING:
    from otp_tui.config.schema import PolicySettings
    from otp_tui.flow.views import Countdown, Notice, Sending, SendProblem


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
        return ngettext("{count} second", "{count} seconds", whole).format(count=whole)
    minutes = math.ceil(whole / 60)
    if minutes < 90:
        return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
    hours = math.ceil(minutes / 60)
    return ngettext("{count} hour", "{count} hours", hours).format(count=hours)


def time_of_day(when: float, now: float) -> str:
    """Local `14:05` for wall-clock second `when`, with the date too unless it is `now`'s day."""
    moment = datetime.fromtimestamp(when)
    if moment.date() == datetime.fromtimestamp(now).date():
        # TRANSLATORS: a clock time as strftime writes it. Use numeric fields only (%H, %I,
        # %M, %p): names of months and days would come out in English.
        return moment.strftime(pgettext("strftime", "%H:%M"))
    # TRANSLATORS: a date and a clock time as strftime writes them; numeric fields only.
    return moment.strftime(pgettext("strftime", "%Y-%m-%d %H:%M"))


def _lock_end(seconds: float, now: float) -> str:
    """The end of a finite lock, rounded up to the minute as `otp-tui status` rounds it."""
    from otp_tui.core.limits import lock_end_as_shown

    return time_of_day(lock_end_as_shown(now + seconds), now)


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
        _("A code works for {duration} after it is sent, once.").format(
            duration=rough_duration(policy.code_ttl)
        ),
        ngettext(
            # The cooldown covers one address: a corrected address is sent at once.
            "You can ask for {count} new code, {cooldown} apart to the same address; a new "
            "code replaces the last.",
            "You can ask for {count} new codes, {cooldown} apart to the same address; a new "
            "code replaces the last.",
            resends,
        ).format(count=resends, cooldown=rough_duration(policy.resend_cooldown)),
        ngettext(
            "{count} wrong code locks the address for {duration}.",
            "{count} wrong codes lock the address for {duration}.",
            policy.max_attempts,
        ).format(count=policy.max_attempts, duration=rough_duration(policy.lockout)),
        ngettext(
            "At most {count} code goes to one address in an hour.",
            "At most {count} codes go to one address in an hour.",
            policy.max_sends_per_hour,
        ).format(count=policy.max_sends_per_hour),
    )


def demo_help() -> str:
    return _(
        "Demo mode: no mail leaves this machine. The code goes to an outbox on this computer; "
        "ctrl+o shows the newest message there."
    )


def demo_title(program: str) -> str:
    return _("{program} — demo mode").format(program=program)


def demo_banner() -> str:
    return _("Demo mode: mail stays on this machine (ctrl+o reads it).")


def too_small(min_columns: int, min_lines: int, width: int, height: int) -> str:
    return _(
        "Make the terminal at least {min_columns}x{min_lines} (it is {width}x{height})."
    ).format(min_columns=min_columns, min_lines=min_lines, width=width, height=height)


# The address screen
def address_title() -> str:
    return _("Verify your email address")


def address_hint(code_length: int) -> str:
    return ngettext(
        "We will email you a {count}-digit code.",
        "We will email you a {count}-digit code.",
        code_length,
    ).format(count=code_length)


def type_your_address() -> str:
    return _("Type your email address.")


def fixed_address_again() -> str:
    return _("Press Enter to send a new code, or ctrl+q to quit.")


def sending_now() -> str:
    return _("Sending…")


def invalid_address(detail: str) -> str:
    """Why what was typed is not an address. email-validator words its reasons in English only,
    so another language gets one sentence of its own instead of a mix of two."""
    if current() == SOURCE_LANGUAGE:
        return detail
    return _("This is not a valid email address; check it for typos.")


def not_allowed() -> str:
    """One sentence for every reason, as the core's refusal is one (its home is the core)."""
    from otp_tui.core.address import REFUSED_MESSAGE

    return _(REFUSED_MESSAGE)


def notice(said: Notice, *, on_code: bool = False) -> str:
    """The sentence for a notice, in the TUI's words; `on_code`: said on the code entry (a
    cooldown there is for a new code, not for any address)."""
    kind = said.kind
    if kind == "empty_address":
        return type_your_address()
    if kind == "invalid_address":
        return invalid_address(said.text)
    if kind == "not_allowed":
        return not_allowed()
    if kind == "locked":
        if math.isinf(said.seconds):
            return _("This address is locked until an operator unlocks it.")
        return _("This address is locked until {time} ({duration}).").format(
            time=_lock_end(said.seconds, said.at), duration=rough_duration(said.seconds)
        )
    if kind == "cooldown":
        if on_code:
            return cooldown_new_code(said.seconds)
        return cooldown_same_address(said.seconds)
    if kind == "resends_exhausted":
        # This run's resends are spent; a new run may send again, within the hourly limits.
        return _("This verification can send no more codes; start it again for a new one.")
    if kind == "too_many_sends":
        # What is counted, since the ledger does not say which budget refused: the address's,
        # the account's (never the SSH client's, which is only a claim) and everyone's.
        return _(
            "Too many codes were sent in the last hour (to this address, by your account, or by"
            " everyone together); try again in {duration}."
        ).format(duration=rough_duration(said.seconds))
    if kind == "fixed_address_again":
        return fixed_address_again()
    if kind == "wrong":
        return wrong_code(said.count)
    if kind == "malformed":
        return malformed(said.count)
    if kind == "expired":
        return expired_ask_again()
    if kind == "still_valid":
        return still_valid(said.seconds)
    if kind == "new_code":
        return new_code_sent(said.at)
    return said.text  # send_failed, storage_failed: worded where they happened


# Sending
def sending_to(address: str, via: str | None) -> str:
    """`via` is the SMTP host, or None for the demo outbox."""
    if via is None:
        return _("Sending a code to {address} via the demo outbox…").format(address=address)
    return _("Sending a code to {address} via {server}…").format(address=address, server=via)


def could_not_send(address: str, via: str | None) -> str:
    if via is None:
        return _("Could not send the code to {address} via the demo outbox.").format(
            address=address
        )
    return _("Could not send the code to {address} via {server}.").format(
        address=address, server=via
    )


def elapsed(seconds: float, timeout: float) -> str:
    return _("{seconds} s of {timeout} s").format(seconds=f"{seconds:.0f}", timeout=f"{timeout:g}")


def trying_again(attempt: int, wall_now: float) -> str:
    return _("Trying again (try {attempt}, started at {time})…").format(
        attempt=attempt, time=time_of_day(wall_now, wall_now)
    )


def tried(attempts: int, wall_last: float) -> str:
    return ngettext(
        "Tried {count} time; the last try started at {time}.",
        "Tried {count} times; the last try started at {time}.",
        attempts,
    ).format(count=attempts, time=time_of_day(wall_last, wall_last))


def try_note(view: Sending | SendProblem) -> str:
    """On a retry, which try this is and when it started; after several tries, how many."""
    from otp_tui.flow.views import Sending

    if isinstance(view, Sending):
        return trying_again(view.tries, view.started_at) if view.retry else ""
    return tried(view.tries, view.last_try_at) if view.tries > 1 else ""


def unexpected_send_error(name: str) -> str:
    return _("The code could not be sent because of an unexpected error ({name}).").format(
        name=name
    )


def certificates_unchecked() -> str:
    return _("Certificate checks are off (smtp.validate_certs = false).")


# The code screen
def code_title() -> str:
    return _("Enter the code")


def code_hint(code_length: int, address: str) -> str:
    return ngettext(
        "We sent a {count}-digit code to {address}.",
        "We sent a {count}-digit code to {address}.",
        code_length,
    ).format(count=code_length, address=address)


def code_sender_hint(sender: str) -> str:
    return _("It comes from {sender}; if it is not in your inbox, look in the spam folder.").format(
        sender=sender
    )


def wrong_code(attempts_left: int) -> str:
    return ngettext(
        "Wrong code: {count} attempt left.", "Wrong code: {count} attempts left.", attempts_left
    ).format(count=attempts_left)


def malformed(length: int) -> str:
    return ngettext("The code has {count} digit.", "The code has {count} digits.", length).format(
        count=length
    )


def expired_ask_again() -> str:
    return _("That code has expired. Press ctrl+r for a new one.")


def countdown_expired() -> str:
    return _("The code has expired. Press ctrl+r for a new one.")


def sending_new_code() -> str:
    return _("Sending a new code…")


def cooldown_same_address(seconds: float) -> str:
    """After going back: the cooldown holds for the address the last code went to only."""
    if seconds <= 0:
        return _("You can ask for a code now.")
    return _(
        "You can ask for another code to this address in {time}; another address needs no wait."
    ).format(time=clock_duration(seconds))


def cooldown_new_code(seconds: float) -> str:
    if seconds <= 0:
        return _("You can ask for a new code now: press ctrl+r.")
    return _("You can ask for a new code in {time}.").format(time=clock_duration(seconds))


def still_valid(expires_in: float) -> str:
    return _("You already have a code; it expires in {time}.").format(
        time=clock_duration(expires_in)
    )


def new_code_sent(wall_now: float) -> str:
    return _("New code sent at {time}; earlier codes no longer work.").format(
        time=time_of_day(wall_now, wall_now)
    )


def paste_refused(length: int) -> str:
    return ngettext(
        "That paste held no single {count}-digit code; type the code instead.",
        "That paste held no single {count}-digit code; type the code instead.",
        length,
    ).format(count=length)


def expires_in(seconds: float) -> str:
    return _("Code expires in {time}").format(time=clock_duration(seconds))


def resend_button() -> str:
    return _("Resend code")


def resend_label(countdown: Countdown) -> str:
    if countdown.resends_left == 0:
        return _("No resends left")
    if not countdown.resend_possible:
        return _("Resend in {time}").format(time=clock_duration(countdown.resend_in))
    return ngettext(
        "Resend code ({count} left)", "Resend code ({count} left)", countdown.resends_left
    ).format(count=countdown.resends_left)


# Endings
def verified() -> str:
    return _("Verified")


def locked() -> str:
    return _("Locked")


def not_verified() -> str:
    return _("Not verified")


def press_enter_to_quit() -> str:
    return _("Press Enter to quit.")


def going_on_to_the_session() -> str:
    return _("Going on to your session…")


def verified_detail(address: str) -> str:
    return _("{address} is confirmed: you control this address.").format(address=address)


def locked_detail(address: str, seconds: float, wall_now: float) -> str:
    if math.isinf(seconds):
        return _("Too many wrong codes. {address} is locked until an operator unlocks it.").format(
            address=address
        )
    return _("Too many wrong codes. {address} is locked until {time} ({duration}).").format(
        address=address, time=_lock_end(seconds, wall_now), duration=rough_duration(seconds)
    )


def headline(ending: Notice) -> str:
    """The first line of an ending."""
    if ending.kind == "verified":
        return verified()
    if ending.kind == "locked":
        return locked()
    if ending.kind == "allowed_without_mail":
        return allowed_without_mail()
    return not_verified()


def ending_detail(ending: Notice, address: str) -> str:
    """What follows the headline; `address` as shown."""
    kind = ending.kind
    if kind == "verified":
        return verified_detail(address)
    if kind == "locked":
        return locked_detail(address, ending.seconds, ending.at)
    if kind == "allowed_without_mail":
        return allowed_without_mail_detail(ending.text)
    if kind == "expired":
        return expired_detail()
    if kind == "stopped":
        return stopped_detail()
    return notice(ending)  # a fixed address refused; storage failed


def allowed_without_mail() -> str:
    return _("Let in without a code")


def left_behind(reason: str, address: str) -> str:
    """The one line a full-screen run leaves in the shell: its headline and the address."""
    headline = {
        "verified": verified,
        "locked": locked,
        "allowed_without_mail": allowed_without_mail,
    }
    said = headline.get(reason, not_verified)()
    return f"{said} ({address})" if address else said


def allowed_without_mail_detail(reason: str) -> str:
    """`reason` is a whole sentence of its own: why the mail could not be sent."""
    return _("{reason} This gate lets you in when that happens.").format(reason=reason)


def expired_detail() -> str:
    return _(
        "The code expired, and this verification can send no more codes; start it again for a "
        "new one."
    )


def stopped_detail() -> str:
    return _("The verification was stopped.")


# Other screens of the TUI
def help_title() -> str:
    return _("Help")


def outbox_title() -> str:
    return _("Demo outbox: the newest message")


# The plain line mode (`otp-tui --plain`): the same journey, one line at a time. Its keys are
# typed words, not chords, so the sentences above that name a TUI key have a plain twin here.
def plain_chosen(term: str) -> str:
    """The first line when the terminal, not --plain, chose the line mode."""
    if term:
        return _("TERM is {term}: otp-tui runs in its plain line mode (--plain).").format(term=term)
    return _("TERM is not set: otp-tui runs in its plain line mode (--plain).")


def plain_demo() -> str:
    return _("Demo mode: mail stays on this machine (type o at the code prompt to read it).")


def plain_address_title() -> str:
    return _("Verify your email address.")


def plain_address_prompt() -> str:
    return _("Email address: ")


def plain_code_prompt() -> str:
    return _("Code: ")


def plain_expired() -> str:
    return _("The code has expired. Type r for a new one.")


def plain_fixed_address_again() -> str:
    return _("Press Enter to send a new code, or Ctrl+D to quit.")


def outbox_empty() -> str:
    return _("The outbox is empty: no code has been sent yet.")


def plain_outbox_start() -> str:
    return _("--- Demo outbox: the newest message ---")


def plain_outbox_end() -> str:
    return _("--- end of message ---")


def plain_notice(said: Notice, *, on_code: bool = False) -> str:
    """A notice in the line mode's words: its keys are typed letters and Ctrl+D."""
    if said.kind == "expired":
        return plain_expired()
    if said.kind == "fixed_address_again":
        return plain_fixed_address_again()
    return notice(said, on_code=on_code)


def plain_code_keys(*, demo: bool, fixed_address: bool = True) -> str:
    if not fixed_address and demo:
        return _(
            "Type the code and press Enter, or type another address to send a code there "
            "instead. r asks for a new code, an empty line shows the time left, o shows the demo "
            "outbox; Ctrl+D quits."
        )
    if not fixed_address:
        return _(
            "Type the code and press Enter, or type another address to send a code there "
            "instead. r asks for a new code, an empty line shows the time left; Ctrl+D quits."
        )
    if demo:
        return _(
            "Type the code and press Enter. r asks for a new code, an empty line shows the time "
            "left, o shows the demo outbox; Ctrl+D quits."
        )
    return _(
        "Type the code and press Enter. r asks for a new code, an empty line shows the time "
        "left; Ctrl+D quits."
    )


def plain_time_left(countdown: Countdown) -> str:
    """`Code expires in 9:41. A new code can be asked for in 0:30.` for the code prompt:
    two whole sentences, side by side."""
    if countdown.expires_in > 0:
        expiry = _("Code expires in {time}.").format(time=clock_duration(countdown.expires_in))
    else:
        expiry = _("The code has expired.")
    if countdown.resends_left == 0:
        resend = _("This verification can send no more codes.")
    elif not countdown.resend_possible:
        resend = _("A new code can be asked for in {time}.").format(
            time=clock_duration(countdown.resend_in)
        )
    else:
        resend = ngettext(
            "Type r for a new code ({count} more code can be sent).",
            "Type r for a new code ({count} more codes can be sent).",
            countdown.resends_left,
        ).format(count=countdown.resends_left)
    return f"{expiry} {resend}"


def plain_still_sending(seconds: float, timeout: float) -> str:
    return _("Still sending: {elapsed}.").format(elapsed=elapsed(seconds, timeout))


def plain_after_send_problem(*, retryable: bool, fixed_address: bool) -> str:
    if retryable and fixed_address:
        return _("Type r to try again, or press Enter to start again.")
    if retryable:
        return _("Type r to try again, or press Enter to change the address.")
    if fixed_address:
        return _("Press Enter to start again.")
    return _("Press Enter to change the address.")


def plain_ending(headline: str, detail: str) -> str:
    """`Verified. a@example.com is confirmed: you control this address.`"""
    if detail:
        return _("{headline}. {detail}").format(headline=headline, detail=detail)
    return _("{headline}.").format(headline=headline)


# Endings nobody chose, for every front end and command
def unexpected_error(name: str) -> str:
    """One line instead of a traceback (its local variables could hold a code)."""
    return _("unexpected error ({name}); not verified").format(name=name)


def needs_a_terminal(prog: str) -> str:
    return _("{prog} needs an interactive terminal; try ssh -t").format(prog=prog)


PLAIN_AGAIN_PROMPT = "> "  # no words in it: the same in every language
