"""`orchestrate export`: Export-VM of the inventory's VMs into PATH\\<vm>\\<UTC time>, recorded in the journal,
with `--keep N` retention of our own exports. Runs through the Runner like `apply` (locks, journal, events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from orchestrator.cli import main
from orchestrator.cli.output import (
    load_inventory_or_exit,
    operation_options,
    resolve_state_dir,
    run_operation,
)


def timeout_option(func):
    return click.option(
        "--timeout",
        type=click.IntRange(1),
        default=None,
        metavar="SECONDS",
        help="Deadline of each export/import job on the host, separate from the connection's timeouts "
        "[default: a minute under the host's orchestrate_operation_timeout].",
    )(func)


@main.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
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
    inventory: str,
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
      orchestrate export school.yaml --to '\\\\nas\\exports' --vm 'lab-a-*' --keep 3
      orchestrate export school.yaml --to 'E:\\exports' --limit hv01 --dry-run

    Exit codes: 0 ok, 1 a host or VM failed, 2 invalid input, 3 a host is locked by another run.
    """
    from orchestrator.journal import Journal
    from orchestrator.transfer import Export, ExportedCopy

    refuse_path(to, "--to")
    dry_run = bool(kwargs.pop("dry_run", False))
    state_dir = resolve_state_dir(kwargs.get("state_dir"))
    kwargs["state_dir"] = state_dir
    loaded = load_inventory_or_exit(inventory, kwargs["output"], kwargs.get("ask_pass", False))
    history: dict[str, dict[str, tuple[ExportedCopy, ...]]] = {}
    if keep is not None and not dry_run:
        journal = Journal.open(state_dir)
        for host in loaded.hosts.values():
            history[host.name] = {
                vm.name: tuple(ExportedCopy(r.id, r.path) for r in journal.exports(host.name, vm.name))
                for vm in host.vms
            }
    operation = Export(
        to,
        vm_glob=vm_glob,
        allow_stop=allow_stop,
        keep=keep,
        history=history,
        timeout_seconds=timeout,
        check_only=dry_run,
        command="export --dry-run" if dry_run else "export",
    )
    run_operation(inventory, operation, after=_after(state_dir, dry_run), **kwargs)


def _after(state_dir: Path, dry_run: bool):
    """Journal what the hosts report (exports made, folders pruned), then say it."""

    def after(result: Any, output: str) -> None:
        from orchestrator.journal import Journal

        journal = Journal.open(state_dir)
        for host, outcome in result.outcomes.items():
            for entry in action_results(outcome):
                if entry.get("check_only"):
                    say(
                        output,
                        "export_check",
                        host=host,
                        vm=entry.get("vm"),
                        path=entry.get("path"),
                        size_bytes=entry.get("size_bytes"),
                        text=f"{host}: {entry.get('vm')} would be exported to {entry.get('path')} "
                        f"({entry.get('size_bytes')} bytes of disks)",
                    )
                elif entry.get("config") and result.run_id is not None and not dry_run:
                    journal.record_export(
                        result.run_id,
                        host,
                        str(entry["vm"]),
                        str(entry["path"]),
                        int(entry.get("size_bytes") or 0),
                    )
                    say(
                        output,
                        "exported",
                        host=host,
                        vm=entry.get("vm"),
                        path=entry.get("path"),
                        size_bytes=entry.get("size_bytes"),
                        text=f"{host}: {entry.get('vm')} exported to {entry.get('path')} ({entry.get('size_bytes')} bytes)",
                    )
                elif entry.get("export_id") is not None and not dry_run:
                    journal.export_removed(int(entry["export_id"]))
                    say(
                        output,
                        "export_removed",
                        host=host,
                        path=entry.get("path"),
                        text=f"{host}: removed old export {entry.get('path')}",
                    )

    return after


def action_results(outcome: Any) -> list[dict[str, Any]]:
    """The "result" maps the host reported for its actions (the runner keeps them in outcome.extra)."""
    reported = (outcome.extra or {}).get("actions") or {}
    results = []
    for _, entry in sorted(reported.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        if isinstance(entry, dict) and isinstance(entry.get("result"), dict):
            results.append(entry["result"])
    return results


def say(output: str, event: str, *, text: str, **fields: Any) -> None:
    """One line for the admin: JSON lines on stdout with --output json, else text."""
    import json

    if output == "json":
        click.echo(json.dumps({"event": event, **fields}, default=str))
    else:
        click.echo(text)


def refuse_path(path: str, option: str, *, share_only: bool = False) -> None:
    """Exit 2 before any host is contacted when a path option cannot mean the same folder on the hosts."""
    import sys

    from orchestrator.cli.options import EXIT_INVALID_INPUT
    from orchestrator.transfer import path_problem

    problem = path_problem(path, share_only=share_only)
    if problem is not None:
        click.echo(f"error: {option}: {problem}", err=True)
        sys.exit(EXIT_INVALID_INPUT)
