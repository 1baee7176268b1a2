"""`orchestrate inventory INVENTORY --list | --host NAME`: the resolved inventory, as ansible-inventory shows it.

The JSON has the shape of `ansible-inventory --list` (`_meta.hostvars`, then each group's hosts and
children) so admins can see which value each host got; variables are shown as defined (no invented
defaults, env lookups as written) and secrets are masked. Findings go to stderr; exit 2 when there are errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from orchestrator import exit_codes
from orchestrator.cli.group import main
from orchestrator.cli.options import common_options
from orchestrator.cli.output import select_or_exit


@main.command("inventory")
@click.argument("inventory", metavar="INVENTORY", type=click.Path(path_type=str))
@click.option("--list", "list_", is_flag=True, help="Every group and host with its effective variables.")
@click.option("--host", "host", metavar="NAME", default=None, help="One host's effective variables.")
@common_options
def inventory_command(
    inventory: str,
    list_: bool,
    host: str | None,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
) -> None:
    """Show the resolved INVENTORY as JSON, in the shape of `ansible-inventory --list` / `--host NAME`.

    \b
    Examples:
      orchestrate inventory inventories/demo.yaml --list
      orchestrate inventory inventories/school.yaml --host hv01.school.local
    """
    from orchestrator.inventory import load_inventory
    from orchestrator.inventory.listing import ansible_host, ansible_list

    if list_ == (host is not None):
        raise click.UsageError("give exactly one of --list or --host NAME")
    loaded = load_inventory(inventory)
    for finding in loaded.findings:
        click.echo(finding.format(), err=True)
    if not loaded.groups:  # the file could not be read or parsed: nothing to show
        sys.exit(exit_codes.INVALID_INPUT)
    if host is not None:
        document = ansible_host(loaded, host)
        if document is None:
            click.echo(f"error: no host named {host!r} in {inventory}", err=True)
            sys.exit(exit_codes.INVALID_INPUT)
    else:
        document = ansible_list(loaded)
        if limit is not None:
            document = _limited(document, set(select_or_exit(loaded, limit)))
    if output == "json":  # the JSON-lines contract (docs/output.md); text mode is ansible-inventory's document
        from orchestrator.cli.output import finish, json_line

        json_line("inventory", inventory=document)
        finish(exit_codes.INVALID_INPUT if loaded.errors else exit_codes.OK)
    click.echo(json.dumps(document, indent=4, sort_keys=True, ensure_ascii=False))
    sys.exit(exit_codes.INVALID_INPUT if loaded.errors else exit_codes.OK)


def _limited(document: dict, hosts: set[str]) -> dict:
    """`--limit`, as `ansible-inventory --list --limit` does: only the selected hosts, in every group."""
    limited: dict = {}
    for name, group in document.items():
        if name == "_meta":
            hostvars = {h: v for h, v in group.get("hostvars", {}).items() if h in hosts}
            limited[name] = {**group, "hostvars": hostvars}
        elif isinstance(group, dict) and "hosts" in group:
            limited[name] = {**group, "hosts": [h for h in group["hosts"] if h in hosts]}
        else:
            limited[name] = group
    return limited
