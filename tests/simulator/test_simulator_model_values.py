"""Values of the simulated host's model made by hand for speed, held to what they replace: a checkpoint's
copy of the VM's configuration (its drives and adapters copied field by field, a copy of their own only
while every field holds a value nobody changes in place), and the GUIDs the host gives out."""

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


def test_the_simulators_guids_are_version_4_guids_in_text_form() -> None:
    import uuid

    from orchestrator.simulator.host.context import random_guid

    made = [random_guid() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
