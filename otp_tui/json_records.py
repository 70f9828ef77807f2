"""What `--json` prints for `check`, `status` and `unlock`: one object on one line.

The records are in the code's own words whatever the language: their keys, the step names
(`connect`, `EHLO`, `STARTTLS`, `AUTH`, `QUIT`, `trust store`, ...), statuses and failure kinds
never change with `[ui] language` or the locale. Only a `message` field is for people and is
worded in the language in use; a script reads the fields beside it. The README's "Output for
scripts" section lists every field.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.core.limits import LimitsLedger


def emit(record: dict[str, Any], out: TextIO) -> None:
    """One line of JSON: ASCII only, so no reader can split it on U+2028 or be fooled by
    a control character (every one is escaped)."""
    out.write(json.dumps(record, ensure_ascii=True, allow_nan=False) + "\n")
    out.flush()


def check_record(settings: Settings) -> tuple[int, dict[str, Any]]:
    """Run `otp-tui check` with its lines discarded; its exit status and its record."""
    from otp_tui.core.untrusted import visible
    from otp_tui.mail.check import check_main, collected_steps
    from otp_tui.state.ledger_check import check_ledger

    steps: list[dict[str, Any]] = []
    with collected_steps(steps):
        mail_status = check_main(settings, io.StringIO())
    ledger_text = io.StringIO()
    ledger_ok = check_ledger(settings, ledger_text)
    smtp = settings.smtp
    server: dict[str, Any] | None = None
    if not settings.demo:
        server = {"host": smtp.host, "port": smtp.effective_port, "security": smtp.security}
    status = mail_status or (0 if ledger_ok else 1)
    record = {
        "ok": status == 0,
        "demo": settings.demo,
        "server": server,
        "steps": steps,
        "ledger": {
            "ok": ledger_ok,
            "message": visible(ledger_text.getvalue().splitlines()[0]),
        },
    }
    return status, record


def unlock_record(
    ledger: LimitsLedger, address: str, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """Lift any lock and clear the failure counts, as `otp-tui unlock` does; what was there.

    `before` is `otp-tui status --json`'s record as it stood; `changed` says whether the
    unlock lifted or cleared anything.
    """
    from otp_tui.state.report import ledger_key, status_record

    before = status_record(ledger, address, clock)
    ledger.unlock(ledger_key(address))
    changed = bool(
        before["locked_until"] or before["consecutive_failures"] or before["wrong_codes"]
    )
    return {"address": before["address"], "changed": changed, "before": before}
