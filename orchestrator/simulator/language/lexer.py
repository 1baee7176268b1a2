"""PowerShell's own quoting rules, applied before tree-sitter sees the text.

tree-sitter-pwsh knows only ASCII quotes, but PowerShell also takes U+2018..U+201B as single quotes,
U+201C..U+201E as double quotes and U+2013..U+2015 as dashes. A string that PowerShell ends at a typographic
quote would look longer to tree-sitter, which could hide code from the simulator that a real host runs.
`normalize` finds the string boundaries the way PowerShell's tokenizer does and rewrites every such
delimiter (and each doubled quote inside) to its ASCII twin. Every replaced character is in the BMP, so the
text keeps its length in UTF-16 code units and tree-sitter's offsets stay valid for the original text.
"""

from __future__ import annotations

import re

_PARAM_ON_LINE = re.compile(r"\{\s*(param)\s*\(", re.IGNORECASE)
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e')
DASHES = frozenset("\u2013\u2014\u2015")


def normalize(text: str) -> str:
    """The same text with PowerShell's quote and dash variants turned into ASCII where they delimit."""
    if text.isascii() and "\0" not in text and _no_param_newline(text):
        return text
    out = list(text)
    _scan(text, out, 0, len(text), nested=False)
    return "".join(out)


def _no_param_newline(text: str) -> bool:
    """True when the full scan would leave this ASCII, NUL-free text as it is.

    On such text the scan rewrites nothing but the blank after a `param(...)` that more code follows on the
    same line (`_param_block`). Every place the scan treats as a param block matches `_PARAM_ON_LINE` (its
    `{`, blanks, `param`, blanks, `(` are a subset of the pattern), and matches cannot overlap; so running
    `_param_block` at each match, on a scratch copy, finds every rewrite the scan could make. A match the scan
    would not take (inside a string or a comment) can only make this answer False, and then the caller runs
    the full scan: the fast path never changes the result, it only skips a Python loop over every character
    (about 6 ms for a 27 KB apply script)."""
    matches = list(_PARAM_ON_LINE.finditer(text))
    if not matches:
        return True
    scratch = list(text)
    for match in matches:
        _param_block(text, scratch, match.start(1) + 5, len(text))
    return "".join(scratch) == text


def _scan(text: str, out: list[str], i: int, end: int, *, nested: bool) -> int:
    """Scan code from i; in a `$(...)` inside a string (nested) stop at the matching ')'. Returns the end."""
    depth = 0
    n = end
    while i < n:
        c = text[i]
        if c == "`":
            i += 2
            continue
        if c == "#":
            while i < n and text[i] not in "\r\n":
                i += 1
            continue
        if c == "<" and text.startswith("<#", i):
            close = text.find("#>", i + 2)
            i = n if close < 0 else close + 2
            continue
        if c == "@" and i + 1 < n and (text[i + 1] in SINGLE_QUOTES or text[i + 1] in DOUBLE_QUOTES):
            nl = i + 2
            while nl < n and text[nl] in " \t":
                nl += 1
            if nl < n and text[nl] in "\r\n":
                i = _here_string(text, out, i, n)
                continue
        if c in SINGLE_QUOTES:
            i = _single(text, out, i, n)
            continue
        if c in DOUBLE_QUOTES:
            i = _double(text, out, i, n)
            continue
        if c in "pP" and text[i:i + 5].lower() == "param" and _after_brace(text, i):
            i = _param_block(text, out, i + 5, n)
            continue
        if c in DASHES:
            out[i] = "-"
        elif nested:
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    return i
                depth -= 1
        i += 1
    return i


def _after_brace(text: str, i: int) -> bool:
    """`param` opens a script block's body: the previous non-blank character is its `{`."""
    if i + 5 < len(text) and (text[i + 5].isalnum() or text[i + 5] in "_-"):
        return False
    j = i - 1
    while j >= 0 and text[j] in " \t\r\n":
        j -= 1
    return j >= 0 and text[j] == "{"


def _param_block(text: str, out: list[str], i: int, n: int) -> int:
    """Skip `param(...)`; when more code follows on the same line, make the blank after `)` a newline.

    PowerShell allows `function F { param($a) $a }`; tree-sitter-pwsh wants the body on a new line. The
    swap keeps every offset, and the parser takes line numbers from the original text.
    """
    j = i
    while j < n and text[j] in " \t":
        j += 1
    if j >= n or text[j] != "(":
        return i
    depth = 0
    while j < n:
        c = text[j]
        if c == "`":
            j += 2
            continue
        if c in SINGLE_QUOTES:
            j = _single(text, out, j, n)
            continue
        if c in DOUBLE_QUOTES:
            j = _double(text, out, j, n)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                j += 1
                break
        j += 1
    if j < n and text[j] in " \t":
        k = j
        while k < n and text[k] in " \t":
            k += 1
        if k < n and text[k] not in "\r\n#}":
            out[j] = "\n"
    return j


def _single(text: str, out: list[str], i: int, n: int) -> int:
    out[i] = "'"
    i += 1
    while i < n:
        c = text[i]
        if c == "\0":
            out[i] = " "  # tree-sitter stops at NUL; PowerShell keeps it as a character of the string
        elif c in SINGLE_QUOTES:
            if i + 1 < n and text[i + 1] in SINGLE_QUOTES:
                out[i] = out[i + 1] = "'"
                i += 2
                continue
            out[i] = "'"
            return i + 1
        i += 1
    return i


def _double(text: str, out: list[str], i: int, n: int) -> int:
    out[i] = '"'
    i += 1
    while i < n:
        c = text[i]
        if c == "\0":
            out[i] = " "
        if c == "`":
            i += 2
            continue
        if c == "$" and i + 1 < n and text[i + 1] == "(":
            i = _scan(text, out, i + 2, n, nested=True) + 1
            continue
        if c in DOUBLE_QUOTES:
            if i + 1 < n and text[i + 1] in DOUBLE_QUOTES:
                out[i] = out[i + 1] = '"'
                i += 2
                continue
            out[i] = '"'
            return i + 1
        i += 1
    return i


def _here_string(text: str, out: list[str], i: int, n: int) -> int:
    single = text[i + 1] in SINGLE_QUOTES
    out[i + 1] = "'" if single else '"'
    quotes = SINGLE_QUOTES if single else DOUBLE_QUOTES
    j = i + 2
    while j < n:
        if text[j] in "\r\n":
            k = j + 1
            if text[j] == "\r" and k < n and text[k] == "\n":
                k += 1
            if k + 1 < n and text[k] in quotes and text[k + 1] == "@":
                out[k] = "'" if single else '"'
                return k + 2
            j = k
            continue
        j += 1
    return n


def decode_verbatim(body: str) -> str:
    """The value of a single-quoted string's body: a doubled quote of any of the five kinds is one character."""
    if "'" not in body and body.isascii():
        return body
    chars: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c in SINGLE_QUOTES and i + 1 < n and body[i + 1] in SINGLE_QUOTES:
            chars.append(body[i + 1])
            i += 2
            continue
        chars.append(c)
        i += 1
    return "".join(chars)


# The backtick escapes of Windows PowerShell, case-sensitive (about_Special_Characters, 3.0: `0 `a `b `f `n `r `t
# `v). `e (ESC) and `u{...} came with PowerShell 6: here `e is an e, as on a 2012 host (audit M L4).
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def decode_expandable_text(body: str) -> str:
    """A literal run of a double-quoted string: backtick escapes, and a doubled double quote is one."""
    if "`" not in body and '"' not in body and body.isascii():
        return body
    chars: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == "`" and i + 1 < n:
            nxt = body[i + 1]
            chars.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if c in DOUBLE_QUOTES and i + 1 < n and body[i + 1] in DOUBLE_QUOTES:
            chars.append(body[i + 1])
            i += 2
            continue
        chars.append(c)
        i += 1
    return "".join(chars)
