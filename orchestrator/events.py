"""What a run reports while it goes: plain records the runner emits and report.py prints.

The runner never prints; it emits these to one callback. The text reporter turns them into live progress
and a recap table, the JSON reporter into JSON lines (one object per event, with an "event" key), so both
outputs come from the same facts. Nothing in an event is a secret: passwords never reach the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    name: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        """`{"event": name, **dataclasses.asdict(self)}`, without asdict's generic walk for the plain values
        events hold (text, numbers, lists and maps of them): a JSON run asks this of every event, and asdict
        cost more than writing the line (issue 18's fleet profile). Anything else goes through asdict's own
        rules (`_plain`)."""
        data: dict[str, Any] = {"event": self.name}
        for name in _field_names(type(self)):
            data[name] = _plain(getattr(self, name))
        return data


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


def _plain(value: Any) -> Any:
    """What asdict makes of a field's value: exact lists, tuples and dicts copied item by item, scalars as
    they are; a dataclass, a subclass of those containers or any other object by asdict itself (a dataclass
    becomes its dict, other objects a deep copy), via a one-field wrapper."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {_plain(key): _plain(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(_plain(item) for item in value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return asdict(_Wrapped(value))["value"]


@dataclass(frozen=True, slots=True)
class _Wrapped:
    value: Any


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    name: ClassVar[str] = "run_start"
    run_id: int | None
    command: str
    hosts: list[str]
    dry_run: bool


@dataclass(frozen=True, slots=True)
class StepStarted(Event):
    """One run of a command made of several (a move: check, export, import, finish, undo), inside the one
    run_start ... recap of the command, so a reader of the stream sees one run per command."""

    name: ClassVar[str] = "step"
    run_id: int | None
    command: str
    hosts: list[str]


@dataclass(frozen=True, slots=True)
class HostStarted(Event):
    name: ClassVar[str] = "host_start"
    host: str


@dataclass(frozen=True, slots=True)
class HostFactsGathered(Event):
    name: ClassVar[str] = "facts"
    host: str
    os: str
    version: str
    os_sku: int | None
    vms: int


@dataclass(frozen=True, slots=True)
class HostWarning(Event):
    name: ClassVar[str] = "warning"
    host: str
    message: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class PlannedAction(Event):
    name: ClassVar[str] = "planned"
    host: str
    index: int
    summary: str
    changes: list[list[Any]]


@dataclass(frozen=True, slots=True)
class HostPlanned(Event):
    name: ClassVar[str] = "plan"
    host: str
    actions: int
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ScriptRendered(Event):
    name: ClassVar[str] = "script"
    host: str
    purpose: str
    sha256: str
    script: str


@dataclass(frozen=True, slots=True)
class PreflightDone(Event):
    name: ClassVar[str] = "preflight"
    host: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ActionDone(Event):
    name: ClassVar[str] = "action"
    host: str
    index: int
    summary: str
    status: str  # changed | ok | failed | skipped
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Progress(Event):
    name: ClassVar[str] = "progress"
    host: str
    vm: str
    operation: str
    percent: int
    detail: str = ""  # what the bar says instead of "<operation> <percent>%" ("specializing, 6 of 45 min")


@dataclass(frozen=True, slots=True)
class HostFinished(Event):
    name: ClassVar[str] = "host_done"
    host: str
    status: str  # ok | changed | failed | skipped | locked
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    error: str | None = None
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class InterruptWait(Event):
    """After Ctrl-C or SIGTERM: the running hosts' remote commands were signalled; the run waits at most
    `seconds_left` more seconds for them to come back before it deletes every shell (runner/run.py)."""

    name: ClassVar[str] = "interrupt_wait"
    seconds_left: int
    hosts: list[str]


@dataclass(frozen=True, slots=True)
class Recap(Event):
    name: ClassVar[str] = "recap"
    changed: int
    failed: int
    hosts: dict[str, dict[str, int]]
    exit_code: int
    dry_run: bool = False
    run_id: int | None = None
    locked: int = 0  # hosts left alone because another run held them: not failed, try again later


Emit = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class GuestReady(Event):
    """A new VM's guest finished its setup: it reported ready through KVP as MultiPoint Premium (issue 15)."""

    name: ClassVar[str] = "guest_ready"
    host: str
    vm: str
    computer_name: str
    edition_sku: int
    seconds: int
