"""Text from outside (a server's reply, a mail, a file, the environment) made safe to show.

A terminal obeys what it is sent: an escape sequence in an SMTP reply or a mail body can set the
window title, write the clipboard (OSC 52), draw a fake prompt or leave the alternate screen.
Every such string passes through `visible` before it is printed or drawn, so control and format
characters appear as escapes a person can read (`\\x1b`, `\\u202e`) instead of acting.
"""

from __future__ import annotations

import unicodedata

# Unicode categories that act instead of showing: controls (C0, DEL, C1), format characters
# (bidi overrides, zero-width joiners, soft hyphens) and the line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _escape(char: str) -> str:
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every character that would act on a terminal shown as an escape.

    With `keep_newlines`, LF stays a line break (for a mail body); CR, tabs and everything else
    that is not printable become escapes all the same.
    """
    out = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
        elif unicodedata.category(char) in _HIDDEN_CATEGORIES:
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)
