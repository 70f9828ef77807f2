"""The conversation front end: the journey as prompts and answers, for the PAM helper.

`pam_otp_tui.so` (in `pam/` at the repository root) starts `otp-tui pam` as the service user
and relays its lines to sshd, sudo or su (the protocol is `pam/PROTOCOL.md`). Like the plain
mode it decides nothing: the flow does, and this package only words each view as lines and
turns each answer into one intention. No Textual, no Rich.
"""
