"""PowerShell's binary operators on the simulator's values: arithmetic, comparison, matching, -f, -is/-as.

Each operator has its case-insensitive form (the default, `-eq` = `-ieq`) and a case-sensitive one (`-ceq`):
MicrosoftDocs/PowerShell-Docs reference/3.0/Microsoft.PowerShell.Core/About/about_Comparison_Operators.md.
A -match that succeeds fills $Matches in the caller's scope (same page), through the interpreter passed in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from orchestrator.simulator.language import dotnet
from orchestrator.simulator.language.values import (
    Guid,
    PSHashtable,
    PSList,
    PSObject,
    PSRuntimeError,
    ScriptBlock,
    compare,
    enumerate_value,
    equals,
    like,
    to_number,
    to_string,
    type_name_of,
)

OP_BASE: dict[str, tuple[str, bool]] = {}


def op_base(op: str) -> tuple[str, bool]:
    """An operator's case-insensitive form and whether it is case-sensitive (-ceq -> ("-eq", True)). Only the
    "c" prefix makes it so: "By default, all comparison operators are case-insensitive. To make a comparison
    operator case-sensitive, precede the operator name with a "c"" (MicrosoftDocs/PowerShell-Docs
    reference/3.0/Microsoft.PowerShell.Core/About/about_Comparison_Operators.md), so -contains, whose own
    name starts with a c, is case-insensitive and -ccontains is not."""
    base = op
    if op.startswith(("-c", "-i")) and op not in ("-contains", "-in", "-is", "-isnot"):
        base = "-" + op[2:]
    found = OP_BASE[op] = (base, base != op and op.startswith("-c"))
    return found


_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z_]\w*)>")
_NAMED_BACKREFERENCE = re.compile(r"\\k<([A-Za-z_]\w*)>")


def dotnet_pattern(pattern: str) -> str:
    """A .NET pattern's named groups in Python's spelling: `(?<name>...)` is `(?P<name>...)`, `\\k<name>` is
    `(?P=name)` (.NET "Grouping Constructs"); lookbehinds `(?<=`, `(?<!` are the same in both."""
    if "(?<" not in pattern and "\\k<" not in pattern:
        return pattern
    return _NAMED_BACKREFERENCE.sub(r"(?P=\1)", _NAMED_GROUP.sub(r"(?P<\1>", pattern))


_SUBSTITUTION = re.compile(r"\$(?:(\d+)|\{(\w+)\}|([$&]))")


def _substitution(text: str) -> Any:
    """-replace's replacement as .NET's Regex.Replace reads it: `$1` / `${1}` / `${name}` a group, `$0` and `$&`
    the whole match, `$$` a dollar, any other character (a backslash too) as it is (.NET "Substitutions in
    Regular Expressions"; about_Comparison_Operators, -replace). The simulator used Python's template rules,
    where `$0` became a NUL character and a backslash an escape (audit F, L11). `` $` ``, `$'`, `$+` and `$_`
    are not modelled: refused, not guessed."""
    if "$" not in text:
        return lambda _m: text
    if re.search(r"\$[`'+_]", text):
        raise PSRuntimeError(f"The simulator does not model the substitution in the replacement '{text}'.",
                             "NotSupported", "NotImplemented")

    def substitute(match: re.Match[str]) -> str:
        def one(found: re.Match[str]) -> str:
            number, name, sign = found.groups()
            if sign == "$":
                return "$"
            if sign == "&" or number == "0":
                return match.group(0)
            key: int | str = int(number) if number is not None else (int(name) if name.isdigit() else name)
            try:
                return match.group(key) or ""
            except IndexError:  # re's answer for a group it does not have, by number or name
                return found.group(0)  # .NET leaves a substitution naming no group as written
        return _SUBSTITUTION.sub(one, text)
    return substitute



def binary(op: str, left: Any, right: Any, interp: Any = None) -> Any:
    base, case = OP_BASE.get(op) or op_base(op)
    if base == "+":
        return add(left, right)
    if base == "-":
        if isinstance(left, datetime):
            return _date_minus(left, right)
        return _arith(left, right, lambda a, b: a - b, "op_Subtraction")
    if base == "*":
        if isinstance(left, (str, list)):
            if isinstance(right, list):
                raise _no_conversion(right)
            return left * int(to_number(right))
        return _arith(left, right, lambda a, b: a * b, "op_Multiply")
    if base == "/":
        if isinstance(left, list) or isinstance(right, list):
            raise _no_operator(left, right, "op_Division")
        a, b = to_number(left), to_number(right)
        if b == 0:
            raise PSRuntimeError("Attempted to divide by zero.", "RuntimeException", "NotSpecified")
        result = a / b
        return int(result) if isinstance(a, int) and isinstance(b, int) and a % b == 0 else result
    if base == "%":
        return _arith(left, right, _remainder, "op_Modulus")
    if base == "-f":
        return dotnet.format_operator(to_string(left), right if isinstance(right, list) else [right])
    if isinstance(left, list) and base in ("-eq", "-ne", "-like", "-notlike", "-match", "-notmatch", "-gt", "-ge",
                                          "-lt", "-le"):
        # A collection gives its matching members; -match and -notmatch then leave $Matches alone ("If the
        # input is a collection, the -Match and -NotMatch operators return the matching members of that
        # collection, but the operator does not populate the $Matches variable": about_Comparison_Operators,
        # 3.0), so no interpreter goes down to set it.
        return [x for x in left if binary(op, x, right)]
    if base == "-eq":
        return equals(left, right, case)
    if base == "-ne":
        return not equals(left, right, case)
    if base in ("-gt", "-ge", "-lt", "-le"):
        c = compare(left, right, case)
        return {"-gt": c > 0, "-ge": c >= 0, "-lt": c < 0, "-le": c <= 0}[base]
    if base == "-like":
        return like(left, right, case)
    if base == "-notlike":
        return not like(left, right, case)
    if base in ("-match", "-notmatch"):
        m = re.search(dotnet_pattern(to_string(right)), to_string(left), 0 if case else re.IGNORECASE)
        # A scalar sets $Matches whenever the pattern is found, for -notmatch too ("when the input is scalar
        # and the result is False, that is, when it detects a match": the same page); no match leaves it.
        if m and interp is not None:
            groups = PSHashtable([(0, m.group(0))])
            for i, g in enumerate(m.groups(), 1):
                if g is not None:
                    groups[i] = g
            for name, g in m.groupdict().items():
                if g is not None:
                    groups[name] = g
            interp.set_var("matches", groups)
        return bool(m) if base == "-match" else not m
    if op in ("-contains", "-icontains", "-ccontains"):
        return any(equals(x, right, case) for x in enumerate_value(left)) if left is not None else False
    if op == "-notcontains":
        return not any(equals(x, right, case) for x in enumerate_value(left))
    if op == "-in":
        return any(equals(x, left) for x in enumerate_value(right))
    if op == "-notin":
        return not any(equals(x, left) for x in enumerate_value(right))
    if base == "-replace":
        pattern, repl = ([*right, ""])[:2] if isinstance(right, list) else (right, "")
        py_repl = _substitution(to_string(repl))
        rx = re.compile(dotnet_pattern(to_string(pattern)), 0 if case else re.IGNORECASE)
        if isinstance(left, list):
            return [rx.sub(py_repl, to_string(x)) for x in left]
        return rx.sub(py_repl, to_string(left))
    if op == "-is":
        return dotnet.is_type(left, _type_arg(right))
    if op == "-isnot":
        return not dotnet.is_type(left, _type_arg(right))
    if op == "-as":
        try:
            return dotnet.cast(_type_arg(right), left)
        except PSRuntimeError:
            return None
    if op == "-join":
        return to_string(right).join(to_string(x) for x in enumerate_value(left))
    if op == "-split":
        return _split(left, right)
    raise PSRuntimeError(f"The simulator does not support the operator {op}.", "NotSupported", "NotImplemented")


def _split(left: Any, right: Any) -> list[str]:
    """Binary -split: "Specifies one or more strings to be split. If you submit multiple strings, all the strings
    are split using the same delimiter rules" (MicrosoftDocs/PowerShell-Docs
    reference/3.0/Microsoft.PowerShell.Core/About/about_Split.md), so an array splits element by element (it
    was joined into one string first; audit M L2). A list on the right is `<Delimiter>, <Max-substrings>[,
    <Options>]`, which the simulator does not model: refused, not read as one pattern."""
    if isinstance(right, list):
        raise PSRuntimeError("The simulator does not support -split with a maximum number of substrings or "
                             "options.", "NotSupported", "NotImplemented")
    pattern = re.compile(dotnet_pattern(to_string(right)), re.IGNORECASE)
    if isinstance(left, list):
        return [part for item in left for part in pattern.split(to_string(item))]
    return pattern.split(to_string(left))


def _type_arg(right: Any) -> str:
    return right.name if isinstance(right, dotnet._Static) else to_string(right)


def add(left: Any, right: Any) -> Any:
    if left is None:
        if isinstance(right, list):
            return list(right)
        return right
    if isinstance(left, str):
        if left.__class__ is Guid:
            # System.Guid defines only == and != (learn.microsoft.com, Guid members): PowerShell's + fails on a
            # type without op_Addition, "Method invocation failed because [Microsoft.Win32.RegistryKey] does
            # not contain a method named 'op_Addition'." (ThomasKur/ModernWorkplaceClientCenter#1).
            raise PSRuntimeError("Method invocation failed because [System.Guid] does not contain a method named "
                                 "'op_Addition'.", "MethodNotFound", "InvalidOperation")
        return left + to_string(right)
    if isinstance(left, list):
        result = PSList(left) if isinstance(left, PSList) else list(left)
        if isinstance(right, list):
            result.extend(right)
        else:
            result.append(right)
        return result
    if isinstance(left, PSHashtable):
        if not isinstance(right, PSHashtable):
            raise PSRuntimeError("A hash table can only be added to another hash table.", "AddHashTableToNonHashTable",
                                 "InvalidOperation")
        result_h = left.copy()
        for key, value in right.items():
            if key in result_h:
                raise PSRuntimeError(f"Item has already been added. Key in dictionary: '{key}'  Key being added: "
                                     f"'{key}'", "DuplicateKeyInHashLiteral", "InvalidOperation")
            result_h[key] = value
        return result_h
    if isinstance(left, datetime):
        return left + right
    return _arith(left, right, lambda a, b: a + b, "op_Addition")


def _date_minus(left: datetime, right: Any) -> Any:
    """[DateTime] - [DateTime] is a [TimeSpan], [DateTime] - [TimeSpan] a [DateTime]: .NET's op_Subtraction,
    which PowerShell calls for a non-numeric left operand; it subtracts ticks and ignores the values' Kind
    (https://learn.microsoft.com/en-us/dotnet/api/system.datetime.op_subtraction; MicrosoftDocs/PowerShell-Docs
    reference/3.0/Microsoft.PowerShell.Core/About/about_Arithmetic_Operators.md). Anything else is refused by
    name (stricter than a host that might convert it)."""
    if isinstance(right, datetime):
        return left.replace(tzinfo=None) - right.replace(tzinfo=None)
    if isinstance(right, timedelta):
        return left - right
    raise PSRuntimeError(f"The simulator does not support subtracting [{type_name_of(right)}] from a [DateTime]; "
                         "subtract a [DateTime] or a [TimeSpan].", "NotSupported", "NotImplemented")


def _remainder(a: Any, b: Any) -> Any:
    """.NET's % (C#'s remainder, which PowerShell's % is: about_Arithmetic_Operators, 3.0, "Returns the remainder
    of a division operation"): truncated division, so the result has the dividend's sign (-7 % 3 is -1; Python's
    % would give 2). By zero it fails as / does (audit M L8)."""
    if b == 0:
        raise PSRuntimeError("Attempted to divide by zero.", "RuntimeException", "NotSpecified")
    if isinstance(a, float) or isinstance(b, float):
        return math.fmod(a, b)
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _arith(left: Any, right: Any, fn: Callable[[Any, Any], Any], method: str) -> Any:
    """Numeric arithmetic. An array operand fails here: only + and * "operate on strings, arrays, and hash
    tables", and "Windows PowerShell tries to convert all the objects in the operation to the .NET Framework
    type of the first object ... If it fails to convert any of the objects, the operation fails"
    (MicrosoftDocs/PowerShell-Docs reference/3.0/Microsoft.PowerShell.Core/About/about_Arithmetic_Operators.md).
    So `@(1) - 1` and `1 + @(2)` fail although the array holds one number (the simulator used to unwrap it;
    audit M L1); + and * with the array on the left never get here (add, binary)."""
    if isinstance(left, list) or isinstance(right, list):
        raise _no_operator(left, right, method)
    if isinstance(left, (PSObject, PSHashtable, ScriptBlock)) or isinstance(right, (PSObject, PSHashtable)):
        raise PSRuntimeError(f"Method invocation failed because [{type_name_of(left)}] does not contain a method "
                             "named 'op_Addition'.", "MethodNotFound", "InvalidOperation")
    return fn(to_number(left), to_number(right))


def _no_operator(left: Any, right: Any, method: str) -> PSRuntimeError:
    """The error of arithmetic on an array: "Method invocation failed because [System.Object[]] does not contain a
    method named 'op_Subtraction'." (MethodNotFound), the text Windows PowerShell gives for `@(..) - n`, and for
    `n + @(..)` too, naming the array (reports of 5.1 hosts, e.g. a `$myArray[0 + 6..8 + -1]` that fails with
    op_Addition on [System.Object[]]; the 3.0 text of the number-first case is unverified: docs/real-hosts.md)."""
    array = left if isinstance(left, list) else right
    return PSRuntimeError(f"Method invocation failed because [{type_name_of(array)}] does not contain a method "
                          f"named '{method}'.", "MethodNotFound", "InvalidOperation")


def _no_conversion(value: Any) -> PSRuntimeError:
    """An array where a number must be (the count of `* n`): PowerShell's "Cannot convert the "System.Object[]"
    value of type "System.Object[]" to type "System.Int32"." (its LanguagePrimitives conversion error)."""
    name = type_name_of(value)
    return PSRuntimeError(f'Cannot convert the "{name}" value of type "{name}" to type "System.Int32".',
                          "ConvertToFinalInvalidCastException", "InvalidArgument")
