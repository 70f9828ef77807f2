"""How a run ended: the exit status and the `--json` line a script reads."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

Reason = Literal[
    "verified",
    "locked",
    "expired",
    "failed",
    "cancelled",
    "interrupted",
    "hangup",
    "terminated",
    # The gate's whole-run deadline (`[gate] session_timeout`) passed first.
    "timeout",
    # Not verified, yet let in: the gate's operator chose `on_mail_failure = "allow"` and the
    # code could not be mailed for a reason the sender could not help.
    "allowed_without_mail",
]

EXIT_VERIFIED = 0
EXIT_NOT_VERIFIED = 1
EXIT_USAGE = 2  # bad arguments or configuration, no terminal, unusable ledger
EXIT_HANGUP = 129  # 128 + SIGHUP
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

_STATUS_BY_REASON = {
    "verified": EXIT_VERIFIED,
    "allowed_without_mail": EXIT_VERIFIED,
    "hangup": EXIT_HANGUP,
    "interrupted": EXIT_INTERRUPTED,
    "terminated": EXIT_TERMINATED,
}


@dataclass(frozen=True)
class RunResult:
    verified: bool
    email: str
    reason: Reason
    sends: int = 0
    wrong_attempts: int = 0

    def __post_init__(self) -> None:
        # Fail closed: "verified" is only ever true together with the reason that says so.
        if self.verified != (self.reason == "verified"):
            raise ValueError("verified and reason disagree")

    @property
    def lets_in(self) -> bool:
        """Whether the caller may open what the run guards: verified, or let in by the gate's
        operator when mail could not be sent."""
        return self.reason in ("verified", "allowed_without_mail")

    @property
    def exit_status(self) -> int:
        return _STATUS_BY_REASON.get(self.reason, EXIT_NOT_VERIFIED)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)
