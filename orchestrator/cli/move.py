"""`orchestrate move`: parse, run the two-host workflow (orchestrator.runner.move), print how it ended."""

from __future__ import annotations

import shlex
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
    say,
    state_dir_or_exit,
)


@main.command()
@inventory_argument
@click.option("--vm", "vm_name", required=True, metavar="NAME", help="The VM, as the inventory names it.")
@click.option("--to", "target", required=True, metavar="HOST", help="The inventory host to move it to.")
@click.option(
    "--via", default=None, metavar="SHARE", help="A share both hosts reach, e.g. \\\\nas\\exports (not needed with --resume or --undo)."
)
@click.option("--keep-source", is_flag=True, help="Keep the source VM (off) instead of removing it.")
@click.option(
    "--resume", "mode", flag_value="resume", default=None,
    help="Finish a move an earlier run left unfinished (its record on the source says which): remove the "
    "source if the target runs the copy, else undo.",
)
@click.option(
    "--undo", "mode", flag_value="undo",
    help="Put back a move an earlier run left unfinished: the copy removed, the source as it was.",
)
@timeout_option
@single_host_options
def move(
    inventory: str | None,
    vm_name: str,
    target: str,
    via: str | None,
    keep_source: bool,
    mode: str | None,
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
    If any step fails, or Ctrl-C, SIGTERM or SIGHUP arrives, the copy on HOST is removed and the source VM is
    put back exactly as it was (running if it ran): no VM is ever lost or running twice. The move ends by
    printing the inventory change that makes the next `orchestrate apply` a no-op.

    \b
    The move keeps a record on the source host (C:\\ProgramData\\MultiPointOrchestrator\\moves): while it is
    there, apply, rollback, checkpoint and the host's nightly task leave the VM alone, from any admin box.
    A move cut short in any way is finished with --resume or put back with --undo.

    \b
    Examples:
      orchestrate move inventories/school.yaml --vm teachers --to hv01.school.local --via '\\\\nas\\exports'
      orchestrate move inventories/school.yaml --vm teachers --to hv01.school.local --via '\\\\nas\\exports' --dry-run
      orchestrate move inventories/school.yaml --vm teachers --to hv01.school.local --undo

    Exit codes: 0 moved (or resumed, undone), 1 a step failed (and was undone), 2 invalid input, 3 a host is
    locked, 130 interrupted by Ctrl-C, SIGTERM or SIGHUP (and put back).
    """
    from orchestrator.runner.move import MoveRefused, movable, move_vm

    output = kwargs["output"]
    if mode is None:
        if via is None:
            refuse("--via SHARE is needed for a move (a share both hosts reach)")
        refuse_path(via, "--via", share_only=True)
    loaded = load_inventory_or_exit(inventory, output, kwargs.get("ask_pass", False))
    host_or_exit(loaded, target, "--to")
    try:  # refused here, before a reporter starts, so the message stands alone
        movable(loaded, vm_name, target, mode or "move")
    except MoveRefused as exc:
        refuse(str(exc))
    from orchestrator.cli.hints import simulated_fix, with_simulated_fixes

    state_dir = state_dir_or_exit(kwargs.get("state_dir"), output, writable=not kwargs.get("dry_run"))
    reporter = reporter_for(output, kwargs.get("verbosity", 0))
    # SIGTERM (systemd, kill) is Ctrl-C already (the group's InterruptHandler, counted: a third signal no
    # longer interrupts the undo): the move puts back what it began instead of dying half-way.
    try:
        result = move_vm(
            loaded,
            vm_name,
            target,
            via or "",
            state_dir=state_dir,
            emit=with_simulated_fixes(loaded, state_dir, reporter),
            keep_source=keep_source,
            dry_run=bool(kwargs.get("dry_run")),
            timeout=timeout,
            wait_lock=kwargs.get("wait_lock", 0.0),
            mode=mode or "move",
        )
        failed_on = loaded.hosts.get(result.failed_host or "")
        if result.error and failed_on is not None and failed_on.connection.kind == "simulator":
            reworded = simulated_fix(failed_on, result.error, state_dir)
            if reworded is not None:
                result.error = f"{reworded[0]} (fix: {reworded[1]})"
        _report(result, vm_name, target, via, mode, output, inventory)
        if result.recap is not None:
            reporter(result.recap)
    finally:
        reporter.close()
    sys.exit(result.final_exit_code)


def _report(
    result: Any, vm_name: str, target: str, via: str | None, mode: str | None, output: str, inventory: str | None
) -> None:
    """How the move ended, before the recap: moved (and the inventory change), checked, settled (--undo,
    --resume), or failed and undone. An undo that did not finish (a second signal, a host that went away)
    ends with the command that finishes it."""
    source = result.source
    if not result.ok and any(note.startswith("could not") for note in result.undo):
        finish = " ".join(shlex.quote(part) for part in (
            "orchestrate", "move", inventory or "INVENTORY", "--vm", vm_name, "--to", target, "--undo"))
        result.undo = [*result.undo, f"to finish the undo once both hosts answer, run: {finish}"]
    if mode is not None:
        say(
            output,
            "move_" + result.step.replace(" ", "_"),
            vm=vm_name,
            source=source,
            target=target,
            ok=result.ok,
            error=result.error,
            undo=result.undo,
            text=f"{vm_name}: {result.step}" + (f": {result.error}" if result.error else "")
            + "".join(f"\n  {note}" for note in result.undo),
            problem=not result.ok,
        )
    elif result.ok and result.inventory_change:
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
            problem=True,
        )

