"""`otp-tui doctor`: reads the live host and says whether the gate is safe, one line per finding.

The gate's safety rests on settings outside otp-tui: sshd's effective configuration for the
gated users (`sshd_checks`), the sudoers rule that runs the gate (`sudoers_checks`), the owners,
modes and ACLs of everything the gate reads, runs or writes (`file_checks`, on the gate's own
checks in `otp_tui.gate.trust`), the PAM stack when the PAM module is used (`pam_checks`), and
the relay and ledger (`service_checks`). Each says what it found as `Finding`s; `command` runs
them and prints them (`findings`); exit 1 when any finding is unsafe.

The lines are in English, as `sshd -T` and `sudo -l` are: they quote sshd and sudoers keywords
and paths, and the JSON keeps the same words.
"""
