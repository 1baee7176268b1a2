"""`orchestrate rollback`: restore a named checkpoint and verify the VMs are back on it. Cron-safe."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.group import main
from orchestrator.cli.options import checkpoint_name, inventory_argument, operation_options
from orchestrator.cli.output import run_operation


@main.command()
@inventory_argument
@click.option(
    "--to", "to", required=True, metavar="NAME", callback=checkpoint_name,
    help="The checkpoint to restore, as Get-VMSnapshot shows it."
)
@operation_options
def rollback(inventory: str | None, to: str, vm_glob: str | None, **kwargs: Any) -> None:
    """Roll the inventory's VMs back to checkpoint NAME and bring each to its inventory power state.

    \b
    Per VM: an optional `pre-rollback-<UTC time>` checkpoint first (`checkpoints: {pre_rollback: true}`),
    then Restore-VMSnapshot -Confirm:$false, then retention. The result is verified, not just the exit
    code: the VM must descend from NAME, match the checkpoint's CPUs and memory, and be running (or off).
    A VM without NAME fails with a clear message; the other VMs are still rolled back.

    \b
    Safe for cron and systemd timers: never prompts, exits 3 when another run holds a host (or waits for
    it with --wait-lock 15m), --output json prints JSON lines, and every run is in `orchestrate history`.

    \b
    Examples:
      orchestrate rollback inventories/school.yaml --to clean --vm 'science-lab-*'
      orchestrate rollback inventories/school.yaml --to clean --limit hyperv --output json >> rollback.jsonl

    Exit codes: 0 ok, 1 a host or VM failed (even if another host was locked), 2 invalid input, 3 a host is
    locked by another run and none failed, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.operations import Rollback

    run_operation(inventory, Rollback(to, vm_glob), **kwargs)
