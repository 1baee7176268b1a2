"""Ansible inventories (YAML, INI, directories, several sources, Vault) -> the typed model, with every
problem as a Finding (never an exception).

    inventory = load_inventory("inventories/demo.yaml")
    inventory = load_inventory(["hosts.ini", "inventory/"], vault=vault, limit="hyperv")
    inventory.hosts["hv01"].vms          # typed VMSpecs, classrooms expanded, floors applied
    inventory.hostvars["hv01"]           # effective variables as defined (for `inventory --list`)
    inventory.findings                   # YAML, shape, type and MultiPoint-rule problems with file:line

The stages, one module each: ansible_config (ansible.cfg and ANSIBLE_* settings that would change the
result, refused first); sources (files and directories in Ansible's order, YAML or INI) with yaml_source
(safe, line-tracking YAML), ini_source (Ansible's ini plugin) and vaulted + vault (Ansible Vault); resolve
(Ansible's groups and precedence) with vars_dirs (group_vars/host_vars); fleet (which hosts are ours);
lookup (env lookups); typed + typed_vms + credentials (typed specs); then orchestrator.rules (pure checks
over the model).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.inventory.ansible_config import load_config
from orchestrator.inventory.fields import Reader
from orchestrator.inventory.fleet import foreign_reason, misplaced_work
from orchestrator.inventory.lookup import env_lookup_name
from orchestrator.inventory.resolve import Resolved, resolve_sources
from orchestrator.inventory.sources import collect
from orchestrator.inventory.typed import HostBuilder, check_definitions
from orchestrator.inventory.vault import Vault
from orchestrator.inventory.yaml_source import Origin, duplicate_keys
from orchestrator.masking import mask
from orchestrator.model import Finding, Group, HostSpec, Inventory, Secret, Selection
from orchestrator.rules import check_inventory

__all__ = ["SECRET_VARS", "Vault", "load_inventory"]

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
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    ask_pass: Callable[[str], str] | None = None,
    environ: Mapping[str, str] | None = None,
    vault: Vault | None = None,
    limit: str | None = None,
) -> Inventory:
    """Load, resolve, type and check an inventory. Never raises for bad input.

    `path` is one source or several (Ansible's repeated `-i`): YAML or INI files, or directories of them
    (orchestrator.inventory.sources), merged in order as Ansible merges them. `ask_pass(label)` is called
    (once per user; label is `user@host`) for WinRM hosts that need a password and have none from
    ansible_password or orchestrate_password_file. `environ` replaces os.environ for env lookups (tests).
    `vault` holds the Ansible Vault passwords. `limit` (an Ansible pattern) narrows the hosts that are typed
    and checked: a host outside it keeps its variables (for listings) but cannot fail the inventory.
    Hosts that are not ours (orchestrator.inventory.fleet) are never typed, checked nor in `hosts`.
    """
    with _collector_paused() as loaded:
        inventory = _load(path, ask_pass=ask_pass, environ=environ, vault=vault, limit=limit)
        loaded.append(sum(len(host.vms) for host in inventory.hosts.values()))
        return inventory


COLLECT_AFTER_VMS = 1_000


@contextmanager
def _collector_paused() -> Iterator[list[int]]:
    """Python's cyclic garbage collector off while an inventory loads, as it was before afterwards.

    A load allocates about fifty tracked objects per VM (values, origins, specs) that all stay alive and
    form no reference cycles; every few thousand allocations the collector would traverse them again, for
    nothing: about a third of the load's CPU on 10,000 VMs (issue 18). Reference counting still frees
    everything as usual. After a large load (COLLECT_AFTER_VMS) everything alive is moved into the oldest
    generation at no cost: `gc.freeze()`, then `gc.unfreeze()`, which (Python 3.7+) puts the frozen objects
    "back into the oldest generation". Left young, the survivors would be traversed again on their way
    there while the scripts are rendered (about 0.4 CPU s on 10,000 VMs), and a full collection to age
    them costs about 0.3 CPU s itself. Nothing stays frozen: a reference cycle among them is still found by
    the next full collection (freezing alone would keep it for the process's life, which a long-lived
    process such as the test suite felt). Nothing of ours depends on when garbage is finalized: a run closes
    its journal itself (runner/run.py). On a small load this saves nothing, so it is not done there.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    loaded: list[int] = []  # the caller appends how many VMs it loaded
    try:
        yield loaded
    finally:
        if was_enabled:
            if loaded and loaded[0] >= COLLECT_AFTER_VMS:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _load(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    ask_pass: Callable[[str], str] | None,
    environ: Mapping[str, str] | None,
    vault: Vault | None,
    limit: str | None,
) -> Inventory:
    paths = [os.fspath(path)] if isinstance(path, str | os.PathLike) else [os.fspath(p) for p in path]
    shown = paths[0] if len(paths) == 1 else ",".join(paths)
    if not paths:
        return _failed("", [Finding("error", "no inventory was given", "give -i INVENTORY")])
    # ansible.cfg / ANSIBLE_* settings that would make Ansible resolve differently: refused before any
    # source is read, since they change which files are read and how (orchestrator.inventory.ansible_config)
    config = load_config()
    duplicates, duplicate_findings = config.duplicate_keys()
    settings = [*config.findings, *config.refusals(), *duplicate_findings]
    if any(finding.is_error for finding in settings):
        return _failed(shown, settings)
    if vault is not None:
        settings.extend(vault.warnings)
    token = duplicate_keys.set(duplicates)  # how the YAML loader treats a key written twice
    try:
        return _load_sources(paths, shown, settings, ask_pass=ask_pass, environ=environ, vault=vault, limit=limit)
    finally:
        duplicate_keys.reset(token)


def _load_sources(
    paths: list[str],
    shown: str,
    settings: list[Finding],
    *,
    ask_pass: Callable[[str], str] | None,
    environ: Mapping[str, str] | None,
    vault: Vault | None,
    limit: str | None,
) -> Inventory:
    sources = collect(paths, vault)
    findings_before = [*settings, *sources.findings]
    for empty in sources.empty:
        findings_before.append(
            Finding(
                "error",
                "the inventory is empty",
                "add all: {hosts: {...}} (see inventories/demo.yaml)",
                Origin(empty).location,
            )
        )
    if not sources.feeds:
        if not findings_before:  # an empty folder: nothing to read, so no host
            findings_before = check_inventory(Inventory(path=shown, hosts={}, groups={}, hostvars={}))
        return _failed(shown, findings_before)
    resolved = resolve_sources(Origin(paths[0]), sources.feeds, sources.vars_dirs)
    if resolved.refused:
        return _failed(shown, [*findings_before, *resolved.findings])
    reader = Reader(environ=environ)
    first_dir = _folder(paths[0])
    builder = HostBuilder(reader, first_dir, paths[0], ask_pass)
    check_definitions(resolved.definitions, reader, builder.credentials)
    selected = _selected(resolved, limit, shown)
    chosen = set(selected.hosts) if selected is not None else set()
    hosts: dict[str, HostSpec] = {}
    partial: dict[str, HostSpec] = {}
    folders: dict[str, Path] = {}  # per source file: thousands of hosts share a few files
    for name in resolved.hosts:
        variables = resolved.hostvars[name]
        if foreign_reason(variables) is not None:
            _warn_misplaced(reader, name, variables, resolved.origins[name])
            continue
        if selected is not None and name not in chosen:
            continue
        _place(builder, resolved.hosts[name].origin.file, folders)
        spec, complete = builder.build(
            name,
            variables,
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
    findings = [*findings_before, *resolved.findings, *reader.findings, *check_inventory(checked)]
    # every password whatever its length; other env values from 4 characters (a port `8` is not a secret)
    secrets = {v for v in reader.env_values if len(v) >= _MIN_SCRUB} | builder.credentials.secrets
    return Inventory(
        path=inventory.path,
        hosts=inventory.hosts,
        groups=inventory.groups,
        hostvars=inventory.hostvars,
        findings=tuple(_scrubbed(_unique(findings), secrets)),
        selection=selected,
    )


def _folder(shown: str) -> Path:
    """The folder relative paths in a source start at: the directory itself, or the file's folder."""
    path = Path(shown)
    return (path if path.is_dir() else path.parent).resolve()


def _place(builder: HostBuilder, source_file: str, folders: dict[str, Path]) -> None:
    """Relative paths of a host (password file, templates) start at the folder of the source defining it
    (`folders` remembers each source's folder for this load)."""
    folder = folders.get(source_file)
    if folder is None:
        folder = folders[source_file] = _folder(source_file)
    builder.base_dir = folder
    builder.credentials.base_dir = folder
    builder.credentials.inventory_file = source_file


def _selected(resolved: Resolved, limit: str | None, shown: str) -> Selection | None:
    """The hosts `limit` selects among all resolved hosts, ours and others, as Ansible's subset() evaluates
    it over the whole inventory (ansible/inventory/manager.py subset, get_hosts); None without a limit. A bad
    pattern selects nothing and keeps its error for the CLI to report."""
    if not limit:
        return None
    from orchestrator.patterns import PatternError, select_hosts

    names = {name: None for name in resolved.hosts}
    groups = {
        name: Group(name=name, hosts=tuple(node.hosts), children=tuple(node.children))
        for name, node in resolved.groups.items()
    }
    try:
        picked = select_hosts(Inventory(path=shown, hosts=names, groups=groups, hostvars={}), limit)  # type: ignore[arg-type]
    except PatternError as error:
        return Selection(limit, error=str(error))
    return Selection(limit, tuple(picked))


def _warn_misplaced(
    reader: Reader, name: str, variables: Mapping[Any, Any], origins: Mapping[Any, Origin]
) -> None:
    work = misplaced_work(variables)
    if work:
        reader.warning(
            origins.get(work[0]) or origins.get("ansible_connection") or Origin(""),
            f"host {name}: {foreign_reason(variables)}, so its {', '.join(work)} are left alone",
            "set ansible_connection: winrm (or simulator) for a host orchestrate manages",
        )


def _failed(shown: str, findings: list[Finding]) -> Inventory:
    return Inventory(path=shown, hosts={}, groups={}, hostvars={}, findings=tuple(findings))


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
        if value is not None and not isinstance(value, Secret) and env_lookup_name(value) is None:
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
