"""The real templates, rendered for a simulated host and run through the simulator, the way `apply` runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from simulator_support import HEADER, lines

from orchestrator.inventory import load_inventory
from orchestrator.runner import RunOptions, apply_inventory
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import SimulatedTransport, state_file

INVENTORY = r"""
all:
  vars:
    ansible_connection: simulator
    orchestrate_simulator:
      os_sku: 8
      os_version: "6.3.9600"
      logical_processors: 24
      memory: 64GB
      free_disk: 2TB
      switches: [Classroom LAN, Staff LAN]
      images:
        'D:\images\mps2012-premium.vhdx': {edition_sku: 77}
      shares:
        '\\nas\exports': {free: 2TB}
    multipoint_vm_defaults:
      edition: premium
      generation: 2
      switch: Classroom LAN
      disk:
        parent: 'D:\images\mps2012-premium.vhdx'
      checkpoints:
        baseline: clean
  hosts:
    hv01:
      multipoint_vms:
        - name: lab-01
          cpus: 4
          memory: 8GB
          stations: {rdp: 8}
        - name: "teacher's room"
          cpus: 2
          memory: 4GB
          dynamic_memory: {min: 2GB, max: 6GB}
          switch: Staff LAN
          stations: {rdp: 4}
      multipoint_schedules:
        - name: nightly reset
          action: rollback
          checkpoint: clean
          at: "02:30"
          days: [mon, tue, wed, thu, fri]
          vms: "lab-*"
"""


# MultiPoint Server 2012 Premium as the virtualization server: Windows Server 2012 (6.2), generation 1 only.
INVENTORY_2012 = INVENTORY.replace('os_sku: 8\n      os_version: "6.3.9600"', "os_sku: 77").replace(
    "generation: 2", "generation: 1")


@pytest.fixture(params=["2012 R2 Datacenter", "MultiPoint 2012 host"])
def school(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    inventory = tmp_path / "school.yaml"
    text = INVENTORY if request.param == "2012 R2 Datacenter" else INVENTORY_2012
    inventory.write_text(text, encoding="utf-8")
    return inventory, tmp_path / "state"


def _apply(inventory: Path, state: Path, *, dry_run: bool = False):
    inv = load_inventory(inventory)
    assert not inv.errors, [f.format() for f in inv.errors]
    events: list[object] = []
    result = apply_inventory(inv, list(inv.hosts), RunOptions(state_dir=state, dry_run=dry_run), events.append)
    return result, events


def _host(state: Path) -> Simulator:
    return Simulator(state_path=state_file(state, "hv01"))


def test_apply_builds_the_classroom_and_a_second_apply_changes_nothing(school: tuple[Path, Path]) -> None:
    inventory, state = school
    result, _ = _apply(inventory, state)
    outcome = result.outcomes["hv01"]
    assert result.exit_code == 0, (outcome.error, outcome.fix)
    host = _host(state).host
    lab = host.vm_by_name("lab-01")[0]
    teacher = host.vm_by_name("teacher's room")[0]
    assert (lab.state, lab.cpus, lab.memory_startup) == ("Running", 4, 8 * 2**30)
    assert lab.generation == (1 if host.os_version == "6.2" else 2)
    assert [a.switch for a in lab.adapters] == ["Classroom LAN"]
    assert (teacher.dynamic_memory, teacher.memory_minimum, teacher.memory_maximum) == (True, 2 * 2**30, 6 * 2**30)
    assert [a.switch for a in teacher.adapters] == ["Staff LAN"]
    assert [s.name for s in lab.snapshots.values()] == ["clean"]
    assert lab.current_snapshot == next(iter(lab.snapshots))
    assert lab.booted_from == 77  # the guest came up from the Premium parent disk
    assert [t.name for t in host.tasks.values()] and all(t.path.startswith("\\") for t in host.tasks.values())

    before = _host(state).snapshot()
    again, _ = _apply(inventory, state)
    second = again.outcomes["hv01"]
    assert again.exit_code == 0 and second.changed == 0, (second.error, second.status)
    assert _host(state).snapshot() == before


def test_the_registered_task_rolls_the_vms_back_when_it_runs(school: tuple[Path, Path]) -> None:
    inventory, state = school
    result, _ = _apply(inventory, state)
    assert result.exit_code == 0
    host = _host(state)
    lab = host.host.vm_by_name("lab-01")[0]
    disk_path = lab.disks[0].path
    (clean_content,) = lab.snapshots[lab.current_snapshot].disks.values()  # the data the checkpoint holds
    transport = SimulatedTransport("hv01", state, None)
    # the classroom is used during the day: the guest writes to its disk
    assert transport.run(HEADER + "Stop-VM -Name 'lab-01' -Force\nStart-VM -Name 'lab-01'", idempotent=True).ok
    used_content = _host(state).host.files[_host(state).host.vm_by_name("lab-01")[0].disks[0].path.lower()].content
    assert used_content != clean_content
    task = next(iter(_host(state).host.tasks.values()))
    run = transport.run(HEADER + f"Start-ScheduledTask -TaskName '{task.name}' -TaskPath '{task.path}'\n"
                        f"(Get-ScheduledTaskInfo -TaskName '{task.name}' -TaskPath '{task.path}').LastTaskResult",
                        idempotent=False)
    assert run.ok, run.stderr
    assert lines(run) == ["0"], _host(state).host.tasks
    after = _host(state).host
    lab_after = after.vm_by_name("lab-01")[0]
    # back to the checkpoint's disk, then started again (a start counts as one guest write)
    assert after.files[lab_after.disks[0].path.lower()].content == clean_content + 1 < used_content
    # the drive of the day was discarded: the restored drive is a new .avhdx child of the checkpoint's file
    assert disk_path.lower() not in after.files
    assert after.files[lab_after.disks[0].path.lower()].vhd["parent"] == lab.snapshots[lab.current_snapshot].config["disks"][0]["path"]
    assert lab_after.state == "Running"
    assert after.vm_by_name("teacher's room")[0].state == "Running"  # not matched by lab-*


def test_dry_run_preflights_on_a_copy_and_leaves_the_host_alone(school: tuple[Path, Path]) -> None:
    inventory, state = school
    result, _ = _apply(inventory, state, dry_run=True)
    outcome = result.outcomes["hv01"]
    assert outcome.status != "failed", outcome.error
    host = _host(state).host
    assert host.vms == {} and host.tasks == {}


def test_facts_script_reads_a_fresh_host(school: tuple[Path, Path]) -> None:
    from orchestrator.facts import parse_facts_json
    from orchestrator.render import Renderer

    inventory, state = school
    inv = load_inventory(inventory)
    script = Renderer().render_facts(inv.hosts["hv01"])
    result = SimulatedTransport("hv01", state, inv.hosts["hv01"].simulator).run(script, idempotent=True)
    assert result.ok, result.stderr
    facts = parse_facts_json(result.stdout)
    assert (facts.os_version, facts.os_sku, facts.logical_processors) in (("6.3.9600", 8, 24), ("6.2.9200", 77, 24))
    assert set(facts.switches) == {"Classroom LAN", "Staff LAN"}
    assert ("Generation" in facts.cmdlets["New-VM"]) == (facts.os_version != "6.2.9200")
    assert facts.images["D:\\images\\mps2012-premium.vhdx"][0].edition_id == "ServerMultiPointPremium"
