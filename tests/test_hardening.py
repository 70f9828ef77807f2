"""The process gives up core files and same-user tracing before it holds a secret.

Each check runs in a fresh interpreter: the limits and the dumpable flag belong to a process
and cannot be given back, so the test process itself is never hardened. What the kernel says
is read with the `ctypes` package and `resource`, not with the module under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")

# Runs the real console entry point (as `otp-tui --version` does) and, once it exits, reports
# the process's dumpable flag and core limit.
ENTRY_POINT = textwrap.dedent(
    """
    import atexit, ctypes, resource, sys
    from otp_tui import cli

    def report():
        dumpable = ctypes.CDLL(None, use_errno=True).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
        print("REPORT", dumpable, *resource.getrlimit(resource.RLIMIT_CORE))

    atexit.register(report)
    sys.argv = ["otp-tui", "--version"]
    cli.console_main()
    """
)


def run_python(code: str, *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@linux_only
def test_the_entry_point_turns_off_core_files_and_tracing_for_every_command():
    result = run_python(ENTRY_POINT)
    assert result.stdout.startswith("otp-tui "), result.stderr
    report = [line for line in result.stdout.splitlines() if line.startswith("REPORT")]
    assert report == ["REPORT 0 0 0"], result.stdout  # not dumpable; core limit (0, 0)
    assert "warning" not in result.stderr


@linux_only
def test_a_plain_interpreter_is_dumpable_so_the_check_above_can_fail():
    plain = ENTRY_POINT.replace("cli.console_main()", "raise SystemExit(0)")
    result = run_python(plain, "prlimit", "--core=unlimited", "--")
    assert "REPORT 1 " in result.stdout, result.stderr


# A reader with no special privilege over its target, as another process of the same user:
# root without CAP_SYS_PTRACE, reading the memory of its own child (the kernel's ptrace rules
# let a same-user process read a dumpable child's memory).
MEMORY_READER = textwrap.dedent(
    """
    import subprocess, sys
    child = subprocess.Popen(
        [sys.executable, "-c", sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "ready\\n"
    try:
        with open(f"/proc/{child.pid}/mem", "rb"):
            print("readable")
    except PermissionError:
        print("refused")
    child.stdin.close()
    child.wait()
    """
)
TARGET = "import sys\n{setup}\nprint('ready', flush=True)\nsys.stdin.read()\n"
HARDENED = "from otp_tui.hardening import protect_process_secrets\nprotect_process_secrets()"


@linux_only
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
@pytest.mark.parametrize(("setup", "expected"), [("pass", "readable"), (HARDENED, "refused")])
def test_a_same_user_process_cannot_read_the_memory(setup, expected):
    without_ptrace = ("setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps", "-sys_ptrace")
    result = subprocess.run(
        [*without_ptrace, sys.executable, "-c", MEMORY_READER, TARGET.format(setup=setup)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.stdout.strip() == expected, result.stderr


def test_protection_reports_no_problem_and_is_idempotent():
    code = textwrap.dedent(
        """
        from otp_tui.hardening import protect_process_secrets
        print(protect_process_secrets(), protect_process_secrets())
        """
    )
    assert run_python(code).stdout.strip() == "[] []"


def test_the_ctypes_package_is_not_imported():
    # What keeps the start-up cost near half a millisecond: the package alone costs ~2.5 ms.
    code = "import sys\nimport otp_tui.hardening as h\nh.protect_process_secrets()\n"
    code += "print('ctypes' in sys.modules)"
    assert run_python(code).stdout.strip() == "False"
