"""The address from the system: the operator's file and command, every way they can go wrong."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from otp_tui.config.schema import GateSettings
from otp_tui.gate.addresses import address_from_command, address_from_file, lookup_address
from otp_tui.gate.refusal import GateRefusal, NoAddress
from otp_tui.result import EXIT_NOT_VERIFIED, EXIT_USAGE


def _file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "addresses"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _script(tmp_path: Path, body: str, name: str = "lookup") -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


FILE = """# user address
alice   Alice@Example.COM
# carol left
bob\tbob@example.org   # trailing comment
dave a#b@example.net
"""


def test_the_file_gives_each_user_their_address(tmp_path: Path) -> None:
    path = _file(tmp_path, FILE)
    found = address_from_file(path, "alice")
    assert found is not None
    assert (found.address, found.source) == ("Alice@example.com", "addresses_file")
    bob = address_from_file(path, "bob")
    assert bob is not None
    assert bob.address == "bob@example.org"
    dave = address_from_file(path, "dave")  # "#" inside a field is not a comment
    assert dave is not None
    assert dave.address == "a#b@example.net"


def test_a_user_not_in_the_file_has_no_address(tmp_path: Path) -> None:
    path = _file(tmp_path, FILE)
    assert address_from_file(path, "carol") is None
    with pytest.raises(NoAddress, match="no email address on file for carol") as raised:
        lookup_address(GateSettings(addresses_file=path), "carol")
    assert raised.value.exit_status == EXIT_NOT_VERIFIED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice a@example.com\nbob\n", "line 2: expected 'USER ADDRESS', found 1 fields"),
        ("alice a@example.com extra\n", "line 1: expected 'USER ADDRESS', found 3 fields"),
        ("al/ice a@example.com\n", "line 1: the first field is not a user name"),
        ("alice a@example.com\nalice b@example.com\n", "line 2: alice is listed again"),
        ("x y\n\x1b]0;owned\x07 a@example.com\n", "line 2: holds a control character"),
        (b"alice a@example.com\n\xff\xfe b@example.com\n", "line 2: not UTF-8 text"),
    ],
)
def test_a_malformed_line_is_named_by_number_and_shuts_the_gate(
    tmp_path: Path, text: str | bytes, message: str
) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(GateRefusal) as raised:
        lookup_address(GateSettings(addresses_file=path), "alice")
    assert message in str(raised.value)
    assert raised.value.exit_status == EXIT_USAGE
    assert "\x1b" not in str(raised.value)
    assert "owned" not in str(raised.value)  # what the line held is never echoed


def test_an_invalid_address_for_the_user_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "alice not-an-address\n")
    with pytest.raises(GateRefusal, match="line 1: not a valid email address"):
        address_from_file(path, "alice")


def test_a_named_file_that_is_missing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GateRefusal, match="cannot read: No such file"):
        lookup_address(GateSettings(addresses_file=tmp_path / "absent"), "alice")


# --- the command --------------------------------------------------------------------------


def test_the_command_gets_the_user_name_and_its_first_line_is_the_address(
    tmp_path: Path,
) -> None:
    script = _script(tmp_path, 'printf "%s@example.com\\nsecond line\\n" "$1"; echo "$2"')
    found = address_from_command((str(script), "%u", "100%%"), "alice", timeout=5)
    assert found is not None
    assert (found.address, found.source) == ("alice@example.com", "address_command")


def test_the_command_runs_without_the_callers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTP_TUI_LEAK", "x")
    script = _script(
        tmp_path, "env | grep -q OTP_TUI && echo leak@example.com || echo ok@example.com"
    )
    found = address_from_command((str(script),), "alice", timeout=5)
    assert found is not None
    assert found.address == "ok@example.com"


def test_a_command_that_prints_nothing_knows_no_address(tmp_path: Path) -> None:
    script = _script(tmp_path, "exit 0")
    assert address_from_command((str(script),), "alice", timeout=5) is None
    gate = GateSettings(address_command=(str(script),))
    with pytest.raises(NoAddress):
        # The default file (/etc/otp-tui/addresses) may be absent when a command is set.
        lookup_address(gate.model_copy(update={"addresses_file": None}), "alice")


def test_the_file_answers_first_and_the_command_for_the_rest(tmp_path: Path) -> None:
    path = _file(tmp_path, "alice alice@example.com\n")
    script = _script(tmp_path, 'echo "$1@command.example"')
    gate = GateSettings(addresses_file=path, address_command=(str(script), "%u"))
    assert lookup_address(gate, "alice").address == "alice@example.com"
    assert lookup_address(gate, "bob").address == "bob@command.example"


def test_a_slow_command_is_cut_off_at_the_timeout(tmp_path: Path) -> None:
    # The command waits on a pipe nobody writes to: only the timeout can end it.
    script = _script(tmp_path, "sleep 1000 & wait")
    started = time.monotonic()
    with pytest.raises(GateRefusal, match=r"did not answer within 0\.3 s") as raised:
        address_from_command((str(script),), "alice", timeout=0.3)
    assert time.monotonic() - started < 5
    assert raised.value.exit_status == EXIT_USAGE


def test_a_command_that_answers_and_then_hangs_is_cut_off(tmp_path: Path) -> None:
    marker = tmp_path / "pids"
    script = _script(
        tmp_path, f"echo alice@example.com; exec 1>&-; sleep 1000 & echo $! > {marker}; wait"
    )
    with pytest.raises(GateRefusal, match="did not finish within"):
        address_from_command((str(script),), "alice", timeout=0.3)
    pid = int(marker.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, "the command's child was left running"
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("echo alice@example.com; exit 3", "exited with status 3"),
        ("kill -9 $$", "was killed by signal 9"),
        ("printf '\\033]0;owned\\007 junk\\n'", "printed something that is not an email address"),
        ("printf '\\377\\376\\n'", "printed something that is not UTF-8 text"),
        ("head -c 100000 /dev/zero | tr '\\0' a", "printed more than 64 KiB"),
    ],
)
def test_a_failing_or_junk_printing_command_shuts_the_gate(
    tmp_path: Path, body: str, message: str
) -> None:
    script = _script(tmp_path, body)
    with pytest.raises(GateRefusal) as raised:
        address_from_command((str(script),), "alice", timeout=5)
    assert message in str(raised.value)
    assert "owned" not in str(raised.value)
    assert "\x1b" not in str(raised.value)


def test_a_command_that_cannot_be_run_says_why(tmp_path: Path) -> None:
    with pytest.raises(GateRefusal, match="cannot be run: No such file"):
        address_from_command((str(tmp_path / "absent"),), "alice", timeout=5)
    not_executable = tmp_path / "plain"
    not_executable.write_text("echo a@example.com\n")
    with pytest.raises(GateRefusal, match="cannot be run: Permission denied"):
        address_from_command((str(not_executable),), "alice", timeout=5)
