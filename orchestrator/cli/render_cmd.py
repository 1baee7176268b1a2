"""`orchestrate render`: write every script an inventory implies to files, for review or to run by hand.
The rendering itself (empty hosts, per-version scripts, nothing written on any error) is
orchestrator.runner.render; this module parses, prints and exits.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from orchestrator import exit_codes, signatures
from orchestrator.cli.group import main
from orchestrator.cli.options import common_options, inventory_argument, templates_option
from orchestrator.cli.output import finish, invalid_input, json_line, load_inventory_or_exit, select_or_exit


@main.command("render")
@inventory_argument
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write to (created); one sub-folder per host.",
)
@templates_option
@click.option(
    "--os-version",
    type=click.Choice(["6.2", "6.3", "10.0"]),
    default=None,
    help="Render for this Windows version (6.2 = Server 2012, 6.3 = 2012 R2, 10.0 = 2016 and later).",
)
@click.option(
    "--facts",
    "facts_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A real host's facts document (the output of its facts.ps1, not the facts inside an apply's reply, "
    "which leave out the cmdlets): render for its version and cmdlets. Needs exactly one host (--limit).",
)
@common_options
def render(
    inventory: str | None,
    out_dir: Path,
    templates: Path | None,
    os_version: str | None,
    facts_file: Path | None,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
    **inventory_inputs: object,  # -i and the vault options, read from the click context
) -> None:
    """Write the PowerShell scripts for INVENTORY to files, contacting no host.

    \b
    For each host: OUT/<host>/facts.ps1 (the read-only facts script), OUT/<host>/apply.ps1 (every action
    that builds the inventory on an empty host, in one script), OUT/<host>/task-N.ps1 (what each
    scheduled task registered by apply runs, in plan order) and, for each new VM with a guest,
    OUT/<host>/<vm>.unattend.xml (its answer file, every password masked as ********) and
    OUT/<host>/<vm>.SetupComplete.cmd. Files are UTF-8 with a BOM (SetupComplete.cmd: ASCII), so Windows
    PowerShell 5.1 reads them right; the same inventory always gives the same bytes.

    \b
    Each host is rendered for its Windows version: the version (and cmdlet parameters) of --facts FILE,
    else --os-version, else orchestrate_simulator.os_version of a simulator host, else 2012 R2 (6.3),
    with a warning on stderr (2012, 6.2, is the floor; its New-VM has no -Generation).
    A VM the version cannot run (generation 2 on 2012) is an error naming the host.

    \b
    Examples:
      orchestrate render inventories/demo.yaml --out rendered/
      orchestrate render inventories/school.yaml --out review/ --limit hv01.school.local --templates site-templates/
      orchestrate render inventories/school.yaml --out review/ --os-version 6.2
      orchestrate render inventories/school.yaml --out review/ --limit hv01.school.local --facts hv01-facts.json

    \b
    Files are written only when every host rendered, all or none: a move into OUT that fails midway
    puts back every file already moved.

    \b
    Exit codes: 0 written, 2 invalid input, a value that cannot be rendered or an OUT that cannot be
    written (nothing written), 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.facts import FactsError
    from orchestrator.runner.render import read_facts_file, render_and_write

    loaded = load_inventory_or_exit(inventory, output)
    names = select_or_exit(loaded, limit)
    if facts_file is not None and os_version is not None:
        _invalid(inventory, output, ["--facts and --os-version both say the Windows version: give one"])
    given = None
    if facts_file is not None:
        if len(names) != 1:
            _invalid(inventory, output, [f"--facts describes one host, but {len(names)} are selected: add --limit"])
        try:
            given = read_facts_file(facts_file)
        except FactsError as exc:
            _invalid(inventory, output, [f"--facts {facts_file}: {exc}"])
    rendered = render_and_write(
        loaded, names, out_dir, templates=templates, os_version=os_version, given=given, keep_plans=bool(verbosity)
    )
    if verbosity:
        for name, plan in rendered.plans.items():
            for index, action in enumerate(plan):
                click.echo(f"{name}: [{index}] {action.summary()}", err=True)
    if rendered.errors:
        _invalid(inventory, output, rendered.errors)
    if rendered.defaulted:
        click.echo(_defaulted_warning(rendered.defaulted), err=True)
    for item in rendered.files:
        if output == "json":
            json_line(
                "rendered", host=item.host, operation=item.operation, path=str(item.path), actions=item.actions
            )
        else:
            detail = f" ({item.actions} action{'s' if item.actions != 1 else ''})" if item.operation == "apply" else ""
            click.echo(f"{item.host}: wrote {item.path}{detail}")
    finish(exit_codes.OK, hosts=len(names), scripts=len(rendered.files), out=str(out_dir))


def _defaulted_warning(hosts: list[str]) -> str:
    """Said on stderr (stdout keeps its JSON lines): the version was not given, so the scripts are for the
    default, 2012 R2, while this product's floor is 2012, whose cmdlets lack some of 2012 R2's parameters
    (New-VM -Generation: docset/winserver2012-ps/hyper-v/New-VM.md lists none; audit L, L5)."""
    named = ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")
    version = signatures.DEFAULT_VERSION
    return (f"warning: no Windows version known for {named} (no --facts, --os-version or "
            f"orchestrate_simulator.os_version): rendered for Windows Server 2012 R2 ({version}); a Windows "
            "Server 2012 host refuses some of those parameters (New-VM -Generation): render it with "
            "--os-version 6.2, or --facts with its saved facts")


def _invalid(inventory: str | None, output: str, errors: list[str]) -> NoReturn:
    invalid_input(errors, f"{inventory}: {len(errors)} error(s); nothing was written")
