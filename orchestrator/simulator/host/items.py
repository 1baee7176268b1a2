"""File system items as the FileSystem provider shows them, and the folders a new item needs: shared by the
Management cmdlets (host/cmdlets_general.py) and [System.IO.Directory]::CreateDirectory (host/context.py's
static hooks). It knows no host context type, so the context may reach it without an import circle."""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.host.acl import method_error
from orchestrator.simulator.host.model import FileEntry, norm_path, parent_path, share_root
from orchestrator.simulator.host.registry import CmdletError
from orchestrator.simulator.language.values import PSObject, PSRuntimeError, to_string


def item_object(entry: FileEntry) -> PSObject:
    """The FileInfo or DirectoryInfo Get-Item and Get-ChildItem give for a file or folder. A DirectoryInfo has
    no Length (nor DirectoryName): .NET's DirectoryInfo has no such property
    (learn.microsoft.com/dotnet/api/system.io.directoryinfo, Properties), so Measure-Object -Property Length over
    folders finds none (audit N L3)."""
    name = entry.path.rstrip("\\").rsplit("\\", 1)[-1]
    is_dir = entry.kind == "dir"
    props = {"Name": name, "FullName": entry.path, "PSIsContainer": is_dir,
             "Extension": "" if is_dir or "." not in name else "." + name.rsplit(".", 1)[-1], "Mode": "d----" if is_dir else "-a---"}
    if not is_dir:
        props["Length"] = entry.size
        props["DirectoryName"] = parent_path(entry.path)
    return PSObject(props, "System.IO.DirectoryInfo" if is_dir else "System.IO.FileInfo", ref=entry.path,
                    text=entry.path)


def make_parents(ctx: Any, path: str) -> None:
    """The folders above a new item that do not exist yet, made as real folders (New-Item -Force makes a
    file's missing folders; a new directory's missing parents are made with it), so each has an owner: the
    creator's (host/acl.py), which the state folder's check reads."""
    missing = []
    parent = parent_path(path)
    while parent and ctx.fs.kind(parent) is None and share_root(parent) != norm_path(parent):
        missing.append(parent)
        up = parent_path(parent)
        if up == parent:
            break
        parent = up
    if missing:
        refuse_missing_drive(ctx, missing[-1])
    for folder in reversed(missing):
        ctx.fs.add(FileEntry(folder.rstrip("\\"), "dir"))


def refuse_missing_drive(ctx: Any, path: str) -> None:
    """A path on a drive letter the host does not have: no cmdlet makes the drive. Join-Path and New-Item
    fail with "Cannot find drive. A drive with the name 'E' does not exist." (DriveNotFound; reports on
    Windows PowerShell: PowerShell/PowerShell#4386, osisoft/PI-Security-Audit-Tools#82 of 2016,
    jamesstringer90/Easy-GPU-PV#95 for New-Item; no page of 3.0 says so, audit F)."""
    text = str(path)
    if len(text) >= 2 and text[1] == ":" and text[0].isalpha() and text[0].lower() not in ctx.fs.drives():
        raise CmdletError(f"Cannot find drive. A drive with the name '{text[0].upper()}' does not exist.",
                          "DriveNotFound", "ObjectNotFound", text[0].upper())


def create_directory(ctx: Any, args: list[Any]) -> PSObject:
    """[System.IO.Directory]::CreateDirectory(path): the folder and every missing one above it, the path read
    literally. Source: learn.microsoft.com/dotnet/api/system.io.directory.createdirectory, CreateDirectory
    (String): "Creates all directories and subdirectories in the specified path unless they already exist";
    it returns the folder's DirectoryInfo "regardless of whether a directory at the specified path already
    exists"; IOException when "The directory specified by path is a file" or "The network name is not known",
    UnauthorizedAccessException when "The caller does not have the required permission" (the messages
    below are the simulator's, not sourced). What the templates use where a folder's path may hold [ ],
    which New-Item -Path reads as wildcards (its 3.0 page) and has no -LiteralPath on 3.0."""
    if len(args) != 1:
        raise PSRuntimeError(f"The simulator does not support [System.IO.Directory]::CreateDirectory() with "
                             f"{len(args)} argument(s).", "NotSupported", "NotImplemented")
    path = to_string(args[0]).rstrip("\\")
    if not ctx.fs.share_known(path):
        raise method_error("CreateDirectory", 1, "The network path was not found.", "IOException")
    existing = ctx.fs.kind(path)
    if existing == "file":
        raise method_error("CreateDirectory", 1, f"Cannot create \"{path}\" because a file or directory with the same "
                           "name already exists.", "IOException")
    if existing == "dir":
        return item_object(ctx.fs.get(path) or FileEntry(path, "dir"))
    entry = FileEntry(path, "dir")
    try:
        refuse_missing_drive(ctx, path)
    except CmdletError as exc:
        # DirectoryNotFoundException: "The specified path is invalid (for example, it is on an unmapped drive)"
        # (Directory.CreateDirectory, Exceptions, learn.microsoft.com).
        raise method_error("CreateDirectory", 1, f"Could not find a part of the path '{path}'.",
                           "DirectoryNotFoundException") from exc
    try:
        make_parents(ctx, path)
        ctx.fs.add(entry)
    except CmdletError as exc:  # a share out of reach (the double hop), a folder's access rules
        raise method_error("CreateDirectory", 1, str(exc), "UnauthorizedAccessException") from exc
    ctx.mutated(f"CreateDirectory {path}")
    return item_object(entry)
