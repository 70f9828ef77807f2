"""`otp-tui config example`: the minimal and the full configuration, held to the settings model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from command_runner import ROOT
from pydantic import BaseModel

from otp_tui.config.loading import ConfigFile, load_settings
from otp_tui.config.schema import Settings


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _keys(annotation, f"{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_the_full_example_documents_every_key_of_the_settings_model() -> None:
    text = (ROOT / "config.example.toml").read_text()
    # Each key appears set or commented out (`key = value` or `# key = value`) in its section.
    found, section = set(), ""
    for line in text.splitlines():
        heading = re.fullmatch(r"\[(\w+)\]", line)
        if heading:
            section = heading.group(1)
        key = re.match(r"(?:# )?([a-z0-9_]+) = ", line)
        if key and section:
            found.add(f"{section}.{key.group(1)}")
    assert _keys(Settings) - found == set(), "keys the example does not document"
    assert found - _keys(Settings) == set(), "keys the model does not have"


@pytest.mark.parametrize("full", [False, True])
def test_a_copied_example_loads_as_it_is_and_keeps_demo_mode(tmp_path: Path, full: bool) -> None:
    from otp_tui.config.example import MINIMAL, full_example

    path = tmp_path / "config.toml"
    path.write_text(full_example() if full else MINIMAL)
    path.chmod(0o600)
    settings = load_settings(ConfigFile(path, explicit=True), {}, {})
    assert settings.demo  # never smtp.example.com by accident
    assert settings.smtp.host is None


def test_the_minimal_example_uncommented_is_a_working_real_mail_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otp_tui.config.example import MINIMAL

    monkeypatch.setenv("HOME", str(tmp_path))  # the example's ~/.config/otp-tui/smtp-password
    secret = tmp_path / ".config" / "otp-tui" / "smtp-password"
    secret.parent.mkdir(parents=True)
    secret.write_text("pw\n")
    secret.chmod(0o600)

    lines = [line.removeprefix("# ") if line.startswith(("# [", "# host", "# user", "# pass",
             "# address")) else line for line in MINIMAL.splitlines()]  # fmt: skip
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    settings = load_settings(ConfigFile(path, explicit=True), {}, {})
    assert not settings.demo
    assert settings.smtp.host == "mail.example.org"
    assert settings.sender.address == "otp@example.org"


def test_every_value_the_full_example_sets_is_the_model_s_default() -> None:
    """Copied unchanged, the documented file changes nothing: each key it sets (rather than
    leaves commented out) holds the settings model's own default."""
    import tomllib

    data = tomllib.loads((ROOT / "config.example.toml").read_text())
    defaults = Settings()
    for section, table in data.items():
        model = getattr(defaults, section)
        for key, value in table.items():
            default = getattr(model, key)
            if isinstance(default, Path):
                default = str(default)
            if isinstance(default, tuple):
                default = list(default)
            assert value == default, f"{section}.{key} = {value!r}, the model says {default!r}"
