"""The demo journey over a 9600-baud link (960 bytes a second), seen from its far end.

Over a serial console, a phone on a poor network or a jump host, bytes are what a person waits
for: every idle screen that writes more than the link carries grows a backlog, and keys echo
later and later. Here the program's output reaches the far end's screen only at 960 bytes a
second (`slow_link.SlowLink`), and the far end must be able to read the code screen within 5 s
of Enter, and see a typed digit within half a second while that screen idles (its countdown
running).
"""

from __future__ import annotations

import re

import pytest
from pty_harness import OTP_TUI, OtpHome
from slow_link import SlowLink
from vt_screen import Screen

RATE = 960  # bytes a second: 9600 baud, 10 bits a byte
ADDRESS = "bob@example.com"
CLOCK = re.compile(r"\d+:\d\d")  # the countdown


def code_screen_readable(screen: Screen) -> bool:
    text = screen.text
    return "Enter the code" in text and "6 digits" in text and CLOCK.search(text) is not None


@pytest.mark.slow
def test_over_960_bytes_a_second_the_code_screen_reads_within_5_s_and_a_digit_echoes_in_half(
    otp_home: OtpHome,
) -> None:
    link = SlowLink([*OTP_TUI, "--demo"], otp_home.env, rate=RATE)
    try:
        link.wait_for(lambda screen: screen.find("you@example.com") is not None, timeout=15)
        for char in ADDRESS:
            link.send(char)
        link.wait_for(lambda screen: ADDRESS in screen.text, timeout=10)
        link.wait_drained(timeout=10)

        pressed = link.send("\r")
        readable = link.wait_for(code_screen_readable, timeout=15)
        assert readable - pressed <= 5.0, f"code screen readable {readable - pressed:.1f} s later"

        # The code screen idles (its countdown running): the link must keep up with it.
        link.wait_drained(timeout=10)
        entry = link.screen.find("6 digits")
        assert entry is not None
        row, col = entry
        typed = link.send("4")
        echoed = link.wait_for(lambda screen: screen.line(row)[col] == "4", timeout=10)
        assert echoed - typed <= 0.5, f"the digit showed {echoed - typed:.2f} s after the key"
    finally:
        link.close()
