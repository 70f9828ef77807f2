"""Every way a send can fail, as a small set of kinds the screens can explain in one sentence."""

from __future__ import annotations

from enum import Enum

from otp_tui.language import N_, _


class FailureKind(Enum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    AUTH = "auth"
    RECIPIENT_REFUSED = "recipient_refused"
    TEMPORARY = "temporary"
    REJECTED = "rejected"

    @property
    def message(self) -> str:
        """One sentence for the person at the terminal."""
        return _(_MESSAGES[self])

    @property
    def retryable(self) -> bool:
        """Whether trying the same send again later can succeed."""
        return self in _RETRYABLE


# Said to the person at the terminal, who can fix an address but not a server: what they can
# do now. The operator's detail (which certificate, which reply) is for `otp-tui check` and the
# debug log, through the error's own sentence and `detail`.
_MESSAGES: dict[FailureKind, str] = {
    FailureKind.UNREACHABLE: N_(
        "The mail server could not be reached. Try again later, or tell whoever runs this service."
    ),
    FailureKind.TIMEOUT: N_("The mail server took too long to answer. Try again in a moment."),
    FailureKind.TLS: N_(
        "A secure connection to the mail server could not be made. Tell whoever runs this service."
    ),
    FailureKind.AUTH: N_(
        "The mail server did not accept this service's login. Tell whoever runs this service."
    ),
    FailureKind.RECIPIENT_REFUSED: N_(
        "The mail server will not deliver to this address; check it for typos or use another."
    ),
    FailureKind.TEMPORARY: N_(
        "The mail server reported a temporary problem; try again in a few minutes."
    ),
    FailureKind.REJECTED: N_(
        "The mail server refused the message. Tell whoever runs this service."
    ),
}

_RETRYABLE = frozenset({FailureKind.UNREACHABLE, FailureKind.TIMEOUT, FailureKind.TEMPORARY})


class SendError(Exception):
    """A send that failed in a way the user can be told about.

    ``str(error)`` is the user-facing sentence: the kind's own, or a more precise `sentence`
    written here (never built from a server's words or a command's output). ``detail`` holds
    the server's reply code and text or the underlying error, for the debug log and `otp-tui
    check` only: it may name hosts and ports, so it stays off the screen. It never holds the
    code, a password or a token: none is passed to anything that could echo it, and a login's
    secret is scrubbed from what a server answers to it.
    """

    def __init__(self, kind: FailureKind, detail: str = "", *, sentence: str | None = None) -> None:
        super().__init__(sentence if sentence is not None else kind.message)
        self.kind = kind
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return self.kind.retryable

    def __repr__(self) -> str:
        return f"SendError({self.kind.value!r}, {self.detail!r})"
