"""What a host reports about itself: the facts document printed by templates/facts.ps1.j2, typed.

The facts script is the only read a run makes of a host (one command); the apply script ends by printing
the same document, so a run can verify its changes without a second round trip. Parsing is strict about
shape: a document that is not what the template prints is a `FactsError`, never a silently empty host.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.actions import CHECKPOINT_NOTES_PREFIX
from orchestrator.move_records import MoveRecord, parse_record
from orchestrator.signatures import normalize_version

# GetProductInfo / Win32_OperatingSystem.OperatingSystemSKU (multipoint-facts.md).
SKU_MULTIPOINT_STANDARD = 76
SKU_MULTIPOINT_PREMIUM = 77
EDITION_ID_SKU = {
    "ServerMultiPointStandard": SKU_MULTIPOINT_STANDARD,
    "ServerMultiPointPremium": SKU_MULTIPOINT_PREMIUM,
}


class FactsError(ValueError):
    """The host answered, but not with a facts document we can read."""


@dataclass(frozen=True, slots=True)
class CheckpointFacts:
    name: str
    id: str
    parent: str | None
    created: datetime | None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class DiskFacts:
    path: str
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class AdapterFacts:
    name: str
    switch: str | None


@dataclass(frozen=True, slots=True)
class VMFacts:
    name: str
    id: str
    state: str  # Hyper-V's names: Running, Off, Saved, Paused, ...
    generation: int
    cpus: int
    memory_startup: int
    dynamic_memory: bool
    memory_minimum: int
    memory_maximum: int
    notes: str = ""
    path: str | None = None
    parent_checkpoint: str | None = None
    disks: tuple[DiskFacts, ...] = ()
    adapters: tuple[AdapterFacts, ...] = ()
    checkpoints: tuple[CheckpointFacts, ...] = ()
    kvp: Mapping[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state == "Running"

    @property
    def switches(self) -> tuple[str, ...]:
        return tuple(a.switch for a in self.adapters if a.switch)

    @property
    def guest_edition_sku(self) -> int | None:
        """OSEditionId from the guest's KVP items: known only while the guest runs its integration services."""
        raw = self.kvp.get("OSEditionId")
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    def checkpoint(self, name: str) -> CheckpointFacts | None:
        return next((c for c in self.checkpoints if c.name == name), None)


@dataclass(frozen=True, slots=True)
class ImageEdition:
    index: int
    name: str
    edition_id: str

    @property
    def sku(self) -> int | None:
        return EDITION_ID_SKU.get(self.edition_id)


@dataclass(frozen=True, slots=True)
class TaskFacts:
    name: str
    path: str
    state: str
    description: str = ""
    next_run: str | None = None
    last_run: str | None = None
    last_result: int | None = None


@dataclass(frozen=True, slots=True)
class HostFacts:
    os_version: str
    os_sku: int | None
    caption: str = ""
    computer_name: str = ""
    hyperv_installed: bool = True
    hyperv_module: bool = True
    logical_processors: int = 0
    memory_total: int = 0
    memory_free: int = 0
    switches: tuple[str, ...] = ()
    vms: Mapping[str, VMFacts] = field(default_factory=dict)
    paths: Mapping[str, bool] = field(default_factory=dict)
    images: Mapping[str, tuple[ImageEdition, ...]] = field(default_factory=dict)
    tasks: tuple[TaskFacts, ...] = ()
    cmdlets: Mapping[str, frozenset[str]] = field(default_factory=dict)
    observed: bool = True
    moves: tuple[MoveRecord, ...] = ()  # the move records on this host (orchestrator.move_records)

    @classmethod
    def empty(cls, version: str | None = None) -> HostFacts:
        """A host taken as empty, for rendering without contacting it (`orchestrate render`)."""
        return cls(os_version=normalize_version(version), os_sku=None, observed=False)

    @property
    def version(self) -> str:
        """The Windows version family the signatures data knows: 6.2, 6.3 or 10.0."""
        return normalize_version(self.os_version)

    def vm(self, name: str) -> VMFacts | None:
        return self.vms.get(name)

    def move_of(self, name: str) -> MoveRecord | None:
        """The move record of the VM of this name on this host (by its id while it is here, else by name),
        if a move of it began or ended here."""
        observed = self.vms.get(name)
        vm_id = observed.id.lower() if observed is not None else None
        return next(
            (r for r in self.moves if (vm_id and r.vm_id.lower() == vm_id) or r.vm.lower() == name.lower()), None
        )

    def path_exists(self, path: str) -> bool | None:
        return self.paths.get(path)

    def image_skus(self, path: str) -> tuple[int, ...] | None:
        """The edition SKUs inside an image, or None when the host could not read it."""
        editions = self.images.get(path)
        if editions is None:
            return None
        return tuple(e.sku for e in editions if e.sku is not None)


def parse_facts_json(text: str) -> HostFacts:
    """Parse a facts script's stdout (progress lines before the document are ignored)."""
    return parse_facts(load_document(text))


def load_document(text: str) -> dict[str, Any]:
    """The one JSON document a script prints: its last non-progress line(s), as an object."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("##progress "))
    body = body.strip().lstrip("\ufeff")
    if not body:
        raise FactsError("the script printed nothing; expected one JSON document")
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        # Anything printed before the document (a stray Write-Output) is tolerated; the document is last.
        start = body.rfind("\n{")
        try:
            document = json.loads(body[start + 1 :]) if start >= 0 else None
        except json.JSONDecodeError:
            document = None
        if document is None:
            raise FactsError(f"the script's output is not JSON: {body[:200]!r}") from None
    if not isinstance(document, dict):
        raise FactsError("the script's JSON document is not an object")
    return document


def parse_facts(doc: Mapping[str, Any]) -> HostFacts:
    try:
        host = doc["host"]
        return HostFacts(
            os_version=str(host.get("os_version") or ""),
            os_sku=_int_or_none(host.get("os_sku")),
            caption=str(host.get("caption") or ""),
            computer_name=str(host.get("computer_name") or ""),
            hyperv_installed=bool(host.get("hyperv_installed")),
            hyperv_module=bool(host.get("hyperv_module", host.get("hyperv_installed"))),
            logical_processors=int(host.get("logical_processors") or 0),
            memory_total=int(host.get("memory_total") or 0),
            memory_free=int(host.get("memory_free") or 0),
            switches=tuple(str(s) for s in _list(doc.get("switches"))),
            vms=_vms(doc),
            paths={str(k): bool(v) for k, v in (doc.get("paths") or {}).items()},
            images={
                str(path): tuple(
                    ImageEdition(
                        int(e.get("index") or 0), str(e.get("name") or ""), str(e.get("edition_id") or "")
                    )
                    for e in _list(editions)
                )
                for path, editions in (doc.get("images") or {}).items()
            },
            tasks=tuple(
                TaskFacts(
                    name=str(t["name"]),
                    path=str(t.get("path") or "\\"),
                    state=str(t.get("state") or ""),
                    description=str(t.get("description") or ""),
                    next_run=t.get("next_run"),
                    last_run=t.get("last_run"),
                    last_result=_int_or_none(t.get("last_result")),
                )
                for t in _list(doc.get("tasks"))
            ),
            cmdlets={
                str(k): frozenset(str(p) for p in _list(v)) for k, v in (doc.get("cmdlets") or {}).items()
            },
            moves=tuple(_move(m) for m in _list(doc.get("moves"))),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FactsError(f"the facts document has an unexpected shape ({type(exc).__name__}: {exc})") from exc


def _move(raw: Mapping[str, Any]) -> MoveRecord:
    """A record file the facts script read. One we cannot read still stands for a move of the VM with the id
    its file is named after (fails safe: that VM is left alone rather than the file ignored)."""
    record = parse_record(str(raw.get("text") or ""))
    if record is not None:
        return record
    vm_id = str(raw.get("file") or "").rsplit("\\", 1)[-1].removesuffix(".json")
    return MoveRecord("", vm_id, "", "", "", "moving", "Off", "unknown", "unknown", "unknown")


def _vms(doc: Mapping[str, Any]) -> dict[str, VMFacts]:
    kvp_by_id = {
        str(k.get("vm_id", "")).lower(): parse_kvp_items(_list(k.get("items"))) for k in _list(doc.get("kvp"))
    }
    vms: dict[str, VMFacts] = {}
    for raw in _list(doc.get("vms")):
        vm_id = str(raw.get("id") or "")
        vms[str(raw["name"])] = VMFacts(
            name=str(raw["name"]),
            id=vm_id,
            state=str(raw.get("state") or ""),
            generation=int(raw.get("generation") or 1),
            cpus=int(raw.get("cpus") or 0),
            memory_startup=int(raw.get("memory_startup") or 0),
            dynamic_memory=bool(raw.get("dynamic_memory")),
            memory_minimum=int(raw.get("memory_minimum") or 0),
            memory_maximum=int(raw.get("memory_maximum") or 0),
            notes=str(raw.get("notes") or ""),
            path=raw.get("path"),
            parent_checkpoint=raw.get("parent_checkpoint") or None,
            disks=tuple(DiskFacts(str(d["path"]), d.get("parent") or None) for d in _list(raw.get("disks"))),
            adapters=tuple(
                AdapterFacts(str(a.get("name") or ""), a.get("switch") or None)
                for a in _list(raw.get("adapters"))
            ),
            checkpoints=tuple(
                CheckpointFacts(
                    name=str(c["name"]),
                    id=str(c.get("id") or ""),
                    parent=c.get("parent") or None,
                    created=_datetime(c.get("created")),
                    notes=str(c.get("notes") or ""),
                )
                for c in _list(raw.get("checkpoints"))
            ),
            kvp=kvp_by_id.get(vm_id.lower(), {}),
        )
    return vms


def parse_kvp_items(items: list[Any]) -> dict[str, str]:
    """GuestIntrinsicExchangeItems: each an Msvm_KvpExchangeDataItem instance as CIM-XML; keep Name -> Data."""
    result: dict[str, str] = {}
    for item in items:
        try:
            root = ET.fromstring(str(item))
        except ET.ParseError:
            continue
        props = {p.get("NAME"): (p.findtext("VALUE") or "") for p in root.iter("PROPERTY")}
        if props.get("Name"):
            result[props["Name"]] = props.get("Data", "")
    return result


def _list(value: Any) -> list[Any]:
    """ConvertTo-Json turns a one-element array into the element and an empty one into null: undo that."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # .NET's round-trip format has 7 fractional digits; Python takes at most 6.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# -- our checkpoints' marker line in a VM's Notes (orchestrator/operations/retention.py says why) -------------


def managed_ids(notes: str) -> frozenset[str]:
    """The checkpoint ids on the marker line of a VM's Notes (ids compare case-insensitively, as GUIDs do)."""
    ids: set[str] = set()
    for line in (notes or "").splitlines():
        stripped = line.strip()
        if stripped.lower().startswith(CHECKPOINT_NOTES_PREFIX):
            rest = stripped[len(CHECKPOINT_NOTES_PREFIX) :]
            ids.update(part.strip().lower() for part in rest.split(",") if part.strip())
    return frozenset(ids)


def user_notes(notes: str) -> str:
    """The VM's Notes without our marker line: what the admin wrote."""
    kept = [
        line
        for line in (notes or "").splitlines()
        if not line.strip().lower().startswith(CHECKPOINT_NOTES_PREFIX)
    ]
    return "\n".join(kept)
