"""`python -m otp_tui`: the same as the `otp-tui` command."""

from otp_tui.cli import console_main

console_main()
