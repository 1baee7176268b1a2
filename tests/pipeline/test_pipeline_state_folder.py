"""The state folder on the host (C:\\ProgramData\\MultiPointOrchestrator: the host lock and the move records)
is used only when an administrator's side owns it, and then only administrators may write in it.

Why: a move record there stops every command from touching a VM and makes the nightly rollback skip it, and
whoever holds host.lock open stops every change. If anyone who can log on to the host could create that
folder first (ProgramData lets users create folders: believed, not sourced), they would own it, and an
owner may always rewrite a folder's access rules (learn.microsoft.com "Owner of a New Object").
"""

from __future__ import annotations

from pathlib import Path

from pipeline_support import host_state, json_events, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.host_lock import LOCK_FOLDER, STATE_FOLDER_OWNERS
from orchestrator.move_records import MOVES_FOLDER
from orchestrator.simulator import Simulator
from orchestrator.simulator.host.acl import Identity
from orchestrator.simulator.host.model import norm_path
from orchestrator.transport.simulated import state_file

A_STUDENT = Identity.local_user("S-1-5-21-1004336348-1177238915-682003330-1013")
FULL_CONTROL, INHERITED_BY_ALL = 2032127, 3


def the_host(state: Path) -> Simulator:
    """The simulated host hv01 as somebody at its console reaches it (seeded as the inventory's, if new)."""
    return Simulator(state_path=state_file(state, "hv01"), seed=simulated_host()["orchestrate_simulator"])


def folder_of(state: Path, path: str = LOCK_FOLDER) -> dict:
    return next(f for f in host_state(state, "hv01")["files"] if norm_path(f["path"]) == norm_path(path))


def host_done(result) -> dict:
    return next(e for e in json_events(result) if e["event"] == "host_done" and e["host"] == "hv01")


def classroom(tmp_path: Path, **seed) -> Path:
    return write_inventory(tmp_path, {"hv01": {**simulated_host(**seed), "multipoint_vms": [vm("lab-01")]}})


def test_the_first_apply_leaves_a_folder_only_administrators_may_write(tmp_path: Path) -> None:
    state = tmp_path / "s"
    result = orchestrate("apply", classroom(tmp_path), "--state-dir", state, "-o", "json")
    assert result.exit_code == 0, result.output

    folder = folder_of(state)
    assert folder["owner"] == "S-1-5-32-544"  # made by an administrator: owned by the Administrators group
    assert folder["acl"]["protected"] is True  # nothing inherited from ProgramData
    assert sorted(rule["sid"] for rule in folder["acl"]["rules"]) == sorted(STATE_FOLDER_OWNERS)
    assert all(
        (rule["rights"], rule["inheritance"], rule["control"]) == (FULL_CONTROL, INHERITED_BY_ALL, 0)
        for rule in folder["acl"]["rules"]
    )
    # A student logged on at the host can plant nothing there, in the folder or below it.
    for planted in (LOCK_FOLDER + "\\notes.txt", MOVES_FOLDER + "\\forged.json"):
        tried = the_host(state).run(
            f"New-Item -ItemType File -Path '{planted}' -Value 'x' -Force", identity=A_STUDENT
        )
        assert tried.exit_code == 1 and "is denied" in tried.stderr
    assert not any(f["path"].endswith(("notes.txt", "forged.json")) for f in host_state(state, "hv01")["files"])

    again = orchestrate("apply", classroom(tmp_path), "--state-dir", state, "-o", "json")
    assert again.exit_code == 0 and host_done(again)["status"] == "ok"  # the lock still opens for the admin


def test_a_folder_a_student_made_first_stops_every_change_with_what_to_do(tmp_path: Path) -> None:
    state = tmp_path / "s"
    inventory = classroom(tmp_path)
    orchestrate("validate", inventory)  # nothing contacted
    planted = the_host(state).run(
        f"$null = New-Item -ItemType Directory -Path '{MOVES_FOLDER}' -Force; "
        f"$null = New-Item -ItemType File -Path '{MOVES_FOLDER}\\forged.json' -Value '{{}}'",
        identity=A_STUDENT,
    )
    assert planted.exit_code == 0, planted.stderr

    plan = orchestrate("plan", inventory, "--state-dir", state, "-o", "json")
    assert plan.exit_code == 1
    done = host_done(plan)
    assert done["status"] == "failed"
    assert A_STUDENT.user in done["error"] and "not used" in done["error"]
    assert "takeown /F C:\\ProgramData\\MultiPointOrchestrator /A /R /D Y" in done["fix"]

    apply = orchestrate("apply", inventory, "--state-dir", state, "-o", "json")
    assert apply.exit_code == 1 and host_done(apply)["status"] == "failed"
    assert vms_of(state, "hv01") == {}  # nothing created
    assert folder_of(state)["owner"] == A_STUDENT.user and folder_of(state)["acl"] is None  # left as found
    assert folder_of(state, MOVES_FOLDER + "\\forged.json")["text"] == "{}"  # evidence kept for the admin


def test_a_folder_an_earlier_version_left_is_secured_by_the_next_apply(tmp_path: Path) -> None:
    state = tmp_path / "s"
    inventory = classroom(tmp_path, folders=[LOCK_FOLDER])  # made by an administrator, rules inherited
    assert orchestrate("apply", inventory, "--state-dir", state, "-o", "json").exit_code == 0
    assert folder_of(state)["acl"]["protected"] is True


def test_an_apply_that_finds_the_folder_taken_on_the_host_tells_the_admin_what_to_do() -> None:
    """The apply script's own refusal (the folder changed hands after the facts were read) reaches the admin
    as a failed host with the reason and the fix, not as a lock held by nobody."""
    from orchestrator.host_lock import STATE_FOLDER_FIX
    from orchestrator.runner.host import HostWork
    from orchestrator.runner.results import HostOutcome

    refusal = f"the folder {LOCK_FOLDER} is owned by {A_STUDENT.user}, not by Administrators, SYSTEM, ..."
    outcome = HostWork._host_locked(
        "hv01", {"ok": False, "locked": None, "state_folder": refusal, "error": "could not take the host lock"},
        HostOutcome("hv01"),
    )
    assert outcome.status == "failed"
    assert refusal in outcome.error and "nothing was changed" in outcome.error
    assert outcome.fix == STATE_FOLDER_FIX
