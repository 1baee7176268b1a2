"""JSON persistence of a simulated host, and of the UNC shares its state dir holds for every simulated host.

A host file is self-contained (the seed is only read when the file does not exist yet) and carries a format
marker; a JSON file without it is refused rather than guessed at. Writes go to a temp file in the same folder,
are flushed to disk, then renamed over the old file, so a crash leaves either the old or the new state, never
a torn one. The shares file is read and written under an exclusive lock file, because several simulated hosts
may run at once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from orchestrator.signatures import cmdlet_names, normalize_version
from orchestrator.simulator.host import guest
from orchestrator.simulator.host.files import Shares
from orchestrator.simulator.host.model import (
    VM,
    Adapter,
    Disk,
    FileEntry,
    Host,
    Snapshot,
    Task,
    norm_path,
    share_root,
)

HOST_FORMAT = "multipoint-orchestrator/simulator-host/1"
SHARES_FORMAT = "multipoint-orchestrator/simulator-shares/1"
SHARES_FILE = "_shares.json"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]i?b?|b)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


class StateError(Exception):
    """A state file the simulator will not use (wrong format, unreadable)."""


def parse_size(value: Any, what: str = "size") -> int:
    """'64GB' / '2 TB' / 1024 -> bytes (powers of two, as PowerShell's KB/MB/GB/TB)."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a size such as 64GB, got {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"{what}: expected a size such as 64GB, got {value!r}")
    unit = (m.group(2) or "").lower()[:1]
    return int(float(m.group(1)) * _UNITS[unit])


def cmdlets_as_on(value: Any) -> dict[str, str]:
    """The seed's `cmdlets_as_on`, {cmdlet: Windows version}, as Host.cmdlets_as_on keeps it: lower-case names
    of cmdlets the signatures data knows, each with a normalized version ("6.2", "6.3", "10.0")."""
    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"cmdlets_as_on: expected a mapping such as {{Mount-VHD: '6.2'}}, got {value!r}")
    known = {name.lower() for name in cmdlet_names()}
    result: dict[str, str] = {}
    for name, version in value.items():
        if str(name).lower() not in known:
            raise ValueError(f"cmdlets_as_on: {name!r} is not a cmdlet the simulator knows")
        result[str(name).lower()] = normalize_version(str(version))
    return result


def cmdlets_without(value: Any) -> dict[str, list[str]]:
    """The seed's `cmdlets_without`, {cmdlet: [parameter, ...]}, as Host.cmdlets_without keeps it: lower-case
    names of cmdlets the signatures data knows, each with the lower-case names of the parameters it lacks."""
    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"cmdlets_without: expected a mapping such as {{Set-VMMemory: [Confirm, WhatIf]}}, got {value!r}")
    known = {name.lower() for name in cmdlet_names()}
    result: dict[str, list[str]] = {}
    for name, params in value.items():
        if str(name).lower() not in known:
            raise ValueError(f"cmdlets_without: {name!r} is not a cmdlet the simulator knows")
        if isinstance(params, str) or not isinstance(params, list | tuple):
            raise ValueError(f"cmdlets_without: {name}: expected a list of parameter names, got {params!r}")
        result[str(name).lower()] = sorted({str(p).lower() for p in params})
    return result


def host_from_seed(seed: Mapping[str, Any] | None, name: str = "HV01") -> tuple[Host, dict[str, dict[str, Any]]]:
    """A new host from the inventory's `orchestrate_simulator` mapping; returns the host and its shares."""
    seed = dict(seed or {})
    sku = int(seed.get("os_sku", 8))
    default_version = "6.2" if sku in (76, 77) else "6.3"
    host = Host(
        name=str(seed.get("computer_name", name)).split(".")[0].upper()[:15] or "HV01",
        os_version=normalize_version(str(seed.get("os_version") or default_version)),
        os_sku=sku,
        hyperv_installed=bool(seed.get("hyperv_installed", True)),
        logical_processors=int(seed.get("logical_processors", 8)),
        memory=parse_size(seed.get("memory", "32GB"), "memory"),
        switches=[str(s) for s in seed.get("switches", []) or []],
        free_disk=parse_size(seed.get("free_disk", "2TB"), "free_disk"),
        job_seconds=float(seed.get("job_seconds", 0) or 0),
        # A remote user who is not a local Administrator cannot change SYSTEM tasks (host/cmdlets_tasks.py; the
        # refusal's text is unverified and listed in docs/real-hosts.md, as the only way to make a
        # Register-ScheduledTask fail: PowerShell/PowerShell#4568 is why that failure must stop the apply).
        session_admin=bool(seed.get("session_admin", True)),
        session_user=str(seed.get("session_user") or ""),
        creator_owns=bool(seed.get("creator_owns", False)),
        # How long a guest's first-boot setup takes in simulated time, and the AD domains a guest can join
        # (host/guest.py).
        guest_setup_seconds=float(seed.get("guest_setup_seconds", 30 * 60)),
        guest_domains=[str(d) for d in seed.get("guest_domains", []) or []],
        # Whether Mount-VHD gives letters by itself (host/guest_disks.py; off: a host with mountvol /N).
        automount=bool(seed.get("automount", True)),
        hotfixes=[str(h) for h in seed.get("hotfixes", []) or []],
        cmdlets_as_on=cmdlets_as_on(seed.get("cmdlets_as_on")),
        missing_properties={str(k): [str(n) for n in v] for k, v in (seed.get("missing_properties") or {}).items()},
        cmdlets_without=cmdlets_without(seed.get("cmdlets_without")),
    )
    if host.hyperv_installed:
        for folder in (host.vm_path, host.vhd_path):
            host.files[norm_path(folder)] = FileEntry(path=folder, kind="dir")
    for path, info in (seed.get("images") or {}).items():
        info = info or {}
        sku_of_image = info.get("edition_sku")
        host.files[norm_path(path)] = FileEntry(
            path=str(path), kind="file", size=parse_size(info.get("size", "10GB"), "image size"),
            edition_sku=int(sku_of_image) if sku_of_image is not None else None,
            vhd={"type": "Dynamic", "size": parse_size(info.get("size", "40GB")), "parent": None}
            if str(path).lower().endswith((".vhd", ".vhdx")) else None,
        )
        leftover = {str(k): str(v) for k, v in (info.get("guest_values") or {}).items()}
        own_files = {str(k): str(v) for k, v in (info.get("guest_files") or {}).items()}
        if (info.get("partition_style") or leftover or own_files) and sku_of_image is not None:  # else defaults
            volume = guest.sysprepped_volume(int(sku_of_image), str(info.get("partition_style") or "").upper() or None)
            # Values under HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest that the image was captured with (a
            # finished guest sysprepped into a new image): no page says sysprep removes them (guest.py).
            volume["os"]["kvp_guest"] = leftover
            # Files the image's Windows partition holds (its own SetupComplete.cmd, an answer file), by their
            # path in the partition.
            for file_path, text in own_files.items():
                guest.add_volume_file(volume, file_path, text)
            host.files[norm_path(path)].volume = volume
    for path in seed.get("folders", []) or []:
        host.files[norm_path(path)] = FileEntry(path=str(path), kind="dir")
    shares = {}
    for root, info in (seed.get("shares") or {}).items():
        key = share_root(str(root)) or str(root).lower()
        shares[key] = {"path": str(root), "free": parse_size((info or {}).get("free", "1TB"), "share free")}
    return host, shares


# -- host <-> JSON -----------------------------------------------------------------------------------------------


def host_to_json(host: Host) -> dict[str, Any]:
    data = asdict(host)
    data["files"] = list(data["files"].values())
    data["vms"] = list(data["vms"].values())
    for vm in data["vms"]:
        vm["snapshots"] = list(vm["snapshots"].values())
    data["tasks"] = list(data["tasks"].values())
    return {"format": HOST_FORMAT, "host": data}


def host_from_json(doc: Any, source: str = "state") -> Host:
    if not isinstance(doc, dict) or doc.get("format") != HOST_FORMAT:
        raise StateError(f"{source} is not a simulator state file (missing format marker {HOST_FORMAT!r}); "
                         "refusing to use it")
    data = dict(doc["host"])
    files = {norm_path(f["path"]): FileEntry(**f) for f in data.pop("files", [])}
    vms = {}
    for raw in data.pop("vms", []):
        raw = dict(raw)
        snaps = {s["id"]: Snapshot(**s) for s in raw.pop("snapshots", [])}
        disks = [Disk(**d) for d in raw.pop("disks", [])]
        adapters = [Adapter(**a) for a in raw.pop("adapters", [])]
        vm = VM(**raw, disks=disks, adapters=adapters, snapshots=snaps)
        vms[vm.id] = vm
    tasks = {}
    for raw in data.pop("tasks", []):
        task = Task(**raw)
        tasks[Host.task_key(task.path, task.name)] = task
    return Host(**data, files=files, vms=vms, tasks=tasks)


def shares_to_json(shares: Shares) -> dict[str, Any]:
    return {"format": SHARES_FORMAT, "roots": shares.roots, "files": [asdict(f) for f in shares.files.values()]}


def shares_from_json(doc: Any, source: str) -> Shares:
    if not isinstance(doc, dict) or doc.get("format") != SHARES_FORMAT:
        raise StateError(f"{source} is not a simulator shares file (missing format marker {SHARES_FORMAT!r})")
    files = {norm_path(f["path"]): FileEntry(**f) for f in doc.get("files", [])}
    return Shares(roots=dict(doc.get("roots", {})), files=files)


# -- files ----------------------------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StateError(f"{path} is not valid JSON ({exc}); refusing to use it") from exc


def write_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, separators=(",", ":"), sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


@contextlib.contextmanager
def locked(state_dir: Path) -> Iterator[None]:
    """An exclusive lock over the shares file of a state dir (a lock file beside it).

    In a state dir this user cannot write (a read-only mount, another admin's folder), a read-only command
    (`plan`, `schedules`) must still read the simulated hosts: the lock file is opened read-only if it
    exists, or the block runs unlocked. That is sound for reading: every state file is replaced by an
    atomic rename, so a reader sees a whole old or a whole new file; and a change could not be saved there
    anyway (its OSError is the caller's, named by SimulatedTransport)."""
    lock_path = state_dir / (SHARES_FILE + ".lock")
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the duration of the block
    except OSError as exc:
        if exc.errno not in READ_ONLY_ERRNOS:
            raise
        try:
            handle = open(lock_path)  # noqa: SIM115 - flock needs no write access
        except OSError:
            yield  # no lock file and no way to make one: nobody of this user can be writing here either
            return
    try:
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except ImportError:  # Windows admin box: msvcrt locks a byte range instead
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
        yield
    finally:
        handle.close()


def load_shares(state_dir: Path) -> Shares:
    path = state_dir / SHARES_FILE
    if not path.exists():
        return Shares()
    return shares_from_json(read_json(path), str(path))


def save_shares(state_dir: Path, shares: Shares) -> None:
    write_atomic(state_dir / SHARES_FILE, shares_to_json(shares))
    shares.dirty = False
