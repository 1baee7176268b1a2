"""What the language's control flow needs beside the interpreter and the compiler: the signals that unwind
a run (exit, break, continue, return), the functions a script defines, and the names commands are called by.

Sources (MicrosoftDocs/PowerShell-Docs reference/3.0/Microsoft.PowerShell.Core/About/): about_Break.md and
about_Continue.md (a loop's or switch's own statement, or a labelled outer one), about_Return.md ("exits the
current scope"; the output of the scope before it is returned too), about_Language_Keywords.md (`exit`
ends the script with its exit code), about_Functions.md, about_Command_Precedence.md (functions before
cmdlets; names are case-insensitive).
"""

from __future__ import annotations

from orchestrator.simulator.language.ast import Node


class ExitSignal(Exception):
    """`exit N`: ends the whole run with that exit code."""

    def __init__(self, code: int) -> None:
        self.code = code


class ProcessKilled(BaseException):
    """The host killed the script's process (a test's kill: model.Host.kill_after_changes). Not an error a
    script sees: no catch takes it and no finally block runs, as no code runs in a process that is gone."""


class Break(Exception):
    """`break`: leaves the innermost loop."""


class Continue(Exception):
    """`continue`: the innermost loop's next round."""


class Return(Exception):
    """`return`: leaves the script block or function (its value was written to the output first)."""


ALIASES = {
    "%": "ForEach-Object", "foreach": "ForEach-Object", "?": "Where-Object", "where": "Where-Object",
    "select": "Select-Object", "sort": "Sort-Object", "measure": "Measure-Object", "echo": "Write-Output",
    "write": "Write-Output", "gci": "Get-ChildItem", "dir": "Get-ChildItem", "ls": "Get-ChildItem",
    "del": "Remove-Item", "rm": "Remove-Item", "copy": "Copy-Item", "cp": "Copy-Item", "md": "New-Item",
    "gcim": "Get-CimInstance",
}


class Function:
    """A function the script defined: its name as written and its body (an 'sblock' node)."""

    __slots__ = ("block", "name")

    def __init__(self, name: str, block: Node) -> None:
        self.name = name
        self.block = block


# A command name as written -> (its lower-case form for function lookup, the name after alias resolution).
COMMAND_NAMES: dict[str, tuple[str, str]] = {}


def command_names(name: str) -> tuple[str, str]:
    lowered = name.lower()
    found = (lowered, ALIASES.get(lowered, name))
    if len(COMMAND_NAMES) < 4096:
        COMMAND_NAMES[name] = found
    return found
