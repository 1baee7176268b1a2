"""Issue 13, finding 1, as the admin lives it: on a 2012 host (Windows PowerShell 3.0) and a 2012 R2 host
(4.0), the tasks that restore the classroom run under `powershell.exe -NonInteractive`, where a confirmation
prompt is an error. Restore-VMSnapshot prompts by default (its 2012 page, Example 1), so they must pass
-Confirm:$false on both versions; the corrected cmdlet data gives 2012 its -Confirm."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from checkpoint_support import SEED, SimHost, lab_host, lab_vm
from test_checkpoints_cli import NIGHTLY as NIGHTLY_YAML
from test_checkpoints_cli import Lab

from orchestrator.model import Schedule
from orchestrator.simulator import Simulator

NIGHTLY = Schedule("nightly reset", "clean", "02:30", days=("mon", "tue", "wed", "thu", "fri"), vms="lab-*")
TASK = "schedule nightly reset"
VERSIONS = pytest.mark.parametrize("os_version", ["6.2", "6.3"], ids=["2012", "2012-R2"])


def generation(os_version: str) -> int:
    """Generation 2 VMs need 2012 R2: the 2012 classroom is generation 1."""
    return 1 if os_version == "6.2" else 2


def demo_classroom(os_version: str) -> SimHost:
    vms = [replace(lab_vm(name), generation=generation(os_version)) for name in ("lab-01", "lab-02")]
    spec = lab_host(*vms, schedules=(NIGHTLY,))
    host = SimHost(spec, Simulator(None, {**SEED, "os_version": os_version}))
    host.apply()
    return host


@VERSIONS
def test_the_nightly_task_brings_every_vm_back_to_its_baseline(os_version: str) -> None:
    host = demo_classroom(os_version)
    assert host.facts().version.startswith(os_version)
    host.set_cpus("lab-01", 5)
    host.set_cpus("lab-02", 7)

    host.start_task(TASK)

    facts = host.facts()
    for name in ("lab-01", "lab-02"):
        vm = facts.vm(name)
        assert vm is not None
        assert (vm.cpus, vm.parent_checkpoint, vm.state) == (2, "clean", "Running")
    task = next(t for t in facts.tasks if t.name == TASK)
    assert task.last_run is not None and task.last_result == 0


@VERSIONS
def test_without_confirm_false_the_restore_is_the_noninteractive_error(os_version: str) -> None:
    host = demo_classroom(os_version)
    result = host.sim.run("$ErrorActionPreference = 'Stop'\n"
                          "Get-VMSnapshot -VMName 'lab-01' -Name 'clean' | Restore-VMSnapshot")
    assert result.exit_code == 1
    assert "Windows PowerShell is in NonInteractive mode" in result.stderr


class OldHostLab(Lab):
    """The CLI lab of test_checkpoints_cli on a host of another Windows version."""

    def __init__(self, tmp_path: Path, os_version: str) -> None:
        self.os_version = os_version
        super().__init__(tmp_path)

    def write(self, *, cpus: int, schedules: str) -> None:
        super().write(cpus=cpus, schedules=schedules)
        text = self.inventory.read_text(encoding="utf-8").replace('"6.3.9600"', f'"{self.os_version}"').replace(
            "      switch: Classroom LAN\n", f"      switch: Classroom LAN\n      generation: {generation(self.os_version)}\n"
        )
        self.inventory.write_text(text, encoding="utf-8")


@VERSIONS
def test_a_revert_after_deadline_restores_what_apply_changed(tmp_path: Path, os_version: str) -> None:
    lab = OldHostLab(tmp_path, os_version)
    assert lab.orchestrate("apply")[0] == 0
    lab.write(cpus=4, schedules=NIGHTLY_YAML)
    assert lab.orchestrate("apply", "--revert-after", "1h")[0] == 0
    assert lab.cpus("lab-01") == 4
    revert = lab.ps(
        "(Get-ScheduledTask -TaskPath '\\MultiPoint\\' | Where-Object -FilterScript { $_.TaskName -like 'revert *' }).TaskName"
    )[0]

    lab.ps(f"Start-ScheduledTask -TaskName '{revert}' -TaskPath '\\MultiPoint\\'")  # the deadline

    assert lab.cpus("lab-01") == 2
    result = lab.ps(f"(Get-ScheduledTaskInfo -TaskName '{revert}' -TaskPath '\\MultiPoint\\').LastTaskResult")
    assert result == ["0"]
