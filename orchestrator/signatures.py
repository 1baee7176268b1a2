"""Cmdlet parameter signatures per Windows version, read from the shipped data files only.

`data/hyperv-cmdlets.json` is Microsoft's reference (Hyper-V, ServerManager, DISM, ScheduledTasks) with the
2012 R2 docset as baseline, `since` notes for later additions and `absent_from_2012_docset` for what 2012
lacks. `data/extra-cmdlets.json` (same schema) adds the general cmdlets the templates use. Both the renderer
(to emit only parameters the target host has) and the simulator's binder (to judge a call as that host
would) ask this module; neither keeps per-cmdlet parameter lists in code.

Versions are Windows NT versions as strings: "6.2" (2012), "6.3" (2012 R2), "10.0" (2016 and later).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from orchestrator.resources import data_file

DEFAULT_VERSION = "6.3"
KNOWN_VERSIONS = ("6.2", "6.3", "10.0")
_DATA_FILES = ("hyperv-cmdlets.json", "extra-cmdlets.json")
# A `since` docset name -> the first Windows version that has the parameter.
_DOCSET_VERSION = {
    "winserver2016-ps": "10.0",
    "winserver2019-ps": "10.0",
    "winserver2022-ps": "10.0",
    "winserver2025-ps": "10.0",
}
# The in-box Windows PowerShell of each Windows version (pwsh_level has the sources), and the version that
# introduced each newer common parameter (about_CommonParameters: PipelineVariable "introduced in Windows
# PowerShell 4.0", InformationAction/InformationVariable "introduced in PowerShell 5.0"; the notes of
# `common_parameters` in hyperv-cmdlets.json quote them).
_POWERSHELL_OF = {"6.2": (3, 0), "6.3": (4, 0), "10.0": (5, 1)}
_COMMON_SINCE = {"PipelineVariable": (4, 0), "InformationAction": (5, 0), "InformationVariable": (5, 0)}


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str
    mandatory: bool = False
    position: int | None = None
    pipeline_by: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    accepted_values: tuple[str, ...] = ()

    @property
    def is_switch(self) -> bool:
        return self.type == "SwitchParameter"


@dataclass(frozen=True, slots=True)
class ParameterSet:
    name: str
    parameters: tuple[Parameter, ...]
    default: bool = False

    def get(self, name: str) -> Parameter | None:
        lowered = name.lower()
        return next((p for p in self.parameters if p.name.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class CmdletSignature:
    """A cmdlet as one Windows version has it: its parameter sets, and the common parameters it accepts."""

    name: str
    version: str
    parameter_sets: tuple[ParameterSet, ...]
    common: tuple[Parameter, ...]

    @property
    def default_set(self) -> ParameterSet | None:
        return next((s for s in self.parameter_sets if s.default), None)

    def parameter_names(self) -> frozenset[str]:
        names = {p.name for s in self.parameter_sets for p in s.parameters}
        names.update(p.name for p in self.common)
        return frozenset(names)


def normalize_version(version: str | None) -> str:
    """'6.3.9600' -> '6.3'; anything from 10 on -> '10.0'; None -> the 2012 R2 default."""
    if not version:
        return DEFAULT_VERSION
    parts = str(version).split(".")
    try:
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 else 0
    except ValueError as exc:
        raise ValueError(f"not a Windows version: {version!r} (expected e.g. 6.2, 6.3 or 10.0)") from exc
    if major >= 10:
        return "10.0"
    if (major, minor) <= (6, 2):
        return "6.2"
    return "6.3"


@cache
def _raw() -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    common: list[dict[str, Any]] = []
    for name in _DATA_FILES:
        path = data_file(name)
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, value in data.items():
            if key == "common_parameters":
                common.extend(value.get("parameters", []))
            elif not key.startswith("_") and isinstance(value, dict) and "parameter_sets" in value:
                merged[key] = value
    merged["__common__"] = {"parameters": common}
    return merged


@cache
def cmdlet_names() -> frozenset[str]:
    return frozenset(k for k in _raw() if not k.startswith("__"))


def _exists(raw: dict[str, Any], version: str) -> bool:
    """`absent_from_2012_docset` lists parameters 2012 lacks, or is a sentence when the whole cmdlet is missing
    from the 2012 docset (Set-VMFirmware: "cmdlet page not present in docset/winserver2012-ps"; generation 2
    VMs and their firmware came with 2012 R2). Read as a list, that sentence was a set of its letters, and the
    cmdlet bound on 2012: more lenient than the host, which does not have it."""
    return not (version == "6.2" and isinstance(raw.get("absent_from_2012_docset"), str))


@cache
def available(cmdlet: str, version: str | None = None) -> bool:
    """Does the cmdlet exist on that Windows version (as far as the shipped data knows it)? Cached: the
    simulator asks it for every command call, and the shipped data does not change within a process."""
    key = {k.lower(): k for k in cmdlet_names()}.get(cmdlet.lower())
    return key is not None and _exists(_raw()[key], normalize_version(version))


def _param(raw: dict[str, Any], *, alias_key: str = "aliases") -> Parameter:
    aliases = raw.get(alias_key) or raw.get("alias") or ()
    if isinstance(aliases, str):
        aliases = (aliases,)
    return Parameter(
        name=raw["name"],
        type=raw.get("type", "Object"),
        mandatory=bool(raw.get("mandatory", False)),
        position=raw.get("position"),
        pipeline_by=tuple(raw.get("pipeline_by") or ()),
        aliases=tuple(aliases),
        accepted_values=tuple(raw.get("accepted_values") or ()),
    )


@cache
def signature(cmdlet: str, version: str | None = None) -> CmdletSignature:
    """The cmdlet's signature on that Windows version. Raises KeyError for a cmdlet the data does not know."""
    version = normalize_version(version)
    by_lower = {k.lower(): k for k in cmdlet_names()}
    key = by_lower.get(cmdlet.lower())
    if key is None:
        raise KeyError(cmdlet)
    raw = _raw()[key]
    if not _exists(raw, version):
        raise KeyError(f"{key} does not exist on Windows {version}: its docset has no page for it")
    absent = set(raw.get("absent_from_2012_docset", ())) if version == "6.2" else set()
    absent_sets = _newer_than_powershell(raw, version, absent)
    sets: list[ParameterSet] = []
    baseline = {s["name"] for s in raw["parameter_sets"]}
    later = _later_parameters(raw) if version == "10.0" else {}
    for raw_set in raw["parameter_sets"]:
        if raw_set["name"] in absent_sets:
            continue
        params = [_param(p) for p in raw_set["parameters"] if p["name"] not in absent]
        if version == "10.0":
            for name, since in later.items():
                wanted = since.get("parameter_sets") or [raw_set["name"]]
                only_new_sets = not any(w in baseline for w in wanted)
                if only_new_sets and since.get("mandatory"):
                    continue  # it defines a set of its own (e.g. Get-VMHost -CimSession), added below
                if raw_set["name"] in wanted or raw_set["name"] == "__AllParameterSets" or only_new_sets:
                    params.append(_param({"name": name, **since, "mandatory": False} if only_new_sets
                                         else {"name": name, **since}))
            params = _apply_later_changes(raw, raw_set["name"], params)
        sets.append(ParameterSet(raw_set["name"], tuple(params), bool(raw_set.get("default", False))))
    for set_name in _new_sets(later, baseline):
        params = [_param({"name": name, **since}) for name, since in later.items()
                  if set_name in (since.get("parameter_sets") or ())]
        sets.append(ParameterSet(set_name, tuple(params), False))
    return CmdletSignature(key, version, tuple(sets), common_parameters(version))


@cache
def common_parameters(version: str | None = None) -> tuple[Parameter, ...]:
    """The common parameters every cmdlet takes under that Windows version's Windows PowerShell."""
    version = normalize_version(version)
    return tuple(
        _param(p)
        for p in _raw()["__common__"]["parameters"]
        if _POWERSHELL_OF[version] >= _COMMON_SINCE.get(p["name"], (0, 0))
    )


def _newer_than_powershell(raw: dict[str, Any], version: str, absent: set[str]) -> set[str]:
    """Add to `absent` the parameters the 5.1 page lists that this version's Windows PowerShell lacks
    (`powershell_since` in extra-cmdlets.json, each with its page's sentence); returns the parameter sets
    that came with them (Select-Object's SkipLastParameter), which that version does not have either."""
    sets: set[str] = set()
    for name, since in (raw.get("powershell_since") or {}).items():
        introduced = tuple(int(part) for part in since["version"].split("."))
        if _POWERSHELL_OF[version] < introduced:
            absent.add(name)
            sets.update(since.get("parameter_sets") or ())
    return sets


def _later_parameters(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `since` parameters a 2016-or-later host has."""
    return {
        name: since
        for name, since in (raw.get("since") or {}).items()
        if _DOCSET_VERSION.get(since.get("first_docset", ""), "10.0") == "10.0"
    }


def _new_sets(later: dict[str, dict[str, Any]], baseline: set[str]) -> list[str]:
    """Parameter sets a later docset adds around a mandatory new parameter (Get-VMHost's `CimSession` set).

    Such a parameter must not become mandatory in the baseline sets: it is an alternative way to call the
    cmdlet. Optional parameters that name only new sets are added to the baseline sets as optional instead.
    """
    names: list[str] = []
    for since in later.values():
        wanted = since.get("parameter_sets") or []
        if since.get("mandatory") and wanted and not any(w in baseline for w in wanted):
            names.extend(w for w in wanted if w not in names)
    return names


_ALIAS_CHANGE = re.compile(r"-(?P<param>\w+) gains parameter alias\(es\) (?P<aliases>\[.*\])")
_POSITION_CHANGE = re.compile(r"set (?P<set>[\w ]+): -(?P<param>\w+) position (?P<old>\w+) -> (?P<new>\w+)")


def _apply_later_changes(raw: dict[str, Any], set_name: str, params: list[Parameter]) -> list[Parameter]:
    """Fold in the alias and position changes the 2016 docset records; other notes do not affect binding."""
    for change in raw.get("later_changes", ()):
        if alias := _ALIAS_CHANGE.search(change):
            added = tuple(json.loads(alias["aliases"].replace("'", '"')))
            params = [
                replace(p, aliases=p.aliases + added) if p.name == alias["param"] else p for p in params
            ]
        elif (moved := _POSITION_CHANGE.search(change)) and moved["set"] == set_name:
            position = None if moved["new"] == "None" else int(moved["new"])
            params = [replace(p, position=position) if p.name == moved["param"] else p for p in params]
    return params


@cache
def parameters(cmdlet: str, version: str | None = None) -> frozenset[str]:
    """Every parameter name the cmdlet accepts on that version, common parameters included (built once per
    cmdlet and version: the simulator's ShouldProcess check asks for every mutating call)."""
    return signature(cmdlet, version).parameter_names()


@cache
def has_parameter(cmdlet: str, parameter: str, version: str | None = None) -> bool:
    """Whether the cmdlet takes that parameter (any case) on that version: shipped data, so asked once per
    question (the simulator asks it for every mutating call, through ShouldProcess)."""
    lowered = parameter.lower()
    return any(name.lower() == lowered for name in parameters(cmdlet, version))
