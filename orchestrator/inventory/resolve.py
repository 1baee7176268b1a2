"""Groups, hosts and each host's effective variables, resolved exactly as Ansible resolves a YAML inventory.

What Ansible does, and so what we do (tests compare us with ansible-core):
- top-level keys are groups; each has optional `hosts`, `vars`, `children` (a bare string is a one-key map);
  a group may be defined under several parents, a host in several groups; a cycle is an error;
- every group without a parent becomes a child of `all`; hosts only in `all` go to `ungrouped`;
- defining the same group or host again adds hosts, children and variables to it; a variable set again is
  replaced whole (with hash_behaviour=replace, Ansible's default, even a mapping is not merged);
- a group's depth is its longest distance from `all`; `ansible_group_priority` (inventory file only) orders
  groups of equal depth; then the name;
- a host's variables, lowest first: `all` vars, its groups' vars (by depth, priority, name),
  group_vars/all, group_vars/<group> (same order), the host's own vars, host_vars/<host>; each level
  replaces whole top-level values (no deep merge).
Each variable keeps the Origin of the definition that won, so findings point at the line that matters.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.inventory.hostpatterns import HostPatternError, expand, split_port
from orchestrator.inventory.vars_dirs import VarsDirs
from orchestrator.inventory.yaml_source import Origin, TMap
from orchestrator.model import Finding

GROUP_SECTIONS = ("hosts", "vars", "children")
ALL, UNGROUPED = "all", "ungrouped"
MAX_HOSTS = 20_000  # far beyond any school; bounds memory and time for hostile range patterns


@dataclass(frozen=True)
class VarDef:
    """One place a variable is written: its name, value, origin and the file it lives in."""

    name: Any
    value: Any
    origin: Origin
    key_origin: Origin
    path: Path | None


@dataclass
class GroupNode:
    name: str
    origin: Origin
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    vars: dict[Any, Any] = field(default_factory=dict)
    origins: dict[Any, Origin] = field(default_factory=dict)
    depth: int = 0
    priority: int = 1


@dataclass
class HostNode:
    name: str
    origin: Origin
    groups: list[str] = field(default_factory=list)  # groups it was placed in directly
    vars: dict[Any, Any] = field(default_factory=dict)
    origins: dict[Any, Origin] = field(default_factory=dict)


@dataclass
class Resolved:
    """The Ansible view of an inventory: groups and hosts in definition order, effective vars per host."""

    groups: dict[str, GroupNode]
    hosts: dict[str, HostNode]
    hostvars: dict[str, dict[Any, Any]]
    origins: dict[str, dict[Any, Origin]]
    host_groups: dict[str, list[str]]
    definitions: list[VarDef]
    findings: list[Finding]
    refused: bool = False  # hostile input: nothing beyond the findings is meaningful


def _suggest(word: Any, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f"did you mean '{close[0]}'?" if close else ""


class _TooBig(Exception):
    """Hostile size: stop resolving at once (the finding is already recorded)."""


class _Parser:
    """Ansible's InventoryData for us: every source (YAML or INI) adds groups, hosts and variables to it."""

    def __init__(self, top: Origin) -> None:
        self.path = Path(top.file)
        self.findings: list[Finding] = []
        self.definitions: list[VarDef] = []
        self.groups: dict[str, GroupNode] = {
            "all": GroupNode("all", top),
            "ungrouped": GroupNode("ungrouped", top),
        }
        self._add_child("all", "ungrouped", top)
        self.hosts: dict[str, HostNode] = {}

    def error(self, origin: Origin, message: str, fix: str = "") -> None:
        self.findings.append(Finding("error", message, fix, origin.location, origin.path))

    def warning(self, origin: Origin, message: str, fix: str = "") -> None:
        self.findings.append(Finding("warning", message, fix, origin.location, origin.path))

    # -- structure -------------------------------------------------------------------------------------

    def parse_yaml(self, data: TMap, path: Path) -> None:
        """One YAML inventory source (Ansible's yaml inventory plugin)."""
        self.path = path
        if "plugin" in data:
            self.error(
                data.key_origins["plugin"],
                "this is an inventory plugin configuration, not a YAML inventory",
                "write groups at the top level: all: {hosts: ..., vars: ..., children: ...}",
            )
            return
        for name, value in data.items():
            self.parse_group(name, value, data.key_origins[name], data.origin_of(name))

    def add_group(self, name: str, origin: Origin) -> None:
        if name not in self.groups:
            self.groups[name] = GroupNode(name, origin)

    def add_child(self, parent: str, child: str, origin: Origin) -> None:
        self._add_child(parent, child, origin)

    def parse_group(self, name: Any, data: Any, key_origin: Origin, origin: Origin) -> str | None:
        if not isinstance(data, dict | type(None)):
            self.warning(
                origin,
                f"'{name}' is skipped: a group must be a mapping with hosts, vars or children, "
                f"not a {type(data).__name__}",
                f"write {name}: {{hosts: {{...}}}}",
            )
            return None
        if not isinstance(name, str) or not name:
            self.error(key_origin, f"a group name must be text, not {name!r}", "quote the group name")
            return None
        if name not in self.groups:
            self.groups[name] = GroupNode(name, key_origin)
        if data is None:
            return name
        assert isinstance(data, TMap)
        for key, value in data.items():
            value_origin = data.origin_of(key)
            if key in GROUP_SECTIONS and isinstance(value, str):
                value = {value: None}
            if value is None:
                continue
            if not isinstance(value, dict):
                if key in GROUP_SECTIONS:
                    self.error(
                        value_origin,
                        f"'{key}' of group '{name}' must be a mapping, not a {type(value).__name__}",
                        f"write {key} as 'name:' lines (a mapping), not a list",
                    )
                else:
                    self.warning(
                        data.key_origins[key],
                        f"unexpected key '{key}' in group '{name}' is skipped; only hosts, vars and children "
                        "are valid",
                        _suggest(key, GROUP_SECTIONS) or "remove it",
                    )
                continue
            if key == "vars":
                self.set_group_vars(name, value)
            elif key == "children":
                for child, child_data in value.items():
                    child_key = (
                        value.key_origins.get(child, value_origin)
                        if isinstance(value, TMap)
                        else value_origin
                    )
                    child_origin = value.origin_of(child) if isinstance(value, TMap) else value_origin
                    added = self.parse_group(child, child_data, child_key, child_origin)
                    if added is not None:
                        self._add_child(name, added, child_key)
                    else:
                        self._add_skipped_child(name, child, child_data, child_key)
            elif key == "hosts":
                for pattern, host_vars in value.items():
                    pattern_origin = (
                        value.key_origins.get(pattern, value_origin)
                        if isinstance(value, TMap)
                        else value_origin
                    )
                    vars_origin = value.origin_of(pattern) if isinstance(value, TMap) else value_origin
                    self.parse_hosts(name, pattern, host_vars, pattern_origin, vars_origin)
            else:
                self.warning(
                    data.key_origins[key],
                    f"unexpected key '{key}' in group '{name}' is skipped; only hosts, vars and children are valid",
                    _suggest(key, GROUP_SECTIONS) or "remove it",
                )
        return name

    def _add_skipped_child(self, parent: str, child: Any, child_data: Any, origin: Origin) -> None:
        """A child under `children:` that is no group definition (`lab: []`, `lab: 0`, `lab: ''`): Ansible
        skips its definition but still adds it to the parent (plugins/inventory/yaml.py _parse_group, then
        InventoryData.add_child): as a child group when a group of that name exists, as a host of the parent
        when a host does, else the whole file fails ("lab is not a known host nor group")."""
        if not isinstance(child_data, dict | type(None)) and isinstance(child, str) and child:
            if child in self.groups:
                self._add_child(parent, child, origin)
                return
            if child in self.hosts:
                host = self.hosts[child]
                if parent not in host.groups:
                    host.groups.append(parent)
                    self.groups[parent].hosts.append(child)
                return
            self.error(
                origin,
                f"'{child}' under the children of '{parent}' is not a group definition ({_shape(child_data)}), "
                "and no group or host of that name exists: Ansible skips it and "
                f"then refuses the whole file ('{child} is not a known host nor group')",
                f"write {child}: (nothing after the colon) for an empty group, or {child}: {{hosts: {{...}}}}",
            )

    def parse_hosts(
        self, group: str, pattern: Any, host_vars: Any, origin: Origin, vars_origin: Origin
    ) -> None:
        if not isinstance(pattern, str):
            self.error(
                origin,
                f"host name {pattern!r} must be a string",
                "enclose integers and floats in quotation marks",
            )
            return
        name_part, port = split_port(pattern)
        try:
            names = expand(name_part)
        except HostPatternError as exc:
            self.error(origin, f"host pattern '{pattern}': {exc}", "write a range as [01:12] or [a:d]")
            return
        if host_vars is None or (not host_vars and not isinstance(host_vars, dict)):
            # `hv01: []`, `hv01: ''`, `hv01: 0`, `hv01: false`: no variables, as Ansible reads them
            # (`group_data['hosts'][host_pattern] or {}`, plugins/inventory/yaml.py _parse_group)
            host_vars = TMap(vars_origin)
        if not isinstance(host_vars, dict):
            self.error(
                vars_origin,
                f"the variables of host '{pattern}' must be a mapping, not a {type(host_vars).__name__}",
                "write 'name: value' lines under the host",
            )
            return
        if len(self.hosts) + len(names) > MAX_HOSTS:
            self.error(origin, f"the inventory defines more than {MAX_HOSTS} hosts", "split the inventory")
            raise _TooBig
        for host_name in names:
            if not host_name:
                self.error(origin, "empty host name", "give the host a name")
                continue
            host = self.hosts.get(host_name)
            if host is None:
                host = self.hosts[host_name] = HostNode(host_name, origin)
                if port:
                    host.vars["ansible_port"] = port
                    host.origins["ansible_port"] = origin
            if group not in host.groups:
                host.groups.append(group)
                self.groups[group].hosts.append(host_name)
            for var, value in host_vars.items():
                self._define(host.vars, host.origins, var, value, host_vars)

    def set_group_vars(self, group: str, variables: dict[Any, Any]) -> None:
        node = self.groups[group]
        for var, value in variables.items():
            if var == "ansible_group_priority":
                origin = variables.origin_of(var) if isinstance(variables, TMap) else node.origin
                if isinstance(value, bool) or not isinstance(value, int | str):
                    self.error(origin, "ansible_group_priority must be an integer", "write a whole number")
                    continue
                try:
                    node.priority = int(value)
                except ValueError:
                    self.error(origin, "ansible_group_priority must be an integer", "write a whole number")
                continue
            self._define(node.vars, node.origins, var, value, variables)

    def _define(
        self, target: dict[Any, Any], origins: dict[Any, Origin], var: Any, value: Any, src: Any
    ) -> None:
        origin = src.origin_of(var) if isinstance(src, TMap) else Origin(str(self.path))
        key_origin = src.key_origins.get(var, origin) if isinstance(src, TMap) else origin
        self.definitions.append(VarDef(var, value, origin, key_origin, self.path))
        target[var] = value
        origins[var] = origin

    # -- graph -----------------------------------------------------------------------------------------

    def ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.groups[name].parents)
        while todo:
            parent = todo.pop()
            if parent not in seen:
                seen.add(parent)
                todo.extend(self.groups[parent].parents)
        return seen

    def _add_child(self, parent: str, child: str, origin: Origin) -> None:
        parent_node, child_node = self.groups[parent], self.groups[child]
        if child in parent_node.children:
            return
        if _nests_ungrouped(parent, child):
            self._refuse_nested_ungrouped(parent, child, origin)
            return
        if parent == child or child in self.ancestors(parent):
            self.error(
                origin,
                f"adding group '{child}' as a child of '{parent}' creates a loop",
                "a group cannot contain itself, directly or through its children",
            )
            return
        parent_node.children.append(child)
        if parent not in child_node.parents:
            child_node.parents.append(parent)
        self._deepen(child, parent_node.depth + 1)

    def _refuse_nested_ungrouped(self, parent: str, child: str, origin: Origin) -> None:
        """`ungrouped` with children, or under a group other than `all`: refused, never resolved.

        Ansible links it as written, and then its reconcile_inventory (ansible/inventory/data.py:111-120)
        adds a host that is only in `all` to `ungrouped` and removes it from `ungrouped` once it has another
        group, without looking at `ungrouped`'s own parents or children. So a child's hosts lose or keep
        the parent's variables depending on where they are written, and with INI a host listed before any
        section can end in no group at all and drop out of the inventory. No admin means that.
        """
        what = (
            f"group '{child}' is given as a child of 'ungrouped'"
            if parent == UNGROUPED
            else f"'ungrouped' is given as a child of group '{parent}'"
        )
        self.error(
            origin,
            f"{what}: Ansible treats 'ungrouped' specially (it holds the hosts that are in no other group), "
            "and nesting it changes which hosts exist and which variables they get",
            "use a group of your own name (for example 'unassigned') for these hosts, "
            "and leave 'ungrouped' directly under 'all' without children",
        )

    def _deepen(self, name: str, depth: int) -> None:
        todo = [(name, depth)]
        while todo:
            current, wanted = todo.pop()
            node = self.groups[current]
            if node.depth < wanted:
                node.depth = wanted
                todo.extend((kid, wanted + 1) for kid in node.children)

    def refuse_name_clashes(self) -> None:
        """A host named like a group: an error at the host, naming where the group is.

        Ansible only warns ("Found both group and host with same name", ansible/inventory/data.py:126-128),
        and then resolves it surprisingly: its add_child (data.py:248-257) looks a name up among the groups
        first, so at reconcile a host that is only in `all` gets its same-named GROUP put under `ungrouped`
        instead of itself. That deepens the group, which then outranks its siblings for every host in it,
        and the host misses group_vars/ungrouped. A pattern (`--limit web`) then means the host or the
        group depending on how it is written. We refuse rather than copy that.
        """
        for name, host in self.hosts.items():
            group = self.groups.get(name)
            if group is None:
                continue
            self.error(
                host.origin,
                f"'{name}' is both a host and a group (the group is at {group.origin.location}): Ansible "
                "only warns, and then mixes the two up (a pattern names the host or the group depending on "
                "how it is written, and a host in no other group puts the group under 'ungrouped' instead "
                "of itself, which changes the variables of the group's hosts)",
                f"rename the host or the group, for example '{name}_servers' for the group",
            )

    def reconcile(self) -> dict[str, list[str]]:
        """Ansible's reconcile_inventory: orphans under `all`, `ungrouped`; returns every host's groups."""
        for name in list(self.groups):
            if name != "all" and not self.groups[name].parents:
                self._add_child("all", name, self.groups[name].origin)
        host_groups: dict[str, list[str]] = {}
        ungrouped = self.groups["ungrouped"]
        for host in self.hosts.values():
            mine: set[str] = set()
            for group in host.groups:
                mine.add(group)
                mine |= self.ancestors(group)
            if "ungrouped" in mine:
                if mine - {"all", "ungrouped"}:
                    if host.name in ungrouped.hosts:  # it may be there through a nested group only
                        ungrouped.hosts.remove(host.name)
                    if "ungrouped" in host.groups:
                        host.groups.remove("ungrouped")
                    mine = set()
                    for group in host.groups:
                        mine.add(group)
                        mine |= self.ancestors(group)
            elif not mine or mine == {"all"}:
                ungrouped.hosts.append(host.name)
                host.groups.append("ungrouped")
                mine |= {"ungrouped", "all"}
            host_groups[host.name] = sorted(
                mine - {"all"}, key=lambda g: (self.groups[g].depth, self.groups[g].priority, g)
            )
        return host_groups


Parser = _Parser


def _shape(value: Any) -> str:
    """What a value is, in the admin's words."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text" if value else "empty text"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return type(value).__name__


def _nests_ungrouped(parent: str, child: str) -> bool:
    """Whether linking `child` under `parent` gives `ungrouped` children or a parent other than `all`."""
    return parent == UNGROUPED or (child == UNGROUPED and parent != ALL)


def resolve(data: TMap, path: Path, shown: str, vars_dirs: VarsDirs) -> Resolved:
    """Ansible's resolution of one YAML inventory file plus the vars folders beside it."""
    return resolve_sources(data.origin, [lambda parser: parser.parse_yaml(data, Path(shown))], [vars_dirs])


def resolve_sources(
    top: Origin, feeds: Sequence[Callable[[_Parser], None]], vars_dirs: Sequence[VarsDirs]
) -> Resolved:
    """Ansible's resolution of several inventory sources, in order, into one inventory.

    Each feed adds one source to the same parser (as Ansible parses every source into one InventoryData,
    then reconciles once). `vars_dirs` holds the group_vars/host_vars folder of each source, in source
    order: like Ansible's host_group_vars plugin, each level (group_vars/all, then the groups, then
    host_vars) is read from every source's folder in turn, so a later source's folder wins.
    """
    parser = _Parser(top)
    try:
        for feed in feeds:
            feed(parser)
    except _TooBig:
        return Resolved({}, {}, {}, {}, {}, [], parser.findings, refused=True)
    parser.refuse_name_clashes()
    host_groups = parser.reconcile()
    hostvars: dict[str, dict[Any, Any]] = {}
    origins: dict[str, dict[Any, Origin]] = {}
    definitions = list(parser.definitions)
    seen_files: set[Path] = set()

    def layer(
        target: dict[Any, Any], where: dict[Any, Origin], variables: dict[Any, Any], src: dict[Any, Origin]
    ):
        for var, value in variables.items():
            target[var] = value
            where[var] = src.get(var) or top

    def file_layer(target: dict[Any, Any], where: dict[Any, Origin], files: list[Any]) -> None:
        for vars_file in files:
            if vars_file.path not in seen_files:
                seen_files.add(vars_file.path)
                for var, value in vars_file.vars.items():
                    definitions.append(
                        VarDef(
                            var,
                            value,
                            vars_file.vars.origin_of(var),
                            vars_file.vars.key_origins[var],
                            vars_file.path,
                        )
                    )
            layer(target, where, vars_file.vars, vars_file.vars.value_origins)

    for name, host in parser.hosts.items():
        groups = host_groups[name]
        effective: dict[Any, Any] = {}
        where: dict[Any, Origin] = {}
        all_group = parser.groups["all"]
        layer(effective, where, all_group.vars, all_group.origins)
        for group in groups:
            node = parser.groups[group]
            layer(effective, where, node.vars, node.origins)
        for folder in vars_dirs:
            file_layer(effective, where, folder.group("all"))
        for folder in vars_dirs:
            for group in groups:
                file_layer(effective, where, folder.group(group))
        layer(effective, where, host.vars, host.origins)
        for folder in vars_dirs:
            file_layer(effective, where, folder.host(name))
        hostvars[name] = effective
        origins[name] = where
    return Resolved(
        groups=parser.groups,
        hosts=parser.hosts,
        hostvars=hostvars,
        origins=origins,
        host_groups=host_groups,
        definitions=definitions,
        findings=parser.findings + [f for folder in _distinct(vars_dirs) for f in folder.findings],
    )


def _distinct(folders: Sequence[VarsDirs]) -> list[VarsDirs]:
    """Each folder once (two sources in one folder share it), for collecting findings."""
    unique: list[VarsDirs] = []
    for folder in folders:
        if all(folder is not seen for seen in unique):
            unique.append(folder)
    return unique
