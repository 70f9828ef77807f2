"""Audit lines in syslog: a real rsyslogd on its own socket gets one line per event, with the
configured facility, a severity by outcome, ident otp-tui, the same JSON as the file, and never
the code. A syslog that is down costs one line on stderr and nothing else."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rsyslogd import Rsyslogd, start_rsyslogd

from otp_tui.config.schema import Settings
from otp_tui.state.audit import AuditLog, open_audit_log
from otp_tui.state.audit_syslog import SyslogSink, frame

ALICE = "alice@example.com"


@pytest.fixture
def rsyslogd(tmp_path: Path) -> Iterator[Rsyslogd]:
    daemon = start_rsyslogd(tmp_path / "syslog")
    try:
        yield daemon
    finally:
        daemon.stop()


def _settings(tmp_path: Path, facility: str, socket_path: Path) -> Settings:
    return Settings(
        state={  # type: ignore[arg-type]
            "audit_log": tmp_path / "audit.jsonl",
            "syslog_facility": facility,
            "syslog_socket": socket_path,
        }
    )


def _file_lines(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("facility", ["authpriv", "auth", "local3"])
def test_each_event_reaches_syslog_with_its_facility_and_severity(
    tmp_path: Path, rsyslogd: Rsyslogd, facility: str, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[Any] = [
        ("send_requested", "info", {}),
        ("sent", "info", {}),
        ("wrong_code", "warning", {"attempts_left": 4}),
        ("send_failed", "warning", {"kind": "unreachable"}),
        ("locked", "warning", {}),
        ("interrupted", "warning", {"signal": "SIGHUP"}),
        ("cancelled", "notice", {}),
        ("verified", "notice", {}),
    ]
    with open_audit_log(_settings(tmp_path, facility, rsyslogd.socket)) as log:
        for event, _severity, fields in events:
            log.record(event, ALICE, **fields)
    lines = rsyslogd.wait_for(len(events))
    assert len(lines) == len(events)
    in_file = _file_lines(tmp_path)
    for line, (event, severity, _fields), recorded in zip(lines, events, in_file, strict=True):
        got_facility, got_severity, tag, message = line.split(" ", 3)
        assert (got_facility, got_severity) == (facility, severity), line
        assert tag == f"otp-tui[{os.getpid()}]:"
        assert json.loads(message) == recorded  # the same fields as the file's line
        assert recorded["event"] == event
    assert capsys.readouterr().err == ""


def test_the_datagram_is_the_json_line_with_no_nul(tmp_path: Path) -> None:
    # A plain datagram socket of the test's own, to see the bytes exactly as sent.
    path = tmp_path / "raw.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        with AuditLog(tmp_path / "audit.jsonl", syslog=SyslogSink("authpriv", path)) as log:
            log.record("wrong_code", ALICE, attempts_left=2)
        data = server.recv(65536)
    assert data.startswith(b"<84>")  # authpriv (10) * 8 + warning (4)
    assert b"\0" not in data
    assert not data.endswith(b"\n")
    header, _, text = data.partition(b"]: ")
    assert header.split(b" ")[-1] == f"otp-tui[{os.getpid()}".encode()
    assert json.loads(text) == _file_lines(tmp_path)[0]


def test_frame_uses_c_month_names_and_the_given_time() -> None:
    data = frame("local0", "verified", "{}", now=0.0, pid=7)
    assert data.startswith(b"<133>")  # local0 (16) * 8 + notice (5)
    assert data.endswith(b" otp-tui[7]: {}")
    month = data[5:8].decode()
    assert month in {"Dec", "Jan"}  # the epoch, in whatever zone the machine keeps


def test_a_syslog_that_is_not_there_is_said_once_and_the_file_carries_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such.sock"
    with open_audit_log(_settings(tmp_path, "authpriv", missing)) as log:
        log.record("send_requested", ALICE)
        log.record("verified", ALICE)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert str(missing) in err[0]
    assert "audit file only" in err[0]
    assert [line["event"] for line in _file_lines(tmp_path)] == ["send_requested", "verified"]


def test_a_syslog_that_dies_mid_run_is_said_once_after_the_run(
    tmp_path: Path, rsyslogd: Rsyslogd, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_audit_log(_settings(tmp_path, "authpriv", rsyslogd.socket)) as log:
        log.record("send_requested", ALICE)
        rsyslogd.wait_for(1)
        rsyslogd.stop()
        rsyslogd.socket.unlink(missing_ok=True)
        log.record("sent", ALICE)
        log.record("verified", ALICE)
        # Nothing on stderr while the run is under way: it would land in the screen.
        assert capsys.readouterr().err == ""
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "is not taking audit lines" in err[0]
    assert [line["event"] for line in _file_lines(tmp_path)] == [
        "send_requested",
        "sent",
        "verified",
    ]
    assert len(rsyslogd.lines()) == 1


def test_a_restarted_syslog_gets_the_next_line(tmp_path: Path, rsyslogd: Rsyslogd) -> None:
    with open_audit_log(_settings(tmp_path, "authpriv", rsyslogd.socket)) as log:
        log.record("send_requested", ALICE)
        rsyslogd.wait_for(1)
        rsyslogd.stop()
        rsyslogd.socket.unlink(missing_ok=True)
        again = start_rsyslogd(rsyslogd.socket.parent)  # same socket path, a new daemon
        try:
            log.record("verified", ALICE)
            lines = again.wait_for(2)
        finally:
            again.stop()
    assert lines[-1].startswith("authpriv notice otp-tui[")


def test_without_a_facility_nothing_goes_to_syslog(tmp_path: Path, rsyslogd: Rsyslogd) -> None:
    settings = Settings(state={"audit_log": tmp_path / "audit.jsonl"})  # type: ignore[arg-type]
    with open_audit_log(settings) as log:
        log.record("verified", ALICE)
    # A marker line through the same daemon: once it is written, ours would have been too.
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
        client.connect(str(rsyslogd.socket))
        client.send(b"<14>Jan  1 00:00:00 marker: done")
    assert rsyslogd.wait_for(1) == ["user info marker: done"]
