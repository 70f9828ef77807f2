"""Reading `sudo -l -U USER`'s report: defaults, command-specific defaults and every rule."""

from __future__ import annotations

from otp_tui.doctor.sudoers_checks import parse_sudo_list

REPORT = """\
Matching Defaults entries for alice on vm:
    env_reset, mail_badpass, secure_path=/usr/local/sbin\\:/usr/bin, use_pty

Runas and Command-specific defaults for alice:
    Defaults!/usr/local/bin/otp-tui env_reset, env_keep+="SSH_CONNECTION LANG LANGUAGE"

User alice may run the following commands on vm:
    (otp-tui) NOPASSWD: /usr/local/bin/otp-tui gate --config /etc/otp-tui/config.toml
    (ALL : ALL) ALL
    (root) NOPASSWD: /usr/bin/systemctl restart nginx, /usr/bin/journalctl
"""


def test_every_part_of_the_report_is_read() -> None:
    rights = parse_sudo_list(REPORT)
    assert rights.defaults == [
        "env_reset",
        "mail_badpass",
        "secure_path=/usr/local/sbin\\:/usr/bin",
        "use_pty",
    ]
    assert rights.command_defaults == {
        "/usr/local/bin/otp-tui": ["env_reset", 'env_keep+="SSH_CONNECTION LANG LANGUAGE"']
    }
    assert rights.rules == [
        ("otp-tui", "/usr/local/bin/otp-tui gate --config /etc/otp-tui/config.toml"),
        ("ALL", "ALL"),
        ("root", "/usr/bin/systemctl restart nginx"),
        ("root", "/usr/bin/journalctl"),
    ]
