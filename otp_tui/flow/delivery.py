"""Getting one code to its mailbox: build the message, pick the server, send, name the failure.

The mail stack is imported on first use, not at start-up. In demo mode the server is the
embedded loopback outbox, started with the first send and stopped with the run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from otp_tui.flow import wording
from otp_tui.language import current

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings, SmtpSettings
    from otp_tui.core.outcomes import SendCode
    from otp_tui.mail.message import Origin
    from otp_tui.mail.outbox import DemoOutbox

log = logging.getLogger(__name__)

SendFunction = Callable[["SmtpSettings", EmailMessage], Awaitable[None]]


@dataclass(frozen=True)
class Failure:
    """A failed send as the run reports it: the kind for the audit trail, one sentence, and
    whether trying again can help."""

    kind: str
    message: str
    retryable: bool


class Delivery:
    def __init__(
        self,
        settings: Settings,
        *,
        demo: bool,
        origin: Origin | str | None = None,
        login_user: str | None = None,
        outbox_dir: Path | None = None,
        send: SendFunction | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self._settings = settings
        self._demo = demo
        # Where the mail says the code was asked from; None: this host, read at the send.
        self._origin = origin
        self._outbox_dir = outbox_dir
        self._login_user = login_user
        self._send = send
        self._wall_clock = wall_clock  # stamps the demo outbox's mail
        self._outbox: DemoOutbox | None = None
        self._outbox_running = False

    @property
    def server_label(self) -> str | None:
        """The SMTP host the code goes through; None for the demo outbox."""
        if self._demo:
            return None
        # The host alone: the port is an operator's detail (`otp-tui check` shows it).
        return str(self._settings.smtp.host)

    @property
    def timeout(self) -> float:
        if self._demo:
            from otp_tui.config.schema import SmtpSettings

            return SmtpSettings().timeout  # the demo outbox sends with the default timeout
        return self._settings.smtp.timeout

    def prepare(self) -> None:
        """Load what the first send needs (blocking: run it in a thread while the user types)."""
        import importlib

        for module in ("email_validator", "otp_tui.mail.message", "otp_tui.mail.sender"):
            importlib.import_module(module)
        from otp_tui.mail.sender import prepare

        if not self._demo:
            try:
                prepare(self._settings.smtp)
            except Exception:  # the send itself reports the problem, with its kind
                log.debug("could not prepare the TLS context", exc_info=True)

    async def deliver(self, request: SendCode) -> Failure | None:
        """Send the code; None when the server took it, else what went wrong."""
        from otp_tui.mail.errors import SendError
        from otp_tui.mail.message import build_message, origin_here

        try:
            smtp = await self._smtp_settings()
            message = build_message(
                self._settings.sender,
                request.address,
                request.code,
                ttl_seconds=int(request.ttl),
                requested_from=self._origin or origin_here(login_user=self._login_user),
                templates=self._settings.mail.templates,
                language=current(),
            )
            send = self._send
            if send is None:
                from otp_tui.mail.sender import send_message

                send = send_message
            await send(smtp, message)
        except SendError as error:
            # The person is told what they can do (the kind's sentence); the operator's precise
            # sentence and detail went to the debug log once, in the sender.
            return Failure(error.kind.value, error.kind.message, error.retryable)
        except Exception as error:
            # Not an SMTP failure we know: say so plainly and offer no retry.
            log.debug("send crashed", exc_info=error)
            return Failure("error", wording.unexpected_send_error(type(error).__name__), False)
        return None

    def _demo_outbox(self) -> DemoOutbox:
        if self._outbox is None:
            from otp_tui.mail.outbox import DemoOutbox

            self._outbox = DemoOutbox(self._outbox_dir, clock=self._wall_clock)
        return self._outbox

    async def _smtp_settings(self) -> SmtpSettings:
        if not self._demo:
            return self._settings.smtp
        outbox = self._demo_outbox()
        if not self._outbox_running:
            await outbox.start()
            self._outbox_running = True
        return outbox.smtp

    def newest_mail(self) -> str | None:
        """Demo mode only: the newest mail in the outbox as plain, sanitised text (this run's
        first, with the time it arrived); None if there is none."""
        if not self._demo:
            return None
        return self._demo_outbox().newest_as_text()

    async def close(self) -> None:
        if self._outbox is not None and self._outbox_running:
            self._outbox_running = False
            await self._outbox.stop()
