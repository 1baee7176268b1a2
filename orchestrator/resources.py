"""Where the files shipped with the product live, in a wheel install and in a source checkout alike.

`templates/` sits at the top of the repository (the product brief fixes the layout) and is copied into the
wheel as `orchestrator/templates`; the data files live inside the package. Nothing here reads ../shared.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def templates_dir() -> Path:
    """The packaged templates: inside the installed package, else the checkout's top-level folder."""
    for candidate in (_PACKAGE_DIR / "templates", _PACKAGE_DIR.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "the packaged PowerShell templates are missing; reinstall multipoint-orchestrator (pip install .)"
    )


def data_file(name: str) -> Path:
    """A data file shipped inside the package (for example the cmdlet signatures)."""
    return _PACKAGE_DIR / "data" / name
