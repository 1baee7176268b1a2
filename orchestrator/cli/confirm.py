"""`orchestrate confirm`: keep a change made with `apply --revert-after` (remove the pending revert tasks)."""

from __future__ import annotations

from typing import Any

from orchestrator.cli.group import main
from orchestrator.cli.options import ask_pass_option, common_options, inventory_argument, wait_lock_option
from orchestrator.cli.output import run_operation


@main.command()
@inventory_argument
@wait_lock_option
@ask_pass_option
@common_options
def confirm(inventory: str | None, **kwargs: Any) -> None:
    """Confirm the last `apply --revert-after`: unregister each host's pending revert task.

    \b
    If a host's revert already fired (the deadline passed), the task is removed too, but the host
    fails with the time it rolled back: the change is gone there, apply it again.

    \b
    Example:
      orchestrate apply inventories/school.yaml --revert-after 30m   # then check the classrooms still work
      orchestrate confirm inventories/school.yaml

    Exit codes: 0 ok, 1 a host failed or had already reverted (even if another was locked), 2 invalid input,
    3 a host is locked and none failed, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
    """
    from orchestrator.operations import Confirm

    run_operation(inventory, Confirm(), **kwargs)
