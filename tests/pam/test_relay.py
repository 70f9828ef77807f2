"""The C module as a relay: a good helper, hostile helpers, arguments, the privilege drop.

Each test writes a PAM service holding the module (built from `pam/` with warnings as errors)
and drives Debian's pamtester in a real pseudo-terminal, answering its prompts as a person
would. A hostile helper must end in a refusal within the deadline with nothing raw on the
terminal, and with one syslog line from the module naming the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from relay_host import RIGHT_CODE, VALGRIND, Relay, ServiceUser, require

REFUSED = r"pamtester: Authentication failure"
ACCEPTED = r"pamtester: successfully authenticated"
# What must never reach the terminal raw: ESC, BEL, the one-byte and two-byte CSI.
RAW_CONTROLS = (b"\x1b[2J", b"\x1b]", b"\x07", b"\xc2\x9b", b"\x9b", b"\x1b[8m", b"\x1b[31m")

Start = Callable[..., Relay]


def refused_once(relay: Relay, reason: str) -> None:
    """The module logged exactly one line, and it names `reason`."""
    deadline = time.monotonic() + 10
    while not relay.module_log():  # rsyslogd writes its file a moment after it hears
        assert time.monotonic() < deadline, f"no line from the module: {relay.syslog.lines()}"
        time.sleep(0.02)
    module_lines = relay.module_log()
    assert len(module_lines) == 1, module_lines
    assert "refused" in module_lines[0], module_lines
    assert reason in module_lines[0], module_lines


def logged(relay: Relay, text: str) -> None:
    """One of the module's syslog lines holds `text` (libpam may log others beside it)."""
    deadline = time.monotonic() + 10
    while not any(text in line for line in relay.module_log()):
        assert time.monotonic() < deadline, f"{text!r} not logged: {relay.syslog.lines()}"
        time.sleep(0.02)


def test_good_helper_the_right_code_authenticates(relay: Start, service_user: ServiceUser) -> None:
    run = relay("good.py")
    run.pamtester.expect(r"Code: ")
    run.pamtester.answer(RIGHT_CODE)
    run.pamtester.expect(ACCEPTED)
    status, _ = run.pamtester.finish()
    assert status == 0
    text = run.pamtester.text
    assert "Verified." in text
    assert run.module_log() == []
    # What the helper saw of itself, from the inside.
    ids = re.search(r"ids uid=(\d+),(\d+) gid=(\d+),(\d+)", text)
    assert ids is not None, text
    assert ids.groups() == (str(service_user.uid),) * 2 + (str(service_user.gid),) * 2
    groups = re.search(r"groups ([\d,]+)", text)
    assert groups is not None
    assert set(groups.group(1).split(",")) == {str(service_user.gid), str(service_user.extra_gid)}
    env = re.search(r"env (\S+)", text)
    assert env is not None
    # PATH alone: pamtester's own LANG is not in the PAM environment, and the process's
    # environment is the invoking user's under sudo or su.
    assert env.group(1) == "PATH", env.group(1)
    assert re.search(r"fds 0,1,2 cwd=/ sid=True", text), text
    facts = re.search(r"facts (\S+)", text)
    assert facts is not None
    assert facts.group(1).split(";") == [
        "otp-tui-pam=1",
        "user=root",
        f"service={run.service.name}",
        "rhost=",
        "tty=",
    ]
    assert re.search(r"args \['--config', '/[^']+/right-code'\]", text)


def test_good_helper_a_wrong_code_is_refused(relay: Start) -> None:
    run = relay("good.py")
    run.pamtester.expect(r"Code: ")
    run.pamtester.answer("000000")
    run.pamtester.expect("Wrong code.")
    run.pamtester.expect(REFUSED)
    status, _ = run.pamtester.finish()
    assert status != 0
    # "denied" is the helper's verdict, not a fault: the module logs nothing.
    assert run.module_log() == []


def test_the_environment_of_the_caller_never_reaches_the_helper(relay: Start) -> None:
    run = relay(
        "good.py",
        env={"PYTHONPATH": "/tmp/evil", "LD_PRELOAD": "/tmp/evil.so", "LANG": "de_DE.UTF-8;x"},
    )
    run.pamtester.expect(r"Code: ")
    run.pamtester.answer(RIGHT_CODE)
    run.pamtester.finish()
    env = re.search(r"env (\S+)", run.pamtester.text)
    assert env is not None
    # A LANG that is not a locale name is dropped too.
    assert env.group(1) == "PATH"


@pytest.mark.parametrize(
    ("helper", "reason", "answer"),
    [
        ("dies.sh", "ended without a verdict", True),
        ("floods.sh", "too many lines", False),
        ("long_line.sh", "a line too long", False),
        ("unknown_word.sh", "said something unknown", False),
        ("verified_then_fails.sh", "did not exit with status 0", False),
        ("forks_child.sh", "no answer before the deadline", False),
        ("speaks_after_verdict.sh", "spoke after its verdict", False),
        ("nul_in_verdict.sh", "a NUL byte in a line", False),
    ],
)
def test_a_hostile_helper_is_refused(relay: Start, helper: str, reason: str, answer: bool) -> None:
    run = relay(helper, timeout=10)
    if answer:
        run.pamtester.expect(r"Code: ")
        run.pamtester.answer(RIGHT_CODE)
    run.pamtester.expect(REFUSED)
    status, took = run.pamtester.finish()
    assert status != 0
    assert took < 10, f"took {took:.1f}s"
    refused_once(run, reason)
    for control in RAW_CONTROLS:
        assert control not in run.pamtester.raw


def test_a_helper_that_hangs_is_refused_at_the_deadline(relay: Start) -> None:
    run = relay("hangs.sh", timeout=2)
    run.pamtester.expect("Hanging now.")
    run.pamtester.expect(REFUSED, timeout=10)
    status, took = run.pamtester.finish()
    assert status != 0
    assert 1.5 < took < 6, f"took {took:.1f}s"
    refused_once(run, "no answer before the deadline")


def test_control_characters_never_reach_the_terminal_raw(relay: Start) -> None:
    run = relay("control_chars.sh")
    run.pamtester.expect(r"\[8mCode\[0m: ")  # the ESC bytes and the bell dropped
    run.pamtester.answer("\x1b[31m12\x07")
    run.pamtester.expect(REFUSED)
    run.pamtester.finish()
    text = run.pamtester.text
    # The words arrive; the controls around them do not.
    assert "pwned-title" in text
    assert "clear-screen" in text
    assert "31mred-alert" in text
    for control in RAW_CONTROLS:
        assert control not in run.pamtester.raw, control
    assert run.module_log() == []


def test_pam_silent_carries_the_messages_in_the_next_prompt(relay: Start) -> None:
    # sudo passes PAM_SILENT on every call: no message goes out on its own, but what the
    # helper said before a prompt comes with it (here the facts and the rest of the report),
    # and "Verified.", said after the last prompt, is not shown.
    run = relay("good.py", operation="authenticate(PAM_SILENT)")
    run.pamtester.expect(r"facts otp-tui-pam=1;[^\r\n]*\r?\nids uid=")
    run.pamtester.expect(r"process umask=\S+ nnp=1 [^\r\n]*\r?\nCode: ")
    run.pamtester.answer(RIGHT_CODE)
    run.pamtester.expect(ACCEPTED)
    assert run.pamtester.finish()[0] == 0
    assert "Verified." not in run.pamtester.text
    assert run.module_log() == []


def test_pam_silent_messages_travel_inside_prompts(relay: Start, mute_app: Path) -> None:
    # An application whose conversation fails every message on its own, asking for silence:
    # it authenticates, so no message reached it alone, and each prompt it was asked holds the
    # lines said since the prompt before, cleaned, one a line; the line after the last prompt
    # is dropped.
    run = relay("says_then_asks.sh", application=[str(mute_app), RIGHT_CODE, "silent"])
    run.pamtester.expect(r"authenticated")
    assert run.pamtester.finish()[0] == 0
    prompts = re.findall(
        r"prompt: (.*?)(?=\r?\nprompt: |\r?\nauthenticated)", run.pamtester.text, re.S
    )
    assert [re.sub(r"\r?\n", "|", prompt) for prompt in prompts] == [
        "Sent to a***@example.com.|Wrong: [31m1 left.|Code: ",
        "Again: ",
        "Locked until 10:00.|Press Enter to end. > ",
    ]
    assert b"\x1b[31m" not in run.pamtester.raw
    assert "failed:" not in run.pamtester.text
    assert "After the last prompt" not in run.pamtester.text
    assert run.module_log() == []


def test_pam_silent_a_wrong_code_is_still_refused(relay: Start) -> None:
    run = relay("asks_then_says.sh", operation="authenticate(PAM_SILENT)")
    run.pamtester.expect(r"Code: ")
    run.pamtester.answer("000000")
    run.pamtester.expect(REFUSED)
    assert run.pamtester.finish()[0] != 0
    assert "Wrong code." not in run.pamtester.text  # after the last prompt: dropped
    assert run.module_log() == []


@pytest.fixture
def prompt_lengths(helpers: Path) -> Callable[[int], str]:
    """The --config file of `fills_the_prompt.sh`: how long its prompt is."""

    def write(length: int) -> str:
        path = helpers / f"prompt-length-{length}"
        path.write_text(f"{length}\n")
        path.chmod(0o644)
        return str(path)

    return write


@pytest.mark.parametrize(("length", "fits"), [(91, True), (92, False)])
def test_pam_silent_a_prompt_carries_at_most_4_kib(
    relay: Start,
    mute_app: Path,
    service_user: ServiceUser,
    helpers: Path,
    prompt_lengths: Callable[[int], str],
    length: int,
    fits: bool,
) -> None:
    # Four lines of 1000 bytes and their LFs, then the prompt: 4004 + 91 bytes and the NUL
    # make 4096, the most a prompt may be; one byte more is refused, as an over-long line is.
    arguments = (
        f"user={service_user.name} helper={helpers / 'fills_the_prompt.sh'} "
        f"config={prompt_lengths(length)} timeout=10"
    )
    run = relay(arguments=arguments, application=[str(mute_app), RIGHT_CODE, "silent"])
    if fits:
        run.pamtester.expect(r"prompt: 0{1000}\r?\n(0{1000}\r?\n){3}" + "0" * length + r"\r?\n")
        run.pamtester.expect(r"authenticated")
        assert run.pamtester.finish()[0] == 0
        assert run.module_log() == []
    else:
        run.pamtester.expect(r"refused: Authentication failure")
        assert run.pamtester.finish()[0] == 1
        assert "prompt:" not in run.pamtester.text
        refused_once(run, "too much text before a prompt")


def test_pam_silent_messages_beyond_4_kib_are_refused_before_the_prompt(
    relay: Start, mute_app: Path
) -> None:
    # The bound holds for the messages themselves, not only for the prompt that ends them: the
    # fifth line of 1000 bytes does not fit, and the person is never asked.
    run = relay("says_too_much.sh", application=[str(mute_app), RIGHT_CODE, "silent"])
    run.pamtester.expect(r"refused: Authentication failure")
    assert run.pamtester.finish()[0] == 1
    assert "prompt:" not in run.pamtester.text
    refused_once(run, "too much text before a prompt")


def test_a_message_the_application_fails_to_show_is_a_refusal(relay: Start, mute_app: Path) -> None:
    # The right code, then a message the application cannot deliver: the person may not have
    # read what they were meant to, and a failed conversation never ends in success.
    run = relay("asks_then_says.sh", application=[str(mute_app), RIGHT_CODE])
    run.pamtester.expect(r"prompt: Code: ")
    run.pamtester.expect(r"failed: Verified\.")
    run.pamtester.expect(r"refused: Authentication failure")
    assert run.pamtester.finish()[0] == 1
    assert "authenticated" not in run.pamtester.text
    # libpam's pam_prompt logs "conversation failed" under the module's name by itself; the
    # module's own line follows it.
    deadline = time.monotonic() + 10
    while len(run.module_log()) < 2:
        assert time.monotonic() < deadline, run.syslog.lines()
        time.sleep(0.02)
    assert [line.split(": ", 2)[-1] for line in run.module_log()] == [
        "conversation failed",
        "refused: the conversation failed",
    ]


def test_with_pam_silent_the_same_application_authenticates(relay: Start, mute_app: Path) -> None:
    # The application of the test above, asking for silence: no message reaches its
    # conversation on its own ("Verified.", after the last prompt, is dropped), so nothing
    # fails, and the right code is verified.
    run = relay("asks_then_says.sh", application=[str(mute_app), RIGHT_CODE, "silent"])
    run.pamtester.expect(r"prompt: Code: ")
    run.pamtester.expect(r"authenticated")
    assert run.pamtester.finish()[0] == 0
    assert "failed:" not in run.pamtester.text
    assert run.module_log() == []


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ("", "user= and one of helper=/ABSOLUTE/PATH or socket="),
        ("user={user}", "user= and one of helper=/ABSOLUTE/PATH or socket="),
        ("helper={helper}", "user= and one of helper=/ABSOLUTE/PATH or socket="),
        ("user={user} helper=good.py", 'malformed argument "helper=good.py"'),
        ("user={user} helper={helper} timeout=0", "timeout= must be 1 to 3600 seconds"),
        ("user={user} helper={helper} timeout=5s", "timeout= must be 1 to 3600 seconds"),
        ("user={user} helper={helper} timeout=99999", "timeout= must be 1 to 3600 seconds"),
        ("user={user} helper={helper} debug", 'malformed argument "debug"'),
        ("user={user} helper={helper} config=relative", 'malformed argument "config=relative"'),
        ("user=nosuchuser-otp helper={helper}", "the service user is unknown, root, or in"),
        ("user=root helper={helper}", "the service user is unknown, root, or in group 0"),
        ("user={user} helper=/nonexistent/helper", "the helper is missing, not root's"),
        ("user={user} user={user} helper={helper}", "an argument is given twice"),
        ("user={user} helper={helper} timeout=5 timeout=5", "an argument is given twice"),
        ("user={user} helper={helper} timeout=+5", "timeout= must be 1 to 3600 seconds"),
        ("user={user} helper={helper} timeout=-0", "timeout= must be 1 to 3600 seconds"),
        ("user={user} helper={helper} socket=/run/x.sock", "one of helper=/ABSOLUTE/PATH or"),
        ("user={user} socket=run/x.sock", 'malformed argument "socket=run/x.sock"'),
        ("user={user} socket=/run/x.sock config=/etc/x", "config= goes with helper="),
        ("user={user} socket=/run/x.sock socket=/run/y", "an argument is given twice"),
        ("user=root socket=/run/x.sock", "the service user is unknown, root, or in group 0"),
        # sun_path holds 108 bytes, its NUL included: 107 reach connect, 108 never do.
        ("user={user} socket=/" + "s" * 106, "the server cannot be reached"),
        ("user={user} socket=/" + "s" * 107, "socket= is too long"),
    ],
)
def test_missing_or_malformed_arguments_refuse_with_one_line(
    relay: Start, service_user: ServiceUser, helpers: Path, arguments: str, reason: str
) -> None:
    run = relay(arguments=arguments.format(user=service_user.name, helper=helpers / "good.py"))
    run.pamtester.expect(REFUSED)
    status, _ = run.pamtester.finish()
    assert status != 0
    assert "Code:" not in run.pamtester.text
    refused_once(run, reason)


def test_a_helper_others_may_write_is_refused(
    relay: Start, service_user: ServiceUser, helpers: Path
) -> None:
    writable = helpers / "good-but-writable.py"
    writable.write_bytes((helpers / "good.py").read_bytes())
    writable.chmod(0o757)
    try:
        run = relay(arguments=f"user={service_user.name} helper={writable}")
        run.pamtester.expect(REFUSED)
        run.pamtester.finish()
        refused_once(run, "writable by others")
    finally:
        writable.unlink()


@pytest.mark.parametrize(
    ("helper", "answer", "accepted"),
    [
        ("good.py", RIGHT_CODE, True),
        ("good.py", "000000", False),
        ("control_chars.sh", "\x1b[31m12\x07" + "9" * 600, False),
        ("dies.sh", RIGHT_CODE, False),
        ("floods.sh", None, False),
        ("long_line.sh", None, False),
        ("unknown_word.sh", None, False),
        ("verified_then_fails.sh", None, False),
        ("forks_child.sh", None, False),
        ("speaks_after_verdict.sh", None, False),
        ("nul_in_verdict.sh", None, False),
        ("bidi.sh", None, False),
    ],
)
def test_under_address_sanitizer(
    relay: Start, helper: str, answer: str | None, accepted: bool
) -> None:
    """The AddressSanitizer (and UBSan) build through the same journeys: no report at all."""
    run = relay(helper, asan=True)
    if answer is not None:
        run.pamtester.expect(r"Code.*: ")
        run.pamtester.answer(answer)
    run.pamtester.expect(ACCEPTED if accepted else REFUSED)
    status, _ = run.pamtester.finish()
    assert run.sanitizer_reports() == []
    assert status == (0 if accepted else 1)


def test_under_address_sanitizer_bad_arguments(relay: Start, service_user: ServiceUser) -> None:
    run = relay(arguments=f"user={service_user.name} helper=/x timeout=oops debug", asan=True)
    run.pamtester.expect(REFUSED)
    status, _ = run.pamtester.finish()
    assert run.sanitizer_reports() == []
    assert status == 1


@pytest.mark.parametrize("user", ["ro\x01ot", "root\x1b[2J", "r" * 300])
def test_a_user_name_the_module_would_have_to_change_is_refused(
    relay: Start, service_user: ServiceUser, helpers: Path, user: str
) -> None:
    """Cleaning "ro\\x01ot" would give "root": the module refuses rather than pass on another
    user's name (sshd hands PAM the name the client typed, valid or not)."""
    arguments = (
        f"user={service_user.name} helper={helpers / 'good.py'} config={helpers / 'right-code'}"
    )
    run = relay(arguments=arguments, pam_user=user)
    run.pamtester.expect(REFUSED)
    assert run.pamtester.finish()[0] != 0
    assert "facts" not in run.pamtester.text  # the helper never started
    refused_once(run, "the user name cannot be passed on as it is")


def test_allowed_then_a_clean_exit_lets_in(relay: Start) -> None:
    run = relay("allowed.sh")
    run.pamtester.expect(ACCEPTED)
    assert run.pamtester.finish()[0] == 0
    assert "Let in without a code." in run.pamtester.text
    assert run.module_log() == []


def test_a_helper_in_a_folder_others_may_write_is_refused(
    relay: Start, service_user: ServiceUser, helpers: Path
) -> None:
    """Whoever may write the folder could swap the helper after the module checked it."""
    folder = helpers / "open-folder"
    folder.mkdir()
    folder.chmod(0o777)
    shutil.copyfile(helpers / "good.py", folder / "good.py")
    (folder / "good.py").chmod(0o755)
    try:
        run = relay(arguments=f"user={service_user.name} helper={folder / 'good.py'}")
        run.pamtester.expect(REFUSED)
        assert run.pamtester.finish()[0] != 0
        assert "Code:" not in run.pamtester.text
        refused_once(run, "a folder above the helper is not root's, or writable by others")
    finally:
        shutil.rmtree(folder)


def test_a_service_name_the_module_would_have_to_change_is_refused(relay: Start) -> None:
    run = relay("good.py", service_suffix="\x1b")
    run.pamtester.expect(REFUSED)
    assert run.pamtester.finish()[0] != 0
    assert "facts" not in run.pamtester.text  # the helper never started
    refused_once(run, "the service name cannot be passed on as it is")


@pytest.mark.parametrize(
    ("groups", "reason"),
    [
        (["--gid", "0"], "the service user is unknown, root, or in group 0"),
        (["--user-group", "--groups", "0"], "the service user is in group 0"),
    ],
)
@pytest.mark.parametrize("start", ["helper", "socket"])
def test_a_service_user_in_group_0_is_refused(
    relay: Start, helpers: Path, groups: list[str], reason: str, start: str
) -> None:
    name = f"otppamg{os.urandom(3).hex()}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/", "--shell",
         "/usr/sbin/nologin", *groups, name],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        # Either way to start the helper: refused before anything starts or is connected to.
        how = f"helper={helpers / 'good.py'}" if start == "helper" else "socket=/run/no-otp.sock"
        run = relay(arguments=f"user={name} {how} timeout=5")
        run.pamtester.expect(REFUSED)
        assert run.pamtester.finish()[0] != 0
        assert "Code:" not in run.pamtester.text
        refused_once(run, reason)
    finally:
        subprocess.run(["userdel", "--force", name], capture_output=True, check=False)
        subprocess.run(["groupdel", name], capture_output=True, check=False)


def test_the_helper_gets_fixed_limits_and_no_new_privileges(relay: Start) -> None:
    """umask, core size and descriptors are the module's, not the invoking user's."""
    run = relay("good.py")
    run.pamtester.expect(r"Code: ")
    run.pamtester.answer(RIGHT_CODE)
    run.pamtester.expect(ACCEPTED)
    process = re.search(r"process umask=(\S+) nnp=(\S+) core=(\(.*?\)) nofile=\((\d+),",
                        run.pamtester.text)  # fmt: skip
    assert process is not None, run.pamtester.text
    assert process.groups() == ("0077", "1", "(0, 0)", "1024")


def test_a_host_that_ignores_sigchld_still_verifies(relay: Start, host_signals: Path) -> None:
    """With SIGCHLD ignored the kernel would reap the helper before the module read its
    status; the module sets it to the default while the helper lives."""
    run = relay("good.py", preload=host_signals, env={"OTP_TEST_SIGCHLD": "ignore"})
    run.pamtester.expect(r"Code: ")
    run.pamtester.answer(RIGHT_CODE)
    run.pamtester.expect(ACCEPTED)
    assert run.pamtester.finish()[0] == 0
    assert run.module_log() == []


def test_a_signal_storm_does_not_put_the_deadline_off(relay: Start, host_signals: Path) -> None:
    """Each signal interrupts the module's wait; the time left is counted from the deadline
    again, not restarted."""
    run = relay("hangs.sh", timeout=2, preload=host_signals, env={"OTP_TEST_SIGUSR1": "handle"})
    run.pamtester.expect("Hanging now.")
    storm_ends = time.monotonic() + 8
    while time.monotonic() < storm_ends and run.pamtester.terminal.process.poll() is None:
        os.kill(run.pamtester.pid, signal.SIGUSR1)
        time.sleep(0.02)  # a signal every 20 ms: far more often than the deadline
    run.pamtester.expect(REFUSED, timeout=10)
    status, took = run.pamtester.finish()
    assert status != 0
    assert took < 6, f"took {took:.1f}s"
    refused_once(run, "no answer before the deadline")


def test_an_answer_after_the_deadline_never_reaches_the_helper(
    relay: Start, service_user: ServiceUser, helpers: Path
) -> None:
    mark = helpers / f"late-answer-{os.urandom(3).hex()}"
    mark.write_text("")
    os.chown(mark, service_user.uid, service_user.gid)
    try:
        run = relay(
            arguments=f"user={service_user.name} helper={helpers / 'late_answer.sh'} "
            f"config={mark} timeout=1"
        )
        run.pamtester.expect(r"Code: ")
        time.sleep(1.5)  # the module's deadline is real time: let it pass while "typing"
        run.pamtester.answer(RIGHT_CODE)
        run.pamtester.expect(REFUSED)
        assert run.pamtester.finish()[0] != 0
        refused_once(run, "the deadline passed")
        assert mark.read_text() == ""
    finally:
        mark.unlink()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(RIGHT_CODE, 0), ("000000", 1), (None, 1)],
    ids=["right-code", "wrong-code", "conversation-fails"],
)
def test_under_valgrind(relay: Start, answer: str | None, expected: int) -> None:
    """pamtester and the module under valgrind: no memory error and no definite leak (42),
    also when the conversation fails (end of input at the prompt)."""
    require(VALGRIND is not None, "valgrind is not installed")
    run = relay("good.py", valgrind=True)
    run.pamtester.expect(r"Code: ", timeout=60)
    if answer is None:
        run.pamtester.terminal.send("\x04")  # Ctrl-D: the application's conversation fails
    else:
        run.pamtester.answer(answer)
    run.pamtester.expect(ACCEPTED if expected == 0 else REFUSED, timeout=60)
    status, _ = run.pamtester.finish(timeout=60)
    assert status == expected, run.pamtester.text
    assert VALGRIND in run.pamtester.terminal.process.args  # it did run under valgrind


def test_invisible_and_direction_changing_characters_are_dropped(relay: Start) -> None:
    run = relay("bidi.sh")
    run.pamtester.expect(REFUSED)
    run.pamtester.finish()
    assert "plainreversedhiddenisolated" in run.pamtester.text
    assert "arabicmarksoftjoinerannotationmongoliantag \u061b \U0001f600" in run.pamtester.text
    hidden = ("\u202e", "\u200b", "\u2066", "\u061c", "\u00ad", "\u2060", "\ufff9", "\u180e",
              "\U000e0001")  # fmt: skip
    for character in hidden:
        assert character.encode() not in run.pamtester.raw, character


@pytest.mark.parametrize("checker", ["asan", "valgrind"])
@pytest.mark.parametrize(
    ("helper", "length", "silent", "refused"),
    [
        # a failed message ends the run early
        ("asks_then_says.sh", None, False, "the conversation failed"),
        # messages carried in prompts, one dropped
        ("says_then_asks.sh", None, True, None),
        # a prompt of the most it may carry
        ("fills_the_prompt.sh", 91, True, None),
        # one byte more: refused
        ("fills_the_prompt.sh", 92, True, "too much text before a prompt"),
        # refused at a message, before the prompt
        ("says_too_much.sh", None, True, "too much text before a prompt"),
    ],
)
def test_failed_messages_and_pam_silent_under_memory_checkers(
    relay: Start,
    mute_app: Path,
    service_user: ServiceUser,
    helpers: Path,
    prompt_lengths: Callable[[int], str],
    checker: str,
    helper: str,
    length: int | None,
    silent: bool,
    refused: str | None,
) -> None:
    """The early end after a failed message, and PAM_SILENT's carried messages up to and past
    their bound: no report from AddressSanitizer or UBSan, no memory error or definite leak
    under valgrind (42). A refusal must be the module's own, for the reason the path gives: a
    module that failed to load or stopped early would refuse too, having run nothing."""
    if checker == "valgrind":
        require(VALGRIND is not None, "valgrind is not installed")
    config = prompt_lengths(length) if length is not None else str(helpers / "right-code")
    arguments = f"user={service_user.name} helper={helpers / helper} config={config} timeout=60"
    application = [str(mute_app), RIGHT_CODE, *(["silent"] if silent else [])]
    run = relay(
        arguments=arguments,
        application=application,
        asan=checker == "asan",
        valgrind=checker == "valgrind",
    )
    outcome = "authenticated" if refused is None else "refused: Authentication failure"
    run.pamtester.expect(outcome, timeout=60)
    status, _ = run.pamtester.finish(timeout=60)
    assert status == (0 if refused is None else 1), run.pamtester.text
    assert run.sanitizer_reports() == []
    if refused is None:
        assert run.module_log() == []
    else:
        logged(run, f"refused: {refused}")
    if checker == "valgrind":
        assert VALGRIND in run.pamtester.terminal.process.args
