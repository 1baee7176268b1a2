"""The issue's acceptance story on the shipped demo inventory (two simulated hosts), through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo.yaml"
HV01 = "hv01.demo.local"


class Demo:
    def __init__(self, tmp_path: Path) -> None:
        self.inventory = tmp_path / "demo.yaml"
        shutil.copyfile(DEMO, self.inventory)
        self.state = tmp_path / "state"

    def orchestrate(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, [*args, str(self.inventory), "--state-dir", str(self.state)])
        return result.exit_code, result.output

    def ps(self, script: str, host: str = HV01) -> list[str]:
        result = Simulator(state_path=state_file(self.state, host)).run(script)
        assert result.exit_code == 0, result.stderr
        return [line for line in result.stdout.splitlines() if line.strip()]

    def vm(self, name: str, host: str = HV01) -> dict:
        script = (
            f"$vm = Get-VM -Name '{name}'; ConvertTo-Json -Compress -InputObject ([ordered]@{{ "
            "cpus = $vm.ProcessorCount; parent = $vm.ParentSnapshotName; state = [string]$vm.State; "
            f"checkpoints = @(Get-VMSnapshot -VMName '{name}' | ForEach-Object -Process {{ $_.Name }}) }})"
        )
        return json.loads(self.ps(script, host)[-1])

    def set_cpus(self, name: str, count: int, host: str = HV01) -> None:
        self.ps(
            f"Stop-VM -Name '{name}' -TurnOff -Force; Set-VMProcessor -Confirm:$false -VMName '{name}' -Count {count}; "
            f"Start-VM -Name '{name}'",
            host,
        )


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    demo = Demo(tmp_path)
    code, output = demo.orchestrate("apply")
    assert code == 0, output
    return demo


def test_drift_checkpoint_change_rollback_gives_the_checkpointed_state(demo: Demo) -> None:
    demo.set_cpus("lab-a-01", 3)  # drift away from the inventory (6 CPUs)
    assert demo.orchestrate("checkpoint", "--name", "before-lesson", "--limit", HV01)[0] == 0
    demo.set_cpus("lab-a-01", 5)

    code, output = demo.orchestrate("rollback", "--to", "before-lesson", "--limit", HV01, "--vm", "lab-a-01")

    assert code == 0, output
    vm = demo.vm("lab-a-01")
    assert (vm["cpus"], vm["parent"], vm["state"]) == (3, "before-lesson", "Running")  # not the inventory's 6


def test_retention_keeps_exactly_three_and_the_users_checkpoint_survives(demo: Demo) -> None:
    demo.ps("Checkpoint-VM -Name 'lab-a-02' -SnapshotName 'teacher backup'")
    for day in range(1, 6):
        assert demo.orchestrate("checkpoint", "--name", f"day-{day}", "--limit", HV01)[0] == 0
        names = demo.vm("lab-a-02")["checkpoints"]
        assert "clean" in names and "teacher backup" in names
    assert sorted(n for n in demo.vm("lab-a-02")["checkpoints"] if n.startswith("day-")) == [
        "day-3",
        "day-4",
        "day-5",
    ]


def test_the_nightly_reset_leaves_a_paused_vm_alone_and_restores_the_others(demo: Demo) -> None:
    """Hyper-V paused lab-a-02 when hv01's disk filled up. The 03:30 task, which no admin box watches, must not
    turn it off (what that does to a paused VM is on no 2012 page): it says so and restores the others."""
    import json as json_module

    for name in ("lab-a-01", "lab-a-02", "lab-a-03"):
        demo.set_cpus(name, 2)
    path = state_file(demo.state, HV01)
    document = json_module.loads(path.read_text(encoding="utf-8"))
    for entry in document["host"]["vms"]:
        if entry["name"] == "lab-a-02":
            entry["state"] = "Paused"
    path.write_text(json_module.dumps(document), encoding="utf-8")

    demo.ps("Start-ScheduledTask -TaskName 'schedule nightly reset' -TaskPath '\\MultiPoint\\'")

    assert [demo.vm(n)["cpus"] for n in ("lab-a-01", "lab-a-02", "lab-a-03")] == [6, 2, 6]
    assert demo.vm("lab-a-02")["state"] == "Paused"
    code, output = demo.orchestrate("schedules", "--limit", HV01, "--output", "json")
    assert code == 1 and "is Paused" in output  # the host rules name the paused VM here too
    listing = next(json.loads(line) for line in output.splitlines() if '"event": "schedules"' in line)
    assert [(t["name"], t["last_result"]) for t in listing["tasks"]] == [("schedule nightly reset", 1)]


def test_the_nightly_reset_task_restores_and_leaving_the_inventory_removes_it(demo: Demo) -> None:
    for name in ("lab-a-01", "lab-a-02", "lab-a-03"):
        demo.set_cpus(name, 2)
    demo.ps("Start-ScheduledTask -TaskName 'schedule nightly reset' -TaskPath '\\MultiPoint\\'")

    assert [demo.vm(n)["cpus"] for n in ("lab-a-01", "lab-a-02", "lab-a-03")] == [6, 6, 6]
    code, output = demo.orchestrate("schedules", "--limit", HV01, "--output", "json")
    assert code == 0, output
    listing = next(json.loads(line) for line in output.splitlines() if '"event": "schedules"' in line)
    assert [(t["name"], t["last_result"]) for t in listing["tasks"]] == [("schedule nightly reset", 0)]

    text = demo.inventory.read_text(encoding="utf-8")
    start = text.index("          multipoint_schedules:")
    end = text.index("        hv02.demo.local:")
    demo.inventory.write_text(text[:start] + text[end:], encoding="utf-8")
    code, output = demo.orchestrate("apply")
    assert code == 0, output
    assert demo.ps("$t = @(Get-ScheduledTask -TaskPath '\\MultiPoint\\' -ErrorAction SilentlyContinue); $t.Count") == ["0"]
