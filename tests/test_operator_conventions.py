"""The Unix conventions an operator expects: a man page that `man` finds in an installed wheel,
shell completion that a real bash completes with, a configuration to start from that keeps
demo mode, and "did you mean" for a mistyped subcommand or key.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from command_runner import ROOT, environment, run_otp_tui

from otp_tui.config.loading import ConfigFile, load_settings
from otp_tui.config.schema import Settings

MAN_PAGE = ROOT / "man" / "otp-tui.1"


def test_the_committed_man_page_is_what_the_parser_gives() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "man" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, (
        "man/otp-tui.1 is out of date: run `python man/generate.py`\n" + run.stderr
    )
    page = MAN_PAGE.read_text()
    for subcommand in ("check", "status", "unlock", "report", "config", "completion", "gate"):
        assert f"COMMAND \\fI\\,'otp\\-tui {subcommand}'" in page


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from the checkout, installed into a venv of its own; the venv's root."""
    folder = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = folder.glob("otp_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "otp_tui-0.1.0.data/data/share/man/man1/otp-tui.1" in names
    assert "otp_tui/config/example.toml" in names
    venv = folder / "venv"
    # --system-site-packages: the dependencies are the test's own; the wheel is installed anew.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True,
        timeout=120,
    )
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return venv


def test_man_finds_the_page_of_an_installed_wheel_beside_its_bin(installed_wheel: Path) -> None:
    man = shutil.which("man")
    if man is None:
        if os.environ.get("CI") == "true":
            pytest.fail("man is not installed; .ci/run must install man-db")
        pytest.skip("man is not installed")
    page = installed_wheel / "share" / "man" / "man1" / "otp-tui.1"
    assert page.read_text() == MAN_PAGE.read_text()
    # man-db looks in ../share/man beside every directory on PATH: the venv's bin is enough.
    env = {"PATH": f"{installed_wheel / 'bin'}:/usr/bin:/bin", "HOME": str(installed_wheel)}
    found = subprocess.run(
        [man, "-w", "otp-tui"], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert (found.returncode, found.stdout.strip()) == (0, str(page)), found.stderr


def test_a_wheel_prints_the_full_example_without_a_source_tree(installed_wheel: Path) -> None:
    run = subprocess.run(
        [str(installed_wheel / "bin" / "otp-tui"), "config", "example", "--full"],
        capture_output=True,
        text=True,
        cwd=installed_wheel,
        env={"PATH": "/usr/bin:/bin", "HOME": str(installed_wheel)},
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == (ROOT / "config.example.toml").read_text()


def _keys(model: type, prefix: str = "") -> set[str]:
    from pydantic import BaseModel

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


def test_bash_completes_subcommands_and_options_from_the_script(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    script = subprocess.run(
        [sys.executable, "-m", "otp_tui", "completion", "bash"],
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        timeout=60,
        check=True,
    ).stdout
    (tmp_path / "otp-tui.bash").write_text(script)
    # A real bash loads the script and runs the function `complete` registered for otp-tui,
    # as it would at a TAB, for three command lines; COMPREPLY is what it offers.
    probe = f"""
source {tmp_path / "otp-tui.bash"}
spec=$(complete -p otp-tui)
fn=$(echo "$spec" | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')
ask() {{
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
    COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
    "$fn" otp-tui "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    echo "${{COMPREPLY[*]}}"
}}
ask otp-tui ch
ask otp-tui status --j
ask otp-tui completion ''
"""
    run = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", probe],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["check", "--json", "bash zsh fish"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_subcommand(tmp_path: Path, shell: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "otp_tui", "completion", shell],
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for subcommand in ("check", "status", "unlock", "report", "config", "completion", "gate"):
        assert subcommand in run.stdout


async def test_a_mistyped_subcommand_gets_did_you_mean(tmp_path: Path) -> None:
    ran = await run_otp_tui("chek", env=environment(tmp_path))
    assert ran.status == 2
    assert "invalid choice: 'chek' (did you mean check?)" in ran.err
    far = await run_otp_tui("xyzzy", env=environment(tmp_path))
    assert far.status == 2
    assert "did you mean" not in far.err


async def test_a_mistyped_key_gets_did_you_mean_wherever_it_came_from(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[polcy]\ncode_ttl = 60\n[smtp]\nhots = "x"\n')
    env = environment(tmp_path, OTP_TUI_SENDER__ADRESS="a@example.org")
    ran = await run_otp_tui(
        "--config", str(config), "--set", "state.ledgr=/tmp/x", "check", env=env
    )
    assert ran.status == 2
    assert sorted(ran.err.splitlines()) == sorted(
        [
            f"{config}: polcy: unknown key; did you mean policy?",
            f"{config}: smtp.hots: unknown key; did you mean smtp.host?",
            "--set: state.ledgr: unknown key; did you mean state.ledger?",
            "OTP_TUI_SENDER__ADRESS: sender.adress: unknown key; did you mean sender.address?",
        ]
    )


async def test_a_template_error_set_with_set_is_blamed_on_set(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "subject.txt").write_text("Code {{ code \n")
    ran = await run_otp_tui(
        "--set", f"mail.templates={templates}", "check", env=environment(tmp_path)
    )
    assert ran.status == 2
    assert ran.err.startswith(f"--set: mail.templates: {templates / 'subject.txt'} line 1:")


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
