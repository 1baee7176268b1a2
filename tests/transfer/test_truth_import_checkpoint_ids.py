"""A copy imported with a new id, and the marker of the checkpoints orchestrate took (audit J L9).

Import-VM -GenerateNewId gives the VM "a new unique identifier" (Import-VM.md, 2012 and 2012 R2); whether its
checkpoints keep theirs is on no page. The simulated host gives them new ones (the stricter reading). Then the
marker line the copy brought along in its Notes names no checkpoint of the copy: nothing can tell which were
ours, so none is taken for ours (retention never removes a checkpoint it cannot prove is ours), and the
import says so. The export itself, and the source VM, keep their ids and their marker.
"""

from __future__ import annotations

from pathlib import Path

from transfer_support import SHARE, Lab

from orchestrator.facts import managed_ids
from orchestrator.journal import Journal


def test_a_copy_with_new_ids_warns_that_its_checkpoints_are_no_longer_known_as_ours(tmp_path: Path) -> None:
    # given lab-01 with a checkpoint orchestrate took, exported to the share
    lab = Lab(tmp_path)
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.ok("checkpoint", str(lab.inventory), "--name", "before-exam", "--vm", "lab-01", "--limit", "hv01")
    source = lab.facts("hv01").vm("lab-01")
    assert source is not None and len(managed_ids(source.notes)) == 1
    lab.ok("export", str(lab.inventory), "--to", SHARE, "--vm", "lab-01")
    (record,) = Journal.open(lab.state).exports("hv01", "lab-01")

    # when the admin imports a copy with a new id on hv02
    output = lab.ok("import", str(lab.inventory), "--host", "hv02", "--from", record.path, "--mode", "copy-new-id")

    # then the copy has the checkpoint under another id, and the admin is told retention will not prune it
    copy = lab.facts("hv02").vm("lab-01")
    assert copy is not None and copy.id != source.id
    (checkpoint,) = copy.checkpoints
    assert checkpoint.name == "before-exam" and checkpoint.id != source.checkpoints[0].id
    assert managed_ids(copy.notes) == managed_ids(source.notes)  # the line names the source's ids only
    text = " ".join(output.split())
    assert "1 checkpoint(s) orchestrate took are no longer known by their ids" in text
    # the source keeps its checkpoint and its marker
    assert managed_ids(lab.facts("hv01").vm("lab-01").notes) == {source.checkpoints[0].id.lower()}  # type: ignore[union-attr]
