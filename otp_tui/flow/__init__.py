"""One run of otp-tui, with no user interface in it.

`Run` (run.py) owns the verification machine, the ledger and audit trail, the send and the
ending; each intention of the person at the terminal is one method, and each returns a view
(views.py) that says what to show next. The Textual app and the plain line mode both render those
views and nothing else, so no rule and no sentence (wording.py) is written twice. Both start a
run through launch.py and end on signals through signals.py.
"""
