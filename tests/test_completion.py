"""`otp-tui completion bash|zsh|fish`: a real bash loads the script and completes with it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from command_runner import environment


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
