"""Files as the host sees them: its local drives, plus UNC shares that every simulated host of a state dir sees.

A path under `\\\\server\\share` lives in the shared store (shares.json beside the host files), so an export
written by one simulated host can be imported by another. Directories are explicit entries; a file's parent
folders exist implicitly, as they must on a real disk.

A share is reached with the identity of the session that runs the script, and a remote session only has
one to pass on when it can delegate (see `Session`): from one that cannot, every path under a share is
denied, to the file cmdlets and the Hyper-V cmdlets alike (Hyper-V acts with the caller's identity for SMB
paths).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.simulator.host.acl import (
    CREATE_DIRECTORIES,
    CREATE_FILES,
    DELETE,
    DELETE_CHILD,
    WRITE_DATA,
    Identity,
    allowed,
    denied,
    effective_rules,
)
from orchestrator.simulator.host.model import FileEntry, norm_path, parent_path, share_root
from orchestrator.simulator.host.registry import CmdletError
from orchestrator.windows_paths import MAX_DIRECTORY, MAX_PATH

# How a remote session authenticates (ansible_winrm_transport) -> whether it can pass the caller's identity
# on to a third computer by itself. MicrosoftDocs/PowerShell-Docs
# reference/docs-conceptual/security/remoting/PS-remoting-second-hop.md: the credentials of a remoting
# session "aren't passed from ServerB to ServerC" unless CredSSP or Kerberos delegation is set up; CredSSP
# "caches credentials on the remote server". NTLM, Basic and certificate logons are not listed as a way
# across, so they cannot (strict where the page is silent: Basic and certificate are unverified).
DELEGATING_TRANSPORTS = frozenset({"credssp", "console"})


@dataclass(frozen=True, slots=True)
class Session:
    """How the caller of a run logged on to the simulated host, which decides whether a share is reachable.

    `transport` is "console" for someone at the host itself (an interactive logon holds the user's own
    credentials, so the share sees the user: no second hop), else the WinRM transport. `delegation` stands
    for what no session can see from inside: Kerberos delegation of the host's computer account to the file
    server (cifs/<server>), set up in Active Directory; with "Use any authentication protocol" (protocol
    transition) it serves an NTLM logon too (PS-remoting-second-hop.md, "Kerberos constrained delegation").
    """

    transport: str = "console"
    delegation: bool = False

    @property
    def can_delegate(self) -> bool:
        return self.delegation or self.transport.lower() in DELEGATING_TRANSPORTS


def access_denied(path: str) -> CmdletError:
    """The error a share gives a session that cannot delegate: the session reaches it without an identity.

    Text: .NET's UnauthorizedAccessException, "Access to the path '...' is denied." as the file cmdlets
    report it (E_ACCESSDENIED, 0x80070005). A real Hyper-V host words the same failure of its cmdlets as
    "General access denied error. (0x80070005)" (Microsoft askcore blog, "Hyper-V authentication in Windows
    Server 2016 for managing remote Hyper-V servers through RSAT", VMMS event 13000); the simulator gives
    both cmdlet families the one text, with both phrasings, since a script must only tell denied from found.
    """
    return CmdletError(f"Access to the path '{path}' is denied. General access denied error. (0x80070005)",
                       "UnauthorizedAccess", "PermissionDenied", path)


@dataclass(slots=True)
class Shares:
    """The UNC storage shared by the simulated hosts of one state dir."""

    roots: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower root -> {"path": ..., "free": n}
    files: dict[str, FileEntry] = field(default_factory=dict)
    dirty: bool = False


class FileSystem:
    def __init__(self, local: dict[str, FileEntry], shares: Shares, on_change: Any,
                 session: Session | None = None, identity: Identity | None = None) -> None:
        self.local = local
        self.shares = shares
        self._on_change = on_change
        self.session = session or Session()
        # Who the script runs as (host/acl.py): the owner of what it creates, and whose access local folders
        # with rules of their own check. None: nobody's (tests that drive the file system alone).
        self.identity = identity
        self._guarded: bool | None = None  # whether any local folder has rules of its own (checked lazily)

    def guard(self) -> None:
        """A folder just got rules of its own: from now on, access below it is checked."""
        self._guarded = True

    def may(self, path: str, right: int, *, is_dir: bool) -> bool:
        """Whether this script's identity holds `right` on a local `path` (always, where access is not modelled)."""
        if self.identity is None or share_root(path) is not None:
            return True
        if self._guarded is None:
            self._guarded = any(entry.acl is not None for entry in self.local.values())
        if not self._guarded:
            return True
        return allowed(effective_rules(self.local, path, is_dir), self.identity, right)

    def check_create(self, path: str, *, is_dir: bool) -> None:
        """Creating `path` (or writing an existing file): the folder's CreateFiles/CreateDirectories, the file's
        WriteData. Raises the file cmdlets' access-denied error, and .NET's PathTooLongException for a path
        past MAX_PATH (orchestrator.windows_paths; the message is .NET's). An export nests a VM's name three
        times (audit H, H4)."""
        folder = parent_path(path) if not is_dir else path
        if len(path) >= MAX_PATH or (folder and len(folder) >= MAX_DIRECTORY):
            raise CmdletError(f"The specified path, file name, or both are too long. The fully qualified file name "
                              f"must be less than 260 characters, and the directory name must be less than 248 "
                              f"characters. ('{path}')", "PathTooLongException", "WriteError", path)
        existing = self.get(path)
        if existing is not None and existing.kind == "file":
            ok = self.may(path, WRITE_DATA, is_dir=False)
        elif existing is not None:
            ok = True
        else:
            parent = parent_path(path)
            ok = not parent or self.may(parent, CREATE_DIRECTORIES if is_dir else CREATE_FILES, is_dir=True)
        if not ok:
            raise denied(path)

    def reachable(self, path: str) -> bool:
        """False for a share path this session cannot reach (no identity to pass on); local paths always.

        A share on this host itself (\\\\<this host>\\share) is still reached over SMB as a second hop: the
        sources say nothing of a loopback exception, so the simulator is strict (unverified).
        """
        return share_root(path) is None or self.session.can_delegate

    def _table(self, path: str) -> dict[str, FileEntry] | None:
        root = share_root(path)
        if root is None:
            return self.local
        if root not in self.shares.roots:
            return None
        if not self.session.can_delegate:
            raise access_denied(path)
        return self.shares.files

    def share_known(self, path: str) -> bool:
        root = share_root(path)
        return root is None or root in self.shares.roots

    def get(self, path: str) -> FileEntry | None:
        table = self._table(path)
        if table is None:
            return None
        return table.get(norm_path(path))

    def exists(self, path: str) -> bool:
        return self.kind(path) is not None

    def kind(self, path: str) -> str | None:
        """'file', 'dir' or None; None too for a share this session cannot reach, as Test-Path answers $false
        for a path it is denied (PowerShell/PowerShell#6474: "Test-Path \\\\server\\share\\restrictedfolder Returns
        False")."""
        if not path:
            return None
        if not self.reachable(path):
            return None
        table = self._table(path)
        if table is None:
            return None
        key = norm_path(path)
        entry = table.get(key)
        if entry is not None:
            return entry.kind
        root = share_root(path)
        if root is not None and key == root:
            return "dir"
        if (len(key) <= 3 and key.endswith(":\\")) or (len(key) == 2 and key.endswith(":")):
            return "dir" if key[0] in self.drives() else None
        prefix = key + "\\"
        if any(k.startswith(prefix) for k in table):
            return "dir"
        return None

    def drives(self) -> set[str]:
        letters = {"c"}
        letters.update(k[0] for k in self.local if len(k) > 1 and k[1] == ":")
        return letters

    def add(self, entry: FileEntry) -> None:
        table = self._table(entry.path)
        if table is None:
            raise FileNotFoundError(entry.path)
        key = norm_path(entry.path)
        self.check_create(entry.path, is_dir=entry.kind == "dir")
        existing = table.get(key)
        if existing is not None:  # replaced in place (New-Item -Force): the same file, its owner and rules kept
            entry.owner = entry.owner or existing.owner
            entry.acl = entry.acl if entry.acl is not None else existing.acl
        elif entry.owner is None and self.identity is not None and table is self.local:
            entry.owner = self.identity.default_owner
        table[key] = entry
        self.changed(entry.path)

    def remove(self, path: str, recurse: bool = True) -> list[FileEntry]:
        table = self._table(path)
        if table is None:
            return []
        key = norm_path(path)
        if key in table and not (self.may(path, DELETE, is_dir=table[key].kind == "dir")
                                 or self.may(parent_path(path), DELETE_CHILD, is_dir=True)):
            raise denied(path)
        removed = []
        if key in table:
            removed.append(table.pop(key))
        if recurse:
            prefix = key + "\\"
            for k in [k for k in table if k.startswith(prefix)]:
                removed.append(table.pop(k))
        if removed:
            self.changed(path)
        return removed

    def children(self, path: str, recurse: bool = False) -> list[FileEntry]:
        table = self._table(path)
        if table is None:
            return []
        prefix = norm_path(path).rstrip("\\") + "\\"
        out = []
        seen_dirs: set[str] = set()
        for key, entry in table.items():
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix):]
            if recurse or "\\" not in rest:
                out.append(entry)
            else:
                first = rest.split("\\", 1)[0]
                if prefix + first not in table and first not in seen_dirs:
                    seen_dirs.add(first)
                    out.append(FileEntry(path=path.rstrip("\\") + "\\" + entry.path.split("\\")[len(prefix.rstrip("\\").split("\\"))], kind="dir"))
        return sorted(out, key=lambda e: e.path.lower())

    def changed(self, path: str) -> None:
        if share_root(path) is not None:
            self.shares.dirty = True
        else:
            self._on_change()

    def ensure_dir(self, path: str) -> None:
        if self.kind(path) == "dir":
            return
        self.add(FileEntry(path=path.rstrip("\\"), kind="dir"))

    def parent_exists(self, path: str) -> bool:
        parent = parent_path(path)
        return not parent or self.kind(parent) == "dir"

    def share_free(self, path: str) -> int | None:
        root = share_root(path)
        if root is None or root not in self.shares.roots:
            return None
        if not self.session.can_delegate:
            raise access_denied(path)
        return int(self.shares.roots[root].get("free", 0))

    def consume(self, path: str, size: int, host_free: list[int]) -> bool:
        """Take `size` bytes from the share or the host disk; False when it does not fit."""
        root = share_root(path)
        if root is not None:
            if root in self.shares.roots and not self.session.can_delegate:
                raise access_denied(path)
            info = self.shares.roots.get(root)
            if info is None or int(info.get("free", 0)) < size:
                return False
            info["free"] = int(info["free"]) - size
            self.shares.dirty = True
            return True
        if host_free[0] < size:
            return False
        host_free[0] -= size
        return True
