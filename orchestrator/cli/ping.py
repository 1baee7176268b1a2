"""`orchestrate ping INVENTORY`: is every host ready to be managed? Checks, and the fix for each failure."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from orchestrator.cli import main
from orchestrator.cli.options import EXIT_HOST_FAILED, EXIT_OK, common_options
from orchestrator.cli.output import load_inventory_or_exit, resolve_state_dir, select_or_exit

MARK = {"ok": "ok", "failed": "FAILED", "skipped": "-"}


@main.command("ping")
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option(
    "--forks",
    "-f",
    type=click.IntRange(1, 500),
    default=10,
    show_default=True,
    help="How many hosts to check at once.",
)
@click.option("--ask-pass", "-k", is_flag=True, help="Ask for the WinRM password of hosts that have none.")
@common_options
def ping(
    inventory: str,
    forks: int,
    ask_pass: bool,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
) -> None:
    """Check that each host can be managed: reachable, TLS, credentials, rights, Hyper-V, OS.

    Contacts every selected host with one read-only script. Exit 0 when all checks pass, 1 when any host
    failed one (each failure is printed with its fix), 2 for an invalid inventory.
    """
    from orchestrator.ping import ping_host
    from orchestrator.transport.factory import open_transport

    loaded = load_inventory_or_exit(inventory, output, ask_pass)
    names = select_or_exit(loaded, limit)
    state = resolve_state_dir(state_dir)

    def one(name: str):
        return ping_host(loaded.hosts[name], lambda host: open_transport(host, state))

    with ThreadPoolExecutor(max_workers=max(1, min(forks, len(names)))) as pool:
        reports = list(pool.map(one, names))

    for report in reports:
        for warning in report.warnings:
            click.echo(f"[WARNING]: {warning}", err=True)
        if output == "json":
            click.echo(json.dumps(report.as_dict(), sort_keys=False))
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
    sys.exit(EXIT_HOST_FAILED if failed else EXIT_OK)
