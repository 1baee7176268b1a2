"""The `orchestrate` command: parse, print, exit codes. No workflow: every decision lives below.

    group        the click group `main` (the console script's entry point, re-exported here)
    options      every option more than one command takes, declared once
    output       loading input, selecting hosts, reporters, one-line results, running an operation
    <command>    one module per subcommand (apply, checkpoint, rollback, export, import_cmd, move, ...)

Exit codes: orchestrator.exit_codes. The runs themselves: orchestrator.runner.
"""

from orchestrator.cli import commands as _commands  # noqa: F401 - every subcommand registers itself on main
from orchestrator.cli.group import main

__all__ = ["main"]
