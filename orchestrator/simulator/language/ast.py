"""The simulator's own syntax tree: small slotted nodes built once per script text and cached.

Walking tree-sitter nodes from Python allocates a wrapper per access; converting once into these nodes keeps
repeated runs of the same script cheap (the parse cache keys on the script text).

The node kinds follow PowerShell's grammar as tree-sitter-pwsh reads it; what each kind means when it runs is
sourced where it runs (compiler.py, interpreter.py): MicrosoftDocs/PowerShell-Docs
reference/3.0/Microsoft.PowerShell.Core/About/about_Parsing.md for the two parsing modes a node comes from.
"""

from __future__ import annotations

from typing import Any


class Node:
    # fv/fs/fp: the node's compiled functions (language/compiler.py), as a value, as a statement, as a
    # pipeline or a command in one; made when the script is parsed or the node first runs.
    __slots__ = ("a", "b", "c", "d", "fp", "fs", "fv", "k", "line")

    def __init__(self, k: str, line: int, a: Any = None, b: Any = None, c: Any = None, d: Any = None) -> None:
        self.k = k
        self.line = line
        self.a = a
        self.b = b
        self.c = c
        self.d = d
        self.fv: Any = None
        self.fs: Any = None
        self.fp: Any = None

    def __repr__(self) -> str:
        return f"Node({self.k!r}, line={self.line}, a={self.a!r}, b={self.b!r}, c={self.c!r}, d={self.d!r})"
