"""PowerShell literals: turn a Python value into PowerShell source that means exactly that value, and back.

This is what makes an inventory value unable to become code. A string is emitted as a single-quoted
(verbatim) literal, where PowerShell expands nothing (`$`, backticks, `$(...)` are plain characters) and the
only special characters are the single quotes. PowerShell's tokenizer takes four typographic quotes as
single quotes too (U+2018, U+2019, U+201A, U+201B), so every one of the five is doubled; a doubled quote
stands for one quote character. Everything else, newlines, `#`, `<#` and here-string markers included, is
plain content inside such a literal.

Template authors mark the code they build themselves with `Code`; anything else is a value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath
from typing import Any

from orchestrator.model import Secret

# ASCII apostrophe plus the typographic single quotes PowerShell's tokenizer also ends a verbatim string on.
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_QUOTE_RE = re.compile(f"([{SINGLE_QUOTES}])")
# C0 controls other than TAB, LF and CR, and lone surrogates (not encodable as UTF-8) have no place in a script.
_UNREPRESENTABLE_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# Either of the above: text holding none of them is quoted as it is (nearly every value).
_SPECIAL_RE = re.compile("[" + SINGLE_QUOTES + "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class LiteralError(ValueError):
    """A value that cannot be written as a PowerShell literal (a NUL byte, a secret, an object...)."""


class Code(str):
    """PowerShell source a template (or this package) built itself: emitted as is, never quoted.

    Only template authors create it, explicitly; inventory values are never `Code`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Code({str.__repr__(self)})"


def quote(text: str) -> str:
    """A single-quoted PowerShell literal whose value is exactly `text`."""
    if _SPECIAL_RE.search(text) is None:
        return "'" + text + "'"
    bad = _UNREPRESENTABLE_RE.search(text)
    if bad:
        char = bad.group()
        raise LiteralError(
            f"the text {_preview(text)} contains the character U+{ord(char):04X} at position {bad.start()}, "
            "which a PowerShell script cannot carry; remove it from the inventory value"
        )
    return "'" + _QUOTE_RE.sub(r"\1\1", text) + "'"


def literal(value: Any) -> str:
    """The PowerShell source for `value`: strings quoted, integers as digits (sizes are bytes), booleans as
    $true/$false, None as $null, lists as @(...), maps as @{...} with quoted keys. Raises LiteralError for
    anything else, a secret above all (a password never appears in a script)."""
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, Secret):
        raise LiteralError("a secret (password) can never be written into a script")
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise LiteralError(f"the integer {value} does not fit PowerShell's 64-bit integers")
        return f"({value})" if value < 0 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LiteralError(f"the number {value} has no PowerShell literal")
        text = repr(value)
        return f"({text})" if value < 0 else text
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, PurePath):
        return quote(str(value))
    if isinstance(value, Mapping):
        entries = "; ".join(f"{_key(k)} = {literal(v)}" for k, v in value.items())
        return "@{" + entries + "}"
    if isinstance(value, list | tuple):
        return _array(list(value))
    if isinstance(value, Set):
        try:
            ordered = sorted(value)
        except TypeError as exc:
            raise LiteralError("a set of mixed values has no stable order; pass a list") from exc
        return _array(ordered)
    raise LiteralError(
        f"a {type(value).__name__} cannot be written as a PowerShell literal; "
        "pass one of its fields (a string, a number, a list or a map)"
    )


_NONZERO_DIGITS = str.maketrans("123456789", "111111111")


def literal_shape(value: Any) -> str:
    """What the tokenizer sees of `literal(value)`, without the data: the same literal with every string
    emptied (`''`) and every digit 1-9 written as 1 (sign, zeros, length, dot and exponent kept); $null,
    $true, $false, and the @(...) / @{...} structure unchanged.

    Two values with the same shape have literals that tokenize alike wherever either stands as a whole
    expression: a string literal is one token whatever its text (quotes doubled), and digits are
    interchangeable in a number token. Call it only on a value `literal` accepted and that holds no Code
    (see `contains_code`).
    """
    if value is None or isinstance(value, bool | int | float):
        return literal(value).translate(_NONZERO_DIGITS)
    if isinstance(value, str | PurePath):
        return "''"
    if isinstance(value, Mapping):
        return "@{" + "; ".join(f"{literal_shape(k)} = {literal_shape(v)}" for k, v in value.items()) + "}"
    items = sorted(value) if isinstance(value, Set) else list(value)
    if len(items) == 1 and isinstance(items[0], list | tuple | Set):
        return "@(," + literal_shape(items[0]) + ")"
    return "@(" + ", ".join(literal_shape(item) for item in items) + ")"


def contains_code(value: Any) -> bool:
    """True when `literal(value)` would carry Code as is (a list or map holding Code): not a pure literal."""
    if isinstance(value, Code):
        return True
    if isinstance(value, str | int | float | PurePath) or value is None:
        return False
    if isinstance(value, Mapping):
        return any(contains_code(k) or contains_code(v) for k, v in value.items())
    if isinstance(value, list | tuple | Set):
        return any(contains_code(item) for item in value)
    return False


def _array(items: list[Any]) -> str:
    if len(items) == 1 and isinstance(items[0], list | tuple | Set):
        # @(@(1, 2)) would flatten to @(1, 2): the unary comma keeps the inner array as one element.
        return "@(," + literal(items[0]) + ")"
    return "@(" + ", ".join(literal(item) for item in items) + ")"


def _key(key: Any) -> str:
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise LiteralError(f"a map key must be a string or an integer, not {type(key).__name__}")
    return literal(key)


def _preview(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[:limit] + "..."
    return repr(shown)


def unquote(source: str) -> str:
    """The value of one single-quoted literal, decoded by PowerShell's rules (the inverse of `quote`).

    Raises LiteralError when `source` is not exactly one such literal, for example when an undoubled quote
    (typographic or not) would end the string early. Tests use this to read back what a script says.
    """
    if len(source) < 2 or source[0] not in SINGLE_QUOTES or source[-1] not in SINGLE_QUOTES:
        raise LiteralError(f"not a single-quoted literal: {_preview(source)}")
    out: list[str] = []
    i, end = 1, len(source) - 1
    while i < end:
        char = source[i]
        if char in SINGLE_QUOTES:
            if i + 1 < end and source[i + 1] in SINGLE_QUOTES:
                out.append(source[i + 1])  # a doubled quote stands for the second character
                i += 2
                continue
            raise LiteralError(f"an undoubled quote at offset {i} ends the literal early: {_preview(source)}")
        out.append(char)
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class CommandCall:
    """One command invocation in a script: its name, the parameter names it binds, and its 1-based line."""

    name: str
    parameters: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    line: int
    column: int
    text: str


@cache
def _language() -> Any:
    import tree_sitter
    import tree_sitter_pwsh

    return tree_sitter.Language(tree_sitter_pwsh.language())


def _parser() -> Any:
    import tree_sitter

    return tree_sitter.Parser(_language())


@cache
def _command_query() -> Any:
    """Finds every `command` node in C: walking the whole tree in Python cost more than parsing it."""
    import tree_sitter

    return tree_sitter.Query(_language(), "(command) @command")


def parse(script: str) -> Any:
    """The tree-sitter-pwsh tree of a script (the same grammar the simulator uses)."""
    return _parser().parse(script.encode("utf-8"))


def syntax_problems(tree: Any) -> list[SyntaxProblem]:
    """Every ERROR or MISSING node, in source order."""
    problems: list[SyntaxProblem] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            text = node.text.decode("utf-8", "replace")[:60] if node.text else node.type
            problems.append(SyntaxProblem(node.start_point[0] + 1, node.start_point[1] + 1, text))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return sorted(problems, key=lambda p: (p.line, p.column))


def command_calls(tree: Any) -> list[CommandCall]:
    """Every command with a literal name (`Get-VM ...`), with the parameters it names (`-Name` -> 'Name')."""
    import tree_sitter

    calls: list[CommandCall] = []
    found = tree_sitter.QueryCursor(_command_query()).captures(tree.root_node).get("command", [])
    # Source order, an enclosing command before the ones inside it (the order of a depth-first walk).
    for node in sorted(found, key=lambda n: (n.start_byte, -n.end_byte)):
        name_node = next((c for c in node.children if c.type == "command_name"), None)
        if name_node is None:
            continue
        params: list[str] = []
        for elements in (c for c in node.children if c.type == "command_elements"):
            for element in elements.children:
                if element.type == "command_parameter":
                    params.append(element.text.decode("utf-8").lstrip("-\u2013\u2014\u2015").rstrip(":"))
        calls.append(CommandCall(name_node.text.decode("utf-8"), tuple(params), node.start_point[0] + 1))
    return sorted(calls, key=lambda c: c.line)
