"""Inventory sources: files (YAML or INI) and directories of them, in the order Ansible reads them.

As ansible-core's InventoryManager.parse_source does:
- a directory is read entry by entry in sorted order, recursively, skipping hidden entries, `group_vars`,
  `host_vars`, `vars_plugins`, and names ending in an ignored extension (INVENTORY_IGNORE_EXTS:
  .pyc .pyo .swp .bak ~ .rpm .md .txt .rst .orig .cfg .retry);
- a file is tried by the yaml plugin when it has no extension or .yml/.yaml/.json, and then by the ini
  plugin (which takes any file but .toml); the first that reads it wins, so `hosts.ini`, `hosts` in INI
  and `hosts.yml` in YAML all work;
- the group_vars/ and host_vars/ read for a source sit in the directory given (for a directory source) or
  beside the file (ansible/vars/plugins.py get_vars_from_inventory_sources).
A whole Vault-encrypted file is decrypted before either plugin is tried (Ansible's loader does so for every
plugin: ansible/plugins/inventory/ini.py:119 reads through DataLoader._get_file_contents); without a password
that decrypts it, it is refused, never read as hosts named after its ciphertext lines.
We do not run executable inventory scripts or inventory plugins (`plugin:` files): they are findings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.inventory.ini_source import IniSource, ini_comments_only
from orchestrator.inventory.resolve import Parser
from orchestrator.inventory.vars_dirs import VarsDirs
from orchestrator.inventory.vault import Vault
from orchestrator.inventory.vaulted import decrypted_text, load_text
from orchestrator.inventory.yaml_source import NotUtf8, Origin, TMap, YamlProblem
from orchestrator.model import Finding

YAML_EXTENSIONS = (".yml", ".yaml", ".json")
IGNORED_EXTENSIONS = (
    ".pyc",
    ".pyo",
    ".swp",
    ".bak",
    "~",
    ".rpm",
    ".md",
    ".txt",
    ".rst",
    ".orig",
    ".cfg",
    ".retry",
)
_IGNORED = re.compile(
    "|".join(
        [
            r"^\.",
            "^host_vars$",
            "^group_vars$",
            "^vars_plugins$",
            *(re.escape(e) + "$" for e in IGNORED_EXTENSIONS),
        ]
    )
)
MAX_SOURCES = 1000
_INI_SECTION = re.compile(r"^\s*\[[^\]]*\]\s*(?:#.*)?$")

Feed = Callable[[Parser], None]


@dataclass
class Sources:
    """Every inventory file to feed, in order, and the vars folder of each source given."""

    feeds: list[Feed] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)  # (shown path, "yaml" | "ini"), for -vv
    vars_dirs: list[VarsDirs] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # sources that hold no group at all


def ignored(name: str) -> bool:
    """Whether Ansible skips this directory entry when a directory is the inventory."""
    return bool(_IGNORED.search(name))


def collect(paths: Sequence[str], vault: Vault | None) -> Sources:
    """Read every source in `paths` (as given with -i, in order); problems become findings."""
    sources = Sources()
    folders: dict[str, VarsDirs] = {}
    for shown in paths:
        path = Path(shown)
        is_dir = path.is_dir()
        base = path if is_dir else path.parent
        shown_base = shown if is_dir else os.path.dirname(shown)
        key = os.path.realpath(base)
        if key not in folders:
            folders[key] = VarsDirs(base.resolve(), shown_base, vault=vault)
        sources.vars_dirs.append(folders[key])
        if is_dir:
            _directory(path, shown, vault, sources, set())
        else:
            _file(path, shown, vault, sources)
    return sources


def _error(sources: Sources, shown: str, message: str, fix: str, origin: Origin | None = None) -> None:
    where = origin or Origin(shown)
    sources.findings.append(Finding("error", message, fix, where.location, where.path))


def _directory(path: Path, shown: str, vault: Vault | None, sources: Sources, seen: set[str]) -> None:
    real = os.path.realpath(path)
    if real in seen:
        _error(
            sources,
            shown,
            "symlink loop: this folder contains itself",
            "remove the symlink that points back up",
        )
        return
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        _error(sources, shown, f"cannot list the inventory folder: {exc.strerror}", "check its permissions")
        return
    for entry in entries:
        if ignored(entry):
            continue
        if len(sources.files) >= MAX_SOURCES:
            _error(sources, shown, f"more than {MAX_SOURCES} inventory files", "merge them")
            return
        child, child_shown = path / entry, os.path.join(shown, entry)
        if child.is_dir():
            _directory(child, child_shown, vault, sources, seen | {real})
        else:
            _file(child, child_shown, vault, sources)


def _file(path: Path, shown: str, vault: Vault | None, sources: Sources) -> None:
    ext = os.path.splitext(shown)[1].lower()
    if ext == ".toml":
        _error(sources, shown, "TOML inventories are not supported", "convert it to YAML or INI")
        return
    try:
        # A whole encrypted file is decrypted before either plugin is tried, as Ansible's loader does, so
        # an encrypted INI file is read as INI, never as hosts named after its ciphertext lines.
        text, whole = decrypted_text(path, shown, vault)
    except NotUtf8 as problem:
        if ext in YAML_EXTENSIONS or not ini_comments_only(problem.text):
            _error(sources, shown, problem.message, problem.fix, problem.origin)
            return
        # Ansible's INI plugin reads the file with surrogateescape and skips comment lines before anything
        # else (ansible/plugins/inventory/ini.py _parse: `if not line or line[0] in self._COMMENT_MARKERS`),
        # so Latin-1 bytes in a comment are no error there. Its YAML plugin refuses such a file, and a value
        # with them would become a host or VM name no host has: those stay refused, at their line.
        sources.files.append((shown, "ini"))
        sources.feeds.append(IniSource(problem.text, shown, path).feed)
        return
    except YamlProblem as problem:
        _error(sources, shown, problem.message, problem.fix, problem.origin)
        return
    yaml_problem: YamlProblem | None = None
    yaml_data = None
    if not ext or ext in YAML_EXTENSIONS:
        vault_findings: list[Finding] = []
        try:
            yaml_data = load_text(text, shown, vault, vault_findings, whole=whole)
        except YamlProblem as problem:
            yaml_problem = problem
        else:
            if isinstance(yaml_data, TMap) and yaml_data:
                sources.findings.extend(vault_findings)
                sources.files.append((shown, "yaml"))
                data = yaml_data
                sources.feeds.append(lambda parser: parser.parse_yaml(data, Path(shown)))
                return
        if yaml_problem is not None and _unreadable(yaml_problem):
            _error(sources, shown, yaml_problem.message, yaml_problem.fix, yaml_problem.origin)
            return
    trial = Parser(Origin(shown))
    try:
        IniSource(text, shown, path, secret_text=whole).feed(trial)
        ini_ok = not any(f.is_error for f in trial.findings)
    except Exception:  # a hostile size: feeding it for real reports it
        ini_ok = False
    if ini_ok:
        if not trial.hosts and len(trial.groups) == 2 and not trial.groups["all"].vars:
            sources.empty.append(shown)
        sources.files.append((shown, "ini"))
        sources.feeds.append(IniSource(text, shown, path, secret_text=whole).feed)
        return
    if ext in YAML_EXTENSIONS or (not ext and not _looks_ini(text)):
        # Neither plugin reads it; it was meant as YAML: say what is wrong with the YAML.
        if yaml_problem is not None:
            _error(sources, shown, yaml_problem.message, yaml_problem.fix, yaml_problem.origin)
        else:
            origin = getattr(yaml_data, "origin", Origin(shown))
            _error(
                sources,
                shown,
                f"the top level must be a mapping of groups (all: ...), not a {_kind(yaml_data)}",
                "start the file with 'all:' and put hosts:, vars:, children: under it",
                origin,
            )
        return
    # An INI file with problems: the real parse reports each at its line.
    sources.files.append((shown, "ini"))
    sources.feeds.append(IniSource(text, shown, path, secret_text=whole).feed)


def _unreadable(problem: YamlProblem) -> bool:
    """A refusal about the file itself (missing, a folder, binary, too big): INI cannot read it either."""
    return problem.message.startswith(
        (
            "no such file",
            "this path is",
            "the file is",
            "the file cannot",
            "the path is not",
            "cannot decrypt",
        )
    )


def _looks_ini(text: str) -> bool:
    """The first meaningful line is an INI section header such as [labs]."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and stripped[0] not in "#;":
            return bool(_INI_SECTION.match(stripped))
    return False


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    return type(value).__name__
