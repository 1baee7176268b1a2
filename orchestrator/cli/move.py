"""`orchestrate move`: parse, run the two-host workflow (orchestrator.runner.move), print how it ended."""

from __future__ import annotations

import sys
from typing import Any

import click

from orchestrator.cli.group import main
from orchestrator.cli.options import inventory_argument, single_host_options, timeout_option
from orchestrator.cli.output import (
    host_or_exit,
    load_inventory_or_exit,
    refuse,
    refuse_path,
    reporter_for,
    resolve_state_dir,
    say,
)


@main.command()
@inventory_argument
@click.option("--vm", "vm_name", required=True, metavar="NAME", help="The VM, as the inventory names it.")
@click.option("--to", "target", required=True, metavar="HOST", help="The inventory host to move it to.")
@click.option(
    "--via", required=True, metavar="SHARE", help="A share both hosts reach, e.g. \\\\nas\\exports."
)
@click.option("--keep-source", is_flag=True, help="Keep the source VM (off) instead of removing it.")
@timeout_option
@single_host_options
def move(
    inventory: str,
    vm_name: str,
    target: str,
    via: str,
    keep_source: bool,
    timeout: int | None,
    **kwargs: Any,
) -> None:
    """Move VM NAME from the inventory host that lists it to HOST, through SHARE.

    \b
    1. on the source: a running VM is turned off (so nothing written after the copy is lost), exported to
       SHARE\\<vm>\\<UTC time> (kept there afterwards, and in the journal);
    2. on HOST: Import-VM copies it (same VM id) into the host's VM folder, Start-VM, and the guest is
       checked (running, MultiPoint Premium through KVP);
    3. on the source: the VM and its disks are removed (--keep-source: kept, off).
    If any step fails, the copy on HOST is removed and the source VM is put back exactly as it was
    (running if it ran): no VM is ever lost or running twice. The move ends by printing the inventory
    change that makes the next `orchestrate apply` a no-op.

    \b
    Examples:
      orchestrate move inventories/school.yaml --vm room-204-02 --to hv01.school.local --via '\\\\nas\\exports'
      orchestrate move inventories/school.yaml --vm teachers --to hv01.school.local --via '\\\\nas\\exports' --dry-run

    Exit codes: 0 moved, 1 a step failed (and was undone), 2 invalid input, 3 a host is locked.
    """
    from orchestrator.runner.move import MoveRefused, move_vm, source_host

    output = kwargs["output"]
    refuse_path(via, "--via", share_only=True)
    loaded = load_inventory_or_exit(inventory, output, kwargs.get("ask_pass", False))
    host_or_exit(loaded, target, "--to")
    try:  # refused here, before a reporter starts, so the message stands alone
        if source_host(loaded, vm_name) == target:
            refuse(f"VM {vm_name!r} is already on {target} in the inventory")
    except MoveRefused as exc:
        refuse(str(exc))
    from orchestrator.cli.hints import simulated_fix, with_simulated_fixes

    reporter = reporter_for(output, kwargs.get("verbosity", 0))
    state_dir = resolve_state_dir(kwargs.get("state_dir"))
    try:
        result = move_vm(
            loaded,
            vm_name,
            target,
            via,
            state_dir=state_dir,
            emit=with_simulated_fixes(loaded, state_dir, reporter),
            keep_source=keep_source,
            dry_run=bool(kwargs.get("dry_run")),
            timeout=timeout,
            wait_lock=kwargs.get("wait_lock", 0.0),
        )
        failed_on = loaded.hosts.get(result.step.rpartition(" on ")[2])
        if result.error and failed_on is not None and failed_on.connection.kind == "simulator":
            reworded = simulated_fix(failed_on, result.error, state_dir)
            if reworded is not None:
                result.error = f"{reworded[0]} (fix: {reworded[1]})"
        _report(result, vm_name, target, via, output)
        if result.recap is not None:
            reporter(result.recap)
    finally:
        reporter.close()
    sys.exit(result.final_exit_code)


def _report(result: Any, vm_name: str, target: str, via: str, output: str) -> None:
    """How the move ended, before the recap: moved (and the inventory change), checked, or failed and undone."""
    source = result.source
    if result.ok and result.inventory_change:
        say(
            output,
            "move_done",
            vm=vm_name,
            source=source,
            target=target,
            export=result.export_path,
            inventory_change=result.inventory_change,
            text=f"moved {vm_name} from {source} to {target}; "
            f"export kept at {result.export_path}\n{result.inventory_change}",
        )
    elif result.ok:
        say(
            output,
            "move_checked",
            vm=vm_name,
            source=source,
            target=target,
            text=f"dry run: {vm_name} can move from {source} to {target} via {via}",
        )
    else:
        say(
            output,
            "move_failed",
            vm=vm_name,
            step=result.step,
            error=result.error,
            undo=result.undo,
            text=f"move of {vm_name} failed at {result.step}: {result.error}\n"
            + "\n".join(f"  undo: {note}" for note in result.undo),
        )

