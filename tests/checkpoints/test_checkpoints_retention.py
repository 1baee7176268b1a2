"""Retention: exactly `keep` of the orchestrator's checkpoints stay, oldest go first, the baseline and a
user's own checkpoints are never touched (on the simulated host, and as a property of the pure planner)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from checkpoint_support import SimHost, lab_host, lab_vm
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.actions import RemoveCheckpoint
from orchestrator.facts import CheckpointFacts, VMFacts
from orchestrator.model import CheckpointPolicy
from orchestrator.operations.checkpoint import plan_checkpoint
from orchestrator.operations.retention import managed_ids, retention
from orchestrator.operations.rollback import plan_rollback


def test_retention_keeps_exactly_n_and_a_users_checkpoint_survives_every_prune() -> None:
    host = SimHost(lab_host(lab_vm("lab-01", keep=2)))
    host.apply()
    host.powershell("Checkpoint-VM -Name 'lab-01' -SnapshotName 'teacher backup'")  # the user's own

    for day in range(1, 6):
        outcome = host.run(plan_checkpoint(host.spec, host.facts(), f"day-{day}"))
        assert outcome.exit_code == 0, outcome.error
        vm = host.facts().vm("lab-01")
        assert vm is not None
        names = [c.name for c in vm.checkpoints]
        ours = [c.name for c in vm.checkpoints if c.id.lower() in managed_ids(vm.notes) and c.name != "clean"]
        assert sorted(ours) == [f"day-{d}" for d in range(max(1, day - 1), day + 1)]  # the newest two
        assert "clean" in names  # the baseline
        assert "teacher backup" in names  # never ours to prune
    # The marker line only names checkpoints that still exist.
    vm = host.facts().vm("lab-01")
    assert vm is not None and managed_ids(vm.notes) == {c.id.lower() for c in vm.checkpoints} - {
        vm.checkpoint("teacher backup").id.lower()  # type: ignore[union-attr]
    }


def test_rollback_never_prunes_the_checkpoint_it_restores() -> None:
    host = SimHost(lab_host(lab_vm("lab-01", keep=1, pre_rollback=True)))
    host.apply()
    assert host.run(plan_checkpoint(host.spec, host.facts(), "old")).exit_code == 0

    outcome = host.run(plan_rollback(host.spec, host.facts(), "old", now=datetime(2026, 11, 25, tzinfo=UTC)))

    assert outcome.exit_code == 0, outcome.error
    vm = host.facts().vm("lab-01")
    assert vm is not None and vm.parent_checkpoint == "old"
    assert vm.checkpoint("pre-rollback-20261125T000000Z") is not None


def _vm(checkpoints: list[CheckpointFacts], ours: set[str]) -> VMFacts:
    marker = "orchestrate-checkpoints: " + ",".join(sorted(ours)) if ours else ""
    return VMFacts(
        "v",
        "id",
        "Running",
        2,
        2,
        1,
        False,
        1,
        1,
        notes="user text\n" + marker,
        checkpoints=tuple(checkpoints),
    )


@given(
    ages=st.lists(st.integers(0, 10_000), min_size=0, max_size=12, unique=True),
    owned=st.lists(st.booleans(), min_size=12, max_size=12),
    keep=st.integers(0, 6),
    adding=st.integers(0, 2),
)
def test_retention_property(ages: list[int], owned: list[bool], keep: int, adding: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    checkpoints = [
        CheckpointFacts("clean" if i == 0 else f"c{i}", f"id-{i}", None, start + timedelta(minutes=age))
        for i, age in enumerate(ages)
    ]
    ours = {c.id for c, mine in zip(checkpoints, owned, strict=False) if mine}
    spec = replace(lab_vm("v"), checkpoints=CheckpointPolicy("clean", keep))
    removed = retention(spec, _vm(checkpoints, ours), adding=adding)

    assert all(isinstance(r, RemoveCheckpoint) for r in removed)
    removed_ids = {r.id for r in removed}
    eligible = [c for c in checkpoints if c.id in ours and c.name != "clean"]
    assert removed_ids <= {c.id for c in eligible}  # never the baseline, never a user's own
    assert (
        len(eligible) - len(removed) + adding == max(keep, adding)
        if len(eligible) + adding > keep
        else not removed
    )
    survivors = [c for c in eligible if c.id not in removed_ids]
    if removed and survivors:  # oldest first
        assert max(c.created for c in eligible if c.id in removed_ids) <= min(c.created for c in survivors)
