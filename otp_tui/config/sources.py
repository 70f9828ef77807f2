"""Where the settings come from: the file (found and read), the environment's names for keys,
and the one error every loading problem is reported as.

Every line a problem prints passes through `otp_tui.core.untrusted.visible`, since keys and
paths come from files, flags and the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otp_tui.config.paths import user_config_dir
from otp_tui.config.schema import ENV_DELIMITER, ENV_PREFIX
from otp_tui.language import _

CONFIG_ENV_VAR = "OTP_TUI_CONFIG"


class ConfigError(Exception):
    """Configuration that cannot be used; `problems` holds one printable line each."""

    def __init__(self, problems: list[str]) -> None:
        problems = shown(problems)
        super().__init__("\n".join(problems))
        self.problems = problems


def shown(lines: list[str]) -> list[str]:
    """Lines made safe for a terminal: keys, paths and messages may hold text from outside."""
    # Imported here: only a problem or a warning needs it, and the core stays off start-up.
    from otp_tui.core.untrusted import visible

    return [visible(line) for line in lines]


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    explicit: bool  # named by --config or $OTP_TUI_CONFIG: then it must exist


def locate_config(cli_path: str | None, environ: Mapping[str, str] = os.environ) -> ConfigFile:
    if cli_path:
        return ConfigFile(Path(cli_path).expanduser(), explicit=True)
    if environ.get(CONFIG_ENV_VAR):
        return ConfigFile(Path(environ[CONFIG_ENV_VAR]).expanduser(), explicit=True)
    return ConfigFile(user_config_dir() / "config.toml", explicit=False)


def read_toml(config: ConfigFile) -> dict[str, Any]:
    try:
        raw = config.path.read_bytes()
    except FileNotFoundError:
        if config.explicit:
            raise ConfigError([_("{path}: no such file").format(path=config.path)]) from None
        return {}
    except OSError as error:
        # TRANSLATORS: {reason} is the system's (Permission denied, ...).
        problem = _("{path}: cannot read: {reason}").format(path=config.path, reason=error.strerror)
        raise ConfigError([problem]) from None
    try:
        document: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
        return document
    except UnicodeDecodeError:
        raise ConfigError([_("{path}: not UTF-8 text").format(path=config.path)]) from None
    except RecursionError:  # tomllib parses arrays and inline tables by recursion
        raise ConfigError([too_deep(str(config.path))]) from None
    except tomllib.TOMLDecodeError as error:
        # The message already ends "(at line N, column M)"; keep only the first line of it.
        raise ConfigError([f"{config.path}: {str(error).splitlines()[0]}"]) from None


def too_deep(where: str) -> str:
    # TRANSLATORS: {where} is the file, "--set KEY" or "VARIABLE: key" that held the value.
    return _("{where}: nested too deeply (arrays or tables inside one another)").format(where=where)


def env_name(loc: tuple[str, ...]) -> str:
    return ENV_PREFIX + ENV_DELIMITER.join(part.upper() for part in loc)
