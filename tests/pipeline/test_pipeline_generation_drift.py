"""A VM found with the other generation than the inventory's: a generation cannot change after creation,
so the VM is left as it is and every plan says so, instead of silently differing for ever."""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory


def test_a_vm_of_the_other_generation_is_left_as_it_is_and_the_plan_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", generation=1)]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    regen = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", generation=2)]}})

    result = orchestrate("plan", regen, "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert "VM 'lab-01' is generation 1 on the host but generation 2 in the inventory" in result.output
    assert vms_of(state, "hv01")["lab-01"]["generation"] == 1
