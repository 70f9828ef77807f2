#!/usr/bin/python3 -I
"""A well-behaved helper: reports what it was started with, asks for the code, checks it.

Its --config file holds the one right answer. Before asking, it reports (as info lines) the
facts the module sent and what it can see of itself: ids, groups, environment, descriptors,
working directory, so the test can check the module's privilege drop from the inside.
"""

import os
import resource
import sys


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    with open(sys.argv[2], encoding="utf-8") as file:
        expected = file.read().strip()
    facts = []
    while (line := sys.stdin.readline().rstrip("\n")) != "end":
        facts.append(line.replace(" ", "=", 1))
    # Counted without opening anything, so the count is what the module left open.
    open_fds = []
    for fd in range(1024):
        try:
            os.fstat(fd)
        except OSError:
            continue
        open_fds.append(str(fd))
    say("info facts " + ";".join(facts))
    say(f"info ids uid={os.getuid()},{os.geteuid()} gid={os.getgid()},{os.getegid()}")
    say("info groups " + ",".join(str(g) for g in sorted(os.getgroups())))
    # As exec'd: os.environ would include what Python adds itself (LC_CTYPE coercion).
    with open("/proc/self/environ", "rb") as file:
        names = [entry.split(b"=", 1)[0].decode() for entry in file.read().split(b"\0") if entry]
    say("info env " + ",".join(sorted(names)))
    say(f"info fds {','.join(open_fds)} cwd={os.getcwd()} sid={os.getsid(0) == os.getpid()}")
    say(f"info args {sys.argv[1:]!r}")
    with open("/proc/self/status", encoding="ascii") as file:
        status = dict(line.split(":\t", 1) for line in file.read().splitlines())
    limits = [resource.getrlimit(limit) for limit in (resource.RLIMIT_CORE, resource.RLIMIT_NOFILE)]
    say(
        f"info process umask={status['Umask'].strip()} nnp={status['NoNewPrivs'].strip()} "
        f"core={limits[0]} nofile={limits[1]}"
    )
    say("prompt Code: ")
    answer = sys.stdin.readline().rstrip("\n")
    if answer == f"answer {expected}":
        say("info Verified.")
        say("verified")
    else:
        say("error Wrong code.")
        say("denied")
    return 0


sys.exit(main())
