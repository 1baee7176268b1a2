"""`orchestrate schedules`: each host's tasks under \\MultiPoint\\ with next run, last run and last result."""

from __future__ import annotations

import json
from typing import Any

import click

from orchestrator.cli.group import main
from orchestrator.cli.options import ask_pass_option, common_options, inventory_argument
from orchestrator.cli.output import run_operation
from orchestrator.operations.host_tasks import never_ran


def _result_text(task: Any) -> str:
    if never_ran(task):
        return "never ran"
    return "ok (0)" if task.last_result == 0 else f"failed ({task.last_result})"


def _print_tasks(result: Any, output: str) -> None:
    for host, outcome in result.outcomes.items():
        tasks = list(outcome.facts.tasks) if outcome.facts is not None else []
        if output == "json":
            click.echo(
                json.dumps(
                    {
                        "event": "schedules",
                        "host": host,
                        "tasks": [
                            {
                                "name": t.name,
                                "path": t.path,
                                "state": t.state,
                                "next_run": t.next_run,
                                "last_run": t.last_run,
                                "last_result": t.last_result,
                                "description": t.description,
                            }
                            for t in tasks
                        ],
                    },
                    ensure_ascii=False,
                )
            )
            continue
        if outcome.facts is None:
            click.echo(f"{host}: could not be read ({outcome.error})", err=True)  # a problem: stderr, as cron mails
            continue
        if not tasks:
            click.echo(f"{host}: no tasks under \\MultiPoint\\")
            continue
        click.echo(f"{host}:")
        width = max(len(t.name) for t in tasks)
        click.echo(f"  {'TASK'.ljust(width)}  {'STATE':8}  {'NEXT RUN':28}  {'LAST RUN':28}  LAST RESULT")
        for t in tasks:
            click.echo(
                f"  {t.name.ljust(width)}  {t.state:8}  {(t.next_run or '-'):28}  {(t.last_run or '-'):28}  "
                f"{_result_text(t)}"
            )


@main.command()
@inventory_argument
@ask_pass_option
@common_options
def schedules(inventory: str | None, **kwargs: Any) -> None:
    """List each host's scheduled tasks under \\MultiPoint\\: next run, last run and last result.

    \b
    `schedule <name>` tasks come from the inventory's multipoint_schedules (apply installs, updates
    and removes them); `revert <checkpoint>` tasks are pending `apply --revert-after` deadlines until
    `orchestrate confirm`. Read-only: takes no host lock.

    \b
    Examples:
      orchestrate schedules inventories/school.yaml
      orchestrate schedules inventories/school.yaml --limit hv01.school.local --output json
    """
    from orchestrator.operations import ListTasks

    run_operation(inventory, ListTasks(), dry_run=True, quiet=True, after=_print_tasks, **kwargs)
