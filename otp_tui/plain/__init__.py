"""The plain line mode (`otp-tui --plain`): the same run as the TUI, one line at a time.

For terminals that cannot take a full-screen app (`TERM=dumb`, serial consoles) and for screen
readers, which follow lines far better than a redrawn screen. It drives the same
`otp_tui.flow.run.Run` and prints the same sentences (`otp_tui.flow.wording`); no Textual here.
`launch.py` starts it, `line_mode.py` is the front end, `lines.py` reads what is typed and
writes around it, `line_editor.py` edits the line (and says why not readline), and
`line_display.py` draws it with nothing but CR, BS and text.
"""
