"""A VM found Saved, Paused or in a state of change: the plan never turns a saved VM off by discarding its
memory, and never guesses what Start-VM or Set-VM do to a VM that is neither Running, Off nor Saved.

The admin's stories: someone saved the library VM (Stop-VM -Save) before the inventory grew its CPUs;
Hyper-V paused a classroom VM when the host's disk filled up; a VM was caught mid-change.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file
from orchestrator.transport.stdin import channel


def classroom(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01"), vm("lab-02")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    return state, inventory


def by_hand(state: Path, script: str) -> None:
    result = Simulator(state_path=state_file(state, "hv01")).run(*channel(script))
    assert result.exit_code == 0, result.stderr


def set_state_on_disk(state: Path, name: str, hyperv_state: str) -> None:
    """What no simulated cmdlet makes (Hyper-V's own pause, a state mid-change): written into the host's model."""
    path = state_file(state, "hv01")
    document = json.loads(path.read_text(encoding="utf-8"))
    for entry in document["host"]["vms"]:
        if entry["name"] == name:
            entry["state"] = hyperv_state
    path.write_text(json.dumps(document), encoding="utf-8")


def test_a_saved_vm_whose_change_needs_it_off_is_refused_and_keeps_its_saved_state(tmp_path: Path) -> None:
    state, _ = classroom(tmp_path)
    by_hand(state, "Stop-VM -Name 'lab-01' -Save")
    more_cpus = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", cpus=4), vm("lab-02", cpus=4)]}}
    )

    result = orchestrate("apply", more_cpus, "--state-dir", state)

    assert result.exit_code == 1
    assert "VM(s) lab-01 are Saved, and a CPU, memory or switch change needs them off" in result.output
    assert "start them (Start-VM) and apply again" in result.output
    vms = vms_of(state, "hv01")
    assert (vms["lab-01"]["state"], vms["lab-01"]["cpus"]) == ("Saved", 2)  # nothing discarded, nothing set
    assert (vms["lab-02"]["state"], vms["lab-02"]["cpus"]) == ("Running", 4)  # the other VM was converged


def test_a_saved_vm_with_nothing_to_change_is_started_from_its_saved_state(tmp_path: Path) -> None:
    state, inventory = classroom(tmp_path)
    by_hand(state, "Stop-VM -Name 'lab-01' -Save")

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert "state: Saved -> Running" in result.output
    assert vms_of(state, "hv01")["lab-01"]["state"] == "Running"


def test_a_paused_vm_is_left_alone_with_the_way_out(tmp_path: Path) -> None:
    state, inventory = classroom(tmp_path)
    set_state_on_disk(state, "lab-01", "Paused")
    vm_id = vms_of(state, "hv01")["lab-01"]["id"]

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert "VM 'lab-01' is Paused: orchestrate changes only a VM that is Running, Off or Saved" in result.output
    assert f"Resume-VM -VM (Get-VM -Id '{vm_id}')" in result.output
    assert vms_of(state, "hv01")["lab-01"]["state"] == "Paused"
    assert vms_of(state, "hv01")["lab-02"]["state"] == "Running"


def test_a_vm_in_a_state_of_change_is_left_alone(tmp_path: Path) -> None:
    state, inventory = classroom(tmp_path)
    set_state_on_disk(state, "lab-01", "Stopping")
    rollback = orchestrate("rollback", inventory, "--to", "clean", "--state-dir", state)
    assert rollback.exit_code == 1
    assert "VM 'lab-01' is Stopping (a change of state in progress, or a critical state)" in rollback.output
    assert vms_of(state, "hv01")["lab-01"]["state"] == "Stopping"


def test_the_simulator_does_not_start_a_paused_vm_as_if_it_were_off(tmp_path: Path) -> None:
    """No page says what Start-VM does to a Paused VM: the simulated host refuses it (it used to boot it)."""
    state, _ = classroom(tmp_path)
    set_state_on_disk(state, "lab-01", "Paused")

    result = Simulator(state_path=state_file(state, "hv01")).run(*channel("Start-VM -Name 'lab-01'"))

    assert result.exit_code == 1
    assert "cannot be performed while the virtual machine is in its current state (Paused)" in result.stderr
    assert vms_of(state, "hv01")["lab-01"]["state"] == "Paused"
