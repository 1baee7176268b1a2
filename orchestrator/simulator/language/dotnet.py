"""The slice of .NET the templates reach: properties and methods of values, static members, and casts.

Everything here is a table from a name to a small function; an unknown member of a typed value, an unknown
method or an unknown type is an error that names it, like PowerShell's own "Method invocation failed".
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.simulator.language.netobject import NetObject
from orchestrator.simulator.language.time_members import datetime_member, timespan_member
from orchestrator.simulator.language.values import (
    ErrorRecord,
    Guid,
    PSEnum,
    PSHashtable,
    PSList,
    PSObject,
    PSRuntimeError,
    ScriptBlock,
    to_datetime,
    to_int,
    to_number,
    to_string,
    truthy,
    type_name_of,
    utc_iso,
)

# -- members ------------------------------------------------------------------------------------------------


# Objects whose every modelled member is a property the simulator gives them: any other member a script reads is
# one a real host has (FileInfo's LastWriteTime, Attributes, BaseName...: learn.microsoft.com/dotnet/api/
# system.io.fileinfo, Properties) but the simulator would read as $null, so `$_.LastWriteTime -lt $cutoff` would
# hold for every file. Refused instead (audit N L2); Count and Length stay PowerShell's intrinsic members.
CLOSED_TYPES = frozenset({"System.IO.FileInfo", "System.IO.DirectoryInfo"})


def get_member(obj: Any, name: str, env: Any = None) -> Any:
    """$obj.Name, with member enumeration over collections as PowerShell 3+ does."""
    if isinstance(obj, PSObject):
        props = obj.props
        if name in props:
            return props[name]
        if obj.has(name):
            return obj.get(name)
        if name.lower() in ("count", "length"):
            # Windows PowerShell gives a [pscustomobject] (and Select-Object's copies) no Count (PowerShell 6
            # added it: PowerShell/PowerShell#3671, #5745); other objects get the scalar's 1.
            from orchestrator.simulator.language.members import is_property_bag

            return None if is_property_bag(obj) else 1
        if obj.type_name in CLOSED_TYPES:
            raise PSRuntimeError(f"The simulator does not model the member '{name}' of {obj.type_name} (a real host "
                                 "has more members than the simulator gives it; it refuses rather than read $null).",
                                 "NotSupported", "NotImplemented")
        return None
    lname = name.lower()
    if obj is None:
        return 0 if lname in ("count", "length") else None
    if isinstance(obj, PSHashtable):
        if name in obj:
            return obj[name]
        if lname == "count":
            return len(obj)
        if lname == "keys":
            return obj.keys()
        if lname == "values":
            return obj.values()
        return None
    if isinstance(obj, list):
        if lname in ("count", "length"):
            return len(obj)
        out: list[Any] = []
        for item in obj:
            value = get_member(item, name, env)
            if isinstance(value, list):
                out.extend(value)
            elif value is not None:
                out.append(value)
        return out if len(out) != 1 else out[0]
    if isinstance(obj, str):
        if lname == "length":
            if obj.__class__ is Guid:  # a Guid has no Length: the scalar's 1 (see _guid_method)
                return 1
            return len(obj) if not _has_pairs(obj) else len(_units(obj)) // 2
        return 1 if lname == "count" else None
    if isinstance(obj, bytes):
        if lname in ("length", "count"):
            return len(obj)
        return None
    if isinstance(obj, datetime):
        return datetime_member(obj, lname, name)
    if isinstance(obj, timedelta):
        return timespan_member(obj, lname, name)
    if isinstance(obj, PSEnum):
        if lname == "value__":
            return obj.value
        return 1 if lname in ("count", "length") else None
    if isinstance(obj, ErrorRecord):
        return _error_member(obj, lname)
    if isinstance(obj, _ExceptionView):
        return {"message": obj.error.message, "innerexception": None}.get(lname)
    if isinstance(obj, _Static):
        return obj.member(lname, env)
    if isinstance(obj, NetObject):
        return obj.member(lname)
    if lname in ("count", "length") and not isinstance(obj, (PSHashtable, list)):
        return 1  # PowerShell 3+ gives every scalar a Count (and Length) of 1
    return None


class _ExceptionView:
    __slots__ = ("error",)

    def __init__(self, error: PSRuntimeError) -> None:
        self.error = error

    def __str__(self) -> str:
        return self.error.message


def _error_member(rec: ErrorRecord, lname: str) -> Any:
    err = rec.error
    if lname == "exception":
        return _ExceptionView(err)
    if lname == "fullyqualifiederrorid":
        return err.error_id + (f",{err.command}" if err.command else "")
    if lname == "targetobject":
        return err.target
    if lname == "categoryinfo":
        return PSObject({"Category": err.category, "Reason": err.error_id, "TargetName": to_string(err.target)},
                        "System.Management.Automation.ErrorCategoryInfo", text=f"{err.category}: (:) []")
    if lname == "invocationinfo":
        return PSObject({"ScriptLineNumber": err.line or 0, "MyCommand": err.command},
                        "System.Management.Automation.InvocationInfo")
    if lname == "scriptstacktrace":
        return f"at <ScriptBlock>, <No file>: line {err.line or 0}"
    return None


# -- methods ------------------------------------------------------------------------------------------------


def call_method(obj: Any, name: str, args: list[Any], env: Any = None) -> Any:
    lname = name.lower()
    if isinstance(obj, _Static):
        return obj.call(lname, args, env)
    if obj is None:  # $null.ToString() too: "You cannot call a method on a null-valued expression" (3.0)
        raise _no_method(obj, name)
    if lname == "tostring" and not isinstance(obj, (datetime, int, float)) and not (args and obj.__class__ is Guid):
        if isinstance(obj, _ExceptionView):
            return obj.error.message
        if isinstance(obj, list):
            # An array does not override Object.ToString, which "returns the fully qualified name of the type"
            # (learn.microsoft.com, Object.ToString): `@(1,2).ToString()` is System.Object[], where the
            # conversion [string]@(1,2) joins (audit M L7).
            return type_name_of(obj)
        return to_string(obj)
    if lname == "gettype":
        return _Static(type_name_of(obj))
    if lname == "equals" and len(args) == 1:
        return _equals_method(obj, args[0])
    if isinstance(obj, str):
        if obj.__class__ is Guid:
            return _guid_method(obj, lname, name, args)
        return _string_method(obj, lname, name, args)
    if isinstance(obj, datetime):
        return _datetime_method(obj, lname, name, args)
    if isinstance(obj, bool):
        raise _no_method(obj, name)
    if isinstance(obj, (int, float)):
        if lname == "tostring":
            return _format_number(obj, to_string(args[0]) if args else "")
        raise _no_method(obj, name)
    if isinstance(obj, PSHashtable):
        return _hashtable_method(obj, lname, name, args)
    if isinstance(obj, list):
        return _list_method(obj, lname, name, args)
    if isinstance(obj, ScriptBlock) and lname == "invoke":
        raise PSRuntimeError("ScriptBlock.Invoke() is not supported by the simulator; use & { } instead.",
                             "NotSupported", "NotImplemented")
    if isinstance(obj, PSObject):
        method = obj.get("__methods__") if obj.has("__methods__") else None
        if method and lname in method:
            return method[lname](*args)
    if isinstance(obj, NetObject):
        return obj.call(lname, name, args)
    raise _no_method(obj, name)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.__class__ is not Guid


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equals_method(obj: Any, other: Any) -> bool:
    """`.Equals(x)` calls .NET's Equals(Object), which converts nothing: String.Equals(Object) is "true if obj is
    a String and its value is the same as this instance" (ordinal; learn.microsoft.com, .NET Framework 4.5), and
    Int32.Equals(Object) "true if obj is an instance of Int32 and equals the value of this instance". The
    simulator compared as -ceq, converting the argument, so `'1'.Equals(1)` was true (audit M L6). A string or
    a number against a value of another kind is false; other values still compare as -ceq."""
    from orchestrator.simulator.language.values import bare, equals

    if _is_text(obj):
        return _is_text(other) and bare(obj) == bare(other)
    if _is_number(obj) and not _is_number(other):
        return False
    return equals(obj, other, case=True)


class Sha256CryptoServiceProvider(NetObject):
    """New-Object System.Security.Cryptography.SHA256CryptoServiceProvider (.NET 3.5 and later): only
    ComputeHash(Byte[]), the 32-byte digest, which the stdin bootstrap uses (orchestrator.transport.stdin).

    [SHA256]::Create() is left unsupported on purpose: on .NET Framework it makes a SHA256Managed, whose
    constructor throws "This implementation is not part of the Windows Platform FIPS validated cryptographic
    algorithms" on a host with the FIPS policy on (a 2012 R2 host's stack in ebekker/ACMESharp#126; the
    provider class does not, SamSaffron/MiniProfiler#73)."""

    type_name = "System.Security.Cryptography.SHA256CryptoServiceProvider"

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname == "computehash" and len(args) == 1 and isinstance(args[0], bytes):
            return hashlib.sha256(args[0]).digest()
        return super().call(lname, name, args)


def _no_method(obj: Any, name: str) -> PSRuntimeError:
    if obj is None:
        return PSRuntimeError("You cannot call a method on a null-valued expression.", "InvokeMethodOnNull",
                              "InvalidOperation")
    return PSRuntimeError(f"Method invocation failed because [{type_name_of(obj)}] does not contain a method "
                          f"named '{name}'.", "MethodNotFound", "InvalidOperation")


# The String overloads .NET Framework 4.5 has for the methods below, by argument count (learn.microsoft.com
# System.String, "Applies to"): Contains(String) only (Contains(String, StringComparison) came with .NET Core
# 2.1), StartsWith/EndsWith(String[, StringComparison]), Split(params Char[]) as the simulator reads it (one
# separator argument; Split(Char[], Int32) and the String[] forms are not modelled), and so on. A call with
# another count fails as PowerShell does, "Cannot find an overload", rather than doing something else here.
_STRING_ARITY: dict[str, tuple[int, ...]] = {
    "contains": (1,), "startswith": (1, 2), "endswith": (1, 2), "tolower": (0,), "tolowerinvariant": (0,),
    "toupper": (0,), "toupperinvariant": (0,), "trim": (0, 1), "trimend": (0, 1), "trimstart": (0, 1),
    "replace": (2,), "split": (0, 1), "substring": (1, 2), "indexof": (1,), "lastindexof": (1,),
    "padleft": (1, 2), "padright": (1, 2), "tostring": (0,),
}
_STRING_COMPARISONS = {"Ordinal": 4, "OrdinalIgnoreCase": 5, "CurrentCulture": 0, "CurrentCultureIgnoreCase": 1,
                       "InvariantCulture": 2, "InvariantCultureIgnoreCase": 3}


def _compared(s: str, other: str, comparison: Any) -> tuple[str, str]:
    """The two texts as StartsWith/EndsWith(String, StringComparison) compare them: only the ordinal forms
    are modelled (a culture's rules are not), so a culture comparison is refused, not guessed."""
    name = comparison.name if isinstance(comparison, PSEnum) else to_string(comparison)
    if name.lower() == "ordinal":
        return s, other
    if name.lower() == "ordinalignorecase":  # ordinal after upper-casing each char, invariantly
        return s.upper(), other.upper()
    raise PSRuntimeError(f"The simulator does not model the string comparison '{name}'.", "NotSupported",
                         "NotImplemented")


# System.Guid's instance methods besides ToString, Equals and GetType (answered before _guid_method is asked):
# learn.microsoft.com "Guid メンバ" (.NET Framework, 12b3zcfw) lists CompareTo, Equals, GetHashCode,
# ToByteArray and ToString; .NET 4.5 has those too. The simulator does not model the first three.
_GUID_UNMODELLED = frozenset({"compareto", "gethashcode", "tobytearray"})


def _guid_method(guid: str, lname: str, name: str, args: list[Any]) -> Any:
    """A method of a System.Guid. The simulator keeps a Guid as its text (values.Guid), but a Guid is no string:
    `$vm.Id.ToUpper()` fails on a host with "Method invocation failed because [System.Guid] does not contain a
    method named 'ToUpper'", which is why every template casts first (`([string]$vm.Id).ToUpper()`). ToString
    with a format argument ('N', 'B', ...) is not modelled (refused, not answered as the default form)."""
    if lname in _GUID_UNMODELLED or lname == "tostring":
        raise PSRuntimeError(f"The simulator does not model [System.Guid].{name}() with these arguments.",
                             "NotSupported", "NotImplemented")
    raise _no_method(guid, name)


def _string_method(s: str, lname: str, name: str, args: list[Any]) -> Any:
    arities = _STRING_ARITY.get(lname)
    if arities is not None and len(args) not in arities:
        raise PSRuntimeError(f'Cannot find an overload for "{name}" and the argument count: "{len(args)}".',
                             "MethodCountCouldNotFindBest", "NotSpecified")
    a = [to_string(x) if not isinstance(x, (int, float)) or isinstance(x, bool) else x for x in args]
    if lname == "contains":
        return to_string(args[0]) in s
    if lname in ("startswith", "endswith"):
        mine, other = (s, to_string(args[0])) if len(args) == 1 else _compared(s, to_string(args[0]), args[1])
        return mine.startswith(other) if lname == "startswith" else mine.endswith(other)
    if lname == "tolower" or lname == "tolowerinvariant":
        return s.lower()
    if lname == "toupper" or lname == "toupperinvariant":
        return s.upper()
    if lname == "trim":
        return s.strip(to_string(args[0])) if args else s.strip()
    if lname == "trimend":
        return s.rstrip(to_string(args[0])) if args else s.rstrip()
    if lname == "trimstart":
        return s.lstrip(to_string(args[0])) if args else s.lstrip()
    if lname == "replace":
        return _replace(s, args[0], args[1])
    if lname == "split":
        seps = to_string(args[0]) if args else " "
        return re.split("|".join(re.escape(c) for c in seps), s) if len(seps) > 1 else s.split(seps)
    if lname == "substring":
        return _substring(s, [to_int(x) for x in args])
    if lname == "indexof":
        return _unit_index(s, s.find(to_string(args[0])))
    if lname == "lastindexof" and len(args) == 1:
        # String.LastIndexOf(String): the start of the last occurrence, -1 when there is none (a culture-aware
        # match on .NET; the same as an ordinal one for the separators scripts look for).
        return _unit_index(s, s.rfind(to_string(args[0])))
    if lname == "padleft":
        return s.rjust(to_int(args[0]), to_string(args[1]) if len(args) > 1 else " ")
    if lname == "padright":
        return s.ljust(to_int(args[0]), to_string(args[1]) if len(args) > 1 else " ")
    if lname == "tostring":
        return s
    del a
    raise _no_method(s, name)


# A .NET string is UTF-16: a character outside the BMP is two chars of it (a surrogate pair), so Length,
# Substring and the indexes count it twice ("The Length property returns the number of Char objects in this
# instance, not the number of Unicode characters", String.Length on learn.microsoft.com). The simulator's
# strings are Python's, one item per character: these convert where a string holds such a character.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _replace(s: str, old: Any, new: Any) -> str:
    """String.Replace(String, String): "ArgumentNullException: oldValue is null. ArgumentException: oldValue is the
    empty string" (learn.microsoft.com, String.Replace, .NET Framework 4.5); Python's replace would put the new
    text between every character (audit M L7). PowerShell passes $null to a [string] argument as null."""
    if old is None or to_string(old) == "":
        text = ("Value cannot be null." if old is None else "String cannot be of zero length.") + \
            "\r\nParameter name: oldValue"
        raise PSRuntimeError(f'Exception calling "Replace" with "2" argument(s): "{text}"',
                             "ArgumentNullException" if old is None else "ArgumentException", "NotSpecified")
    return s.replace(to_string(old), to_string(new))


def _has_pairs(s: str) -> bool:
    # isascii() first: a C loop over the bytes, where max() makes a string per character (the bootstrap asks
    # this of a whole 40 KB script twice).
    return not s.isascii() and _ASTRAL.search(s) is not None


def _units(s: str) -> bytes:
    return s.encode("utf-16-le", "surrogatepass")


def _unit_index(s: str, index: int) -> int:
    return index if index <= 0 or not _has_pairs(s[:index]) else len(_units(s[:index])) // 2


def _substring(s: str, args: list[int]) -> str:
    """String.Substring(start[, length]), which throws ArgumentOutOfRangeException past the string's end
    ("startIndex plus length indicates a position not within this instance"), not a shorter string."""
    units = _units(s) if _has_pairs(s) else None
    size = len(units) // 2 if units is not None else len(s)
    start = args[0]
    length = args[1] if len(args) > 1 else size - start
    if start < 0 or length < 0 or start + length > size:
        raise PSRuntimeError(f'Exception calling "Substring" with "{len(args)}" argument(s): "Index and length must '
                             'refer to a location within the string."', "ArgumentOutOfRangeException")
    if units is None:
        return s[start:start + length]
    return units[2 * start:2 * (start + length)].decode("utf-16-le", "surrogatepass")


_NET_FORMAT = [
    ("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
]


def _datetime_method(d: datetime, lname: str, name: str, args: list[Any]) -> Any:
    if lname == "tostring":
        if not args:
            return to_string(d)
        fmt = to_string(args[0])
        if fmt in ("o", "O"):
            return utc_iso(d)
        if fmt in ("s",):
            return d.strftime("%Y-%m-%dT%H:%M:%S")
        if fmt in ("u",):
            return d.strftime("%Y-%m-%d %H:%M:%SZ")
        out = fmt
        for net, py in _NET_FORMAT:
            out = out.replace(net, py)
        if "%" in fmt or re.search(r"[a-zA-Z]", re.sub(r"%[YmdHMS]", "", out).replace("T", "").replace("Z", "")):
            raise PSRuntimeError(f"The simulator does not support the date format '{fmt}'.", "NotSupported",
                                 "NotImplemented")
        return d.strftime(out)
    if lname == "touniversaltime":
        return d.astimezone(UTC) if d.tzinfo else d.replace(tzinfo=UTC)
    if lname == "tolocaltime":
        return d
    add = {"adddays": "days", "addhours": "hours", "addminutes": "minutes", "addseconds": "seconds",
           "addmilliseconds": "milliseconds"}
    if lname in add:
        return d + timedelta(**{add[lname]: float(to_number(args[0]))})
    if lname == "subtract":
        other = args[0]
        return d - other if isinstance(other, timedelta) else d - to_datetime(other)
    raise _no_method(d, name)


def _format_number(n: int | float, fmt: str) -> str:
    if not fmt:
        return to_string(n)
    m = re.fullmatch(r"([NnFfDd])(\d*)", fmt)
    if m:
        kind, digits = m.group(1).upper(), m.group(2)
        if kind == "D":
            return str(int(n)).zfill(int(digits or 0))
        places = int(digits) if digits else 2
        return f"{n:,.{places}f}" if kind == "N" else f"{n:.{places}f}"
    raise PSRuntimeError(f"The simulator does not support the number format '{fmt}'.", "NotSupported",
                         "NotImplemented")


def _hashtable_method(h: PSHashtable, lname: str, name: str, args: list[Any]) -> Any:
    if lname == "add":
        if args[0] in h:
            raise PSRuntimeError(f'Exception calling "Add" with "2" argument(s): "Item has already been added. Key '
                                 f"in dictionary: '{to_string(args[0])}'  Key being added: '{to_string(args[0])}'\"",
                                 "ArgumentException", "NotSpecified")
        h[args[0]] = args[1]
        return None
    if lname == "contains" or (lname == "containskey" and not h.ordered):
        # [ordered] is an OrderedDictionary, which has Contains(Object) and no ContainsKey (its .NET page);
        # Hashtable has both.
        return args[0] in h
    if lname == "remove":
        h.remove(args[0])
        return None
    if lname == "clone":
        return h.copy()
    raise _no_method(h, name)


def _list_method(lst: list[Any], lname: str, name: str, args: list[Any]) -> Any:
    from orchestrator.simulator.language.values import equals

    if lname == "contains":
        return any(equals(x, args[0], case=True) for x in lst)
    if lname == "indexof":
        return next((i for i, x in enumerate(lst) if equals(x, args[0], case=True)), -1)
    if lname == "add":
        if not isinstance(lst, PSList):
            raise PSRuntimeError('Exception calling "Add" with "1" argument(s): "Collection was of a fixed size."',
                                 "NotSupportedException", "NotSpecified")
        lst.append(args[0])
        return len(lst) - 1
    if lname == "addrange" and isinstance(lst, PSList):
        lst.extend(args[0] if isinstance(args[0], list) else [args[0]])
        return None
    if lname == "remove" and isinstance(lst, PSList):
        for i, x in enumerate(lst):
            if equals(x, args[0], case=True):
                del lst[i]
                break
        return None
    if lname == "toarray":
        return list(lst)
    raise _no_method(lst, name)


# -- static members and types ---------------------------------------------------------------------------------


class _Static:
    """A type literal used as a value: [Console], [Guid], [DateTime]..., with its static members."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        key = self.name.lower()
        return key[7:] if key.startswith("system.") else key

    def member(self, lname: str, env: Any) -> Any:
        key = self.key
        if key == "console" and lname in ("in", "error"):
            return _Static(f"console.{lname}")
        if key == "console" and lname == "inputencoding":
            return env.console_input_encoding
        if key == "datetime":
            if lname == "utcnow":
                return env.now()
            if lname == "now":
                return env.now()
            if lname == "minvalue":
                return datetime(1, 1, 1)
        if key in ("text.encoding",) and lname in ("unicode", "utf8", "ascii"):
            return _Static(f"encoding.{lname}")
        if key == "int32" or key == "int":
            return {"maxvalue": 2**31 - 1, "minvalue": -(2**31)}.get(lname)
        if key in ("int64", "long"):
            return {"maxvalue": 2**63 - 1, "minvalue": -(2**63)}.get(lname)
        if key == "string" and lname == "empty":
            return ""
        if key == "environment" and lname == "newline":
            return "\r\n"
        if key == "environment" and lname == "machinename":
            return env.machine_name
        if key == "guid" and lname == "empty":
            return Guid("00000000-0000-0000-0000-000000000000")
        if key in _IO_ENUMS and lname in _IO_ENUMS[key]:
            return PSEnum(_IO_ENUM_TYPES[key], *_IO_ENUMS[key][lname])
        if key == "stringcomparison":
            for member, number in _STRING_COMPARISONS.items():
                if member.lower() == lname:
                    return PSEnum("System.StringComparison", member, number)
        if key in SECURITY_ENUMS:
            type_name, members = SECURITY_ENUMS[key]
            for member, number in members.items():
                if member.lower() == lname:
                    return PSEnum(type_name, member, number)
        raise PSRuntimeError(f"The simulator does not support the static member [{self.name}]::{lname}.",
                             "NotSupported", "NotImplemented")

    def call(self, lname: str, args: list[Any], env: Any) -> Any:
        key = self.key
        hook = getattr(env, "static_hooks", None)
        if hook and key in hook:  # types whose methods need the host ([System.IO.File]): host/handles.py
            return hook[key](lname, args)
        if key == "console.in" and lname == "readtoend":
            return env.read_stdin()
        if key == "console.error" and lname == "writeline" and len(args) == 1:
            # TextWriter.WriteLine(String) on powershell.exe's stderr: the line as it is, before any CLIXML.
            env.write_stderr_line(to_string(args[0]))
            return None
        if key == "bitconverter" and lname == "tostring" and len(args) == 1 and isinstance(args[0], bytes):
            # BitConverter.ToString(Byte[]): "hexadecimal pairs separated by hyphens", upper case ("7F-2C-4A").
            return "-".join(f"{b:02X}" for b in args[0])
        if key == "scriptblock" and lname == "create":
            return env.create_scriptblock(to_string(args[0]))
        if key == "convert":
            if lname == "tobase64string":
                data = args[0]
                return base64.b64encode(bytes(data) if isinstance(data, (bytes, list)) else b"").decode()
            if lname == "frombase64string":
                try:
                    return base64.b64decode(to_string(args[0]), validate=True)
                except ValueError as exc:
                    raise PSRuntimeError('Exception calling "FromBase64String" with "1" argument(s): "The input is '
                                         'not a valid Base-64 string."', "FormatException") from exc
            if lname in ("toint32", "toint64"):
                return to_int(args[0])
        if key.startswith("encoding."):
            codec = {"encoding.unicode": "utf-16-le", "encoding.utf8": "utf-8", "encoding.ascii": "ascii"}[key]
            if lname == "getbytes":
                return to_string(args[0]).encode(codec, "replace")
            if lname == "getstring":
                data = args[0]
                return bytes(data).decode(codec, "replace")
        if key == "guid":
            if lname == "newguid":
                return Guid(env.new_guid())
            if lname == "parse":
                return Guid(str(uuid.UUID(to_string(args[0]))))
        if key == "datetime" and lname == "parse":
            return to_datetime(args[0])
        if key == "math":
            nums = [to_number(a) for a in args]
            table: dict[str, Callable[[], Any]] = {
                "round": lambda: round(nums[0], int(nums[1]) if len(nums) > 1 else None),
                "floor": lambda: math.floor(nums[0]), "ceiling": lambda: math.ceil(nums[0]),
                "min": lambda: min(nums), "max": lambda: max(nums), "abs": lambda: abs(nums[0]),
                "truncate": lambda: math.trunc(nums[0]),
            }
            if lname in table:
                return table[lname]()
        if key == "string":
            if lname == "isnullorempty":
                return args[0] is None or to_string(args[0]) == ""
            if lname == "isnullorwhitespace":
                return args[0] is None or to_string(args[0]).strip() == ""
            if lname == "join":
                items = args[1] if len(args) == 2 and isinstance(args[1], list) else args[1:]
                return to_string(args[0]).join(to_string(x) for x in items)
            if lname == "format":
                return format_operator(to_string(args[0]), args[1:])
        if key in ("io.path",):
            if lname == "combine":
                return "\\".join(to_string(a).rstrip("\\") for a in args)
            if lname == "getfilename":
                return to_string(args[0]).replace("/", "\\").rsplit("\\", 1)[-1]
        raise PSRuntimeError(f"The simulator does not support the static method [{self.name}]::{lname}().",
                             "NotSupported", "NotImplemented")


# [System.IO.FileMode] / [FileAccess] / [FileShare] members: name -> (name, value), as .NET defines them
# (https://learn.microsoft.com/en-us/dotnet/api/system.io.filemode, .../system.io.fileaccess, .../system.io.fileshare).
_IO_ENUM_TYPES = {"io.filemode": "System.IO.FileMode", "io.fileaccess": "System.IO.FileAccess",
                  "io.fileshare": "System.IO.FileShare"}
_IO_ENUMS: dict[str, dict[str, tuple[str, int]]] = {
    "io.filemode": {n.lower(): (n, v) for n, v in (("CreateNew", 1), ("Create", 2), ("Open", 3), ("OpenOrCreate", 4),
                                                   ("Truncate", 5), ("Append", 6))},
    "io.fileaccess": {n.lower(): (n, v) for n, v in (("Read", 1), ("Write", 2), ("ReadWrite", 3))},
    "io.fileshare": {n.lower(): (n, v) for n, v in (("None", 0), ("Read", 1), ("Write", 2), ("ReadWrite", 3),
                                                    ("Delete", 4), ("Inheritable", 16))},
}


# The access-control enums the state folder's check uses (host/acl.py): name -> value, as .NET defines them
# (learn.microsoft.com/dotnet/api/system.security.accesscontrol.filesystemrights, .inheritanceflags,
# .propagationflags, .accesscontroltype, .accesscontrolsections). Names that share a value (ReadData and
# ListDirectory) are both accepted; the first is the one a value reads back as.
SECURITY_ENUMS: dict[str, tuple[str, dict[str, int]]] = {
    "security.accesscontrol.filesystemrights": ("System.Security.AccessControl.FileSystemRights", {
        "ListDirectory": 1, "ReadData": 1, "CreateFiles": 2, "WriteData": 2, "CreateDirectories": 4,
        "AppendData": 4, "ReadExtendedAttributes": 8, "WriteExtendedAttributes": 16, "Traverse": 32,
        "ExecuteFile": 32, "DeleteSubdirectoriesAndFiles": 64, "ReadAttributes": 128, "WriteAttributes": 256,
        "Write": 278, "Delete": 65536, "ReadPermissions": 131072, "Read": 131209, "ReadAndExecute": 131241,
        "Modify": 197055, "ChangePermissions": 262144, "TakeOwnership": 524288, "Synchronize": 1048576,
        "FullControl": 2032127}),
    "security.accesscontrol.inheritanceflags": ("System.Security.AccessControl.InheritanceFlags", {
        "None": 0, "ContainerInherit": 1, "ObjectInherit": 2}),
    "security.accesscontrol.propagationflags": ("System.Security.AccessControl.PropagationFlags", {
        "None": 0, "NoPropagateInherit": 1, "InheritOnly": 2}),
    "security.accesscontrol.accesscontroltype": ("System.Security.AccessControl.AccessControlType", {
        "Allow": 0, "Deny": 1}),
    "security.accesscontrol.accesscontrolsections": ("System.Security.AccessControl.AccessControlSections", {
        "None": 0, "Audit": 1, "Access": 2, "Owner": 4, "Group": 8, "All": 15}),
}


def type_value(name: str) -> _Static:
    return _Static(name)


_CAST_ALIASES = {
    "int": "int", "int32": "int", "system.int32": "int", "long": "long", "int64": "long", "system.int64": "long",
    "uint64": "long", "system.uint64": "long", "uint32": "long", "byte": "int", "int16": "int",
    "string": "string", "system.string": "string", "bool": "bool", "boolean": "bool", "system.boolean": "bool",
    "datetime": "datetime", "system.datetime": "datetime", "double": "double", "system.double": "double",
    "decimal": "double", "array": "array", "object[]": "array", "string[]": "strings", "int[]": "ints",
    "pscustomobject": "pscustomobject", "psobject": "psobject", "ordered": "ordered", "hashtable": "hashtable",
    "system.collections.hashtable": "hashtable", "void": "void", "guid": "guid", "system.guid": "guid",
    "object": "object", "system.object": "object", "scriptblock": "scriptblock",
    "system.collections.arraylist": "arraylist", "collections.arraylist": "arraylist",
    "system.collections.generic.list[object]": "arraylist", "collections.generic.list[object]": "arraylist",
    "system.collections.generic.list[string]": "arraylist", "switch": "bool", "char": "char",
}


# The integer types a cast checks the range of: .NET's type, its range and the noun of its OverflowException
# ("Value was either too large or too small for an unsigned byte.", "... for a UInt32.": the resource texts of
# Convert.ToByte, ToInt16, ToUInt32, ToUInt64 and so on, which throw OverflowException for "a number that is
# less than <T>.MinValue or greater than <T>.MaxValue", learn.microsoft.com, .NET Framework 4.5). PowerShell
# passes the text on as "Cannot convert value ... Error: ..." (audit F L5 for Int32/Int64; audit M L7: [byte]300
# and [uint32]-1 used to pass unchecked).
_INT_RANGES: dict[str, tuple[str, int, int, str]] = {
    "int": ("Int32", -(2**31), 2**31 - 1, "an Int32"), "int32": ("Int32", -(2**31), 2**31 - 1, "an Int32"),
    "system.int32": ("Int32", -(2**31), 2**31 - 1, "an Int32"),
    "long": ("Int64", -(2**63), 2**63 - 1, "an Int64"), "int64": ("Int64", -(2**63), 2**63 - 1, "an Int64"),
    "system.int64": ("Int64", -(2**63), 2**63 - 1, "an Int64"),
    "byte": ("Byte", 0, 255, "an unsigned byte"), "int16": ("Int16", -(2**15), 2**15 - 1, "an Int16"),
    "uint32": ("UInt32", 0, 2**32 - 1, "a UInt32"), "uint64": ("UInt64", 0, 2**64 - 1, "a UInt64"),
    "system.uint64": ("UInt64", 0, 2**64 - 1, "a UInt64"),
}


def _check_range(type_name: str, value: Any, number: int) -> None:
    found = _INT_RANGES.get(type_name.lower())
    if found is not None and not found[1] <= number <= found[2]:
        name, _low, _high, noun = found
        raise PSRuntimeError(f'Cannot convert value "{to_string(value)}" to type "System.{name}". Error: "Value was '
                             f'either too large or too small for {noun}."', "InvalidCastIConvertible",
                             "InvalidArgument")


def _to_char(value: Any) -> str:
    """[char]: a string of exactly one character, or a number that is a UTF-16 code unit. Convert.ToChar(String)
    throws FormatException "String must be exactly one character long." for any other length, and ToChar(Int32)
    OverflowException outside 0..65535 (learn.microsoft.com, Convert.ToChar, .NET Framework 4.5). The simulator
    kept the whole string (audit M L7). A char stays a one-character string here, so `-is [string]` is true of
    it (a host says false): no template uses [char]."""
    if isinstance(value, str) and not isinstance(value, Guid):
        if len(value) == 1:
            return str(value)
        raise PSRuntimeError(f'Cannot convert value "{value}" to type "System.Char". Error: "String must be exactly '
                             'one character long."', "InvalidCastParseTargetInvocation", "InvalidArgument")
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 0xFFFF:
            return chr(value)
        raise PSRuntimeError(f'Cannot convert value "{value}" to type "System.Char". Error: "Value was either too '
                             'large or too small for a character."', "InvalidCastIConvertible", "InvalidArgument")
    raise PSRuntimeError(f"The simulator does not support converting [{type_name_of(value)}] to [char].",
                         "NotSupported", "NotImplemented")


def cast_kind(type_name: str) -> str | None:
    """Which conversion `cast` makes for a type name, None for a type the simulator does not support."""
    return _CAST_ALIASES.get(type_name.lower())


def cast(type_name: str, value: Any) -> Any:
    kind = _CAST_ALIASES.get(type_name.lower())
    if kind is None:
        raise PSRuntimeError(f"The simulator does not support the type [{type_name}].", "NotSupported",
                             "NotImplemented")
    if kind == "int" or kind == "long":
        if value is None:
            return 0
        number = to_int(value, "System.Int64" if kind == "long" else "System.Int32")
        _check_range(type_name, value, number)
        return number
    if kind == "char":
        return _to_char(value)
    if kind == "double":
        return float(to_number(value, what="System.Double"))
    if kind == "string":
        return to_string(value)
    if kind == "bool":
        return truthy(value)
    if kind == "datetime":
        return to_datetime(value)
    if kind == "array" or (kind == "object" and isinstance(value, list)):
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]
    if kind == "strings":
        return [to_string(v) for v in (value if isinstance(value, list) else [value])]
    if kind == "ints":
        return [to_int(v) for v in (value if isinstance(value, list) else [value])]
    if kind == "arraylist":
        return PSList(value if isinstance(value, list) else ([] if value is None else [value]))
    if kind in ("pscustomobject", "psobject"):
        if isinstance(value, PSHashtable):
            return PSObject({to_string(k): v for k, v in value.items()})
        return value
    if kind == "ordered":
        if not isinstance(value, PSHashtable):
            raise PSRuntimeError("The ordered attribute can be specified only on a hash literal node.",
                                 "OrderedAttributeOnlyOnHashLiteralNode", "ParserError")
        value.ordered = True
        return value
    if kind == "hashtable":
        if isinstance(value, PSHashtable):
            return value
        raise PSRuntimeError(f'Cannot convert value "{to_string(value)}" to type "System.Collections.Hashtable".',
                             "ConvertToFinalInvalidCastException", "InvalidArgument")
    if kind == "void":
        return None
    if kind == "guid":
        try:
            return Guid(str(uuid.UUID(to_string(value))))
        except ValueError as exc:
            raise PSRuntimeError(f'Cannot convert value "{to_string(value)}" to type "System.Guid".',
                                 "InvalidCastParseTargetInvocation", "InvalidArgument") from exc
    if kind == "scriptblock":
        if isinstance(value, ScriptBlock):
            return value
        raise PSRuntimeError(f'Cannot convert the "{to_string(value)}" value of type "{type_name_of(value)}" to '
                             'type "System.Management.Automation.ScriptBlock".', "ConvertToFinalInvalidCastException",
                             "InvalidArgument")
    return value


def _is_long(value: Any) -> bool:
    """`-is [long]`: the simulator keeps [int] and [long] both as Python ints, so it can tell a [long] only by a
    value outside Int32's range (PowerShell types a literal so: "5000000000" is an Int64,
    about_Numeric_Literals). Of a smaller number it cannot say (`5 -is [long]` is false on a host, `([long]5) -is
    [long]` true): refused, not guessed (audit M L7)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    if -(2**31) <= value < 2**31:
        raise PSRuntimeError("The simulator cannot tell [long] from [int] for a number in Int32's range; compare "
                             "the value instead.", "NotSupported", "NotImplemented")
    return True


def is_type(value: Any, type_name: str) -> bool:
    """-is. [int] is System.Int32 only: a number outside its range is an Int64 (the simulator said true of it;
    audit M L7). The narrow and unsigned integer types are not kept apart from [int]: refused."""
    lowered = type_name.lower()
    kind = _CAST_ALIASES.get(lowered, lowered)
    if lowered in ("byte", "int16", "uint32", "uint64", "system.uint64"):
        raise PSRuntimeError(f"The simulator does not keep [{type_name}] apart from [int]; it cannot answer -is "
                             f"[{type_name}].", "NotSupported", "NotImplemented")
    checks: dict[str, Callable[[Any], bool]] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
        "long": _is_long,
        "string": lambda v: isinstance(v, str) and v.__class__ is not Guid,  # a Guid is kept as its text
        "bool": lambda v: isinstance(v, bool),
        "datetime": lambda v: isinstance(v, datetime),
        "double": lambda v: isinstance(v, float),
        "array": lambda v: isinstance(v, list),
        "hashtable": lambda v: isinstance(v, PSHashtable),
        "pscustomobject": lambda v: isinstance(v, PSObject),
        "scriptblock": lambda v: isinstance(v, ScriptBlock),
        "object": lambda v: v is not None,
    }
    check = checks.get(kind)
    if check is not None:
        return check(value)
    return type_name_of(value).lower().endswith(type_name.lower())


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}")


def format_operator(fmt: str, args: list[Any]) -> str:
    """The -f operator / String.Format for the forms templates use: {0}, {0,5}, {0:N2}, {0:o}."""

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        index = int(m.group(1))
        if index >= len(args):
            raise PSRuntimeError(f'Error formatting a string: Index (zero based) must be greater than or equal to '
                                 f'zero and less than the size of the argument list.. ({fmt})', "FormatError",
                                 "InvalidOperation")
        value = args[index]
        spec = m.group(3)
        if spec:
            text = call_method(value, "ToString", [spec]) if isinstance(value, (datetime, int, float)) else to_string(value)
        else:
            text = to_string(value)
        if m.group(2):
            width = int(m.group(2))
            text = text.rjust(width) if width > 0 else text.ljust(-width)
        return text

    return _FORMAT_ITEM.sub(repl, fmt)
