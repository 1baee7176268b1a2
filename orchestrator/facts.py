"""What a host reports about itself: the facts document printed by templates/facts.ps1.j2, typed.

The facts script is the only read a run makes of a host (one command); the apply script ends by printing
the same document, so a run can verify its changes without a second round trip. Parsing is strict about
shape: a document that is not what the template prints is a `FactsError`, never a silently empty host.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from orchestrator.actions import CHECKPOINT_NOTES_PREFIX, GUEST_NOTES_PREFIX
from orchestrator.move_records import MoveRecord, parse_record
from orchestrator.signatures import normalize_version
from orchestrator.vm_index import VMIndex, alike_key

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
    # The create's marker file is beside it (actions/create_vm.ps1.j2): a run of ours made this disk and was
    # stopped before the VM's setup took it over.
    marked: bool = False


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
    # GuestExchangeItems: what the guest itself wrote under HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest
    # (the facts script reads our ready value only).
    guest_items: Mapping[str, str] = field(default_factory=dict)

    @property
    def guest_state(self) -> str | None:
        """Our guest line in the VM's Notes: "writing" (a run began writing the answer file into the disk and
        was stopped before it finished), "setup" (the answer file was written; the guest is not known to be
        ready), "ready" (it reported ready as MultiPoint Premium), or None (no guest set up by us)."""
        line = guest_line(self.notes)
        return None if line is None else line[1]

    @property
    def cut_off_in_create(self) -> bool:
        """Made by a run of ours that was stopped after New-VM and before the VM's guest line was written: its
        system disk still has the create's marker (a guest VM's marker goes only once the line is there)."""
        return bool(self.disks) and self.disks[0].marked and self.guest_state is None

    @property
    def guest_in_setup(self) -> bool:
        """Nothing may turn this VM off: its Windows setup runs (or may run) and would not survive it."""
        return self.guest_state in ("setup", "writing")

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
        """The first checkpoint of this name, case aside: the scripts find checkpoints with PowerShell's `-eq`,
        which ignores case (about_Comparison_Operators), so `clean` here is the `Clean` they would restore."""
        wanted = name.lower()
        return next((c for c in self.checkpoints if c.name.lower() == wanted), None)

    def checkpoints_alike(self, name: str) -> tuple[CheckpointFacts, ...]:
        """The checkpoints whose names are not `name` here (case aside) but may be on a real host, where the
        scripts' `-eq` is a linguistic comparison (`Prüfung` composed or decomposed, `ß` or `ss`: vm_index.py
        alike_key). A script asking for `name` could find one of them there: take it for ours, or restore it."""
        key, lowered = alike_key(name), name.lower()
        return tuple(c for c in self.checkpoints if c.name.lower() != lowered and alike_key(c.name) == key)


@dataclass(frozen=True, slots=True)
class ImageEdition:
    index: int
    name: str
    edition_id: str

    @property
    def sku(self) -> int | None:
        return EDITION_ID_SKU.get(self.edition_id)


@dataclass(frozen=True, slots=True)
class StateFolderFacts:
    """Who owns the host's state folder (orchestrator.host_lock), which account read it, or why it could not."""

    owner: str | None
    account: str | None
    error: str | None = None


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
    # By name as the scripts find VMs (case-insensitive, the first of a name), every VM kept: vm_index.py.
    vms: VMIndex[VMFacts] = field(default_factory=VMIndex)
    paths: Mapping[str, bool] = field(default_factory=dict)
    images: Mapping[str, tuple[ImageEdition, ...]] = field(default_factory=dict)
    tasks: tuple[TaskFacts, ...] = ()
    cmdlets: Mapping[str, frozenset[str]] = field(default_factory=dict)
    observed: bool = True
    moves: tuple[MoveRecord, ...] = ()  # the move records on this host (orchestrator.move_records)
    state_folder: StateFolderFacts | None = None  # None: no state folder yet (or a document from before)

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


# The facts script prints `ConvertTo-Json -Depth 8`, so a true document is never nested deeper than that (plus
# the apply script's `facts` wrapper); anything far deeper is hostile or broken, and is refused by name
# instead of recursing (json.loads raises RecursionError at about 1,000 levels, which is caught too).
MAX_DEPTH = 32


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
    except RecursionError:  # json's C scanner refuses about 1,000 levels with a clean RecursionError
        raise FactsError(f"the script's JSON document is nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(document, dict):
        raise FactsError("the script's JSON document is not an object")
    _refuse_deep(document)
    return document


def _refuse_deep(document: Any) -> None:
    """FactsError if containers nest deeper than MAX_DEPTH: an iterative walk over the parsed containers
    (a few ms for a host of 1,000 VMs, a fifth of json.loads), so nothing downstream (str() of a value, a
    JSON event) can meet a RecursionError either."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if depth > MAX_DEPTH:
            raise FactsError(f"the script's JSON document is nested deeper than {MAX_DEPTH} levels")
        for child in value.values() if type(value) is dict else value:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth + 1))


# Sections the facts template always prints (templates/lib/facts_body.ps1.j2, `$facts`): a document without
# one of them is not a facts document (a host without VMs prints `"vms": []`, never nothing).
# "moves" counts too: a document that says nothing about moves must not read as "no move under way".
SECTIONS = ("host", "cmdlets", "switches", "vms", "kvp", "paths", "images", "tasks", "moves")
# Sections the apply script's closing facts leave out (templates/lib/facts_body.ps1.j2, after_apply): no action
# changes which cmdlets a host has (none installs a role or a module) or what a base image holds (a VM's disk
# is a differencing child of it, which leaves the parent as it is), so they are carried over from the facts read
# before the apply. Everything an action can change is read again.
CARRIED_OVER = ("cmdlets", "images")


def facts_after_apply(before: Mapping[str, Any], printed: Any) -> Any:
    """The facts document after an apply: what the apply script printed, plus the sections it leaves out
    (CARRIED_OVER) from `before`, the document the plan was made from. Only those sections are carried: a
    printed document that lacks any other section is still refused by parse_facts, never filled in from before
    the change (a stale `vms` would let a verify pass on what the host looked like before)."""
    if not isinstance(printed, Mapping):
        return printed
    merged = dict(printed)
    for section in CARRIED_OVER:
        if section not in merged and section in before:
            merged[section] = before[section]
    return merged


def parse_facts(doc: Mapping[str, Any]) -> HostFacts:
    """The typed facts of one document, strictly: a missing section or field, or a value of the wrong JSON
    type ("false" for a boolean, "4" for a count), is a FactsError naming the field (`vms[2].cpus`).

    Only PowerShell's own quirks are undone: ConvertTo-Json prints a one-element array as the element and an
    empty one as null, and a property that is $null on the host as null (Generation on 2012, where VMs
    have no generation, reads as 1). Nothing is coerced: `bool("false")` is True, which is how a wrong type
    used to become a wrong fact.
    """
    if not isinstance(doc, Mapping):
        raise FactsError(f"the facts document is {_kind(doc)}, not an object")
    missing = [section for section in SECTIONS if section not in doc]
    if missing:
        hint = ""
        if set(missing) <= set(CARRIED_OVER):
            # What an apply reply's own facts look like: it leaves these out (facts_after_apply).
            hint = (" (the facts an apply script prints leave out 'cmdlets' and 'images'; save the output of "
                    "the host's facts.ps1 instead)")
        raise FactsError(f"the facts document has no '{missing[0]}' section{hint}")
    host = _obj(doc["host"], "host")
    hyperv_installed = _bool(_need(host, "hyperv_installed", "host"), "host.hyperv_installed")
    return HostFacts(
        os_version=_str(_need(host, "os_version", "host"), "host.os_version"),
        os_sku=_int_or_none(host.get("os_sku"), "host.os_sku"),
        caption=_str_or_empty(host.get("caption"), "host.caption"),
        computer_name=_str_or_empty(host.get("computer_name"), "host.computer_name"),
        hyperv_installed=hyperv_installed,
        # Documents from before hyperv_module existed: the module is there when the role is.
        hyperv_module=_bool(host.get("hyperv_module", hyperv_installed), "host.hyperv_module"),
        logical_processors=_int(_need(host, "logical_processors", "host"), "host.logical_processors"),
        memory_total=_int(_need(host, "memory_total", "host"), "host.memory_total"),
        memory_free=_int(_need(host, "memory_free", "host"), "host.memory_free"),
        switches=tuple(_str(s, f"switches[{i}]") for i, s in enumerate(_list(doc["switches"], "switches"))),
        vms=_vms(doc),
        paths={str(k): _bool(v, f"paths[{k!r}]") for k, v in _map(doc["paths"], "paths").items()},
        images={
            str(path): tuple(
                _image(e, f"images[{path!r}][{i}]")
                for i, e in enumerate(_list(editions, f"images[{path!r}]"))
            )
            for path, editions in _map(doc["images"], "images").items()
        },
        tasks=tuple(_task(t, f"tasks[{i}]") for i, t in enumerate(_list(doc["tasks"], "tasks"))),
        cmdlets={
            str(k): _strings(_list(v, f"cmdlets[{k!r}]"), f"cmdlets[{k!r}]")
            for k, v in _map(doc["cmdlets"], "cmdlets").items()
        },
        moves=tuple(_move(_obj(m, f"moves[{i}]")) for i, m in enumerate(_list(doc["moves"], "moves"))),
        state_folder=_state_folder(doc.get("state_folder")),
    )


def _state_folder(raw: Any) -> StateFolderFacts | None:
    if raw is None:
        return None
    folder = _obj(raw, "state_folder")
    return StateFolderFacts(
        owner=_str_or_empty(folder.get("owner"), "state_folder.owner") or None,
        account=_str_or_empty(folder.get("account"), "state_folder.account") or None,
        error=_str_or_empty(folder.get("error"), "state_folder.error") or None,
    )


def _image(raw: Any, where: str) -> ImageEdition:
    e = _obj(raw, where)
    return ImageEdition(
        _int(_need(e, "index", where), f"{where}.index"),
        _str_or_empty(e.get("name"), f"{where}.name"),
        _str_or_empty(e.get("edition_id"), f"{where}.edition_id"),
    )


def _task(raw: Any, where: str) -> TaskFacts:
    t = _obj(raw, where)
    return TaskFacts(
        name=_str(_need(t, "name", where), f"{where}.name"),
        path=_str_or_none(t.get("path"), f"{where}.path") or "\\",
        state=_str_or_empty(t.get("state"), f"{where}.state"),
        description=_str_or_empty(t.get("description"), f"{where}.description"),
        next_run=_str_or_none(t.get("next_run"), f"{where}.next_run"),
        last_run=_str_or_none(t.get("last_run"), f"{where}.last_run"),
        last_result=_int_or_none(t.get("last_result"), f"{where}.last_result"),
    )


def _move(raw: Mapping[str, Any]) -> MoveRecord:
    """A record file the facts script read. One we cannot read still stands for a move of the VM with the id
    its file is named after (fails safe: that VM is left alone rather than the file ignored)."""
    record = parse_record(str(raw.get("text") or ""))
    if record is not None:
        return record
    vm_id = str(raw.get("file") or "").rsplit("\\", 1)[-1].removesuffix(".json")
    return MoveRecord("", vm_id, "", "", "", "moving", "Off", "unknown", "unknown", "unknown")


def _vms(doc: Mapping[str, Any]) -> VMIndex[VMFacts]:
    kvp_by_id: dict[str, dict[str, str]] = {}
    guest_by_id: dict[str, dict[str, str]] = {}
    for i, raw in enumerate(_list(doc["kvp"], "kvp")):
        k = _obj(raw, f"kvp[{i}]")
        items = [
            _str(item, f"kvp[{i}].items[{j}]")
            for j, item in enumerate(_list(k.get("items"), f"kvp[{i}].items"))
        ]
        guest = [
            _str(item, f"kvp[{i}].guest[{j}]")
            for j, item in enumerate(_list(k.get("guest"), f"kvp[{i}].guest"))
        ]
        vm_key = _str_or_empty(k.get("vm_id"), f"kvp[{i}].vm_id").lower()
        kvp_by_id[vm_key] = parse_kvp_items(items)
        guest_by_id[vm_key] = parse_kvp_items(guest)
    vms: list[VMFacts] = []
    for i, item in enumerate(_list(doc["vms"], "vms")):
        where = f"vms[{i}]"
        raw = _obj(item, where)
        name = _str(_need(raw, "name", where), f"{where}.name")
        where = f"vms[{i}] ({name!r})"
        vm_id = _str_or_empty(raw.get("id"), f"{where}.id")
        generation = _int_or_none(raw.get("generation"), f"{where}.generation")
        vms.append(VMFacts(
            name=name,
            id=vm_id,
            state=_str(_need(raw, "state", where), f"{where}.state"),
            generation=1 if generation is None else generation,
            cpus=_int(_need(raw, "cpus", where), f"{where}.cpus"),
            memory_startup=_int(_need(raw, "memory_startup", where), f"{where}.memory_startup"),
            dynamic_memory=_bool(_need(raw, "dynamic_memory", where), f"{where}.dynamic_memory"),
            memory_minimum=_int(_need(raw, "memory_minimum", where), f"{where}.memory_minimum"),
            memory_maximum=_int(_need(raw, "memory_maximum", where), f"{where}.memory_maximum"),
            notes=_str_or_empty(raw.get("notes"), f"{where}.notes"),
            path=_str_or_none(raw.get("path"), f"{where}.path"),
            parent_checkpoint=_str_or_none(raw.get("parent_checkpoint"), f"{where}.parent_checkpoint")
            or None,
            disks=tuple(
                _disk(d, f"{where}.disks[{j}]")
                for j, d in enumerate(_list(raw.get("disks"), f"{where}.disks"))
            ),
            adapters=tuple(
                _adapter(a, f"{where}.adapters[{j}]")
                for j, a in enumerate(_list(raw.get("adapters"), f"{where}.adapters"))
            ),
            checkpoints=tuple(
                _checkpoint(c, f"{where}.checkpoints[{j}]")
                for j, c in enumerate(_list(raw.get("checkpoints"), f"{where}.checkpoints"))
            ),
            kvp=kvp_by_id.get(vm_id.lower(), {}),
            guest_items=guest_by_id.get(vm_id.lower(), {}),
        ))
    return VMIndex(vms)


def _disk(raw: Any, where: str) -> DiskFacts:
    d = _obj(raw, where)
    # A drive with no file (an empty or pass-through drive) has a null Path: kept as "", never "None".
    return DiskFacts(
        _str_or_empty(_need(d, "path", where), f"{where}.path"),
        _str_or_none(d.get("parent"), f"{where}.parent") or None,
        d.get("marked") is True,
    )


def _adapter(raw: Any, where: str) -> AdapterFacts:
    a = _obj(raw, where)
    return AdapterFacts(
        _str_or_empty(a.get("name"), f"{where}.name"),
        _str_or_none(a.get("switch"), f"{where}.switch") or None,
    )


def _checkpoint(raw: Any, where: str) -> CheckpointFacts:
    c = _obj(raw, where)
    return CheckpointFacts(
        name=_str(_need(c, "name", where), f"{where}.name"),
        id=_str_or_empty(c.get("id"), f"{where}.id"),
        parent=_str_or_none(c.get("parent"), f"{where}.parent") or None,
        created=_datetime(c.get("created"), f"{where}.created"),
        notes=_str_or_empty(c.get("notes"), f"{where}.notes"),
    )


def parse_kvp_items(items: list[Any]) -> dict[str, str]:
    """GuestIntrinsicExchangeItems: each an Msvm_KvpExchangeDataItem instance as CIM-XML; keep Name -> Data."""
    result: dict[str, str] = {}
    for item in items:
        pair = _kvp_item(str(item))
        if pair is not None:
            result[pair[0]] = pair[1]
    return result


@lru_cache(maxsize=4096)
def _kvp_item(text: str) -> tuple[str, str] | None:
    """One item's (Name, Data), or None for an item that does not parse or has no Name. A pure function of
    the text, remembered: every guest of one image reports the same OS items, and each run reads a host's
    items twice (the facts, then the apply script's new facts), so most parses were repeats."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    props = {p.get("NAME"): (p.findtext("VALUE") or "") for p in root.iter("PROPERTY")}
    name = props.get("Name")
    return (name, props.get("Data", "")) if name else None


def _kind(value: Any) -> str:
    """A JSON value's type for a message (never the value itself: it may be huge or hostile)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _wrong(where: str, expected: str, value: Any) -> FactsError:
    return FactsError(f"facts field {where} must be {expected}, not {_kind(value)}")


def _need(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise FactsError(f"facts field {where}.{key} is missing")
    return obj[key]


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong(where, "an object", value)
    return value


def _map(value: Any, where: str) -> Mapping[str, Any]:
    """A JSON object section (an [ordered]@{} on the host)."""
    return _obj(value, where)


def _list(value: Any, where: str) -> list[Any]:
    """ConvertTo-Json turns a one-element array into the element and an empty one into null: undo that."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _wrong(where, "a string", value)
    return value


def _strings(values: list[Any], where: str) -> frozenset[str]:
    """The strings of a list as a set, the first that is not one a FactsError naming its index. (The
    cmdlets section holds hundreds per host: the index is only spelled out when it is needed.)"""
    for index, value in enumerate(values):
        if not isinstance(value, str):
            _str(value, f"{where}[{index}]")
    return frozenset(values)


def _str_or_none(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _str_or_empty(value: Any, where: str) -> str:
    return "" if value is None else _str(value, where)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(where, "true or false", value)
    return value


def _int(value: Any, where: str) -> int:
    """A JSON integer (a whole float such as 6.8719476736E10 too: PowerShell prints large doubles so)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(where, "a number", value)
    if isinstance(value, float):
        if not value.is_integer():
            raise FactsError(f"facts field {where} must be a whole number, not {value!r}")
        return int(value)
    return value


def _int_or_none(value: Any, where: str) -> int | None:
    return None if value is None else _int(value, where)


def _datetime(value: Any, where: str) -> datetime | None:
    """A .NET round-trip ('o') timestamp, as ConvertTo-OrchestrateDate prints it, or null."""
    if value is None:
        return None
    text = _str(value, where)
    if not text:
        return None
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
        raise FactsError(f"facts field {where} is not a timestamp: {str(value)[:40]!r}") from None


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
        if not line.strip().lower().startswith((CHECKPOINT_NOTES_PREFIX, GUEST_NOTES_PREFIX))
    ]
    return "\n".join(kept)


# The one rule for our guest line, which templates/lib/guest_notes.ps1.j2 read() follows step by step, so the
# plan (here) and the host's scripts always read the same token and state (audit K, L5): Notes split at "\n"
# once "\r" is gone; a line trimmed of spaces and tabs is ours when its first len(prefix) characters, lower-
# cased, are the prefix; its rest, trimmed likewise, split at runs of spaces and tabs, gives the token, then
# the state. Only ASCII space and tab count as blanks, and the state must be spelled exactly, because these
# are the steps whose .NET and Python forms agree on any text (String.Trim() and \s, or case-insensitive
# comparison, differ between .NET's and Python's Unicode tables; lower-casing does not here: in neither does
# any character but A-Z lower-case to a letter of the prefix, which holds no i and no k).
GUEST_STATES = ("writing", "setup", "ready")
_BLANKS = " \t"
_BLANK_RUN = re.compile("[ \t]+")


def guest_lines(notes: str) -> list[str]:
    """Our guest lines in a VM's Notes, each trimmed of spaces and tabs (more than one: edited by hand)."""
    found = []
    for line in (notes or "").replace("\r", "").split("\n"):
        trimmed = line.strip(_BLANKS)
        if trimmed[: len(GUEST_NOTES_PREFIX)].lower() == GUEST_NOTES_PREFIX:
            found.append(trimmed)
    return found


def guest_fields(notes: str) -> tuple[str, ...] | None:
    """The fields after the prefix on our guest line (token, state, computer name), None without a line, and
    () when the Notes hold more than one: no token can be trusted then (the wait refuses such a VM)."""
    found = guest_lines(notes)
    if not found:
        return None
    if len(found) > 1:
        return ()
    return tuple(_BLANK_RUN.split(found[0][len(GUEST_NOTES_PREFIX) :].strip(_BLANKS)))


def guest_line(notes: str) -> tuple[str, str] | None:
    """(token, state) from our guest line in a VM's Notes (templates/lib/guest_notes.ps1.j2), or None. A line
    without a state, or with one we do not know, reads as "setup", and so do Notes with more than one guest
    line (with no token): fails safe (the VM is not turned off, no second answer file is written)."""
    fields = guest_fields(notes)
    if fields is None:
        return None
    token = fields[0] if fields else ""
    state = fields[1] if len(fields) > 1 and fields[1] in GUEST_STATES else "setup"
    return token, state
