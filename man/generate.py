"""Write man/otp-tui.1 from the program's own argument parser, in English.

    python man/generate.py            # rewrite man/otp-tui.1
    python man/generate.py --check    # exit 1 if man/otp-tui.1 is not what the parser gives

argparse-manpage renders the parser (every subcommand with its options) and this file's
EXTRA sections; the date is fixed by SOURCE_DATE_EPOCH (the version's release day), so the same
parser always gives the same bytes. The wheel installs the page as share/man/man1/otp-tui.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE / "otp-tui.1"
# 2026-12-01: the page's date, changed by hand with the version.
SOURCE_DATE_EPOCH = "1796083200"
VERSION = "0.1.0"


def english_parser():  # type: ignore[no-untyped-def]
    """argparse-manpage's --function: the parser, worded in English."""
    from otp_tui.cli import build_parser
    from otp_tui.language import use_language

    use_language("en")
    return build_parser()


def render() -> str:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "otp-tui.1"
        subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable, "-c", "from argparse_manpage.cli import main; main()",
                "--pyfile", str(Path(__file__)),
                "--function", "english_parser",
                "--project-name", "otp-tui",
                "--version", VERSION,
                "--description", "prove that a person controls an email address",
                "--manual-title", "otp-tui manual",
                "--include", str(HERE / "extra.txt"),
                "--output", str(output),
            ],
            check=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "LANGUAGE": "en"},
            cwd=HERE.parent,
        )  # fmt: skip
        return output.read_text(encoding="utf-8")


if __name__ == "__main__":
    page = render()
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if PAGE.read_text(encoding="utf-8") == page else 1)
    PAGE.write_text(page, encoding="utf-8")
