"""`orchestrate checkpoint`: a named checkpoint of the selected VMs, then retention; plus the helper the
checkpoint, rollback, confirm and schedules commands share to run an operation through the Runner (so each
gets locks, the journal, dry-run preflight and JSON events like `apply`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from orchestrator.cli import main
from orchestrator.cli.options import common_options
from orchestrator.cli.output import load_inventory_or_exit, resolve_state_dir, select_or_exit


def run_operation(
    inventory_path: str,
    operation: Any,
    *,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
    dry_run: bool = False,
    wait_lock: float = 0.0,
    forks: int = 10,
    ask_pass: bool = False,
    after: Callable[[Any, str], None] | None = None,
    quiet: bool = False,
) -> None:
    """Load, select, run `operation` on every selected host, exit with the run's code (0, 1, 2 or 3)."""
    from orchestrator.report import JsonReporter, TextReporter
    from orchestrator.runner import Runner, RunOptions

    inventory = load_inventory_or_exit(inventory_path, output, ask_pass)
    hosts = select_or_exit(inventory, limit)
    options = RunOptions(
        state_dir=resolve_state_dir(state_dir),
        forks=forks,
        dry_run=dry_run,
        wait_lock=wait_lock,
        command=operation.command + (" --dry-run" if dry_run and not quiet else ""),
    )
    reporter = JsonReporter(verbosity=verbosity) if output == "json" else TextReporter(verbosity=verbosity)
    emit: Callable[[Any], None] = reporter
    if quiet and output != "json":
        emit = _problems_only(reporter)
    try:
        result = Runner(inventory, options, emit, operation=operation).apply(hosts)
    finally:
        reporter.close()
    if after is not None:
        after(result, output)
    sys.exit(result.exit_code)


def _problems_only(reporter: Callable[[Any], None]) -> Callable[[Any], None]:
    """For read-only listings: pass on warnings and failed hosts, not the plan/recap of a run that plans nothing."""
    from orchestrator import events as ev

    def emit(event: Any) -> None:
        if isinstance(event, ev.HostWarning) or (isinstance(event, ev.HostFinished) and event.status != "ok"):
            reporter(event)

    return emit


def operation_options(func):
    """--vm, --dry-run, --wait-lock, --forks, --ask-pass and the common options, for VM operations."""
    for option in reversed(
        [
            click.option(
                "--vm", "vm_glob", metavar="GLOB", default=None, help="Only VMs whose name matches."
            ),
            click.option(
                "--dry-run",
                "-n",
                is_flag=True,
                help="Show what would happen and preflight it on a simulated copy.",
            ),
            click.option(
                "--wait-lock",
                type=click.FloatRange(0),
                default=0.0,
                metavar="SECONDS",
                help="If another run holds a host, wait this long for it instead of exiting 3.",
            ),
            click.option("--forks", "-f", type=click.IntRange(1, 500), default=10, show_default=True),
            click.option("--ask-pass", "-k", is_flag=True, help="Prompt for the WinRM password."),
        ]
    ):
        func = option(func)
    return common_options(func)


@main.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="The checkpoint's name, exactly as Get-VMSnapshot will show it.")
@operation_options
def checkpoint(inventory: str, name: str, vm_glob: str | None, **kwargs: Any) -> None:
    """Take checkpoint NAME of the inventory's VMs on each host, then apply each VM's retention.

    \b
    The orchestrator's own checkpoints are listed on one line of the VM's Notes
    (`orchestrate-checkpoints: <id>,...`); retention (`checkpoints: {keep: N}`) removes only those,
    oldest first, never the baseline and never a checkpoint someone else took. A VM that already has
    a checkpoint named NAME is refused (nothing is taken there), so a later rollback to NAME never
    lands on an older state by mistake.

    \b
    Examples:
      orchestrate checkpoint school.yaml --name before-exam-2026-11-25
      orchestrate checkpoint school.yaml --name friday --limit hv01 --vm 'lab-a-*' --dry-run

    Exit codes: 0 ok, 1 a host or VM failed, 2 invalid input, 3 a host is locked by another run.
    """
    from orchestrator.checkpoints import Checkpoint

    run_operation(inventory, Checkpoint(name, vm_glob), **kwargs)
