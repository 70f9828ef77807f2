"""Who asks: the budgets, the audit trail and the mail read one value, and the SSH client is a
claim that labels and is never counted."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otp_tui.flow.requester import caller_from_environment
from otp_tui.mail.message import describe_origin
from otp_tui.state.audit import AuditLog

ME = pwd.getpwuid(os.getuid()).pw_name

# Values sshd writes, and what a caller with a shell may write instead.
_PIECES = st.sampled_from(
    [
        "203.0.113.9",
        "2001:db8::7",
        "fe80::1%eth0",
        "fe80::1%\x1b]0;x\x07\u202e",
        "::ffff:1.2.3.4",
        " ",
        "\t",
        "  ",
        "5000",
        "22",
        "10.0.0.1",
        "evil.example",
        "\x1b[2J",
        "\u202e",
        "%",
        "",
        "999.1.1.1",
        "\n",
    ]
)
ODD_CONNECTIONS = st.one_of(
    st.lists(_PIECES, max_size=6).map("".join),
    st.lists(_PIECES, max_size=5).map(" ".join),
    # Anything an environment can hold: no NUL, no lone surrogate.
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40),
)


def _audit_client(tmp_path: Path, connection: str, *, through_caller: bool) -> object:
    path = tmp_path / f"audit-{os.urandom(4).hex()}.jsonl"
    caller = caller_from_environment(environ={"SSH_CONNECTION": connection})
    who = caller.labels if through_caller else None
    old = os.environ.get("SSH_CONNECTION")
    os.environ["SSH_CONNECTION"] = connection
    try:
        with AuditLog(path, who=who) as log:
            log.record("sent", "alice@example.com")
    finally:
        if old is None:
            del os.environ["SSH_CONNECTION"]
        else:
            os.environ["SSH_CONNECTION"] = old
    return json.loads(path.read_text("ascii"))["ssh_client"]


@settings(max_examples=300, deadline=None)
@given(connection=ODD_CONNECTIONS)
def test_the_budget_the_audit_and_the_mail_agree_on_odd_ssh_connection_values(
    tmp_path_factory: pytest.TempPathFactory, connection: str
) -> None:
    tmp_path = tmp_path_factory.mktemp("who")
    caller = caller_from_environment(environ={"SSH_CONNECTION": connection})
    # The trail from the run's caller and the trail reading the environment itself agree.
    assert _audit_client(tmp_path, connection, through_caller=True) == caller.ssh_client
    assert _audit_client(tmp_path, connection, through_caller=False) == caller.ssh_client
    origin = describe_origin({"SSH_CONNECTION": connection}, hostname="h")
    if caller.ssh_client is None:
        assert origin == "h"
    else:
        assert origin == f"h (over SSH from {caller.ssh_client})"
        assert caller.ssh_client.isprintable()
        assert "%" not in caller.ssh_client  # no scope id: free text from the caller
    # Whatever it claims, only the account is counted.
    assert caller.requester.budget_names == (f"user:{ME}",)


@pytest.mark.parametrize(
    ("connection", "client"),
    [
        (" 203.0.113.9 5000 10.0.0.1 22", None),  # the copies once disagreed on these two
        ("203.0.113.9\t5000 10.0.0.1 22", None),
        ("203.0.113.9 5000 10.0.0.1 22", "203.0.113.9"),
        ("fe80::1%\x1b]0;owned\x07\u202e 5000 fe80::2 22", "fe80::1"),
    ],
)
def test_the_one_rule(tmp_path: Path, connection: str, client: str | None) -> None:
    assert caller_from_environment(environ={"SSH_CONNECTION": connection}).ssh_client == client
    assert _audit_client(tmp_path, connection, through_caller=False) == client
    origin = describe_origin({"SSH_CONNECTION": connection}, hostname="h")
    assert not any(char in origin for char in "\x1b\x07\u202e")


def test_a_claimed_client_never_charges_its_budget() -> None:
    # Two callers claiming one client keep budgets of their own; one caller claiming many
    # clients keeps one.
    alice = caller_from_environment("alice", {"SSH_CONNECTION": "203.0.113.9 1 10.0.0.1 22"})
    bob = caller_from_environment("bob", {"SSH_CONNECTION": "203.0.113.9 1 10.0.0.1 22"})
    elsewhere = caller_from_environment("alice", {"SSH_CONNECTION": "198.51.100.7 1 10.0.0.1 22"})
    assert set(alice.requester.budget_names).isdisjoint(bob.requester.budget_names)
    assert alice.requester.budget_names == elsewhere.requester.budget_names == ("user:alice",)


def test_pams_remote_host_follows_the_same_rule() -> None:
    from otp_tui.converse.launch import _client
    from otp_tui.core.ssh_client import address_label

    assert _client("fe80::1%\x1b]0;x\x07\u202e") == address_label("fe80::1%eth0") == "fe80::1"
    assert _client("host.example") is None
    assert _client("203.0.113.9") == "203.0.113.9"
