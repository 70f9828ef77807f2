"""The operator's own wording for the mail: `subject.txt`, `body.txt` and `body.html` in a folder,
checked with the configuration (a broken template stops the start, not the first send) and
rendered by the message builder.

Jinja2 in its sandbox, with an unknown name an error and autoescaping in the HTML part only.
Each file is optional (a missing one leaves the built-in text); `DIR/<language>/` holds
translations, file by file, falling back to `DIR/`. A template only supplies text: the headers,
the recipient and the structure of the message stay the builder's, so no template can add a
header or a recipient.

The same rules hold when the configuration is loaded (rendered with a sample) and at every
send (rendered for real): each body part shows the code exactly once, the subject never shows it
(a subject is on lock screens and in notification previews), and no part holds another run of
six or more digits that a person could take for the code. A broken template stops otp-tui at
start-up with one line naming the file and line, not at the first send.

Only imported when `[mail] templates` is set: Jinja2 costs start-up time nobody else should pay.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateNotFound, nodes
from jinja2.loaders import split_template_path
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment

from otp_tui.core.untrusted import visible

SUBJECT, TEXT, HTML = "subject.txt", "body.txt", "body.html"
PARTS = (SUBJECT, TEXT, HTML)

PLACEHOLDERS = frozenset(
    {"code", "minutes", "expires_at", "address", "sender_name", "requested_from"}
    # The facts the built-in mail tells: the service, the host the code was asked on, the SSH
    # client ("" without one), the account a login is for ("" outside the gate and PAM).
    | {"service", "host", "client", "login_user"}
)

# What a language subdirectory may be called ("de", "pt_BR", "zh-Hant"): never a path.
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_LONG_NUMBER = re.compile(r"\d{6,}")


class TemplateProblem(ValueError):
    """One line: the file, the line when known, and what is wrong."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        where = f"{path} line {line}" if line is not None else str(path)
        super().__init__(f"{visible(where)}: {visible(message)}")


@dataclass(frozen=True)
class Rendered:
    """The operator's text for each part; None where the built-in text is used."""

    subject: str | None
    text: str | None
    html: str | None


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(".html")


class LinkRefused(TemplateNotFound):
    """A template, or a folder on the way to it inside the templates folder, is a link."""


# The largest template read: a mail's wording, not a file to stream.
_MAX_TEMPLATE_BYTES = 256 * 1024


class _NoLinksLoader(BaseLoader):
    """Jinja2's file loading, but no symbolic link is followed inside the templates folder.

    A link could name a file the reader may read and the template's author may not (the relay's
    password, included by `{% include %}`). Each step below the folder (the language folder
    too) is opened with O_NOFOLLOW relative to the one before it, so no link is followed and
    none can be swapped in between a check and the read. (The folder itself may be reached
    through a link: it is the operator's path.)
    """

    def __init__(self, folder: Path, prefixes: list[list[str]]) -> None:
        self.folder = str(folder)
        self.prefixes = prefixes  # [["de"], []]: the language's folder first, then the folder

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for prefix in self.prefixes:
            found = _read_below(self.folder, [*prefix, *pieces], template)
            if found is not None:
                filename = os.path.join(self.folder, *prefix, *pieces)
                return found.decode("utf-8"), filename, lambda: False
        raise TemplateNotFound(template)


def _read_below(folder: str, pieces: list[str], template: str) -> bytes | None:
    """The file at `pieces` under `folder`, None if absent; LinkRefused for a link on the way."""
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for depth, piece in enumerate(pieces[:-1], start=1):
            try:
                inner = os.open(piece, flags | os.O_DIRECTORY, dir_fd=fd)
            except OSError as error:
                way = pieces[:depth]
                if error.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(
                    os.path.join(folder, *way)
                ):
                    raise LinkRefused(template, f"{'/'.join(way)} is a symbolic link") from None
                return None
            os.close(fd)
            fd = inner
        try:
            # O_NONBLOCK: a FIFO put there must not hang the start; it is refused below.
            target = os.open(pieces[-1], flags | os.O_NONBLOCK, dir_fd=fd)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise LinkRefused(template, f"{template} is a symbolic link") from None
            return None
        with os.fdopen(target, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            data = handle.read(_MAX_TEMPLATE_BYTES + 1)
        if len(data) > _MAX_TEMPLATE_BYTES:
            raise TemplateNotFound(template, f"{template} is larger than 256 KiB")
        return data
    finally:
        os.close(fd)


@lru_cache(maxsize=16)
def _environment(directory: Path, language: str | None) -> SandboxedEnvironment:
    prefixes: list[list[str]] = [[]]
    if language is not None and _LANGUAGE.fullmatch(language):
        prefixes.insert(0, [language])
    return SandboxedEnvironment(
        loader=_NoLinksLoader(directory, prefixes),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        keep_trailing_newline=True,
    )


def _source(env: SandboxedEnvironment, name: str) -> tuple[str, Path] | None:
    assert env.loader is not None
    try:
        source, filename, _ = env.loader.get_source(env, name)
    except LinkRefused as refused:
        folder = Path(getattr(env.loader, "folder", "."))
        raise TemplateProblem(folder, refused.message or "a symbolic link") from None
    except TemplateNotFound as missing:
        if missing.message and "larger than" in missing.message:
            raise TemplateProblem(Path(name), missing.message) from None
        return None
    except UnicodeDecodeError:
        raise TemplateProblem(Path(name), "not UTF-8 text") from None
    return source, Path(filename or name)


def _first_line_naming(tree: nodes.Template, name: str) -> int | None:
    lines = [node.lineno for node in tree.find_all(nodes.Name) if node.name == name]
    return min(lines) if lines else None


def _check_source(env: SandboxedEnvironment, name: str, source: str, path: Path) -> None:
    """What can be seen without rendering: syntax, names, and the code in the subject."""
    try:
        tree = env.parse(source, name, str(path))
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        raise TemplateProblem(path, error.message or "syntax error", line) from None
    for unknown in sorted(find_undeclared_variables(tree) - PLACEHOLDERS - set(env.globals)):
        known = ", ".join(sorted(PLACEHOLDERS))
        raise TemplateProblem(
            path,
            f"unknown placeholder {unknown!r} (known: {known})",
            _first_line_naming(tree, unknown),
        )
    if name == SUBJECT and (line := _first_line_naming(tree, "code")) is not None:
        raise TemplateProblem(
            path, "the code must not be in the subject (it shows on lock screens)", line
        )


def shows_code(text: str, code: str) -> int:
    """How many times `text` shows `code` to a reader, whatever the template did to it.

    Decided on the rendered text, not on the template's syntax: after NFKC (fullwidth and other
    compatibility digits become ASCII), the code's digits in order, with up to three characters
    that are neither letters nor digits between them (`6 0 4 2 1 1`, `604-211`, one digit a
    line), not inside a longer number. The reversed code counts too where it must not appear.
    """
    normal = unicodedata.normalize("NFKC", text)
    gap = r"[\W_]{0,3}"
    pattern = r"(?<!\d)" + gap.join(re.escape(digit) for digit in code) + r"(?!\d)"
    return len(re.findall(pattern, normal))


class _HtmlView(HTMLParser):
    """The rendered HTML as a reader sees it (text) and as a mail reader may fetch or keep it
    unseen (attribute values, comments, scripts and styles)."""

    _UNSEEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.seen: list[str] = []
        self.unseen: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.unseen += [value for _name, value in attrs if value]
        if tag in self._UNSEEN:
            self._depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.unseen += [value for _name, value in attrs if value]

    def handle_endtag(self, tag: str) -> None:
        if tag in self._UNSEEN and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        (self.unseen if self._depth else self.seen).append(data)

    def handle_comment(self, data: str) -> None:
        self.unseen.append(data)


def check_rendered(name: str, text: str, code: str, path: Path) -> str:
    """The rules every rendered part keeps; returns the part as it goes into the message."""
    numbers = _LONG_NUMBER.findall(text)
    if name == SUBJECT:
        subject = text.strip()
        if not subject:
            raise TemplateProblem(path, "the subject is empty")
        if visible(subject) != subject:
            raise TemplateProblem(path, "the subject must be one line without control characters")
        if shows_code(subject, code) or shows_code(subject, code[::-1]):
            raise TemplateProblem(
                path, "the code must not be in the subject (it shows on lock screens)"
            )
        if numbers:
            raise TemplateProblem(path, "the subject must not hold a run of six or more digits")
        return subject
    if name == HTML:
        view = _HtmlView()
        view.feed(text)
        view.close()
        unseen = "\n".join(view.unseen)
        if shows_code(unseen, code) or shows_code(unseen, code[::-1]):
            raise TemplateProblem(
                path,
                "must not carry the code in a link, an image or any attribute, comment or style"
                " (a mail reader may fetch it, and the person does not see it)",
            )
        text_seen = "".join(view.seen)
    else:
        text_seen = text
    if shows_code(text_seen, code) != 1:
        raise TemplateProblem(path, "must show {{ code }} exactly once")
    if any(number != code for number in numbers):
        raise TemplateProblem(
            path, "holds another run of six or more digits, which could be taken for the code"
        )
    return text


def render(directory: Path, values: Mapping[str, Any], *, language: str | None = None) -> Rendered:
    """Render the parts that exist under `directory` (and `directory/language`) with `values`.

    Raises TemplateProblem (a ValueError) if a template is broken or breaks a rule.
    """
    env = _environment(directory, language)
    code = str(values["code"])
    out: dict[str, str | None] = {}
    for name in PARTS:
        found = _source(env, name)
        if found is None:
            out[name] = None
            continue
        source, path = found
        _check_source(env, name, source, path)
        try:
            # By name, not from the source: the name decides autoescaping (HTML only).
            text = env.get_template(name).render(**values)
        except TemplateError as error:
            raise TemplateProblem(path, f"cannot render: {error.message or error}") from None
        except (ArithmeticError, LookupError, TypeError, ValueError) as error:
            raise TemplateProblem(path, f"cannot render: {type(error).__name__}") from None
        out[name] = check_rendered(name, text, code, path)
    return Rendered(subject=out[SUBJECT], text=out[TEXT], html=out[HTML])


def sample_values(
    *,
    code_length: int,
    ttl_seconds: int,
    sender_name: str,
    service: str = "Acme VPN",
    login: bool = False,
) -> dict[str, Any]:
    """What the configuration check renders with: like a real mail, with made-up values; with
    `login`, the mail of a login through the gate or PAM."""
    return {
        "code": "".join(str((7 + 3 * i) % 10) for i in range(code_length)),
        "minutes": ttl_seconds // 60,
        "expires_at": "14:35",
        "address": "someone@example.com",
        "sender_name": sender_name,
        "requested_from": "bastion (over SSH from 203.0.113.9)",
        "service": service,
        "host": "bastion",
        "client": "203.0.113.9",
        "login_user": "alice" if login else "",
    }


def languages(directory: Path) -> list[str | None]:
    """None (the folder itself) and every language subdirectory in it."""
    found: list[str | None] = [None]
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return found
    found += [e.name for e in entries if e.is_dir() and _LANGUAGE.fullmatch(e.name)]
    return found


def check_templates(
    directory: Path, *, code_length: int, ttl_seconds: int, sender_name: str
) -> None:
    """Render every language's templates with a sample; TemplateProblem on the first problem."""
    if not directory.is_dir():
        raise TemplateProblem(directory, "no such directory")
    for login in (False, True):  # a template may word a login apart: both must hold the rules
        values = sample_values(
            code_length=code_length, ttl_seconds=ttl_seconds, sender_name=sender_name, login=login
        )
        for language in languages(directory):
            render(directory, values, language=language)
