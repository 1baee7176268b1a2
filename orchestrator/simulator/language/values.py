"""PowerShell values as Python objects, and PowerShell's conversion and comparison rules over them.

Plain Python types carry the common cases (None, bool, int, float, str, list for object[], bytes for byte[],
datetime for DateTime). The classes here cover what has no Python twin: case-insensitive hashtables,
[pscustomobject] / typed objects with ordered properties, enums that compare by name and serialize as numbers,
script blocks and error records, and strings or numbers that carry note properties (what a job hands back).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.simulator.language.errors import ScriptError


class PSRuntimeError(ScriptError):
    """A terminating error raised while running: carries the error record a `catch` block sees as $_."""

    def __init__(self, message: str, error_id: str = "RuntimeException", category: str = "NotSpecified",
                 target: Any = None, line: int | None = None, command: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category
        self.target = target
        self.line = line
        self.command = command
        self.thrown: Any = None  # the value given to `throw`, when it was not a string

    def record(self) -> ErrorRecord:
        """The error as $_ and $Error hold it. The Python traceback goes: a record outlives the frames it
        names (in $Error), and those frames hold the interpreter that holds $Error, a cycle that only the
        cyclic garbage collector would free, after every run (a re-raise starts a traceback of its own)."""
        self.__traceback__ = None
        return ErrorRecord(self)


class PSHashtable:
    """@{} / [ordered]@{}: keys compare case-insensitively when they are strings, insertion order is kept."""

    __slots__ = ("_data", "_keys", "ordered")

    def __init__(self, items: Iterable[tuple[Any, Any]] = (), ordered: bool = False) -> None:
        self._data: dict[Any, Any] = {}
        self._keys: dict[Any, Any] = {}
        self.ordered = ordered
        for k, v in items:
            self[k] = v

    @staticmethod
    def _norm(key: Any) -> Any:
        return key.lower() if isinstance(key, str) else key

    def __setitem__(self, key: Any, value: Any) -> None:
        n = key.lower() if isinstance(key, str) else key
        if n not in self._keys:
            self._keys[n] = key
        self._data[n] = value

    def __getitem__(self, key: Any) -> Any:
        return self._data[key.lower() if isinstance(key, str) else key]

    def get(self, key: Any, default: Any = None) -> Any:
        return self._data.get(key.lower() if isinstance(key, str) else key, default)

    def __contains__(self, key: Any) -> bool:
        return (key.lower() if isinstance(key, str) else key) in self._data

    def remove(self, key: Any) -> None:
        n = self._norm(key)
        self._data.pop(n, None)
        self._keys.pop(n, None)

    def keys(self) -> list[Any]:
        return list(self._keys.values())

    def values(self) -> list[Any]:
        return list(self._data.values())

    def items(self) -> Iterator[tuple[Any, Any]]:
        # Both dicts gain and lose a key together (__setitem__, remove), so their orders are the same.
        return zip(self._keys.values(), self._data.values(), strict=True)

    def __len__(self) -> int:
        return len(self._data)

    @classmethod
    def from_unique_strings(cls, items: Iterable[tuple[str, Any]]) -> PSHashtable:
        """A table from keys already known to differ case-insensitively (no per-key checks)."""
        table = cls()
        for key, value in items:
            lowered = key.lower()
            table._keys[lowered] = key
            table._data[lowered] = value
        return table

    def copy(self) -> PSHashtable:
        clone = PSHashtable((), self.ordered)
        clone._data = dict(self._data)
        clone._keys = dict(self._keys)
        return clone

    @property
    def type_name(self) -> str:
        return "System.Collections.Specialized.OrderedDictionary" if self.ordered else "System.Collections.Hashtable"


class PSObject:
    """A [pscustomobject] or a typed object a cmdlet returns (a VM, a checkpoint...), with ordered properties.

    `ref` lets a host cmdlet find the model object again when the PSObject comes back through the pipeline;
    `text` is what ToString() gives for typed objects.
    """

    __slots__ = ("_lower", "props", "ref", "text", "type_name")

    def __init__(self, props: dict[str, Any] | None = None, type_name: str = "System.Management.Automation.PSCustomObject",
                 ref: Any = None, text: str | None = None) -> None:
        self.props: dict[str, Any] = props if props is not None else {}
        self._lower: dict[str, str] | None = None  # built on the first lookup whose case differs
        self.type_name = type_name
        self.ref = ref
        self.text = text

    def _key(self, name: str) -> str | None:
        if name in self.props:
            return name
        if self._lower is None:
            self._lower = {k.lower(): k for k in self.props}
        return self._lower.get(name.lower())

    def has(self, name: str) -> bool:
        return self._key(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        key = self._key(name)
        return self.props[key] if key is not None else default

    def set(self, name: str, value: Any) -> None:
        key = self._key(name)
        if key is None:
            raise PSRuntimeError(f"The property '{name}' cannot be found on this object. Verify that the property "
                                 "exists and can be set.", "PropertyAssignmentException", "InvalidOperation")
        self.props[key] = value

    def add(self, name: str, value: Any) -> None:
        self.props[name] = value
        if self._lower is not None:
            self._lower[name.lower()] = name

    def is_a(self, short: str) -> bool:
        """Whether this is a live object of the type named `short` (a `Deserialized.` snapshot of one is not:
        language/serialization.py)."""
        return not self.type_name.startswith("Deserialized.") and self.type_name.lower().rsplit(".", 1)[-1] == short.lower()


class PSEnum:
    """An enum value (VMState, ...): compares to strings by name, serializes as its number like 5.1 does."""

    __slots__ = ("name", "type_name", "value")

    def __init__(self, type_name: str, name: str, value: int) -> None:
        self.type_name = type_name
        self.name = name
        self.value = value

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{self.type_name}.{self.name}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PSEnum):
            return self.value == other.value and self.type_name == other.type_name
        if isinstance(other, str):
            return other.lower() == self.name.lower()
        if isinstance(other, int) and not isinstance(other, bool):
            return other == self.value
        return False

    def __hash__(self) -> int:
        return hash((self.type_name, self.value))


class Guid(str):
    """A System.Guid: a string to Python and to ConvertTo-Json, with its own type name."""

    __slots__ = ()
    type_name = "System.Guid"


class Noted:
    """A string or number with ETS note properties attached, as Receive-Job returns every output object (with
    PSComputerName, RunspaceId and PSShowComputerName). It is still the value to every operator and comparison;
    a cast to its own type ([string], [int]) gives the bare value without the notes, as PowerShell's conversion
    returns the base object and not its PSObject wrapper. Only ConvertTo-Json shows the difference
    (orchestrator.simulator.json_out; PowerShell/PowerShell#5797, fixed only in PowerShell 7.2)."""

    notes: dict[str, Any]


class NotedString(str, Noted):
    """A [string] with note properties (str subclasses cannot have __slots__ with fields)."""


class NotedInt(int, Noted):
    """An [int]/[long] with note properties."""


class NotedFloat(float, Noted):
    """A [double] with note properties."""


class NotedDateTime(datetime, Noted):
    """A [DateTime] with note properties (what Get-Date returns: PowerShell/PowerShell#5676). What is computed
    from it is a bare DateTime, as .NET's methods return the base value and not its PSObject wrapper
    (AddDays, ToUniversalTime, a subtraction); Python would keep the subclass, so those are overridden."""

    def plain(self) -> datetime:
        return datetime(self.year, self.month, self.day, self.hour, self.minute, self.second, self.microsecond,
                        self.tzinfo, fold=self.fold)

    def __add__(self, other: Any) -> Any:
        return self.plain() + other

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return self.plain() - (other.plain() if isinstance(other, NotedDateTime) else other)

    def __rsub__(self, other: Any) -> Any:
        return other - self.plain()

    def replace(self, *args: Any, **kwargs: Any) -> datetime:  # type: ignore[override]
        return self.plain().replace(*args, **kwargs)

    def astimezone(self, tz: Any = None) -> datetime:
        return self.plain().astimezone(tz)


def noted_date(value: datetime, notes: dict[str, Any]) -> NotedDateTime:
    """`value` as a NotedDateTime carrying `notes` (kept apart from with_notes, which refuses a DateTime so that
    a job's DateTime output stays refused: host/cmdlets_general._job_output)."""
    base = value.plain() if isinstance(value, NotedDateTime) else value
    noted = NotedDateTime(base.year, base.month, base.day, base.hour, base.minute, base.second, base.microsecond,
                          base.tzinfo, fold=base.fold)
    noted.notes = dict(notes)
    return noted


def with_notes(value: Any, notes: dict[str, Any]) -> Any:
    """`value` carrying `notes`; a PSObject gets them as properties, other values as a Noted twin.

    Raises TypeError for values the simulator cannot decorate (a bool, a hashtable...), so a caller can refuse
    instead of silently dropping members a real host would add."""
    if isinstance(value, PSObject):
        return PSObject({**value.props, **notes}, value.type_name, ref=value.ref, text=value.text)
    if isinstance(value, str):  # a System.Guid too: it becomes its string, the one approximation here
        noted: Any = NotedString(str.__str__(value))
    elif type(value) is int:
        noted = NotedInt(value)
    elif type(value) is float:
        noted = NotedFloat(value)
    else:
        raise TypeError(type_name_of(value))
    noted.notes = dict(notes)
    return noted


def bare(value: Any) -> Any:
    """The value without note properties (what a cast to its own type gives)."""
    if isinstance(value, NotedString):
        return str.__str__(value)
    if isinstance(value, NotedInt):
        return int(value)
    if isinstance(value, NotedFloat):
        return float(value)
    if isinstance(value, NotedDateTime):
        return value.plain()
    return value


class ScriptBlock:
    """A { } block: its parameter list, its statements and its source text (what ToString() returns)."""

    __slots__ = ("node", "text")

    def __init__(self, node: Any, text: str) -> None:
        self.node = node
        self.text = text


class ErrorRecord:
    """What $_ holds in a catch block and what $Error collects."""

    __slots__ = ("error",)

    def __init__(self, error: PSRuntimeError) -> None:
        self.error = error

    @property
    def message(self) -> str:
        return self.error.message


class PSList(list):
    """A System.Collections.ArrayList / List[object]: unlike @() arrays, it can grow with .Add()."""

    __slots__ = ()


NULL_LIKE = (None,)


def is_collection(value: Any) -> bool:
    return isinstance(value, list)


def enumerate_value(value: Any) -> list[Any]:
    """What a pipeline sees: collections unroll one level; $null sends nothing through."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def collect(items: list[Any]) -> Any:
    """Pipeline output as a value: nothing -> $null, one -> the item, more -> an object[] array."""
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return list(items)


def truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        if not value:
            return False
        if len(value) == 1:
            return truthy(value[0]) if not isinstance(value[0], list) else len(value[0]) > 0
        return True
    if isinstance(value, PSEnum):
        return value.value != 0
    return True


def format_number(value: int | float) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mant}E{sign}{exp.lstrip('+-').zfill(2)}"
    return text


def _double_text(value: float) -> str:
    """[string] of a double on .NET Framework: Double.ToString() is the "G" format, 15 significant digits
    (shortest round-trip text came with .NET Core 3.0: dotnet/coreclr#22040), so 0.1 + 0.2 reads 0.3 there.
    ConvertTo-Json writes doubles round-trip instead (format_number)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15G")


def to_string(value: Any) -> str:
    """PowerShell's conversion to [string] (invariant culture, as string expansion uses)."""
    if type(value) is str:  # the usual case, first (a NotedString is a str subclass: below)
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        # A System.Guid (values.Guid) becomes a plain string: no longer a Guid to `-is` or a method call.
        return bare(value) if isinstance(value, NotedString) else str(value)
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return _double_text(value)
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, list):
        return " ".join(to_string(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, PSEnum):
        return value.name
    if isinstance(value, PSHashtable):
        return value.type_name
    if isinstance(value, PSObject):
        if value.text is not None:
            return value.text
        if value.type_name == "System.Management.Automation.PSCustomObject":
            inner = "; ".join(f"{k}={to_string(v)}" for k, v in value.props.items())
            return "@{" + inner + "}"
        return value.type_name
    if isinstance(value, ScriptBlock):
        return value.text
    if isinstance(value, ErrorRecord):
        return value.message
    if isinstance(value, bytes):
        return " ".join(str(b) for b in value)
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


_TRUE_STRINGS = {"true"}


def to_number(value: Any, *, what: str = "System.Int32") -> int | float:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return bare(value) if isinstance(value, Noted) else value
    if isinstance(value, PSEnum):
        return value.value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        m = re.fullmatch(r"([+-]?(?:0x[0-9a-f]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?))(kb|mb|gb|tb|pb)?", text, re.I)
        if m:
            num = m.group(1)
            mult = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}.get((m.group(2) or "").lower(), 1)
            if num.lower().lstrip("+-").startswith("0x"):
                result: int | float = int(num, 16)
            elif any(c in num for c in ".eE"):
                result = float(num)
            else:
                result = int(num)
            result = result * mult
            if isinstance(result, float) and result.is_integer() and what != "System.Double":
                return int(result)
            return result
    if isinstance(value, list) and len(value) == 1:
        return to_number(value[0], what=what)
    raise PSRuntimeError(f'Cannot convert value "{to_string(value)}" to type "{what}". Error: "Input string was '
                         'not in a correct format."', "InvalidCastFromStringToInteger", "InvalidArgument")


def to_int(value: Any, what: str = "System.Int32") -> int:
    number = to_number(value, what=what)
    if isinstance(number, float):
        # PowerShell rounds to even when converting doubles to integers.
        return round(number)
    return number


def to_bool(value: Any) -> bool:
    return truthy(value)


def to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return bare(value)  # a [datetime] cast gives the base value, without Get-Date's notes
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%H:%M", "%I:%M %p", "%I%p", "%I:%M%p"):
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise PSRuntimeError(f'Cannot convert value "{text}" to type "System.DateTime". Error: "String was '
                                     'not recognized as a valid DateTime."', "InvalidCastParseTargetInvocation",
                                     "InvalidArgument") from None
            if parsed.year == 1900:
                today = datetime.now(UTC)
                parsed = parsed.replace(year=today.year, month=today.month, day=today.day)
        return parsed
    raise PSRuntimeError(f'Cannot convert value "{to_string(value)}" to type "System.DateTime".',
                         "InvalidCastParseTargetInvocation", "InvalidArgument")


# -- comparison ----------------------------------------------------------------------------------------------


def _coerce_like(left: Any, right: Any) -> Any:
    """Right converted to the left operand's type, as PowerShell's comparison operators do."""
    if isinstance(left, bool):
        return truthy(right)
    if isinstance(left, (int, float)):
        try:
            return to_number(right)
        except PSRuntimeError:
            return _NOPE
    if isinstance(left, str):
        return to_string(right)
    if isinstance(left, datetime):
        try:
            return to_datetime(right)
        except PSRuntimeError:
            return _NOPE
    return right


_NOPE = object()


def equals(left: Any, right: Any, case: bool = False) -> bool:
    if left is None:
        return right is None
    if right is None:
        return False
    if isinstance(left, PSEnum):
        if isinstance(right, str):
            return left.name.lower() == right.lower() if not case else left.name == right
        return left == right
    r = _coerce_like(left, right)
    if r is _NOPE:
        return False
    if isinstance(left, str):
        return left == r if case else left.lower() == r.lower()
    if isinstance(left, (PSObject, PSHashtable, list)):
        return left is right
    return bool(left == r)


def compare(left: Any, right: Any, case: bool = False) -> int:
    """-1 / 0 / 1 the way -lt/-gt order values (strings case-insensitively)."""
    if isinstance(left, PSEnum):
        left = left.value
        if isinstance(right, PSEnum):
            right = right.value
    if left is None:
        return 0 if right is None else -1
    r = _coerce_like(left, right)
    if r is _NOPE or r is None:
        raise PSRuntimeError(f'Cannot compare "{to_string(left)}" to "{to_string(right)}".', "ComparisonFailure",
                             "InvalidOperation")
    if isinstance(left, str) and not case:
        a, b = left.lower(), r.lower()
    else:
        a, b = left, r
    try:
        return (a > b) - (a < b)
    except TypeError as exc:
        raise PSRuntimeError(f'Cannot compare "{to_string(left)}" because it is not IComparable.',
                             "NotIcomparable", "InvalidOperation") from exc


_LIKE_CACHE: dict[tuple[str, bool], re.Pattern[str]] = {}
# Patterns are mostly the templates' own, but one built from a host's values is new on every host of a dry
# run: past this many entries each memo stops growing (bounded memory; the answers are computed as before).
_PATTERN_MEMO_MAX = 4096
_STAR_INNER: dict[str, str | None] = {}  # a wildcard pattern -> its lower-cased text when it is '*text*'


def _star_inner(pat: str) -> str | None:
    """The lower-cased text of a '*text*' pattern whose text is ASCII and holds no wildcard, else None."""
    found = _STAR_INNER.get(pat, _STAR_UNSEEN)
    if found is _STAR_UNSEEN:
        inner = pat[1:-1]
        qualifies = len(pat) > 2 and pat[0] == "*" and pat[-1] == "*" and inner.isascii() \
            and not any(ch in inner for ch in "*?[`")
        found = inner.lower() if qualifies else None
        if len(_STAR_INNER) < _PATTERN_MEMO_MAX:
            _STAR_INNER[pat] = found
    return found  # type: ignore[return-value]


_STAR_UNSEEN = object()


def like(value: Any, pattern: Any, case: bool = False) -> bool:
    pat = to_string(pattern)
    if "*" not in pat and "?" not in pat and "[" not in pat and "`" not in pat:
        text = to_string(value)
        return text == pat if case else text.lower() == pat.lower()
    if not case:
        # '*text*' (the facts' Data Exchange filter, on long XML items): the answer of the regex below, found
        # as a substring. Only for ASCII on both sides, where lower() folds exactly as re.IGNORECASE does.
        inner = _star_inner(pat)
        if inner is not None:
            text = to_string(value)
            if text.isascii():
                return inner in text.lower()
    key = (pat, case)
    rx = _LIKE_CACHE.get(key)
    if rx is None:
        translated = fnmatch.translate(pat.replace("`*", "[*]").replace("`?", "[?]"))
        rx = re.compile(translated, 0 if case else re.IGNORECASE | re.DOTALL)
        if len(_LIKE_CACHE) < _PATTERN_MEMO_MAX:
            _LIKE_CACHE[key] = rx
    return rx.match(to_string(value)) is not None


def type_name_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if -(2**31) <= value < 2**31 else "System.Int64"
    if isinstance(value, float):
        return "System.Double"
    if isinstance(value, Guid):
        return "System.Guid"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, PSList):
        return "System.Collections.ArrayList"
    if isinstance(value, list):
        return "System.Object[]"
    if isinstance(value, bytes):
        return "System.Byte[]"
    if isinstance(value, datetime):
        return "System.DateTime"
    if isinstance(value, timedelta):
        return "System.TimeSpan"
    if isinstance(value, (PSHashtable, PSObject, PSEnum)):
        return value.type_name
    if isinstance(value, ScriptBlock):
        return "System.Management.Automation.ScriptBlock"
    if isinstance(value, ErrorRecord):
        return "System.Management.Automation.ErrorRecord"
    return type(value).__name__


def utc_iso(value: datetime) -> str:
    """DateTime.ToString('o'): seven fraction digits, 'Z' for UTC, the offset for local times.

    .NET's round-trip pattern is "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK" (Standard date and time format
    strings, the "O" specifier): a four-digit year always. Formatted by hand: `datetime.strftime` takes about
    twice as long (it rescans the format for %z, %Z and %f and goes through the C library), and glibc's %Y
    pads no year below 1000."""
    base = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond:06d}0"
    )
    if value.tzinfo is None:
        return base
    offset = value.utcoffset()
    if not offset:
        return base + "Z"
    total = int(offset.total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{base}{sign}{total // 60:02d}:{total % 60:02d}"
