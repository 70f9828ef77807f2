"""sshd's effective settings for one gated user, as `sshd -T -C user=…,host=…,addr=…` gives them.

-T prints what sshd would apply to a connection with those facts, Match blocks included, so
the check reads what is in force rather than the files' text. It needs root (sshd reads its
host keys), as the doctor does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from otp_tui.doctor.findings import Finding, ok, skipped, unsafe

SSHD_PATH = "/usr/sbin:/usr/local/sbin:/sbin:/usr/bin:/bin"
_LOCALE_VARIABLE = re.compile(r"LANG|LANGUAGE|LC_\*|LC_[A-Z_]+")


@dataclass(frozen=True)
class ConnectionFacts:
    user: str
    host: str = "localhost"
    addr: str = "127.0.0.1"


def effective_config(
    config: Path, facts: ConnectionFacts, timeout: float = 20
) -> dict[str, list[str]] | str:
    """Keyword -> values (lower-case keywords, one entry per line of -T), or why it failed."""
    sshd = shutil.which("sshd", path=SSHD_PATH)
    if sshd is None:
        return "sshd is not installed"
    spec = f"user={facts.user},host={facts.host},addr={facts.addr}"
    try:
        run = subprocess.run(  # noqa: S603 - sshd by its full path, fixed arguments
            [sshd, "-T", "-f", str(config), "-C", spec],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"sshd -T could not run: {error}"
    if run.returncode != 0:
        return "sshd -T failed: " + (run.stderr.strip().splitlines() or ["(no message)"])[-1]
    settings: dict[str, list[str]] = {}
    for line in run.stdout.splitlines():
        keyword, _sep, value = line.partition(" ")
        settings.setdefault(keyword.lower(), []).append(value.strip())
    return settings


def _first(settings: dict[str, list[str]], keyword: str) -> str:
    return (settings.get(keyword) or [""])[0].lower()


def _pam_methods(settings: dict[str, list[str]]) -> list[str] | None:
    """The AuthenticationMethods lists when every one of them asks PAM (keyboard-interactive)
    and sshd can (UsePAM, KbdInteractiveAuthentication); None otherwise."""
    value = (settings.get("authenticationmethods") or ["any"])[0]
    lists = value.split()
    if value.lower() == "any" or not lists:
        return None
    for item in lists:
        if not any(part.startswith("keyboard-interactive") for part in item.split(",")):
            return None  # this list logs in without PAM
    if _first(settings, "usepam") != "yes":
        return None
    if _first(settings, "kbdinteractiveauthentication") != "yes":
        return None
    return lists


def check_sshd(
    config: Path, facts: ConnectionFacts, login_shell: str | None = None
) -> list[Finding]:
    """sshd's settings for the user; `login_shell` is theirs from the password database.

    Which gate is in force decides what matters. A ForceCommand gate runs after sshd has let
    the user in, so everything sshd does before or beside the forced command (forwarding,
    ~/.ssh/rc, accepted variables, the login shell) can go around it. A PAM gate asks for the
    code during authentication: once it has passed, the session is the user's, and only the
    methods matter (every one must go through PAM).
    """
    where = f"sshd -T -f {config} -C user={facts.user},host={facts.host},addr={facts.addr}"
    settings = effective_config(config, facts)
    if isinstance(settings, str):
        return [skipped("sshd", f"sshd's settings for {facts.user}", where, settings)]
    user = facts.user
    force = (settings.get("forcecommand") or ["none"])[0]
    if force.lower() != "none":
        findings = [ok("sshd.gate", f"ForceCommand {force} for {user}", where)]
        findings += _around_the_forced_command(settings, user, where)
        findings += _check_wrapper(force.split()[0], where)
        if login_shell is not None:
            findings.append(_check_login_shell(user, login_shell, force.split()[0]))
        return findings
    methods = _pam_methods(settings)
    if methods is not None:
        return [
            ok("sshd.gate", f"AuthenticationMethods {' '.join(methods)} for {user}", where),
            _check_password_method(settings, methods, user, where),
        ]
    value = (settings.get("authenticationmethods") or ["any"])[0]
    return [
        unsafe(
            "sshd.gate",
            f"no ForceCommand, and AuthenticationMethods {value} for {user}",
            where,
            "the user logs in without the gate (with PAM, every method list must include "
            "keyboard-interactive, with UsePAM and KbdInteractiveAuthentication yes)",
            "put the user in the gated group of the recipe's Match block (ForceCommand), "
            "or follow the PAM recipe: AuthenticationMethods publickey,keyboard-interactive:pam",
        )
    ]


def _check_password_method(
    settings: dict[str, list[str]], methods: list[str], user: str, where: str
) -> Finding:
    """sshd's password method goes through PAM too (with UsePAM), answering every hidden prompt
    with the account password: beside the PAM gate it would hand the helper the password as a
    code, counting a wrong code and sending a mail on each try."""
    password = any("password" in item.split(",") for item in methods)
    if not password or _first(settings, "passwordauthentication") != "yes":
        return ok("sshd.password", f"no password method beside the PAM gate for {user}", where)
    return unsafe(
        "sshd.password",
        f"AuthenticationMethods {' '.join(methods)} for {user} includes password",
        where,
        "sshd's password method runs the PAM stack with the account password as every answer: "
        "the code's prompt gets the password (a wrong code counted, a mail sent, the password "
        "handed to the helper)",
        "leave password out of the method lists (publickey,keyboard-interactive:pam), or set "
        "PasswordAuthentication no for the gated users",
    )


def _around_the_forced_command(
    settings: dict[str, list[str]], user: str, where: str
) -> list[Finding]:
    """What a ForceCommand gate needs of sshd: nothing that runs or opens beside it."""
    findings: list[Finding] = []
    if _first(settings, "disableforwarding") == "yes":
        findings.append(ok("sshd.forwarding", f"forwarding off for {user}", where))
    else:
        open_kinds = [
            keyword
            for keyword in ("allowtcpforwarding", "allowstreamlocalforwarding")
            if _first(settings, keyword) not in ("no", "")
        ] + [k for k in ("x11forwarding", "allowagentforwarding") if _first(settings, k) == "yes"]
        if open_kinds:
            findings.append(
                unsafe(
                    "sshd.forwarding",
                    f"forwarding on for {user} ({', '.join(open_kinds)})",
                    where,
                    "ssh -N -L opens port forwards without running any command, so the gate "
                    "is never asked",
                    "DisableForwarding yes in the gated users' Match block",
                )
            )
        else:
            findings.append(ok("sshd.forwarding", f"forwarding off for {user}", where))

    for keyword, words, why in (
        (
            "permituserrc",
            "PermitUserRC",
            "sshd runs ~/.ssh/rc before the forced command: anything in it runs ahead of the gate",
        ),
        (
            "permituserenvironment",
            "PermitUserEnvironment",
            "~/.ssh/environment would set variables (LD_PRELOAD) for the gate's wrapper",
        ),
        ("permittunnel", "PermitTunnel", "a tun device forwards traffic without the gate"),
    ):
        value = _first(settings, keyword)
        if value in ("no", ""):
            findings.append(ok(f"sshd.{keyword}", f"{words} no for {user}", where))
        else:
            findings.append(
                unsafe(
                    f"sshd.{keyword}",
                    f"{words} {value} for {user}",
                    where,
                    why,
                    f"{words} no in the gated users' Match block",
                )
            )

    accepted = [name for line in settings.get("acceptenv", []) for name in line.split()]
    loose = [name for name in accepted if not _LOCALE_VARIABLE.fullmatch(name)]
    if loose:
        findings.append(
            unsafe(
                "sshd.acceptenv",
                f"AcceptEnv {' '.join(loose)} for {user}",
                where,
                "a client-sent variable such as LD_PRELOAD reaches the wrapper's shell before "
                "the gate runs",
                "AcceptEnv LANG LC_* at most (Debian's default); nothing else for gated users",
            )
        )
    else:
        findings.append(ok("sshd.acceptenv", f"AcceptEnv {' '.join(accepted) or 'none'}", where))

    return findings


def _check_wrapper(program: str, where: str) -> list[Finding]:
    """The forced command runs as the user at every login: only root may change it."""
    from otp_tui.doctor.file_checks import root_only

    problem = root_only(Path(program))
    if problem is None:
        return [ok("sshd.wrapper", f"{program} is root's alone", where)]
    why, fix = problem
    return [
        unsafe(
            "sshd.wrapper",
            f"{program} can be changed by others than root",
            where,
            why + ": whoever changes it decides what runs instead of the gate",
            fix,
        )
    ]


def _check_login_shell(user: str, shell: str, wrapper: str) -> Finding:
    """sshd runs the forced command through the user's login shell: bash reads ~/.bashrc for
    an SSH session before the wrapper runs, so a line there could skip the gate for good. The
    recipe makes the wrapper itself the login shell."""
    where = f"the password database's entry for {user}"
    if shell == wrapper:
        return ok("sshd.login_shell", f"{user}'s login shell is the gate's wrapper", where)
    return unsafe(
        "sshd.login_shell",
        f"{user}'s login shell is {shell}, not {wrapper}",
        where,
        "sshd runs the forced command through it, and bash reads ~/.bashrc first: a line "
        "there can run anything ahead of the gate",
        f"usermod -s {wrapper} {user} (the recipe's last loop)",
    )
