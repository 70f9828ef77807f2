"""The PAM module's budgets: time to the first prompt, and the helper's memory.

    sudo python tests/bench/bench_pam.py [--runs N] [--breakdown] [--json PATH]

Root only (it sets up a PAM service, users and files with the README's recipe, as the tests
do, and removes them at the end). Everything is real and on 127.0.0.1: the module built from
`pam/`, the helper the recipe installs, an aiosmtpd relay with STARTTLS (no AUTH, so the bare
sends below can use the same server), an SQLite ledger; pamtester plays the PAM application in
a pseudo-terminal.

- **First prompt**: from starting pamtester (the PAM call) until "Code:" is on its terminal,
  in the recipe's default mode (the helper service, `socket=`; the budget is judged on it)
  and in its exec mode (`helper=`, a new helper process per login; shown, not budgeted), on
  the same host: the recipe installs both, and a second PAM service holds the exec line.
  Budget: 1.3x of "a bare interpreter start plus one bare aiosmtplib send to the same server",
  measured two ways:
  - **the fresh floor, which the budget is judged against**: one new process,
    `python -I tests/bench/bare_send_once.py`, that starts, imports aiosmtplib and sends
    otp-tui's message (built once by this script, byte for byte) with STARTTLS, from its start
    until it has sent. This is what any Python helper must at least do for the first prompt:
    it cannot send without importing its SMTP client first.
  - **the warm floor, shown as the stricter figure, not budgeted**: `python -I -c pass` plus
    one send in a process that imported aiosmtplib beforehand (tests/bench/bare_send.py). It
    leaves out the import of aiosmtplib, asyncio and ssl, which no Python helper can skip, so
    1.3x of it is out of reach for any helper written in Python; it is kept to show how much
    of the fresh floor is imports rather than the send itself.
- **Memory**: the helper's peak resident memory (VmHWM) at the code prompt (in server mode the
  login's forked child, which counts the pages it shares with the service), against the plain
  mode's (`otp-tui --plain --email ...` with the same configuration) at its code prompt.
  Budget: 1.2x.

With `--breakdown`, where an exec'd helper's time goes: the modules the fresh floor and the helper
import (from `python -X importtime` runs), timed in stages in a new process without importtime's
overhead, and what is left of the first-prompt time after them (the PAM call, the module, the
checks, the ledger and the send).

Sides alternate run by run; the ledger is cleared before each run (a fresh first send). Prints
a table, writes JSON (default: none), exits 1 if a budget fails. Not part of the test run. The
machine's load average is printed with the figures: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "pam")]

# Run as a script, `bench` is tests/bench/bench.py (the script's folder is on the path, and a
# module there wins over the folder tests/bench, which has no __init__.py); mypy, which names
# modules from tests/, reads the name as that folder.
from bench import _byte_compile_otp_tui  # type: ignore[attr-defined]  # noqa: E402
from e2e.gate_host import start_relay  # noqa: E402
from e2e.pty_harness import Terminal  # noqa: E402
from pam_host import PamHost  # noqa: E402
from relay_host import PAMTESTER, PamService  # noqa: E402

BUDGETS = {"first_prompt": 1.3, "peak_memory": 1.2}
# The code stands on a line of its own in the mail's text part (as tests/converse reads it).
CODE_LINE = re.compile(r"^\s*(\d{6,10})\s*$", re.M)


class Certs:
    """The shape `PamHost` and `start_relay` read: a CA file and a certificate for 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        import trustme

        ca = trustme.CA()
        self.good = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))


def clear_ledger(folder: Path) -> None:
    """A fresh ledger: each run is a first send, within every hourly budget."""
    for name in ("ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"):
        (folder / name).unlink(missing_ok=True)


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM line")


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if re.search(rf"^Uid:\s+{uid}\s", status, re.M):
                found.append(int(entry.name))
    return found


def code_from(relay: Any, count: int) -> str:
    deadline = time.monotonic() + 20
    while len(relay.received) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("no mail")
        time.sleep(0.005)
    body = relay.received[count - 1].get_body(preferencelist=("plain",)).get_content()
    found = CODE_LINE.search(body)
    assert found is not None
    return found.group(1)


def pam_run(host: PamHost, relay: Any, service_uid: int, service: str) -> tuple[float, int]:
    """Seconds from the PAM call to the prompt, and the helper's peak memory there (KiB)."""
    assert PAMTESTER is not None
    clear_ledger(host.state)
    sent = len(relay.received)
    started = time.monotonic()
    term = Terminal(
        [PAMTESTER, service, host.alice, "authenticate"],
        {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm"},
    )
    try:
        term.expect(r"Code: ", timeout=30)
        took = time.monotonic() - started
        server = host.server.pid if host.server is not None else None
        helpers = [pid for pid in processes_of(service_uid) if pid != server]
        assert len(helpers) == 1, helpers
        peak = vm_hwm_kib(helpers[0])
        term.send(code_from(relay, sent + 1) + "\r")
        term.expect("successfully authenticated", timeout=30)
        term.wait(30)
    finally:
        term.kill()
    return took, peak


def plain_run(host: PamHost, relay: Any, python: Path, config: Path) -> int:
    """The plain mode's peak memory at its code prompt (KiB), same configuration and server."""
    sent = len(relay.received)
    home = host.root / "plain-home"
    home.mkdir(exist_ok=True)
    clear_ledger(home / "state" / "otp-tui")
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }
    argv = [str(python), "-I", "-m", "otp_tui", "--config", str(config), "--plain",
            "--email", "alice@example.com"]  # fmt: skip
    term = Terminal(argv, env)
    try:
        term.expect(r"Code: ", timeout=30)
        peak = vm_hwm_kib(term.pid)
        term.send(code_from(relay, sent + 1) + "\r")
        term.expect("Verified", timeout=30)
        term.wait(30)
    finally:
        term.kill()
    return peak


def fresh_floor_run(python: Path, relay: Any, ca_file: Path, message: Path) -> float:
    """Seconds for one new process to start, import aiosmtplib and send otp-tui's message."""
    started = time.monotonic()
    sender = subprocess.run(
        [str(python), "-I", str(HERE / "bare_send_once.py"), str(relay.port), str(ca_file),
         str(message), "otp@example.com", "alice@example.com"],
        stdout=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    assert sender.stdout.strip() == "sent", sender.stdout
    return took


def warm_floor_run(python: Path, relay: Any, ca_file: Path) -> tuple[float, float]:
    """A bare interpreter start, and one bare aiosmtplib send by a process that has already
    imported aiosmtplib (seconds each)."""
    started = time.monotonic()
    subprocess.run([str(python), "-I", "-c", "pass"], check=True)
    interpreter = time.monotonic() - started
    sender = subprocess.Popen(
        [str(python), str(HERE / "bare_send.py"), str(relay.port), str(ca_file),
         "alice@example.com"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sender.stdin is not None
    assert sender.stdout is not None
    try:
        assert sender.stdout.readline().strip() == "ready"
        started = time.monotonic()
        sender.stdin.write("send\n")
        sender.stdin.flush()
        answer = sender.stdout.readline().strip()
        send = time.monotonic() - started
        assert answer == "sent", answer
    finally:
        sender.kill()
        sender.wait()
    return interpreter, send


IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+\d+ \| *(\S+)")
# Imports, in one new process, the modules each stage names (those already loaded are skipped),
# and prints the milliseconds each stage took. Nothing else is imported first: the names come
# on stdin, stages separated by a line "--".
STAGED = """
import importlib, os, sys, time
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"  # as the helper runs
stages = [part.split() for part in sys.stdin.read().split("--\\n")]
took = []
for names in stages:
    started = time.perf_counter()
    for name in names:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:
                pass  # a platform's module (nt, msvcrt) that importtime listed as tried
    took.append((time.perf_counter() - started) * 1000)
print(" ".join(f"{ms:.3f}" for ms in took))
"""


def imported(stderr: str) -> list[str]:
    """The modules `python -X importtime` reports, in the order their imports finished."""
    return [found[1] for found in IMPORT_LINE.finditer(stderr)]


def helper_modules(host: PamHost, python: Path, service_uid: int) -> list[str]:
    """What the helper imports before its first prompt: one run as the service user on a
    socket pair, fed the module's opening block as pam_otp_tui.so would."""
    import pwd
    import socket

    clear_ledger(host.state)
    entry = pwd.getpwuid(service_uid)
    ours, theirs = socket.socketpair()
    helper = subprocess.Popen(
        [str(python), "-I", "-X", "importtime", "-m", "otp_tui.converse", "--config",
         str(host.etc / "config.toml")],
        stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
        user=service_uid, group=entry.pw_gid, extra_groups=[],
    )  # fmt: skip
    theirs.close()
    block = f"otp-tui-pam 1\nuser {host.alice}\nservice {host.service}\nrhost \ntty \nend\n"
    ours.sendall(block.encode())
    with ours.makefile("rb") as lines:
        for line in lines:
            if line.startswith((b"prompt ", b"denied")):
                assert line.startswith(b"prompt "), line
                break
    ours.close()  # the helper reads end of file: a hang-up, nothing more is sent
    _, stderr = helper.communicate(timeout=30)
    return imported(stderr)


def time_breakdown(
    host: PamHost, relay: Any, python: Path, ca_file: Path, message: Path, service_uid: int
) -> dict[str, float]:
    """Where the helper's time before its first prompt goes, in milliseconds (medians of 5).

    The module lists come from `python -X importtime` runs of the fresh floor and the helper;
    the times from a new process that imports them in stages, without importtime's overhead:
    what the fresh floor imports too, then pydantic with the settings model (importing
    `otp_tui.config.schema` builds it), then the rest of what the helper imports.
    """
    floor = subprocess.run(
        [str(python), "-I", "-X", "importtime", str(HERE / "bare_send_once.py"), str(relay.port),
         str(ca_file), str(message), "otp@example.com", "alice@example.com"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stages = [
        imported(floor.stderr),
        ["otp_tui.config.schema"],
        helper_modules(host, python, service_uid),
    ]
    names = "--\n".join("\n".join(stage) + "\n" for stage in stages)
    runs = [
        [float(ms) for ms in subprocess.run(
            [str(python), "-I", "-c", STAGED], input=names, capture_output=True, text=True,
            check=True,
        ).stdout.split()]
        for _ in range(5)
    ]  # fmt: skip
    return {
        label: statistics.median(run[index] for run in runs)
        for index, label in enumerate(("floor_imports", "pydantic_and_settings_model", "rest"))
    }


def write_message(path: Path) -> None:
    """otp-tui's message, as the helper sends it, for the fresh floor to send byte for byte."""
    from otp_tui.config.schema import SenderSettings
    from otp_tui.core.codes import OneTimeCode
    from otp_tui.mail.message import build_message, describe_origin

    message = build_message(
        SenderSettings(address="otp@example.com"),
        "alice@example.com",
        OneTimeCode("123456"),
        ttl_seconds=600,
        requested_from=describe_origin(),
    )
    path.write_bytes(message.as_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time, in stages, what the helper imports before its first prompt",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_pam.py: run as root (it sets up a PAM service and users)", file=sys.stderr)
        return 2
    import pwd
    import tempfile

    # As an install is: the helper runs as the service user, who cannot write __pycache__ here,
    # so a module not compiled yet would be compiled from source at every login.
    _byte_compile_otp_tui()
    scratch = Path(tempfile.mkdtemp(prefix="otp-pam-bench-"))
    certs = Certs(scratch)
    host = PamHost.create(certs)
    relay = start_relay(certs, auth=False)
    try:
        # The same relay for the helper, the plain mode and the bare send: STARTTLS, no AUTH.
        config = host.etc / "config.toml"
        text = config.read_text()
        text = re.sub(r"^port = \d+$", f"port = {relay.port}", text, flags=re.M)
        text = re.sub(r"^(username|password_file) = .*\n", "", text, flags=re.M)
        config.write_text(text)
        python = Path(host.paths["PYTHON"])
        service_uid = pwd.getpwnam(host.service_user).pw_uid
        assert host.mode == "server", "the recipe's default is what the budget is judged on"
        module_line = next(
            line for line in host.pam_file.read_text().splitlines() if "pam_otp_tui" in line
        )
        exec_line = module_line.replace(
            f"socket={host.paths['SOCKET']}", f"helper={host.paths['HELPER']} config={config}"
        )
        exec_service = PamService.create(Path(exec_line.split()[2]), exec_line.split(None, 3)[3])
        raw: dict[str, list[float]] = {
            "pam_first_prompt": [],
            "pam_exec_first_prompt": [],
            "exec_helper_peak_kib": [],
            "fresh_floor": [],
            "interpreter": [],
            "bare_send": [],
            "helper_peak_kib": [],
            "plain_peak_kib": [],
        }
        message = scratch / "message.eml"
        write_message(message)
        pam_run(host, relay, service_uid, host.service)  # warm the caches once, uncounted
        pam_run(host, relay, service_uid, exec_service.name)
        plain_run(host, relay, python, config)
        fresh_floor_run(python, relay, certs.ca_file, message)
        loads = [os.getloadavg()[0]]
        for index in range(args.runs):
            order = [0, 1, 2, 3, 4] if index % 2 == 0 else [4, 3, 2, 1, 0]
            for side in order:
                if side == 0:
                    took, peak = pam_run(host, relay, service_uid, host.service)
                    raw["pam_first_prompt"].append(took)
                    raw["helper_peak_kib"].append(peak)
                elif side == 4:
                    took, peak = pam_run(host, relay, service_uid, exec_service.name)
                    raw["pam_exec_first_prompt"].append(took)
                    raw["exec_helper_peak_kib"].append(peak)
                elif side == 1:
                    raw["fresh_floor"].append(
                        fresh_floor_run(python, relay, certs.ca_file, message)
                    )
                elif side == 2:
                    interpreter, send = warm_floor_run(python, relay, certs.ca_file)
                    raw["interpreter"].append(interpreter)
                    raw["bare_send"].append(send)
                else:
                    raw["plain_peak_kib"].append(plain_run(host, relay, python, config))
            loads.append(os.getloadavg()[0])
        breakdown = (
            time_breakdown(host, relay, python, certs.ca_file, message, service_uid)
            if args.breakdown
            else None
        )
    finally:
        if "exec_service" in locals():
            exec_service.remove()
        relay.stop()
        host.close()
        shutil.rmtree(scratch, ignore_errors=True)
    median = {name: statistics.median(values) for name, values in raw.items()}
    warm = median["interpreter"] + median["bare_send"]
    report = {
        "runs": args.runs,
        "load_average_1min": {"min": min(loads), "max": max(loads)},
        "median": median,
        "first_prompt": {
            "pam_ms": median["pam_first_prompt"] * 1000,
            "floor_ms": median["fresh_floor"] * 1000,
            "ratio": median["pam_first_prompt"] / median["fresh_floor"],
            "budget": BUDGETS["first_prompt"],
            # Each PAM run against the fresh floor run next to it: steadier under a varying load.
            "run_by_run_ratio": statistics.median(
                pam / floor
                for pam, floor in zip(raw["pam_first_prompt"], raw["fresh_floor"], strict=True)
            ),
            "warm_floor_ms": warm * 1000,
            "warm_ratio": median["pam_first_prompt"] / warm,
            "exec_ms": median["pam_exec_first_prompt"] * 1000,
            "exec_ratio": median["pam_exec_first_prompt"] / median["fresh_floor"],
        },
        "peak_memory": {
            "helper_mib": median["helper_peak_kib"] / 1024,
            "plain_mib": median["plain_peak_kib"] / 1024,
            "ratio": median["helper_peak_kib"] / median["plain_peak_kib"],
            "budget": BUDGETS["peak_memory"],
            "exec_helper_mib": median["exec_helper_peak_kib"] / 1024,
        },
        "time_breakdown_ms": breakdown,
        "raw": raw,
    }
    first, memory = report["first_prompt"], report["peak_memory"]
    header = f"{'otp-tui pam':>14}{'floor/plain':>14}{'ratio':>8}{'budget':>8}"
    print(f"{'measure (server mode)':<34}{header}")
    print(
        f"{'first prompt vs fresh floor':<34}{first['pam_ms']:>11.0f} ms"
        f"{first['floor_ms']:>11.0f} ms{first['ratio']:>8.2f}{first['budget']:>8.2f}"
    )
    print(
        f"{'  exec mode (helper=), not budgeted':<34}{first['exec_ms']:>11.0f} ms"
        f"{first['floor_ms']:>11.0f} ms{first['exec_ratio']:>8.2f}{'-':>8}"
    )
    print(
        f"{'first prompt vs warm floor':<34}{first['pam_ms']:>11.0f} ms"
        f"{first['warm_floor_ms']:>11.0f} ms{first['warm_ratio']:>8.2f}{'-':>8}"
    )
    print(
        f"{'helper peak memory (VmHWM)':<34}{memory['helper_mib']:>10.1f} MiB"
        f"{memory['plain_mib']:>10.1f} MiB{memory['ratio']:>8.2f}{memory['budget']:>8.2f}"
    )
    print(f"{'  exec mode helper peak memory':<34}{memory['exec_helper_mib']:>10.1f} MiB")
    print(
        f"fresh floor: start + import aiosmtplib + send {median['fresh_floor'] * 1000:.0f} ms; "
        f"warm floor: interpreter start {median['interpreter'] * 1000:.0f} ms + bare send "
        f"{median['bare_send'] * 1000:.0f} ms (aiosmtplib imported beforehand, not budgeted)"
    )
    print(
        f"first prompt vs fresh floor, median of run-by-run ratios: {first['run_by_run_ratio']:.2f}"
    )
    load = report["load_average_1min"]
    print(f"{args.runs} runs each; 1-minute load average {load['min']:.2f} to {load['max']:.2f}")
    if breakdown is not None:
        interpreter = median["interpreter"] * 1000
        imports = sum(breakdown.values())
        print("where an exec'd helper's time before its first prompt goes (imports in stages):")
        print(f"  {interpreter:6.1f} ms  the interpreter's start (python -I -c pass)")
        print(f"  {breakdown['floor_imports']:6.1f} ms  what the fresh floor imports too")
        print(
            f"  {breakdown['pydantic_and_settings_model']:6.1f} ms  pydantic and the settings model"
        )
        print(f"  {breakdown['rest']:6.1f} ms  the rest of what the helper imports")
        print(
            f"  {first['exec_ms'] - interpreter - imports:6.1f} ms  everything else: the PAM call, "
            "the module, the checks, the ledger and the send"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    failed = first["ratio"] > first["budget"] or memory["ratio"] > memory["budget"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
