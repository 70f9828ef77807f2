"""`otp-tui gate`: the SSH login gate, run as its own service user through sudo.

- `refusal`: the one-line reasons the gate stays shut before any mail is sent;
- `interpreter`: the interpreter and environment checks, and the environment the gate keeps;
- `invoker`: who is logging in (sudo's word for it, checked, else the real uid);
- `trust`: files the invoking user could change, and secrets others could read;
- `addresses`: the user's address from the operator's file or command;
- `run`: all of it in order, then the verification with the address fixed.
"""
