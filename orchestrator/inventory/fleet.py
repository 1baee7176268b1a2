"""Mixed fleets: which hosts of an Ansible inventory are ours to manage, and which we leave alone.

An Ansible shop's inventory also holds Linux servers, switches and Windows machines that are not MultiPoint
hosts. Such a host is not an error: we neither type-check nor contact it, and `-v` lists it. A host is ours
when its ansible_connection is `simulator`, or when it is `winrm` (or unset: our default) and it carries
at least one of our variables (`multipoint_*` or `orchestrate_*`). Any other ansible_connection (ssh,
psrp, local, network_cli, ...) means the host belongs to another tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.inventory.lookup import env_lookup_name

OUR_CONNECTIONS = ("winrm", "simulator")
OUR_PREFIXES = ("multipoint_", "orchestrate_")
WORK_VARS = ("multipoint_vms", "multipoint_classrooms", "multipoint_schedules")


def foreign_reason(variables: Mapping[Any, Any]) -> str | None:
    """Why a host is not ours (for -v), or None when it is ours."""
    connection = variables.get("ansible_connection")
    if (
        isinstance(connection, str)
        and env_lookup_name(connection) is None
        and connection not in OUR_CONNECTIONS
    ):
        return f"ansible_connection is {connection!r}"
    if connection == "simulator":
        return None
    if connection is not None and not isinstance(connection, str):
        return None  # a wrong type is an error of ours to report, not another tool's host
    if any(isinstance(key, str) and key.startswith(OUR_PREFIXES) for key in variables):
        return None
    return "it has no multipoint_* or orchestrate_* variable"


def misplaced_work(variables: Mapping[Any, Any]) -> list[str]:
    """Our work variables on a host another tool connects to (worth a warning: it will not happen)."""
    return [name for name in WORK_VARS if variables.get(name) is not None]


def foreign_hosts(hostvars: Mapping[str, Mapping[Any, Any]]) -> dict[str, str]:
    """Every host left alone, with the reason, in inventory order."""
    reasons = {name: foreign_reason(variables) for name, variables in hostvars.items()}
    return {name: reason for name, reason in reasons.items() if reason is not None}
