"""The honest floor for a Python helper: start, import aiosmtplib, send otp-tui's message once.

    python -I tests/bench/bare_send_once.py PORT CA_FILE MESSAGE_FILE FROM TO

What any Python program that mails a code must at least do, from scratch: the interpreter
starts, aiosmtplib (with asyncio, ssl and email) is imported, and the message otp-tui builds
(written to MESSAGE_FILE by the benchmark, byte for byte) goes to the server with STARTTLS and
the benchmark's CA, as otp-tui sends it. Prints "sent" (or "error ...") and exits. Nothing
else: no configuration, no ledger, no conversation. Only the standard library and aiosmtplib
are imported, so `-I` (no script folder on the path) is fine.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys

import aiosmtplib


async def main(port: int, ca_file: str, message: bytes, sender: str, to: str) -> None:
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_file)
    await aiosmtplib.send(
        message,
        sender=sender,
        recipients=[to],
        hostname="127.0.0.1",
        port=port,
        start_tls=True,
        tls_context=context,
        local_hostname=socket.gethostname(),  # as otp-tui does: no DNS for getfqdn()
        timeout=15,
    )


if __name__ == "__main__":
    try:
        with open(sys.argv[3], "rb") as file:
            message = file.read()
        asyncio.run(main(int(sys.argv[1]), sys.argv[2], message, sys.argv[4], sys.argv[5]))
    except Exception as error:  # reported to the benchmark, which fails the run
        print(f"error {type(error).__name__}: {error}", flush=True)
        sys.exit(1)
    print("sent", flush=True)
