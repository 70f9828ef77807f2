"""The core stays pure: importing it pulls in no UI, no mail, no storage, no event loop."""

import json
import subprocess
import sys

FORBIDDEN = ("textual", "rich", "aiosmtplib", "aiosmtpd", "sqlite3", "asyncio", "socket")


def test_importing_the_core_loads_no_ui_mail_or_io_modules():
    script = (
        "import json, sys\n"
        "import otp_tui.core.machine, otp_tui.core.codes, otp_tui.core.address\n"
        "import otp_tui.core.limits, otp_tui.core.outcomes, otp_tui.core.policy\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    assert "otp_tui.core.machine" in loaded  # the probe really imported the core
    leaked = [name for name in loaded if name.split(".")[0] in FORBIDDEN]
    assert leaked == []
    assert not [name for name in loaded if name.startswith(("otp_tui.mail", "otp_tui.tui"))]
