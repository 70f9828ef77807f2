"""Did you mean: a mistyped subcommand or key gets the nearest known one; a template error
from --set is blamed on --set. Real processes, each with a home of its own."""

from __future__ import annotations

from pathlib import Path

from command_runner import environment, run_otp_tui


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
