"""The admin's story: a VM installing from its ISO has no Windows yet, so it cannot be shut down through its
guest (Stop-VM.md: the shutdown goes "through the guest operating system"). Removing it turns it off instead;
a change that needs it off is refused with the way out, and the VM is left as it was."""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory

ISO = "D:\\iso\\mps2012-premium.iso"


def installing_from_iso(tmp_path: Path, **overrides: object) -> tuple[Path, Path]:
    """hv01 runs lab-01, a blank disk booting the MultiPoint install ISO (no one has installed it yet)."""
    state = tmp_path / "state"
    host = simulated_host(images={ISO: {"edition_sku": 77}})
    inventory = write_inventory(tmp_path, {"hv01": {**host, "multipoint_vms": [
        vm("lab-01", disk={"size": "60GB", "iso": ISO}, **overrides)]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    assert vms_of(state, "hv01")["lab-01"]["state"] == "Running"
    return inventory, state


def test_a_vm_with_no_windows_yet_is_turned_off_and_removed_when_marked_absent(tmp_path: Path) -> None:
    inventory, state = installing_from_iso(tmp_path)
    write_inventory(tmp_path, {"hv01": {**simulated_host(images={ISO: {"edition_sku": 77}}), "multipoint_vms": [
        {"name": "lab-01", "state": "absent"}]}})

    removed = orchestrate("apply", inventory, "--state-dir", state)

    assert removed.exit_code == 0, removed.output
    assert "lab-01" not in vms_of(state, "hv01")


def test_a_change_that_needs_a_vm_with_no_windows_off_is_refused_with_the_way_out(tmp_path: Path) -> None:
    inventory, state = installing_from_iso(tmp_path)
    write_inventory(tmp_path, {"hv01": {**simulated_host(images={ISO: {"edition_sku": 77}}), "multipoint_vms": [
        vm("lab-01", disk={"size": "60GB", "iso": ISO}, cpus=4)]}})

    refused = orchestrate("apply", inventory, "--state-dir", state)

    assert refused.exit_code == 1
    assert "VM lab-01 did not shut down through its guest" in refused.output
    assert "turn it off yourself (Hyper-V Manager: Turn Off, or Stop-VM -TurnOff)" in refused.output
    found = vms_of(state, "hv01")["lab-01"]
    assert (found["state"], found["cpus"]) == ("Running", 2)
