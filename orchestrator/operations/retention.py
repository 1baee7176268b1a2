"""Which checkpoints are ours, and retention: the rules `checkpoint`, `rollback` and `apply --revert-after` share.

Which checkpoints are ours? Hyper-V on 2012 R2 has no cmdlet that sets a checkpoint's Notes, and a
checkpoint's name must stay exactly what the admin asked for (`orchestrate rollback --to NAME` finds it by
that name, as Get-VMSnapshot shows it). So the marker lives in the VM's own Notes, on one line of its own:

    orchestrate-checkpoints: 6f1c...,a93e...

listing the ids of the checkpoints we made. The admin's own text in the Notes is kept as it is. Retention
removes only checkpoints whose id is on that line, oldest first, never the baseline and never the checkpoint
being restored; a user's own checkpoint (not on the line) is never touched. Applying a checkpoint brings back
the VM's Notes as they were when it was taken, so the restore fragment puts the marker line back afterwards
(templates/actions/restore_checkpoint.ps1.j2).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from orchestrator.actions import RemoveCheckpoint
from orchestrator.facts import CheckpointFacts, VMFacts, managed_ids, user_notes
from orchestrator.model import VMSpec

__all__ = ["is_managed", "managed_ids", "retention", "user_notes", "utc_stamp"]


def is_managed(observed: VMFacts, checkpoint: CheckpointFacts) -> bool:
    return bool(checkpoint.id) and checkpoint.id.lower() in managed_ids(observed.notes)


def utc_stamp(moment: datetime) -> str:
    """20261125T020000Z: sortable, free of characters a checkpoint or task name would trip on."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def retention(
    vm: VMSpec, observed: VMFacts, *, adding: int = 0, protect: Iterable[str] = ()
) -> list[RemoveCheckpoint]:
    """Removals that leave `checkpoints.keep` of our checkpoints once `adding` new ones exist.

    The baseline never counts and is never removed; `protect` names (the checkpoint being restored, those a
    pending revert needs) count but stay, so the oldest of the others go first. No `keep`: nothing is pruned.
    """
    keep = vm.checkpoints.keep
    if keep is None:
        return []
    ids = managed_ids(observed.notes)
    # Names compare as the scripts compare them, case aside (facts.VMFacts.checkpoint): a baseline someone
    # renamed `Clean` is still the baseline `clean`, never pruned.
    baseline = (vm.checkpoints.baseline or "").lower()
    ours = [c for c in observed.checkpoints if c.id and c.id.lower() in ids and c.name.lower() != baseline]
    excess = len(ours) + adding - max(keep, 0)
    if excess <= 0:
        return []
    protected = {name.lower() for name in protect}
    order = sorted(
        (c for c in ours if c.name.lower() not in protected),
        key=lambda c: (c.created or datetime.min.replace(tzinfo=UTC)).astimezone(UTC),
    )
    return [RemoveCheckpoint(observed.name, c.name, c.id) for c in order[:excess]]
