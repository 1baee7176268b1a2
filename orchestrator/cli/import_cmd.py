"""`orchestrate import`: Compare-VM, then Import-VM of one exported VM on one host, checked afterwards."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.group import main
from orchestrator.cli.options import inventory_argument, single_host_options, timeout_option, vm_name
from orchestrator.cli.output import (
    host_or_exit,
    load_inventory_or_exit,
    refuse,
    refuse_path,
    run_operation,
    say,
)
from orchestrator.operations.import_vm import register_problem


@main.command("import")
@inventory_argument
@click.option("--host", "host", required=True, metavar="HOST", help="The inventory host to import on.")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="EXPORT_DIR",
    help="The export folder as the host sees it (as `orchestrate export` printed it).",
)
@click.option(
    "--mode",
    type=click.Choice(["register", "copy", "copy-new-id"]),
    default="copy-new-id",
    show_default=True,
    help="register: use the files where they are (keeps the VM id; not inside an export folder of ours, which "
    "export --keep deletes); copy: copy them (keeps the id); copy-new-id: copy them with a new id, so the "
    "same export can be imported again.",
)
@click.option("--name", "new_name", default=None, metavar="NEW", callback=vm_name, help="Import under this name.")
@click.option("--start", is_flag=True, help="Start the imported VM and check its edition (KVP).")
@timeout_option
@single_host_options
def import_(
    inventory: str | None,
    host: str,
    source: str,
    mode: str,
    new_name: str | None,
    start: bool,
    timeout: int | None,
    **kwargs: Any,
) -> None:
    """Import the VM exported in EXPORT_DIR on HOST.

    \b
    Compare-VM runs first, as the import will run. A network adapter on a virtual switch the host lacks
    is connected to the switch the inventory names (the VM's entry of that name on HOST, else the switch
    most of HOST's VMs use); any other incompatibility stops the import and is reported. A VM of the same
    name on HOST is refused unless --name gives a new one. Copies go to the host's VM folder, the disks
    into a folder named after the VM. The import runs as a job on the host and reports progress.
    --dry-run runs Compare-VM and the checks only, and reports what it finds.

    \b
    Examples:
      orchestrate import inventories/school.yaml --host hv02.school.local --from '\\\\nas\\exports\\science-lab-01\\20261125T200512345Z'
      orchestrate import inventories/school.yaml --host hv02.school.local --from '...' --name science-lab-01-copy --start --dry-run

    Exit codes: 0 ok, 1 the import failed or was refused, 2 invalid input, 3 the host is locked,
    130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.operations import Import

    refuse_path(source, "--from")
    if mode == "register" and (problem := register_problem(source)) is not None:
        refuse(f"--mode register: {problem}")
    loaded = load_inventory_or_exit(inventory, kwargs["output"], kwargs.get("ask_pass", False))
    host_or_exit(loaded, host, "--host")
    dry_run = bool(kwargs.pop("dry_run", False))
    kwargs["limit"] = host
    operation = Import(
        source,
        mode=mode,
        new_name=new_name,
        start=start,
        timeout_seconds=timeout,
        check_only=dry_run,
        command="import --dry-run" if dry_run else "import",
    )
    run_operation(inventory, operation, after=_report, **kwargs)


def _report(result: Any, output: str) -> None:
    """What Compare-VM found and what was imported, from the host's own report."""
    from orchestrator.runner.results import Imported

    for host, outcome in result.outcomes.items():
        for entry in outcome.of_type(Imported):
            issues = [dict(i) for i in entry.incompatibilities]
            fixed = list(entry.fixed)
            listed = "; ".join(f"[{i.get('message_id')}] {i.get('message')}" for i in issues) or "none"
            what = "would import" if entry.check_only else "imported"
            say(
                output,
                "import_check" if entry.check_only else "imported",
                host=host,
                vm=entry.name,
                id=entry.id,
                incompatibilities=issues,
                fixed=fixed,
                text=f"{host}: {what} {entry.name} (id {entry.id}); Compare-VM: {listed}"
                + (f"; fixed: {'; '.join(fixed)}" if fixed else ""),
            )
