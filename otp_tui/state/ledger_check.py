"""`otp-tui check`'s line about the ledger: open the configured one, prove it answers, say
which it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from otp_tui.language import _
from otp_tui.state.errors import LedgerError
from otp_tui.state.ledger import open_ledger
from otp_tui.state.sqlite_ledger import SqliteLedger
from otp_tui.state.sqlite_schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings


def check_ledger(settings: Settings, out: TextIO) -> bool:
    """Write the ledger's line to `out`; True when the ledger works.

    SQLite: open the file and read from it (which checks the schema). Redis: connect,
    authenticate and run a harmless script.
    """
    try:
        with open_ledger(settings) as ledger:
            if isinstance(ledger, SqliteLedger):
                ledger.status("check@otp-tui.invalid")  # a read: opens, checks the schema
                # TRANSLATORS: `otp-tui check`: the SQLite ledger file opened and was read.
                line = _("SQLite file {path} (schema {version}): ok").format(
                    path=ledger.path, version=SCHEMA_VERSION
                )
            else:
                from otp_tui.state.redis_ledger import RedisLedger
                from otp_tui.state.redis_probe import probe

                assert isinstance(ledger, RedisLedger)
                # TRANSLATORS: `otp-tui check`: {answer} says which Redis server answered.
                line = _("{answer}: ok").format(answer=probe(ledger))
    except LedgerError as error:
        out.write(_ledger_line(str(error)))
        out.write(_("Ledger check failed.") + "\n")
        return False
    out.write(_ledger_line(line))
    return True


def _ledger_line(result: str) -> str:
    # TRANSLATORS: `otp-tui check`: the line about the ledger (the file or server that holds
    # the counts and locks per address); {result} is a sentence of its own.
    return _("ledger: {result}").format(result=result) + "\n"
