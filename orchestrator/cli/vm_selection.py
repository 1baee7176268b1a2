"""`--vm` must select a VM of the chosen hosts: a typo in a nightly cron line must not roll nothing back,
every night, with exit 0.

The inventory's VM names are known before any host is contacted, so a pattern that selects none of the
selected hosts' VMs is refused like a `--limit` that matches no host (exit 2). A VM the inventory names but
the host lacks is still the host's report to give (it is skipped there, with a note), so the check is over
the inventory only.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator.names import select_names

if TYPE_CHECKING:  # the CLI imports every module of its package at start: the inventory loader comes later
    from orchestrator.inventory import Inventory


def vm_pattern_problem(
    inventory: Inventory, hosts: Sequence[str], pattern: str | None, *, limited: bool
) -> str | None:
    """Why `--vm pattern` selects nothing on `hosts`, with the names it could have meant; None if it selects.
    `limited`: the hosts are a --limit's choice, so the message says so."""
    if pattern is None:
        return None
    every = [vm.name for host in inventory.hosts.values() for vm in host.vms]
    present = [vm.name for name in hosts for vm in inventory.hosts[name].vms if vm.state != "absent"]
    if select_names(pattern, present, known=every):
        return None
    where = "the hosts --limit selects" if limited else "the inventory"
    absent = [vm.name for name in hosts for vm in inventory.hosts[name].vms if vm.state == "absent"]
    lines = [f"--vm {pattern!r} matches no VM of {where}"
             + (" (a VM with state: absent has nothing to act on)" if select_names(pattern, absent, known=every) else "")]
    is_glob = any(c in pattern for c in "*?[")
    guesses = [] if is_glob else difflib.get_close_matches(
        pattern.casefold(), [n.casefold() for n in present], n=3, cutoff=0.6)
    if guesses:
        by_fold = {n.casefold(): n for n in present}
        lines.append("did you mean " + " or ".join(repr(by_fold[g]) for g in guesses) + "?")
    shown = ", ".join(present[:20]) + (f" and {len(present) - 20} more" if len(present) > 20 else "")
    lines.append(f"VMs: {shown}" if present else "those hosts have no VMs in the inventory")
    return "\n  ".join(lines)
