"""Parameter binding: a call's arguments -> one parameter set of a cmdlet signature, by PowerShell's rules.

The binder reads signatures only through orchestrator.signatures (the shipped data), so it knows no cmdlet
by name and no Hyper-V: full names, unique prefixes and aliases, switches and `-Switch:$false`, positional
arguments, pipeline input ByValue (exact type first, then with conversion) and ByPropertyName, the default set
when several fit, and PowerShell's wording for every way a call can fail to bind.

Sources: MicrosoftDocs/PowerShell-Docs reference/3.0/Microsoft.PowerShell.Core/About/about_Parameters.md
(named and positional parameters, "Accepts Multiple Values?", pipeline input "by Value" tried "before it tries
other methods", then "by Property Name"), about_Command_Syntax.md (parameter sets, switch parameters) and
about_CommonParameters.md. Where they are silent (the exact order of conversions), the binder refuses what a
real host might accept: stricter, never more lenient.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.signatures import CmdletSignature, Parameter, ParameterSet
from orchestrator.simulator.language import dotnet
from orchestrator.simulator.language.serialization import PREFIX, is_deserialized
from orchestrator.simulator.language.values import (
    Guid,
    PSEnum,
    PSHashtable,
    PSObject,
    PSRuntimeError,
    ScriptBlock,
    to_datetime,
    to_int,
    to_string,
    type_name_of,
)


class BindingError(PSRuntimeError):
    """A call that PowerShell would refuse before the cmdlet runs."""


@dataclass(slots=True)
class BoundCall:
    cmdlet: str
    parameter_set: str
    params: dict[str, Any]
    pipeline_parameter: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.params

    def one(self, name: str, default: Any = None) -> Any:
        """A parameter typed as an array (String[]) where the cmdlet acts on its first value."""
        value = self.params.get(name, default)
        if isinstance(value, list):
            return value[0] if value else default
        return value


_INT_TYPES = frozenset({"int32", "int64", "uint64", "uint32", "int16", "uint16", "byte", "long", "int"})
# Each integer type's range: a value outside it fails the conversion ("Value was either too large or too
# small for an Int32.", the .NET OverflowException PowerShell's binder reports; audit F, L5).
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int": (-(2**31), 2**31 - 1), "int16": (-(2**15), 2**15 - 1),
               "uint16": (0, 2**16 - 1), "byte": (0, 255), "uint32": (0, 2**32 - 1), "int64": (-(2**63), 2**63 - 1),
               "long": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1)}
_NET_INT_NAMES = {"int32": "Int32", "int": "Int32", "int16": "Int16", "uint16": "UInt16", "byte": "Byte",
                  "uint32": "UInt32", "int64": "Int64", "long": "Int64", "uint64": "UInt64"}
_NET_NAMES = {
    "string": "System.String", "int32": "System.Int32", "int64": "System.Int64", "uint64": "System.UInt64",
    "uint32": "System.UInt32", "int16": "System.Int16", "boolean": "System.Boolean", "datetime": "System.DateTime",
    "guid": "System.Guid", "scriptblock": "System.Management.Automation.ScriptBlock", "object": "System.Object",
    "hashtable": "System.Collections.Hashtable", "switchparameter": "System.Management.Automation.SwitchParameter",
}


def _net_type(type_name: str) -> str:
    array = type_name.endswith("[]")
    base = type_name[:-2] if array else type_name
    full = _NET_NAMES.get(base.lower(), base)
    return full + ("[]" if array else "")


def _error(message: str, error_id: str, cmdlet: str, category: str = "InvalidArgument") -> BindingError:
    return BindingError(message, error_id, category, command=cmdlet)


class _Named:
    __slots__ = ("has_value", "line", "param", "text", "value")

    def __init__(self, param: Parameter, text: str, value: Any, has_value: bool) -> None:
        self.param = param
        self.text = text
        self.value = value
        self.has_value = has_value


def call_shape(args: list[tuple[Any, ...]], has_pipeline: bool) -> tuple[Any, ...]:
    """What a call's binding depends on besides its values: pipeline or not, then per argument None for a
    positional one, the name for a named one with its value, (name,) for a name alone."""
    return (has_pipeline, *[None if a[0] == "a" else a[1] if a[3] else (a[1],) for a in args])


def bind(sig: CmdletSignature, args: list[tuple[Any, ...]], pipeline_item: Any = None,
         has_pipeline: bool = False, shapes: tuple[tuple[Any, ...], tuple[Any, ...]] | None = None,
         index: _Index | None = None) -> BoundCall:
    """Bind one invocation. `pipeline_item` is the current pipeline object when `has_pipeline`. `shapes`: the
    call's `call_shape` without and with a pipeline, when its call site knows them (no splatting: the
    compiled command, language/compiler.py); `index`: `binding_index(sig)`, when the caller keeps it."""
    if index is None:
        index = binding_index(sig)
    shape = shapes[has_pipeline] if shapes is not None else call_shape(args, has_pipeline)
    plan = index.plans.get(shape, _UNPLANNED)
    if plan is _UNPLANNED:
        plan = index.plans[shape] = _plan(sig, index, args, has_pipeline)
    if plan is not None:
        return _bind_planned(sig.name, plan, args, pipeline_item, has_pipeline)
    return _bind(sig, index, args, pipeline_item, has_pipeline)


class _Plan:
    """How every call of one shape binds (which argument goes to which parameter of which set), when that
    depends on the shape alone: the names fit one parameter set, and the arguments bind to it without a
    binding error. What is left per call is what `_try_set` does with the values, in its order: convert
    them, bind the pipeline object, check the mandatory parameters."""

    __slots__ = ("finish", "named", "positional", "sindex")

    def __init__(self, sindex: _SetIndex, named: list[tuple[str, Parameter, int, int, bool]],
                 positional: list[tuple[str, Parameter, int]], finish: bool) -> None:
        self.sindex = sindex
        self.named = named  # (key, the set's parameter, argument index, tuple slot of the value, has_value)
        self.positional = positional  # (key, the set's parameter, argument index)
        self.finish = finish  # a pipeline to bind or a mandatory parameter to check (else nothing can fail there)


_UNPLANNED = object()


def _plan(sig: CmdletSignature, index: _Index, args: list[tuple[Any, ...]], has_pipeline: bool) -> _Plan | None:
    """The plan of this call's shape, or None when a call of it must go through `_bind` (several sets fit the
    names, or the arguments fail to bind whatever their values: `_bind` then raises that error each time)."""
    named: list[tuple[str, Parameter, int, int, bool]] = []
    positional: list[int] = []
    keys: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg[0] == "a":
            positional.append(i)
            i += 1
            continue
        text, has_value = arg[1], arg[3]
        param = index.resolved.get(text)
        if param is None:
            try:
                param = _resolve_name(text, index.all, sig.name)
            except BindingError:
                return None
        if param.name in keys:
            return None
        at, slot = i, 2
        if not has_value and not param.is_switch:
            if i + 1 < len(args) and args[i + 1][0] == "a":
                at, slot, has_value = i + 1, 1, True
                i += 1
            else:
                return None
        keys.add(param.name)
        named.append((param.name, param, at, slot, has_value))
        i += 1
    candidates = [s for s in sig.parameter_sets
                  if all(k in index.common or k in index.sets[s.name].by_name for k, *_ in named)]
    if len(candidates) != 1:
        return _argless_plan(sig, index) if not args and not has_pipeline else None
    sindex = index.sets[candidates[0].name]
    free = [p for p in sindex.slots if p.name not in keys]
    if len(positional) > len(free):
        return None
    placed = [(p.name, p, at) for p, at in zip(free, positional, strict=False)]
    given = keys.union(p.name for p in free[:len(positional)])
    finish = has_pipeline or any(name not in given for name in sindex.mandatory)
    return _Plan(sindex, [(k, sindex.by_name.get(k) or p, at, slot, hv) for k, p, at, slot, hv in named], placed,
                 finish)


def _argless_plan(sig: CmdletSignature, index: _Index) -> _Plan | None:
    """The plan of a call with no argument and no pipeline object (`Get-VM` alone, 26 of a converge's 275
    bindings) when several sets fit its (no) names. Which set binds then follows from the signature alone:
    `_bind` tries every set with nothing to convert and picks by its default-set rules, so its answer is
    the same for every such call; it is asked once. A call of that shape that fails to bind (a set with a
    mandatory parameter wins) is not planned, so `_bind` raises its error afresh each time."""
    try:
        chosen = _bind(sig, index, [], None, False)
    except BindingError:
        return None
    return _Plan(index.sets[chosen.parameter_set], [], [], False)


def _bind_planned(cmdlet: str, plan: _Plan, args: list[tuple[Any, ...]], pipeline_item: Any,
                  has_pipeline: bool) -> BoundCall:
    """`_bind` for a planned shape: `_try_set`'s steps on the planned set, so the same values and errors."""
    bound: dict[str, Any] = {}
    for key, param, at, slot, has_value in plan.named:
        bound[key] = convert(param, args[at][slot], has_value, cmdlet)
    for key, param, at in plan.positional:
        bound[key] = convert(param, args[at][1], True, cmdlet, error_id="CannotConvertArgument")
    if not plan.finish:
        return BoundCall(cmdlet, plan.sindex.pset.name, bound, None)
    pipe_param = _finish_set(plan.sindex, bound, pipeline_item, has_pipeline, cmdlet)
    return BoundCall(cmdlet, plan.sindex.pset.name, bound, pipe_param.lstrip("!") if pipe_param else None)


def _bind(sig: CmdletSignature, index: _Index, args: list[tuple[Any, ...]], pipeline_item: Any,
          has_pipeline: bool) -> BoundCall:
    cmdlet = sig.name
    all_params = index.all
    named: dict[str, _Named] = {}
    positional: list[Any] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg[0] == "a":
            positional.append(arg[1])
            i += 1
            continue
        _, text, value, has_value, _line = arg
        param = index.resolved.get(text)
        if param is None:
            param = index.resolved[text] = _resolve_name(text, all_params, cmdlet)
        key = param.name
        if key in named:
            raise _error(f"Cannot bind parameter because parameter '{key}' is specified more than once. To provide "
                         "multiple values to parameters that can accept multiple values, use the array syntax. For "
                         'example, "-parameter value1,value2,value3".', "ParameterAlreadyBound", cmdlet)
        if not has_value and not param.is_switch:
            if i + 1 < len(args) and args[i + 1][0] == "a":
                value = args[i + 1][1]
                has_value = True
                i += 1
            else:
                raise _error(f"Missing an argument for parameter '{key}'. Specify a parameter of type "
                             f"'{_net_type(param.type)}' and try again.", "MissingArgument", cmdlet)
        named[key] = _Named(param, text, value, has_value)
        i += 1

    common_names = index.common
    names_key = tuple(named)
    candidates = index.candidates.get(names_key)
    if candidates is None:
        candidates = index.candidates[names_key] = [
            s for s in sig.parameter_sets if all(n in common_names or n in index.sets[s.name].by_name for n in named)]
    if not candidates:
        raise _error("Parameter set cannot be resolved using the specified named parameters.",
                     "AmbiguousParameterSet", cmdlet)
    if len(candidates) == 1:
        # One set fits the names (the usual case): its result or its error is the answer, as below.
        pset, params, pipe_param, _ = _try_set(sig, index.sets[candidates[0].name], named, positional,
                                               pipeline_item, has_pipeline)
        return BoundCall(cmdlet, pset.name, params, pipe_param.lstrip("!") if pipe_param else None)

    viable: list[tuple[ParameterSet, dict[str, Any], str | None, int]] = []
    failures: list[BindingError] = []
    for pset in candidates:
        try:
            viable.append(_try_set(sig, index.sets[pset.name], named, positional, pipeline_item, has_pipeline))
        except BindingError as err:
            failures.append(err.with_traceback(None))  # kept past its frames: no cycle through them
    if not viable:
        if len(failures) == 1 or (len({f.error_id for f in failures}) == 1):
            raise failures[0]
        default = sig.default_set
        for pset, err in zip(candidates, failures, strict=False):
            if default is not None and pset.name == default.name:
                raise err
        positional_failure = next((f for f in failures if f.error_id == "PositionalParameterNotFound"), None)
        if positional_failure is not None and all(
            f.error_id in ("PositionalParameterNotFound", "CannotConvertArgument") for f in failures
        ):
            raise positional_failure
        missing = next((f for f in failures if f.error_id == "MissingMandatoryParameter"), None)
        if missing is not None and not has_pipeline:
            raise missing
        if has_pipeline and any(f.error_id == "InputObjectNotBound" for f in failures):
            raise next(f for f in failures if f.error_id == "InputObjectNotBound")
        raise _error("Parameter set cannot be resolved using the specified named parameters.",
                     "AmbiguousParameterSet", cmdlet)
    if len(viable) > 1:
        # PowerShell binds positional arguments without type conversion first: keep the sets that needed least.
        fewest = min(v[3] for v in viable)
        viable = [v for v in viable if v[3] == fewest]
    if len(viable) > 1:
        default = sig.default_set
        chosen = next((v for v in viable if default is not None and v[0].name == default.name), None)
        if chosen is None:
            # Prefer the set that bound the pipeline object without conversion, then the one using most arguments.
            exact = [v for v in viable if v[2] is not None and v[2].startswith("!")]
            pool = exact or viable
            pool.sort(key=lambda v: -len(v[1]))
            if len(pool) > 1 and len(pool[0][1]) == len(pool[1][1]) and not exact:
                raise _error("Parameter set cannot be resolved using the specified named parameters.",
                             "AmbiguousParameterSet", cmdlet)
            chosen = pool[0]
    else:
        chosen = viable[0]
    pset, params, pipe_param, _ = chosen
    return BoundCall(cmdlet, pset.name, params, pipe_param.lstrip("!") if pipe_param else None)


class _SetIndex:
    __slots__ = ("by_name", "by_value", "mandatory", "pset", "slots")

    def __init__(self, pset: ParameterSet) -> None:
        self.pset = pset
        self.by_name = {p.name: p for p in pset.parameters}
        ordered = sorted((p for p in pset.parameters if p.position is not None),
                         key=lambda p: p.position)  # type: ignore[arg-type, return-value]
        # Several reference pages list two parameters at one position; PowerShell binds the first in order.
        seen: set[int] = set()
        self.slots: list[Parameter] = []
        for p in ordered:
            if p.position not in seen:
                seen.add(p.position)  # type: ignore[arg-type]
                self.slots.append(p)
        self.mandatory = [p.name for p in pset.parameters if p.mandatory]
        self.by_value = [p for p in pset.parameters if "ByValue" in p.pipeline_by]


class _Index:
    """What binding needs from a signature, computed once per cmdlet and Windows version."""

    __slots__ = ("all", "candidates", "common", "plans", "resolved", "sets")

    def __init__(self, sig: CmdletSignature) -> None:
        self.all = _all_parameters(sig)
        self.common = frozenset(p.name for p in sig.common)
        self.sets = {s.name: _SetIndex(s) for s in sig.parameter_sets}
        self.resolved: dict[str, Parameter] = {}
        self.candidates: dict[tuple[str, ...], list[ParameterSet]] = {}
        self.plans: dict[tuple[Any, ...], _Plan | None] = {}


_INDEXES: dict[CmdletSignature, _Index] = {}


def binding_index(sig: CmdletSignature) -> _Index:
    """What binding needs from `sig`, built once per signature; a caller may keep it with the signature
    (commands.HostCommands) and hand it to `bind`. Keyed by the whole signature, not its (cmdlet, version):
    a host whose cmdlet lacks parameters of its page (Host.cmdlet_lacks), or has another PowerShell's common
    parameters, has a signature of its own for the same page, and must not bind by another's index."""
    found = _INDEXES.get(sig)
    if found is None:
        found = _INDEXES[sig] = _Index(sig)
    return found


def _all_parameters(sig: CmdletSignature) -> dict[str, Parameter]:
    seen: dict[str, Parameter] = {}
    for s in sig.parameter_sets:
        for p in s.parameters:
            seen.setdefault(p.name, p)
    for p in sig.common:
        seen.setdefault(p.name, p)
    return seen


def _resolve_name(text: str, params: dict[str, Parameter], cmdlet: str) -> Parameter:
    lowered = text.lower()
    for p in params.values():
        if p.name.lower() == lowered or any(a.lower() == lowered for a in p.aliases):
            return p
    matches = [p for p in params.values()
               if p.name.lower().startswith(lowered) or any(a.lower().startswith(lowered) for a in p.aliases)]
    if len(matches) == 1 and lowered:
        return matches[0]
    if len(matches) > 1:
        names = " ".join(f"-{p.name}" for p in matches)
        raise _error(f"Parameter cannot be processed because the parameter name '{text}' is ambiguous. Possible "
                     f"matches include: {names}.", "AmbiguousParameter", cmdlet)
    raise _error(f"A parameter cannot be found that matches parameter name '{text}'.", "NamedParameterNotFound",
                 cmdlet)


def _try_set(sig: CmdletSignature, sindex: _SetIndex, named: dict[str, _Named], positional: list[Any],
             pipeline_item: Any, has_pipeline: bool) -> tuple[ParameterSet, dict[str, Any], str | None, int]:
    cmdlet = sig.name
    pset = sindex.pset
    bound: dict[str, Any] = {}
    for key, n in named.items():
        param = sindex.by_name.get(key) or n.param
        bound[key] = convert(param, n.value, n.has_value, cmdlet)
    coerced = 0
    free = [p for p in sindex.slots if p.name not in bound] if positional else []
    for value in positional:
        if not free:
            raise _error(f"A positional parameter cannot be found that accepts argument '{_display(value)}'.",
                         "PositionalParameterNotFound", cmdlet)
        param = free.pop(0)
        if not _exact_type(param.type, value if not isinstance(value, list) or not value else value[0]):
            coerced += 1
        bound[param.name] = convert(param, value, True, cmdlet, error_id="CannotConvertArgument")
    pipe_param = _finish_set(sindex, bound, pipeline_item, has_pipeline, cmdlet)
    if pipe_param is not None and not pipe_param.startswith("!"):
        coerced += 1
    return pset, bound, pipe_param, coerced


def _finish_set(sindex: _SetIndex, bound: dict[str, Any], pipeline_item: Any, has_pipeline: bool,
                cmdlet: str) -> str | None:
    """After the arguments: the pipeline object (its parameter, "!"-marked when bound without conversion),
    then the mandatory parameters."""
    pipe_param: str | None = None
    if has_pipeline:
        pipe_param = _bind_pipeline(sindex, bound, pipeline_item, cmdlet)
        if pipe_param is None:
            raise _error("The input object cannot be bound to any parameters for the command either because the "
                         "command does not take pipeline input or the input and its properties do not match any of "
                         "the parameters that take pipeline input.", "InputObjectNotBound", cmdlet)
    missing = [name for name in sindex.mandatory if name not in bound]
    if missing:
        raise _error("Cannot process command because of one or more missing mandatory parameters: "
                     f"{' '.join(missing)}.", "MissingMandatoryParameter", cmdlet)
    return pipe_param


def _bind_pipeline(sindex: _SetIndex, bound: dict[str, Any], item: Any, cmdlet: str) -> str | None:
    pset = sindex.pset
    by_value = [p for p in sindex.by_value if p.name not in bound]
    for p in by_value:
        if _exact_type(p.type, item):
            bound[p.name] = convert(p, item, True, cmdlet)
            return "!" + p.name
    if isinstance(item, PSObject):
        for p in pset.parameters:
            if "ByPropertyName" in p.pipeline_by and p.name not in bound:
                for name in (p.name, *p.aliases):
                    if item.has(name):
                        try:
                            bound[p.name] = convert(p, item.get(name), True, cmdlet)
                        except BindingError:
                            continue
                        return p.name
    for p in by_value:
        if _coercible(p.type, item):
            try:
                bound[p.name] = convert(p, item, True, cmdlet)
            except BindingError:
                continue
            return p.name
    return None


@functools.cache
def _base(type_name: str) -> str:
    base = type_name[:-2] if type_name.endswith("[]") else type_name
    return base.rsplit(".", 1)[-1].lower()


def _exact_type(type_name: str, item: Any) -> bool:
    base = _base(type_name)
    if base in ("object", "psobject"):
        return True
    if isinstance(item, PSObject):
        return item.is_a(base) or (base == "ciminstance" and item.type_name.startswith("Microsoft.Management.Infrastructure"))
    if isinstance(item, bool):
        return base == "boolean"
    if isinstance(item, int):
        return base in _INT_TYPES
    if isinstance(item, str):
        return base == "string"
    if isinstance(item, ScriptBlock):
        return base == "scriptblock"
    return type_name_of(item).rsplit(".", 1)[-1].lower() == base


def _coercible(type_name: str, item: Any) -> bool:
    base = _base(type_name)
    if base == "string":
        return item is not None and not isinstance(item, (PSHashtable, ScriptBlock))
    if base in _INT_TYPES:
        return isinstance(item, (int, float, str)) and not isinstance(item, bool)
    return False


def _display(value: Any) -> str:
    return to_string(value) if not isinstance(value, list) else "System.Object[]"


# Mandatory parameters that take $null or '' (their [AllowNull] / [AllowEmptyString] attributes, in
# PowerShell's source: WriteOutputCommand.InputObject, SetContentCommand/AddContentCommand.Value,
# ConvertToJsonCommand.InputObject, OutFileCommand.InputObject, JoinPathCommand.ChildPath). Any other
# mandatory parameter given one fails binding (audit F, L8).
_TAKES_NULL = frozenset({("write-output", "InputObject"), ("set-content", "Value"), ("add-content", "Value"),
                         ("convertto-json", "InputObject"), ("out-file", "InputObject"),
                         ("join-path", "ChildPath")})


def _refuse_null(param: Parameter, value: Any, cmdlet: str) -> None:
    """Windows PowerShell's binder refuses $null, and '' for a string, for a mandatory parameter without
    [AllowNull] / [AllowEmptyString]: "Cannot bind argument to parameter 'Path' because it is null." (or "an
    empty string"; PowerShell/PowerShell#8076; only PowerShell 7's Test-Path takes them, PR #8080)."""
    if (cmdlet.lower(), param.name) in _TAKES_NULL:
        return
    if value is None:
        raise _error(f"Cannot bind argument to parameter '{param.name}' because it is null.",
                     "ParameterArgumentValidationErrorNullNotAllowed", cmdlet)
    if param.type in ("String", "String[]"):
        raise _error(f"Cannot bind argument to parameter '{param.name}' because it is an empty string.",
                     "ParameterArgumentValidationErrorEmptyStringNotAllowed", cmdlet)


def convert(param: Parameter, value: Any, has_value: bool, cmdlet: str, error_id: str = "CannotConvertArgumentNoMessage"
            ) -> Any:
    """The argument converted to the parameter's declared type, as PowerShell's binder would."""
    t = param.type
    if param.mandatory and (value is None or value == "") and has_value:
        _refuse_null(param, value, cmdlet)
    if param.mandatory and has_value and type(value) is list and t.endswith("[]"):
        # Each element too: BindParameter validates a mandatory parameter with ValidateNullOrEmptyArgument(...,
        # recurseIntoCollections: true) (PowerShell's ParameterBinderBase; the same call in Windows PowerShell's),
        # so `Test-Path -LiteralPath @('C:\VMs', $null)` fails binding (audit N L9).
        for element in value:
            if element is None or element == "":
                _refuse_null(param, element, cmdlet)
    if t == "SwitchParameter":  # Parameter.is_switch, without the property call
        if not has_value:
            return True
        if isinstance(value, (bool, int)) or value is None:
            return bool(value)
        raise _error(f"Cannot process argument transformation on parameter '{param.name}'. Cannot convert value "
                     f'"{to_string(value)}" to type "System.Management.Automation.SwitchParameter". Boolean '
                     "parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
                     "ParameterArgumentTransformationError", cmdlet)
    if not param.accepted_values and type(value) is str:
        if t == "String":
            return value
        if t == "String[]":
            return [value]
    array = t.endswith("[]")
    base = _base(t)
    if not array and base in ("object", "psobject") and not param.accepted_values:
        return value
    if array and type(value) is PSObject and base not in _CONVERTING and not param.accepted_values \
            and not is_deserialized(value):
        # A live object (a VM for VirtualMachine[]...): `_convert_one` hands it through unchanged, in a
        # one-element array.
        return [value]
    if (not array and type(value) is int and base in _INT_TYPES and not base.startswith("uint") and value >= 0
            and value <= _INT_RANGES[base][1]):
        return value
    items = value if isinstance(value, list) else [value]
    if not array and isinstance(value, list) and base not in ("object", "psobject"):
        if len(value) == 1:
            items = value
        elif base in ("string",) or base in _INT_TYPES:
            raise _error(f"Cannot convert 'System.Object[]' to the type '{_net_type(t)}' required by parameter "
                         f"'{param.name}'. Specified method is not supported.", "CannotConvertArgument", cmdlet)
    try:
        converted = [_convert_one(param, base, v, cmdlet) for v in items]
    except PSRuntimeError as err:
        if isinstance(err, BindingError):
            raise
        raise _error(f"Cannot bind parameter '{param.name}'. {err.message}", error_id, cmdlet) from err
    if param.accepted_values:
        allowed = _allowed(param.accepted_values)
        for idx, v in enumerate(converted):
            text = to_string(v)
            if text.lower() not in allowed:
                raise _error(f"Cannot validate argument on parameter '{param.name}'. The argument \"{text}\" does "
                             f"not belong to the set \"{','.join(param.accepted_values)}\" specified by the "
                             "ValidateSet attribute. Supply an argument that is in the set and then try the command "
                             "again.", "ParameterArgumentValidationError", cmdlet)
            if isinstance(v, str):
                converted[idx] = allowed[text.lower()]
    if array:
        return converted
    if isinstance(value, list) and base in ("object", "psobject") and len(value) != 1:
        return value
    return converted[0] if converted else None


# The element types `_convert_one` converts a value to, or checks it against; any other passes a live object
# through unchanged.
_CONVERTING = _INT_TYPES | {"string", "boolean", "datetime", "guid", "scriptblock", "hashtable", "object",
                            "psobject"}


@functools.cache
def _allowed(values: tuple[str, ...]) -> dict[str, str]:
    """A ValidateSet by its lower-case spelling (read only)."""
    return {a.lower(): a for a in values}


def _convert_one(param: Parameter, base: str, value: Any, cmdlet: str) -> Any:
    if value is None:
        return None
    if base == "string":
        if isinstance(value, (PSHashtable,)):
            return to_string(value)
        return to_string(value)
    if base in _INT_TYPES:
        number = to_int(value, _net_type(param.type).rstrip("[]"))
        low, high = _INT_RANGES[base]
        if not low <= number <= high:
            name = _NET_INT_NAMES[base]
            article = "an" if name.startswith(("I", "U")) and name != "UInt16" else "a"
            raise PSRuntimeError(f'Cannot convert value "{number}" to type "System.{name}". Error: "Value was either '
                                 f'too large or too small for {article} {name}."', "CannotConvertArgument")
        return number
    if base == "boolean":
        if isinstance(value, (bool, int)):
            return bool(value)
        raise _error(f"Cannot process argument transformation on parameter '{param.name}'. Cannot convert value "
                     f'"{type_name_of(value)}" to type "System.Boolean". Boolean parameters accept only Boolean '
                     "values and numbers, such as $True, $False, 1 or 0.", "ParameterArgumentTransformationError",
                     cmdlet)
    if base == "datetime":
        return value if isinstance(value, datetime) else to_datetime(value)
    if base == "guid":
        return value if isinstance(value, Guid) else dotnet.cast("guid", value)
    if base == "scriptblock":
        if not isinstance(value, ScriptBlock):
            raise _error(f"Cannot bind parameter '{param.name}'. Cannot convert the \"{to_string(value)}\" value of "
                         'type "System.String" to type "System.Management.Automation.ScriptBlock".',
                         "CannotConvertArgumentNoMessage", cmdlet)
        return value
    if base == "hashtable":
        if not isinstance(value, PSHashtable):
            raise _error(f"Cannot bind parameter '{param.name}'. Cannot convert the \"{to_string(value)}\" value "
                         'to type "System.Collections.Hashtable".', "CannotConvertArgumentNoMessage", cmdlet)
        return value
    if isinstance(value, PSEnum):
        return value
    if base not in ("object", "psobject") and is_deserialized(value):
        # A job's output is a snapshot, not the live object a typed parameter wants (language/serialization.py);
        # the words are PowerShell's CannotConvertArgumentNoMessage, as for a script block above.
        live = value.type_name[len(PREFIX):]
        wanted = live if _base(live) == base else _net_type(param.type).removesuffix("[]")
        raise PSRuntimeError(f'Cannot convert the "{to_string(value)}" value of type "{value.type_name}" to type '
                             f'"{wanted}".', "CannotConvertArgumentNoMessage")
    return value
