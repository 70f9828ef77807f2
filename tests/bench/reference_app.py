"""The floor of otp-tui's stack, for the benchmark to compare against.

A minimal Textual app (a Header, a Label, an Input, a Footer) that first loads a small
pydantic-settings model from a TOML file, the way any app on this stack starts. It draws the same
first line as otp-tui's address screen, so the benchmark can detect both the same way.

    python tests/bench/reference_app.py CONFIG.toml
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Input, Label

TITLE = "Verify your email address"


class Smtp(BaseModel):
    host: str | None = None
    port: int | None = None
    security: str = "starttls"
    timeout: float = 15.0


class Sender(BaseModel):
    address: str | None = None
    name: str = "reference"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REFERENCE_", env_nested_delimiter="__")
    toml_path: ClassVar[Path] = Path("config.toml")

    smtp: Smtp = Smtp()
    sender: Sender = Sender()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path)
        return (init_settings, env_settings, toml)


class ReferenceApp(App[None]):
    TITLE = "reference"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(TITLE)
        yield Input(placeholder="you@example.com")
        yield Footer()


def main() -> None:
    Settings.toml_path = Path(sys.argv[1])
    ReferenceApp(Settings()).run()


if __name__ == "__main__":
    main()
