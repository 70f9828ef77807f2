"""Parse the later screens' widget styles while the address is typed.

Textual parses a widget class's default stylesheet the first time one is mounted, and that parse
was a large part of drawing the code screen after a send (tests/bench/bench.py measures the
path). Here the same sources are added to the app's stylesheet and parsed ahead of time,
without mounting anything: the screen is neither laid out nor drawn again, so a slow link
carries nothing for it.
"""

from __future__ import annotations

from textual.widget import Widget


async def warm_up_styles(body: Widget) -> None:
    """Add and parse the styles of the widgets the later screens mount (`body` is any
    widget of the running app; nothing is mounted into it)."""
    from textual.widgets import Button

    from otp_tui.tui.widgets.code_entry import CodeEntry
    from otp_tui.tui.widgets.progress_dots import ProgressDots

    stylesheet = body.app.stylesheet
    for part in (Button(""), ProgressDots(), CodeEntry(6)):
        # What Textual's Widget._post_register adds when a widget is first mounted, with the
        # same keys, so that mount finds the sources already there and parses nothing.
        for read_from, css, tie_breaker, scope in part._get_default_css():
            stylesheet.add_source(
                css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker, scope=scope
            )
    stylesheet.rules_map  # noqa: B018 - parsing happens here, on first use, ahead of the mount
