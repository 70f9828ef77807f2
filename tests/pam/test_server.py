"""The helper service (`python -I -m otp_tui.converse --serve`) and the module's `socket=`.

The host is the README's recipe in its default mode: the service runs from the unit's
`ExecStart=` line as the service user (`pam_host`), in a mount namespace whose /dev/log is the
test's rsyslogd, so its refusals can be read. pamtester plays the PAM application in a real
pty; the relay is a real aiosmtpd server and each code is read from its mail.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e.gate_host import _CODE_LINE
from pam_host import PamHost
from relay_host import BuiltModule, PamService, Pamtester

REFUSED = r"pamtester: Authentication failure"
ACCEPTED = r"pamtester: successfully authenticated"


@pytest.fixture(scope="module")
def host(tls_certs) -> Iterator[PamHost]:
    made = PamHost.create(tls_certs)
    assert made.mode == "server"
    yield made
    made.close()


@pytest.fixture
def services() -> Iterator[Callable[[Path, str], PamService]]:
    made: list[PamService] = []

    def create(module: Path, arguments: str) -> PamService:
        made.append(PamService.create(module, arguments))
        return made[-1]

    yield create
    for service in made:
        service.remove()


@pytest.fixture
def pamtester(host: PamHost, tmp_path: Path) -> Iterator[Callable[..., Pamtester]]:
    started: list[Pamtester] = []

    def start(user: str | None = None, service: str | None = None, **options) -> Pamtester:
        tester = Pamtester(
            tmp_path / f"pamtester{len(started)}",
            service or host.service,
            user or host.alice,
            host.syslog.socket,
            items={"rhost": "192.0.2.7"},
            **options,
        )
        started.append(tester)
        return tester

    yield start
    for tester in started:
        tester.kill()


def module_of(host: PamHost) -> Path:
    return host.paths["MODULE_DIR"] / "pam_otp_tui.so"


def lines_with(host: PamHost, text: str, count: int = 1, timeout: float = 10) -> list[str]:
    """The syslog lines holding `text`, once there are `count` (rsyslogd writes a moment late)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in host.syslog.lines() if text in line]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if int(fields["PPid"]) == pid and not fields["State"].startswith("Z"):
            found.append(int(entry.name))
    return found


def open_files(pid: int) -> set[str]:
    """What the process's descriptors point at beyond 0-2 (`socket:[inode]`, `pipe:[inode]`)."""
    folder = Path(f"/proc/{pid}/fd")
    return {os.readlink(entry) for entry in folder.iterdir() if int(entry.name) > 2}


def code_for(host: PamHost, address: str, timeout: float = 30) -> str:
    assert host.relay is not None
    deadline = time.monotonic() + timeout
    while True:
        for message in list(host.relay.received):
            if message["To"] == address:
                part = message.get_body(preferencelist=("plain",))
                assert part is not None
                found = _CODE_LINE.search(part.get_content())
                assert found is not None
                return found.group(1)
        assert time.monotonic() < deadline, f"no mail to {address}"
        time.sleep(0.02)


def test_a_login_through_the_service(host: PamHost, pamtester) -> None:
    (host.state / "ledger.sqlite3").unlink(missing_ok=True)
    tester = pamtester()
    tester.expect(r"Code: ")
    tester.answer(code_for(host, "alice@example.com"))
    tester.expect(ACCEPTED)
    assert tester.finish()[0] == 0
    last = host.audit_lines()[-1]
    assert (last["event"], last["pam_service"], last["rhost"]) == (
        "verified",
        host.service,
        "192.0.2.7",
    )
    assert host.server is not None
    assert children_of(host.server.pid) == []  # the login's child ended with it


def test_a_peer_other_than_root_is_refused(host: PamHost) -> None:
    # The service user itself is the one other user who can reach the socket (its folder is
    # 0700): the server hangs up on it, with one line, and forks nothing.
    script = (
        "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
        "s.settimeout(10);print(repr(s.recv(100)))"
    )
    assert host.server is not None
    run = subprocess.run(
        ["setpriv", f"--reuid={host.service_user}", f"--regid={host.service_user}",
         "--init-groups", "--", str(host.paths["PYTHON"]), "-I", "-c", script,
         str(host.paths["SOCKET"])],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert run.stdout.strip() == "b''", run.stderr  # closed at once, nothing said
    uid = os.stat(host.paths["SOCKET"].parent).st_uid
    found = lines_with(host, f"refused a connection from uid {uid}")
    assert len(found) == 1, host.syslog.lines()


def test_a_server_of_another_user_is_refused(host: PamHost, pamtester, services) -> None:
    # A listener in the service user's folder, but run by root: the module asks the kernel
    # who listens (SO_PEERCRED) and refuses before saying anything.
    path = host.paths["SOCKET"].parent / "other.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)
    accepted: list[bytes] = []

    def accept() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            accepted.append(conn.recv(100))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        service = services(module_of(host), f"user={host.service_user} socket={path}")
        tester = pamtester(service=service.name)
        tester.expect(REFUSED)
        status, took = tester.finish()
        assert status != 0
        assert took < 5
        thread.join(10)
        assert accepted == [b""]  # not even the facts
        found = lines_with(host, "pam_otp_tui")
        assert [line for line in found if "not the service user's" in line], found
        assert "Code:" not in tester.text
    finally:
        listener.close()
        path.unlink(missing_ok=True)


def test_the_server_down_is_one_line_and_a_prompt_refusal(
    host: PamHost, pamtester, services
) -> None:
    path = host.paths["SOCKET"].parent / "nobody.sock"
    service = services(module_of(host), f"user={host.service_user} socket={path} timeout=30")
    before = len(lines_with(host, "pam_otp_tui", 0))
    tester = pamtester(service=service.name)
    tester.expect(REFUSED)
    status, took = tester.finish()
    assert status != 0
    assert took < 5, f"took {took:.1f}s"
    found = lines_with(host, "pam_otp_tui", before + 1)[before:]
    assert len(found) == 1, found
    assert "the server cannot be reached" in found[0]


def test_a_socket_folder_others_may_write_is_refused(host: PamHost, pamtester, services) -> None:
    folder = host.paths["SOCKET"].parent
    service = services(module_of(host), f"user={host.service_user} socket={host.paths['SOCKET']}")
    folder.chmod(0o722)
    try:
        tester = pamtester(service=service.name)
        tester.expect(REFUSED)
        assert tester.finish()[0] != 0
    finally:
        folder.chmod(0o700)
    assert lines_with(host, "the socket's folder is missing, not root's")


def test_a_folder_others_may_write_above_the_socket_is_refused(
    host: PamHost, pamtester, services
) -> None:
    # The socket's own folder is the service user's and 0700, and the service user listens
    # there; but a folder above it is writable by others, who could rename the socket's folder
    # away and put one of theirs in its place, leading to another of the service user's
    # listeners. The module refuses before connecting: the listener hears nothing.
    above = host.root / f"open{os.getpid()}"
    above.mkdir()
    above.chmod(0o777)
    folder = above / "run"
    folder.mkdir(mode=0o700)
    service_user = pwd.getpwnam(host.service_user)
    os.chown(folder, service_user.pw_uid, service_user.pw_gid)
    path = folder / "pam.sock"
    script = (
        "import socket,sys;s=socket.socket(socket.AF_UNIX);s.bind(sys.argv[1]);s.listen(1);"
        "s.settimeout(5);print('listening',flush=True)\n"
        "try:\n c,_=s.accept();c.settimeout(5);print(repr(c.recv(100)))\n"
        "except TimeoutError:\n print('nothing')"
    )
    listener = subprocess.Popen(
        ["setpriv", f"--reuid={host.service_user}", f"--regid={host.service_user}",
         "--init-groups", "--", str(host.paths["PYTHON"]), "-I", "-c", script, str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert listener.stdout is not None
        assert listener.stdout.readline().strip() == "listening"
        service = services(module_of(host), f"user={host.service_user} socket={path}")
        tester = pamtester(service=service.name)
        tester.expect(REFUSED)
        assert tester.finish()[0] != 0
        assert listener.stdout.readline().strip() == "nothing"
        assert lines_with(host, "a folder above the socket is not root's")
    finally:
        listener.kill()
        listener.wait(10)
        path.unlink(missing_ok=True)
        folder.rmdir()
        above.rmdir()


def test_twenty_logins_at_once_through_one_server(host: PamHost, pamtester) -> None:
    names = [f"{host.alice}n{i}" for i in range(20)]
    for name in names:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        host.users.append(name)
    addresses = host.etc / "addresses"
    with addresses.open("a") as file:
        file.writelines(f"{name}  {name}@example.com\n" for name in names)
    testers = [pamtester(user=name) for name in names]  # all started before any answers
    for name, tester in zip(names, testers, strict=True):
        tester.expect(r"Code: ", timeout=60)
        tester.answer(code_for(host, f"{name}@example.com", timeout=60))
    for tester in testers:
        tester.expect(ACCEPTED, timeout=60)
        assert tester.finish()[0] == 0
    verified = {line["user"] for line in host.audit_lines() if line["event"] == "verified"}
    assert set(names) <= verified


def test_a_conversation_past_its_deadline_is_killed(host: PamHost, pamtester, services) -> None:
    # A second service with a 2-second deadline; the module's own is longer, so it is the
    # server that ends the child (the module then sees the end without a verdict).
    path = host.paths["SOCKET"].parent / "short.sock"
    command = host.server_command()
    command[command.index("--serve") + 1] = str(path)
    command[command.index("--timeout") + 1] = "2"
    server = host.start_server(command)
    try:
        service = services(module_of(host), f"user={host.service_user} socket={path} timeout=60")
        (host.state / "ledger.sqlite3").unlink(missing_ok=True)
        tester = pamtester(service=service.name)
        tester.expect(r"Code: ")
        (child,) = children_of(server.pid)
        # Nobody answers; the server kills the child at its deadline (the module is waiting
        # on pamtester's prompt meanwhile, as it waits on a person).
        assert lines_with(host, "killed a conversation past its deadline", timeout=15)
        assert time.monotonic() - tester.started > 2
        deadline = time.monotonic() + 5
        while Path(f"/proc/{child}").exists():  # reaped by the server
            assert time.monotonic() < deadline, "the child outlived the kill"
            time.sleep(0.02)
        tester.answer("123456")  # the person answers late: the child is gone
        tester.expect(REFUSED)
        assert tester.finish()[0] != 0
        assert lines_with(host, "the helper did not take the answer") or lines_with(
            host, "ended without a verdict"
        )
    finally:
        server.terminate()
        server.wait(10)


def test_sigterm_ends_the_server_and_its_children(host: PamHost, pamtester, services) -> None:
    path = host.paths["SOCKET"].parent / "term.sock"
    command = host.server_command()
    command[command.index("--serve") + 1] = str(path)
    server = host.start_server(command)
    service = services(module_of(host), f"user={host.service_user} socket={path} timeout=60")
    (host.state / "ledger.sqlite3").unlink(missing_ok=True)
    tester = pamtester(service=service.name)
    tester.expect(r"Code: ")
    (child,) = children_of(server.pid)
    # The child holds its connection, not the service's listening socket or wake-up pipe.
    assert open_files(child).isdisjoint(open_files(server.pid))
    server.send_signal(signal.SIGTERM)
    assert server.wait(10) == 0
    assert not Path(f"/proc/{child}").exists()
    assert not path.exists()
    tester.answer("123456")  # the module was waiting on the person; the child is gone
    tester.expect(REFUSED, timeout=10)
    assert tester.finish()[0] != 0


@pytest.mark.parametrize("sanitizer", ["asan", "valgrind"])
def test_socket_mode_under_memory_checkers(
    host: PamHost, pamtester, services, pam_module: BuiltModule, tmp_path: Path, sanitizer: str
) -> None:
    """A whole login through the server with the AddressSanitizer build, and a refused one
    (the server down) under valgrind."""
    logs = tmp_path / "sanitizer"
    logs.mkdir()
    if sanitizer == "asan":
        service = services(
            pam_module.asan, f"user={host.service_user} socket={host.paths['SOCKET']}"
        )
        (host.state / "ledger.sqlite3").unlink(missing_ok=True)
        sent = host.relay.received if host.relay else []
        before = len(sent)
        tester = pamtester(service=service.name, sanitizer_logs=logs)
        tester.expect(r"Code: ")
        assert host.relay is not None
        tester.answer(host.relay.wait_for_code(before + 1))
        tester.expect(ACCEPTED)
        assert tester.finish()[0] == 0
        assert [path.read_text() for path in logs.iterdir()] == []
    else:
        from relay_host import VALGRIND, require

        require(VALGRIND is not None, "valgrind is not installed")
        path = host.paths["SOCKET"].parent / "down.sock"
        service = services(pam_module.plain, f"user={host.service_user} socket={path}")
        tester = pamtester(service=service.name, valgrind=True)
        tester.expect(REFUSED, timeout=60)
        assert tester.finish(60)[0] not in (0, 42)


# Run as the service user, with the host's configuration: the service's start (`warm`), then
# one login's conversation in the same process up to its first prompt, as a forked child
# runs it. Prints what the conversation imported that the start had not.
_IMPORTED_AFTER_START = """
import socket, sys, threading
from otp_tui.converse.server import warm
from otp_tui.converse.launch import run_pam
config, user = sys.argv[1], sys.argv[2]
warm(config)
before = set(sys.modules)
ours, theirs = socket.socketpair()
ours.sendall(f"otp-tui-pam 1\\nuser {user}\\nservice sshd\\nrhost \\ntty \\nend\\n".encode())
late = []
def module_side():
    with ours.makefile("rb") as lines:
        for line in lines:
            if line.startswith(b"prompt "):
                late.extend(sorted(set(sys.modules) - before))
                break
            if line.startswith(b"denied"):
                late.append("denied-before-any-prompt")
                break
    ours.close()
side = threading.Thread(target=module_side)
side.start()
run_pam(config, theirs.makefile("rb"), theirs.makefile("wb"))
side.join()
print(" ".join(late))
"""


def test_a_login_imports_nothing_the_service_has_not(host: PamHost) -> None:
    """The service's start imports what a login needs before its first prompt (otherwise each
    login pays for it again, in its own child): the list in `server.WARM` is complete."""
    (host.state / "ledger.sqlite3").unlink(missing_ok=True)
    run = subprocess.run(
        ["setpriv", f"--reuid={host.service_user}", f"--regid={host.service_user}",
         "--init-groups", "--", str(host.paths["PYTHON"]), "-I", "-c", _IMPORTED_AFTER_START,
         str(host.etc / "config.toml"), host.alice],
        capture_output=True, text=True, timeout=60, check=False, cwd="/",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [], run.stdout


def test_at_most_64_logins_at_once(host: PamHost) -> None:
    path = host.paths["SOCKET"].parent / "full.sock"
    command = host.server_command()
    command[command.index("--serve") + 1] = str(path)
    server = host.start_server(command)
    held: list[socket.socket] = []
    try:
        for _ in range(64):  # root's connections that say nothing yet: each has its child
            held.append(socket.socket(socket.AF_UNIX))
            held[-1].connect(str(path))
        deadline = time.monotonic() + 30
        while len(children_of(server.pid)) < 64:
            assert time.monotonic() < deadline, len(children_of(server.pid))
            time.sleep(0.05)
        extra = socket.socket(socket.AF_UNIX)
        extra.connect(str(path))
        extra.settimeout(10)
        assert extra.recv(100) == b""  # closed at once
        extra.close()
        assert len(lines_with(host, "refused a login: 64 already running")) == 1
        assert len(children_of(server.pid)) == 64
    finally:
        for conn in held:
            conn.close()  # each child reads the end and exits
        server.terminate()
        assert server.wait(15) == 0
