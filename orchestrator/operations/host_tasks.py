"""The host's scheduled tasks as our operations name and read them: one place for the naming rules.

Every task lives under the task path \\MultiPoint\\. An inventory schedule `nightly reset` is the task
`schedule nightly reset`; a confirm-or-revert job for the checkpoint `pre-apply-20261125T201500Z` is the
task `revert pre-apply-20261125T201500Z`. `apply` converges only `schedule ...` tasks, so a pending revert
survives the apply that installed it.
"""

from __future__ import annotations

import hashlib
import re

from orchestrator.facts import HostFacts, TaskFacts

TASK_PATH = "\\MultiPoint\\"
SCHEDULE_PREFIX = "schedule "
REVERT_PREFIX = "revert "
REVERT_CHECKPOINT_PREFIX = "pre-apply-"
# SCHED_S_TASK_HAS_NOT_RUN: the LastTaskResult of a registered task that never ran (Task Scheduler's
# error and success constants, learn.microsoft.com/windows/win32/taskschd/task-scheduler-error-and-success-constants).
NOT_RUN_YET = 267011
_DEFINITION = re.compile(r"definition sha256:([0-9a-f]{16})")
_TASK_NAME_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def task_label(name: str) -> str:
    """The name as a task name holds it: itself, or `h-<hash>` when it has characters a task name cannot
    hold (the Description still shows the real name)."""
    if _TASK_NAME_FORBIDDEN.search(name) or name != name.strip() or not name:
        return "h-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    return name


def schedule_task_name(name: str) -> str:
    """The task of an inventory schedule."""
    return SCHEDULE_PREFIX + task_label(name)


def revert_task_name(checkpoint: str) -> str:
    return REVERT_PREFIX + task_label(checkpoint)


def our_tasks(facts: HostFacts) -> list[TaskFacts]:
    return [t for t in facts.tasks if t.path.lower() == TASK_PATH.lower()]


def has_run(task: TaskFacts) -> bool:
    return task.last_run is not None and task.last_result != NOT_RUN_YET


def never_ran(task: TaskFacts) -> bool:
    """No result yet: Task Scheduler reports NOT_RUN_YET (or nothing) until the first run."""
    return task.last_result is None or task.last_result == NOT_RUN_YET


def pending_reverts(facts: HostFacts) -> list[tuple[str, str]]:
    """(task name, checkpoint) of every revert task that has not fired yet."""
    return [
        (t.name, t.name[len(REVERT_PREFIX) :])
        for t in our_tasks(facts)
        if t.name.startswith(REVERT_PREFIX) and not has_run(t)
    ]


def pending_revert_checkpoints(facts: HostFacts) -> frozenset[str]:
    """Checkpoint names a revert task that has not run yet will restore: retention must leave them."""
    return frozenset(checkpoint for _, checkpoint in pending_reverts(facts))


def definition_hash(task: TaskFacts) -> str | None:
    found = _DEFINITION.search(task.description or "")
    return found.group(1) if found else None
