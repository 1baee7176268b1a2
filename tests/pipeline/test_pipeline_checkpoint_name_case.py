"""Checkpoint names compare as the scripts compare them: case aside (PowerShell's `-eq`).

Before, the admin box compared names exactly while every script used `-eq`: `checkpoint --name Before-Exam`
next to an existing `before-exam` was planned, skipped by the script, then reported as failed; a rollback to
`CLEAN` was refused although the script would have restored `clean`; and a baseline someone renamed `Clean`
counted as lost.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import BOOTSTRAP, Simulator
from orchestrator.transport.simulated import state_file

POLICY = {"baseline": "clean", "keep": 1}


def classroom(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", checkpoints=POLICY)]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    return state, inventory


def checkpoints(state: Path) -> list[str]:
    return sorted(s["name"] for s in vms_of(state, "hv01")["lab-01"].get("snapshots", []))


def by_hand(state: Path, script: str) -> None:
    result = Simulator(state_path=state_file(state, "hv01")).run(BOOTSTRAP, stdin="$ErrorActionPreference = 'Stop'\n" + script)
    assert result.exit_code == 0, result.stderr


def test_a_checkpoint_name_that_differs_only_in_case_is_the_existing_one(tmp_path: Path) -> None:
    state, inventory = classroom(tmp_path)
    assert orchestrate("checkpoint", inventory, "--name", "before-exam", "--state-dir", state).exit_code == 0

    again = orchestrate("checkpoint", inventory, "--name", "Before-Exam", "--state-dir", state)

    assert again.exit_code == 1
    assert "a checkpoint named 'Before-Exam' already exists on VM(s) lab-01" in again.output
    assert checkpoints(state) == ["before-exam", "clean"]


def test_a_rollback_to_the_name_in_other_case_restores_that_checkpoint(tmp_path: Path) -> None:
    state, inventory = classroom(tmp_path)
    by_hand(state, "Stop-VM -Name 'lab-01' -TurnOff -Force\nSet-VMProcessor -VMName 'lab-01' -Count 6 -Confirm:$false")

    result = orchestrate("rollback", inventory, "--to", "CLEAN", "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert vms_of(state, "hv01")["lab-01"]["cpus"] == 2


def test_a_baseline_renamed_in_other_case_is_still_the_baseline_and_never_pruned(tmp_path: Path) -> None:
    state, inventory = classroom(tmp_path)
    by_hand(state, "Get-VMSnapshot -VMName 'lab-01' | Rename-VMSnapshot -NewName 'Clean' -Confirm:$false")

    plan = orchestrate("plan", inventory, "--state-dir", state)
    assert plan.exit_code == 0 and "lost their baseline" not in plan.output, plan.output
    for name in ("monday", "tuesday"):  # keep: 1 prunes monday, never the baseline
        assert orchestrate("checkpoint", inventory, "--name", name, "--state-dir", state).exit_code == 0

    assert checkpoints(state) == ["Clean", "tuesday"]
