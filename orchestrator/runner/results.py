"""A run's results as types: each host's outcome, and what the host reported for each action it ran.

The apply script reports, per action, `{index, summary, changed, result}`, where `result` is the map a
fragment set in `$actionResult` (templates/lib/actions.ps1.j2). Which shape that map has follows from the
planned action at that index, so it is read here once, by action type, into a typed result: the journal
and the CLI never pick through raw dictionaries of the host's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.actions import Action, ExportVM, ImportVM, RemoveExport, RestoreCheckpoint
from orchestrator.facts import HostFacts
from orchestrator.plan import Plan


@dataclass(frozen=True, slots=True)
class Exported:
    """An ExportVM the host ran (templates/actions/export_vm.ps1.j2): with check_only, what it would do."""

    vm: str
    path: str
    size_bytes: int
    check_only: bool


@dataclass(frozen=True, slots=True)
class ExportPruned:
    """A RemoveExport the host ran: an old export folder of ours is gone (the journal's row `export_id`)."""

    export_id: int
    path: str


@dataclass(frozen=True, slots=True)
class Imported:
    """An ImportVM the host ran (templates/actions/import_vm.ps1.j2): Compare-VM's findings and the VM."""

    name: str
    id: str
    incompatibilities: tuple[Mapping[str, Any], ...]
    fixed: tuple[str, ...]
    check_only: bool


@dataclass(frozen=True, slots=True)
class Restored:
    """A RestoreCheckpoint the host ran (templates/lib/restore_body.ps1.j2): `unverified` names what it could not
    compare with the checkpoint, because the host's VM or VMSnapshot object lacked the property (audit J L5)."""

    vm: str
    checkpoint: str
    unverified: tuple[str, ...]

    def warning(self) -> str | None:
        if not self.unverified:
            return None
        return (
            f"VM {self.vm!r} was restored to {self.checkpoint!r}, but its {', '.join(self.unverified)} could not "
            "be compared with the checkpoint's: this host's Hyper-V objects do not report them (see "
            "docs/real-hosts.md, \"Properties of VM and checkpoint objects\"); check the VM's settings by hand"
        )


ActionResult = Exported | ExportPruned | Imported | Restored


@dataclass(slots=True)
class HostOutcome:
    """How one host ended: counts per action status, the error and its fix, the last facts, the plan, and
    the typed results of the actions that report one (in plan order)."""

    host: str
    status: str = "ok"
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    error: str | None = None
    fix: str | None = None
    facts: HostFacts | None = None
    plan: Plan | None = None
    results: list[ActionResult] = field(default_factory=list)

    def fail(self, error: str, fix: str | None = None) -> HostOutcome:
        self.status, self.error, self.fix = "failed", error, fix
        return self

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [r for r in self.results if isinstance(r, kind)]


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: int | None
    outcomes: dict[str, HostOutcome]
    exit_code: int


def typed_results(plan: Sequence[Action], reported: Mapping[Any, Mapping[str, Any]]) -> list[ActionResult]:
    """The host's `result` maps, read by the type of the action at that index; other actions report none."""
    results: list[ActionResult] = []
    for index, action in enumerate(plan):
        entry = reported.get(index)
        raw = entry.get("result") if isinstance(entry, Mapping) else None
        if not isinstance(raw, Mapping):
            continue
        typed = _typed(action, raw)
        if typed is not None:
            results.append(typed)
    return results


def _typed(action: Action, raw: Mapping[str, Any]) -> ActionResult | None:
    if isinstance(action, ExportVM):
        check_only = bool(raw.get("check_only"))
        if not check_only and not raw.get("config"):
            return None  # no configuration file written: not an export to record
        return Exported(str(raw.get("vm") or action.vm_name), str(raw.get("path") or ""), _int(raw.get("size_bytes")), check_only)
    if isinstance(action, RemoveExport):
        if raw.get("export_id") is None:
            return None
        return ExportPruned(_int(raw.get("export_id")), str(raw.get("path") or ""))
    if isinstance(action, RestoreCheckpoint):
        text = str(raw.get("unverified") or "")
        unverified = tuple(part.strip() for part in text.split(",") if part.strip())
        return Restored(str(raw.get("vm") or action.vm_name), str(raw.get("checkpoint") or action.name), unverified)
    if isinstance(action, ImportVM):
        issues = raw.get("incompatibilities") or []
        fixed = raw.get("fixed") or []
        if isinstance(issues, Mapping):  # ConvertTo-Json writes a one-element array as the element itself
            issues = [issues]
        if isinstance(fixed, str):
            fixed = [fixed]
        return Imported(
            str(raw.get("name") or ""),
            str(raw.get("id") or ""),
            tuple(i for i in issues if isinstance(i, Mapping)),
            tuple(str(f) for f in fixed),
            bool(raw.get("check_only")),
        )
    return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
