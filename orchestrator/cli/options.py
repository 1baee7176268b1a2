"""Options every subcommand shares, declared once: --output, -v, --limit, --state-dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

EXIT_OK = 0
EXIT_HOST_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_LOCKED = 3


def default_state_dir() -> Path:
    """--state-dir, else ORCHESTRATE_STATE_DIR, else ./.orchestrate."""
    return Path(os.environ.get("ORCHESTRATE_STATE_DIR") or ".orchestrate")


def common_options(func: F) -> F:
    """Decorate a subcommand with the shared options (in a stable order for --help)."""
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the journal, locks and simulated hosts live "
        "[default: $ORCHESTRATE_STATE_DIR, else ./.orchestrate].",
    )(func)
    func = click.option(
        "--limit",
        "-l",
        metavar="PATTERN",
        default=None,
        help="Only these hosts, in Ansible's pattern syntax: names, groups, globs, 'a,b', '!excluded'.",
    )(func)
    func = click.option(
        "-v", "--verbose", "verbosity", count=True, help="More detail (-vv for even more). Never secrets."
    )(func)
    func = click.option(
        "--output",
        "-o",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people; json for scripts (JSON lines on stdout, text on stderr).",
    )(func)
    return func
