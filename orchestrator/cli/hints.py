"""Fixes that fit a simulated host: nobody can create a folder or a share on it by hand, so where a real host's
message says "create it", a simulated host's says what to change in the inventory instead.

A simulated host (`ansible_connection: simulator`) has exactly what its `orchestrate_simulator` seed lists
(folders, shares, switches, delegation). The seed is read when its state file is first made; only shares are
added to an existing state later (orchestrator/simulator/__init__.py), so a new folder needs a fresh state.
This is presentation, so it lives in the CLI: the events keep the host's own words, and the reporters get
the same events with the message and fix meant for the admin.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator import events as ev
from orchestrator.model import HostSpec, Inventory

_NOT_FOUND = re.compile(r"export destination not found: (?P<path>.+?) \(create it, or check that this host can reach the share\)")
_UNREACHABLE = re.compile(r"cannot reach (?P<path>\\\\[^\\\s:]+\\[^\\\s:]+)[^:]*: it does not exist, or this session is denied it\..*")


def _share_root(path: str) -> str:
    parts = path.lstrip("\\").split("\\")
    return "\\\\" + "\\".join(parts[:2])


def _reseed(host: HostSpec, state_dir: Path) -> str:
    return (
        "; a simulated host reads its seed once, when its state is first made: then use a new --state-dir, "
        f"or delete the state file of {host.name} in {state_dir}, to seed it afresh"
    )


def simulated_fix(host: HostSpec, error: str, state_dir: Path) -> tuple[str, str] | None:
    """(message, fix) for a simulated host's error that a real host would have the admin fix by hand."""
    seed = host.simulator or {}
    if (found := _NOT_FOUND.search(error)) is not None:
        path = found.group("path")
        message = error[: found.start()] + f"export destination not found: {path}" + error[found.end() :]
        if path.startswith("\\\\"):  # shares are added to an existing state too (simulator/__init__.py)
            what = f"add the share to orchestrate_simulator.shares of {host.name} in the inventory: '{_share_root(path)}': {{free: 1TB}}"
            return message, f"{path} is not on this simulated host: {what}"
        what = f"add '{path}' to orchestrate_simulator.folders of {host.name} in the inventory"
        return message, f"{path} is not on this simulated host: {what}" + _reseed(host, state_dir)
    if (found := _UNREACHABLE.search(error)) is not None:
        root = _share_root(found.group("path"))
        shares = {str(name).lower() for name in (seed.get("shares") or {})}
        if root.lower() in shares:  # the share is there: the double hop, which the host's message explains
            return None
        message = error[: found.start()] + f"cannot reach {found.group('path')}: this simulated host has no such share"
        fix = (
            f"add it to orchestrate_simulator.shares of {host.name} in the inventory ('{root}': {{free: 1TB}}); "
            "a WinRM session reaches it only with CredSSP (ansible_winrm_transport: credssp) or delegation "
            "(orchestrate_simulator.delegation: true), as a real host's second hop needs"
        )
        return message, fix
    return None


def with_simulated_fixes(inventory: Inventory, state_dir: Path, emit: Callable[[Any], None]) -> Callable[[Any], None]:
    """`emit` with the failures of simulated hosts reworded by `simulated_fix`."""

    def reworded(event: Any) -> None:
        host = inventory.hosts.get(getattr(event, "host", ""))
        error = getattr(event, "error", None)
        if host is not None and host.connection.kind == "simulator" and error:
            fixed = simulated_fix(host, error, state_dir)
            if fixed is not None and isinstance(event, ev.HostFinished):
                event = dataclasses.replace(event, error=fixed[0], fix=fixed[1])
            elif fixed is not None and isinstance(event, ev.ActionDone):
                event = dataclasses.replace(event, error=fixed[0])
        emit(event)

    return reworded
