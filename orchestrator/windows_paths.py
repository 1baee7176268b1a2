"""What a Windows path's text says without asking a host: its drive, and whether it is too long."""

from __future__ import annotations

import re

# "In the Windows API ... the maximum length for a path is MAX_PATH, which is defined as 260 characters" (a
# NUL included; learn.microsoft.com windows/win32/fileio/naming-a-file, "Maximum Path Length Limitation").
# .NET Framework 4.5, under PowerShell 3.0 and 4.0, takes no longer path, and a directory's name must be shorter
# still ("the directory name must be less than 248 characters", its PathTooLongException).
MAX_PATH = 260
MAX_DIRECTORY = 248


def drive_root(path: str | None) -> str | None:
    """`E:\\` for a path on a local drive (`E:\\VMs`), None for a UNC path or no path."""
    if path and len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        return path[0].upper() + ":\\"
    return None


# A full path as every API on the host reads it alike: a drive letter with its root (`D:\\VMs`) or a share
# (`\\\\server\\share\\...`). Anything else is relative to some current directory, and a host has several:
# cmdlets take PowerShell's location, .NET methods the process's directory, which "is generally not in sync"
# (PowerShell/PowerShell#3428, "Resolution-By Design"; MicrosoftDocs/PowerShell-Docs#7318), and Hyper-V's
# service its own. `D:VMs` (drive-relative) and `\\VMs` (rooted on the current drive) are relative too (learn.
# microsoft.com windows/win32/fileio/naming-a-file, "Fully Qualified vs. Relative Paths").
_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)")


def is_absolute(path: str) -> bool:
    """True for `D:\\VMs` and `\\\\server\\share\\VMs`; False for any path another directory would complete."""
    return _ABSOLUTE.match(path) is not None
