"""A ceiling on the gate's memory: a second line behind the bounds on the terminal and on input.

Whatever a gated user manages to make the gate hold (a layout, keys, a reply from a server),
the kernel refuses the gate's process more than `CEILING` bytes of data (RLIMIT_DATA: the heap
and every private writable mapping, thread stacks included), so one login cannot take the
host's memory from everyone else's. Past it an allocation fails: the run ends as an unexpected
error, unverified, and the gate stays shut.

Sized well above normal use: at the code screen the gate's data segment is about 70 MiB
(66 MiB at 80x24, 69 MiB at the largest size laid out, 500x250; RSS about 60 MiB), so 512 MiB
leaves seven times that for mail, TLS, a Redis client and worker threads.
"""

from __future__ import annotations

CEILING = 512 * 1024 * 1024


def limit_memory(ceiling: int = CEILING) -> None:
    """Lower RLIMIT_DATA, soft and hard, to `ceiling` (never raise a lower one the operator
    set). Nothing is said if the system refuses: this is the second line, not the first."""
    import resource

    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (OSError, ValueError):
        pass
