"""The floor for a send: a bare `aiosmtplib.send` of otp-tui's message, for the benchmark.

    python tests/bench/bare_send.py PORT CA_FILE TO

Builds the same message otp-tui builds, prints "ready", then sends it once per line read from
stdin, printing "sent" (or "error ...") after each send. aiosmtplib is imported before "ready":
this is the floor, not a program that defers its imports. Each send builds its TLS context, as
aiosmtplib.send does when it is given none.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys

import aiosmtplib

from otp_tui.config.schema import SenderSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.message import build_message, describe_origin


async def main(port: int, ca_file: str, to: str) -> None:
    message = build_message(
        SenderSettings(address="otp@example.com"),
        to,
        OneTimeCode("123456"),
        ttl_seconds=600,
        requested_from=describe_origin(),
    )
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    while await loop.run_in_executor(None, sys.stdin.readline):
        try:
            # What aiosmtplib.send does by default (a fresh default context per send, with the
            # system trust store), plus the benchmark's CA: the trust otp-tui configures for a
            # server with `ca_file`.
            context = ssl.create_default_context()
            context.load_verify_locations(cafile=ca_file)
            await aiosmtplib.send(
                message,
                hostname="127.0.0.1",
                port=port,
                start_tls=True,
                tls_context=context,
                # As otp-tui does: the plain host name, not socket.getfqdn(), which may query DNS.
                local_hostname=socket.gethostname(),
                timeout=15,
            )
        except Exception as error:  # reported to the benchmark, which fails the run
            print(f"error {type(error).__name__}: {error}", flush=True)
        else:
            print("sent", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
