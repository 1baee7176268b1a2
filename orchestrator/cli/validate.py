"""`orchestrate validate INVENTORY`: check the inventory and contact nothing.

Findings go to stdout one per line as `PATH:LINE:COL: severity: message (fix: ...)`, never wrapped, so
editors and CI can jump to them; the summary line goes to stderr. With --output json, stdout holds one
`finding` line per finding, then the recap (docs/output.md). Exit 0 without errors (warnings allowed), 2 with
errors or an unreadable file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from orchestrator import exit_codes
from orchestrator.cli.group import main
from orchestrator.cli.options import ask_pass_option, common_options, inventory_argument, inventory_inputs
from orchestrator.cli.output import finish, json_line, password_prompt
from orchestrator.model import Finding, Inventory
from orchestrator.sizes import format_size


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding as the JSON output shows it (also used by other commands that print findings as JSON)."""
    location = finding.location
    return {
        "severity": finding.severity,
        "file": location.file if location else None,
        "line": location.line if location else None,
        "column": location.column if location else None,
        "path": list(finding.path),
        "message": finding.message,
        "fix": finding.fix,
        "text": finding.format(),
    }


def _described_hosts(inventory: Inventory) -> list[str]:
    """With -v: what each error-free host will get, sizes included (floors applied where none was given)."""
    lines = []
    for host in inventory.hosts.values():
        conn = host.connection
        where = "simulated" if conn.kind == "simulator" else f"{conn.endpoint} ({conn.transport})"
        lines.append(f"{host.name}: {where}, {len(host.vms)} VM(s), {len(host.schedules)} schedule(s)")
        for vm in host.vms:
            origin = f", classroom {vm.classroom}" if vm.classroom else ""
            lines.append(
                f"  {vm.name}: {vm.state}, {vm.cpus} cpus, {format_size(vm.memory)}, {vm.stations.total} seat(s)"
                f"{origin}"
            )
    return lines


@main.command("validate")
@inventory_argument
@ask_pass_option
@common_options
def validate(
    inventory: str | None,
    ask_pass: bool,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
    **inventory_inputs_: object,
) -> None:
    """Check INVENTORY (YAML, Ansible rules, MultiPoint rules) without contacting any host.

    Always checks the whole inventory (--limit does not narrow it). -v also says what each host will get.
    It also warns when this machine lacks the library a host's logon needs (Kerberos, CredSSP).

    \b
    Examples:
      orchestrate validate inventories/demo.yaml
      orchestrate validate inventories/school.yaml -v
      orchestrate validate inventories/school.yaml --output json | grep '"severity": "error"'

    Exit codes: 0 no errors (warnings allowed), 2 errors or an unreadable inventory, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.inventory import load_inventory
    from orchestrator.inventory.fleet import foreign_hosts
    from orchestrator.logon_extras import missing_extra
    from orchestrator.rules.connection import check_extras

    sources, vault = inventory_inputs(inventory)
    loaded = load_inventory(sources, ask_pass=password_prompt() if ask_pass else None, vault=vault)
    # What this machine lacks for a host's logon (Kerberos, CredSSP): said before any run needs it.
    loaded = replace(loaded, findings=(*loaded.findings, *check_extras(loaded.hosts.values(), missing_extra)))
    inventory = loaded.path
    errors = sum(1 for f in loaded.findings if f.is_error)
    warnings = len(loaded.findings) - errors
    vms = sum(len(h.vms) for h in loaded.hosts.values())
    code = exit_codes.INVALID_INPUT if errors else exit_codes.OK
    if output == "json":
        for finding in loaded.findings:
            json_line("finding", **finding_json(finding))
        finish(code, errors=errors, warnings=warnings, hosts=len(loaded.hostvars), vms=vms)
    for finding in loaded.findings:
        click.echo(finding.format())
    if verbosity:
        for line in _described_hosts(loaded):
            click.echo(line, err=True)
        for name, reason in foreign_hosts(loaded.hostvars).items():
            click.echo(f"{name}: left alone, not a MultiPoint host ({reason})", err=True)
    verdict = "invalid" if errors else "valid"
    click.echo(
        f"{inventory}: {verdict}: {errors} error(s), {warnings} warning(s), {len(loaded.hostvars)} host(s), "
        f"{vms} VM(s) on hosts without errors",
        err=True,
    )
    finish(code)
