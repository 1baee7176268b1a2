"""What a Windows path's text says without asking a host: its drive."""

from __future__ import annotations


def drive_root(path: str | None) -> str | None:
    """`E:\\` for a path on a local drive (`E:\\VMs`), None for a UNC path or no path."""
    if path and len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        return path[0].upper() + ":\\"
    return None
