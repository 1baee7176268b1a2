"""A new VM's disk is never made from another VM's own disk (audit L M1).

The admin's story: `golden` is the VM the teacher prepares the exam image on; its disk is golden.vhdx. Someone
writes `disk: {parent: ...\\golden.vhdx}` (or `copy_from:`) for the exam VMs, meaning "the image golden made".
But golden still writes to that file: a differencing disk on it breaks the first time golden writes (or merges
a checkpoint into it), and a copy of it is golden's used system. The plan refuses such a VM, from the facts,
and the host's script refuses it too where the facts do not reach (the base disk under golden's checkpoints).
A shared image that is only the parent of differencing disks stays what every classroom is built on.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_support import PREMIUM_IMAGE, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.facts import load_document, parse_facts
from orchestrator.inventory import load_inventory
from orchestrator.plan import plan_host
from orchestrator.render import Renderer
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file
from orchestrator.transport.stdin import channel

GOLDEN = "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks\\golden.vhdx"


def golden_host(tmp_path: Path, state: str = "running", **spec: object) -> tuple[Path, list[dict]]:
    vms = [vm("golden", disk={"copy_from": PREMIUM_IMAGE}, state=state, **spec)]
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": vms}})
    result = orchestrate("apply", inventory, "--state-dir", tmp_path / "state")
    assert result.exit_code == 0, result.output
    return tmp_path / "state", vms


def with_exam_vms(tmp_path: Path, vms: list[dict], *exam: dict) -> Path:
    return write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [*vms, *exam]}})


def test_the_plan_refuses_a_parent_or_copy_that_is_a_running_vms_disk(tmp_path: Path) -> None:
    state, vms = golden_host(tmp_path)
    inventory = with_exam_vms(tmp_path, vms, vm("exam-diff", disk={"parent": GOLDEN}),
                              vm("exam-copy", disk={"copy_from": GOLDEN}))

    planned = orchestrate("plan", inventory, "--state-dir", state)
    applied = orchestrate("apply", inventory, "--state-dir", state)

    for result in (planned, applied):
        assert result.exit_code == 1
        assert f"VM 'exam-diff' refused: the parent image {GOLDEN} is a disk of VM 'golden'" in result.output
        assert f"VM 'exam-copy' refused: the copy_from image {GOLDEN} is a disk of VM 'golden'" in result.output
    vms_now = vms_of(state, "hv01")
    assert sorted(vms_now) == ["golden"]
    files = Simulator(state_path=state_file(state, "hv01")).host.files
    assert not any("exam-" in path for path in files)  # no disk, no marker, nothing made


def test_an_off_vms_disk_is_refused_too(tmp_path: Path) -> None:
    """Off, golden is not writing now; it will be the next time it starts."""
    state, vms = golden_host(tmp_path, state="off")
    inventory = with_exam_vms(tmp_path, vms, vm("exam-01", disk={"parent": GOLDEN}))

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert "the parent image" in result.output and "is a disk of VM 'golden' on this host (it is Off)" in result.output
    assert sorted(vms_of(state, "hv01")) == ["golden"]


def test_the_base_disk_under_a_vms_checkpoints_is_refused_on_the_host(tmp_path: Path) -> None:
    """golden has two checkpoints, so its drive writes to an .avhdx two files above golden.vhdx: the facts read
    one level of the chain and do not see golden.vhdx, the create script walks the chain and refuses."""
    state, vms = golden_host(tmp_path, checkpoints={"baseline": "clean"})
    seed = simulated_host()["orchestrate_simulator"]
    by_hand = Simulator(state_path=state_file(state, "hv01"), seed=seed).run(*channel(
        "$ErrorActionPreference = 'Stop'\nCheckpoint-VM -VM (Get-VM -Name 'golden') -SnapshotName 'before-exam' -Confirm:$false"))
    assert by_hand.exit_code == 0, by_hand.stderr
    inventory = with_exam_vms(tmp_path, vms, vm("exam-01", disk={"parent": GOLDEN}))

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert f"VM exam-01 was not created: its parent {GOLDEN} is a disk of VM golden" in result.output
    assert sorted(vms_of(state, "hv01")) == ["golden"]
    files = Simulator(state_path=state_file(state, "hv01")).host.files
    assert not any("exam-01" in path for path in files)  # refused before the marker file


def test_vms_on_a_shared_image_are_still_made(tmp_path: Path) -> None:
    """The shared image is the parent of lab-01's differencing disk, and no VM's own: lab-02 goes on it too."""
    state = tmp_path / "state"
    first = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01")]}})
    assert orchestrate("apply", first, "--state-dir", state).exit_code == 0
    both = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [
        vm("lab-01"), vm("lab-02"), vm("lab-03", disk={"copy_from": PREMIUM_IMAGE})]}})

    result = orchestrate("apply", both, "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert sorted(vms_of(state, "hv01")) == ["lab-01", "lab-02", "lab-03"]



def test_a_disk_the_script_made_itself_counts_as_that_vms_own(tmp_path: Path) -> None:
    """The plan cannot refuse a parent that does not exist yet: golden's disk is made by the same script. Were
    exam-01's parent golden.vhdx by the time the script runs (here: the script's text changed after the plan),
    the script's own list of the host's disks, read once and extended by each create, still refuses it."""
    vms = [vm("golden", disk={"copy_from": PREMIUM_IMAGE}), vm("exam-01")]
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": vms}})
    host = load_inventory(str(inventory)).hosts["hv01"]
    renderer = Renderer()
    simulator = Simulator(seed=simulated_host()["orchestrate_simulator"])
    facts = parse_facts(load_document(simulator.run(*channel(renderer.render_facts(host))).stdout))
    script = renderer.render_apply(host, list(plan_host(host, facts)), facts.version)
    exam_at = script.index("$vmName = 'exam-01'")
    premium = "'" + PREMIUM_IMAGE + "'"
    script = script[:exam_at] + script[exam_at:].replace(premium, "'" + GOLDEN + "'")

    ran = simulator.run(*channel(script))

    failed = json.loads(ran.stdout)["failed"]
    assert failed["summary"] == "create VM exam-01", failed
    assert f"its parent {GOLDEN} is a disk of VM golden" in failed["error"]
    assert [v.name for v in simulator.host.vms.values()] == ["golden"]
    assert not any("exam-" in path for path in simulator.host.files)
