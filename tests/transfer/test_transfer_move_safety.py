"""A move cannot be lost or doubled: its record lives on the Hyper-V host, so a signal, a second admin box,
the host's own nightly task or the next cron apply never start, recreate or delete the wrong copy.

Two admin boxes are two processes with two state dirs (own journal, own locks) driving the same simulated hosts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from transfer_support import SHARE, Fault, Lab, other_box

from orchestrator.inventory import load_inventory
from orchestrator.move_records import record_path
from orchestrator.runner.move import move_vm


class Interrupt(Fault):
    """Ctrl-C (or SIGTERM, which the CLI turns into the same) arriving while the step that matches runs:
    the step's script ran on the host, then the signal reaches the admin box."""

    def factory(self):  # type: ignore[override]
        inner = Fault(self.host, self.match, "after").factory()
        fault = self

        def opened(host: Any, state_dir: Path) -> Any:
            transport = inner(host, state_dir)
            run = transport.run

            def interrupted(script: str, **kwargs: Any) -> Any:
                try:
                    return run(script, **kwargs)
                except Exception:
                    if host.name == fault.host and fault.match in script:
                        fault.hits += 1
                        raise KeyboardInterrupt from None
                    raise

            transport.run = interrupted
            return transport

        return opened


class Killed(BaseException):  # not an Exception: nothing of the runner catches it
    """Stands for the admin box dying (SIGKILL, power) right after a step: nothing of the move's own runs."""


def applied(tmp_path: Path) -> Lab:
    lab = Lab(tmp_path)
    lab.ok("apply", str(lab.inventory))
    return lab


def second_box(lab: Lab) -> Any:
    """A second admin box: its own process, its own journal and locks, the same Hyper-V hosts."""
    run = other_box(lab)

    def orchestrate(*args: str) -> tuple[int, str]:
        done = run(*args)
        return done.returncode, done.stdout + done.stderr

    return orchestrate


def move(lab: Lab, transport_factory: Any = None) -> Any:
    return move_vm(
        load_inventory(str(lab.inventory)), "lab-01", "hv02", SHARE, state_dir=lab.state,
        emit=lambda event: None, transport_factory=transport_factory,
    )


def killed_after_import(lab: Lab) -> str:
    """Box A's move dies right after the target started the copy: returns the VM's id."""
    vm_id = lab.facts("hv01").vm("lab-01").id
    fault = Fault("hv02", "Import-VM -Path", "after")
    factory = fault.factory()

    def dying(host: Any, state_dir: Path) -> Any:
        transport = factory(host, state_dir)
        run = transport.run

        def run_or_die(script: str, **kwargs: Any) -> Any:
            try:
                return run(script, **kwargs)
            except Exception as exc:
                if "injected" in str(exc):
                    raise Killed() from None
                raise

        transport.run = run_or_die
        return transport

    with contextlib.suppress(Killed):
        move(lab, dying)
    return vm_id


def test_ctrl_c_after_the_import_puts_the_vm_back_on_the_source(tmp_path: Path) -> None:
    lab = applied(tmp_path)
    fault = Interrupt("hv02", "Import-VM -Path")

    result = move(lab, fault.factory())

    assert fault.hits == 1 and not result.ok and result.exit_code == 130
    assert "removed the copy on hv02" in result.undo
    assert lab.facts("hv02").vm("lab-01") is None
    assert sorted(lab.running()) == [("hv01", "lab-01"), ("hv01", "lab-02")]
    assert lab.facts("hv01").moves == ()  # the record went with the undo


def test_a_second_box_apply_leaves_a_vm_in_the_middle_of_a_move_alone(tmp_path: Path) -> None:
    """Before the record, box B's cron apply started the stopped source: the VM ran on both hosts."""
    lab = applied(tmp_path)
    vm_id = killed_after_import(lab)
    assert ("hv02", "lab-01") in lab.running() and lab.facts("hv01").vm("lab-01").state == "Off"

    code, output = second_box(lab)("apply", str(lab.inventory))

    assert code == 1
    assert "being moved to hv02" in output and "--resume" in output
    assert lab.facts("hv01").vm("lab-01").state == "Off"  # not started again
    assert sorted(lab.running()) == [("hv01", "lab-02"), ("hv02", "lab-01")]
    assert lab.exists("hv01", record_path(vm_id))


def test_the_hosts_nightly_rollback_skips_a_vm_being_moved(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.doc["all"]["hosts"]["hv01"]["multipoint_schedules"] = [
        {"name": "nightly", "checkpoint": "clean", "at": "02:30", "vms": "lab-*"}
    ]
    lab.save()
    lab.ok("apply", str(lab.inventory))
    killed_after_import(lab)

    lab.powershell("hv01", "Start-ScheduledTask -TaskName 'schedule nightly' -TaskPath '\\MultiPoint\\'")

    assert lab.facts("hv01").vm("lab-01").state == "Off"  # the task did not start the source
    assert ("hv01", "lab-02") in lab.running()  # and still rolled back the other VM


def test_resume_from_another_box_finishes_and_apply_then_never_recreates_it(tmp_path: Path) -> None:
    """Before the record, the next cron apply recreated a blank lab-01 on hv01 after the move."""
    lab = applied(tmp_path)
    vm_id = killed_after_import(lab)
    box_b = second_box(lab)

    code, output = box_b("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--resume")
    assert code == 0, output
    assert lab.facts("hv01").vm("lab-01") is None
    assert lab.facts("hv02").vm("lab-01").id == vm_id

    code, output = box_b("apply", str(lab.inventory))
    assert code == 1
    assert "was moved to hv02" in output and "move its entry from hv01 to hv02" in output
    assert lab.facts("hv01").vm("lab-01") is None  # not recreated
    assert ("hv02", "lab-01") in lab.running()


def test_undo_from_another_box_puts_the_source_back_as_it_was(tmp_path: Path) -> None:
    lab = applied(tmp_path)
    killed_after_import(lab)

    code, output = second_box(lab)("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--undo")

    assert code == 0, output
    assert lab.facts("hv02").vm("lab-01") is None
    assert sorted(lab.running()) == [("hv01", "lab-01"), ("hv01", "lab-02")]
    assert lab.facts("hv01").moves == ()
    lab.ok("apply", str(lab.inventory))  # the VM is hv01's again: apply converges it as before


def test_a_plain_second_move_refuses_an_unfinished_one(tmp_path: Path) -> None:
    lab = applied(tmp_path)
    killed_after_import(lab)

    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)

    assert code == 1
    assert "--resume" in output
    assert ("hv02", "lab-01") in lab.running() and lab.facts("hv01").vm("lab-01").state == "Off"


def test_the_finish_step_never_deletes_a_source_someone_started_after_the_export(tmp_path: Path) -> None:
    """Before, the finish step checked only the VM id: a source started by hand (or by another box) between the
    steps was turned off and deleted with everything written since the export."""
    lab = applied(tmp_path)

    class StartedByHand(Fault):
        def factory(self):  # type: ignore[override]
            inner = Fault("nobody", "").factory()

            def opened(host: Any, state_dir: Path) -> Any:
                transport = inner(host, state_dir)
                run = transport.run

                def run_after_a_hand_start(script: str, **kwargs: Any) -> Any:
                    if host.name == "hv01" and "$baseFiles" in script:
                        self.hits += 1
                        lab.powershell("hv01", "Start-VM -Name 'lab-01'")
                    return run(script, **kwargs)

                transport.run = run_after_a_hand_start
                return transport

            return opened

    fault = StartedByHand("hv01", "$baseFiles")
    result = move(lab, fault.factory())

    assert fault.hits == 1 and not result.ok
    assert "not removed" in result.error  # the host re-checked right before Remove-VM
    assert result.undo and result.undo[0].startswith("nothing undone")
    assert ("hv01", "lab-01") in lab.running()  # the source, with its new work, is still there
    assert ("hv02", "lab-01") in lab.running()


def test_one_vm_of_a_classroom_cannot_be_moved_alone(tmp_path: Path) -> None:
    """The inventory cannot say that lab-a-02 of classroom lab-a lives on hv02: the next apply would build it
    again on hv01. So the move is refused before anything is contacted."""
    lab = Lab(tmp_path)
    lab.doc["all"]["hosts"]["hv01"]["multipoint_classrooms"] = [{"name": "lab-a", "seats": 30}]
    lab.save()
    lab.ok("apply", str(lab.inventory))
    before = lab.running()

    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-a-02", "--to", "hv02", "--via", SHARE)

    assert code == 2
    assert "classroom 'lab-a'" in output and "changing its host" in output
    assert lab.running() == before
