"""Demo mode: real SMTP over loopback into a Maildir, and reading the newest message back."""

from __future__ import annotations

import asyncio
import mailbox
import os
import stat
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from otp_tui.config.schema import SenderSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.message import build_message, plain_text_part
from otp_tui.mail.outbox import DemoOutbox, newest_message
from otp_tui.mail.outbox_store import KEEP, OutboxStore
from otp_tui.mail.sender import send_message


def message_for(code: str, to: str = "new.user@example.com") -> EmailMessage:
    return build_message(
        SenderSettings(service="Example"),
        to,
        OneTimeCode(code),
        ttl_seconds=600,
        requested_from="laptop",
    )


async def test_sent_mail_lands_in_the_outbox(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "outbox"
    async with DemoOutbox(directory) as outbox:
        assert outbox.smtp.host == "127.0.0.1"
        assert outbox.smtp.security == "none"
        await send_message(outbox.smtp, message_for("731904"))

    box = mailbox.Maildir(directory, create=False)
    assert len(box) == 1
    newest = newest_message(directory)
    assert newest is not None
    assert newest["To"] == "new.user@example.com"
    assert "731904" in plain_text_part(newest)
    assert "<" not in plain_text_part(newest), "the viewer gets the text part, not the HTML"


async def test_newest_message_is_the_latest_send(tmp_path: Path) -> None:
    async with DemoOutbox(tmp_path) as outbox:
        await send_message(outbox.smtp, message_for("111111"))
        await send_message(outbox.smtp, message_for("222222"))
        newest = newest_message(tmp_path)
        assert newest is not None
        assert "222222" in plain_text_part(newest)
        await send_message(outbox.smtp, message_for("333333"))
        newest = newest_message(tmp_path)
    assert newest is not None
    assert "333333" in plain_text_part(newest)


async def test_outbox_is_private(tmp_path: Path) -> None:
    directory = tmp_path / "outbox"
    async with DemoOutbox(directory):
        pass
    for sub in (directory, directory / "new", directory / "cur", directory / "tmp"):
        assert stat.S_IMODE(sub.stat().st_mode) == 0o700


def test_no_outbox_yet(tmp_path: Path) -> None:
    assert newest_message(tmp_path / "missing") is None
    (tmp_path / "empty" / "new").mkdir(parents=True)
    assert newest_message(tmp_path / "empty") is None


async def test_non_ascii_recipient_reaches_the_outbox(tmp_path: Path) -> None:
    async with DemoOutbox(tmp_path) as outbox:
        await send_message(outbox.smtp, message_for("404404", to="zoë@exämple.com"))
    newest = newest_message(tmp_path)
    assert newest is not None
    assert newest["To"] == "zoë@exämple.com"


async def test_stopping_ends_open_connections(tmp_path: Path) -> None:
    outbox = DemoOutbox(tmp_path)
    await outbox.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", outbox.port)
    assert (await reader.readline()).startswith(b"220 ")
    await outbox.stop()
    # The server hung up on us: the next read sees end of file, not a wait.
    assert await asyncio.wait_for(reader.read(), 1.0) == b""
    writer.close()
    await writer.wait_closed()
    with pytest.raises(ConnectionError):
        await asyncio.open_connection("127.0.0.1", outbox.port)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


async def test_settings_need_a_running_outbox(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        _ = DemoOutbox(tmp_path).smtp


# --- only this run's mail gets in ---------------------------------------------------------

DELIVER = """
import smtplib, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=5) as client:
    client.ehlo()
    if user:
        try:
            client.login(user, password)
        except smtplib.SMTPAuthenticationError as error:
            print("AUTH", error.smtp_code)
            sys.exit(0)
    try:
        mail = "Subject: fake\\r\\n\\r\\n999999\\r\\n"
        client.sendmail("x@localhost", ["new.user@example.com"], mail)
        print("SENT")
    except smtplib.SMTPSenderRefused as error:
        print("MAIL", error.smtp_code)
"""


async def deliver_from_another_process(port: int, user: str = "", password: str = "") -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DELIVER, str(port), user, password, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 30)
    return stdout.decode().strip()


@pytest.mark.parametrize(
    ("user", "password", "answer"),
    [("", "", "MAIL 530"), ("otp-tui-demo", "guess", "AUTH 535"), ("root", "x", "AUTH 535")],
)
async def test_another_process_cannot_deliver_to_the_outbox(
    tmp_path: Path, user: str, password: str, answer: str
) -> None:
    async with DemoOutbox(tmp_path) as outbox:
        assert await deliver_from_another_process(outbox.port, user, password) == answer
        assert outbox.newest() is None
    assert newest_message(tmp_path) is None


async def test_the_run_login_is_what_lets_mail_in(tmp_path: Path) -> None:
    # The same other process, given this run's login, gets in: the login is the gate.
    async with DemoOutbox(tmp_path) as outbox:
        smtp = outbox.smtp
        assert smtp.username is not None
        assert smtp.password is not None
        secret = smtp.password.get_secret_value()
        assert await deliver_from_another_process(outbox.port, smtp.username, secret) == "SENT"
    assert secret != DemoOutbox(tmp_path)._secret, "a new password every run"


# --- this run's mail first, and what the viewer shows -------------------------------------


async def test_this_runs_mail_comes_first(tmp_path: Path) -> None:
    async with DemoOutbox(tmp_path) as mine, DemoOutbox(tmp_path) as other:
        await send_message(mine.smtp, message_for("111222"))
        await send_message(other.smtp, message_for("333444"))  # newer, from another run
        found = mine.newest()
        assert found is not None
        mail, this_run = found
        assert this_run
        assert b"111222" in mail.raw
        text = mine.newest_as_text()
        assert text is not None
        assert "111222" in text
        assert "(before this run)" not in text

    later = DemoOutbox(tmp_path)  # a run that has sent nothing yet
    found = later.newest()
    assert found is not None
    assert not found[1]
    text = later.newest_as_text()
    assert text is not None
    assert "333444" in text
    assert "(before this run)" in text


async def test_the_viewer_text_names_recipient_subject_and_arrival(tmp_path: Path) -> None:
    async with DemoOutbox(tmp_path) as outbox:
        await send_message(outbox.smtp, message_for("505606"))
        found = outbox.newest()
        text = outbox.newest_as_text()
    assert found is not None
    assert text is not None
    arrived = found[0].arrived.astimezone().strftime("%H:%M:%S")
    head, _, body = text.partition("\n\n")
    assert head.splitlines() == [
        "To: new.user@example.com",
        "Subject: Your verification code for Example",
        f"Arrived: {arrived}",
    ]
    assert "505606" in body


# --- nothing grows without bound ----------------------------------------------------------


def test_the_store_keeps_the_newest_few(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path, keep=5)
    store.ensure()
    names = [store.add(f"Subject: {n}\r\n\r\n{n}\r\n".encode(), now_ns=n) for n in range(1, 9)]
    assert store.prune() == 3
    kept = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert kept == names[3:]
    newest = store.newest()
    assert newest is not None
    assert newest.name == names[-1]


async def test_each_delivery_prunes_the_outbox(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path)
    store.ensure()
    for n in range(KEEP + 10):
        store.add(b"Subject: old\r\n\r\nold\r\n", now_ns=n + 1)
    async with DemoOutbox(tmp_path) as outbox:
        await send_message(outbox.smtp, message_for("777888"))
    # Stopping waits for the pruning thread.
    assert len(list((tmp_path / "new").iterdir())) == KEEP
    newest = newest_message(tmp_path)
    assert newest is not None
    assert "777888" in plain_text_part(newest)


def test_a_stale_pointer_falls_back_to_the_names(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path)
    store.ensure()
    first = store.add(b"Subject: a\r\n\r\na\r\n", now_ns=10)
    second = store.add(b"Subject: b\r\n\r\nb\r\n", now_ns=20)
    # A mail client read the newest and moved it to cur/ with its flags.
    (tmp_path / "new" / second).rename(tmp_path / "cur" / f"{second}:2,S")
    newest = store.newest()
    assert newest is not None
    assert newest.name == f"{second}:2,S"
    (tmp_path / "cur" / f"{second}:2,S").unlink()
    newest = store.newest()
    assert newest is not None
    assert newest.name == first


def _fill(directory: Path, count: int) -> None:
    # Hard links to a few seed files: a hundred thousand mails in about a second.
    seeds = []
    for k in range(4):
        seed = directory / f"seed{k}"
        seed.write_bytes(b"Subject: old\r\n\r\nold\r\n")
        seeds.append(seed)
    new = directory / "new"
    for i in range(count):
        os.link(seeds[i % 4], new / f"{i + 1:020d}.{i:x}.otp-tui")
    for seed in seeds:
        seed.unlink()


@pytest.mark.slow
def test_opening_the_newest_of_100000_mails_stays_fast(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path)
    store.ensure()
    _fill(tmp_path, 100_000)
    name = store.add(b"Subject: newest\r\n\r\n246810\r\n")

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        newest = store.newest()
        timings.append(time.perf_counter() - started)
        assert newest is not None
        assert newest.name == name
    best = min(timings)
    print(f"newest of 100,001 mails: {best * 1000:.2f} ms")
    # Listing the folder alone takes about 200 ms here; reading every mail took 912 ms.
    assert best < 0.02

    started = time.perf_counter()
    assert store.prune() == 100_001 - KEEP
    print(f"pruning to {KEEP}: {time.perf_counter() - started:.2f} s")
    assert len(os.listdir(tmp_path / "new")) == KEEP
