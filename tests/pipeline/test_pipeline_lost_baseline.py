"""A baseline someone removed is reported, never retaken silently from the VM's current state.

Before, the next apply took a new `clean` checkpoint of the VM as it was at that moment, and the nightly
task then "succeeded" every night restoring that state instead of the clean one.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file


def checkpoints(state: Path, name: str) -> list[str]:
    return sorted(s["name"] for s in vms_of(state, "hv01")[name].get("snapshots", []))


def test_a_removed_baseline_is_refused_until_the_admin_asks_for_a_new_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", checkpoints={"baseline": "clean"}), vm("lab-02", checkpoints={"baseline": "clean"})]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    assert checkpoints(state, "lab-01") == ["clean"]
    # Someone removes lab-01's baseline on the host, and the students keep working in the VM.
    removed = Simulator(state_path=state_file(state, "hv01")).run(
        "Get-VMSnapshot -VMName 'lab-01' | Remove-VMSnapshot -Confirm:$false"
    )
    assert removed.exit_code == 0, removed.stderr

    refused = orchestrate("apply", inventory, "--state-dir", state)

    assert refused.exit_code == 1
    assert "lab-01 lost their baseline checkpoint" in refused.output and "--retake-baseline" in refused.output
    assert checkpoints(state, "lab-01") == []  # nothing taken from the state the VM is in now
    assert checkpoints(state, "lab-02") == ["clean"]

    retaken = orchestrate("apply", inventory, "--state-dir", state, "--retake-baseline")

    assert retaken.exit_code == 0, retaken.output
    assert checkpoints(state, "lab-01") == ["clean"]
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0  # converged again
