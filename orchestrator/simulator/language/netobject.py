"""A .NET object the host layer hands to a script (a FileStream, a StreamReader): members and methods by name.

The language layer knows only this base class, so objects that need the host (its files, its handles) live
in orchestrator/simulator/host and the interpreter never imports the host.

How a script reaches them: `$obj.Name` and `$obj.Method(args)` (MicrosoftDocs/PowerShell-Docs
reference/3.0/Microsoft.PowerShell.Core/About/about_Properties.md, about_Methods.md); an unknown method is
"Method invocation failed because [T] does not contain a method named 'M'", PowerShell's own wording.
"""

from __future__ import annotations

from typing import Any


class NetObject:
    """Subclasses set `type_name` and answer `member` ($obj.Name, lower-cased) and `call` ($obj.Name(args))."""

    type_name = "System.Object"

    def __str__(self) -> str:
        return self.type_name

    def member(self, lname: str) -> Any:
        return None

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        from orchestrator.simulator.language.values import PSRuntimeError

        raise PSRuntimeError(f"Method invocation failed because [{self.type_name}] does not contain a method named "
                             f"'{name}'.", "MethodNotFound", "InvalidOperation")
