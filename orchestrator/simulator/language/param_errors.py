"""The binding errors of a script's own functions: a named parameter without its value, a [bool] or [switch]
given something else than a Boolean or a number, a Mandatory parameter left out or given $null or ''.

The texts are Windows PowerShell's, as its users report them for script parameters:
- "Missing an argument for parameter 'CustomerID'. Specify a parameter of type 'System.Object' and try again."
  (MissingArgument; AngryProgrammerInside/InstallAgent#2, a script's untyped parameter; 'System.String' for a
  [string] one in DrEmpiricism/Optimize-Offline#38).
- "Cannot process argument transformation on parameter 'noop'. Cannot convert value "System.String" to type
  "System.Boolean". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."
  (ParameterArgumentTransformationError; the resource string CannotConvertStringToBool of
  PSDesiredStateConfiguration, Microsoft's KB 2872435 for an empty value); a [switch] names
  System.Management.Automation.SwitchParameter. PowerShell/PowerShell#4069: only casts, not parameters, turn
  anything into a Boolean.
- "Cannot process command because of one or more missing mandatory parameters: A B." in a session that cannot
  prompt (MissingMandatoryParameter; pester/Pester#2964: "a missing mandatory parameter fails instead of
  hanging" with -NonInteractive, as the orchestrator's WinRM sessions are), and "Cannot bind argument to
  parameter 'A' because it is null." / "... because it is an empty string." for a Mandatory parameter without
  [AllowNull]/[AllowEmptyString] (the same rule as binder._refuse_null for cmdlets).
The exact texts on 3.0/4.0 for script functions are unverified (docs/real-hosts.md); each fails the call either
way, which is what matters to a template.
"""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.language.values import PSRuntimeError, type_name_of

_NET_NAMES = {
    "string": "System.String", "int": "System.Int32", "int32": "System.Int32", "long": "System.Int64",
    "int64": "System.Int64", "bool": "System.Boolean", "boolean": "System.Boolean", "datetime": "System.DateTime",
    "guid": "System.Guid", "hashtable": "System.Collections.Hashtable", "scriptblock":
    "System.Management.Automation.ScriptBlock", "object": "System.Object", "double": "System.Double",
    "switch": "System.Management.Automation.SwitchParameter",
}
BOOLEAN_TYPES = frozenset({"bool", "boolean", "system.boolean", "switch"})  # the types `boolean` checks


def net_type(type_name: str | None) -> str:
    """A parameter's type as PowerShell names it in an error: System.Object when it has none."""
    if not type_name:
        return "System.Object"
    array = type_name.endswith("[]")
    base = type_name[:-2] if array else type_name
    return _NET_NAMES.get(base, base) + ("[]" if array else "")


def missing_argument(name: str, type_name: str | None) -> PSRuntimeError:
    return PSRuntimeError(f"Missing an argument for parameter '{name}'. Specify a parameter of type "
                          f"'{net_type(type_name)}' and try again.", "MissingArgument", "InvalidArgument")


def boolean(name: str, type_name: str, value: Any) -> bool:
    """A [bool] or [switch] parameter's value: a Boolean, or a number (0 is $false); anything else fails."""
    if isinstance(value, (bool, int, float)):
        return bool(value)
    shown = "" if value is None else type_name_of(value)
    raise PSRuntimeError(f"Cannot process argument transformation on parameter '{name}'. Cannot convert value "
                         f'"{shown}" to type "{net_type(type_name)}". Boolean parameters accept only Boolean '
                         "values and numbers, such as $True, $False, 1 or 0.", "ParameterArgumentTransformationError",
                         "InvalidData")


def missing_mandatory(names: list[str]) -> PSRuntimeError:
    return PSRuntimeError("Cannot process command because of one or more missing mandatory parameters: "
                          f"{' '.join(names)}.", "MissingMandatoryParameter", "InvalidArgument")


def refuse_empty(name: str, value: Any) -> None:
    """A Mandatory parameter given $null, or '' (a [string] one converts $null to '' too)."""
    if value is None:
        raise PSRuntimeError(f"Cannot bind argument to parameter '{name}' because it is null.",
                             "ParameterArgumentValidationErrorNullNotAllowed", "InvalidData")
    if value == "" and isinstance(value, str):
        raise PSRuntimeError(f"Cannot bind argument to parameter '{name}' because it is an empty string.",
                             "ParameterArgumentValidationErrorEmptyStringNotAllowed", "InvalidData")
