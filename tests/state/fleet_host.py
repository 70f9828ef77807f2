"""One "host" of a fleet, run as its own process: `python fleet_host.py CONFIG ACTION ADDRESS`.

It loads CONFIG as otp-tui does (its HOME and XDG directories are the caller's choice) and acts
through `open_ledger`, printing one JSON line with what it saw:

- ``wrong N``: one verification that sends a code and types N wrong codes;
- ``send``: one verification that asks for a send;
- ``status``: what the ledger holds.

``--clock-offset S`` moves this host's wall clock (time.time) by S seconds before anything runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("action", choices=["wrong", "send", "status"])
    parser.add_argument("address")
    parser.add_argument("count", type=int, nargs="?", default=1)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    args = parser.parse_args()
    if args.clock_offset:
        real = time.time
        time.time = lambda: real() + args.clock_offset  # this host's clock is off

    from otp_tui.config.loading import ConfigFile, load_settings
    from otp_tui.core.codes import OneTimeCode
    from otp_tui.core.machine import Verification
    from otp_tui.core.outcomes import SendCode
    from otp_tui.state.ledger import open_ledger

    settings = load_settings(ConfigFile(args.config, explicit=True), {})
    answers: list[str] = []
    with open_ledger(settings) as ledger:
        machine = Verification(
            settings.policy.to_policy(),
            ledger,
            clock=time.monotonic,
            make_code=lambda n: OneTimeCode("1" * n),
        )
        if args.action in ("wrong", "send"):
            answer = machine.submit_address(args.address)
            answers.append(type(answer).__name__)
            if args.action == "wrong" and isinstance(answer, SendCode):
                machine.send_succeeded()
                for _ in range(args.count):
                    answers.append(type(machine.submit_code("999999")).__name__)
        entry = ledger.status(args.address)
    print(json.dumps({"answers": answers, "entry": list(entry.__dict__.values())}))


if __name__ == "__main__":
    main()
