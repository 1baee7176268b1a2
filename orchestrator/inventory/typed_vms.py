"""`multipoint_vms`, `multipoint_vm_defaults`, `multipoint_classrooms`, `multipoint_schedules` -> typed specs.

Shapes and types are checked here (an unknown key, text where a number belongs); value rules (ranges,
choices, the MultiPoint limits) live in orchestrator.rules, over the typed model. A VM without explicit
`cpus`/`memory` gets the sizing floor for its seats; an explicit value is kept as written, even when low.
Defaults combine like Ansible variables: a key set on the VM replaces the default's whole value (a VM's
`guest` replaces the defaults' `guest` whole, as Ansible's default hash_behaviour does). The `guest` key is
read by typed_guest.py.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from orchestrator.inventory.credentials import Credentials
from orchestrator.inventory.fields import BAD, Reader, origin_in, suggestion
from orchestrator.inventory.lookup import describe
from orchestrator.inventory.typed_guest import GuestReader
from orchestrator.inventory.yaml_source import Origin
from orchestrator.model import (
    MAX_SEATS_PER_VM,
    STATION_TYPES,
    WEEKDAYS,
    CheckpointPolicy,
    DiskSpec,
    DynamicMemory,
    Location,
    Schedule,
    Stations,
    VMSpec,
)
from orchestrator.rules.names import name_problem
from orchestrator.rules.sizing import floor_for

VM_KEYS = (
    "name",
    "edition",
    "generation",
    "cpus",
    "memory",
    "dynamic_memory",
    "disk",
    "switch",
    "stations",
    "state",
    "path",
    "checkpoints",
    "guest",
)
DEFAULT_KEYS = tuple(k for k in VM_KEYS if k != "name")
CLASSROOM_KEYS = ("name", "seats", "station_type", "vm")
CLASSROOM_VM_KEYS = tuple(k for k in VM_KEYS if k not in ("name", "stations"))
SCHEDULE_KEYS = ("name", "action", "checkpoint", "at", "days", "vms")
DISK_KEYS = ("parent", "copy_from", "size", "iso")
DYNAMIC_MEMORY_KEYS = ("min", "max")
CHECKPOINT_KEYS = ("baseline", "keep", "pre_rollback")

Fields = dict[str, tuple[Any, Origin]]


def _fields(mapping: Any, origin: Origin) -> Fields:
    if not isinstance(mapping, dict):
        return {}
    return {str(k): (v, origin_in(mapping, k, origin)) for k, v in mapping.items()}


class VMBuilder:
    """Builds one host's VMs and schedules; every problem becomes a finding on the shared Reader."""

    def __init__(self, reader: Reader, host: str, credentials: Credentials | None = None) -> None:
        self.r = reader
        self.host = host
        self.guests = GuestReader(reader, credentials)

    # -- the variables -----------------------------------------------------------------------------------

    def vms(self, variables: dict[str, Any], origins: dict[str, Origin]) -> list[VMSpec]:
        """The VMs that type-check; each problem of the others is a finding on the Reader."""
        defaults: Fields = {}
        if variables.get("multipoint_vm_defaults") is not None:
            origin = origins["multipoint_vm_defaults"]
            mapping = self.r.mapping(
                variables["multipoint_vm_defaults"], origin, "multipoint_vm_defaults", DEFAULT_KEYS
            )
            defaults = _fields(mapping, origin)
        specs: list[VMSpec] = []
        if variables.get("multipoint_vms") is not None:
            origin = origins["multipoint_vms"]
            items = self.r.sequence(variables["multipoint_vms"], origin, "multipoint_vms")
            for index, item in enumerate(items or []):
                item_origin = origin_in(items, index, origin)
                mapping = self.r.mapping(
                    item,
                    item_origin,
                    "a VM of multipoint_vms",
                    VM_KEYS,
                    hint="write each VM as a mapping with name, cpus, memory, disk, ...",
                )
                if mapping is BAD:
                    continue
                vm = self.vm({**defaults, **_fields(mapping, item_origin)}, item_origin, classroom=None)
                if vm is not BAD:
                    specs.append(vm)
        if variables.get("multipoint_classrooms") is not None:
            origin = origins["multipoint_classrooms"]
            items = self.r.sequence(variables["multipoint_classrooms"], origin, "multipoint_classrooms")
            seen: dict[str, Origin] = {}
            for index, item in enumerate(items or []):
                item_origin = origin_in(items, index, origin)
                made = self.classroom(item, item_origin, defaults)
                if made is BAD or not made:
                    continue
                key = str(made[0].classroom).lower()
                if key in seen:
                    self.r.error(
                        origin_in(item, "name", item_origin),
                        f"host {self.host}: two classrooms are named "
                        f"{describe(made[0].classroom)} (first at line {seen[key].line})",
                        "give every classroom on a host its own name",
                    )
                    continue
                seen[key] = item_origin
                specs.extend(made)
        return specs

    def schedules(self, value: Any, origin: Origin) -> list[Schedule]:
        """The schedules that type-check; each problem of the others is a finding on the Reader."""
        items = self.r.sequence(value, origin, "multipoint_schedules")
        if items is BAD:
            return []
        result: list[Schedule] = []
        for index, item in enumerate(items):
            schedule = self.schedule(item, origin_in(items, index, origin))
            if schedule is not BAD:
                result.append(schedule)
        return result

    # -- one VM ------------------------------------------------------------------------------------------

    def vm(self, fields: Fields, origin: Origin, classroom: str | None, seats: Stations | None = None) -> Any:
        r = self.r
        ok = True
        values: dict[str, Any] = {}
        locations: dict[str, Location] = {key: where.location for key, (_, where) in fields.items()}

        def read(key: str, reader: Any, what: str, default: Any = None) -> Any:
            nonlocal ok
            if key not in fields or fields[key][0] is None:
                return default
            value = reader(fields[key][0], fields[key][1], what)
            if value is BAD:
                ok = False
            return value

        if "name" not in fields or fields["name"][0] is None:
            return r.error(origin, "a VM needs a name", "add name: <vm name>")
        name = read("name", lambda v, o, w: r.text(v, o, w, allow_int=True), "the VM name")
        label = f"VM {name!r}" if isinstance(name, str) and not getattr(name, "from_env", False) else "the VM"
        values["edition"] = read("edition", r.text, f"edition of {label}", "premium")
        values["generation"] = read("generation", r.integer, f"generation of {label}", 2)
        values["state"] = read("state", self.state, f"state of {label}", "running")
        values["switch"] = read("switch", r.text, f"switch of {label}")
        values["path"] = read("path", r.text, f"path of {label}")
        stations = (
            seats
            if seats is not None
            else read("stations", self.stations, f"stations of {label}", Stations())
        )
        if seats is not None and "stations" in fields:
            locations.pop("stations", None)
        floor = floor_for(stations.total if isinstance(stations, Stations) else 0)
        values["cpus"] = read("cpus", r.integer, f"cpus of {label}", floor.cpus)
        values["memory"] = read("memory", r.size, f"memory of {label}", floor.memory)
        values["dynamic_memory"] = read("dynamic_memory", self.dynamic_memory, f"dynamic_memory of {label}")
        values["disk"] = read("disk", self.disk, f"disk of {label}")
        disk = values["disk"]
        if isinstance(disk, DiskSpec) and disk.kind in ("parent", "copy_from"):
            # The image's own line, for the rule that refuses an image that is not a .vhdx (rules/vms.py).
            written, where = fields["disk"]
            locations[f"disk.{disk.kind}"] = origin_in(written, disk.kind, where).location
        values["checkpoints"] = read(
            "checkpoints", self.checkpoints, f"checkpoints of {label}", CheckpointPolicy()
        )
        values["guest"] = read("guest", self.guests.guest, f"guest of {label}")
        if not ok or name is BAD:
            return BAD
        return VMSpec(
            name=name,
            stations=stations,
            classroom=classroom,
            location=origin.location,
            locations=locations,
            **values,
        )

    def state(self, value: Any, origin: Origin, what: str) -> Any:
        """YAML 1.1 reads an unquoted `off` as false; that can only mean the state off."""
        if value is False:
            return "off"
        return self.r.text(value, origin, what)

    def stations(self, value: Any, origin: Origin, what: str) -> Any:
        mapping = self.r.mapping(value, origin, what, STATION_TYPES)
        if mapping is BAD:
            return BAD
        counts: dict[str, int] = {}
        ok = True
        for key, count in mapping.items():
            if key not in STATION_TYPES:
                ok = False
                continue
            number = self.r.integer(count, origin_in(mapping, key, origin), f"{what}: {key}")
            if number is BAD:
                ok = False
            else:
                counts[key] = number
        return Stations(**counts) if ok else BAD

    def dynamic_memory(self, value: Any, origin: Origin, what: str) -> Any:
        mapping = self.r.mapping(value, origin, what, DYNAMIC_MEMORY_KEYS, hint="write {min: 2GB, max: 8GB}")
        if mapping is BAD:
            return BAD
        bounds = {}
        for key in DYNAMIC_MEMORY_KEYS:
            if key not in mapping:
                return self.r.error(origin, f"{what} needs both min and max", "write {min: 2GB, max: 8GB}")
            bounds[key] = self.r.size(mapping[key], origin_in(mapping, key, origin), f"{what}: {key}")
        if BAD in bounds.values() or any(k not in DYNAMIC_MEMORY_KEYS for k in mapping):
            return BAD
        return DynamicMemory(minimum=bounds["min"], maximum=bounds["max"])

    def disk(self, value: Any, origin: Origin, what: str) -> Any:
        mapping = self.r.mapping(
            value,
            origin,
            what,
            DISK_KEYS,
            hint="write {parent: D:\\images\\base.vhdx}, {copy_from: ...} or {size: 60GB, iso: ...}",
        )
        if mapping is BAD:
            return BAD
        given = [k for k in DISK_KEYS if mapping.get(k) is not None]
        ways = [k for k in ("parent", "copy_from") if k in given] + (
            ["size/iso"] if {"size", "iso"} & set(given) else []
        )
        fix = "keep exactly one of: parent, copy_from, or size plus iso"
        if len(ways) != 1:
            return self.r.error(
                origin,
                f"{what} must use exactly one of parent, copy_from, or size plus iso "
                f"(found {', '.join(given) or 'none'})",
                fix,
            )
        if any(k not in DISK_KEYS for k in mapping):
            return BAD

        def at(key: str) -> Origin:
            return origin_in(mapping, key, origin)

        if ways[0] in ("parent", "copy_from"):
            source = self.r.text(mapping[ways[0]], at(ways[0]), f"{what}: {ways[0]}")
            return BAD if source is BAD else DiskSpec(kind=ways[0], source=source)  # type: ignore[arg-type]
        if "size" not in given or "iso" not in given:
            missing = "iso" if "size" in given else "size"
            return self.r.error(
                origin,
                f"{what}: a new disk needs both size and iso ({missing} is missing)",
                f"add {missing}, or use parent/copy_from",
            )
        size = self.r.size(mapping["size"], at("size"), f"{what}: size")
        iso = self.r.text(mapping["iso"], at("iso"), f"{what}: iso")
        return BAD if BAD in (size, iso) else DiskSpec(kind="new", size=size, iso=iso)

    def checkpoints(self, value: Any, origin: Origin, what: str) -> Any:
        mapping = self.r.mapping(
            value, origin, what, CHECKPOINT_KEYS, hint="write {baseline: clean, keep: 3}"
        )
        if mapping is BAD:
            return BAD
        ok = not any(k not in CHECKPOINT_KEYS for k in mapping)
        values: dict[str, Any] = {}
        readers = {"baseline": self.r.text, "keep": self.r.integer, "pre_rollback": self.r.boolean}
        for key, reader in readers.items():
            if mapping.get(key) is not None:
                values[key] = reader(mapping[key], origin_in(mapping, key, origin), f"{what}: {key}")
                ok = ok and values[key] is not BAD
        return CheckpointPolicy(**values) if ok else BAD

    # -- classrooms --------------------------------------------------------------------------------------

    def classroom(self, item: Any, origin: Origin, defaults: Fields) -> Any:
        r = self.r
        mapping = r.mapping(
            item,
            origin,
            "a classroom of multipoint_classrooms",
            CLASSROOM_KEYS,
            hint="write {name: lab, seats: 45}",
        )
        if mapping is BAD:
            return BAD
        ok = not any(k not in CLASSROOM_KEYS for k in mapping)
        for key in ("name", "seats"):
            if mapping.get(key) is None:
                r.error(origin, f"a classroom needs {key}", f"add {key}: ...")
                ok = False
        if not ok:
            return BAD
        at = lambda key: origin_in(mapping, key, origin)  # noqa: E731
        name = r.text(mapping["name"], at("name"), "the classroom name", allow_int=True)
        seats = r.integer(mapping["seats"], at("seats"), "seats of the classroom")
        station_type = "rdp"
        if mapping.get("station_type") is not None:
            station_type = r.text(
                mapping["station_type"], at("station_type"), "station_type of the classroom"
            )
        vm_fields: Fields = {}
        if mapping.get("vm") is not None:
            vm_map = r.mapping(
                mapping["vm"],
                at("vm"),
                "the vm of a classroom",
                CLASSROOM_VM_KEYS,
                hint="write the VM keys (cpus, memory, disk, ...) every VM of the classroom gets",
            )
            if vm_map is BAD or any(k not in CLASSROOM_VM_KEYS for k in vm_map):
                return BAD
            vm_fields = _fields(vm_map, at("vm"))
        if BAD in (name, seats, station_type):
            return BAD
        problem = name_problem(name)
        if problem:
            return r.error(at("name"), f"classroom name {describe(name)} {problem}", "rename the classroom")
        if seats < 1:
            return r.error(
                at("seats"),
                f"seats of classroom {describe(name)} must be at least 1, not {describe(seats)}",
                "give the number of seats",
            )
        if station_type not in STATION_TYPES:
            return r.error(
                at("station_type"),
                f"station_type {describe(station_type)} is not one of: {', '.join(STATION_TYPES)}",
                suggestion(station_type, STATION_TYPES) or "use rdp",
            )
        count = math.ceil(seats / MAX_SEATS_PER_VM)
        base, extra = divmod(seats, count)
        specs: list[VMSpec] = []
        seats_origin = at("seats")
        for index in range(count):
            per_vm = base + (1 if index < extra else 0)
            fields: Fields = {**defaults, **vm_fields}
            fields["name"] = (f"{name}-{index + 1:02d}", at("name"))
            fields.pop("stations", None)
            vm = self.vm(fields, origin, classroom=name, seats=Stations(**{station_type: per_vm}))
            if vm is BAD:
                return BAD
            locations = dict(vm.locations)
            locations["stations"] = seats_origin.location
            specs.append(_replace_locations(vm, locations))
        return specs

    # -- schedules ---------------------------------------------------------------------------------------

    def schedule(self, item: Any, origin: Origin) -> Any:
        r = self.r
        mapping = r.mapping(
            item,
            origin,
            "a schedule of multipoint_schedules",
            SCHEDULE_KEYS,
            hint="write {name: nightly, checkpoint: clean, at: '02:00'}",
        )
        if mapping is BAD:
            return BAD
        ok = not any(k not in SCHEDULE_KEYS for k in mapping)
        for key in ("name", "checkpoint", "at"):
            if mapping.get(key) is None:
                r.error(origin, f"a schedule needs {key}", f"add {key}: ...")
                ok = False
        if not ok:
            return BAD
        at = lambda key: origin_in(mapping, key, origin)  # noqa: E731
        values: dict[str, Any] = {
            "name": r.text(mapping["name"], at("name"), "the schedule name", allow_int=True),
            "checkpoint": r.text(
                mapping["checkpoint"], at("checkpoint"), "the schedule's checkpoint", allow_int=True
            ),
        }
        when = mapping["at"]
        if isinstance(when, int) and not isinstance(when, bool):
            values["at"] = r.error(
                at("at"),
                "at must be a time like '02:30' in quotes (YAML read it as a number)",
                "quote the time: at: '22:30'",
            )
        else:
            values["at"] = r.text(when, at("at"), "the schedule's at")
        if mapping.get("action") is not None:
            values["action"] = r.text(mapping["action"], at("action"), "the schedule's action")
        if mapping.get("vms") is not None:
            values["vms"] = r.text(mapping["vms"], at("vms"), "the schedule's vms", allow_int=True)
        if mapping.get("days") is not None:
            days = mapping["days"]
            if isinstance(days, str):
                values["days"] = (r.text(days, at("days"), "days"),)
            else:
                items = r.sequence(days, at("days"), "the schedule's days")
                values["days"] = (
                    BAD
                    if items is BAD
                    else tuple(
                        r.text(day, origin_in(items, i, at("days")), "a day") for i, day in enumerate(items)
                    )
                )
                if values["days"] is not BAD and BAD in values["days"]:
                    values["days"] = BAD
        if BAD in values.values():
            return BAD
        values.setdefault("days", WEEKDAYS)
        locations = {key: where.location for key, (_, where) in _fields(mapping, origin).items()}
        return Schedule(location=origin.location, locations=locations, **values)


def _replace_locations(vm: VMSpec, locations: dict[str, Location]) -> VMSpec:
    return replace(vm, locations=locations)
