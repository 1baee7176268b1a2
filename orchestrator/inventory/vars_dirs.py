"""`group_vars/` and `host_vars/` beside the inventory file, found and merged the way Ansible does.

For an entity named N, Ansible looks in `<dir>/group_vars` (or `host_vars`) for the first of `N`, `N.yml`,
`N.yaml`, `N.json`; when that is a folder, it reads every file inside it (recursively, sorted by name,
skipping hidden files, `~` backups, and extensions other than none/.yml/.yaml/.json), each replacing the
variables of the ones before. Unlike Ansible, we guard against symlink loops and bound the number of files.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.inventory.vault import Vault
from orchestrator.inventory.vaulted import load_file
from orchestrator.inventory.yaml_source import Origin, TMap, YamlProblem
from orchestrator.model import Finding

EXTENSIONS = ("", ".yml", ".yaml", ".json")
MAX_FILES = 1000
MAX_TOTAL_BYTES = 50 * 1024 * 1024  # all vars files together: memory stays bounded whatever the folders hold


@dataclass
class VarsFile:
    """One file's variables and where the file is (for permission checks on literal passwords)."""

    path: Path
    vars: TMap


@dataclass
class VarsDirs:
    """Reads group_vars/host_vars under `base` once per entity, collecting findings instead of raising."""

    base: Path
    shown_base: str = ""  # the inventory's folder as the admin wrote it, so findings name files alike
    vault: Vault | None = None  # decrypts `!vault` values and vault-encrypted vars files
    findings: list[Finding] = field(default_factory=list)
    _cache: dict[tuple[str, str], list[VarsFile]] = field(default_factory=dict)
    _folders: dict[str, bool] = field(default_factory=dict)
    _bytes: int = 0

    def group(self, name: str) -> list[VarsFile]:
        return self._files("group_vars", name)

    def host(self, name: str) -> list[VarsFile]:
        return self._files("host_vars", name)

    def _files(self, subdir: str, name: str) -> list[VarsFile]:
        key = (subdir, name)
        if key not in self._cache:
            self._cache[key] = self._load(subdir, name)
        return self._cache[key]

    def _show(self, path: Path) -> str:
        try:
            return os.path.join(self.shown_base, os.fspath(path.relative_to(self.base)))
        except ValueError:  # pragma: no cover - not under the inventory's folder
            return os.fspath(path)

    def _load(self, subdir: str, name: str) -> list[VarsFile]:
        folder = self.base / subdir
        if subdir not in self._folders:
            self._folders[subdir] = folder.is_dir()
        if not name or name.startswith(os.sep) or not self._folders[subdir]:
            return []
        found: list[Path] = []
        for ext in EXTENSIONS:
            candidate = folder / f"{name}{ext}"
            # A dangling or looping symlink is reported (load_file says why), never silently skipped.
            if candidate.exists() or candidate.is_symlink():
                if candidate.is_dir():
                    found.extend(self._walk(candidate, set()))
                else:
                    found.append(candidate)
                break
        loaded: list[VarsFile] = []
        for path in found:
            shown = self._show(path)
            with contextlib.suppress(OSError):  # load_file reports an unreadable file
                self._bytes += path.stat().st_size
            if self._bytes > MAX_TOTAL_BYTES:
                self.findings.append(
                    Finding(
                        "error",
                        f"the vars files together exceed {MAX_TOTAL_BYTES // (1024 * 1024)} MB",
                        "keep group_vars and host_vars small",
                        Origin(shown).location,
                    )
                )
                break
            try:
                data = load_file(path, shown, self.vault, self.findings)
            except YamlProblem as problem:
                self.findings.append(
                    Finding(
                        "error",
                        f"{problem.message}",
                        problem.fix,
                        problem.origin.location,
                        problem.origin.path,
                    )
                )
                continue
            if data is None or data == {}:
                continue
            if not isinstance(data, TMap):
                self.findings.append(
                    Finding(
                        "error",
                        f"{subdir} file must hold a mapping of variables, not a {type(data).__name__}",
                        "write 'name: value' lines",
                        Origin(shown).location,
                    )
                )
                continue
            loaded.append(VarsFile(path, data))
        return loaded

    def _walk(self, folder: Path, seen: set[str]) -> list[Path]:
        real = os.path.realpath(folder)
        if real in seen:
            self.findings.append(
                Finding(
                    "error",
                    "symlink loop: this folder contains itself",
                    "remove the symlink that points back up",
                    Origin(self._show(folder)).location,
                )
            )
            return []
        seen = seen | {real}
        files: list[Path] = []
        try:
            entries = sorted(os.listdir(folder))
        except OSError as exc:
            self.findings.append(
                Finding(
                    "error",
                    f"cannot list the folder: {exc.strerror}",
                    "check permissions",
                    Origin(self._show(folder)).location,
                )
            )
            return []
        for entry in entries:
            if entry.startswith(".") or entry.endswith("~"):
                continue
            path = folder / entry
            ext = os.path.splitext(entry)[1]
            if path.is_dir() and not ext:
                files.extend(self._walk(path, seen))
            elif ext in EXTENSIONS and (path.is_file() or path.is_symlink()):
                files.append(path)
            if len(files) > MAX_FILES:
                self.findings.append(
                    Finding(
                        "error",
                        f"more than {MAX_FILES} variable files",
                        "merge them",
                        Origin(self._show(folder)).location,
                    )
                )
                return files[:MAX_FILES]
        return files
