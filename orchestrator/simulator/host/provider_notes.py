"""The ETS note properties Windows PowerShell puts on what Get-Content and Get-Date write, which its
ConvertTo-Json writes too: a value that is not cast becomes an object there (json_out writes a values.Noted
value as `{"value": ..., <notes>}`), and `[string]`, `[datetime]` and `.ToString()` give the bare value.

- Get-Content: "Get-Content adds several NoteProperties, including PSDrive and PSProvider or extra metadata"
  (PowerShell/PowerShell#6458, of PowerShell 5.0); 5.x writes PSPath, PSParentPath, PSChildName, PSDrive,
  PSProvider and ReadCount, the set used here. cyberark/cpm#38 ("adding '-Raw' to Get-Content to support
  win2012 convertToJson") points to the same family on 2012.
- Get-Date: "Get-Date returns a PSObject wrapped DateTime ... the JSON serializers in both Windows PowerShell
  and PowerShell Core serialize the outer PSObject" (PowerShell/PowerShell#5676); 5.1 writes
  `{"value": "\\/Date(...)\\/", "DisplayHint": 2, "DateTime": "..."}` (the output quoted in
  invictus-ir/Microsoft-Extractor-Suite#76). Fixed only in PowerShell 7.2 (MicrosoftDocs/PowerShell-Docs#7909,
  PowerShell/PowerShell#15665), the same fix job output awaits (host/cmdlets_general._job_output).

The exact note set on 3.0 is unverified (docs/real-hosts.md); the shape (an object, not a string) is what a
script must not rely on either way. DateTime is the types.ps1xml script property's text for DisplayHint
DateTime: the long date and long time, in en-US here (the host's culture is unverified).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.simulator.host.model import parent_path
from orchestrator.simulator.language.values import PSEnum, PSObject, noted_date, with_notes

FILESYSTEM = "Microsoft.PowerShell.Core\\FileSystem"


def _drive(path: str) -> PSObject | None:
    """The PSDriveInfo of the path's drive ($null for a UNC path, which is on no drive)."""
    if len(path) < 2 or path[1] != ":":
        return None
    letter = path[0].upper()
    return PSObject({"Name": letter, "Root": f"{letter}:\\", "Provider": FILESYSTEM, "Description": ""},
                    "System.Management.Automation.PSDriveInfo", text=letter)


def content_notes(text: str, path: str) -> Any:
    """What Get-Content -Raw writes for the file at `path`: its text with the provider's notes."""
    provider = PSObject({"Name": "FileSystem", "ModuleName": "Microsoft.PowerShell.Core"},
                        "System.Management.Automation.ProviderInfo", text=FILESYSTEM)
    return with_notes(text, {
        "PSPath": f"{FILESYSTEM}::{path}",
        "PSParentPath": f"{FILESYSTEM}::{parent_path(path)}",
        "PSChildName": path.rstrip("\\").rsplit("\\", 1)[-1],
        "PSDrive": _drive(path),
        "PSProvider": provider,
        "ReadCount": 1,
    })


def _long_form(value: datetime) -> str:
    hour = value.hour % 12 or 12
    return (f"{value:%A}, {value:%B} {value.day}, {value.year} {hour}:{value:%M:%S} "
            f"{'AM' if value.hour < 12 else 'PM'}")


def date_notes(value: datetime) -> datetime:
    """What Get-Date writes for `value`: the DateTime with DisplayHint DateTime (2) and the DateTime text."""
    hint = PSEnum("Microsoft.PowerShell.Commands.DisplayHintType", "DateTime", 2)
    return noted_date(value, {"DisplayHint": hint, "DateTime": _long_form(value)})
