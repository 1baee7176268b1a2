"""`orchestrate ping INVENTORY`: is every host ready to be managed? Checks, and the fix for each failure."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator import exit_codes
from orchestrator.cli.group import main
from orchestrator.cli.options import ask_pass_option, common_options, forks_option, inventory_argument
from orchestrator.cli.output import (
    finish,
    json_line,
    load_inventory_or_exit,
    resolve_state_dir,
    select_or_exit,
)

MARK = {"ok": "ok", "failed": "FAILED", "skipped": "-"}


@main.command("ping")
@inventory_argument
@forks_option
@ask_pass_option
@common_options
def ping(
    inventory: str | None,
    forks: int,
    ask_pass: bool,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
    **inventory_inputs: object,  # -i and the vault options, read from the click context
) -> None:
    """Check that each host can be managed: reachable, TLS, credentials, rights, Hyper-V, OS.

    Contacts every selected host with one read-only script; each failure is printed with its fix.

    \b
    Examples:
      orchestrate ping inventories/demo.yaml
      orchestrate ping inventories/school.yaml --limit hv01.school.local -v
      orchestrate ping inventories/school.yaml --output json

    Exit codes: 0 every check passed, 1 a host failed one, 2 invalid input (nothing contacted),
    130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.runner.ping import ping_hosts

    loaded = load_inventory_or_exit(inventory, output, ask_pass, limit=limit)
    names = select_or_exit(loaded, limit)
    reports = ping_hosts(loaded, names, state_dir=resolve_state_dir(state_dir), forks=forks)

    for report in reports:
        for warning in report.warnings:
            click.echo(f"[WARNING]: {warning}", err=True)
        if output == "json":
            json_line("ping", **report.as_dict())
            continue
        click.echo(f"{report.host} | {'SUCCESS' if report.ok else 'FAILED'}")
        for check in report.checks:
            if check.status == "skipped" and verbosity == 0 and not report.ok:
                continue
            line = f"  {MARK[check.status]:<7} {check.title:<21} {check.detail}".rstrip()
            click.echo(line)
            if check.status == "failed" and check.fix:
                click.echo(f"  {'':<7} {'fix:':<21} {check.fix}")
    failed = [r.host for r in reports if not r.ok]
    if output != "json":
        click.echo(
            f"\n{len(reports) - len(failed)} ok, {len(failed)} failed"
            + (f": {', '.join(failed)}" if failed else "")
        )
    finish(exit_codes.HOST_FAILED if failed else exit_codes.OK, ok=len(reports) - len(failed), failed=failed)
