r"""Which names Hyper-V and Windows accept for VMs and classrooms, and what printable text means.

Names are refused only for what breaks Hyper-V or the file system (a VM's folder carries its name):
control characters, `\ / : * ? " < > |`, leading/trailing spaces, a trailing dot, more than 100
characters, and Windows' reserved device names (a VM's disk is `<name>.vhdx`: "Do not use the following
reserved names for the name of a file: CON, PRN, AUX, NUL, COM1 ... LPT9. Also avoid these names followed
immediately by an extension; for example, NUL.txt ... is equivalent to NUL", learn.microsoft.com
windows/win32/fileio/naming-a-file). Everything else is legal and must work, including quotes of every other kind, `$ ; ( ) #`,
backticks, spaces and non-ASCII letters: the renderer makes them safe, so the validator must not refuse them.
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 100
FORBIDDEN = '\\/:*?"<>|'
RESERVED_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{n}" for n in range(1, 10)] + [f"LPT{n}" for n in range(1, 10)]
)


def _has_control(text: str) -> bool:
    # str.isprintable() is False for every character of categories Cc, Zl and Zp (and others): printable
    # text, nearly every name, needs no look at each character's category.
    if text.isprintable():
        return False
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a VM or classroom name, as the end of a sentence; None when it is fine."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; the limit is {MAX_NAME}"
    if _has_control(name):
        return "contains a control character"
    bad = sorted({ch for ch in name if ch in FORBIDDEN})
    if bad:
        return f"contains {' '.join(bad)}; none of {' '.join(FORBIDDEN)} may appear in a name"
    if name != name.strip(" "):
        return "starts or ends with a space"
    if name.endswith("."):
        return "ends with a dot"
    device = name.split(".", 1)[0].rstrip(" ").upper()
    if device in RESERVED_DEVICES:
        return f"is the Windows device name {device}, which a file (its disk, {name}.vhdx) cannot be named"
    return None


def checkpoint_name_problem(name: str) -> str | None:
    """Why `name` cannot be a checkpoint's name, as the end of a sentence; None when it is fine.

    Printable text (printable_problem), and no space at either end: Checkpoint-VM's pages (2012, 2012 R2)
    do not say what Hyper-V makes of an empty -SnapshotName (the simulator, like a real host's own UI, falls
    back to "<VM> - (<time>)") or of a padded one, and a checkpoint whose name comes back different from the
    one asked for is found by no script: it would be left on the VM unmarked, the run failed. Refused
    before any host is contacted (stricter where the pages are silent)."""
    problem = printable_problem(name)
    if problem:
        return problem
    if name != name.strip():
        return "starts or ends with a space"
    return None


def printable_problem(text: str) -> str | None:
    """Why `text` cannot be a switch or checkpoint name (any printable text is fine)."""
    if not text:
        return "is empty"
    if text.isprintable():  # then no control character either (see _has_control)
        return None
    if _has_control(text) or not all(ch.isprintable() or ch == " " for ch in text):
        return "contains a control or unprintable character"
    return None
