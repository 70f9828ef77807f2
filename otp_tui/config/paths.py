"""Where otp-tui keeps its files by default, per user (platformdirs decides per platform).

Kept apart from the settings model so that code which only needs a path (the ledger, the audit
trail, the demo outbox) does not load pydantic.
"""

from __future__ import annotations

from pathlib import Path

APP_NAME = "otp-tui"


def user_config_dir() -> Path:
    from platformdirs import user_config_dir as _dir

    return Path(_dir(APP_NAME, appauthor=False))


def user_state_dir() -> Path:
    from platformdirs import user_state_dir as _dir

    return Path(_dir(APP_NAME, appauthor=False))
