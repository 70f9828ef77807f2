"""Fixtures for the PAM module's tests (see `relay_host` for the machinery).

``pam_module`` (session)
    The module and its AddressSanitizer build, made by `pam/Makefile` into a temporary folder.
``service_user`` (session)
    A system user with a random name and an extra group; removed at the end.
``host_signals`` (session)
    A library preloaded into pamtester to set SIGCHLD or SIGUSR1 as some hosts do.
``mute_app`` (session)
    A PAM application of the tests' own whose conversation fails every message (pamtester's
    never fails), built with warnings as errors.
``helpers`` (session)
    The helper programs of `tests/pam/helpers/`, copied into a root-owned folder every user
    may traverse (the module refuses a helper that is not root's).
``relay``
    A factory: ``relay("good.py", timeout=5)`` writes a PAM service for the module with that
    helper and starts pamtester on it in a pty (``operation=`` with flags, or
    ``application=`` for another program); returns a `Relay` with the pamtester and the
    test's rsyslogd. At teardown pamtester is killed, the service file removed, and the test
    fails if any process of the service user is still alive.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from relay_host import (
    RIGHT_CODE,
    BuiltModule,
    PamService,
    Pamtester,
    Relay,
    ServiceUser,
    build_host_signals,
    build_module,
    build_mute_app,
    require_root_and_tools,
)
from rsyslogd import start_rsyslogd

HELPERS_SOURCE = Path(__file__).parent / "helpers"


@pytest.fixture(scope="session")
def shared_folder() -> Iterator[Path]:
    """A root-owned folder under /tmp that the service user may traverse (tmp_path may not)."""
    require_root_and_tools()
    folder = Path(tempfile.mkdtemp(prefix="otp-pam-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pam_module(shared_folder: Path) -> BuiltModule:
    return build_module(shared_folder / "build")


@pytest.fixture(scope="session")
def host_signals(shared_folder: Path) -> Path:
    return build_host_signals(shared_folder / "build")


@pytest.fixture(scope="session")
def mute_app(shared_folder: Path) -> Path:
    return build_mute_app(shared_folder / "build")


@pytest.fixture(scope="session")
def service_user(shared_folder: Path) -> Iterator[ServiceUser]:
    user = ServiceUser.create()
    yield user
    user.remove()


@pytest.fixture(scope="session")
def helpers(shared_folder: Path) -> Path:
    folder = shared_folder / "helpers"
    folder.mkdir(mode=0o755)
    for source in HELPERS_SOURCE.iterdir():
        if source.is_file():
            target = folder / source.name
            shutil.copyfile(source, target)
            target.chmod(0o755)
    # The good helper's --config: the one right answer, readable by the service user.
    answer = folder / "right-code"
    answer.write_text(RIGHT_CODE + "\n")
    answer.chmod(0o644)
    return folder


@pytest.fixture
def relay(
    tmp_path: Path,
    pam_module: BuiltModule,
    service_user: ServiceUser,
    helpers: Path,
) -> Iterator[Callable[..., Relay]]:
    started: list[Relay] = []
    sanitizer_logs = tmp_path / "sanitizer"
    sanitizer_logs.mkdir()
    syslog = start_rsyslogd(tmp_path / "syslog")

    def start(
        helper: str | None = "good.py",
        *,
        arguments: str | None = None,
        timeout: int = 10,
        asan: bool = False,
        env: dict[str, str] | None = None,
        pam_user: str = "root",
        preload: Path | None = None,
        service_suffix: str = "",
        valgrind: bool = False,
        operation: str = "authenticate",
        application: list[str] | None = None,
    ) -> Relay:
        if arguments is None:
            arguments = (
                f"user={service_user.name} helper={helpers / str(helper)} "
                f"config={helpers / 'right-code'} timeout={timeout}"
            )
        module = pam_module.asan if asan else pam_module.plain
        service = PamService.create(module, arguments, service_suffix)
        try:
            pamtester = Pamtester(
                tmp_path / "pamtester",
                service.name,
                pam_user,
                syslog.socket,
                env=env,
                sanitizer_logs=sanitizer_logs if asan else None,
                preload=preload,
                valgrind=valgrind,
                operation=operation,
                application=application,
            )
        except BaseException:
            service.remove()
            raise
        started.append(Relay(pamtester, syslog, service, sanitizer_logs))
        return started[-1]

    yield start
    for each in started:
        each.pamtester.kill()
        each.service.remove()
    syslog.stop()
    leftovers = service_user.processes()
    assert not leftovers, f"helper processes still alive: {leftovers}"
