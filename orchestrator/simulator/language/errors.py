"""Errors of the language layer, as PowerShell reports them."""

from __future__ import annotations


class ScriptError(Exception):
    """Base of everything a script can cause; `run()` turns these into exit code 1 and stderr text."""


class ParseError(ScriptError):
    """A syntax error or a construct outside the supported subset, found before anything runs."""

    def __init__(self, message: str, line: int, column: int, source_line: str = "", reason: str = "") -> None:
        self.line = line
        self.column = column
        self.reason = reason or message
        text = f"At line:{line} char:{column}\n+ {source_line}\n+ {' ' * (column - 1)}~\n{message}"
        super().__init__(text)


class UnsupportedConstruct(ParseError):
    """Valid PowerShell that the simulator does not evaluate: named, with its line, never skipped."""
