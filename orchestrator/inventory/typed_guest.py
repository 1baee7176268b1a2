"""A VM's `guest` key -> GuestSpec: the answer file's values, with its passwords as Secrets.

Shapes and types only (an unknown key, a number where text belongs, a password written in the clear);
the value rules (NetBIOS names, time zones, the product key's edition) are orchestrator.rules.guest's.

A secret is given as `{{ lookup('env', 'NAME') }}` or as `{file: PATH}` (a file only its owner may read,
its first line; a relative path starts at the inventory's folder), never as literal text: an inventory
file is read, listed and committed far more often than a password should be. Ansible Vault values are
refused by the YAML reader for now, as everywhere in the inventory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orchestrator.inventory.credentials import Credentials
from orchestrator.inventory.fields import BAD, Reader, origin_in
from orchestrator.inventory.lookup import describe, env_lookup_name, variable_reference
from orchestrator.inventory.yaml_source import Origin
from orchestrator.model import (
    DEFAULT_READY_TIMEOUT,
    MULTIPOINT_PREMIUM_KMS_KEY,
    DomainJoin,
    GuestSpec,
    Secret,
    SimulatedSecret,
)
from orchestrator.rules.guest import KNOWN_KMS_KEYS

GUEST_KEYS = (
    "computer_name",
    "admin_password",
    "product_key",
    "time_zone",
    "locale",
    "organization",
    "owner",
    "domain",
    "ready_timeout",
)
DOMAIN_KEYS = ("name", "ou", "user", "password")
SECRET_FORMS = "{{ lookup('env', 'NAME') }} or {file: /path/to/file}"
_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> int | None:
    """'45m', '1h', '1h30m', '2700s' -> seconds; None when it is not such a duration (or is zero-length)."""
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class GuestReader:
    """Reads one `guest` mapping; every problem becomes a finding on the shared Reader."""

    def __init__(self, reader: Reader, credentials: Credentials | None) -> None:
        self.r = reader
        self.credentials = credentials

    def guest(self, value: Any, origin: Origin, what: str) -> Any:
        mapping = self.r.mapping(
            value,
            origin,
            what,
            GUEST_KEYS,
            hint="write {admin_password: \"{{ lookup('env', 'MP_ADMIN_PASSWORD') }}\", time_zone: ...}",
        )
        if mapping is BAD:
            return BAD
        ok = not any(k not in GUEST_KEYS for k in mapping)

        def at(key: str) -> Origin:
            return origin_in(mapping, key, origin)

        values: dict[str, Any] = {}
        texts = ("computer_name", "time_zone", "locale", "organization", "owner")
        for key in texts:
            if mapping.get(key) is not None:
                values[key] = self.r.text(mapping[key], at(key), f"{what}: {key}", allow_int=key != "time_zone")
        if mapping.get("admin_password") is not None:
            values["admin_password"] = self.secret(mapping["admin_password"], at("admin_password"),
                                                   f"{what}: admin_password")
        else:
            values["admin_password"] = None  # required: the rules say so, at the guest's line
        if mapping.get("product_key") is not None:
            values["product_key"] = self.product_key(mapping["product_key"], at("product_key"),
                                                     f"{what}: product_key")
        if mapping.get("domain") is not None:
            values["domain"] = self.domain(mapping["domain"], at("domain"), f"{what}: domain")
        if mapping.get("ready_timeout") is not None:
            values["ready_timeout"] = self.duration(mapping["ready_timeout"], at("ready_timeout"),
                                                    f"{what}: ready_timeout")
        if not ok or BAD in values.values():
            return BAD
        values.setdefault("ready_timeout", DEFAULT_READY_TIMEOUT)
        locations = {str(k): at(str(k)).location for k in mapping}
        return GuestSpec(location=origin.location, locations=locations, **values)

    # -- secrets ---------------------------------------------------------------------------------------

    def secret(self, value: Any, origin: Origin, what: str) -> Any:
        """An env lookup or a {file: ...} mapping, as a Secret; literal text is refused. So is a vaulted
        value (`!vault`), and `{{ name }}` naming a variable that holds one of those (Reader.scalar)."""
        if isinstance(value, Secret) or variable_reference(value) is not None or env_lookup_name(value) is not None:
            resolved = self.r.scalar(value, origin)
            if resolved is BAD:
                return BAD
            if isinstance(resolved, Mapping):  # `{{ name }}` naming a {file: ...} or {simulated: ...}
                return self.secret(resolved, origin, what)
            from_env = getattr(resolved, "from_env", False)
            if not (from_env or getattr(resolved, "from_vault", False)):
                return self._refused_text(
                    resolved,
                    origin,
                    f"{what} names {describe(value)}, which holds the secret as text",
                    f"encrypt it with ansible-vault encrypt_string, or give it as {SECRET_FORMS}",
                )
            if not str(resolved):
                empty = "the environment variable is empty" if from_env else "the value is empty"
                return self.r.error(origin, f"{what}: {empty}", "set it to the password")
            if self.credentials is not None:
                self.credentials.secrets.add(str(resolved))
            return Secret(str(resolved))
        if isinstance(value, dict) and "simulated" in value and "file" not in value:
            # A made-up password for a simulated guest only (model.SimulatedSecret); the rules refuse it for
            # any host that is not a simulator.
            mapping = self.r.mapping(value, origin, what, ("simulated",), hint="write {simulated: demo}")
            if mapping is BAD or any(k != "simulated" for k in mapping):
                return BAD
            label = self.r.text(mapping["simulated"], origin_in(mapping, "simulated", origin), f"{what}: simulated")
            return BAD if label is BAD else SimulatedSecret(str(label))
        if isinstance(value, dict):
            mapping = self.r.mapping(value, origin, what, ("file",), hint="write {file: /path/to/file}")
            if mapping is BAD or any(k != "file" for k in mapping):
                return BAD
            if mapping.get("file") is None:
                return self.r.error(origin, f"{what} needs file: PATH", "write {file: /path/to/file}")
            if self.credentials is None:
                return self.r.error(origin, f"{what}: password files are not available here", SECRET_FORMS)
            return self.credentials.secret_file(mapping["file"], origin_in(mapping, "file", origin), what)
        return self._refused_text(
            value, origin, f"{what} is a secret and cannot be written in the inventory as text",
            f"give it as {SECRET_FORMS}",
        )

    def _refused_text(self, value: Any, origin: Origin, message: str, fix: str) -> Any:
        """A secret given as plain text: refused, and the text scrubbed from every message all the same."""
        if isinstance(value, str) and value and self.credentials is not None:
            self.credentials.secrets.add(value)
        return self.r.error(origin, message, fix)

    def product_key(self, value: Any, origin: Origin, what: str) -> Any:
        """Microsoft's public KMS client key may be written as text; any other key (a MAK, a retail key) is
        the site's secret and is given like a password. `{{ name }}` reads as the variable it names first, so
        a variable holding the public key is the public key, and one holding a MAK is held to the secret rules."""
        target = self.r.reference_target(value)
        if target is not None and self.r.variables is not None:
            named = self.r.variables[target[0]]  # a public key written as text in the variable it names
            if isinstance(named, str) and named.strip().upper() in KNOWN_KMS_KEYS:
                return self.product_key(named, origin, what)
        if isinstance(value, str) and env_lookup_name(value) is None and not isinstance(value, bool):
            if value.strip().upper() == MULTIPOINT_PREMIUM_KMS_KEY:
                return MULTIPOINT_PREMIUM_KMS_KEY
            known = KNOWN_KMS_KEYS.get(value.strip().upper())
            if known is not None:
                return value.strip().upper()  # a public key of another edition: the rules refuse it by name
            return self._key_as_written(self.secret(value, origin, what))
        return self._key_as_written(self.secret(value, origin, what))

    @staticmethod
    def _key_as_written(key: Any) -> Any:
        """A secret key, as the answer file gets it and the rules check it: the 29 characters only, upper case.
        "Product_key is a 29-character string" and "Entering an invalid product key in the answer file will
        cause Windows Setup to fail" (unattend reference, Microsoft-Windows-Shell-Setup ProductKey, Applies To
        Windows Server 2012): a key from an env variable or a file with a space or a newline around it is
        written without them, in the form the page shows."""
        return Secret(key.reveal().strip().upper()) if isinstance(key, Secret) else key

    # -- the rest --------------------------------------------------------------------------------------

    def domain(self, value: Any, origin: Origin, what: str) -> Any:
        mapping = self.r.mapping(
            value, origin, what, DOMAIN_KEYS,
            hint="write {name: school.example, user: joiner, password: \"{{ lookup('env', 'JOIN_PASSWORD') }}\"}",
        )
        if mapping is BAD:
            return BAD
        ok = not any(k not in DOMAIN_KEYS for k in mapping)
        for key in ("name", "user", "password"):
            if mapping.get(key) is None:
                self.r.error(origin, f"{what} needs {key}", f"add {key}: ...")
                ok = False
        if not ok:
            return BAD

        def at(key: str) -> Origin:
            return origin_in(mapping, key, origin)

        name = self.r.text(mapping["name"], at("name"), f"{what}: name")
        user = self.r.text(mapping["user"], at("user"), f"{what}: user")
        ou = self.r.text(mapping["ou"], at("ou"), f"{what}: ou") if mapping.get("ou") is not None else None
        password = self.secret(mapping["password"], at("password"), f"{what}: password")
        if BAD in (name, user, ou, password):
            return BAD
        return DomainJoin(name=name, user=user, password=password, ou=ou, location=origin.location)

    def duration(self, value: Any, origin: Origin, what: str) -> Any:
        value = self.r.scalar(value, origin)
        if value is BAD:
            return BAD
        if isinstance(value, int) and not isinstance(value, bool):
            return self.r.error(origin, f"{what} needs a unit, like {value}m", f"write {value}m (minutes)")
        seconds = parse_duration(value) if isinstance(value, str) else None
        if seconds is None:
            return self.r.error(origin, f"{what} must be a duration like 45m or 1h30m", "write 45m")
        return seconds
