"""Host keys as Ansible's YAML inventory reads them: an optional `:port`, and `[a:b]` / `[a:b:step]` ranges.

The semantics follow ansible-core's inventory plugins (parse_address plus expand_hostname_range), including
their quirks, because users reuse their Ansible inventories and expect the same host names:
- `hv[01:12]` keeps the zero padding; `[1:12]` does not; begin and end must then be equally long;
- `lab-[a:d]` is an alphabetic range; `[02:10:2]` has a step; several ranges in one name multiply;
- `web:2222` sets ansible_port, but only when the part before the colon is a valid host name or address.
"""

from __future__ import annotations

import ipaddress
import re
import string

MAX_HOSTS_PER_PATTERN = 10_000

_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = rf"(?:\w|{_RANGE})(?:[\w-]|{_RANGE})*(?<![_-])"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE | re.UNICODE)
_BRACKETED_HOSTPORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOSTPORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")


class HostPatternError(ValueError):
    """A host key that Ansible would refuse (a malformed range)."""


def _is_host(address: str) -> bool:
    if _HOSTNAME.match(address):
        return True
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def split_port(pattern: str) -> tuple[str, int | None]:
    """`name:port` -> (name, port) when Ansible would see a port; otherwise the pattern unchanged."""
    address, port = pattern, None
    for regex in (_BRACKETED_HOSTPORT, _HOSTPORT):
        match = regex.match(address)
        if match:
            address, port = match.group(1), int(match.group(2))
    if not _is_host(address):
        return pattern, None
    return address, port


def expand(pattern: str) -> list[str]:
    """Every host name a pattern stands for, in Ansible's order. Raises HostPatternError."""
    if "[" not in pattern:
        return [pattern]
    parts = pattern.replace("[", "|", 1).replace("]", "|", 1).split("|")
    if len(parts) != 3:
        raise HostPatternError("a host range needs matching [ and ]")
    head, body, tail = parts
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise HostPatternError("a host range must be [begin:end] or [begin:end:step]")
    begin, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise HostPatternError("a host range must give its end value")
    width = len(begin) if begin[0] == "0" and len(begin) > 1 else 0
    if width and width != len(end):
        raise HostPatternError("a zero-padded host range needs begin and end of equal length")
    try:
        step = int(step_text)
    except ValueError as exc:
        raise HostPatternError(f"the step of a host range must be a number, not {step_text!r}") from exc
    if step <= 0:
        raise HostPatternError("the step of a host range must be at least 1")
    sequence: list[str] | range
    if begin in string.ascii_letters and end in string.ascii_letters:
        first, last = string.ascii_letters.index(begin), string.ascii_letters.index(end)
        if first > last:
            raise HostPatternError("a host range must have begin <= end")
        sequence = list(string.ascii_letters[first : last + 1 : step])
    else:
        try:
            sequence = range(int(begin), int(end) + 1, step)
        except ValueError as exc:
            raise HostPatternError(f"{body!r} is not a numeric or alphabetic range") from exc
    if len(sequence) > MAX_HOSTS_PER_PATTERN:
        raise HostPatternError(f"the range expands to more than {MAX_HOSTS_PER_PATTERN} hosts")
    names: list[str] = []
    for item in sequence:
        text = str(item).zfill(width) if width else str(item)
        names.extend(expand(f"{head}{text}{tail}"))
        if len(names) > MAX_HOSTS_PER_PATTERN:
            raise HostPatternError(f"the ranges expand to more than {MAX_HOSTS_PER_PATTERN} hosts")
    return names
