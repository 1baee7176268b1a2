"""The admin's story: a command's script is stopped on the host before it ends (Ctrl-C sends a terminate, the
WinRM service restarts, someone runs Stop-Process). The run says so, names the command that finishes the
work, and running that command again does finish it."""

from __future__ import annotations

from pathlib import Path

from pipeline_support import host_state, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file


def classroom_to_stop(tmp_path: Path, cmdlet: str, **vm_settings: object) -> tuple[Path, Path]:
    """hv01 applied with lab-01 and lab-02; the next script that runs `cmdlet` is stopped right after it."""
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [
        vm("lab-01", **vm_settings), vm("lab-02", **vm_settings)]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    Simulator(state_path=state_file(state, "hv01")).kill_after_changes(named=cmdlet)
    return inventory, state


def test_a_stopped_rollback_says_to_roll_back_again_and_that_finishes_it(tmp_path: Path) -> None:
    inventory, state = classroom_to_stop(tmp_path, "Restore-VMSnapshot", checkpoints={"baseline": "clean"})

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


def test_a_stopped_checkpoint_says_the_rerun_refuses_the_vms_it_reached(tmp_path: Path) -> None:
    """Friday's checkpoint is stopped after the first VM got it. The hint must not promise that a rerun
    finishes quietly: the rerun refuses that VM ("already exists", as it must, since it cannot tell this
    checkpoint from an older one) and takes the checkpoint on the other, so each VM ends with exactly one."""
    inventory, state = classroom_to_stop(tmp_path, "Checkpoint-VM")

    stopped = orchestrate("checkpoint", inventory, "--name", "friday", "--state-dir", state)

    assert stopped.exit_code == 1
    assert "run `orchestrate checkpoint` again for the VMs it did not reach" in stopped.output
    assert "already hold 'friday' and are refused as 'already exists'" in stopped.output
    reached = [name for name, found in vms_of(state, "hv01").items()
               if any(s["name"] == "friday" for s in found["snapshots"])]
    assert len(reached) == 1
    again = orchestrate("checkpoint", inventory, "--name", "friday", "--state-dir", state)
    assert again.exit_code == 1
    assert f"a checkpoint named 'friday' already exists on VM(s) {reached[0]}" in again.output
    for name, found in vms_of(state, "hv01").items():
        assert [s["name"] for s in found["snapshots"]].count("friday") == 1, name


def test_a_stopped_export_names_the_folder_it_leaves_behind(tmp_path: Path) -> None:
    """The export is stopped once Export-VM has written its folder. The rerun exports again into a new folder;
    the hint names the stopped run's folder, which the journal does not know and `--keep` never removes."""
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(folders=["D:\\exports"]), "multipoint_vms": [
        vm("lab-01")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    Simulator(state_path=state_file(state, "hv01")).kill_after_changes(named="Export-VM")

    stopped = orchestrate("export", inventory, "--to", "D:\\exports", "--state-dir", state)

    assert stopped.exit_code == 1
    left = sorted({f["path"].split("\\")[3] for f in host_state(state, "hv01")["files"]
                   if f["path"].lower().startswith("d:\\exports\\lab-01\\")})
    assert len(left) == 1
    assert f"D:\\exports\\lab-01\\{left[0]}" in stopped.output
    assert "are not in the journal, so `--keep` never removes them" in stopped.output
    assert orchestrate("export", inventory, "--to", "D:\\exports", "--state-dir", state).exit_code == 0
    folders = {f["path"].split("\\")[3] for f in host_state(state, "hv01")["files"]
               if f["path"].lower().startswith("d:\\exports\\lab-01\\")}
    assert len(folders) == 2 and left[0] in folders
