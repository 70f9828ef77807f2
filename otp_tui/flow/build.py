"""Putting one run together from the settings: the one factory the program and the tests use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from otp_tui.flow import wording
from otp_tui.flow.delivery import Delivery, SendFunction
from otp_tui.flow.run import Run
from otp_tui.flow.views import Presentation

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.core.codes import OneTimeCode
    from otp_tui.core.limits import LimitsLedger, Requester
    from otp_tui.core.machine import Verification
    from otp_tui.flow.run import Auditor
    from otp_tui.mail.message import Origin

Clock = Callable[[], float]


def make_run(
    settings: Settings,
    *,
    email: str | None,
    demo: bool,
    ledger: LimitsLedger,
    clock: Clock,
    wall_clock: Clock,
    audit: Auditor | None = None,
    make_code: Callable[[int], OneTimeCode] | None = None,
    origin: Origin | str | None = None,
    login_user: str | None = None,
    outbox_dir: Path | None = None,
    send: SendFunction | None = None,
    requester: Callable[[], Requester] | None = None,
    allow_on_mail_failure: bool = False,
    session_timeout: float | None = None,
) -> Run:
    """`requester` says who asks (for the per-requester send budgets); it is called when the
    machine is built, after the first frame. None: no per-requester budget applies.
    `login_user` is set by a run that lets someone log in (the gate): the mail then says who is
    logging in where, and what to do if it was not them.
    `session_timeout`: seconds the whole run may take (the gate's), None for no limit."""
    delivery = Delivery(
        settings,
        demo=demo,
        origin=origin,
        login_user=login_user,
        outbox_dir=outbox_dir,
        send=send,
        wall_clock=wall_clock,
    )

    def make_machine() -> Verification:
        from otp_tui.core.address import AccessPolicy
        from otp_tui.core.machine import Verification

        return Verification(
            settings.policy.to_policy(),
            ledger,
            clock,
            access=AccessPolicy.from_lists(
                settings.access.allowed_domains, settings.access.allowed_addresses
            ),
            requester=requester() if requester is not None else None,
            allow_on_mail_failure=allow_on_mail_failure,
            fixed_address=email,
            **({"make_code": make_code} if make_code is not None else {}),
        )

    presentation = Presentation(
        demo=demo,
        fixed_address=wording.mask_address(email) if email is not None else None,
        code_length=settings.policy.code_length,
        server_label=delivery.server_label,
        certificates_unchecked=not demo and not settings.smtp.validate_certs,
        limits=wording.limits(settings.policy),
        clock=clock,
        sender=None if demo else settings.sender.shown,
        login=login_user is not None,
    )
    return Run(
        make_machine,
        delivery,
        presentation,
        clock=clock,
        wall_clock=wall_clock,
        audit=audit,
        fixed_address=email,
        session_timeout=session_timeout,
    )
