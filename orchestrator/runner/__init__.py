"""The only room with side effects above the transport: hosts in parallel, locks, the journal, events.

    run       Runner and RunOptions: one operation over the selected hosts, the journal opened once
    host      the per-host pipeline (facts, rules, plan, render, preflight or apply, verify, journal)
    results   typed outcomes and action results (what the host reported, read once by action type)
    move      the two-host move workflow with its undo
    render    `orchestrate render`: every script an inventory implies, written to files
    ping      `orchestrate ping`: the readiness checks of every selected host, in parallel

Operations (orchestrator.operations) decide what to do; the runner does it and reports through events.
"""

from orchestrator.runner.host import ProgressLines
from orchestrator.runner.results import HostOutcome, RunResult
from orchestrator.runner.run import Runner, RunOptions, apply_inventory

__all__ = ["HostOutcome", "ProgressLines", "RunOptions", "RunResult", "Runner", "apply_inventory"]
