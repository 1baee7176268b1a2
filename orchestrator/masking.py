"""Masking secrets in text: a secret is replaced where it stands as a whole value, never inside other text.

A password is a value in a message (`password 'x' was refused`, `user:x`, `Basic dXNlcjp4`), not a set of
letters: replacing every substring turned the password `x` into "e********tra" for "extra", which both
mangled the message and told the reader which letter the password was. So a secret is masked only where
the characters on either side of it are not word characters (letters, digits, `_`, and `-`, which joins
the parts of host and VM names: password `x` leaves "lab-x-01" alone) or the text ends, the way a value
sits between quotes, spaces, `:`, `=`, a full stop or line ends. Every length is masked (a one-letter
password too), the longest secrets first, so a secret that contains another is masked whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "********"


def _pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not values:
        return None
    alternatives = "|".join(re.escape(value) for value in values)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with each whole-value occurrence of any of `secrets` replaced by MASK."""
    pattern = _pattern(secrets)
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def contains(text: str, secrets: Iterable[str]) -> bool:
    """Whether a secret stands in `text` as a whole value (what `mask` would replace)."""
    pattern = _pattern(secrets)
    return pattern is not None and pattern.search(text) is not None
