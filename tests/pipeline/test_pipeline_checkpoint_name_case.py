"""Checkpoint names compare as the scripts compare them: case aside (PowerShell's `-eq`).

Before, the admin box compared names exactly while every script used `-eq`: `checkpoint --name Before-Exam`
next to an existing `before-exam` was planned, skipped by the script, then reported as failed; a rollback to
`CLEAN` was refused although the script would have restored `clean`; and a baseline someone renamed `Clean`
counted as lost.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file
from orchestrator.transport.stdin import channel

POLICY = {"baseline": "clean", "keep": 1}


def classroom(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", checkpoints=POLICY)]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    return state, inventory


def checkpoints(state: Path) -> list[str]:
    return sorted(s["name"] for s in vms_of(state, "hv01")["lab-01"].get("snapshots", []))


def by_hand(state: Path, script: str) -> None:
    result = Simulator(state_path=state_file(state, "hv01")).run(*channel("$ErrorActionPreference = 'Stop'\n" + script))
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


# A real host's -eq is linguistic (orchestrator/vm_index.py alike_key): a name typed with a decomposed
# accent, or ß for ss, may find the other spelling's checkpoint there while this box keeps them apart.
COMPOSED, DECOMPOSED = "Pr\u00fcfung", "Pru\u0308fung"


def test_a_checkpoint_name_a_real_host_may_take_for_an_existing_one_is_not_taken(tmp_path: Path) -> None:
    """The admin took 'Prüfung' by hand; a script asks for the same word typed decomposed. On a real host the
    checkpoint fragment could find the admin's, skip taking one and mark it ours (retention would prune it)."""
    state, inventory = classroom(tmp_path)
    by_hand(state, f"Checkpoint-VM -Name 'lab-01' -SnapshotName '{COMPOSED}'")
    notes_before = vms_of(state, "hv01")["lab-01"]["notes"]

    result = orchestrate("checkpoint", inventory, "--name", DECOMPOSED, "--state-dir", state)

    assert result.exit_code == 1
    assert f"have a checkpoint whose name a real host's name comparison may take for {DECOMPOSED!r}" in result.output
    assert checkpoints(state) == sorted(["clean", COMPOSED])
    assert vms_of(state, "hv01")["lab-01"]["notes"] == notes_before  # the admin's checkpoint was not made ours


def test_a_rollback_is_refused_where_two_spellings_of_the_name_exist(tmp_path: Path) -> None:
    state, inventory = classroom(tmp_path)
    by_hand(state, f"Checkpoint-VM -Name 'lab-01' -SnapshotName '{COMPOSED}'\n"
                   f"Checkpoint-VM -Name 'lab-01' -SnapshotName '{DECOMPOSED}'\n"
                   "Stop-VM -Name 'lab-01' -TurnOff -Force\nSet-VMProcessor -VMName 'lab-01' -Count 6 -Confirm:$false")

    result = orchestrate("rollback", inventory, "--to", COMPOSED, "--state-dir", state)

    assert result.exit_code == 1
    assert "also have a checkpoint whose name a real host's name comparison may take for" in result.output
    assert vms_of(state, "hv01")["lab-01"]["cpus"] == 6  # nothing restored


def test_a_checkpoint_a_real_host_may_take_for_the_baseline_leaves_the_vm_alone(tmp_path: Path) -> None:
    """The inventory's baseline is 'Straße'; someone made 'STRASSE' by hand before orchestrate took one."""
    state = tmp_path / "state"
    plain = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01")]}})
    assert orchestrate("apply", plain, "--state-dir", state).exit_code == 0
    by_hand(state, "Checkpoint-VM -Name 'lab-01' -SnapshotName 'STRASSE'")
    with_baseline = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", checkpoints={"baseline": "Straße"})]}}
    )

    result = orchestrate("apply", with_baseline, "--state-dir", state)

    assert result.exit_code == 1
    assert "may take for its baseline 'Straße' ('STRASSE')" in result.output and "Rename-VMSnapshot" in result.output
    assert checkpoints(state) == ["STRASSE"]


def test_an_empty_or_padded_checkpoint_name_is_refused_before_any_host(tmp_path: Path) -> None:
    """`--name ''` (an unset variable in a cron line) used to reach the hosts: Checkpoint-VM made a checkpoint
    of its default name on every VM, which no script then found (unmarked, the run failed). Now exit 2, and
    the hosts keep exactly their checkpoints; a name padded with a space is refused the same way."""
    state, inventory = classroom(tmp_path)
    before = checkpoints(state)
    for args in (["checkpoint", "--name", ""], ["checkpoint", "--name", "friday "], ["rollback", "--to", " clean"]):
        result = orchestrate(args[0], inventory, *args[1:], "--state-dir", state)
        assert result.exit_code == 2, result.output
        assert "the checkpoint name" in result.output
    assert checkpoints(state) == before
    padded = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", checkpoints={"baseline": "clean "})]}}
    )
    result = orchestrate("validate", padded)
    assert result.exit_code == 2 and "the baseline checkpoint name starts or ends with a space" in result.output
