"""A host whose checkpoint and VM objects lack properties the restore compares (audit J L5).

No 2012 or 2012 R2 page lists the properties of a VMSnapshot (ProcessorCount, MemoryStartup,
DynamicMemoryEnabled) or of a VirtualMachine (ParentSnapshotName): Get-VMSnapshot.md and Get-VM.md give only
the output types, and PowerShell reads a property an object lacks as $null. On such a host the restore used to
report drift after every restore, and the nightly task failed every night and left the classroom off. Now what
cannot be compared is unknown, not drift: the VM is restored and brought to its state, and the result names
what was not verified. The simulated host is told to lack them (Host.missing_properties).
"""

from __future__ import annotations

import json
from pathlib import Path

from checkpoint_support import SEED, SimHost, lab_host, lab_vm
from test_checkpoints_cli import Lab

from orchestrator.model import Schedule
from orchestrator.simulator import Simulator

LACKING = {"VMSnapshot": ["ProcessorCount", "MemoryStartup", "DynamicMemoryEnabled"],
           "VirtualMachine": ["ParentSnapshotName"]}
NIGHTLY = Schedule("nightly reset", "clean", "02:30", vms="lab-*")


def test_the_nightly_task_restores_and_starts_the_vm_and_names_what_it_could_not_compare() -> None:
    # given a classroom whose nightly task rolls lab-01 back to its baseline, on a host whose objects lack them
    host = SimHost(lab_host(lab_vm("lab-01"), schedules=(NIGHTLY,)), sim=Simulator(None, {**SEED}))
    host.apply()
    host.set_cpus("lab-01", 5)
    host.sim.host.missing_properties = LACKING

    # when the task fires
    host.start_task("schedule nightly reset")

    # then lab-01 is back on the baseline's settings and running, and the task reports success
    vm = host.sim.host.vm_by_name("lab-01")[0]
    assert (vm.cpus, vm.state, vm.snapshots[vm.current_snapshot].name) == (2, "Running", "clean")
    task = next(t for t in host.sim.host.tasks.values() if t.name == "schedule nightly reset")
    assert task.last_result == 0
    report = json.loads([line for line in task.last_output.splitlines() if line.startswith("{")][-1])
    (row,) = report["vms"]
    assert row["ok"] is True
    assert row["unverified"] == "parent checkpoint, CPUs, startup memory, dynamic memory"


def test_a_rollback_from_the_admin_box_restores_and_warns_what_it_could_not_compare(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    code, output = lab.orchestrate("apply")
    assert code == 0, output
    lab.set_cpus("lab-01", 5)
    state_file = lab.state / "simulator" / "hv01.json"
    document = json.loads(state_file.read_text(encoding="utf-8"))
    document["host"]["missing_properties"] = LACKING
    state_file.write_text(json.dumps(document), encoding="utf-8")

    code, output = lab.orchestrate("rollback", "--to", "clean", "--vm", "lab-01")

    assert code == 0, output
    assert lab.cpus("lab-01") == 2
    assert lab.ps("(Get-VM -Name 'lab-01').State.ToString()") == ["Running"]
    assert "was restored to 'clean', but its parent checkpoint, CPUs, startup memory, dynamic memory could not " \
           "be compared" in " ".join(output.split())
