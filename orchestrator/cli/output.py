"""Helpers the subcommands share for loading input and printing findings, so every command says it alike."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from orchestrator.cli.options import EXIT_INVALID_INPUT, default_state_dir
from orchestrator.model import Finding, Inventory


def print_findings(findings: Iterable[Finding], output: str) -> None:
    """Findings as `PATH:LINE:COL: severity: message` lines on stderr (stdout stays for JSON in json mode)."""
    for finding in findings:
        click.echo(finding.format(), err=True)


def load_inventory_or_exit(path: str, output: str, ask_pass: bool = False) -> Inventory:
    """Load and validate; on any error print the findings and exit 2 before any host is contacted."""
    from orchestrator.inventory import load_inventory

    prompt = (lambda host: getpass.getpass(f"WinRM password for {host}: ")) if ask_pass else None
    inventory = load_inventory(path, ask_pass=prompt)
    print_findings(inventory.findings, output)
    if inventory.errors:
        if output == "json":
            click.echo(json.dumps({"event": "invalid_input", "errors": len(inventory.errors)}))
        click.echo(f"{path}: {len(inventory.errors)} error(s); nothing was contacted", err=True)
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
