"""The gate's memory ceiling (`otp_tui.gate.memory_ceiling`), in a process of its own."""

from __future__ import annotations

import subprocess
import sys

from otp_tui.gate.memory_ceiling import CEILING

_PROBE = """
import resource, sys
from otp_tui.gate.memory_ceiling import limit_memory

operator = int(sys.argv[2])
if operator:
    resource.setrlimit(resource.RLIMIT_DATA, (operator, operator))
limit_memory(int(sys.argv[1]))
print(*resource.getrlimit(resource.RLIMIT_DATA))
try:
    held = bytearray(int(sys.argv[3]))
except MemoryError:
    print("refused")
else:
    print("allocated")
"""


def probe(ceiling: int, operator: int, allocate: int) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ceiling), str(operator), str(allocate)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


MIB = 1024 * 1024


def test_past_the_ceiling_an_allocation_is_refused_and_below_it_goes_through() -> None:
    assert probe(200 * MIB, 0, 400 * MIB) == [f"{200 * MIB} {200 * MIB}", "refused"]
    assert probe(200 * MIB, 0, 50 * MIB) == [f"{200 * MIB} {200 * MIB}", "allocated"]


def test_a_lower_limit_the_operator_set_stays() -> None:
    assert probe(200 * MIB, 150 * MIB, 50 * MIB)[0] == f"{150 * MIB} {150 * MIB}"


def test_the_ceiling_is_well_above_the_gate_at_work() -> None:
    # About 70 MiB of data at the code screen (the module says how it was measured).
    assert CEILING >= 5 * 70 * MIB
