"""Compare-VM's repair flow: an adapter on a switch the target lacks is connected to the inventory's switch
before Import-VM -CompatibilityReport registers the VM (hyperv-behaviour.md section 5)."""

from __future__ import annotations

from pathlib import Path

from transfer_support import exported


def test_a_missing_switch_is_connected_to_the_switch_the_inventory_names(tmp_path: Path) -> None:
    # hv02 calls its classroom switch "Lab Switch"; the inventory's entry there for the new name says so.
    lab, export = exported(tmp_path, hv02={"switches": ["Lab Switch"]})
    lab.doc["all"]["hosts"]["hv02"]["multipoint_vms"] = [
        {"name": "lab-01", "cpus": 2, "memory": "4GB", "stations": {"rdp": 4}, "switch": "Lab Switch"}
    ]
    lab.save()
    output = lab.ok("import", str(lab.inventory), "--host", "hv02", "--from", export, "--dry-run")
    assert "[33012] Could not find Ethernet switch 'Classroom LAN'" in output
    assert "connected to Lab Switch" in output
    assert lab.facts("hv02").vms == {}

    lab.ok("import", str(lab.inventory), "--host", "hv02", "--from", export, "--name", "lab-01", "--start")
    imported = lab.facts("hv02").vm("lab-01")
    assert imported.switches == ("Lab Switch",) and imported.running
