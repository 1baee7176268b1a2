"""Memory and disk sizes as the admin writes them (`8GB`, `512MB`) and as PowerShell reads them.

PowerShell's numeric multipliers are powers of two (1KB = 1024), and Hyper-V cmdlets take bytes, so a size
is parsed once here into an int of bytes and printed back in the same notation. Nothing else in the product
parses sizes, so `8GB` means the same thing in the inventory, the plan and the rendered script.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

UNITS: dict[str, int] = {"KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4, "PB": 1024**5}
_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMGTP]B|B)?\s*$", re.IGNORECASE)


def parse_size(value: str | int) -> int:
    """Bytes for `value`: an int (bytes) or text like `8GB`, `512MB`, `1.5GB`, `1024`.

    Raises ValueError with a message fit for the admin when the text is not a size or does not come out
    as a whole number of bytes. Negative and zero sizes parse (the rules decide whether they are allowed).
    """
    if isinstance(value, bool):
        raise ValueError("a size must be a number with a unit like 8GB or 512MB, not a boolean")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a size must be text like 8GB or 512MB, not {type(value).__name__}")
    match = _SIZE.match(value)
    if not match:
        raise ValueError("not a size; write a number and a unit like 8GB, 512MB or 2TB")
    unit = (match["unit"] or "B").upper()
    try:
        number = Decimal(match["number"])
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimal digits
        raise ValueError("not a size; write a number and a unit like 8GB") from exc
    total = number * UNITS.get(unit, 1)
    if total != total.to_integral_value():
        raise ValueError("the size is not a whole number of bytes")
    return int(total)


def format_size(size: int) -> str:
    """The shortest exact PowerShell notation for `size` bytes: 8589934592 -> '8GB', 1536 -> '1536'...

    Uses the largest unit that divides the size exactly (so the text parses back to the same number).
    """
    for unit, factor in reversed(UNITS.items()):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def unit_hint(number: int) -> str:
    """The fix for a size written as a bare number: what the admin most likely meant, in sizes that make
    sense for a VM. Hyper-V Manager and most scripts give memory in MB (`6144` is 6GB, not 6144GB), so a
    number from 256 up reads as megabytes; a smaller one as gigabytes (`8`); one of a gigabyte or more as
    bytes (`8589934592`)."""
    if number >= UNITS["GB"]:
        return f"write it with a unit, like {format_size(number)} (that many bytes)"
    if number >= 256:
        exact = f" (= {format_size(number * UNITS['MB'])})" if number % 1024 == 0 else ""
        return f"write it with a unit, like {number}MB{exact}"
    return f"write it with a unit, like {number}GB"
