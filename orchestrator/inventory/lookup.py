"""The two pieces of templating an inventory may use: `{{ lookup('env', 'NAME') }}` and `{{ name }}`.

The env lookup keeps secrets out of inventory files. A bare variable reference, a whole value that names
another variable of the same host, is how Ansible's own guide keeps vaulted values visible: `db_password:
"{{ vault_db_password }}"` in vars.yml, the `!vault` value in vault.yml (docs.ansible.com, Ansible tips and
tricks, "Keep vaulted variables safely visible"). Anything else in `{{ }}` or `{% %}` in the product's
variables (filters, expressions, magic variables) is refused: we do not run Jinja2 on the inventory, so a
value can never become code. A value read from the environment is an `EnvStr`, so every message can avoid
echoing it: `describe()` names the variable instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from orchestrator.inventory.yaml_source import UnsafeStr
from orchestrator.model import Secret

_LOOKUP = re.compile(
    r"""^\s*\{\{-?\s*lookup\(\s*(?P<q1>['"])env(?P=q1)\s*,\s*(?P<q2>['"])(?P<name>[^'"]*)(?P=q2)\s*\)\s*-?\}\}\s*$"""
)
_REFERENCE = re.compile(r"^\s*\{\{-?\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}\s*$")
_TEMPLATE_MARKS = ("{{", "{%", "{#")


class EnvStr(str):
    """A string read from an environment variable; `from_env` lets messages avoid printing it."""

    from_env = True
    variable: str

    def __new__(cls, value: str, variable: str) -> EnvStr:
        made = super().__new__(cls, value)
        made.variable = variable
        return made


class VaultStr(EnvStr):
    """A decrypted Ansible Vault value, as the typed readers see it: text that no message may echo."""

    from_env = False
    from_vault = True

    def __new__(cls, value: str) -> VaultStr:
        return super().__new__(cls, value, "vault")  # type: ignore[return-value]


class TemplateProblem(ValueError):
    """A template we refuse, or an env lookup of an unset variable."""


def env_lookup_name(value: Any) -> str | None:
    """The NAME in `{{ lookup('env', 'NAME') }}`, or None when `value` is not exactly such a lookup."""
    if isinstance(value, str) and not isinstance(value, EnvStr | UnsafeStr) and "{" in value:  # needs "{{"
        match = _LOOKUP.match(value)
        if match:
            return match["name"]
    return None


def variable_reference(value: Any) -> str | None:
    """The NAME in `{{ NAME }}` (a whole value naming one variable, as Jinja2 writes a variable: letters,
    digits, underscores, not starting with a digit), or None for anything else (`!unsafe` text included)."""
    if isinstance(value, str) and not isinstance(value, EnvStr | UnsafeStr) and "{" in value:
        match = _REFERENCE.match(value)
        if match and match["name"] not in _NOT_VARIABLES:
            return match["name"]
    return None


# Jinja2's literals, which look like names but are not variables.
_NOT_VARIABLES = frozenset({"true", "false", "none", "True", "False", "None"})


def has_template(value: Any) -> bool:
    """Whether `value` is text with a template mark. `!unsafe` text (UnsafeStr) never is: Ansible never
    templates it (ansible/_internal/_yaml/_constructor.py construct_yaml_unsafe)."""
    # Every mark starts with "{": most values have none, and are answered by one scan of the text.
    return (
        isinstance(value, str)
        and not isinstance(value, EnvStr | UnsafeStr)
        and "{" in value
        and any(m in value for m in _TEMPLATE_MARKS)
    )


def resolve_env(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """`value` with its env lookup replaced by an EnvStr. Raises TemplateProblem with an admin-ready message."""
    name = env_lookup_name(value)
    if name is not None:
        env = os.environ if environ is None else environ
        if not name:
            raise TemplateProblem("lookup('env', ...) needs the name of an environment variable")
        if name not in env:
            raise TemplateProblem(f"environment variable {name} is not set")
        return EnvStr(env[name], name)
    if has_template(value):
        raise TemplateProblem(
            "templating is not supported in the inventory, only {{ lookup('env', 'NAME') }} and {{ variable }}"
        )
    return value


def describe(value: Any) -> str:
    """How a message may show `value`: quoted text, or the variable's name when it came from the env."""
    if getattr(value, "from_vault", False) or isinstance(value, Secret):
        return "a vault-encrypted value"
    if getattr(value, "from_env", False):
        return f"the value of environment variable {getattr(value, 'variable', '?')}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)
