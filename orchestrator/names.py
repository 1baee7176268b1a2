"""Which VMs `--vm` and a schedule's `vms:` select: an exact name first, a glob only when no name is exact.

Why exact first: `[`, `]`, `*` and `?` are legal in a Hyper-V VM name (New-VM takes any string as -Name), and
the inventory allows them, so a pattern is ambiguous: `lab[1]` is both the name of the VM `lab[1]` and the
glob for `lab1`. Read as a glob, `rollback --vm 'lab[1]'` restored `lab1` and discarded its state, the
opposite of what the admin asked. So a pattern that IS the name of a known VM selects that VM and nothing
else; only a pattern that names no known VM is read as a glob.

The glob language is Python's fnmatch (shell-style): `*` any run of characters, `?` one character, `[abc]`
one of a set, `[!abc]` none of a set. To match a glob character literally inside a glob, put it in brackets:
`[[]`, `[]]`, `[*]`, `[?]` (`escape` does this). Matching ignores case, as Hyper-V does for VM names
(Get-VM -Name finds a VM whatever the case).

`known` is the set of names that count as exact: pass every VM name of the inventory (all hosts) for `--vm`,
so that `lab[1]`, a VM of hv01, never selects `lab1` on hv02; a schedule's `vms:` belongs to one host, so its
VMs are enough there. Pure functions, no I/O.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

_GLOB_CHARS = re.compile(r"([*?\[\]])")


def select_names(
    patterns: str | Iterable[str] | None, names: Iterable[str], *, known: Iterable[str] | None = None
) -> list[str]:
    """The names (in their order, once each) that any of `patterns` selects; None selects every name.

    Each pattern on its own: if it equals (ignoring case) a name in `known` (default: `names`), it selects
    the names equal to it and is never read as a glob; otherwise it is a glob over `names`.
    """
    ordered = list(dict.fromkeys(names))
    if patterns is None:
        return ordered
    wanted = [patterns] if isinstance(patterns, str) else list(patterns)
    exact = {n.casefold() for n in (ordered if known is None else known)}
    chosen: set[str] = set()
    for pattern in wanted:
        chosen.update(_selected_by(pattern, ordered, exact))
    return [n for n in ordered if n in chosen]


def matches_name(name: str, pattern: str | None, *, known: Iterable[str]) -> bool:
    """One name against one pattern, for filters that look at one VM at a time. `known` (the names that
    count as exact, `name` itself always among them) must hold every VM the pattern could mean: with only
    `name`, `lab1` against `lab[1]` is a glob match, as nothing says that a VM `lab[1]` exists."""
    if pattern is None:
        return True
    return bool(_selected_by(pattern, [name], {n.casefold() for n in known} | {name.casefold()}))


def is_exact(pattern: str, known: Iterable[str]) -> bool:
    """True when `pattern` is the name of a known VM, so it selects that VM only."""
    folded = pattern.casefold()
    return any(n.casefold() == folded for n in known)


def escape(name: str) -> str:
    """A glob that matches `name` literally: every glob character in brackets (`lab[1]` -> `lab[[]1[]]`)."""
    return _GLOB_CHARS.sub(r"[\1]", name)


def _selected_by(pattern: str, names: list[str], exact: set[str]) -> list[str]:
    folded = pattern.casefold()
    if folded in exact:
        return [n for n in names if n.casefold() == folded]
    regex = re.compile(fnmatch.translate(folded))
    return [n for n in names if regex.match(n.casefold())]
