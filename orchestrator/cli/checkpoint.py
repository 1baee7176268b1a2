"""`orchestrate checkpoint`: a named checkpoint of the selected VMs, then retention."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.group import main
from orchestrator.cli.options import checkpoint_name, inventory_argument, operation_options
from orchestrator.cli.output import run_operation


@main.command()
@inventory_argument
@click.option(
    "--name", required=True, callback=checkpoint_name,
    help="The checkpoint's name, exactly as Get-VMSnapshot will show it (printable, no space at either end).",
)
@operation_options
def checkpoint(inventory: str | None, name: str, vm_glob: str | None, **kwargs: Any) -> None:
    """Take checkpoint NAME of the inventory's VMs on each host, then apply each VM's retention.

    \b
    The orchestrator's own checkpoints are listed on one line of the VM's Notes
    (`orchestrate-checkpoints: <id>,...`); retention (`checkpoints: {keep: N}`) removes only those,
    oldest first, never the baseline and never a checkpoint someone else took. A VM that already has
    a checkpoint named NAME is refused (nothing is taken there), so a later rollback to NAME never
    lands on an older state by mistake.

    \b
    Examples:
      orchestrate checkpoint inventories/school.yaml --name before-exam-2026-11-25
      orchestrate checkpoint inventories/school.yaml --name friday --limit hv01.school.local --vm 'science-lab-*' --dry-run

    Exit codes: 0 ok, 1 a host or VM failed (even if another host was locked), 2 invalid input, 3 a host is
    locked by another run and none failed, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.operations import Checkpoint

    run_operation(inventory, Checkpoint(name, vm_glob), **kwargs)
