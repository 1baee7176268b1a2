"""Small helpers every rule module shares: making a Finding at a spec's field, listing choices."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from orchestrator.model import Finding, Location


def at(locations: Mapping[str, Location], key: str, fallback: Location | None) -> Location | None:
    """The location of a spec's field, else the spec's own location."""
    return locations.get(key) or fallback


def finding(severity: str, message: str, fix: str, location: Location | None) -> Finding:
    path = location.path if location is not None else ()
    return Finding(severity, message, fix, location, path)  # type: ignore[arg-type]


def choices_fix(value: Any, choices: Collection[Any]) -> str:
    """A fix that suggests the closest choice (difflib) or lists them all."""
    close = difflib.get_close_matches(str(value).lower(), [str(c) for c in choices], n=1)
    return f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(str(c) for c in choices)}"


def shown(value: Any) -> str:
    """A value for a message; a value read from the environment is named, never printed."""
    if getattr(value, "from_env", False):
        return f"the value of environment variable {getattr(value, 'variable', '?')}"
    return repr(value)


def not_a_choice(
    subject: str, name: str, value: Any, choices: Collection[Any], location: Location | None
) -> Finding:
    """The one message for a value outside its listed choices: what, the choices, and the closest one."""
    listed = ", ".join(str(c) for c in choices)
    return finding(
        "error",
        f"{subject}: {name} {shown(value)} is not one of: {listed}",
        choices_fix(value, choices),
        location,
    )
