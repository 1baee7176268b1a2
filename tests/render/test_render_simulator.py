"""Rendered scripts run on the simulated Hyper-V host: given a host and these actions, when the apply script
runs, then the host holds exactly what the actions say, the script prints one apply document, and running it
again changes nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from render_support import HOSTILE_PAYLOADS, host_with

from orchestrator import actions as A
from orchestrator.facts import facts_after_apply, parse_facts
from orchestrator.model import CheckpointPolicy, DiskSpec, DynamicMemory, VMSpec
from orchestrator.render import Renderer
from orchestrator.simulator import RunResult, Simulator

PREMIUM = "D:\\images\\mps-premium.vhdx"
ISO = "D:\\iso\\mps-premium.iso"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
GB = 2**30


def _sim(version: str = "6.3", switches: tuple[str, ...] = ("LAN", "Classroom")) -> Simulator:
    seed = {"os_sku": 8, "os_version": version, "logical_processors": 16, "memory": "64GB",
            "switches": list(switches), "free_disk": "2TB", "folders": ["E:\\"],  # a data drive for VMs
            "images": {PREMIUM: {"edition_sku": 77}, ISO: {"edition_sku": 77}}}
    return Simulator(seed=seed, now=lambda: NOW)


def _document(result: RunResult) -> dict[str, Any]:
    """Exactly one JSON document, and nothing else, on stdout."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout[:2000] + "\n" + result.stderr[:2000]
    return json.loads(lines[0])


def _vm(sim: Simulator, name: str):
    (vm,) = sim.host.vm_by_name(name)
    return vm


VM = VMSpec(name="lab-01", cpus=4, memory=8 * GB, disk=DiskSpec("parent", source=PREMIUM), switch="Classroom",
            path="D:\\VMs", checkpoints=CheckpointPolicy(baseline="clean"))


def test_create_checkpoint_start_then_nothing_on_a_second_run() -> None:
    sim = _sim()
    actions = [A.CreateVM(VM), A.TakeCheckpoint("lab-01", "clean"), A.StartVM("lab-01")]
    script = Renderer().render_apply(host_with((VM,)), actions, "6.3")
    before = _document(sim.run(Renderer().render_facts(host_with((VM,)))))

    first = sim.run(script)
    assert first.exit_code == 0, first.stderr
    doc = _document(first)
    assert doc["ok"] is True and doc["failed"] is None
    assert [(a["index"], a["summary"], a["changed"]) for a in doc["actions"]] == [
        (0, "create VM lab-01", True), (1, "checkpoint lab-01", True), (2, "start VM lab-01", True)]
    vm = _vm(sim, "lab-01")
    assert (vm.generation, vm.cpus, vm.memory_startup, vm.dynamic_memory) == (2, 4, 8 * GB, False)
    assert [a.switch for a in vm.adapters] == ["Classroom"]
    # after the checkpoint the drive writes to an .avhdx on the VM's own differencing disk of the image
    (drive,) = [d.path for d in vm.disks]
    assert drive.startswith("D:\\VMs\\lab-01_") and drive.endswith(".avhdx")
    assert sim.host.files[drive.lower()].vhd["parent"] == "D:\\VMs\\lab-01.vhdx"
    assert sim.host.files["d:\\vms\\lab-01.vhdx"].vhd["parent"].lower() == PREMIUM.lower()
    assert vm.state == "Running"
    assert [s.name for s in vm.snapshots.values()] == ["clean"]
    # The new facts, in the shape the facts parser reads; what no action changes (the host's cmdlets, the
    # base images' editions) is not read twice but carried over from the facts read before.
    assert "cmdlets" not in doc["facts"] and "images" not in doc["facts"]
    facts = parse_facts(facts_after_apply(before, doc["facts"]))
    assert facts.cmdlets == parse_facts(before).cmdlets and facts.cmdlets["New-VM"]
    assert facts.vm("lab-01").running and facts.vm("lab-01").switches == ("Classroom",)
    assert facts.vm("lab-01").checkpoint("clean") is not None

    before = sim.snapshot()
    second = sim.run(script)
    assert second.exit_code == 0, second.stderr
    assert [a["changed"] for a in _document(second)["actions"]] == [False, False, False]
    assert sim.snapshot()["host"]["vms"] == before["host"]["vms"]


@pytest.mark.parametrize("version", ["6.2", "6.3", "10.0"])
def test_every_action_template_runs_on_each_windows_version(version: str) -> None:
    generation = 1 if version == "6.2" else 2
    vm = VMSpec(name="lab-02", cpus=2, memory=4 * GB, generation=generation, path="E:\\Hyper-V",
                disk=DiskSpec("new", size=60 * GB, iso=ISO), switch="LAN")
    sim = _sim(version)
    host = host_with((vm,))
    steps = [
        # The VM boots its install ISO onto a blank disk: no Windows answers a shutdown, so only a stop that
        # may turn it off stops it (stop_vm.ps1.j2).
        A.CreateVM(vm), A.StartVM("lab-02"), A.StopVM("lab-02", reason="needed for: set CPUs", or_turn_off=True),
        A.SetProcessor("lab-02", 6, before=2),
        A.SetMemory("lab-02", 6 * GB, DynamicMemory(2 * GB, 8 * GB), before_startup=4 * GB),
        A.ConnectSwitch("lab-02", "Classroom", before="LAN"), A.TakeCheckpoint("lab-02", "base"),
        A.StartVM("lab-02"),
    ]
    result = sim.run(Renderer().render_apply(host, steps, version))
    assert result.exit_code == 0, result.stdout + result.stderr
    doc = _document(result)
    assert all(a["changed"] for a in doc["actions"]) and len(doc["actions"]) == len(steps)
    got = _vm(sim, "lab-02")
    assert (got.generation, got.cpus, got.memory_startup) == (generation, 6, 6 * GB)
    assert (got.dynamic_memory, got.memory_minimum, got.memory_maximum) == (True, 2 * GB, 8 * GB)
    assert [a.switch for a in got.adapters] == ["Classroom"] and got.state == "Running"
    # One drive holding the ISO: a generation 1 VM's own drive is used, not joined by a second one.
    assert [(d or "").lower() for d in got.dvds] == [ISO.lower()]

    removing = [A.StopVM("lab-02", reason="the VM is to be removed", or_turn_off=True), A.RemoveVM("lab-02")]
    removed = sim.run(Renderer().render_apply(host, removing, version))
    assert removed.exit_code == 0, removed.stderr
    assert sim.host.vm_by_name("lab-02") == []


@pytest.mark.parametrize("version", ["6.2", "6.3", "10.0"])
def test_without_a_path_the_disk_goes_to_the_hosts_default_folder(version: str) -> None:
    sim = _sim(version)
    vm = VMSpec(name="lab-06", cpus=1, memory=GB, generation=1, disk=DiskSpec("copy_from", source=PREMIUM))
    result = sim.run(Renderer().render_apply(host_with((vm,)), [A.CreateVM(vm)], version))
    assert result.exit_code == 0, result.stdout[:300]
    (disk,) = _vm(sim, "lab-06").disks
    assert disk.path.lower() == (sim.host.vhd_path + "\\lab-06.vhdx").lower()


def test_a_vm_without_a_disk_gets_its_path_folder_made_first() -> None:
    """New-VM.md (2012) says of -Path only "the directory to store the files": the create makes the folder for a
    disk-less VM too, not only beside a disk (audit L L4); the simulator's New-VM refuses a missing one."""
    sim = _sim()
    vm = VMSpec(name="lab-[07]", cpus=1, memory=GB, disk=None, path="E:\\Hyper-V\\lab-[07]")
    result = sim.run(Renderer().render_apply(host_with((vm,)), [A.CreateVM(vm)], "6.3"))
    assert result.exit_code == 0, result.stdout[:300] + result.stderr[:2000]
    assert sim.host.files["e:\\hyper-v\\lab-[07]"].kind == "dir"
    assert _vm(sim, "lab-[07]").path.lower() == "e:\\hyper-v\\lab-[07]\\lab-[07]"


def test_the_first_failure_stops_the_rest_and_the_facts_are_still_printed() -> None:
    sim = _sim(switches=("LAN",))
    vm = VMSpec(name="lab-03", cpus=2, memory=4 * GB, disk=None)
    steps = [A.CreateVM(vm), A.ConnectSwitch("lab-03", "No Such Switch"), A.StartVM("lab-03")]
    before = _document(sim.run(Renderer().render_facts(host_with((vm,)))))
    result = sim.run(Renderer().render_apply(host_with((vm,)), steps, "6.3"))
    assert result.exit_code == 1
    doc = _document(result)
    assert doc["ok"] is False
    assert [a["index"] for a in doc["actions"]] == [0]
    assert doc["failed"]["index"] == 1 and "No Such Switch" in doc["failed"]["error"]
    assert "lab-03" in parse_facts(facts_after_apply(before, doc["facts"])).vms
    assert _vm(sim, "lab-03").state == "Off"  # StartVM never ran


@pytest.mark.parametrize("payload", [p for p in HOSTILE_PAYLOADS if p and len(p) < 200])
def test_hostile_text_arrives_on_the_host_as_exactly_that_text(payload: str) -> None:
    """What PowerShell reads from the literal is the inventory's text, character for character."""
    sim = _sim(switches=("LAN", payload))
    name = "vm " + payload
    vm = VMSpec(name=name, cpus=1, memory=GB, disk=None, switch=payload)
    steps = [A.CreateVM(vm), A.TakeCheckpoint(name, payload)]
    result = sim.run(Renderer().render_apply(host_with((vm,)), steps, "6.3"))
    assert result.exit_code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    doc = _document(result)
    assert doc["actions"][0]["summary"] == "create VM " + name
    got = _vm(sim, name)
    assert got.name == name and [a.switch for a in got.adapters] == [payload]
    assert [s.name for s in got.snapshots.values()] == [payload]


def test_the_facts_script_reads_the_host_and_changes_nothing() -> None:
    sim = _sim()
    vm = VMSpec(name="lab-04", cpus=2, memory=4 * GB, disk=DiskSpec("parent", source=PREMIUM), path="D:\\VMs")
    other = VMSpec(name="lab-05", cpus=2, memory=4 * GB, disk=DiskSpec("new", size=GB, iso="E:\\missing.iso"))
    host = host_with((vm, other))
    before = sim.snapshot()
    result = sim.run(Renderer().render_facts(host))
    assert result.exit_code == 0, result.stderr
    doc = _document(result)
    assert set(doc) == {"host", "cmdlets", "switches", "vms", "kvp", "paths", "images", "new_disks", "tasks", "moves",
                        "state_folder"}
    assert doc["new_disks"] == []  # no file where lab-04's or lab-05's disk goes
    assert doc["paths"] == {"D:\\VMs": False, "D:\\": True, PREMIUM: True, "E:\\missing.iso": False}
    assert [e["edition_id"] for e in doc["images"][PREMIUM]] == ["ServerMultiPointPremium"]
    facts = parse_facts(doc)
    assert facts.version == "6.3" and facts.switches == ("LAN", "Classroom") and not facts.vms
    assert "Generation" in facts.cmdlets["New-VM"]
    assert sim.snapshot() == before


def test_a_checkpoint_finds_its_vm_by_exact_name_in_any_case_never_by_wildcard() -> None:
    """The VM and checkpoint lookups (a foreach statement and -eq, what Where-Object's comparison statement is
    documented to equal) are case-insensitive, and `[01]` in a name is text, not a wildcard. `lab-0` would
    match `lab-[01]` as a pattern."""
    sim = _sim()
    for name in ("lab-0", "Lab-[01]"):
        assert sim.run(f"New-VM -Name '{name}' -MemoryStartupBytes 2GB -Generation 2 -Confirm:$false | Out-Null").exit_code == 0
    vm = VMSpec(name="lab-[01]", cpus=2, memory=2 * GB, disk=None)
    steps = [A.TakeCheckpoint("lab-[01]", "before-exam"), A.TakeCheckpoint("lab-[01]", "BEFORE-EXAM")]
    result = sim.run(Renderer().render_apply(host_with((vm,)), steps, "6.3"))
    doc = _document(result)
    assert result.exit_code == 0 and doc["ok"] is True, doc
    assert [a["changed"] for a in doc["actions"]] == [True, False]  # the second name is the first, in another case
    assert [s.name for s in _vm(sim, "Lab-[01]").snapshots.values()] == ["before-exam"]
    assert not _vm(sim, "lab-0").snapshots


def test_the_facts_keep_only_the_data_exchange_items_they_read() -> None:
    """The facts script filters each VM's Data Exchange items with -like on the array (about_Comparison_Operators:
    a collection in, its matching members out): a running guest's edition and name are kept, its other items
    (OSVersion, ProductType...) are not sent, and a VM that is off reports none."""
    sim = _sim()
    off = VMSpec(name="lab-02", cpus=2, memory=4 * GB, disk=DiskSpec("parent", source=PREMIUM), switch="Classroom",
                 path="D:\\VMs")
    host = host_with((VM, off))
    steps = [A.CreateVM(VM), A.StartVM("lab-01"), A.CreateVM(off)]
    assert sim.run(Renderer().render_apply(host, steps, "6.3")).exit_code == 0
    doc = _document(sim.run(Renderer().render_facts(host)))
    ids = {vm.id.lower(): vm.name for vm in sim.host.vms.values()}
    names = {ids[k["vm_id"].lower()]: sorted(re.findall(r'NAME="Name"[^>]*><VALUE>([^<]*)<', " ".join(k["items"] or [])))
             for k in doc["kvp"]}
    assert names == {"lab-01": ["FullyQualifiedDomainName", "OSEditionId", "OSName"], "lab-02": []}
    assert parse_facts(doc).vm("lab-01").guest_edition_sku == 77


def test_a_vm_on_a_vhd_drive_is_discarded_with_its_avhd_checkpoint_files_and_its_base_disk() -> None:
    """An adopted VM whose drive is a VHD: its checkpoints write .avhd files (Get-VHD.md, 2012, Example 5), and
    the discard of a moved VM must take them for checkpoint files, wait for their merge, then delete the .vhd."""
    sim = _sim()
    made = sim.run("$ErrorActionPreference = 'Stop'\n"
                   "[System.IO.Directory]::CreateDirectory('D:\\VMs') | Out-Null\n"
                   "New-VHD -Path 'D:\\VMs\\old-lab.vhd' -SizeBytes 10GB -Dynamic -Confirm:$false | Out-Null\n"
                   "New-VM -Name 'old-lab' -VHDPath 'D:\\VMs\\old-lab.vhd' -MemoryStartupBytes 2GB -Confirm:$false | Out-Null\n"
                   "Checkpoint-VM -Name 'old-lab' -SnapshotName 'before'")
    assert made.exit_code == 0, made.stderr
    vm = _vm(sim, "old-lab")
    (drive,) = [d.path for d in vm.disks]
    assert drive.lower().endswith(".avhd")
    sim.host.job_seconds = 10  # Hyper-V's merge takes a while: the script must wait for it

    host = host_with(())
    removed = sim.run(Renderer().render_apply(host, [A.DiscardVM("old-lab", vm.id)], "6.3"))

    assert removed.exit_code == 0, removed.stdout + removed.stderr
    assert sim.host.vm_by_name("old-lab") == []
    assert [e.path for e in sim.host.files.values() if "old-lab" in e.path.lower()] == []
