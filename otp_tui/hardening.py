"""Keep the secrets this process holds out of core files and away from same-user debuggers.

otp-tui holds the SMTP password from the moment the configuration is read, and the live code
(in clear until the message is sent) with the key and digest that check it: enough to try all
10^6 codes offline in about a second. A core file, or another process of the same user reading
`/proc/PID/mem` or attaching with ptrace, would hand all of it out. As ssh-agent does, the
process gives up both at the very start, before anything secret is read:

- `RLIMIT_CORE` set to 0, soft and hard, so no core file is written whatever the signal
  (SIGQUIT, SIGABRT, SIGSEGV) and whatever `ulimit -c` said; on every POSIX system.
- `prctl(PR_SET_DUMPABLE, 0)` on Linux: the kernel then writes no core even to a pipe in
  `core_pattern` (systemd-coredump, apport), refuses ptrace and `/proc/PID/mem` to processes
  of the same user, and makes the process's `/proc` files root's. Other systems get the core
  limit only (macOS's `PT_DENY_ATTACH` and FreeBSD's `procctl` are not used); Windows writes
  no core files and gets nothing.

What stays possible: root (or anything with CAP_SYS_PTRACE) can still read this memory, the
kernel can still swap it out, and a debugger attached before this runs keeps its hold.

Cheap on purpose: the process entry point (`cli.console_main`, which `python -m otp_tui` uses
too) calls it before anything else. The `ctypes` package costs about
2.5 ms to import (it builds every C type and each platform's loaders); one libc call needs only
its C core, `_ctypes`, which costs about half a millisecond. The package is the fallback.
"""

from __future__ import annotations

import sys

# Not `from typing import TYPE_CHECKING`: typing costs milliseconds to import, and this module
# is meant to cost well under one (type checkers read the name the same way).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
_RLIMIT_CORE_LINUX = 4  # <asm-generic/resource.h>; the same on every Linux architecture


class Unprotected:
    """One step of the protection that failed, worded when it is shown.

    The protection runs before the language is chosen (and before `otp_tui.language` is
    loaded), so the sentence is translated only when `str()` prints it.
    """

    def __init__(self, step: str, reason: str) -> None:
        self.step = step  # "core files", "tracing", "tracing and core dumps"
        self.reason = reason  # from the system: an errno, an OS message

    def __str__(self) -> str:
        from otp_tui.language import _

        if self.step == "core files":
            # TRANSLATORS: a warning at start; {reason} is the system's (an errno, a message).
            return _("could not turn off core files: {reason}").format(reason=self.reason)
        if self.step == "tracing":
            # TRANSLATORS: a warning at start; {reason} is the system's.
            return _("could not turn off tracing: {reason}").format(reason=self.reason)
        # TRANSLATORS: a warning at start; {reason} is the system's (an errno).
        return _("could not turn off tracing and core dumps: {reason}").format(reason=self.reason)

    def __repr__(self) -> str:
        return f"Unprotected({self.step!r}, {self.reason!r})"


def protect_process_secrets() -> list[Unprotected]:
    """Turn off core files and (on Linux) same-user tracing; one problem per step that failed.

    Never raises: a refusal here must not stop a verification, it only leaves less protection,
    which the caller can say.
    """
    if sys.platform.startswith("linux"):
        return _protect_linux()
    if sys.platform == "win32":
        return []  # no core files, and no ptrace to refuse
    return _limit_core_files()


def _limit_core_files() -> list[Unprotected]:
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError) as error:
        return [Unprotected("core files", str(error))]
    return []


def _protect_linux() -> list[Unprotected]:
    try:
        libc = _LinuxLibc()
    except (ImportError, AttributeError, OSError):  # pragma: no cover - a Python without _ctypes
        return [*_limit_core_files(), Unprotected("tracing", "no ctypes")]
    problems = []
    if libc.setrlimit(_RLIMIT_CORE_LINUX, 0, 0) != 0:
        problems.append(Unprotected("core files", f"errno {libc.errno()}"))
    if libc.prctl(PR_SET_DUMPABLE, 0) != 0:
        problems.append(Unprotected("tracing and core dumps", f"errno {libc.errno()}"))
    return problems


class _LinuxLibc:
    """The two libc calls needed, through `_ctypes` alone (see the module docstring)."""

    def __init__(self) -> None:
        # Typed as Any: typeshed describes these classes for the ctypes package's own use
        # (a CDLL where this passes any object with a `_handle`).
        core: Any
        try:
            import _ctypes as core
        except ImportError:  # pragma: no cover - the same classes, re-exported
            import ctypes as core

        # The C types, made the way ctypes makes c_int and friends (built with type() since
        # their bases are untyped here).
        int_type = type("CInt", (core._SimpleCData,), {"_type_": "i"})
        ulong_type = type("CULong", (core._SimpleCData,), {"_type_": "L"})  # rlim_t on Linux
        # struct rlimit { rlim_t rlim_cur, rlim_max; }
        rlimit_type = type("RLimit", (core.Array,), {"_type_": ulong_type, "_length_": 2})
        function_type = type(
            "LibcFunction",
            (core.CFuncPtr,),
            {"_flags_": core.FUNCFLAG_CDECL | core.FUNCFLAG_USE_ERRNO, "_restype_": int_type},
        )
        # What CFuncPtr looks a symbol up in: any object with a dlopen handle; None is the
        # process itself, so libc as already loaded.
        process = type("Process", (), {"_handle": core.dlopen(None, 0x2)})  # RTLD_NOW

        self._core = core
        self._int = int_type
        self._ulong = ulong_type
        self._rlimit = rlimit_type
        self._prctl = function_type(("prctl", process))
        self._setrlimit = function_type(("setrlimit", process))

    def prctl(self, option: int, value: int) -> int:
        # int prctl(int option, unsigned long arg2, ..., arg5): the unused ones passed as 0.
        zero = self._ulong(0)
        result: int = self._prctl(self._int(option), self._ulong(value), zero, zero, zero)
        return result

    def setrlimit(self, resource: int, soft: int, hard: int) -> int:
        limits = self._rlimit(soft, hard)
        result: int = self._setrlimit(self._int(resource), limits)
        return result

    def errno(self) -> int:
        code: int = self._core.get_errno()
        return code


def is_dumpable() -> bool:
    """Whether the kernel would let a same-user process trace this one (Linux only)."""
    return _LinuxLibc().prctl(PR_GET_DUMPABLE, 0) != 0
