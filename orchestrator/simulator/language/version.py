"""System.Version, as `$PSVersionTable.PSVersion` is one: Major, Minor, Build, Revision, its text.

`$PSVersionTable.PSVersion` is "The Windows PowerShell version number" (about_Automatic_Variables, 3.0); that
it is a System.Version is not on that page but is what the common `$PSVersionTable.PSVersion.Major -ge 3`
test relies on (docs/real-hosts.md, check 1, shows it on a host; unverified here). Its properties are .NET's: Major, Minor, Build and Revision, -1 for a part the text leaves
out ("3.0" has Build -1), MajorRevision and MinorRevision the halves of Revision (learn.microsoft.com,
System.Version). Its ToString() is the parts it was made of ("3.0"). Two Versions, or a Version and a text that
parses as one, compare part by part, as PowerShell converts the right operand to the left one's type. Any
other member fails with its name rather than reading $null.
"""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.language.netobject import NetObject
from orchestrator.simulator.language.values import PSRuntimeError


class Version(NetObject):
    type_name = "System.Version"

    def __init__(self, text: str) -> None:
        parts = [int(p) for p in text.split(".")]
        if not 2 <= len(parts) <= 4:
            raise ValueError(text)
        self.parts = tuple(parts) + (-1,) * (4 - len(parts))
        self.text = text

    def __str__(self) -> str:
        return self.text

    def member(self, lname: str) -> Any:
        major, minor, build, revision = self.parts
        table = {"major": major, "minor": minor, "build": build, "revision": revision,
                 "majorrevision": revision >> 16 if revision >= 0 else -1,
                 "minorrevision": revision & 0xFFFF if revision >= 0 else -1, "count": 1, "length": 1}
        if lname in table:
            return table[lname]
        raise PSRuntimeError(f"The simulator does not model the property '{lname}' of [System.Version].",
                             "NotSupported", "NotImplemented")

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname == "tostring" and not args:
            return self.text
        return super().call(lname, name, args)

    def _other(self, other: Any) -> tuple[int, ...] | None:
        if isinstance(other, Version):
            return other.parts
        if isinstance(other, str):
            try:
                return Version(other).parts
            except ValueError:
                return None
        return None

    def __eq__(self, other: object) -> bool:
        return self.parts == self._other(other)

    def __hash__(self) -> int:
        return hash(self.parts)

    def __lt__(self, other: Any) -> bool:
        return self.parts < self._ordered(other)

    def __gt__(self, other: Any) -> bool:
        return self.parts > self._ordered(other)

    def _ordered(self, other: Any) -> tuple[int, ...]:
        parts = self._other(other)
        if parts is None:
            raise TypeError(other)  # values.compare: "Cannot compare ... because it is not IComparable."
        return parts
