"""The admin's operations, one module per command: pure `plan(host, facts, scripts) -> Plan` and `verify`.

    base        Operation, Verdict, the scripts port, the VM selection (--vm), the Premium guest check
    converge    orchestrate apply (the VM diff of orchestrator.plan, plus the host's scheduled tasks)
    confirm     apply --revert-after and orchestrate confirm
    checkpoint  orchestrate checkpoint          rollback    orchestrate rollback
    retention   which checkpoints are ours, and which to prune
    schedules   the scheduled rollback tasks (and orchestrate schedules)
    host_tasks  how the host's tasks are named and read
    export      orchestrate export (folder names, --keep, the share probe)
    import_vm   orchestrate import             move        the steps of orchestrate move, and its undo

Nothing here does I/O: the runner (orchestrator.runner) gathers facts, renders, runs, journals and locks.
"""

from orchestrator.operations.base import Operation, Scripts, Verdict
from orchestrator.operations.checkpoint import Checkpoint
from orchestrator.operations.confirm import Confirm, ConvergeWithRevert
from orchestrator.operations.converge import Converge
from orchestrator.operations.export import Export
from orchestrator.operations.import_vm import Import
from orchestrator.operations.rollback import Rollback
from orchestrator.operations.schedules import ListTasks

__all__ = [
    "Checkpoint",
    "Confirm",
    "Converge",
    "ConvergeWithRevert",
    "Export",
    "Import",
    "ListTasks",
    "Operation",
    "Rollback",
    "Scripts",
    "Verdict",
]
