"""Typed readers for inventory values: each either returns the value or records one Finding and returns BAD.

Errors are values: a reader never raises for bad input, so one pass reports every problem of a host. Every
message names what was expected and shows the offending value only through `describe()`, which never
prints a value read from the environment.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.inventory.lookup import (
    EnvStr,
    TemplateProblem,
    VaultStr,
    describe,
    resolve_env,
    variable_reference,
)
from orchestrator.inventory.vaulted import Undecrypted
from orchestrator.inventory.yaml_source import Origin, TList, TMap
from orchestrator.model import Finding, Secret
from orchestrator.sizes import parse_size, unit_hint


class _Bad:
    """The marker a reader returns after it recorded a finding."""

    def __repr__(self) -> str:
        return "BAD"

    def __bool__(self) -> bool:
        return False


BAD: Any = _Bad()
# Ansible's boolean() (module_utils/parsing/convert_bool.py), which its connection plugins apply: an INI
# inventory's `ansible_winrm_kerberos_delegation=true` is the text 'true' and still means true.
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f"}


def suggestion(word: Any, choices: Collection[str]) -> str:
    """`did you mean 'x'?` for the closest choice (case-insensitive), or ''."""
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(str(word).lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean '{lowered[close[0]]}'?" if close else ""


def origin_in(container: Any, key: Any, fallback: Origin) -> Origin:
    """Where container[key] was written, when the container is tracked."""
    if isinstance(container, TMap | TList):
        return container.origin_of(key)
    return fallback.at(key)


@dataclass
class Reader:
    """Collects findings for one inventory; `secrets` gathers env values so messages can be scrubbed."""

    findings: list[Finding] = field(default_factory=list)
    env_values: set[str] = field(default_factory=set)
    environ: Mapping[str, str] | None = None

    errors: int = 0
    # The host being typed (set by typed.HostBuilder.build): its variables as Ansible merged them, and where
    # each was written, for `{{ name }}` references (lookup.variable_reference). None before the first host.
    variables: Mapping[Any, Any] | None = None
    variable_origins: Mapping[Any, Origin] = field(default_factory=dict)
    _following: list[str] = field(default_factory=list)  # the references being followed, to stop a circle

    def error(self, origin: Origin, message: str, fix: str = "") -> Any:
        self.findings.append(Finding("error", message, fix, origin.location, origin.path))
        self.errors += 1
        return BAD

    def warning(self, origin: Origin, message: str, fix: str = "") -> None:
        self.findings.append(Finding("warning", message, fix, origin.location, origin.path))

    # -- scalars ---------------------------------------------------------------------------------------

    def scalar(self, value: Any, origin: Origin) -> Any:
        """`value` with an env lookup resolved; a refused template or unset variable is a finding.

        A decrypted vault value (a Secret) is read as its text, kept out of messages (VaultStr) and
        scrubbed; one that could not be decrypted already has its finding, so it only counts as an error.
        """
        kind = type(value)
        if (kind is str and "{" not in value) or kind is int or kind is bool or value is None:
            return value  # what resolve_env returns for text without a template mark and for plain values
        if isinstance(value, Secret):
            if isinstance(value, Undecrypted):
                self.errors += 1
                return BAD
            revealed = VaultStr(value.reveal())
            if revealed:
                self.env_values.add(str(revealed))
            return revealed
        reference = variable_reference(value)
        if reference is not None:
            return self._referenced(reference, origin)
        try:
            resolved = resolve_env(value, self.environ)
        except TemplateProblem as problem:
            fix = (
                "export the variable before running orchestrate"
                if "is not set" in str(problem)
                else "write the value, or {{ lookup('env', 'NAME') }}"
            )
            return self.error(origin, str(problem), fix)
        if isinstance(resolved, EnvStr) and resolved:
            self.env_values.add(str(resolved))
        return resolved

    def _referenced(self, name: str, origin: Origin) -> Any:
        """The value of the host's variable `name`, read as the value written at `origin` (which names it):
        a vaulted variable gives its decrypted text, an env lookup its value, a reference is followed on.
        A list or mapping is returned as it is: mapping() and sequence() take it, a scalar reader refuses it
        as the wrong shape."""
        if self.variables is None or name not in self.variables:
            return self.error(
                origin,
                f"{{{{ {name} }}}} names a variable this host does not have",
                f"define {name} for the host (its vars, group_vars or host_vars), or write the value itself",
            )
        if name in self._following:
            circle = " -> ".join([*self._following, name])
            return self.error(
                origin, f"the variable references go round in a circle: {circle}", "make one of them a value"
            )
        self._following.append(name)
        try:
            target = self.variables[name]
            if isinstance(target, Mapping | list):
                return target
            return self.scalar(target, origin)
        finally:
            self._following.pop()

    def _followed(self, value: Any, origin: Origin) -> Any:
        """`value`, or for a `{{ name }}` the value it names (BAD after a finding: no such variable, a circle)."""
        name = variable_reference(value)
        return value if name is None else self._referenced(name, origin)

    def reference_target(self, value: Any) -> tuple[str, Origin | None] | None:
        """For a `{{ name }}` value: the variable the chain of references finally names and where that
        variable was written (None if unknown); None when `value` is no reference or the chain breaks
        (scalar() says why)."""
        name = variable_reference(value)
        seen: set[str] = set()
        while name is not None and self.variables is not None and name in self.variables and name not in seen:
            seen.add(name)
            following = variable_reference(self.variables[name])
            if following is None:
                return name, self.variable_origins.get(name)
            name = following
        return None

    def text(self, value: Any, origin: Origin, what: str, *, allow_int: bool = False) -> Any:
        value = self.scalar(value, origin)
        if value is BAD:
            return BAD
        if allow_int and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            return self.error(
                origin, f"{what} must be text, not {describe(value)}", "write it as text in quotes"
            )
        return value

    def integer(self, value: Any, origin: Origin, what: str, *, numeric_text: bool = False) -> Any:
        value = self.scalar(value, origin)
        if value is BAD:
            return BAD
        if isinstance(value, str) and (numeric_text or isinstance(value, EnvStr)):
            stripped = value.strip()
            if stripped.lstrip("-").isdigit():
                return int(stripped)
        if isinstance(value, bool) or not isinstance(value, int):
            return self.error(
                origin, f"{what} must be a whole number, not {describe(value)}", "write a number like 4"
            )
        return value

    def number(self, value: Any, origin: Origin, what: str) -> Any:
        value = self.scalar(value, origin)
        if value is BAD:
            return BAD
        if isinstance(value, EnvStr):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            return self.error(
                origin, f"{what} must be a number, not {describe(value)}", "write a number like 30"
            )
        return value

    def boolean(self, value: Any, origin: Origin, what: str) -> Any:
        value = self.scalar(value, origin)
        if value is BAD:
            return BAD
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if not isinstance(value, bool):
            return self.error(
                origin, f"{what} must be true or false, not {describe(value)}", "write true or false"
            )
        return value

    def size(self, value: Any, origin: Origin, what: str) -> Any:
        value = self.scalar(value, origin)
        if value is BAD:
            return BAD
        if isinstance(value, bool) or not isinstance(value, str):
            fix = (
                unit_hint(value)  # 6144 -> 6144MB (= 6GB), never 6144GB
                if isinstance(value, int) and not isinstance(value, bool)
                else "write a size like 8GB or 512MB"
            )
            return self.error(
                origin, f"{what} must be a size with a unit like 8GB, not {describe(value)}", fix
            )
        try:
            return parse_size(value)
        except ValueError as exc:
            return self.error(origin, f"{what}: {describe(value)} is {exc}", "write a size like 8GB or 512MB")

    # -- containers ------------------------------------------------------------------------------------

    def mapping(self, value: Any, origin: Origin, what: str, keys: Collection[str], *, hint: str = "") -> Any:
        """A mapping whose keys are all in `keys`; an unknown key is an error with a suggestion. `{{ name }}`
        reads as the host's variable `name` (a mapping written elsewhere keeps its own places)."""
        value = self._followed(value, origin)
        if value is BAD:
            return BAD
        if not isinstance(value, Mapping):
            return self.error(
                origin,
                f"{what} must be a mapping (key: value lines), not {describe(value)}",
                hint or "write key: value",
            )
        for key in value:
            if key not in keys:
                key_origin = value.key_origins.get(key, origin) if isinstance(value, TMap) else origin
                close = suggestion(key, keys)
                self.error(
                    key_origin,
                    f"unknown key '{key}' in {what}; valid keys: {', '.join(sorted(keys))}",
                    close or f"remove '{key}'",
                )
        return value

    def sequence(self, value: Any, origin: Origin, what: str) -> Any:
        """A list; `{{ name }}` reads as the host's variable `name`, as for a mapping."""
        value = self._followed(value, origin)
        if value is BAD:
            return BAD
        if not isinstance(value, list):
            return self.error(
                origin,
                f"{what} must be a list (lines starting with '- '), not {describe(value)}",
                "write each item on a line starting with '- '",
            )
        return value
