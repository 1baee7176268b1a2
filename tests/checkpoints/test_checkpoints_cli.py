"""The commands as the admin (or cron) runs them, on a simulated host kept in the state dir: exit codes, JSON
lines, the journal, host locks; the host's state is read back with the simulator, never from the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.journal import Journal
from orchestrator.locks import HostLock
from orchestrator.simulator import Simulator

INVENTORY = """\
all:
  vars:
    ansible_connection: simulator
    orchestrate_simulator:
      os_sku: 8
      os_version: "6.3.9600"
      logical_processors: 24
      memory: 64GB
      switches: [Classroom LAN]
      images:
        'D:\\images\\mps2012-premium.vhdx': {edition_sku: 77}
    multipoint_vm_defaults:
      switch: Classroom LAN
      disk:
        parent: 'D:\\images\\mps2012-premium.vhdx'
      checkpoints: {baseline: clean, keep: 2}
  hosts:
    hv01:
      multipoint_vms:
        - {name: lab-01, cpus: LAB01_CPUS, memory: 4GB, stations: {rdp: 4}}
        - {name: lab-02, cpus: 2, memory: 4GB, stations: {rdp: 4}}
      multipoint_schedules: SCHEDULES
"""
NIGHTLY = (
    '[{name: nightly reset, checkpoint: clean, at: "02:30", days: [mon, tue, wed, thu, fri], vms: "lab-*"}]'
)


class Lab:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.state = tmp_path / "state"
        self.inventory = tmp_path / "lab.yaml"
        self.write(cpus=2, schedules=NIGHTLY)

    def write(self, *, cpus: int, schedules: str) -> None:
        text = INVENTORY.replace("LAB01_CPUS", str(cpus)).replace("SCHEDULES", schedules)
        self.inventory.write_text(text, encoding="utf-8")

    def orchestrate(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, [*args, str(self.inventory), "--state-dir", str(self.state)])
        return result.exit_code, result.output

    def ps(self, script: str) -> list[str]:
        result = Simulator(state_path=self.state / "simulator" / "hv01.json").run(script)
        assert result.exit_code == 0, result.stderr
        return [line for line in result.stdout.splitlines() if line.strip()]

    def cpus(self, vm: str) -> int:
        return int(self.ps(f"(Get-VM -Name '{vm}').ProcessorCount")[0])

    def set_cpus(self, vm: str, count: int) -> None:
        self.ps(
            f"Stop-VM -Name '{vm}' -TurnOff -Force; Set-VMProcessor -Confirm:$false -VMName '{vm}' -Count {count}; Start-VM -Name '{vm}'"
        )


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab(tmp_path)
    code, output = lab.orchestrate("apply")
    assert code == 0, output
    return lab


def test_checkpoint_then_rollback_from_the_command_line(lab: Lab) -> None:
    lab.set_cpus("lab-01", 3)
    code, output = lab.orchestrate("checkpoint", "--name", "before-lesson")
    assert code == 0, output
    lab.set_cpus("lab-01", 5)

    code, output = lab.orchestrate("rollback", "--to", "before-lesson", "--vm", "lab-0*", "--output", "json")

    assert code == 0, output
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "recap" and events[-1]["exit_code"] == 0
    assert lab.cpus("lab-01") == 3
    assert lab.ps("(Get-VM -Name 'lab-01').ParentSnapshotName") == ["before-lesson"]
    with Journal.open(lab.state) as journal:
        assert journal.runs(last=1)[0].command == "rollback"


def test_rollback_exits_3_while_another_run_holds_the_host(lab: Lab) -> None:
    with HostLock.acquire(lab.state, "hv01", run_id=None, command="orchestrate apply"):
        code, output = lab.orchestrate("rollback", "--to", "clean", "--output", "json")
    assert code == 3, output
    assert lab.ps("(Get-VM -Name 'lab-01').ParentSnapshotName") == ["clean"]


def test_rollback_to_a_missing_checkpoint_exits_1_and_says_which_vm(lab: Lab) -> None:
    code, output = lab.orchestrate("rollback", "--to", "no-such-checkpoint")
    assert code == 1
    assert "no checkpoint named 'no-such-checkpoint' on VM(s) lab-01, lab-02" in output


def test_a_typo_in_the_vm_glob_of_a_nightly_rollback_exits_2_and_touches_nothing(lab: Lab) -> None:
    # The cron line says lab-b-* where the lab's VMs are lab-0*: it used to roll nothing back, every night,
    # with exit 0.
    lab.set_cpus("lab-01", 5)
    with Journal.open(lab.state) as journal:
        runs_before = len(journal.runs(last=100))

    code, output = lab.orchestrate("rollback", "--to", "clean", "--vm", "lab-b-*")

    assert code == 2, output
    assert "--vm 'lab-b-*' matches no VM of the inventory" in output and "VMs: lab-01, lab-02" in output
    assert lab.cpus("lab-01") == 5
    with Journal.open(lab.state) as journal:
        assert len(journal.runs(last=100)) == runs_before  # nothing was contacted, so nothing was journaled

    code, output = lab.orchestrate("checkpoint", "--name", "x", "--vm", "lab-1")
    assert code == 2 and "did you mean 'lab-01'" in output, output


def test_schedules_lists_the_task_and_its_last_result(lab: Lab) -> None:
    code, output = lab.orchestrate("schedules")
    assert code == 0, output
    assert "schedule nightly reset" in output and "never ran" in output
    lab.set_cpus("lab-02", 7)
    lab.ps("Start-ScheduledTask -TaskName 'schedule nightly reset' -TaskPath '\\MultiPoint\\'")

    code, output = lab.orchestrate("schedules", "--output", "json")

    assert code == 0, output
    listing = next(json.loads(line) for line in output.splitlines() if '"event": "schedules"' in line)
    assert [(t["name"], t["last_result"]) for t in listing["tasks"]] == [("schedule nightly reset", 0)]
    assert lab.cpus("lab-02") == 2

    lab.write(cpus=2, schedules="[]")
    code, output = lab.orchestrate("apply")
    assert code == 0, output
    assert lab.ps("$t = @(Get-ScheduledTask -TaskPath '\\MultiPoint\\' -ErrorAction SilentlyContinue); $t.Count") == ["0"]


def test_apply_revert_after_then_confirm(lab: Lab) -> None:
    lab.write(cpus=4, schedules=NIGHTLY)
    code, output = lab.orchestrate("apply", "--revert-after", "30m")
    assert code == 0, output
    assert lab.cpus("lab-01") == 4
    pending = lab.ps(
        "(Get-ScheduledTask -TaskPath '\\MultiPoint\\' | Where-Object -FilterScript { $_.TaskName -like 'revert *' }).TaskName"
    )
    assert len(pending) == 1

    code, output = lab.orchestrate("confirm")

    assert code == 0, output
    assert lab.ps("(Get-ScheduledTask -TaskPath '\\MultiPoint\\').TaskName") == ["schedule nightly reset"]
    assert lab.cpus("lab-01") == 4


def test_an_unconfirmed_apply_is_reverted_by_the_host(lab: Lab) -> None:
    lab.write(cpus=4, schedules=NIGHTLY)
    assert lab.orchestrate("apply", "--revert-after", "1h")[0] == 0
    revert = lab.ps(
        "(Get-ScheduledTask -TaskPath '\\MultiPoint\\' | Where-Object -FilterScript { $_.TaskName -like 'revert *' }).TaskName"
    )[0]

    lab.ps(f"Start-ScheduledTask -TaskName '{revert}' -TaskPath '\\MultiPoint\\'")  # the deadline

    assert lab.cpus("lab-01") == 2
    code, output = lab.orchestrate("confirm")
    assert code == 1 and "too late" in output


def test_revert_after_on_a_host_with_nothing_to_change_says_no_safety_net_is_set(lab: Lab) -> None:
    """The admin asks for a revert and nothing changes: no revert task is registered, and the run says so
    (it used to say nothing, which reads as if the safety net were in place)."""
    code, output = lab.orchestrate("apply", "--revert-after", "30m")
    assert code == 0, output
    assert "no existing VM changes here, so no revert task is installed" in output
    reverts = "@(Get-ScheduledTask -TaskPath '\\MultiPoint\\' | Where-Object -FilterScript { $_.TaskName -like 'revert *' })"
    assert lab.ps(f"{reverts}.Count") == ["0"]


def test_a_bad_duration_is_invalid_input(lab: Lab) -> None:
    code, output = lab.orchestrate("apply", "--revert-after", "soon")
    assert code == 2 and "is not a duration" in output


def test_the_journal_names_the_inventory_by_its_full_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Typed as 'lab.yaml' in the lab's folder; history read later from cron (in $HOME) must still say which.
    lab = Lab(tmp_path)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["apply", "lab.yaml", "--state-dir", str(lab.state)])

    assert result.exit_code == 0, result.output
    with Journal.open(lab.state) as journal:
        assert journal.runs(last=1)[0].inventory == str(tmp_path / "lab.yaml")
