"""`orchestrate inventory INVENTORY --list | --host NAME | --graph [GROUP]`: the resolved inventory, as
ansible-inventory shows it.

The JSON has the shape of `ansible-inventory --list` (`_meta.hostvars`, then each group's hosts and
children) so admins can see which value each host got; variables are shown as defined (no invented
defaults, env lookups as written) and secrets, vault values included, are masked. `--graph` prints the
tree as `ansible-inventory --graph` does. Like ansible-inventory, the command exits 0 whenever the
inventory resolves: its findings go to stderr as warnings (`validate` is the command that judges them),
so `orchestrate inventory x --list > out.json && ...` works. It exits 2 only when no source could be read
or the host or group asked for does not exist.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from orchestrator import exit_codes
from orchestrator.cli.group import main
from orchestrator.cli.options import common_options, inventory_inputs, inventory_options
from orchestrator.cli.output import finish, host_or_exit, json_line, refuse, select_or_exit
from orchestrator.model import Finding, Inventory


@main.command("inventory")
@inventory_options
@click.argument("inventory", metavar="INVENTORY", type=click.Path(path_type=str))
@click.option("--list", "list_", is_flag=True, help="Every group and host with its effective variables.")
@click.option("--host", "host", metavar="NAME", default=None, help="One host's effective variables.")
@click.option(
    "--graph",
    "graph",
    metavar="[GROUP]",
    is_flag=False,
    flag_value="all",
    default=None,
    help="The group tree from GROUP (default all), as ansible-inventory --graph prints it.",
)
@common_options
def inventory_command(
    inventory: str | None,
    list_: bool,
    host: str | None,
    graph: str | None,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
    **inventory_inputs_: object,
) -> None:
    """Show the resolved INVENTORY in the shape of `ansible-inventory --list` / `--host NAME` / `--graph`.

    \b
    Examples:
      orchestrate inventory inventories/demo.yaml --list
      orchestrate inventory -i hosts.ini -i inventory/ --graph
      orchestrate inventory inventories/demo.yaml --host hv01.demo.local
    """
    from orchestrator.inventory import load_inventory
    from orchestrator.inventory.fleet import foreign_hosts
    from orchestrator.inventory.listing import ansible_graph, ansible_host, ansible_list

    if sum((list_, host is not None, graph is not None)) != 1:
        raise click.UsageError("give exactly one of --list, --host NAME or --graph [GROUP]")
    sources, vault = inventory_inputs(inventory)
    loaded = load_inventory(sources, vault=vault)
    resolved = bool(loaded.groups)
    for finding in loaded.findings:
        click.echo((_as_warning(finding) if resolved else finding).format(), err=True)
    if verbosity:
        for name, reason in foreign_hosts(loaded.hostvars).items():
            click.echo(f"{name}: left alone, not a MultiPoint host ({reason})", err=True)
    if not resolved:  # no source could be read or parsed: nothing to show
        finish(exit_codes.INVALID_INPUT)
    if graph is not None:
        lines = ansible_graph(loaded, graph)
        if lines is None:
            refuse(f"no group named {graph!r} in {loaded.path}")
        if output == "json":
            json_line("graph", group=graph or "all", lines=lines)
            finish(exit_codes.OK)
        click.echo("\n".join(lines))
        sys.exit(exit_codes.OK)
    if host is not None:
        document = ansible_host(loaded, host)
        if document is None:
            host_or_exit(_all_hosts(loaded), host, "--host")
    else:
        document = ansible_list(loaded)
        if limit is not None:
            document = _limited(document, set(select_or_exit(_all_hosts(loaded), limit)))
    if output == "json":  # the JSON-lines contract (docs/output.md); text mode is ansible-inventory's document
        json_line("inventory", inventory=document)
        finish(exit_codes.OK)
    click.echo(json.dumps(document, indent=4, sort_keys=True, ensure_ascii=False))
    sys.exit(exit_codes.OK)


def _as_warning(finding: Finding) -> Finding:
    """ansible-inventory warns and still prints the inventory; so do we."""
    if not finding.is_error:
        return finding
    return Finding("warning", finding.message, finding.fix, finding.location, finding.path)


def _all_hosts(loaded: Inventory) -> Inventory:
    """The inventory with every resolved host selectable (a listing shows hosts with errors too)."""
    return Inventory(
        path=loaded.path,
        hosts={name: None for name in loaded.hostvars},  # type: ignore[misc]
        groups=loaded.groups,
        hostvars=loaded.hostvars,
    )


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
