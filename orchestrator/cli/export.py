"""`orchestrate export`: Export-VM of the inventory's VMs into PATH\\<vm>\\<UTC time>, recorded in the journal,
with `--keep N` retention of our own exports. Runs through the Runner like `apply` (locks, journal, events)."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.group import main
from orchestrator.cli.options import inventory_argument, operation_options, timeout_option
from orchestrator.cli.output import refuse_path, run_operation, say


@main.command()
@inventory_argument
@click.option(
    "--to",
    "to",
    required=True,
    metavar="PATH",
    help="Export root as the host sees it: D:\\exports or \\\\nas\\exports.",
)
@click.option(
    "--allow-stop",
    is_flag=True,
    help="On a host that cannot export a running VM (2012): save it, export, start it again.",
)
@click.option(
    "--keep",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Keep only the N newest of our exports of each VM.",
)
@timeout_option
@operation_options
def export(
    inventory: str | None,
    to: str,
    allow_stop: bool,
    keep: int | None,
    timeout: int | None,
    vm_glob: str | None,
    **kwargs: Any,
) -> None:
    """Export the inventory's VMs to PATH\\<vm>\\<UTC time as yyyyMMddTHHmmssfffZ>\\ on each host.

    \b
    Before Export-VM the host checks that PATH exists and has room for the VM's disks (on a local drive;
    a share's own "not enough space" fails the export, which then removes its partial folder). A folder
    that exists gets -2, -3, ... appended, so exports never collide. A running VM is exported live on
    2012 R2 and later; on 2012 only with --allow-stop, which saves it and starts it again afterwards.
    The export runs as a job on the host and reports its progress while it runs.

    \b
    Every export is recorded in the journal (VM, folder, size); --keep N then removes the oldest of
    OUR exports of that VM (never a folder the journal does not list) once the new one is done.
    --dry-run runs the checks on the hosts (destination, room, folder name) and exports nothing.

    \b
    Examples:
      orchestrate export inventories/school.yaml --to '\\\\nas\\exports' --vm 'science-lab-*' --keep 3
      orchestrate export inventories/school.yaml --to 'E:\\exports' --limit hv01.school.local --dry-run

    Exit codes: 0 ok, 1 a host or VM failed (even if another host was locked), 2 invalid input, 3 a host is
    locked by another run and none failed, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.operations import Export

    refuse_path(to, "--to")
    dry_run = bool(kwargs.pop("dry_run", False))
    operation = Export(
        to,
        vm_glob=vm_glob,
        allow_stop=allow_stop,
        keep=keep,
        timeout_seconds=timeout,
        check_only=dry_run,
        command="export --dry-run" if dry_run else "export",
    )
    run_operation(inventory, operation, after=_report, **kwargs)


def _report(result: Any, output: str) -> None:
    """What each host reports: exports made (the runner journaled them), checked, and old ones removed."""
    from orchestrator.runner.results import Exported, ExportPruned

    for host, outcome in result.outcomes.items():
        for entry in outcome.results:
            if isinstance(entry, Exported):
                would, done = ("would be exported to", " of disks") if entry.check_only else ("exported to", "")
                say(
                    output,
                    "export_check" if entry.check_only else "exported",
                    host=host,
                    vm=entry.vm,
                    path=entry.path,
                    size_bytes=entry.size_bytes,
                    text=f"{host}: {entry.vm} {would} {entry.path} ({entry.size_bytes} bytes{done})",
                )
            elif isinstance(entry, ExportPruned):
                say(
                    output,
                    "export_removed",
                    host=host,
                    path=entry.path,
                    text=f"{host}: removed old export {entry.path}",
                )
