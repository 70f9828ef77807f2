"""The helper service's listening socket and start-up refusals (no PAM, no other user needed).

The service itself, with the module and real logins, is tested in tests/pam/test_server.py.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from otp_tui.converse.server import NOT_A_SOCKET, NOT_ABSOLUTE, ServeError, listen, serve


def test_the_socket_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "pam.sock"
    listener = listen(path)
    try:
        assert stat.S_ISSOCK(path.lstat().st_mode)
        assert stat.S_IMODE(path.lstat().st_mode) == 0o600
        assert not os.get_inheritable(listener.fileno())  # no exec'd program gets it
    finally:
        listener.close()


def test_a_socket_left_by_an_earlier_run_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "pam.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    listen(path).close()


def test_anything_else_at_the_path_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "pam.sock"
    path.write_text("the operator's file\n")
    with pytest.raises(ServeError) as raised:
        listen(path)
    assert raised.value.message == NOT_A_SOCKET
    assert path.read_text() == "the operator's file\n"


def test_a_relative_path_is_refused() -> None:
    with pytest.raises(ServeError) as raised:
        listen(Path("run/pam.sock"))
    assert raised.value.message == NOT_ABSOLUTE


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the refusal to run as root")
def test_the_service_never_runs_as_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert serve(str(tmp_path / "pam.sock"), None, 300) == 2
    assert not (tmp_path / "pam.sock").exists()
    assert "never as root" in capsys.readouterr().err
