"""`orchestrate apply` and its preview alias `orchestrate plan`."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.group import main
from orchestrator.cli.options import apply_options, dry_run_option, inventory_argument
from orchestrator.cli.output import run_operation


def _run(inventory_path: str, *, operation: Any = None, **kwargs: Any) -> None:
    from orchestrator.operations import Converge

    run_operation(inventory_path, operation or Converge(), **kwargs)


@main.command()
@inventory_argument
@apply_options
@dry_run_option("Preview: gather facts, show the changes and preflight the script on a simulated copy.")
@click.option(
    "--retake-baseline",
    is_flag=True,
    help="A VM whose baseline checkpoint was removed gets a new one, taken from the VM as it is now "
    "(without this flag such a VM is refused and named).",
)
@click.option(
    "--revert-after",
    metavar="DURATION",
    default=None,
    help="Confirm-or-revert (30m, 1h30m, 90s): checkpoint each VM about to change and install a one-shot "
    "host task that restores them then, unless `orchestrate confirm` removes it first.",
)
def apply(inventory: str | None, dry_run: bool, retake_baseline: bool, revert_after: str | None, **kwargs) -> None:
    """Converge every host to INVENTORY: create, resize, connect, start and checkpoint MultiPoint VMs.

    \b
    Per host: one read-only facts command, the MultiPoint and capacity checks, the plan, then one
    apply command that re-checks state before each change and prints the new facts, which are
    verified against the plan. A second apply of the same inventory changes nothing.

    \b
    Examples:
      orchestrate apply inventories/demo.yaml
      orchestrate apply inventories/school.yaml --limit 'hyperv:!hv02.school.local' --dry-run --show-scripts
      orchestrate apply inventories/school.yaml --output json > run.jsonl      # for scripts and cron

    Exit codes: 0 ok, 1 a host failed (even if another was locked), 2 invalid input (nothing contacted),
    3 a host is locked and none failed, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.operations import Converge

    operation: Any = Converge(retake_baseline=True) if retake_baseline else None
    if revert_after is not None:
        if retake_baseline:
            raise click.BadParameter("give --retake-baseline and --revert-after in two runs", param_hint="--retake-baseline")
        from orchestrator.operations.confirm import ConvergeWithRevert, parse_duration

        try:
            operation = ConvergeWithRevert(parse_duration(revert_after))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--revert-after") from exc
    command = "apply --dry-run" if dry_run else "apply"
    _run(inventory, dry_run=dry_run, command=command, operation=operation, **kwargs)


@main.command()
@inventory_argument
@apply_options
def plan(inventory: str | None, **kwargs) -> None:
    """Preview what `apply` would change (same as `apply --dry-run`): nothing on any host changes.

    \b
    Examples:
      orchestrate plan inventories/demo.yaml
      orchestrate plan inventories/school.yaml --limit hv02.school.local --show-scripts

    Exits 0 whether or not changes are pending; 1 when a host cannot be read or the preflight fails; 2 invalid
    input; 3 a host is locked and none failed; 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    _run(inventory, dry_run=True, command="plan", **kwargs)
