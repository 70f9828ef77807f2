"""A mail from the demo outbox as plain text a terminal can show safely.

Whatever is in the outbox is untrusted: it is what some process sent to a port on this machine,
and a mail's headers and body can hold escape sequences (a title change, an OSC 52 clipboard
write, leaving the alternate screen). Every character that would act on a terminal is shown as
an escape (`otp_tui.core.untrusted.visible`); newlines in the body stay newlines. The text is
plain, not markup: a front end must show it as it is (in Textual, ``markup=False``). Nothing
about a malformed mail makes this raise: a part that cannot be read says so instead.
"""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

from otp_tui.core.untrusted import visible
from otp_tui.language import N_, _

UNREADABLE = N_("(unreadable)")
_BODY_LIMIT = 64 * 1024  # characters shown; a code mail is a few hundred


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        return visible(str(value)) if value is not None else "(none)"
    except Exception:  # any header the parser cannot make sense of
        return _(UNREADABLE)


def _text_part(message: Message) -> str:
    try:
        part = (
            message.get_body(preferencelist=("plain",))
            if isinstance(message, EmailMessage)
            else None
        )
        if part is None:
            return _("(this mail has no plain-text part)")
        try:
            content = part.get_content()
        except (LookupError, UnicodeError, ValueError, AssertionError):
            payload = part.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        if not isinstance(content, str):
            return _("(this mail has no plain-text part)")
    except Exception:
        return _(UNREADABLE)
    text = content.replace("\r\n", "\n")[:_BODY_LIMIT]
    return visible(text, keep_newlines=True)


def mail_as_text(raw: bytes, *, arrived: datetime | None = None, this_run: bool = True) -> str:
    """To, Subject and arrival time, a blank line, then the text part; all of it shown inert."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
    except Exception:
        return f"{_(UNREADABLE)}\n"
    lines = [
        _("To: {address}").format(address=_header(message, "To")),
        _("Subject: {subject}").format(subject=_header(message, "Subject")),
    ]
    if arrived is not None:
        when = arrived.astimezone().strftime("%H:%M:%S")
        if this_run:
            lines.append(_("Arrived: {time}").format(time=when))
        else:
            lines.append(_("Arrived: {time} (before this run)").format(time=when))
    return "\n".join(lines) + "\n\n" + _text_part(message)
