"""The state package stays a shell without a UI or mail: checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import otp_tui.state.audit, otp_tui.state.ledger, otp_tui.state.report
loaded = {name.partition(".")[0] for name in sys.modules}
print(" ".join(sorted(loaded & {"textual", "rich", "aiosmtplib", "aiosmtpd", "pydantic"})))
"""


def test_state_imports_no_ui_no_mail_and_no_pydantic() -> None:
    # pydantic too: the 50-process tests and a signal handler's audit write stay cheap.
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


REDIS_PROBE = """
import sys
import otp_tui.cli, otp_tui.config.schema, otp_tui.state.lazy, otp_tui.state.ledger
import otp_tui.state.report, otp_tui.state.redis_ledger
print("redis" in {name.partition(".")[0] for name in sys.modules})
"""


def test_redis_py_loads_only_when_a_redis_ledger_is_opened() -> None:
    result = subprocess.run(
        [sys.executable, "-c", REDIS_PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
