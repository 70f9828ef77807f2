"""`otp-tui config example`: a configuration to start from, printed by the program itself.

A wheel ships no source tree, so the documented file (`config.example.toml` in the repository)
travels inside the package as `otp_tui/config/example.toml` (pyproject's `force-include`); in a
checkout it is read where it lies. `tests/test_config_example.py` holds both texts to the
settings model: every key the model has is in the full one with the model's default, and
each loads as it is, in demo mode, so that a copied example neither breaks nor silently points
at smtp.example.com.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# The smallest file worth copying: demo mode as it stands, real mail with four lines
# uncommented.
MINIMAL = """\
# otp-tui: a minimal configuration. Save it as ~/.config/otp-tui/config.toml (or pass
# --config PATH). As it stands otp-tui runs in demo mode: an SMTP server inside otp-tui, on
# 127.0.0.1, files the mail in a local outbox and nothing leaves this machine.
# To mail real codes, uncomment the lines below, fill them in and run `otp-tui check`.
# `otp-tui config example --full` documents every key.

# [smtp]
# host = "mail.example.org"
# username = "otp@example.org"
# password_file = "~/.config/otp-tui/smtp-password"

# [sender]
# address = "otp@example.org"
"""

_PACKAGED = "example.toml"
_CHECKOUT = Path(__file__).resolve().parents[2] / "config.example.toml"


def full_example() -> str:
    """The documented configuration: every key with its default."""
    packaged = resources.files("otp_tui.config").joinpath(_PACKAGED)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return _CHECKOUT.read_text(encoding="utf-8")  # a checkout or an editable install
