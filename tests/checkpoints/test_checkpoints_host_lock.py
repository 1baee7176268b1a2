"""The host's own nightly rollback never runs in the middle of an apply: it takes the host lock too
(orchestrator/host_lock.py), waits for the run that holds it, and gives up naming it, restoring nothing.
Before, the task restored the classroom while an apply was changing it."""

from __future__ import annotations

import json

from checkpoint_support import RENDERER, SEED, SimHost, converge_plan, lab_host, lab_vm

from orchestrator.host_lock import LOCK_FOLDER, LOCK_TEMPLATE, TASK_WAIT_SECONDS, LockRequest
from orchestrator.model import Schedule
from orchestrator.simulator import Simulator
from orchestrator.simulator.host.acl import DEFAULT_USER, Identity

NIGHTLY = Schedule("nightly reset", "clean", "03:30", vms="lab-*")
A_STUDENT = Identity.local_user("S-1-5-21-1004336348-1177238915-682003330-1013")
TASK = "schedule nightly reset"


def classroom() -> SimHost:
    host = SimHost(lab_host(lab_vm("lab-01"), lab_vm("lab-02"), schedules=(NIGHTLY,)))
    host.apply()
    return host


def an_apply_still_running(host: SimHost) -> int:
    """Box `laptop`'s apply (run 7) is still at work on the host: it ran the shipped lock-taking part of every
    changing script and has not reached its end, so its PowerShell holds the host lock."""
    request = LockRequest(box="laptop", run=7, command="apply")
    script = RENDERER.render_operation(LOCK_TEMPLATE, host.spec, "6.3", **request.template_context())
    result, pid = host.sim.hold(script)
    assert result.exit_code == 0, result.stderr
    return pid


def test_the_nightly_task_waits_for_a_running_apply_then_gives_up_naming_it() -> None:
    host = classroom()
    host.set_cpus("lab-01", 5)  # the day's drift the task would undo
    pid = an_apply_still_running(host)

    host.start_task(TASK)

    task = next(t for t in host.facts().tasks if t.name == TASK)
    assert task.last_result == 1
    record = json.loads(host.sim.host.tasks[host.sim.host.task_key("\\MultiPoint\\", TASK)].last_output)
    assert record["ok"] is False and "could not take the host lock" in record["error"]
    assert json.loads(record["locked"])["box"] == "laptop" and json.loads(record["locked"])["run"] == 7
    # It waited its bounded time for the apply (simulated: Start-Sleep moves the host's clock), then gave up.
    assert TASK_WAIT_SECONDS <= record["waited_seconds"] <= TASK_WAIT_SECONDS + 60
    assert record["vms"] == [] and host.facts().vm("lab-01").cpus == 5  # nothing restored under the apply

    host.sim.end_process(pid)  # the apply ends
    host.start_task(TASK)
    task = next(t for t in host.facts().tasks if t.name == TASK)
    assert task.last_result == 0
    assert host.facts().vm("lab-01").cpus == 2


def test_a_task_that_finds_the_lock_free_restores_at_once() -> None:
    host = classroom()
    host.set_cpus("lab-02", 6)
    host.start_task(TASK)
    assert host.facts().vm("lab-02").cpus == 2
    assert host.sim.host.open_files == []  # the task's PowerShell ended: its handle closed with it


def a_student_makes_the_state_folder(host: SimHost) -> None:
    """Someone deleted the state folder (an admin tidying up); a student logged on at the host made it again."""
    host.powershell(f"if (Test-Path -LiteralPath '{LOCK_FOLDER}') {{ Remove-Item -LiteralPath '{LOCK_FOLDER}' -Recurse }}")
    made = host.sim.run(f"$null = New-Item -ItemType Directory -Path '{LOCK_FOLDER}'", identity=A_STUDENT)
    assert made.exit_code == 0, made.stderr


def test_the_nightly_task_restores_nothing_from_a_folder_a_student_owns() -> None:
    host = classroom()
    host.set_cpus("lab-01", 5)
    a_student_makes_the_state_folder(host)

    host.start_task(TASK)

    task = host.sim.host.tasks[host.sim.host.task_key("\\MultiPoint\\", TASK)]
    record = json.loads(task.last_output)
    assert task.last_result == 1 and record["ok"] is False
    assert "is owned by " + A_STUDENT.user in record["error"]
    assert host.facts().vm("lab-01").cpus == 5  # nothing restored
    assert host.sim.host.open_files == []


def test_the_apply_script_checks_the_folder_again_after_the_facts_were_read() -> None:
    """The host rule refuses a folder the facts show in a stranger's hands; one taken between the facts and the
    apply is refused by the apply script itself on the host, before any change."""
    host = SimHost(lab_host(lab_vm("lab-01")))
    facts = host.facts()
    assert facts.state_folder is None  # no folder yet: nothing for the host rule to refuse
    a_student_makes_the_state_folder(host)

    outcome = host.run(converge_plan(host.spec, facts))

    assert outcome.exit_code == 1
    assert ("the folder " + LOCK_FOLDER + " is owned by " + A_STUDENT.user) in outcome.document["state_folder"]
    assert host.facts().vms == {}  # nothing created
    assert not any(key.endswith("host.lock") for key in host.sim.host.files)


def test_a_hyper_v_administrator_who_is_no_local_administrator_keeps_working() -> None:
    """Such a member creates the folder as its own (not the Administrators group's) and may write in it after
    the rules are set, since Hyper-V Administrators get full control: the second apply takes the lock again."""
    host = SimHost(lab_host(lab_vm("lab-01")), Simulator(None, {**SEED, "session_admin": False}))
    host.apply()
    folder = host.sim.host.files[LOCK_FOLDER.lower()]
    assert folder.owner == DEFAULT_USER and folder.acl is not None and folder.acl["protected"]
    assert host.facts().vm("lab-01") is not None
    second = host.run(converge_plan(host.spec, host.facts()))
    assert second.exit_code == 0, second.error


def test_on_a_host_whose_creators_own_what_they_make_the_folder_goes_to_administrators() -> None:
    """Where policy makes an administrator's new folder its own account's, the first account hands it to the
    Administrators group, so another administrator's account (the cron box's, a laptop's) is not refused."""
    host = SimHost(lab_host(lab_vm("lab-01")), Simulator(None, {**SEED, "creator_owns": True}))
    host.apply()
    assert host.sim.host.files[LOCK_FOLDER.lower()].owner == "S-1-5-32-544"
    host.sim.host.session_user = "S-1-5-21-1004336348-1177238915-682003330-1105"  # the cron box's account
    host.set_cpus("lab-01", 4)
    outcome = host.run(converge_plan(host.spec, host.facts()))
    assert outcome.exit_code == 0, outcome.error
    assert host.facts().vm("lab-01").cpus == 2
