"""ansible.cfg and ANSIBLE_* settings: found as ansible-core finds them, refused where they change what an
inventory resolves to.

An admin's ansible.cfg can make Ansible merge dictionaries across levels, reorder group variables, skip
other files of an inventory directory, rename groups, or read other vars plugins. orchestrate resolves
inventories with Ansible's defaults only, so a setting that differs from its default would give hosts or
variables other than Ansible's, without a word. Each such setting is a finding instead (the file, key and
line, or the environment variable), and the inventory is refused.

The config file is the first that exists and is readable of (ansible/config/manager.py:252-312,
find_ini_config_file): ANSIBLE_CONFIG (a folder means its ansible.cfg), ./ansible.cfg unless the current
folder is world-writable (then Ansible skips it and warns, and so do we), ~/.ansible.cfg,
/etc/ansible/ansible.cfg. It is read with configparser as Ansible reads it (manager.py:421-440: option
names case-insensitive, `;` starts an inline comment, no interpolation: `raw=True` at manager.py:732). An
environment variable wins over the file (manager.py:618-636). Values are typed as ensure_type types them
(manager.py:124-226): a list is split on commas, each item stripped and unquoted; an INI string is
unquoted; a path is expanded (`{{CWD}}`, $VARS, ~) relative to the config file's folder, or to the
current folder for an environment variable.

The vault settings are honoured, not refused: DEFAULT_VAULT_PASSWORD_FILE and DEFAULT_VAULT_IDENTITY_LIST
(read by orchestrator.inventory.vault_secrets). So is DUPLICATE_YAML_DICT_KEY (`duplicate_keys`): a YAML key
written twice warns (its default), is refused (error) or passes silently (ignore), the last value winning.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.inventory.yaml_source import DUPLICATE_KEY_MODES
from orchestrator.model import Finding, Location

BASE_YML = "ansible/config/base.yml"
# REJECT_EXTS (ansible/constants.py:63) + ['.orig', '.cfg', '.retry'] (base.yml:1758 INVENTORY_IGNORE_EXTS)
DEFAULT_IGNORE_EXTS = (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry")
DEFAULT_PRECEDENCE = (
    "all_inventory",
    "groups_inventory",
    "all_plugins_inventory",
    "all_plugins_play",
    "groups_plugins_inventory",
    "groups_plugins_play",
)
DEFAULT_YAML_EXTENSIONS = (".yml", ".yaml", ".json")
_BOOLEANS_TRUE = frozenset(("y", "yes", "on", "1", "true", "t"))  # module_utils/parsing/convert_bool.py:12


@dataclass(frozen=True)
class Setting:
    """One Ansible setting (its base.yml name, env var and INI keys, low to high precedence)."""

    name: str
    env: str
    ini: tuple[tuple[str, str], ...]
    kind: str  # how ensure_type types it: "str", "list", "bool" or "path"
    default: str  # as an admin would write it, for messages
    emulated: Callable[[Any], bool] = lambda value: True  # does the value resolve as we do?
    effect: str = ""  # what Ansible does differently with another value


def _plugins(value: list[str]) -> list[str]:
    """Plugin names as Ansible loads them: `ansible.builtin.yaml` is `yaml`; empty items are skipped."""
    return [item.removeprefix("ansible.builtin.") for item in value if item]


def _inventory_plugins_emulated(value: list[str]) -> bool:
    """Ansible tries the enabled inventory plugins in order (ansible/inventory/manager.py:211) and the first
    that parses a file wins: we emulate yaml before ini, with only Ansible's own plugins before ini."""
    names = _plugins(value)
    if "yaml" not in names or "ini" not in names or names.index("yaml") > names.index("ini"):
        return False
    builtin = {"host_list", "script", "auto", "yaml", "toml", "ini"}
    return all(name in builtin for name in names[: names.index("ini")])


SETTINGS: tuple[Setting, ...] = (
    Setting(  # base.yml:770
        "DEFAULT_HASH_BEHAVIOUR",
        "ANSIBLE_HASH_BEHAVIOUR",
        (("defaults", "hash_behaviour"),),
        "str",
        "replace",
        lambda v: v == "replace",
        "merges dictionaries defined at several levels (ansible/utils/vars.py combine_vars)",
    ),
    Setting(  # base.yml:2172
        "VARIABLE_PRECEDENCE",
        "ANSIBLE_PRECEDENCE",
        (("defaults", "precedence"),),
        "list",
        ",".join(DEFAULT_PRECEDENCE),
        lambda v: tuple(v) == DEFAULT_PRECEDENCE,
        "orders group variables and group_vars otherwise",
    ),
    Setting(  # base.yml:1758
        "INVENTORY_IGNORE_EXTS",
        "ANSIBLE_INVENTORY_IGNORE",
        (("defaults", "inventory_ignore_extensions"), ("inventory", "ignore_extensions")),
        "list",
        ", ".join(DEFAULT_IGNORE_EXTS),
        lambda v: set(v) == set(DEFAULT_IGNORE_EXTS),
        "reads or skips other files of an inventory directory than orchestrate does",
    ),
    Setting(  # base.yml:1767
        "INVENTORY_IGNORE_PATTERNS",
        "ANSIBLE_INVENTORY_IGNORE_REGEX",
        (("defaults", "inventory_ignore_patterns"), ("inventory", "ignore_patterns")),
        "list",
        "(none)",
        lambda v: list(v) == [],
        "skips other files of an inventory directory than orchestrate does",
    ),
    Setting(  # base.yml:2198
        "YAML_FILENAME_EXTENSIONS",
        "ANSIBLE_YAML_FILENAME_EXT",
        (("defaults", "yaml_valid_extensions"),),
        "list",
        ", ".join(DEFAULT_YAML_EXTENSIONS),
        lambda v: tuple(v) == DEFAULT_YAML_EXTENSIONS,
        "reads other files as YAML inventories and group_vars/host_vars than orchestrate does",
    ),
    Setting(  # base.yml:1704; 'ignore' does what 'never' does, without the warning
        "TRANSFORM_INVALID_GROUP_CHARS",
        "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS",
        (("defaults", "force_valid_group_names"),),
        "str",
        "never",
        lambda v: v in ("never", "ignore"),
        "renames groups whose names are not Python identifiers (so group_vars files match other groups)",
    ),
    Setting(  # base.yml:1742
        "INVENTORY_ENABLED",
        "ANSIBLE_INVENTORY_ENABLED",
        (("inventory", "enable_plugins"),),
        "list",
        "host_list, script, auto, yaml, ini, toml",
        _inventory_plugins_emulated,
        "parses inventory files with other plugins than yaml, then ini",
    ),
    Setting(  # base.yml:2163
        "VARIABLE_PLUGINS_ENABLED",
        "ANSIBLE_VARS_ENABLED",
        (("defaults", "vars_plugins_enabled"),),
        "list",
        "host_group_vars",
        lambda v: _plugins(v) == ["host_group_vars"],
        "reads variables through other vars plugins than host_group_vars (group_vars/, host_vars/)",
    ),
    Setting(  # base.yml:1245
        "DEFAULT_VAULT_ID_MATCH",
        "ANSIBLE_VAULT_ID_MATCH",
        (("defaults", "vault_id_match"),),
        "bool",
        "False",
        lambda v: v is False,
        "tries only the vault password whose label matches a value's vault id",
    ),
)
DUPLICATE_YAML_DICT_KEY = Setting(  # base.yml:1393, choices error, warn, ignore
    "DUPLICATE_YAML_DICT_KEY", "ANSIBLE_DUPLICATE_YAML_DICT_KEY", (("defaults", "duplicate_dict_key"),), "str", "warn"
)
VAULT_PASSWORD_FILE = Setting(  # base.yml:1285
    "DEFAULT_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_PASSWORD_FILE", (("defaults", "vault_password_file"),), "path", ""
)
VAULT_IDENTITY_LIST = Setting(  # base.yml:1276
    "DEFAULT_VAULT_IDENTITY_LIST", "ANSIBLE_VAULT_IDENTITY_LIST", (("defaults", "vault_identity_list"),), "list", ""
)


@dataclass(frozen=True)
class Value:
    """A setting's value as Ansible types it, and where it was set."""

    value: Any
    written: str  # as the admin wrote it, for messages
    env: str | None = None  # the environment variable it came from, or None for the config file
    location: Location | None = None  # its line in the config file


@dataclass
class AnsibleConfig:
    """The config file Ansible would read (or None) and the environment, with problems as findings."""

    environ: Mapping[str, str]
    path: Path | None = None
    findings: list[Finding] = field(default_factory=list)
    parser: configparser.ConfigParser | None = None
    lines: dict[tuple[str, str], int] = field(default_factory=dict)

    def value(self, setting: Setting) -> Value | None:
        """The setting's value where the admin set it, or None when left at its default."""
        raw = self.environ.get(setting.env)
        if raw is not None:
            return Value(_typed(raw, setting.kind, None, ini=False), raw, env=setting.env)
        found: Value | None = None
        if self.parser is not None and self.path is not None:
            for section, key in setting.ini:  # the last one given wins (manager.py:638-651)
                text = self.parser.get(section, key, raw=True, fallback=None)
                if text is not None:
                    line = self.lines.get((section, key)) or self.lines.get(("DEFAULT", key), 1)
                    found = Value(
                        _typed(text, setting.kind, self.path.parent, ini=True),
                        f"[{section}] {key} = {text}",
                        location=Location(str(self.path), line, 1),
                    )
        return found

    def duplicate_keys(self) -> tuple[str, list[Finding]]:
        """DUPLICATE_YAML_DICT_KEY as Ansible reads it: error, warn (the default) or ignore; another value is
        refused, as Ansible refuses it ("Invalid value ... for config")."""
        given = self.value(DUPLICATE_YAML_DICT_KEY)
        if given is None or given.value in DUPLICATE_KEY_MODES:
            return (given.value if given else "warn"), []
        said = f"{given.env}={given.written}" if given.env else f"ansible.cfg sets {given.written}"
        undo = f"set {given.env}" if given.env else "set duplicate_dict_key"
        return "warn", [
            Finding(
                "error",
                f"{said}: Ansible refuses this value of DUPLICATE_YAML_DICT_KEY, and so does orchestrate",
                f"{undo} to one of {', '.join(DUPLICATE_KEY_MODES)} (lower case), or remove it",
                given.location,
            )
        ]

    def refusals(self) -> list[Finding]:
        """One error per setting that differs from the default in a way that changes resolution."""
        findings = []
        for setting in SETTINGS:
            given = self.value(setting)
            if given is None or setting.emulated(given.value):
                continue
            said = f"{given.env}={given.written} is set" if given.env else f"ansible.cfg sets {given.written}"
            message = (
                f"{said} ({setting.name}, {BASE_YML}): with it Ansible {setting.effect}; orchestrate resolves "
                "inventories only as Ansible's default does, so it refuses this one"
            )
            undo = f"unset {given.env}" if given.env else "remove that line"
            fix = f"{undo}, or set it to Ansible's default: {setting.default}"
            findings.append(Finding("error", message, fix, given.location))
        return findings


def load_config(environ: Mapping[str, str] | None = None, cwd: str | None = None) -> AnsibleConfig:
    """The settings Ansible would use here: the config file found as find_ini_config_file finds it, and
    `environ` (os.environ by default). Never raises: an unreadable file is a finding."""
    env = os.environ if environ is None else environ
    config = AnsibleConfig(env)
    path = _find_config_file(env, cwd, config.findings)
    if path is None:
        return config
    config.path = Path(path)
    if os.path.splitext(path)[1] not in (".ini", ".cfg"):  # manager.py:237-249 get_config_type
        config.findings.append(
            Finding(
                "error",
                f"Ansible refuses the config file {path}: its name must end in .cfg or .ini",
                "rename it, or point ANSIBLE_CONFIG at an ansible.cfg",
                Location(path),
            )
        )
        return config
    try:
        # to_text(errors='surrogate_or_strict') (manager.py:434) never fails on Python 3
        text = Path(path).read_bytes().decode("utf-8", "surrogateescape")
        parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
        parser.read_string(text, source=path)
    except OSError as exc:
        config.findings.append(
            Finding("error", f"cannot read the Ansible config file {path}: {exc.strerror}", "", Location(path))
        )
        return config
    except configparser.Error as exc:  # Ansible stops too (manager.py:439-440)
        line = getattr(exc, "lineno", 1) or 1
        config.findings.append(
            Finding(
                "error",
                f"Ansible cannot read its config file: {' '.join(str(exc).split())}",
                "fix the file (each setting once per section, `key = value` under a [section])",
                Location(path, line),
            )
        )
        return config
    config.parser = parser
    config.lines = _option_lines(text)
    return config


def _find_config_file(env: Mapping[str, str], cwd: str | None, findings: list[Finding]) -> str | None:
    """ansible/config/manager.py:252-312, find_ini_config_file, with its world-writable warning."""
    here = cwd if cwd is not None else _getcwd()
    candidates: list[str] = []
    from_env: str | None = None
    if "ANSIBLE_CONFIG" in env:
        from_env = _unfrack(env["ANSIBLE_CONFIG"], here)
        if os.path.isdir(from_env):
            from_env = os.path.join(from_env, "ansible.cfg")
        candidates.append(from_env)
    skipped: str | None = None
    if here is not None:
        try:
            here_cfg = os.path.join(here, "ansible.cfg")
            if os.stat(here).st_mode & stat.S_IWOTH:
                skipped = here_cfg if os.path.exists(here_cfg) else None
            else:
                candidates.append(here_cfg)
        except OSError:
            pass
    candidates.append(_unfrack("~/.ansible.cfg", here))
    candidates.append("/etc/ansible/ansible.cfg")
    found = next((c for c in candidates if os.path.exists(c) and os.access(c, os.R_OK)), None)
    if skipped is not None and (from_env is None or found != from_env):
        findings.append(
            Finding(
                "warning",
                f"Ansible ignores {skipped} because the folder {here} is world-writable; so does orchestrate",
                "run from a folder only you can write, or point ANSIBLE_CONFIG at the file",
                Location(skipped),
            )
        )
    return found


def _getcwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def _unfrack(path: str, base: str | None) -> str:
    """ansible/utils/path.py:29-63 unfrackpath(follow=False): $VARS and ~ expanded, relative to `base`."""
    expanded = os.path.expanduser(os.path.expandvars(path))
    if not os.path.isabs(expanded):
        expanded = os.path.join(base or os.getcwd(), expanded)
    return os.path.normpath(expanded)


def _unquote(text: str) -> str:
    """ansible/parsing/quoting.py:19-29."""
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" and text[-2] != "\\":
        return text[1:-1]
    return text


def _typed(raw: str, kind: str, base: Path | None, *, ini: bool) -> Any:
    """ensure_type (manager.py:124-226) for the kinds used here; `base` is the config file's folder."""
    if kind == "list":
        return [_unquote(item.strip()) for item in raw.split(",")]
    if kind == "bool":
        return raw.lower().strip() in _BOOLEANS_TRUE
    text = _unquote(raw) if ini else raw
    if kind == "path":
        if "{{CWD}}" in text:
            text = text.replace("{{CWD}}", os.getcwd())
        return _unfrack(text, str(base) if base is not None else None)
    return text


_SECTION = re.compile(r"\[(?P<name>.+)\]")
_OPTION = re.compile(r"(?P<key>[^=:\s][^=:]*?)\s*[=:]")


def _option_lines(text: str) -> dict[tuple[str, str], int]:
    """The line of each `key = value` per section, for findings (configparser does not keep them)."""
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line[0].isspace() or line.lstrip()[0] in "#;":
            continue
        header = _SECTION.match(line.strip())
        if header:
            section = header.group("name")
            continue
        option = _OPTION.match(line)
        if option:
            lines.setdefault((section, option.group("key").strip().lower()), number)
    return lines
