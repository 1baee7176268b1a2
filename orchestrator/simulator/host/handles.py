"""Open file handles with Windows share modes: what the host lock (docs/host-lock.md) stands on.

A script opens a file with `[System.IO.File]::Open(path, mode, access, share)`; the handle lives until the
stream is disposed or the process that opened it ends. The sources the model follows:

- FileShare "Read: allows subsequent opening of the file for reading. If this flag is not specified, any
  request to open the file for reading (by this process or another process) will fail until the file is
  closed", likewise Write and ReadWrite; None "declines sharing of the current file"
  (https://learn.microsoft.com/en-us/dotnet/api/system.io.fileshare, .NET Framework 4.5). An open therefore
  fails when the access it asks for is not allowed by the share mode of a handle already open, or when it
  does not share the access an open handle already has (the two checks CreateFile makes:
  https://learn.microsoft.com/en-us/windows/win32/fileio/creating-and-opening-files, "the share mode ...
  must be compatible with the access of the existing handles").
- File.Open(path, mode, access, share) throws IOException when the open fails, FileNotFoundException for a
  missing file with FileMode.Open, DirectoryNotFoundException for a missing folder, UnauthorizedAccessException
  for a folder (https://learn.microsoft.com/en-us/dotnet/api/system.io.file.open, "Exceptions"). A sharing
  violation reads "The process cannot access the file '<path>' because it is being used by another process."
  (ERROR_SHARING_VIOLATION mapped by .NET's __Error.WinIOError to IO.IO_SharingViolation_File).
- "Open handles to files or other resources are closed automatically when a process terminates"
  (https://learn.microsoft.com/en-us/windows/win32/procthread/terminating-a-process): a PowerShell that is
  killed, or that simply ends, releases every handle it held. The simulator ends a script's process when its
  run ends, so its handles go then (`release_process`); a handle of a process that is still running (a script
  of another run on the same host, held open by a test with `Simulator.hold`) is kept in the host's state.

A process may also conflict with itself: the share mode binds "this process or another process" alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from orchestrator.simulator.host.acl import enum_value, method_error
from orchestrator.simulator.host.model import FileEntry, Host, norm_path, parent_path, share_root
from orchestrator.simulator.host.registry import CmdletError
from orchestrator.simulator.language.netobject import NetObject
from orchestrator.simulator.language.values import PSRuntimeError, to_bool, to_int, to_string

READ, WRITE, DELETE = 1, 2, 4
MODES = {"createnew": 1, "create": 2, "open": 3, "openorcreate": 4, "truncate": 5, "append": 6}
ACCESS = {"read": READ, "write": WRITE, "readwrite": READ | WRITE}
SHARE = {"none": 0, "read": READ, "write": WRITE, "readwrite": READ | WRITE, "delete": DELETE,
         "inheritable": 16}


def _flag(value: Any, table: dict[str, int], what: str) -> int:
    """An enum argument: the [System.IO.FileMode]::X value the templates pass (a name is converted as PowerShell
    converts a string to an enum; a number as its value)."""
    return enum_value(value, table, f"System.IO.{what}")


@dataclass(slots=True)
class Handle:
    """One open handle, as the host's state keeps it: which file, what it may do, what it shares, whose."""

    path: str
    access: int
    share: int
    process: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "access": self.access, "share": self.share, "process": self.process}


def handles_of(host: Host) -> list[Handle]:
    return [Handle(h["path"], int(h["access"]), int(h["share"]), int(h["process"])) for h in host.open_files]


def conflict(host: Host, path: str, access: int, share: int) -> bool:
    """Would this open be refused by a handle already open on the file (by any process)? A delete is an open
    for DELETE access, which every handle must share (FileShare.Delete, "Allows subsequent deleting of a file";
    DeleteFile "fails if an application attempts to delete a file that has other handles open for normal I/O":
    https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-deletefilew)."""
    key = norm_path(path)
    for held in handles_of(host):
        if norm_path(held.path) != key:
            continue
        if access & (READ | WRITE | DELETE) & ~held.share or held.access & ~share & (READ | WRITE | DELETE):
            return True
    return False


def sharing_violation(path: str) -> str:
    """.NET's IOException text for ERROR_SHARING_VIOLATION (__Error.WinIOError, IO.IO_SharingViolation_File)."""
    return f"The process cannot access the file '{path}' because it is being used by another process."


# The opens the FileSystem provider's cmdlets make, as (access, share). PowerShell's FileSystemProvider
# (src/System.Management.Automation/namespaces/FileSystemProvider.cs; read in a decompiled Windows PowerShell copy
# of it, so unverified for 3.0 in particular): GetContentWriter, behind Set-Content, opens FileAccess.Write with
# FileShare.Write; GetContentReader, behind Get-Content, FileAccess.Read with FileShare.ReadWrite; NewItem's file
# branch FileAccess.Write with FileShare.None (FileMode.Create under -Force); Remove-Item deletes with
# FileSystemInfo.Delete, DeleteFile's open for DELETE that shares everything; Copy-Item copies with
# FileInfo.CopyTo, File.Copy, which reads the source sharing reading only and writes the target alone (as
# file_copy below).
CONTENT_WRITER = (WRITE, WRITE)
CONTENT_READER = (READ, READ | WRITE)
NEW_FILE = (WRITE, 0)
DELETING = (DELETE, READ | WRITE | DELETE)
COPY_SOURCE = (READ, READ)
COPY_TARGET = (WRITE, 0)


def refuse_if_open(host: Host, path: str, open_as: tuple[int, int], error_id: str, prefix: str = "",
                   category: str = "WriteError") -> None:
    """A cmdlet's open of `path` that a handle already open refuses: the provider writes the IOException as the
    cmdlet's error (WriteError, or ReadError for a reader, as the provider's `catch (IOException)` blocks do)."""
    if conflict(host, path, *open_as):
        raise CmdletError(prefix + sharing_violation(path), error_id, category, path)


def open_handle(host: Host, path: str, access: int, share: int, process: int) -> None:
    host.open_files.append(Handle(path, access, share, process).to_json())


def close_handle(host: Host, path: str, process: int) -> None:
    key = norm_path(path)
    for index, held in enumerate(host.open_files):
        if norm_path(held["path"]) == key and int(held["process"]) == process:
            del host.open_files[index]
            return


def release_process(host: Host, process: int) -> bool:
    """The process ended (its script finished, failed or was killed): every handle it held is closed."""
    before = len(host.open_files)
    host.open_files[:] = [h for h in host.open_files if int(h["process"]) != process]
    return len(host.open_files) != before


class FileStream(NetObject):
    """A System.IO.FileStream the script holds: Write/SetLength/Flush/Dispose/Close, Length, CanRead/CanWrite.

    The bytes written land in the file entry's text (UTF-8) at once; a real FileStream buffers until Flush or
    Dispose, which only matters to a reader racing the writer (docs/host-lock.md says what a reader may see)."""

    type_name = "System.IO.FileStream"

    def __init__(self, ctx: Any, entry: FileEntry, access: int) -> None:
        self.ctx = ctx
        self.entry = entry
        self.access = access
        self.data = bytearray((entry.text or "").encode("utf-8"))
        self.position = 0
        self.open = True

    def _live(self, method: str, count: int) -> None:
        if not self.open:
            raise method_error(method, count, "Cannot access a closed file.", "ObjectDisposedException")

    def _store(self) -> None:
        self.entry.text = self.data.decode("utf-8", "replace")
        self.entry.size = len(self.data)
        self.ctx.mutated(f"write {self.entry.path}")

    def member(self, lname: str) -> Any:
        return {"length": len(self.data), "position": self.position, "name": self.entry.path,
                "canread": self.open and bool(self.access & READ),
                "canwrite": self.open and bool(self.access & WRITE)}.get(lname)

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname in ("dispose", "close"):
            if self.open:
                self.open = False
                close_handle(self.ctx.host, self.entry.path, self.ctx.pid)
                self.ctx.mutated(f"close {self.entry.path}")
            return None
        self._live(name, len(args))
        if lname == "flush":
            return None
        if lname == "setlength":
            if not self.access & WRITE:
                raise method_error(name, len(args), "Stream does not support writing.", "NotSupportedException")
            size = to_int(args[0])
            del self.data[size:]
            self.data.extend(b"\0" * (size - len(self.data)))
            self.position = min(self.position, size)
            self._store()
            return None
        if lname == "write":
            if not self.access & WRITE:
                raise method_error(name, len(args), "Stream does not support writing.", "NotSupportedException")
            buffer = bytes(args[0]) if isinstance(args[0], (bytes, bytearray, list)) else b""
            offset, count = to_int(args[1]), to_int(args[2])
            chunk = buffer[offset:offset + count]
            self.data[self.position:self.position + len(chunk)] = chunk
            self.position += len(chunk)
            self._store()
            return None
        if lname == "readtoend_text":  # StreamReader's helper, not a FileStream method a script can call
            if not self.access & READ:
                raise method_error("ReadToEnd", 0, "Stream was not readable.", "ArgumentException")
            text = self.data[self.position:].decode("utf-8", "replace")
            self.position = len(self.data)
            return text
        return super().call(lname, name, args)


class StreamReader(NetObject):
    """New-Object System.IO.StreamReader -ArgumentList $stream: ReadToEnd, Dispose/Close (which close the
    stream too: https://learn.microsoft.com/en-us/dotnet/api/system.io.streamreader.close)."""

    type_name = "System.IO.StreamReader"

    def __init__(self, stream: FileStream) -> None:
        if not stream.open or not stream.access & READ:
            raise PSRuntimeError('Exception calling ".ctor" with "1" argument(s): "Stream was not readable."',
                                 "ConstructorInvokedThrowException,Microsoft.PowerShell.Commands.NewObjectCommand",
                                 "InvalidOperation")
        self.stream = stream

    def member(self, lname: str) -> Any:
        return {"endofstream": self.stream.position >= len(self.stream.data)}.get(lname)

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname == "readtoend":
            return self.stream.call("readtoend_text", name, [])
        if lname in ("dispose", "close"):
            return self.stream.call(lname, name, [])
        return super().call(lname, name, args)


def file_copy(ctx: Any, args: list[Any]) -> None:
    """[System.IO.File]::Copy(source, destination, overwrite): "Copies an existing file to a new file.
    Overwriting a file of the same name is allowed." (learn.microsoft.com/dotnet/api/system.io.file.copy,
    Copy(String, String, Boolean)). A .NET method reads both paths literally: no wildcards, unlike Copy-Item's
    -Destination (PowerShell/PowerShell#12168). Its Exceptions: FileNotFoundException when the source "was not
    found", DirectoryNotFoundException when a path "is invalid (for example, it is on an unmapped drive)",
    IOException when the destination "exists and overwrite is false" or "An I/O error has occurred",
    UnauthorizedAccessException when "The caller does not have the required permission"; the texts below are
    the simulator's. Like Copy-Item here: a disk file a VM that is not Off holds is refused (chains.
    held_by_running, stricter), and a copy killed half-way leaves its target torn."""
    from orchestrator.simulator.host import chains

    source, dest = to_string(args[0]), to_string(args[1])
    overwrite = to_bool(args[2])
    fs = ctx.fs
    entry = fs.get(source)
    if entry is None or fs.kind(source) != "file":
        if fs.kind(source) == "dir":
            raise method_error("Copy", 3, f"Access to the path '{source}' is denied.", "UnauthorizedAccessException")
        raise method_error("Copy", 3, f"Could not find file '{source}'.", "FileNotFoundException")
    if fs.kind(dest) == "dir":
        raise method_error("Copy", 3, f"Access to the path '{dest}' is denied.", "UnauthorizedAccessException")
    parent = parent_path(dest)
    if parent and fs.kind(parent) != "dir":
        raise method_error("Copy", 3, f"Could not find a part of the path '{dest}'.", "DirectoryNotFoundException")
    old = fs.get(dest)
    if old is not None and not overwrite:
        raise method_error("Copy", 3, f"The file '{dest}' already exists.", "IOException")
    holder = chains.held_by_running(ctx.host, entry.path)
    if holder is not None:
        raise method_error("Copy", 3, f"The process cannot access the file '{entry.path}' because it is being used "
                           f"by another process (VM '{holder.name}' is {holder.state}).", "IOException")
    if conflict(ctx.host, entry.path, READ, READ) or (old is not None and (
            conflict(ctx.host, dest, WRITE, 0) or chains.in_use(ctx.host, dest) or old.mounted is not None)):
        busy = entry.path if conflict(ctx.host, entry.path, READ, READ) else dest
        raise method_error("Copy", 3, f"The process cannot access the file '{busy}' because it is being used by "
                           "another process.", "IOException")
    try:
        fs.check_create(dest, is_dir=False)
    except CmdletError as exc:  # a folder's access rules (host/acl.py) give this identity no write here
        raise method_error("Copy", 3, str(exc), "UnauthorizedAccessException") from exc
    refund = old.size if old is not None and share_root(dest) is None else 0  # the old file's room is freed
    free = [ctx.host.free_disk + refund]
    if not fs.consume(dest, entry.size, free):
        raise method_error("Copy", 3, "There is not enough space on the disk.", "IOException")
    ctx.host.free_disk = free[0]
    if old is not None:
        fs.remove(old.path)
    # A copy its process is killed in the middle of is left half-written, as Copy-Item's (model.FileEntry.torn).
    torn = ctx.kill_due(f"File.Copy {entry.path} {dest}")
    clone = copy.deepcopy(entry)
    clone.path = dest
    clone.mounted = None
    if torn:
        clone.torn = True
        clone.size //= 2
    fs.add(clone)
    ctx.mutated(f"File.Copy {entry.path} {dest}")


def file_static(ctx: Any, lname: str, args: list[Any]) -> Any:
    """[System.IO.File]::Open(path, mode, access, share) and ::Copy(source, destination, overwrite) (file_copy):
    the static methods of [System.IO.File] the templates call (anything else is refused by name, as an unknown
    member is)."""
    if lname == "copy" and len(args) == 3:
        return file_copy(ctx, args)
    if lname != "open" or len(args) != 4:
        raise PSRuntimeError(f"The simulator does not support the static method [System.IO.File]::{lname}() with "
                             f"{len(args)} argument(s).", "NotSupported", "NotImplemented")
    path = to_string(args[0])
    mode = _flag(args[1], MODES, "FileMode")
    access = _flag(args[2], ACCESS, "FileAccess")
    share = _flag(args[3], SHARE, "FileShare")
    fs = ctx.fs
    kind = fs.kind(path)
    if kind == "dir":
        raise method_error("Open", 4, f"Access to the path '{path}' is denied.", "UnauthorizedAccessException")
    if kind is None:
        if mode in (MODES["open"], MODES["truncate"]):
            raise method_error("Open", 4, f"Could not find file '{path}'.", "FileNotFoundException")
        parent = parent_path(path)
        if parent and fs.kind(parent) != "dir":
            raise method_error("Open", 4, f"Could not find a part of the path '{path}'.",
                                "DirectoryNotFoundException")
    elif mode == MODES["createnew"]:
        raise method_error("Open", 4, f"The file '{path}' already exists.", "IOException")
    if kind is None or access & WRITE:
        try:
            fs.check_create(path, is_dir=False)
        except CmdletError as exc:  # a folder's access rules (host/acl.py) give this identity no write here
            raise method_error("Open", 4, str(exc), "UnauthorizedAccessException") from exc
    if conflict(ctx.host, path, access, share):
        raise method_error("Open", 4, f"The process cannot access the file '{path}' because it is being used by "
                            "another process.", "IOException")
    entry = fs.get(path)
    if entry is None:
        entry = FileEntry(path=path, kind="file", size=0, text="")
        fs.add(entry)
    open_handle(ctx.host, entry.path, access, share, ctx.pid)
    ctx.mutated(f"open {path}")
    stream = FileStream(ctx, entry, access)
    if mode in (MODES["create"], MODES["truncate"]):
        stream.call("setlength", "SetLength", [0])
    return stream
