"""`otp-tui --plain`, the line mode, against the real program in a real pseudo-terminal.

The terminal stays in its ordinary line mode: what is typed is echoed by the terminal, Enter
submits the line, Ctrl+C raises SIGINT and Ctrl+D ends the input. The code is read out of the
demo outbox's Maildir, as a user reads their mail.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from pty_harness import OTP_TUI, OtpHome, Terminal, session_members
from test_journey import wrong_code

ADDRESS = "bob@example.com"
ESC = b"\x1b"


def to_code_prompt(term: Terminal, address: str = ADDRESS) -> None:
    term.expect("Email address: ")
    term.type(address + "\r")
    term.expect(f"Sending a code to {address} via the demo outbox")
    term.expect(r"Code expires in \d+:\d\d\.")
    term.expect("Code: ")


def test_the_demo_journey_to_verified_line_by_line(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    term = terminal("--plain", "--json", stdout_file=tmp_path / "result.json")
    term.expect("Demo mode")
    to_code_prompt(term)
    code = otp_home.read_code()
    assert code not in term.text, "the program printed the code"
    term.send("\r")  # an empty line: the time left again
    term.expect(r"Code expires in \d+:\d\d\. A new code can be asked for in \d+:\d\d\.")
    term.expect("Code: ")
    term.type(code + "\r")
    term.expect(f"Verified. {ADDRESS} is confirmed")

    assert term.wait() == 0
    assert ESC not in term.raw, "the line mode drew with escape sequences"
    assert term.json_line() == {
        "verified": True,
        "email": ADDRESS,
        "reason": "verified",
        "sends": 1,
        "wrong_attempts": 0,
    }
    events = [line["event"] for line in otp_home.audit_lines()]
    assert events == ["send_requested", "sent", "verified"]


def test_in_demo_mode_o_prints_the_newest_outbox_message(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    term = terminal("--plain")
    to_code_prompt(term)
    term.type("o\r")
    term.expect("Demo outbox: the newest message")
    term.expect(f"To: {ADDRESS}")
    shown = term.expect(r"Your verification code for .+ is:\s*(\d+)").group(1)
    term.expect("end of message")
    term.expect("Code: ")
    assert shown == otp_home.read_code()
    term.type(shown + "\r")
    term.expect("Verified")
    assert term.wait() == 0


def test_wrong_codes_answer_one_line_each_then_lock(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    term = terminal(
        "--plain",
        "--json",
        "--set",
        "policy.max_attempts=3",
        stdout_file=tmp_path / "result.json",
    )
    to_code_prompt(term)
    wrong = wrong_code(otp_home.read_code())
    term.type("12\r")
    term.expect("The code has 6 digits.")  # malformed: not counted
    term.type(wrong + "\r")
    term.expect("Wrong code: 2 attempts left.")
    term.type(wrong + "\r")
    term.expect("Wrong code: 1 attempt left.")
    term.type(wrong + "\r")
    term.expect(f"Locked. Too many wrong codes. {ADDRESS} is locked until")

    assert term.wait() == 1
    result = term.json_line()
    assert (result["verified"], result["reason"], result["wrong_attempts"]) == (
        False,
        "locked",
        3,
    )
    events = [line["event"] for line in otp_home.audit_lines()]
    assert events == ["send_requested", "sent", "wrong_code", "wrong_code", "locked"]


def test_r_sends_a_new_code_and_only_the_new_one_is_taken(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    term = terminal(
        "--plain",
        "--json",
        "--set",
        "policy.resend_cooldown=0",
        stdout_file=tmp_path / "result.json",
    )
    to_code_prompt(term)
    first = otp_home.read_code()
    term.type("r\r")
    term.expect(f"Sending a code to {ADDRESS} via the demo outbox")
    term.expect("Code: ")
    assert len(list((otp_home.state / "outbox" / "new").iterdir())) == 2
    second = otp_home.read_code()
    if first != second:  # one live code: a resend replaces it
        term.type(first + "\r")
        term.expect("Wrong code")
    term.type(second + "\r")
    term.expect("Verified")

    assert term.wait() == 0
    assert term.json_line()["sends"] == 2


def test_a_resend_too_soon_is_refused_in_one_line(terminal: Callable[..., Terminal]) -> None:
    term = terminal("--plain")
    to_code_prompt(term)
    term.type("r\r")
    term.expect(r"You can ask for a new code in \d+:\d\d\.")
    term.expect("Code: ")
    term.send("\x04")  # ctrl+d
    assert term.wait() == 1


@pytest.mark.parametrize(
    ("deliver", "status", "reason"),
    [
        ("\x03", 130, "interrupted"),  # the Ctrl+C key: the terminal raises SIGINT
        (signal.SIGHUP, 129, "hangup"),
        (signal.SIGTERM, 143, "terminated"),
        ("\x04", 1, "cancelled"),  # Ctrl+D: the input has ended
    ],
    ids=["ctrl+c", "SIGHUP", "SIGTERM", "ctrl+d"],
)
def test_an_ending_at_the_code_prompt_gives_its_status_json_and_audit_line(
    terminal: Callable[..., Terminal],
    otp_home: OtpHome,
    tmp_path: Path,
    deliver: signal.Signals | str,
    status: int,
    reason: str,
) -> None:
    term = terminal("--plain", "--json", stdout_file=tmp_path / "stdout")
    to_code_prompt(term)
    if isinstance(deliver, str):
        term.send(deliver)
    else:
        os.kill(term.pid, deliver)

    assert term.wait(timeout=5) == status
    if isinstance(deliver, str):  # the terminal is still there to read the ending, on its own line
        term.expect(r"(?m)^Not verified\. The verification was stopped\.\r?$")
    assert term.json_line() == {
        "verified": False,
        "email": ADDRESS,
        "reason": reason,
        "sends": 1,
        "wrong_attempts": 0,
    }
    last = otp_home.audit_lines()[-1]
    event = "cancelled" if reason == "cancelled" else "interrupted"
    assert (last["event"], last["reason"], last["pid"]) == (event, reason, term.pid)
    assert session_members(term.pid) == []


@pytest.mark.parametrize("controlling", [True, False], ids=["with SIGHUP", "without SIGHUP"])
def test_a_dropped_terminal_ends_the_run_as_a_hangup(
    terminal: Callable[..., Terminal], otp_home: OtpHome, controlling: bool
) -> None:
    # With SIGHUP: the kernel sends it as the terminal goes. Without (not the terminal's
    # session): the line mode sees its input end on a hung-up terminal, which is a hang-up.
    term = terminal("--plain", "--json", controlling=controlling)
    to_code_prompt(term)
    term.close_terminal()

    assert term.wait(timeout=5) == 129
    events = [(line["event"], line.get("reason")) for line in otp_home.audit_lines()]
    assert events[-1] == ("interrupted", "hangup")
    assert events.count(("interrupted", "hangup")) == 1


@pytest.mark.parametrize("term_value", ["dumb", ""], ids=["TERM=dumb", "TERM empty"])
def test_a_dumb_terminal_chooses_the_line_mode_and_says_so_first(
    terminal: Callable[..., Terminal], otp_home: OtpHome, term_value: str
) -> None:
    env = dict(otp_home.env, TERM=term_value)
    term = terminal("--demo", "--email", ADDRESS, env=env)
    named = f"TERM is {term_value}" if term_value else "TERM is not set"
    first = term.expect(r"[^\r\n]+")
    assert first.group(0) == f"{named}: otp-tui runs in its plain line mode (--plain)."
    # A fixed address goes straight to sending, shown masked.
    term.expect("Sending a code to b\\*\\*\\*@example.com via the demo outbox")
    term.expect("Code: ")
    term.type(otp_home.read_code() + "\r")
    term.expect("Verified")
    assert term.wait() == 0
    assert ESC not in term.raw


def test_without_term_set_at_all_the_line_mode_is_chosen(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    env = {name: value for name, value in otp_home.env.items() if name != "TERM"}
    term = terminal(env=env)
    term.expect("TERM is not set: otp-tui runs in its plain line mode")
    term.expect("Email address: ")
    term.send("\x04")
    assert term.wait() == 1


def test_a_failed_send_offers_a_retry_and_retrying_fails_again(
    terminal: Callable[..., Terminal], otp_home: OtpHome, closed_port: int, tmp_path: Path
) -> None:
    # A real server address that refuses connections: a retryable failure, twice.
    smtp = (
        "--set", "smtp.host=127.0.0.1", "--set", f"smtp.port={closed_port}",
        "--set", "smtp.security=none", "--set", "smtp.timeout=2",
        "--set", "sender.address=otp@example.com",
    )  # fmt: skip
    term = terminal("--plain", *smtp, "--json", stdout_file=tmp_path / "stdout")
    term.expect("Email address: ")
    term.type(ADDRESS + "\r")
    term.expect(f"Could not send the code to {ADDRESS} via 127.0.0.1.")
    term.expect("Type r to try again, or press Enter to change the address.")
    term.type("r\r")
    term.expect(f"Sending a code to {ADDRESS}")
    term.expect("Could not send the code")
    term.send("\r")  # Enter: back to the address
    term.expect("Email address: ")
    term.send("\x04")

    assert term.wait() == 1
    assert term.json_line()["reason"] == "cancelled"
    events = [line["event"] for line in otp_home.audit_lines()]
    assert events.count("send_failed") == 2


class _Inbox:
    """What a real loopback SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_in_thread() -> Iterator[tuple[int, _Inbox]]:
    # The program runs in its own process, so the server runs in its own thread, on an
    # explicit loopback port (Controller(port=0) does not work).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_outside_demo_mode_o_is_only_a_wrong_shaped_code(
    terminal: Callable[..., Terminal], smtp_in_thread: tuple[int, _Inbox], tmp_path: Path
) -> None:
    # A real mail server: no outbox exists, so no mail is ever printed; `o` reaches the run as
    # a code like any other text.
    port, inbox = smtp_in_thread
    smtp = (
        "--set", "smtp.host=127.0.0.1", "--set", f"smtp.port={port}",
        "--set", "smtp.security=none", "--set", "sender.address=otp@example.com",
    )  # fmt: skip
    term = terminal("--plain", *smtp, "--json", stdout_file=tmp_path / "stdout")
    term.expect("Email address: ")
    term.type(ADDRESS + "\r")
    term.expect(f"Sending a code to {ADDRESS} via 127.0.0.1")
    term.expect("Code: ")
    assert "Demo mode" not in term.text
    term.type("o\r")
    term.expect("The code has 6 digits.")
    assert "outbox" not in term.text.lower()
    found = re.search(rb"Your verification code for .+ is:\s*(\d+)", inbox.messages[-1])
    assert found is not None
    term.type(found.group(1).decode() + "\r")
    term.expect("Verified")
    assert term.wait() == 0
    assert term.json_line()["verified"] is True


def test_the_line_mode_needs_a_terminal_too(otp_home: OtpHome) -> None:
    # `ssh host otp-tui` without -t: stdin is a pipe and TERM is unset, which would choose the
    # line mode. A gate must not be driven by a pipe: refused before anything is sent.
    for args in (["--plain"], []):
        env = {name: value for name, value in otp_home.env.items() if name != "TERM"}
        run = subprocess.run(
            [*OTP_TUI, *args, "--demo", "--email", ADDRESS],
            input=b"bob@example.com\n123456\n",
            capture_output=True,
            env=env,
            timeout=20,
            check=False,
        )
        assert run.returncode == 2
        assert (
            run.stderr.decode()
            .splitlines()[-1]
            .endswith("otp-tui needs an interactive terminal; try ssh -t")
        )
    assert otp_home.audit_lines() == []


def test_ctrl_z_cannot_suspend_the_line_mode(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    # The terminal turns Ctrl+Z into SIGTSTP, which is refused: the run carries on.
    term = terminal("--plain")
    to_code_prompt(term)
    term.send("\x1a")
    term.send("\r")  # still answering: the empty line gets the time left
    term.expect(r"Code expires in \d+:\d\d\.")
    assert Path(f"/proc/{term.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T"
    term.type(otp_home.read_code() + "\r")
    term.expect("Verified")
    assert term.wait() == 0
