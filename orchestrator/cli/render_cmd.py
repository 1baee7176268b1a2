"""`orchestrate render`: write every script an inventory implies to files, for review or to run by hand.

No host is contacted: each host is taken as empty (no VMs), so the apply script holds every action that
would create the inventory from scratch. Each host is rendered for its own Windows version, because the
cmdlets differ (New-VM has no -Generation on 2012, MicrosoftDocs/windows-powershell-docs
docset/winserver2012-ps/hyper-v/New-VM.md, Syntax): the version and cmdlet parameters of `--facts FILE`
(the saved output of that host's facts.ps1), else `--os-version`, else `orchestrate_simulator.os_version`
for a simulator host, else Windows Server 2012 R2 (6.3). Everything is rendered in memory first;
a single refused value or broken template means nothing is written and the exit code is 2.
"""

from __future__ import annotations

import base64
import codecs
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import click

from orchestrator.cli import main
from orchestrator.cli.options import EXIT_INVALID_INPUT, common_options
from orchestrator.cli.output import load_inventory_or_exit, select_or_exit
from orchestrator.facts import HostFacts
from orchestrator.model import HostSpec

_UNSAFE_IN_FOLDER_NAME = set('/\\:*?"<>|\x00')


@main.command("render")
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write to (created); one sub-folder per host.",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A folder of templates that override the packaged ones (same file names).",
)
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
    help="A real host's facts document (the output of its facts.ps1): render for its version and cmdlets. "
    "Needs exactly one host (--limit).",
)
@common_options
def render(
    inventory: str,
    out_dir: Path,
    templates: Path | None,
    os_version: str | None,
    facts_file: Path | None,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
) -> None:
    """Write the PowerShell scripts for INVENTORY to files, contacting no host.

    \b
    For each host: OUT/<host>/facts.ps1 (the read-only facts script), OUT/<host>/apply.ps1 (every action
    that builds the inventory on an empty host, in one script) and OUT/<host>/task-N.ps1 (what each
    scheduled task registered by apply runs, in plan order). Files are UTF-8 with a BOM, so Windows
    PowerShell 5.1 reads them right; the same inventory always gives the same bytes.

    \b
    Each host is rendered for its Windows version: the version (and cmdlet parameters) of --facts FILE,
    else --os-version, else orchestrate_simulator.os_version of a simulator host, else 2012 R2 (6.3).
    A VM the version cannot run (generation 2 on 2012) is an error naming the host.

    \b
    Examples:
      orchestrate render inventories/demo.yaml --out rendered/
      orchestrate render school.yaml --out review/ --limit hv01 --templates site-templates/
      orchestrate render school.yaml --out review/ --os-version 6.2
      orchestrate render school.yaml --out review/ --limit hv01 --facts hv01-facts.json

    Exit codes: 0 written, 2 invalid input or a value that cannot be rendered (nothing written).
    """
    from orchestrator.host_rules import check_host
    from orchestrator.plan import plan_host
    from orchestrator.render import Renderer, RenderError

    loaded = load_inventory_or_exit(inventory, output)
    names = select_or_exit(loaded, limit)
    if facts_file is not None and os_version is not None:
        _invalid(inventory, output, ["--facts and --os-version both say the Windows version: give one"])
    given = None
    if facts_file is not None:
        if len(names) != 1:
            _invalid(inventory, output, [f"--facts describes one host, but {len(names)} are selected: add --limit"])
        given = _read_facts(facts_file, inventory, output)
    renderers: dict[Path | None, Renderer] = {}
    files: list[tuple[str, str, Path, str, int]] = []  # host, operation, path, script, action count
    errors: list[str] = []
    for name in names:
        host = loaded.hosts[name]
        if templates is not None:  # task scripts are rendered while planning, from the host's folder
            host = replace(host, templates_dir=str(templates))
        if not _safe_folder_name(name):
            errors.append(f"host {name!r}: cannot be used as a folder name under {out_dir}")
            continue
        folder = Path(host.templates_dir) if host.templates_dir else None
        try:
            if folder not in renderers:
                renderers[folder] = Renderer(folder)
            renderer = renderers[folder]
            facts = _target(host, os_version, given)
            # The empty host has no media, tasks or capacity to judge: what is left is what the version cannot do.
            problems = check_host(host, facts)
            if problems:
                errors.extend(f"host {name}: {p.message}; {p.fix}" for p in problems)
                continue
            plan = list(plan_host(host, facts))
            files.append((name, "facts", out_dir / name / "facts.ps1", renderer.render_facts(host), 0))
            apply_script = renderer.render_apply(host, plan, facts.version, facts.cmdlets or None)
            files.append((name, "apply", out_dir / name / "apply.ps1", apply_script, len(plan)))
            for number, script in enumerate(_task_scripts(plan), start=1):
                files.append((name, "task", out_dir / name / f"task-{number}.ps1", script, 0))
        except RenderError as exc:
            errors.append(f"host {name}: {exc}")
            continue
        if verbosity:
            for index, action in enumerate(plan):
                click.echo(f"{name}: [{index}] {action.summary()}", err=True)
    if errors:
        _invalid(inventory, output, errors)

    for host_name, operation, path, script, count in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(codecs.BOM_UTF8 + script.encode("utf-8"))
        if output == "json":
            click.echo(
                json.dumps(
                    {
                        "event": "rendered",
                        "host": host_name,
                        "operation": operation,
                        "path": str(path),
                        "actions": count,
                    }
                )
            )
        else:
            detail = f" ({count} action{'s' if count != 1 else ''})" if operation == "apply" else ""
            click.echo(f"{host_name}: wrote {path}{detail}")


def _invalid(inventory: str, output: str, errors: list[str]) -> NoReturn:
    for message in errors:
        click.echo(f"error: {message}", err=True)
    if output == "json":
        click.echo(json.dumps({"event": "invalid_input", "errors": len(errors)}))
    click.echo(f"{inventory}: {len(errors)} error(s); nothing was written", err=True)
    sys.exit(EXIT_INVALID_INPUT)


def _read_facts(path: Path, inventory: str, output: str) -> HostFacts:
    """The facts document a real host's facts.ps1 printed (saved by the admin), read as the runner reads it."""
    from orchestrator.facts import FactsError, parse_facts_json

    try:
        return parse_facts_json(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, FactsError) as exc:
        _invalid(inventory, output, [f"--facts {path}: {exc}"])


def _target(host: HostSpec, os_version: str | None, given: HostFacts | None) -> HostFacts:
    """The empty host to render for: the given facts' version and cmdlets (no VMs, tasks or paths, so the
    scripts still build the inventory from scratch), else the chosen or the simulator's declared version."""
    if given is not None:
        return replace(HostFacts.empty(given.os_version), cmdlets=given.cmdlets)
    if os_version is None and host.connection.kind == "simulator" and host.simulator:
        declared = host.simulator.get("os_version")
        os_version = str(declared) if declared is not None else None
    return HostFacts.empty(os_version)


def _task_scripts(plan: list) -> list[str]:
    """The scripts the plan's scheduled tasks run (each travels base64-encoded inside apply.ps1)."""
    scripts = []
    for action in plan:
        encoded = getattr(action, "encoded_command", "")
        if encoded:
            scripts.append(base64.b64decode(encoded).decode("utf-16-le"))
    return scripts


def _safe_folder_name(name: str) -> bool:
    return bool(name) and name not in {".", ".."} and not (_UNSAFE_IN_FOLDER_NAME & set(name))
