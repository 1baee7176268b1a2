"""Ansible-style YAML inventory -> the typed model, with every problem as a Finding (never an exception).

    inventory = load_inventory("inventories/demo.yaml")
    inventory.hosts["hv01"].vms          # typed VMSpecs, classrooms expanded, floors applied
    inventory.hostvars["hv01"]           # effective variables as defined (for `inventory --list`)
    inventory.findings                   # YAML, shape, type and MultiPoint-rule problems with file:line

The stages, one module each: yaml_source (safe, line-tracking YAML), resolve (Ansible's groups and
precedence) with vars_dirs (group_vars/host_vars), lookup (env lookups), typed + typed_vms + credentials
(typed specs), then orchestrator.rules (pure checks over the model).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from orchestrator.inventory.fields import Reader
from orchestrator.inventory.lookup import env_lookup_name
from orchestrator.inventory.resolve import Resolved, resolve
from orchestrator.inventory.typed import HostBuilder, check_definitions
from orchestrator.inventory.vars_dirs import VarsDirs
from orchestrator.inventory.yaml_source import Origin, TMap, YamlProblem, load_yaml_file
from orchestrator.masking import mask
from orchestrator.model import Finding, Group, HostSpec, Inventory, Secret
from orchestrator.rules import check_inventory

__all__ = ["SECRET_VARS", "load_inventory"]

SECRET_VARS = frozenset(
    {
        "ansible_password",
        "ansible_winrm_password",
        "ansible_ssh_pass",
        "ansible_become_password",
        "ansible_become_pass",
    }
)
_MIN_SCRUB = 4


def load_inventory(
    path: str | os.PathLike[str],
    *,
    ask_pass: Callable[[str], str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Inventory:
    """Load, resolve, type and check one inventory file. Never raises for bad input.

    `ask_pass(label)` is called (once per user; label is `user@host`) for WinRM hosts that need a password
    and have none from ansible_password or orchestrate_password_file. `environ` replaces os.environ for
    env lookups (tests).
    """
    shown = os.fspath(path)
    file = Path(shown)
    try:
        data = load_yaml_file(file, shown)
    except YamlProblem as problem:
        return _failed(shown, [_problem(problem)])
    if data is None or (isinstance(data, dict) and not data):
        return _failed(
            shown,
            [
                Finding(
                    "error",
                    "the inventory is empty",
                    "add all: {hosts: {...}} (see inventories/demo.yaml)",
                    Origin(shown).location,
                )
            ],
        )
    if not isinstance(data, TMap):
        origin = getattr(data, "origin", Origin(shown))
        return _failed(
            shown,
            [
                Finding(
                    "error",
                    f"the top level must be a mapping of groups (all: ...), not a {_kind(data)}",
                    "start the file with 'all:' and put hosts:, vars:, children: under it",
                    origin.location,
                )
            ],
        )
    base_dir = file.resolve().parent
    resolved = resolve(data, file, shown, VarsDirs(base_dir, os.path.dirname(shown)))
    if resolved.refused:
        return _failed(shown, resolved.findings)
    reader = Reader(environ=environ)
    builder = HostBuilder(reader, base_dir, shown, ask_pass)
    check_definitions(resolved.definitions, reader, builder.credentials)
    hosts: dict[str, HostSpec] = {}
    partial: dict[str, HostSpec] = {}
    for name in resolved.hosts:
        spec, complete = builder.build(
            name,
            resolved.hostvars[name],
            resolved.origins[name],
            resolved.host_groups[name],
            resolved.hosts[name].origin,
        )
        partial[name] = spec
        if complete:
            hosts[name] = spec
    groups = _groups(resolved)
    hostvars = {name: _masked(variables) for name, variables in resolved.hostvars.items()}
    # The rules see every host as far as it type-checked, so one run reports every problem.
    checked = Inventory(path=shown, hosts=partial, groups=groups, hostvars=hostvars)
    inventory = Inventory(path=shown, hosts=hosts, groups=groups, hostvars=hostvars)
    findings = [*resolved.findings, *reader.findings, *check_inventory(checked)]
    # every password whatever its length; other env values from 4 characters (a port `8` is not a secret)
    secrets = {v for v in reader.env_values if len(v) >= _MIN_SCRUB} | builder.credentials.secrets
    return Inventory(
        path=inventory.path,
        hosts=inventory.hosts,
        groups=inventory.groups,
        hostvars=inventory.hostvars,
        findings=tuple(_scrubbed(_unique(findings), secrets)),
    )


def _failed(shown: str, findings: list[Finding]) -> Inventory:
    return Inventory(path=shown, hosts={}, groups={}, hostvars={}, findings=tuple(findings))


def _problem(problem: YamlProblem) -> Finding:
    return Finding("error", problem.message, problem.fix, problem.origin.location, problem.origin.path)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _groups(resolved: Resolved) -> dict[str, Group]:
    return {
        name: Group(
            name=name,
            hosts=tuple(node.hosts),
            children=tuple(node.children),
            vars=_masked(node.vars),
        )
        for name, node in resolved.groups.items()
    }


def _masked(variables: Mapping[Any, Any]) -> dict[Any, Any]:
    """The variables as defined, with literal secrets as Secret (env lookups stay as their template text)."""
    result = dict(variables)
    for key in SECRET_VARS & set(k for k in result if isinstance(k, str)):
        value = result[key]
        if value is not None and env_lookup_name(value) is None:
            result[key] = Secret(str(value))
    return result


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    """Drop repeats (a group variable checked once per host), then order by file, line and column."""
    seen: set[tuple[Any, ...]] = set()
    unique: list[Finding] = []
    for finding in findings:
        key = (finding.severity, finding.message, finding.fix, finding.location, finding.path)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return sorted(
        unique,
        key=lambda f: (f.location.file, f.location.line, f.location.column) if f.location else ("", 0, 0),
    )


def _scrubbed(findings: list[Finding], secrets: set[str]) -> list[Finding]:
    """Defence in depth: no secret or env value may appear in a message, whatever a rule wrote."""
    result = []
    for finding in findings:
        message, fix = mask(finding.message, secrets), mask(finding.fix, secrets)  # whole values only
        if (message, fix) != (finding.message, finding.fix):
            finding = Finding(finding.severity, message, fix, finding.location, finding.path)
        result.append(finding)
    return result
