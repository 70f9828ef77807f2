"""Every sentence the conversation adds to the flow's: what differs from the plain mode.

The conversation speaks through sshd, sudo or su, which show a prompt and read one answer:
there is no Ctrl+D to quit and no clock ticking on the screen, so the keys are worded for
that. Everything else is the flow's own wording (`otp_tui.flow.wording`), kept in one place
here: the run hands over structured notices (a kind and numbers), and this module alone turns
them into the conversation's sentences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from otp_tui.flow import wording
from otp_tui.language import _

if TYPE_CHECKING:
    from otp_tui.flow.views import Countdown, Finished, Notice

RESEND = "r"  # the agreed answer for a new code, and for another try after a failed send
# Endings the person did not ask for, once they have answered (a lock, the last code expired,
# the address refused): they are told why before the run ends, with a prompt so that sshd
# shows it.
ENDINGS_TO_READ = frozenset({"locked", "expired", "failed"})
# A refusal before any question, by the kind of its notice: only a reason the person may read
# and can act on (wait until the lock or the hourly budget ends, or ask an operator to
# unlock). Any other stays without a prompt, so sshd and PAM_SILENT drop its line: the
# address refused (one sentence for every reason, and nothing to answer), a storage failure
# (the operator's words), the helper's own refusals before the run (no address on file, a
# configuration problem), which never reach the conversation.
REFUSALS_TO_READ = frozenset({"locked", "too_many_sends"})


def code_keys() -> str:
    return _(
        "Type the code and press Enter; r asks for a new code, an empty answer shows the time left."
    )


def after_send_problem(*, retryable: bool) -> str:
    if retryable:
        return _("Type r to try again, or press Enter to give up.")
    return _("Press Enter to end.")


def end_prompt() -> str:
    return after_send_problem(retryable=False) + " " + again_prompt()


def ends_with_a_prompt(ending: Finished, *, answered: bool) -> bool:
    """Whether `ending` is followed by `end_prompt()`: sshd shows messages only with a next
    prompt, and after a refusal there is none, so without one the person reads "Permission
    denied" (sudo under PAM_SILENT: "1 incorrect password attempt") and never why.

    Before any answer only `REFUSALS_TO_READ` get one. Each of the ssh client's
    keyboard-interactive tries (three by default) starts a new helper, so a person who is
    locked reads the lock once per try, and presses Enter for each."""
    if answered:
        return ending.result.reason in ENDINGS_TO_READ
    return ending.notice.kind in REFUSALS_TO_READ


def again_prompt() -> str:
    return wording.PLAIN_AGAIN_PROMPT


def code_prompt() -> str:
    return wording.plain_code_prompt()


def expired() -> str:
    return wording.plain_expired()


def notice(said: Notice, *, on_code: bool = False) -> str:
    """A notice of the run in the words a conversation uses (typed letters, as the line mode)."""
    return wording.plain_notice(said, on_code=on_code)


def sent(code_length: int, address: str) -> str:
    return wording.code_hint(code_length, address)


def time_left(countdown: Countdown) -> str:
    return wording.plain_time_left(countdown)


def sending(address: str, via: str | None) -> str:
    return wording.sending_to(address, via)


def could_not_send(address: str, via: str | None) -> str:
    return wording.could_not_send(address, via)


def ending(finished: Finished) -> str:
    # A storage failure is the one line the launcher says; the person reads the headline.
    notice = finished.notice
    detail = "" if finished.error is not None else wording.ending_detail(notice, finished.address)
    return wording.plain_ending(wording.headline(notice), detail)


def refused() -> str:
    """The one sentence the person reads when the helper cannot run as configured: the
    operator's syslog says why (the same sentence whatever the reason)."""
    return _("The verification cannot run; nothing was sent. Ask the administrator.")
