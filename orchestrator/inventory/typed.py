"""One host's effective variables -> HostSpec: connection, credentials, simulator, run settings, VMs.

Only the variables the product reads are interpreted: Ansible's connection variables and our own
`multipoint_*` / `orchestrate_*`. Any other variable is left alone, as Ansible does; a misspelt variable of
ours is an error with a suggestion. Defaults are Ansible's (ansible_connection winrm, scheme https, or http
on port 5985, transport ntlm, /wsman) and the model's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import signatures
from orchestrator.inventory.credentials import PASSWORD_TRANSPORTS, Credentials
from orchestrator.inventory.fields import BAD, Reader, origin_in, suggestion
from orchestrator.inventory.lookup import describe, env_lookup_name, variable_reference
from orchestrator.inventory.resolve import VarDef
from orchestrator.inventory.typed_vms import VMBuilder
from orchestrator.inventory.yaml_source import Origin
from orchestrator.model import Connection, HostSpec, RetryPolicy

PRODUCT_VARS = (
    "multipoint_vms",
    "multipoint_vm_defaults",
    "multipoint_classrooms",
    "multipoint_schedules",
    "orchestrate_simulator",
    "orchestrate_allow_unencrypted",
    "orchestrate_retry",
    "orchestrate_operation_timeout",
    "orchestrate_templates_dir",
    "orchestrate_password_file",
)
PRODUCT_PREFIXES = ("multipoint_", "orchestrate_")
# The simulated host's description, as orchestrator.simulator.state.host_from_seed reads it.
SIMULATOR_KEYS = (
    "os_sku",
    "os_version",
    "hyperv_installed",
    "logical_processors",
    "memory",
    "switches",
    "images",
    "shares",
    "free_disk",
    "folders",
    "computer_name",
    "delegation",
    "guest_setup_seconds",  # issue 15: a simulated guest's first-boot setup, in simulated seconds
    "guest_domains",  # issue 15: the AD domains a simulated guest can join
    "automount",  # audit K H1: whether Mount-VHD gives a mounted disk's volumes drive letters by itself
    "hotfixes",  # the updates Get-HotFix lists on the host (ping's check of KB2842230 on 2012)
    "cmdlets_as_on",  # {cmdlet: Windows version}: a host whose cmdlet differs from its own version's page
    "cmdlets_without",  # {cmdlet: [parameter, ...]}: a host whose cmdlet lacks parameters its page lists
)
RETRY_KEYS = ("attempts", "deadline")

# Connection variable -> (Connection field, kind of value)
_CONNECTION_VARS: dict[str, tuple[str, str]] = {
    "ansible_connection": ("kind", "text"),
    "ansible_host": ("address", "text"),
    "ansible_port": ("port", "port"),
    "ansible_user": ("user", "text"),
    "ansible_winrm_transport": ("transport", "transport"),
    "ansible_winrm_scheme": ("scheme", "text"),
    "ansible_winrm_server_cert_validation": ("cert_validation", "text"),
    "ansible_winrm_ca_trust_path": ("ca_trust_path", "text"),
    "ansible_winrm_message_encryption": ("message_encryption", "text"),
    "ansible_winrm_operation_timeout_sec": ("operation_timeout_sec", "port"),
    "ansible_winrm_read_timeout_sec": ("read_timeout_sec", "port"),
    "ansible_winrm_path": ("path", "text"),
    "ansible_winrm_cert_pem": ("cert_pem", "text"),
    "ansible_winrm_cert_key_pem": ("cert_key_pem", "text"),
    "ansible_winrm_kerberos_delegation": ("kerberos_delegation", "bool"),
    "orchestrate_allow_unencrypted": ("allow_unencrypted", "bool"),
}
CONNECTION_VARS = tuple(_CONNECTION_VARS)

# The other names Ansible's winrm plugin reads for the same settings, lowest precedence first: each option
# lists its variables (ansible/plugins/connection/winrm.py: remote_addr, remote_user, remote_password, port),
# and of those defined the last one listed wins (ansible/config/manager.py, _loop_entries). An inventory
# written for Ansible with ansible_winrm_password is therefore read as Ansible reads it.
ANSIBLE_ALIASES: dict[str, tuple[str, ...]] = {
    "ansible_host": ("ansible_host", "ansible_winrm_host"),
    "ansible_port": ("ansible_port", "ansible_winrm_port"),
    "ansible_user": ("ansible_user", "ansible_winrm_user"),
    "ansible_password": ("ansible_password", "ansible_winrm_pass", "ansible_winrm_password"),
}
PASSWORD_VARS = ANSIBLE_ALIASES["ansible_password"]


def with_ansible_aliases(
    variables: dict[Any, Any], origins: dict[Any, Origin]
) -> tuple[dict[Any, Any], dict[Any, Origin]]:
    """The host's variables with each setting under its ansible_* name taken from the alias Ansible would use
    (ANSIBLE_ALIASES); the same dicts when no alias is set, as for nearly every host."""
    result: tuple[dict[Any, Any], dict[Any, Origin]] | None = None
    for canonical, names in ANSIBLE_ALIASES.items():
        chosen = None
        for name in names:
            if variables.get(name) is not None:
                chosen = name
        if chosen is None or chosen == canonical:
            continue
        if result is None:
            result = (dict(variables), dict(origins))
        result[0][canonical] = variables[chosen]
        if chosen in origins:
            result[1][canonical] = origins[chosen]
    return result or (variables, origins)


def check_definitions(definitions: Iterable[VarDef], reader: Reader, credentials: Credentials) -> None:
    """Checks made once per place a variable is written: misspelt product variables, literal passwords."""
    for definition in definitions:
        name = definition.name
        if isinstance(name, str) and name.startswith(PRODUCT_PREFIXES) and name not in PRODUCT_VARS:
            reader.error(
                definition.key_origin,
                f"unknown variable '{name}'",
                suggestion(name, PRODUCT_VARS) or f"the product's variables are: {', '.join(PRODUCT_VARS)}",
            )
        value = definition.value
        if (
            name in PASSWORD_VARS
            and isinstance(value, str)
            and value
            and env_lookup_name(value) is None
            and variable_reference(value) is None  # checked where the variable it names is written
        ):
            credentials.check_literal(definition.origin, definition.path)


# A simulated host's image (orchestrate_simulator: images): its edition, size, partition style, the values
# under HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest it was captured with, and files its Windows partition
# holds (simulator/host/guest.py).
_IMAGE_KEYS = ("edition_sku", "size", "partition_style", "guest_values", "guest_files")
_IMAGE_TEXT_MAPS = (
    ("guest_values", "names to text (the values under HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest the image "
     "was captured with)", "{OrchestrateReady: 'ready...'}"),
    ("guest_files", "a path in the image's Windows partition to its text",
     "{'\\Windows\\Setup\\Scripts\\SetupComplete.cmd': '...'}"),
)


def _is_text_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


@dataclass
class _CmdletEntries:
    """The entries of a seed's cmdlet-keyed mapping whose cmdlet is known: (name, value, origin)."""

    known: list[tuple[str, Any, Origin]] = field(default_factory=list)
    ok: bool = True


class HostBuilder:
    """Turns resolved variables into HostSpecs; a host with any error is left out (its findings stay)."""

    def __init__(
        self, reader: Reader, base_dir: Path, inventory_file: str, ask_pass: Callable[[str], str] | None
    ) -> None:
        self.r = reader
        self.base_dir = base_dir
        self.credentials = Credentials(reader, base_dir, inventory_file, ask_pass)

    def _transport(self, value: Any, origin: Origin, what: str) -> Any:
        """One transport. Ansible's winrm plugin also takes a list (or `ntlm,kerberos`) and tries each in
        turn until one connects (ansible.builtin.winrm: "List of winrm transports to attempt to use"); that
        can fall back to a weaker one without a word, so here a host names the one it uses."""
        if isinstance(value, list) or (isinstance(value, str) and "," in value):
            shown = ", ".join(str(v).strip() for v in (value if isinstance(value, list) else value.split(",")))
            return self.r.error(
                origin,
                f"{what} lists several transports ({shown}): orchestrate uses one per host and never falls back "
                "to another, as Ansible's plugin does",
                "give the one this host accepts, e.g. ansible_winrm_transport: ntlm",
            )
        return self.r.text(value, origin, what)

    def build(
        self,
        name: str,
        variables: dict[Any, Any],
        origins: dict[Any, Origin],
        groups: list[str],
        origin: Origin,
    ) -> tuple[HostSpec, bool]:
        """The host as far as it type-checks, and whether it did completely (no error found for it).

        A partial host still goes through the rules, so one run reports every problem; only complete
        hosts enter Inventory.hosts. While it is built, the Reader knows the host's variables, so a value
        `{{ name }}` reads as the host's variable `name` (fields.Reader.scalar).
        """
        variables, origins = with_ansible_aliases(variables, origins)
        # Each host's build replaces the previous host's variables; no reader call outlives its host's build.
        self.r.variables, self.r.variable_origins = variables, origins
        errors_before = self.r.errors
        r = self.r

        def where(var: str) -> Origin:
            return origins.get(var) or origin.at(var)

        def get(var: str, read: Callable[[Any, Origin, str], Any], default: Any = None) -> Any:
            if variables.get(var) is None:
                return default
            return read(variables[var], where(var), var)

        connection: dict[str, Any] = {}
        for var, (attribute, kind) in _CONNECTION_VARS.items():
            reader = {
                "text": r.text,
                "bool": r.boolean,
                "port": lambda v, o, w: r.integer(v, o, w, numeric_text=True),
                "transport": self._transport,
            }[kind]
            value = get(var, reader)
            if value is not None and value is not BAD:
                connection[attribute] = value
        connection.setdefault("address", name)
        if "scheme" not in connection and connection.get("port") == 5985:
            connection["scheme"] = (
                "http"  # Ansible's winrm plugin: port 5985 means http unless told otherwise
            )
        kind = connection.get("kind", "winrm")
        transport = connection.get("transport", "ntlm")
        user = connection.get("user")
        password = None
        if kind == "winrm":  # like Ansible, a simulated host never evaluates (or needs) the password
            password = self.credentials.password(
                name,
                variables,
                origins,
                user=user if isinstance(user, str) else None,
                needs_password=transport in PASSWORD_TRANSPORTS,
            )
        if password is not None and password is not BAD:
            connection["password"] = password

        simulator = None
        if variables.get("orchestrate_simulator") is not None:
            simulator = self.simulator(variables["orchestrate_simulator"], where("orchestrate_simulator"))
            if kind != "simulator" and simulator is not BAD:
                r.warning(
                    where("orchestrate_simulator"),
                    f"host {name}: orchestrate_simulator is ignored unless ansible_connection is simulator",
                    "set ansible_connection: simulator, or remove it",
                )
        retry = get("orchestrate_retry", self.retry, RetryPolicy())
        operation_timeout = get("orchestrate_operation_timeout", r.number, 3600.0)
        templates_dir = get("orchestrate_templates_dir", r.text)
        if isinstance(templates_dir, str):
            folder = Path(templates_dir).expanduser()
            templates_dir = str(folder if folder.is_absolute() else self.base_dir / folder)

        builder = VMBuilder(r, name, self.credentials)
        vms = builder.vms(variables, origins)
        schedules = get("multipoint_schedules", lambda v, o, w: builder.schedules(v, o), [])
        if password is BAD:
            connection.pop("password", None)

        complete = r.errors == errors_before
        simulator = None if simulator is BAD else simulator
        retry = RetryPolicy() if retry is BAD else retry
        operation_timeout = 3600.0 if operation_timeout is BAD else operation_timeout
        templates_dir = None if templates_dir is BAD else templates_dir
        tracked = [*CONNECTION_VARS, *PRODUCT_VARS, "ansible_password"]
        spec = HostSpec(
            name=name,
            connection=Connection(**connection),
            vms=tuple(vms),
            schedules=tuple(schedules),
            groups=tuple(groups),
            simulator=simulator,
            retry=retry,
            operation_timeout=float(operation_timeout),
            templates_dir=templates_dir,
            location=origin.location,
            locations={var: origins[var].location for var in tracked if var in origins},
        )
        return spec, complete

    def retry(self, value: Any, origin: Origin, what: str) -> Any:
        mapping = self.r.mapping(value, origin, what, RETRY_KEYS, hint="write {attempts: 5, deadline: 300}")
        if mapping is BAD or any(k not in RETRY_KEYS for k in mapping):
            return BAD
        values: dict[str, Any] = {}
        if mapping.get("attempts") is not None:
            values["attempts"] = self.r.integer(
                mapping["attempts"], origin_in(mapping, "attempts", origin), f"{what}: attempts"
            )
        if mapping.get("deadline") is not None:
            values["deadline"] = self.r.number(
                mapping["deadline"], origin_in(mapping, "deadline", origin), f"{what}: deadline"
            )
        if BAD in values.values():
            return BAD
        if "deadline" in values:
            values["deadline"] = float(values["deadline"])
        return RetryPolicy(**values)

    def simulator(self, value: Any, origin: Origin) -> Any:
        """Validate the simulated host's description; return it raw (plain dicts and lists) as written."""
        r = self.r
        what = "orchestrate_simulator"
        mapping = r.mapping(
            value,
            origin,
            what,
            SIMULATOR_KEYS,
            hint="write {os_sku: 8, logical_processors: 16, memory: 64GB, ...}",
        )
        if mapping is BAD:
            return BAD
        ok = not any(k not in SIMULATOR_KEYS for k in mapping)

        def at(key: Any) -> Origin:
            return origin_in(mapping, key, origin)

        checks: dict[str, Callable[[Any, Origin, str], Any]] = {
            "os_sku": r.integer,
            "logical_processors": r.integer,
            "hyperv_installed": r.boolean,
            "delegation": r.boolean,
            "automount": r.boolean,
            "os_version": r.text,
            "computer_name": r.text,
            "memory": r.size,
            "free_disk": r.size,
            "guest_setup_seconds": r.integer,
        }
        for key, check in checks.items():
            if mapping.get(key) is not None and check(mapping[key], at(key), f"{what}: {key}") is BAD:
                ok = False
        for key in ("switches", "folders", "guest_domains", "hotfixes"):
            if mapping.get(key) is not None:
                ok = self._texts(mapping[key], at(key), f"{what}: {key}") and ok
        if mapping.get("shares") is not None:
            ok = self._shares(mapping["shares"], at("shares"), f"{what}: shares") and ok
        if mapping.get("images") is not None:
            ok = self._images(mapping["images"], at("images"), f"{what}: images") and ok
        if mapping.get("cmdlets_as_on") is not None:
            ok = self._cmdlets_as_on(mapping["cmdlets_as_on"], at("cmdlets_as_on"), f"{what}: cmdlets_as_on") and ok
        if mapping.get("cmdlets_without") is not None:
            ok = self._cmdlets_without(mapping["cmdlets_without"], at("cmdlets_without"),
                                       f"{what}: cmdlets_without") and ok
        return _raw(mapping) if ok else BAD

    def _cmdlets_as_on(self, value: Any, origin: Origin, what: str) -> bool:
        """{Mount-VHD: '6.2'}: the simulated host's Mount-VHD takes the parameters its page lists for Windows
        6.2, whatever the host's own version (orchestrator.simulator.state.cmdlets_as_on)."""
        hint = "write {Mount-VHD: '6.2'} (a cmdlet, and the Windows version whose page lists its parameters here)"
        entries = self._cmdlet_entries(value, origin, what, "Windows versions", hint)
        if entries is None:
            return False
        ok = entries.ok
        for name, version, at in entries.known:
            text = self.r.text(version, at, f"{what}: {name}")
            if text is BAD:
                ok = False
                continue
            try:
                signatures.normalize_version(text)
            except ValueError as exc:
                ok = self.r.error(at, f"{what}: {name}: {exc}", "write '6.2', '6.3' or '10.0'") and False
        return ok

    def _cmdlets_without(self, value: Any, origin: Origin, what: str) -> bool:
        """{Set-VMMemory: [Confirm, WhatIf]}: the simulated host's Set-VMMemory lacks those parameters of its
        page (orchestrator.simulator.state.cmdlets_without)."""
        hint = "write {Set-VMMemory: [Confirm, WhatIf]} (a cmdlet, and the parameters it lacks here)"
        entries = self._cmdlet_entries(value, origin, what, "lists of parameter names", hint)
        if entries is None:
            return False
        ok = entries.ok
        for name, params, at in entries.known:
            ok = self._texts(params, at, f"{what}: {name}") and ok
        return ok

    def _cmdlet_entries(self, value: Any, origin: Origin, what: str, values: str, hint: str) -> _CmdletEntries | None:
        """A seed's mapping keyed by cmdlet names: None (reported) when it is no mapping; else its entries
        whose key is a cmdlet the simulator knows, each with its origin, and whether every key was one (an
        unknown one is reported with the known name it resembles)."""
        if not isinstance(value, dict):
            self.r.error(origin, f"{what} must be a mapping of cmdlet names to {values}", hint)
            return None
        known_names = {name.lower(): name for name in signatures.cmdlet_names()}
        entries = _CmdletEntries()
        for name, item in value.items():
            at = origin_in(value, name, origin)
            if not isinstance(name, str) or name.lower() not in known_names:
                close = suggestion(str(name), sorted(known_names.values()))
                entries.ok = self.r.error(at, f"{what}: {describe(name)} is not a cmdlet the simulator knows",
                                          close or hint) and False
                continue
            entries.known.append((name, item, at))
        return entries

    def _texts(self, value: Any, origin: Origin, what: str) -> bool:
        items = self.r.sequence(value, origin, what)
        if items is BAD:
            return False
        results = [
            self.r.text(item, origin_in(items, i, origin), f"an item of {what}")
            for i, item in enumerate(items)
        ]
        return BAD not in results

    def _shares(self, value: Any, origin: Origin, what: str) -> bool:
        """UNC roots -> {free: size}: `{'\\\\nas\\images': {free: 1TB}}`."""
        if not isinstance(value, dict):
            return (
                self.r.error(
                    origin,
                    f"{what} must be a mapping of UNC roots to {{free: size}}, not {describe(value)}",
                    "write {'\\\\nas01\\images': {free: 1TB}}",
                )
                and False
            )
        ok = True
        for root, info in value.items():
            at = origin_in(value, root, origin)
            if not isinstance(root, str):
                ok = self.r.error(at, f"{what}: a share root must be text", "quote it") and False
                continue
            if info is None:
                continue
            info_map = self.r.mapping(info, at, f"{what}: {root}", ("free",), hint="write {free: 1TB}")
            if info_map is BAD or any(k != "free" for k in info_map):
                ok = False
                continue
            if info_map.get("free") is not None:
                free = self.r.size(info_map["free"], origin_in(info_map, "free", at), f"{what}: free")
                ok = ok and free is not BAD
        return ok

    def _images(self, value: Any, origin: Origin, what: str) -> bool:
        mapping = (
            self.r.mapping(value, origin, what, (), hint="write {'D:\\images\\a.vhdx': {edition_sku: 77}}")
            if not isinstance(value, dict)
            else value
        )
        if mapping is BAD:
            return False
        ok = True
        for path, image in mapping.items():
            at = origin_in(mapping, path, origin)
            if not isinstance(path, str):
                ok = self.r.error(at, f"{what}: an image path must be text", "quote the path") and False
                continue
            image_map = self.r.mapping(image, at, f"{what}: {path}", _IMAGE_KEYS, hint="write {edition_sku: 77}")
            if image_map is BAD or any(k not in _IMAGE_KEYS for k in image_map):
                ok = False
                continue
            for key, meaning, example in _IMAGE_TEXT_MAPS:
                value = image_map.get(key)
                if value is not None and not _is_text_map(value):
                    ok = self.r.error(origin_in(image_map, key, at), f"{what}: {path}: {key} maps {meaning}",
                                      f"write {key}: {example}") and False
            style = image_map.get("partition_style")
            if style is not None and str(style).upper() not in ("GPT", "MBR"):
                ok = (
                    self.r.error(
                        origin_in(image_map, "partition_style", at),
                        f"{what}: {path}: partition_style must be GPT (a generation 2 VM's image) or MBR "
                        f"(generation 1), not {style!r}",
                        "write partition_style: GPT or partition_style: MBR",
                    )
                    and False
                )
            if image_map.get("edition_sku") is None:
                ok = (
                    self.r.error(
                        at,
                        f"{what}: {path} needs edition_sku (77 Premium, 76 Standard)",
                        "add edition_sku: 77",
                    )
                    and False
                )
            elif (
                self.r.integer(
                    image_map["edition_sku"], origin_in(image_map, "edition_sku", at), f"{what}: edition_sku"
                )
                is BAD
            ):
                ok = False
            if (
                image_map.get("size") is not None
                and self.r.size(image_map["size"], origin_in(image_map, "size", at), f"{what}: size") is BAD
            ):
                ok = False
        return ok


def _raw(value: Any) -> Any:
    """A plain copy (dict/list/scalars) of tracked YAML values, exactly as written."""
    if isinstance(value, dict):
        return {k: _raw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_raw(v) for v in value]
    return value
