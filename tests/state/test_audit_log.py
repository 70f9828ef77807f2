"""The audit trail: one parseable line per event, private, never a secret, never interleaved."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import state_workers
from state_helpers import START, FakeClock, run_all, run_unprivileged

from otp_tui.config.schema import Settings
from otp_tui.state.audit import (
    EVENTS,
    AuditLog,
    default_audit_path,
    on_behalf_of,
    open_audit_log,
)
from otp_tui.state.errors import AuditError

ALICE = "alice@example.com"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("ascii").splitlines()]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.jsonl"


def test_each_event_is_one_json_line_with_who_when_and_where(
    log_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.7 50122 192.0.2.1 22")
    with AuditLog(log_path, clock=clock) as log:
        log.record("send_failed", ALICE, kind="auth")
        clock.advance(1.5)
        log.record("wrong_code", ALICE, attempts_left=4)
    first, second = _lines(log_path)
    assert first == {
        "ts": first["ts"],
        "event": "send_failed",
        "address": ALICE,
        "user": first["user"],
        "pid": os.getpid(),
        "ssh_client": "203.0.113.7",
        "kind": "auth",
    }
    assert isinstance(first["user"], str)
    assert first["user"]
    assert second["attempts_left"] == 4
    when = datetime.fromisoformat(first["ts"])
    assert when.utcoffset() == timedelta(0)
    assert when == datetime.fromtimestamp(START, tz=UTC)
    assert datetime.fromisoformat(second["ts"]) - when == timedelta(seconds=1.5)


def test_without_ssh_the_client_is_null(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    with AuditLog(log_path) as log:
        log.record("verified", ALICE)
    assert _lines(log_path)[0]["ssh_client"] is None


def test_every_event_name_is_accepted(log_path: Path) -> None:
    with AuditLog(log_path) as log:
        for event in sorted(EVENTS):
            log.record(event, ALICE)  # type: ignore[arg-type]
    assert [line["event"] for line in _lines(log_path)] == sorted(EVENTS)
    assert {
        "send_requested",
        "sent",
        "send_failed",
        "wrong_code",
        "verified",
        "locked",
        "cancelled",
        "interrupted",
        "allowed_without_mail",
    } == EVENTS


def test_a_misspelt_event_is_refused(log_path: Path) -> None:
    with AuditLog(log_path) as log, pytest.raises(ValueError, match="unknown audit event"):
        log.record("verifed", ALICE)  # type: ignore[arg-type]
    assert log_path.read_bytes() == b""


@pytest.mark.parametrize("name", ["code", "CODE", "password", "smtp_password", "secret", "otp"])
def test_fields_that_could_hold_a_secret_are_refused(log_path: Path, name: str) -> None:
    with AuditLog(log_path) as log, pytest.raises(ValueError, match="never records"):
        log.record("wrong_code", ALICE, **{name: "123456"})
    assert log_path.read_bytes() == b""


def test_a_field_cannot_overwrite_the_standard_ones(log_path: Path) -> None:
    with AuditLog(log_path) as log, pytest.raises(ValueError, match="set by the audit log"):
        log.record("verified", ALICE, user="root")


def test_line_separators_in_values_stay_on_one_line(log_path: Path) -> None:
    awkward = "b\u2028o\nb\u0085@example.com"
    with AuditLog(log_path) as log:
        log.record("cancelled", awkward)
    assert len(log_path.read_bytes().splitlines()) == 1
    assert len(log_path.read_text("ascii").splitlines()) == 1
    assert _lines(log_path)[0]["address"] == awkward


def test_the_file_is_private_and_appended_to(log_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        with AuditLog(log_path) as log:
            log.record("sent", ALICE)
        with AuditLog(log_path) as log:
            log.record("verified", ALICE)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_path.parent.stat().st_mode) == 0o700
    assert [line["event"] for line in _lines(log_path)] == ["sent", "verified"]


def test_the_default_path_is_in_the_user_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_audit_path() == tmp_path / "otp-tui" / "audit.jsonl"
    with open_audit_log(Settings()) as log:
        assert log.path == default_audit_path()
    chosen = tmp_path / "trail.jsonl"
    with open_audit_log(Settings(state={"audit_log": chosen})) as log:  # type: ignore[arg-type]
        assert log.path == chosen


def test_an_unwritable_place_is_an_audit_error_naming_the_file(shared_dir: Path) -> None:
    def body() -> dict[str, Any]:
        locked = shared_dir / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        try:
            AuditLog(locked / "audit.jsonl")
        except AuditError as error:
            return {"message": str(error)}
        return {"message": None}

    message = run_unprivileged(body)["message"]
    assert message is not None
    assert str(shared_dir / "locked" / "audit.jsonl") in message
    assert "Permission denied" in message


def test_a_full_disk_is_an_audit_error(shared_dir: Path) -> None:
    def body() -> dict[str, Any]:
        log = AuditLog(shared_dir / "audit.jsonl")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, resource.RLIM_INFINITY))
        try:
            for _ in range(1000):
                log.record("sent", ALICE, note="x" * 300)
        except AuditError as error:
            return {"message": str(error)}
        return {"message": None}

    message = run_unprivileged(body)["message"]
    assert message is not None
    assert "audit.jsonl" in message


def test_a_closed_log_refuses_to_write(log_path: Path) -> None:
    log = AuditLog(log_path)
    log.close()
    log.close()
    with pytest.raises(AuditError, match="closed"):
        log.record("sent", ALICE)


@pytest.mark.slow
def test_twenty_processes_never_interleave_their_lines(tmp_path: Path, processes: Any) -> None:
    path = tmp_path / "audit.jsonl"
    codes = run_all(processes, state_workers.audit_lines, (str(path), 50), count=20)
    assert codes == [0] * 20
    lines = _lines(path)  # every line parses
    assert len(lines) == 1000
    for line in lines:
        assert line["padding"] == str(line["pid"]) * 500
    per_process = Counter(line["pid"] for line in lines)
    assert sorted(per_process.values()) == [50] * 20
    for pid in per_process:
        assert [line["index"] for line in lines if line["pid"] == pid] == list(range(50))


def _as_uid(uid: int, body: Any) -> dict[str, Any]:
    """Run `body` in a forked child whose real and effective uid is `uid`; its dict back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            answer = {"ok": body()}
        except BaseException as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        os.write(write_end, json.dumps(answer).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        answer = json.loads(reader.read())
    os.waitpid(pid, 0)
    assert "ok" in answer, answer.get("error")
    return dict(answer["ok"])


def _unnamed_uid() -> int:
    import pwd

    uid = 54321
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to take on a uid with no name")
def test_a_user_without_a_name_is_recorded_by_uid(shared_dir: Path) -> None:
    uid = _unnamed_uid()

    def body() -> dict[str, Any]:
        os.environ["USER"] = os.environ["LOGNAME"] = "alice"
        with AuditLog(shared_dir / "audit.jsonl") as log:
            log.record("interrupted", ALICE, signal="SIGHUP")
        return {"user": _lines(shared_dir / "audit.jsonl")[0]["user"]}

    assert _as_uid(uid, body) == {"user": f"uid {uid}"}


def test_the_user_comes_from_the_real_uid_not_the_environment(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pwd

    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setenv("USERNAME", "alice")
    with AuditLog(log_path) as log:
        log.record("verified", ALICE)
    assert _lines(log_path)[0]["user"] == pwd.getpwuid(os.getuid()).pw_name != "alice"


def test_the_gate_records_the_user_it_verifies(log_path: Path) -> None:
    with on_behalf_of("carol"), open_audit_log(Settings(state={"audit_log": log_path})) as log:  # type: ignore[arg-type]
        log.record("verified", ALICE)
    with open_audit_log(Settings(state={"audit_log": log_path})) as log:  # type: ignore[arg-type]
        log.record("verified", ALICE)
    first, second = _lines(log_path)
    assert first["user"] == "carol"
    assert second["user"] != "carol"


@pytest.mark.parametrize(
    ("connection", "stored"),
    [
        ("203.0.113.7 50122 192.0.2.1 22", "203.0.113.7"),
        ("2001:db8::1 50122 2001:db8::2 22", "2001:db8::1"),
        ("fe80::1%eth0 50122 fe80::2%eth0 22", "fe80::1"),  # a scope id is free text: dropped
        ("fe80::1%\x1b]0;x\x07\u202e 50122 fe80::2 22", "fe80::1"),
        ("evil.example 1 2 3", None),
        ("\x1b]0;owned\x07 1 2 3", None),
        ("203.0.113.7\x1b[2J 1 2 3", None),
        ("", None),
        (" 203.0.113.7 1 2 3", None),
        ("999.1.1.1 1 2 3", None),
    ],
)
def test_the_ssh_client_is_kept_only_when_it_is_an_ip_address(
    log_path: Path, monkeypatch: pytest.MonkeyPatch, connection: str, stored: str | None
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", connection)
    with AuditLog(log_path) as log:
        log.record("sent", ALICE)
    assert _lines(log_path)[0]["ssh_client"] == stored


def test_the_user_is_looked_up_once_at_the_first_line_not_at_open(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Opening the trail is on the start-up path; pwd is not needed until a line.
    import pwd

    real = pwd.getpwuid
    calls = []

    def counting(uid: int) -> Any:
        calls.append(uid)
        return real(uid)

    monkeypatch.setattr(pwd, "getpwuid", counting)
    with AuditLog(log_path) as log:
        assert calls == []
        log.record("interrupted", ALICE, signal="SIGHUP")
        log.record("interrupted", ALICE, signal="SIGTERM")
    assert calls == [os.getuid()]


# --- rotation (logrotate renames the file while a run is writing) -------------------------


def test_lines_after_a_rotation_land_in_the_new_file(log_path: Path) -> None:
    with AuditLog(log_path) as log:
        log.record("send_requested", ALICE)
        rotated = log_path.with_name("audit.jsonl.1")
        log_path.rename(rotated)  # what logrotate does first
        log.record("sent", ALICE)  # no file at the path: created afresh
        log_path.rename(log_path.with_name("audit.jsonl.2"))
        log_path.touch(mode=0o600)  # logrotate's `create`: a new empty file at the path
        log.record("verified", ALICE)
    assert [line["event"] for line in _lines(rotated)] == ["send_requested"]
    assert [line["event"] for line in _lines(log_path.with_name("audit.jsonl.2"))] == ["sent"]
    assert [line["event"] for line in _lines(log_path)] == ["verified"]
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600


def test_copytruncate_rotation_keeps_appending_at_the_end(log_path: Path) -> None:
    with AuditLog(log_path) as log:
        log.record("send_requested", ALICE)
        os.truncate(log_path, 0)  # logrotate's copytruncate
        log.record("sent", ALICE)
    assert [line["event"] for line in _lines(log_path)] == ["sent"]


def test_a_rotation_to_an_unusable_place_still_fails_closed(shared_dir: Path) -> None:
    def body() -> dict[str, Any]:
        folder = shared_dir / "trail"
        log = AuditLog(folder / "audit.jsonl")
        log.record("sent", ALICE)
        (folder / "audit.jsonl").rename(shared_dir / "moved.jsonl")
        folder.chmod(0o500)  # the new file cannot be created
        try:
            log.record("verified", ALICE)
        except AuditError as error:
            return {"message": str(error)}
        return {"message": None}

    message = run_unprivileged(body)["message"]
    assert message is not None
    assert "Permission denied" in message
