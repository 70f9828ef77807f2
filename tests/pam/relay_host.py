"""The PAM module on this machine, for real: built, given a service user and a PAM service.

- `build_module(folder)` runs `pam/Makefile` (warnings as errors) into `folder`: the module and
  its AddressSanitizer build.
- `ServiceUser.create()` adds a system user with a random name and one extra group (so the
  test can see that the helper gets its groups); `remove()` deletes both.
- `PamService.create(module, **arguments)` writes `/etc/pam.d/otp-tui-test-<random>` holding the
  module by absolute path; `remove()` deletes it.
- `Pamtester` runs Debian's pamtester in a real pseudo-terminal, inside a private mount
  namespace whose /dev/log is the test's own rsyslogd, so the module's syslog lines can be
  read without touching the machine's syslog.

Everything needs root (users, /etc/pam.d, mount namespaces); outside CI the tests skip.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e.pty_harness import Terminal, strip_escapes

ROOT = Path(__file__).resolve().parents[2]
MODULE_SOURCE = ROOT / "pam"
PAMTESTER = shutil.which("pamtester") or shutil.which("pamtester", path="/usr/bin:/usr/sbin")
RIGHT_CODE = "424242"  # what the good helper accepts (its --config file)
UNSHARE = shutil.which("unshare") or shutil.which("unshare", path="/usr/bin:/bin")
VALGRIND = shutil.which("valgrind") or shutil.which("valgrind", path="/usr/bin:/bin")


def require(condition: bool, reason: str) -> None:
    """Skip outside CI when a real part is missing; in CI, a missing part is a failure."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; .ci/run must provide it")
    pytest.skip(reason)


def require_root_and_tools() -> None:
    require(os.geteuid() == 0, "the PAM tests need root (users, /etc/pam.d)")
    require(shutil.which("make") is not None and shutil.which("cc") is not None, "no make/cc")
    require(Path("/usr/include/security/pam_modules.h").exists(), "libpam0g-dev is missing")
    require(PAMTESTER is not None, "pamtester is not installed")
    require(UNSHARE is not None, "unshare (util-linux) is not installed")


@dataclass(frozen=True)
class BuiltModule:
    plain: Path
    asan: Path


def build_module(folder: Path) -> BuiltModule:
    folder.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        ["make", "-s", "-C", str(MODULE_SOURCE), f"OUT={folder}", "all", "asan"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, f"the module does not build:\n{run.stdout}{run.stderr}"
    built = BuiltModule(folder / "pam_otp_tui.so", folder / "pam_otp_tui.asan.so")
    for path in (built.plain, built.asan):
        path.chmod(0o644)
    return built


def build_host_signals(folder: Path) -> Path:
    """The library the tests preload into pamtester to give it a host's signal settings."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "host_signals.so"
    source = Path(__file__).parent / "hosts" / "host_signals.c"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-Wall", "-Werror", "-o", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    target.chmod(0o644)
    return target


def build_mute_app(folder: Path) -> Path:
    """The PAM application whose conversation fails every message (`hosts/mute_app.c`)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "mute_app"
    source = Path(__file__).parent / "hosts" / "mute_app.c"
    subprocess.run(
        ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", str(target), str(source), "-lpam"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    target.chmod(0o755)
    return target


def asan_runtime() -> Path:
    found = subprocess.run(
        ["cc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    path = Path(found)
    require(path.is_absolute() and path.exists(), "the compiler has no libasan.so")
    return path


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int
    extra_group: str
    extra_gid: int

    @classmethod
    def create(cls) -> ServiceUser:
        import grp
        import pwd

        tag = secrets.token_hex(3)
        name, extra = f"otppam{tag}", f"otppamx{tag}"
        subprocess.run(["groupadd", "--system", extra], check=True, capture_output=True)
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/",
             "--shell", "/usr/sbin/nologin", "--groups", extra, name],
            check=True,
            capture_output=True,
        )  # fmt: skip
        entry = pwd.getpwnam(name)
        return cls(name, entry.pw_uid, entry.pw_gid, extra, grp.getgrnam(extra).gr_gid)

    def processes(self) -> list[int]:
        """Live processes running as this user (a helper the module failed to end)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
            state = re.search(r"^State:\s+(\S)", status, re.M)
            if uid and int(uid.group(1)) == self.uid and state and state.group(1) != "Z":
                found.append(int(entry.name))
        return found

    def remove(self) -> None:
        subprocess.run(["userdel", "--force", self.name], capture_output=True, check=False)
        for group in (self.name, self.extra_group):
            subprocess.run(["groupdel", group], capture_output=True, check=False)


@dataclass(frozen=True)
class PamService:
    name: str
    path: Path

    @classmethod
    def create(cls, module: Path, arguments: str, suffix: str = "") -> PamService:
        name = f"otp-tui-test-{secrets.token_hex(4)}{suffix}"
        path = Path("/etc/pam.d") / name
        path.write_text(
            f"# otp-tui's PAM module tests: removed when they end\n"
            f"auth     required {module} {arguments}\n"
            f"account  required pam_permit.so\n"
        )
        return cls(name, path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


# The private /dev of the namespace pamtester (or sshd) runs in: the nodes a program needs,
# the terminals' devpts with its own ptmx (a bound /dev/ptmx node would look for its devpts
# beside the old /dev), and /dev/log pointing at the test's rsyslogd.
_NAMESPACE = r"""
set -e
old=$1; log=$2; shift 2
mount --rbind /dev "$old"
mount -t tmpfs -o mode=0755 tmpfs /dev
for node in null zero full random urandom tty; do
    : >"/dev/$node"; mount --bind "$old/$node" "/dev/$node"
done
mkdir /dev/pts && mount --rbind "$old/pts" /dev/pts
ln -s pts/ptmx /dev/ptmx
ln -s "$log" /dev/log
exec "$@"
"""


def with_private_syslog(folder: Path, log_socket: Path, argv: list[str]) -> list[str]:
    """`argv` run in a private mount namespace whose /dev/log is `log_socket`.

    Why a namespace (`unshare --mount`, util-linux): the module logs with pam_syslog, that is
    glibc's syslog(3), which always writes to the fixed path /dev/log; no variable or argument
    moves it. The tests must read those lines (each refusal names its reason) without taking
    over the machine's /dev/log, so the program runs where /dev/log is the test's rsyslogd and
    every other process keeps the real one. The alternatives are worse: binding the real
    /dev/log would steal the machine's logs, and a preloaded shim around connect() would test
    something other than what runs. The su tests bind their PAM file over /etc/pam.d/su in the
    same namespace, for the same reason: su's service name is fixed."""
    assert UNSHARE is not None
    old_dev = folder / "olddev"
    old_dev.mkdir(parents=True, exist_ok=True)
    script = folder / "namespace.sh"
    script.write_text(_NAMESPACE)
    return [UNSHARE, "--mount", "--propagation", "private", "sh", str(script), str(old_dev),
            str(log_socket), *argv]  # fmt: skip


class Pamtester:
    """`pamtester SERVICE USER OPERATION` in a real pty, its syslog sent to `log_socket`.

    `operation` may carry flags, as pamtester reads them: `authenticate(PAM_SILENT)`.
    `application`, if given, runs instead of pamtester: `[PROGRAM, *ARGS]` is started as
    `PROGRAM SERVICE USER *ARGS` (a PAM application of the tests' own)."""

    def __init__(
        self,
        folder: Path,
        service: str,
        user: str,
        log_socket: Path,
        *,
        env: dict[str, str] | None = None,
        sanitizer_logs: Path | None = None,
        items: dict[str, str] | None = None,
        preload: Path | None = None,
        valgrind: bool = False,
        operation: str = "authenticate",
        application: list[str] | None = None,
    ) -> None:
        assert PAMTESTER is not None
        assert UNSHARE is not None
        base = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "TERM": "xterm"}
        prefix: list[str] = []
        if sanitizer_logs is not None:
            # pamtester loads the AddressSanitizer build of the module: the runtime must come
            # first, so it is preloaded into pamtester alone; every report goes to a file.
            logs = sanitizer_logs / "report"
            prefix = [
                "env",
                f"LD_PRELOAD={asan_runtime()}",
                f"ASAN_OPTIONS=log_path={logs}:detect_leaks=1:exitcode=99",
                f"UBSAN_OPTIONS=log_path={logs}:print_stacktrace=1:halt_on_error=1",
            ]
        elif valgrind:
            # Memory errors and definite leaks in pamtester and the module make it exit 42.
            assert VALGRIND is not None
            prefix = [VALGRIND, "-q", "--error-exitcode=42", "--leak-check=full",
                      "--errors-for-leak-kinds=definite"]  # fmt: skip
        elif preload is not None:
            prefix = ["env", f"LD_PRELOAD={preload}"]  # pamtester alone, not the namespace
        self.started = time.monotonic()
        items_given = [f"-I{name}={value}" for name, value in (items or {}).items()]
        if application is None:
            argv = [*prefix, PAMTESTER, *items_given, service, user, operation]
        else:
            argv = [*prefix, application[0], service, user, *application[1:]]
        self.terminal = Terminal(
            with_private_syslog(folder, log_socket, argv), {**base, **(env or {})}
        )

    def expect(self, pattern: str, timeout: float = 15.0) -> str:
        return self.terminal.expect(pattern, timeout).group(0)

    def answer(self, text: str) -> None:
        self.terminal.send(text + "\r")

    def finish(self, timeout: float = 20.0) -> tuple[int, float]:
        """pamtester's exit status and how long it ran, in seconds."""
        status = self.terminal.wait(timeout)
        return status, time.monotonic() - self.started

    @property
    def pid(self) -> int:
        """pamtester's pid (unshare and the namespace script exec it in the same process)."""
        return self.terminal.process.pid

    @property
    def raw(self) -> bytes:
        return self.terminal.raw

    @property
    def text(self) -> str:
        return strip_escapes(self.terminal.raw.decode("utf-8", "replace"))

    def kill(self) -> None:
        self.terminal.kill()


@dataclass
class Relay:
    """One pamtester run on a PAM service of its own, with the syslog it writes to."""

    pamtester: Pamtester
    syslog: Any  # rsyslogd.Rsyslogd
    service: PamService
    sanitizer_logs: Path

    def sanitizer_reports(self) -> list[str]:
        """What AddressSanitizer or UBSan reported (files they wrote), if anything."""
        return [path.read_text() for path in sorted(self.sanitizer_logs.iterdir())]

    def module_log(self) -> list[str]:
        """The module's syslog lines so far."""
        return [line for line in self.syslog.lines() if "pam_otp_tui" in line]
