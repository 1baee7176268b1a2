"""ConvertTo-Json as Windows PowerShell 5.1 writes it (JavaScriptSerializer underneath), and ConvertFrom-Json.

What 5.1 does and this copies: enums as their numbers, DateTime as "\\/Date(ms)\\/", <, >, ' and & escaped
as \\u003c \\u003e \\u0027 \\u0026, anything deeper than -Depth (default 2) replaced by its ToString(), and the
odd pretty layout that indents a nested value from the column where it starts. Known difference: a plain
@{} hashtable keeps insertion order here, where .NET would use hash order.

A string or number with note properties (what Receive-Job returns: values.Noted) is written as an object,
{"value": ..., "PSComputerName": ..., "RunspaceId": ..., "PSShowComputerName": ...}: Windows PowerShell up to
5.1 serialises a primitive's ETS properties beside a "value" pseudo-property (PowerShell/PowerShell#5797; the
exact shape for remoting output in guitarrapc/valentia#12), fixed only in PowerShell 7.2 (PowerShell#15665),
which no 2012 or 2012 R2 host runs. A cast ([string]$x) drops the notes, as on Windows.

An array that reaches ConvertTo-Json through the pipeline as one object (`,@(2,3) | ConvertTo-Json`, or an
array inside a piped array) is written as {"value": [...], "Count": n} (PipedArray): Windows PowerShell's type
data gives System.Array a Count alias property (PowerShell/PowerShell#3222), and ConvertTo-Json writes the
extended properties of a pipeline object (one wrapped in a PSObject) beside its value: `@(1,@(2,3),4) |
ConvertTo-Json -Compress` gives [1,{"value":[2,3],"Count":2},4] on 5.1 (PowerShell/PowerShell#5579). The
same array given to -InputObject, or as a hashtable's value, is no pipeline object and is written as an
array (ConvertToJsonCommand.AddPsProperties adds nothing to an object without its PSObject, #3222's
`ConvertTo-Json (,1)`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from orchestrator.simulator.language.values import (
    ErrorRecord,
    Guid,
    Noted,
    PSEnum,
    PSHashtable,
    PSObject,
    ScriptBlock,
    bare,
    format_number,
    to_string,
)

_PLAIN = re.compile(r'[^"\\\x00-\x1f<>\'&\x7f\u2028\u2029]*')


_QUOTED: dict[str, str] = {}
_QUOTED_MAX = 16384  # entries; when full the memo starts again (bounded memory, new hosts' GUIDs)


def quote(text: str) -> str:
    """A JSON string as JavaScriptSerializer writes it: json's escapes plus <, >, ' and & as \\uXXXX.

    Memoised: property names and most values (names, paths, states) repeat across objects and runs.
    """
    found = _QUOTED.get(text)
    if found is None:
        found = _quote(text)
        if len(_QUOTED) >= _QUOTED_MAX:
            _QUOTED.clear()
        _QUOTED[text] = found
    return found


def _quote(text: str) -> str:
    if _PLAIN.fullmatch(text):
        return '"' + text + '"'
    out = json.dumps(text, ensure_ascii=False)
    if "<" in out or ">" in out or "'" in out or "&" in out:
        out = out.replace("<", "\\u003c").replace(">", "\\u003e").replace("'", "\\u0027").replace("&", "\\u0026")
    return out


class PipedArray:
    """An array that came down the pipeline to ConvertTo-Json as one object: it carries its Count (module doc)."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items


def _net_to_string(value: Any) -> str:
    """What .NET ToString() gives when the depth limit turns a value into a string."""
    if isinstance(value, list):
        return "System.Object[]"
    if isinstance(value, PSHashtable):
        return value.type_name
    return to_string(value)


def _epoch_ms(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def _node(value: Any, level: int, depth: int) -> Any:
    """The value as a tree of ('obj', pairs) / ('arr', items) / ('lit', json text)."""
    if type(value) is str:
        return ("lit", quote(value))
    if value is None:
        return ("lit", "null")
    if isinstance(value, Noted):
        return ("obj", [("value", _node(bare(value), level + 1, depth))]
                + [(k, _node(v, level + 1, depth)) for k, v in value.notes.items()])
    if isinstance(value, bool):
        return ("lit", "true" if value else "false")
    if isinstance(value, PSEnum):
        return ("lit", str(value.value))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return ("lit", quote(format_number(value)))
        return ("lit", format_number(value) if isinstance(value, float) else str(value))
    if isinstance(value, (Guid, str)):
        return ("lit", quote(str(value)))
    if isinstance(value, datetime):
        return ("lit", f'"\\/Date({_epoch_ms(value)})\\/"')
    if isinstance(value, (ScriptBlock, ErrorRecord)):
        return ("lit", quote(to_string(value)))
    if isinstance(value, PipedArray):
        inner = _node(value.items, level, depth)
        if inner[0] != "arr":  # deeper than -Depth: its ToString() alone
            return inner
        return ("obj", [("value", inner), ("Count", ("lit", str(len(value.items))))])
    is_container = isinstance(value, (list, PSHashtable, PSObject, bytes))
    if is_container and level > depth:
        return ("lit", quote(_net_to_string(value)))
    if isinstance(value, bytes):
        return ("arr", [("lit", str(b)) for b in value])
    if isinstance(value, list):
        return ("arr", [_node(v, level + 1, depth) for v in value])
    if isinstance(value, PSHashtable):
        return ("obj", [(to_string(k), _node(v, level + 1, depth)) for k, v in value.items()])
    if isinstance(value, PSObject):
        return ("obj", [(k, _node(v, level + 1, depth)) for k, v in value.props.items() if not k.startswith("__")])
    return ("lit", quote(to_string(value)))


def _compact(node: Any) -> str:
    kind, body = node
    if kind == "lit":
        return body
    if kind == "arr":
        return "[" + ",".join(_compact(n) for n in body) + "]"
    return "{" + ",".join(f"{quote(k)}:{_compact(v)}" for k, v in body) + "}"


def _pretty(node: Any, col: int) -> str:
    kind, body = node
    if kind == "lit":
        return body
    pad = " " * (col + 4)
    if kind == "arr":
        if not body:
            return "[\r\n\r\n" + " " * col + "]"
        items = [pad + _pretty(n, col + 4) for n in body]
        return "[\r\n" + ",\r\n".join(items) + "\r\n" + " " * col + "]"
    if not body:
        return "{\r\n\r\n" + " " * col + "}"
    lines = []
    for key, child in body:
        prefix = f"{quote(key)}:  "
        lines.append(pad + prefix + _pretty(child, col + 4 + len(prefix)))
    return "{\r\n" + ",\r\n".join(lines) + "\r\n" + " " * col + "}"


def _direct(value: Any, level: int, depth: int) -> str:
    """-Compress output written straight to text: the same rules as _node, without the tree."""
    t = type(value)
    if t is str:
        return _QUOTED.get(value) or quote(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return str(value)
    if level <= depth:
        inner = level + 1
        if t is PSHashtable:
            return "{" + ",".join([(_QUOTED.get(k) or quote(k) if type(k) is str else quote(to_string(k))) + ":"
                                   + _direct(v, inner, depth) for k, v in value.items()]) + "}"
        if t is list:
            return "[" + ",".join([_direct(v, inner, depth) for v in value]) + "]"
        if t is PSObject:
            return "{" + ",".join([quote(k) + ":" + _direct(v, inner, depth) for k, v in value.props.items()
                                   if not k.startswith("__")]) + "}"
    return _compact(_node(value, level, depth))


def to_json(value: Any, depth: int = 2, compress: bool = False) -> str:
    if compress:
        return _direct(value, 0, depth)
    return _pretty(_node(value, 0, depth), 0)


def from_json(text: str) -> Any:
    """ConvertFrom-Json: objects become [pscustomobject]s, arrays stay arrays."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        from orchestrator.simulator.language.values import PSRuntimeError

        raise PSRuntimeError(f"Invalid JSON primitive: {text[:40]}. ({exc.msg})", "System.ArgumentException",
                             "NotSpecified") from exc
    return _to_ps(data)


def _to_ps(data: Any) -> Any:
    if isinstance(data, dict):
        return PSObject({k: _to_ps(v) for k, v in data.items()})
    if isinstance(data, list):
        return [_to_ps(v) for v in data]
    if isinstance(data, str) and data.startswith("/Date(") and data.endswith(")/"):
        try:
            return datetime.fromtimestamp(int(data[6:-2]) / 1000, UTC)
        except ValueError:
            return data
    return data
