"""The PAM helper as a service: started once, a child forked for each login.

`python -I -m otp_tui.converse --serve SOCKET [--config PATH] [--timeout SECONDS]`, run as the
service user (the recipe's systemd unit). Why: a helper exec'd for every login spends most of
the person's wait before the first prompt starting Python and importing (pydantic, the
settings model, the mail client); a process that did that once and forks for each login starts
each conversation with all of it loaded.

The parent listens and keeps order, nothing more: it never reads the module's lines and never
runs a conversation. For each connection it

- takes only root (SO_PEERCRED uid 0): the module runs inside sshd, sudo and su, as root; the
  socket's folder (0700, the service user's) keeps everyone else out already, and this holds
  even when the folder is wrong;
- refuses at once beyond `MAX_CHILDREN` conversations (bounded: a flood of connections cannot
  fork the host to its limit);
- forks a child that closes the listening socket and runs exactly the exec'd helper's
  conversation (`launch.run_pam`: the configuration re-read and re-checked, the same deadline,
  audit and syslog) on the connection, then exits;
- kills a child (and its process group) still alive a second past the conversation's
  deadline (`--timeout`, set to the module's `timeout=`), and reaps every child;
- on SIGTERM (or SIGINT) stops listening, kills its children and exits 0.

Each refusal of a connection is one syslog line.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import signal
import socket
import stat
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from otp_tui.converse.launch import run_pam, tell_operator
from otp_tui.language import N_
from otp_tui.result import EXIT_USAGE

PROG = "otp_tui.converse --serve"
MAX_CHILDREN = 64  # conversations at once; more are refused until one ends
TICK = 0.5  # seconds between deadline checks while nothing happens
KILL_GRACE = 1.0  # past the deadline, as the module gives its own helper

# What a conversation imports when it first needs it (the lazy imports of `launch`, the flow
# and the mail shell), loaded here once so that no child pays for them. By name, as the flow
# loads the mail client ahead of its first send: this front end never calls the shells itself.
WARM = (
    "otp_tui.gate.interpreter",
    "otp_tui.gate.memory_ceiling",
    "otp_tui.config.gate_settings",
    "otp_tui.config.sources",
    "otp_tui.config.schema",
    "otp_tui.language",
    "otp_tui.gate.run",
    "otp_tui.gate.addresses",
    "otp_tui.gate.refusal",
    "otp_tui.gate.invoker",
    "otp_tui.core.ssh_client",
    "otp_tui.core.address",
    "otp_tui.core.machine",
    "otp_tui.core.outcomes",
    "otp_tui.core.policy",
    "otp_tui.flow.launch",
    "otp_tui.flow.build",
    "otp_tui.flow.requester",
    "otp_tui.flow.run",
    "otp_tui.flow.delivery",
    "otp_tui.converse.conversation",
    "otp_tui.converse.words",
    "otp_tui.state.audit",
    "otp_tui.state.audit_syslog",
    "otp_tui.state.lazy",
    "otp_tui.state.ledger",
    "otp_tui.mail.message",
    "otp_tui.mail.sender",
    "email_validator",
    "aiosmtplib",
    "asyncio",
    "sqlite3",
    "syslog",
    "resource",  # the memory ceiling each login sets
    "concurrent.futures.thread",  # the flow loads the mail client in a thread
    "queue",
    "encodings.idna",  # the address's domain
)


# What the operator reads when the service cannot start: in the auth log in these words, on
# the terminal (or the unit's journal) in theirs.
NOT_ROOT = N_("run the helper service as the service user, never as root")
NOT_ABSOLUTE = N_("the socket path must be absolute: {path}")
NOT_A_SOCKET = N_("{path} exists and is not a socket")


class ServeError(Exception):
    """The server cannot start: one line for the operator (`message`, formatted with `path`)."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message.format(path=path))
        self.message = message
        self.path = path


def _tell_starter(message: str, **values: object) -> None:
    """One line in the auth log, and the same on stderr in the operator's language."""
    from otp_tui.language import _, choose, use_language

    tell_operator(f"{PROG}: {message.format(**values)}")
    use_language(choose(None, os.environ))
    print(f"{PROG}: {_(message).format(**values)}", file=sys.stderr)


@dataclass
class Child:
    pid: int
    deadline: float  # time.monotonic()


def warm(config: str | None) -> None:
    """Import what a conversation needs, and build the settings model once (pydantic builds a
    model's validators the first time it is used). A configuration that does not load now is
    not fatal: each login re-reads it and refuses with its own line until it is fixed."""
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"  # as run_pam does, before any model
    for name in WARM:
        importlib.import_module(name)
    from otp_tui.config.gate_settings import load_gate_settings
    from otp_tui.config.sources import ConfigError

    try:
        load_gate_settings(config)
    except ConfigError as error:
        for line in error.problems:
            tell_operator(f"{PROG}: {line}")


def listen(path: Path) -> socket.socket:
    """The listening socket at `path`, mode 0600. A socket left there by an earlier run is
    replaced; anything else at that path is refused rather than removed."""
    if not path.is_absolute():
        raise ServeError(NOT_ABSOLUTE, path)
    try:
        found = path.lstat()
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(found.st_mode):
            raise ServeError(NOT_A_SOCKET, path)
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # close-on-exec by default
    old = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old)
    server.listen(128)
    server.setblocking(False)
    return server


def peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


class Server:
    def __init__(
        self, listener: socket.socket, path: Path, config: str | None, timeout: float
    ) -> None:
        self._listener = listener
        self._path = path
        self._config = config
        self._timeout = timeout
        self._children: dict[int, Child] = {}
        self._stopping = False
        # Signals only wake the loop (a byte on this pipe); the loop does the work, so no
        # handler ever runs in the middle of a fork.
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def _on_stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def serve(self) -> int:
        signal.set_wakeup_fd(self._wake_write)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes the loop to reap
        try:
            while not self._stopping:
                watched = [self._listener.fileno(), self._wake_read]
                ready, _, _ = select.select(watched, [], [], TICK)
                if self._wake_read in ready:
                    self._drain_wakeups()
                self._reap()
                self._kill_overdue()
                if watched[0] in ready and not self._stopping:
                    self._accept()
        finally:
            self._shutdown()
        return 0

    def _drain_wakeups(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_read, 512):
                pass

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError as error:
            # Out of descriptors, buffers or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): this
            # login waits (the module refuses at its deadline), the service and the logins
            # under way go on. The pause keeps a listener that stays readable from spinning.
            tell_operator(f"{PROG}: could not take a connection: {error.strerror}")
            time.sleep(0.1)
            return
        # Whatever goes wrong with one connection ends that login (the module then refuses),
        # never the service.
        with conn:
            try:
                uid = peer_uid(conn)
            except OSError as error:
                tell_operator(f"{PROG}: refused a connection: {error.strerror}")
                return
            if uid != 0:
                tell_operator(f"{PROG}: refused a connection from uid {uid}: only root's")
                return
            if len(self._children) >= MAX_CHILDREN:
                tell_operator(f"{PROG}: refused a login: {MAX_CHILDREN} already running")
                return
            try:
                pid = os.fork()
            except OSError as error:
                tell_operator(f"{PROG}: refused a login: fork failed: {error.strerror}")
                return
            if pid == 0:
                self._child(conn)  # never returns
            self._children[pid] = Child(pid, time.monotonic() + self._timeout)

    def _child(self, conn: socket.socket) -> None:
        status = EXIT_USAGE
        try:
            # Nothing of the parent's serving stays: not its socket, its pipe or its handlers.
            self._listener.close()
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            os.close(self._wake_read)
            os.close(self._wake_write)
            os.setpgid(0, 0)  # its own group: the parent's kill ends what it started too
            conn.setblocking(True)
            reader = conn.makefile("rb")
            writer = conn.makefile("wb")
            status = run_pam(self._config, reader, writer)
            writer.close()
        except BaseException:  # nothing may reach the parent's loop, whatever it is
            status = EXIT_USAGE
        finally:
            os._exit(status)

    def _reap(self) -> None:
        while self._children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._children.clear()
                return
            if pid == 0:
                return
            self._children.pop(pid, None)

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for child in list(self._children.values()):
            if now >= child.deadline + KILL_GRACE:
                tell_operator(f"{PROG}: killed a conversation past its deadline (pid {child.pid})")
                self._kill(child.pid)
                child.deadline = float("inf")  # once; reaped when it is gone

    @staticmethod
    def _kill(pid: int) -> None:
        for target in (-pid, pid):  # its group, or itself if it had no time to make one
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)

    def _shutdown(self) -> None:
        self._listener.close()
        self._path.unlink(missing_ok=True)  # a module then finds nothing, not a dead socket
        for pid in list(self._children):
            self._kill(pid)
        # Polled, not a blocking wait: a killed child stuck in the kernel must not hold the
        # service's exit past its five seconds (whatever is left, the kernel reaps after us).
        deadline = time.monotonic() + 5
        while self._children and time.monotonic() < deadline:
            self._reap()
            if self._children:
                time.sleep(0.02)


def serve(socket_path: str, config: str | None, timeout: float) -> int:
    from otp_tui.gate.interpreter import interpreter_problems

    problems = interpreter_problems()
    if problems:
        for line in problems:
            tell_operator(f"{PROG}: {line}")
        print(f"{PROG}: {problems[0]}", file=sys.stderr)
        return EXIT_USAGE
    if os.getuid() == 0:
        # The module runs the helper as the service user; a root server would run every
        # conversation, and the operator's files, as root.
        _tell_starter(NOT_ROOT)
        return EXIT_USAGE
    warm(config)
    path = Path(socket_path)
    try:
        listener = listen(path)
    except ServeError as error:
        _tell_starter(error.message, path=error.path)
        return EXIT_USAGE
    except OSError as error:  # the system's words (no folder, no permission): as they are
        tell_operator(f"{PROG}: {path}: {error.strerror}")
        print(f"{PROG}: {path}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return Server(listener, path, config, timeout).serve()
