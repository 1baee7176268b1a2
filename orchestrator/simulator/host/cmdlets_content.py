"""Set-Content: a script writes a text file (the answer file and SetupComplete.cmd into a mounted guest disk).

Behaviour per MicrosoftDocs/PowerShell-Docs reference/5.1/Microsoft.PowerShell.Management/Set-Content.md:
it "writes or replaces the content", creates a missing file, and fails when the folder does not exist
(Example 2: "If the Test1 directory does not exist, the command fails, but if the file does not exist, the
command creates it"); -Encoding is the FileSystem provider's, and "The default value is ASCII". Each value is
written as a line (a newline after each, CRLF on Windows). Strict where the page is silent: ASCII turns every
character above U+007F into '?' (the .NET ASCII encoder's replacement), UTF8 starts the file with a BOM, and
wildcards in -Path are not expanded (use -LiteralPath).
"""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host import handles
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import FileEntry
from orchestrator.simulator.host.registry import CmdletError, cmdlet
from orchestrator.simulator.host.unmodelled import refuse_unmodelled
from orchestrator.simulator.language.values import to_string

MGMT = "Microsoft.PowerShell.Management"
_BOM = {"utf8": "\ufeff", "unicode": "\ufeff", "bigendianunicode": "\ufeff", "utf32": "\ufeff"}


@cmdlet("Set-Content", MGMT, mutating=True)
def set_content(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    refuse_unmodelled("Set-Content", call)
    paths = call.get("Path") if call.has("Path") else call.get("LiteralPath")
    values = call.get("Value")
    values = values if isinstance(values, list) else [values]
    text = "".join(to_string(v) + "\r\n" for v in values)
    encoding = to_string(call.get("Encoding") or "Ascii").lower()
    if encoding in ("ascii", "default", "oem", "string", "unknown"):
        text = "".join(ch if ord(ch) < 128 else "?" for ch in text)
    elif encoding in _BOM:
        text = _BOM[encoding] + text
    else:
        raise CmdletError(f"The simulator does not model Set-Content -Encoding {encoding}.", "NotSupported",
                          "NotImplemented", terminating=True)
    for path in paths or []:
        if call.has("Path") and any(ch in path for ch in "*?["):
            raise CmdletError("The simulator does not expand wildcards in Set-Content -Path; use -LiteralPath.",
                              "NotSupported", "NotImplemented", terminating=True)
        kind = ctx.fs.kind(path)
        if kind == "dir":
            raise CmdletError(f"Access to the path '{path}' is denied.", "GetContentWriterUnauthorizedAccessError",
                              "PermissionDenied", path)
        if not ctx.fs.parent_exists(path):
            raise CmdletError(f"Could not find a part of the path '{path}'.",
                              "GetContentWriterDirectoryNotFoundError,Microsoft.PowerShell.Commands.SetContentCommand",
                              "ObjectNotFound", path)
        if kind == "file":  # the content writer opens it for writing, sharing writing only (handles.CONTENT_WRITER)
            handles.refuse_if_open(ctx.host, path, handles.CONTENT_WRITER, "GetContentWriterIOError")
        size = len(text.encode("utf-16-le" if encoding == "unicode" else "utf-8"))
        ctx.fs.add(FileEntry(path, "file", size, text=text))
        ctx.mutated(f"Set-Content {path}")
    return [text] if call.get("PassThru") else []
