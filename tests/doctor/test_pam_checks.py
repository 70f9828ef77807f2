"""A PAM service file read as PAM reads it: the module's control and what comes before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from otp_tui.doctor.pam_checks import check_pam

# Files that root owns on any Debian system stand in for the helper and its config.
LINE = "pam_otp_tui.so user=otp-tui helper=/usr/bin/env config=/etc/passwd"


def verdicts(tmp_path: Path, text: str) -> list[tuple[str, str, str]]:
    service = tmp_path / "sshd"
    service.write_text(text)
    return [(f.check, f.status, f.what) for f in check_pam(service)]


@pytest.mark.parametrize("control", ["required", "requisite"])
def test_required_or_requisite_after_harmless_lines_is_safe(tmp_path: Path, control: str) -> None:
    text = f"# comment\n@include common-account\nauth required pam_env.so\nauth {control} {LINE}\n"
    assert verdicts(tmp_path, text) == [
        ("pam.control", "ok", f"pam_otp_tui.so is {control}"),
        ("pam.helper", "ok", "helper=/usr/bin/env is root's alone"),
        ("pam.config", "ok", "config=/etc/passwd is root's alone"),
        ("pam.module", "ok", "pam_otp_tui.so from the system's module folder"),
    ]


@pytest.mark.parametrize("control", ["optional", "sufficient", "[default=ignore]"])
def test_a_control_that_lets_a_failure_through_is_unsafe(tmp_path: Path, control: str) -> None:
    found = verdicts(tmp_path, f"auth {control} {LINE}\n")
    assert ("pam.control", "unsafe", f"pam_otp_tui.so is {control}") in found


@pytest.mark.parametrize(
    "before", ["auth sufficient pam_unix.so", "auth [success=done default=ignore] pam_unix.so"]
)
def test_a_line_that_can_end_the_stack_first_is_unsafe(tmp_path: Path, before: str) -> None:
    found = verdicts(tmp_path, f"{before}\nauth required {LINE}\n")
    assert [status for check, status, _what in found if check == "pam.order"] == ["unsafe"]


def test_a_service_without_the_module_is_skipped_not_passed(tmp_path: Path) -> None:
    assert verdicts(tmp_path, "auth required pam_unix.so\n") == [
        ("pam", "skipped", "no pam_otp_tui.so line")
    ]


def test_a_helper_others_may_change_is_unsafe(tmp_path: Path) -> None:
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n")
    helper.chmod(0o777)
    found = verdicts(
        tmp_path, f"auth required pam_otp_tui.so user=x helper={helper} config=/etc/passwd\n"
    )
    assert ("pam.helper", "unsafe", f"helper={helper} can be changed by others than root") in found
