"""Helpers the subcommands share: loading input, printing findings, and running an operation through the
Runner, so every command that touches hosts gets locks, the journal, dry-run preflight and JSON events alike."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from orchestrator.cli.options import EXIT_INVALID_INPUT, common_options, default_state_dir
from orchestrator.model import Finding, Inventory


def print_findings(findings: Iterable[Finding], output: str) -> None:
    """Findings as `PATH:LINE:COL: severity: message` lines on stderr (stdout stays for JSON in json mode)."""
    for finding in findings:
        click.echo(finding.format(), err=True)


def load_inventory_or_exit(
    path: str | None, output: str, ask_pass: bool = False, *, limit: str | None = None
) -> Inventory:
    """Load and validate; on any error print the findings and exit 2 before any host is contacted.

    -i sources and vault passwords come from the command's options when it has them
    (options.inventory_options). With `limit`, only the hosts it selects are checked, so a broken host
    elsewhere does not stop a run on the others (pass it only when the command touches no other host).
    """
    from orchestrator.cli.options import inventory_inputs
    from orchestrator.inventory import load_inventory
    from orchestrator.inventory.fleet import foreign_hosts

    sources, vault = inventory_inputs(path)
    context = click.get_current_context(silent=True)
    params = context.params if context is not None else {}
    prompt = (lambda host: getpass.getpass(f"WinRM password for {host}: ")) if ask_pass else None
    inventory = load_inventory(sources, ask_pass=prompt, vault=vault, limit=limit)
    print_findings(inventory.findings, output)
    if params.get("verbosity"):
        for name, reason in foreign_hosts(inventory.hostvars).items():
            click.echo(f"{name}: left alone, not a MultiPoint host ({reason})", err=True)
    if inventory.errors:
        if output == "json":
            click.echo(json.dumps({"event": "invalid_input", "errors": len(inventory.errors)}))
        click.echo(f"{inventory.path}: {len(inventory.errors)} error(s); nothing was contacted", err=True)
        sys.exit(EXIT_INVALID_INPUT)
    return inventory


def select_or_exit(inventory: Inventory, limit: str | None) -> list[str]:
    from orchestrator.patterns import PatternError, select_hosts

    try:
        return select_hosts(inventory, limit)
    except PatternError as exc:
        click.echo(f"error: --limit {limit!r}: {exc}", err=True)
        sys.exit(EXIT_INVALID_INPUT)


def resolve_state_dir(state_dir: Path | None) -> Path:
    return state_dir if state_dir is not None else default_state_dir()


def run_operation(
    inventory_path: str,
    operation: Any,
    *,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
    dry_run: bool = False,
    wait_lock: float = 0.0,
    forks: int = 10,
    ask_pass: bool = False,
    after: Callable[[Any, str], None] | None = None,
    quiet: bool = False,
    show_scripts: bool = False,
    templates: Path | None = None,
    command: str | None = None,
) -> None:
    """Load, select, run `operation` on every selected host, exit with the run's code (0, 1, 2 or 3)."""
    from orchestrator.report import JsonReporter, TextReporter
    from orchestrator.runner import Runner, RunOptions

    inventory = load_inventory_or_exit(inventory_path, output, ask_pass, limit=limit)
    hosts = select_or_exit(inventory, limit)
    options = RunOptions(
        state_dir=resolve_state_dir(state_dir),
        forks=forks,
        dry_run=dry_run,
        wait_lock=wait_lock,
        show_scripts=show_scripts,
        templates_dir=templates,
        command=command or operation.command + (" --dry-run" if dry_run and not quiet else ""),
    )
    reporter = JsonReporter(verbosity=verbosity) if output == "json" else TextReporter(verbosity=verbosity)
    emit: Callable[[Any], None] = reporter
    if quiet and output != "json":
        emit = _problems_only(reporter)
    try:
        result = Runner(inventory, options, emit, operation=operation).apply(hosts)
    finally:
        reporter.close()
    if after is not None:
        after(result, output)
    sys.exit(result.exit_code)


def _problems_only(reporter: Callable[[Any], None]) -> Callable[[Any], None]:
    """For read-only listings: pass on warnings and failed hosts, not the plan/recap of a run that plans nothing."""
    from orchestrator import events as ev

    def emit(event: Any) -> None:
        if isinstance(event, ev.HostWarning) or (isinstance(event, ev.HostFinished) and event.status != "ok"):
            reporter(event)

    return emit


def operation_options(func):
    """--vm, --dry-run, --wait-lock, --forks, --ask-pass and the common options, for VM operations."""
    for option in reversed(
        [
            click.option(
                "--vm", "vm_glob", metavar="GLOB", default=None, help="Only VMs whose name matches."
            ),
            click.option(
                "--dry-run",
                "-n",
                is_flag=True,
                help="Show what would happen and preflight it on a simulated copy.",
            ),
            click.option(
                "--wait-lock",
                type=click.FloatRange(0),
                default=0.0,
                metavar="SECONDS",
                help="If another run holds a host, wait this long for it instead of exiting 3.",
            ),
            click.option("--forks", "-f", type=click.IntRange(1, 500), default=10, show_default=True),
            click.option("--ask-pass", "-k", is_flag=True, help="Prompt for the WinRM password."),
        ]
    ):
        func = option(func)
    return common_options(func)
