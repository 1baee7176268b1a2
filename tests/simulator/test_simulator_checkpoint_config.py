"""A checkpoint keeps a copy of the VM's configuration: its drives and adapters are copied field by field,
which is a copy of their own only while every field holds a value nobody changes in place."""

from __future__ import annotations

from dataclasses import asdict, fields

from orchestrator.simulator.host.model import VM, Adapter, Disk


def test_drive_and_adapter_fields_are_plain_values() -> None:
    for cls in (Disk, Adapter):
        assert {f.type for f in fields(cls)} <= {"str", "int", "str | None"}, cls.__name__


def test_a_vms_config_holds_its_drives_and_adapters_as_asdict_would() -> None:
    vm = VM(id="1", name="lab-01", disks=[Disk("D:\\VMs\\lab-01.vhdx")], adapters=[Adapter(switch="LAN", mac="00155D000001")])
    config = vm.config()
    assert config["disks"] == [asdict(d) for d in vm.disks]
    assert config["adapters"] == [asdict(a) for a in vm.adapters]
    config["disks"][0]["path"] = "elsewhere"
    assert vm.disks[0].path == "D:\\VMs\\lab-01.vhdx"  # the checkpoint's copy is its own
