"""The `orchestrate` command: parse, print, exit codes. No workflow: every decision lives below.

    entry        the console script: catches Ctrl-C and SIGTERM before anything heavy is imported
    interrupts   the counting signal handler, and exit 130 for an interrupt no run turned into a recap
    group        the click group `main` (re-exported here, with every subcommand registered on it)
    options      every option more than one command takes, declared once
    output       loading input, selecting hosts, reporters, one-line results, running an operation
    <command>    one module per subcommand (apply, checkpoint, rollback, export, import_cmd, move, ...)

Exit codes: orchestrator.exit_codes. The runs themselves: orchestrator.runner.

`main` is loaded on first use (PEP 562), so that importing orchestrator.cli.entry stays cheap: the console
script installs its signal handlers before click, rich and the subcommands are imported.
"""

from __future__ import annotations

from typing import Any

__all__ = ["main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from orchestrator.cli import commands  # noqa: F401 - every subcommand registers itself on main
        from orchestrator.cli.group import main

        globals()["main"] = main
        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
