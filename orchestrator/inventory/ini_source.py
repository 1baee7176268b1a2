"""INI inventories (`hosts.ini`), read as ansible-core's ini inventory plugin reads them.

Followed line by line from ansible/plugins/inventory/ini.py (ansible-core 2.19), because admins reuse
their Ansible inventories and expect the same groups, hosts and values:
- lines are stripped; empty lines and lines starting with `#` or `;` are skipped;
- `[group]`, `[group:hosts]`, `[group:vars]`, `[group:children]` open a section; hosts before any section
  go to `ungrouped`; another `:type` is an error;
- a host line is split like a shell (shlex, `#` starts a comment): the first word is a host pattern
  (`hv[01:12].school.local`, `lab-[a:c]`, `web:2222` sets ansible_port), the rest `key=value`;
- every value, on host lines AND in `[group:vars]`, is read with `ast.literal_eval` when it is a Python
  literal (`5` an int, `True` a bool, `[1, 2]` a list, `"x y"` a string) and is text otherwise (`yes`,
  `hello world`); tuples and sets become lists, `...` and complex numbers text. (Ansible's documentation
  says `:vars` values are strings; the plugin's code, and so ansible-inventory, literal_evals them too.)
- `[g:children]` may name a group defined further down; one never defined is an error, as is a
  `[g:vars]` section for a group that never gets hosts or children.
Unlike Ansible, which stops at the first bad line and drops the file, we record a finding with the
line and column and go on, so one run shows every problem; the inventory is then invalid anyway.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.inventory.resolve import Parser
from orchestrator.inventory.vaulted import PLAIN_VARS
from orchestrator.inventory.yaml_source import Origin, TMap
from orchestrator.model import Secret

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
_COMMENT_MARKERS = ("#", ";")
_STATES = ("hosts", "children", "vars")
_MAX_LITERAL = 100_000  # characters: ast.literal_eval of a hostile value must stay cheap


def parse_value(text: str) -> Any:
    """Ansible's InventoryModule._parse_value: a Python literal when it is one, else the text itself."""
    value: Any = text
    if len(text) <= _MAX_LITERAL:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = text
    return _coerce(value)


def _coerce(value: Any) -> Any:
    """_parse_recursive_coerce_types_and_tag: containers as list/dict, unsupported literals as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_coerce(item) for item in value]
    if isinstance(value, dict):
        return {key: _coerce(item) for key, item in value.items()}
    if value is Ellipsis:
        return "..."
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value


def _secret_text(value: Any) -> Any:
    """`value` with every text in it (inside lists and mappings too, keys excepted) a Secret."""
    if isinstance(value, str):
        return Secret(value)
    if isinstance(value, list):
        return [_secret_text(item) for item in value]
    if isinstance(value, dict):
        return {key: _secret_text(item) for key, item in value.items()}
    return value


def ini_comments_only(text: str) -> bool:
    """Whether every line holding an undecodable byte (a surrogate, from surrogateescape) is a comment."""
    return all(not line.strip() or line.strip()[0] in _COMMENT_MARKERS
               for line in text.splitlines() if any("\udc80" <= c <= "\udcff" for c in line))


@dataclass
class IniSource:
    """One INI inventory file's text; `feed` adds it to the shared Parser (see resolve.resolve_sources)."""

    text: str
    shown: str
    path: Path
    secret_text: bool = False  # the file was one Vault-encrypted whole: every text value is a Secret
    _pending: dict[str, dict[str, Any]] = field(default_factory=dict)

    def feed(self, parser: Parser) -> None:
        parser.path = Path(self.shown)
        group, state = "ungrouped", "hosts"
        for number, raw in enumerate(self.text.splitlines(), start=1):
            line = raw.strip()
            if not line or line[0] in _COMMENT_MARKERS:
                continue
            lead = len(raw) - len(raw.lstrip())
            here = Origin(self.shown, number, lead + 1)
            match = _SECTION.match(line)
            if match:
                group, state = self._section(parser, match, here)
                continue
            if line.startswith("[") and line.endswith("]"):
                parser.error(
                    here,
                    f"invalid section entry {line!r}",
                    "write [group], [group:vars] or [group:children], without spaces",
                )
                state = ""  # skip the lines of a section we could not open
                continue
            if state == "hosts":
                self._hosts(parser, group, raw, line, number, lead)
            elif state == "vars":
                self._var(parser, group, raw, line, number, lead)
            elif state == "children":
                self._child(parser, group, line, here)
        for name, declaration in self._pending.items():
            where = declaration["origin"]
            if declaration["state"] == "vars":
                parser.error(
                    where,
                    f"section [{name}:vars] is for group '{name}', which has no hosts or children anywhere",
                    f"add a [{name}] section with its hosts, or remove [{name}:vars]",
                )
            else:
                parents = declaration["parents"]
                parser.error(
                    where,
                    f"section [{parents[-1]}:children] includes group '{name}', which is never defined",
                    f"add a [{name}] section with its hosts, or remove '{name}' from [{parents[-1]}:children]",
                )

    def _value(self, key: str, text: str) -> Any:
        """parse_value, and in a whole encrypted file every text in it a Secret, as a whole encrypted YAML
        file's values are (vaulted.reveal): a password in it must never show in a listing or a finding.
        A setting such as ansible_connection stays text (vaulted.PLAIN_VARS)."""
        value = parse_value(text)
        if not self.secret_text or key in PLAIN_VARS:
            return value
        return _secret_text(value)

    def _section(self, parser: Parser, match: re.Match[str], here: Origin) -> tuple[str, str]:
        name, state = match.group(1), match.group(2) or "hosts"
        if state not in _STATES:
            parser.error(
                here,
                f"section [{name}:{state}] has unknown type '{state}'",
                "use [group], [group:vars] or [group:children]",
            )
            return name, ""
        pending = self._pending
        if name not in parser.groups:
            if state == "vars" and name not in pending:
                pending[name] = {"origin": here, "state": "vars"}
            parser.add_group(name, here)
        if name in pending and state != "vars":
            if pending[name]["state"] == "children":
                self._add_pending_children(parser, name)
            elif pending[name]["state"] == "vars":
                del pending[name]
        return name, state

    def _add_pending_children(self, parser: Parser, name: str) -> None:
        """A group named in [parent:children] before its own section: link it now (Ansible's order)."""
        declaration = self._pending.pop(name)
        for parent in declaration["parents"]:
            parser.add_child(parent, name, declaration["origin"])
            if parent in self._pending and self._pending[parent]["state"] == "children":
                self._add_pending_children(parser, parent)

    def _child(self, parser: Parser, group: str, line: str, here: Origin) -> None:
        match = _GROUP_NAME.match(line)
        if not match:
            parser.error(here, f"expected a group name, got {line!r}", "write one group name per line")
            return
        child = match.group(1)
        if child in parser.groups:
            parser.add_child(group, child, here)
        elif child in self._pending:
            self._pending[child].setdefault("parents", []).append(group)
        else:
            self._pending[child] = {"origin": here, "state": "children", "parents": [group]}

    def _var(self, parser: Parser, group: str, raw: str, line: str, number: int, lead: int) -> None:
        here = Origin(self.shown, number, lead + 1, (group, "vars"))
        if "=" not in line:
            parser.error(here, f"expected key=value, got {line!r}", "write one name=value per line")
            return
        key, text = (part.strip() for part in line.split("=", 1))
        variables = TMap(here)
        value_column = raw.index("=", lead) + 2
        key_origin = Origin(self.shown, number, lead + 1, (group, "vars", key))
        value_origin = Origin(self.shown, number, value_column, (group, "vars", key))
        variables.put(key, self._value(key, text), key_origin, value_origin)
        parser.set_group_vars(group, variables)

    def _hosts(self, parser: Parser, group: str, raw: str, line: str, number: int, lead: int) -> None:
        here = Origin(self.shown, number, lead + 1, (group, "hosts"))
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            parser.error(here, f"cannot read this host line: {exc}", "close the quotes")
            return
        if not tokens:
            return
        pattern = tokens[0]
        if pattern.endswith(":"):
            parser.error(
                here,
                f"invalid host pattern {pattern!r}: a ':' at the end is kept for a port",
                "write name:port, or remove the ':'",
            )
            return
        if pattern == "---":
            parser.error(here, "'---' is not a host: is this a YAML file?", "name the file .yml or .yaml")
            return
        pattern_origin = Origin(self.shown, number, lead + 1, (group, "hosts", pattern))
        variables = TMap(pattern_origin)
        cursor = raw.find(pattern, lead) + len(pattern) if raw.find(pattern, lead) >= 0 else lead
        for token in tokens[1:]:
            if "=" not in token:
                found = raw.find(token.split("=", 1)[0], cursor)
                parser.error(
                    Origin(self.shown, number, (found if found >= 0 else lead) + 1, here.path),
                    f"expected key=value after the host name, got {token!r}",
                    "write name=value (quote values with spaces)",
                )
                return
            key, text = token.split("=", 1)
            found = raw.find(key, cursor)
            column = (found if found >= 0 else lead) + 1
            if found >= 0:
                cursor = found + len(key)
            origin = Origin(self.shown, number, column, (group, "hosts", pattern, key))
            variables.put(key, self._value(key, text), origin, origin)
        parser.parse_hosts(group, pattern, variables, pattern_origin, pattern_origin)
