"""The admin's story: a command's script is stopped on the host before it ends (Ctrl-C sends a terminate, the
WinRM service restarts, someone runs Stop-Process). The run says so, names the command that finishes the
work, and running that command again does finish it."""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file


def test_a_stopped_rollback_says_to_roll_back_again_and_that_finishes_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [
        vm("lab-01", checkpoints={"baseline": "clean"}), vm("lab-02", checkpoints={"baseline": "clean"})]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    Simulator(state_path=state_file(state, "hv01")).kill_after_changes(named="Restore-VMSnapshot")

    stopped = orchestrate("rollback", inventory, "--to", "clean", "--state-dir", state)

    assert stopped.exit_code == 1
    assert "the script ended on the host with exit code -1 and no report" in stopped.output
    assert "run `orchestrate rollback` again" in stopped.output
    again = orchestrate("rollback", inventory, "--to", "clean", "--state-dir", state)
    assert again.exit_code == 0, again.output
    for name, found in vms_of(state, "hv01").items():
        clean = next(s["id"] for s in found["snapshots"] if s["name"] == "clean")
        assert (found["current_snapshot"], found["state"]) == (clean, "Running"), name


def test_a_stopped_apply_says_to_apply_again(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01")]}})
    Simulator(state_path=state_file(state, "hv01"), seed=simulated_host()["orchestrate_simulator"]).kill_after_changes(
        named="New-VM")

    stopped = orchestrate("apply", inventory, "--state-dir", state)

    assert stopped.exit_code == 1
    assert "run `orchestrate apply` again" in stopped.output
    assert vms_of(state, "hv01")["lab-01"]["cpus"] == 1  # made, not yet set up: New-VM's default
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    assert vms_of(state, "hv01")["lab-01"]["cpus"] == 2
