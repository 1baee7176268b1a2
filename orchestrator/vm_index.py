"""A host's VMs by name, as the scripts find them: case-insensitively, with every VM kept.

Why it matters: a script finds a VM by its name (templates/lib/functions.ps1.j2, Find-OrchestrateVM: each
VM of `Get-VM` whose `.Name -eq $Name`, and a name two VMs hold is refused there too), and that comparison
ignores case ("By default, all comparison operators are case-insensitive": about_Comparison_Operators, 3.0).
Hyper-V itself does not keep names unique (a VM is its Id; Import-VM -Copy -GenerateNewId brings in a second VM of an
existing name, and nothing stops a person making one), so one name can stand for two VMs. A plan made from
one VM's facts while the script picks the other would checkpoint, restore or remove the wrong machine.
Before this index the facts kept the last VM of a name, exact case, and the script acted on the first.

So every lookup here ignores case, gives the first VM of a name in the host's own order (the one Get-VM lists
first), and `duplicates()` names each name that more than one VM holds, for the host rules to refuse.
Case is folded with Python's `str.lower`, which agrees with PowerShell for ASCII names. For other letters
the scripts' `-eq` is .NET's InvariantCultureIgnoreCase (PowerShell-Docs#8671), which "compares strings in a
linguistically relevant manner" (learn.microsoft.com, StringComparer.InvariantCultureIgnoreCase), and a
linguistic comparison skips "ignorable characters" (the CompareInfo remarks, "Ignored search values"). So a
real host may take `Strasse` for `Straße`, or `co-op` with a soft hyphen for `coop`, where this index keeps
them apart. Which pairs exactly is in no page (it is the sort tables of that Windows' .NET). `alike_key` is
therefore looser than any of them on purpose, and the host rules, the inventory rules, a move's target and
an import's --name refuse a VM whose name shares it with another VM's name that is not the same here
(`alike`; orchestrator/host_rules.py, rules/vms.py, operations/move.py, operations/import_vm.py): a name
that only may mean another VM is never acted on. ASCII is taken to need only its case folded: .NET's word
sort gives a hyphen or an apostrophe "a very small weight" so that "coop" and "co-op" sort side by side
(CompareOptions remarks), a weight and not none, and control characters, which a linguistic comparison
ignores, are refused in names (rules/names.py). That equality keeps those apart is unverified
(docs/real-hosts.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, TypeVar

# What alike_key drops: combining marks (a linguistic comparison without IgnoreNonSpace weighs diacritics,
# but some marks are ignorable), format characters (soft hyphen, zero-width joiners, marks of direction),
# unassigned and private-use code points, control characters. Dropping more than .NET ignores is the safe
# side: two names kept apart by .NET are at worst refused here, never acted on as one.
_DROPPED = frozenset({"Mn", "Me", "Cf", "Cn", "Co", "Cc"})
# Letters a linguistic sort expands, beyond what casefold (ß -> ss) and NFKD (ligatures, widths) do.
_EXPANSIONS = str.maketrans({"æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "đ": "d", "ł": "l", "ø": "o"})


def alike_key(name: str) -> str:
    """A key that two names share whenever a real host's `-eq` may find them equal (module doc), and
    sometimes when it would not. ASCII names without control characters need only their case folded."""
    if name.isascii() and name.isprintable():
        return name.lower()
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED)
    text = unicodedata.normalize("NFKD", text.casefold().translate(_EXPANSIONS))
    return "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


V = TypeVar("V", bound=_Named)


class VMIndex(Mapping[str, V]):
    """The VMs of one host by name (case-insensitive), in the host's order; iteration gives each name once."""

    __slots__ = ("_all", "_by_alike", "_by_key", "_names")

    def __init__(self, vms: Iterable[V] = ()) -> None:
        self._all: tuple[V, ...] = tuple(vms)
        self._by_key: dict[str, list[V]] = {}
        self._names: list[str] = []
        for vm in self._all:
            key = vm.name.lower()
            held = self._by_key.get(key)
            if held is None:
                self._by_key[key] = [vm]
                self._names.append(vm.name)
            else:
                held.append(vm)
        self._by_alike: dict[str, list[V]] | None = None  # built on the first `alike` call

    def __getitem__(self, name: str) -> V:
        return self._by_key[name.lower()][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_key

    @property
    def all(self) -> tuple[V, ...]:
        """Every VM, duplicates of a name included, in the host's order."""
        return self._all

    def duplicates(self) -> dict[str, tuple[V, ...]]:
        """Each name (as first spelled) that two or more VMs hold, with all of those VMs."""
        return {held[0].name: tuple(held) for held in self._by_key.values() if len(held) > 1}

    def alike(self, name: str) -> tuple[V, ...]:
        """The VMs whose names are not `name` here (case aside) but may be on a real host: they share its
        alike_key (module doc). A VM of `name` itself is not among them."""
        if self._by_alike is None:
            self._by_alike = {}
            for vm in self._all:
                self._by_alike.setdefault(alike_key(vm.name), []).append(vm)
        lowered = name.lower()
        return tuple(vm for vm in self._by_alike.get(alike_key(name), ()) if vm.name.lower() != lowered)

    def __repr__(self) -> str:
        return f"VMIndex({list(self._all)!r})"
