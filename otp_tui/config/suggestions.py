"""Did you mean: the nearest known word to a mistyped command or configuration key.

difflib's ratio is enough for words this short: `chek` finds `check`, `smtp.hots` finds
`smtp.host`, and a word close to nothing gets no guess rather than a wrong one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

# Close enough to be the same word mistyped; difflib's default (0.6) also pairs unrelated
# short words.
_CUTOFF = 0.7


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to `word`, or None when none is close."""
    found = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=_CUTOFF)
    return found[0] if found else None


def suggest_key(loc: Sequence[str], model: type[BaseModel]) -> str | None:
    """For an unknown key at `loc` (`("smtp", "hots")`), the known key nearest to it, dotted
    as written in a file (`smtp.host`); None when nothing is close."""
    node: type[BaseModel] = model
    for depth, part in enumerate(loc):
        fields = node.model_fields
        if part in fields:
            annotation = fields[part].annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                node = annotation
                continue
            return None  # a known key whose value is not a table: nothing to suggest under it
        guess = nearest(part, fields)
        if guess is None:
            return None
        return ".".join((*loc[:depth], guess))
    return None
