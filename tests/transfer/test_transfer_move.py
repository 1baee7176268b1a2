"""`orchestrate move`: the admin moves a VM to another host through a share. It arrives with what it had
(a drift made on the source comes along), the export stays on the share, the source goes (or stays off),
and the printed inventory change makes the next apply a no-op. Any failure, at any step, leaves the source
exactly as it was and nothing on the target: no VM lost, none running twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from transfer_support import SHARE, Fault, Lab

from orchestrator.inventory import load_inventory
from orchestrator.runner.move import move_vm


def lab_with_vms(tmp_path: Path, **seeds) -> Lab:
    lab = Lab(tmp_path, **seeds)
    lab.ok("apply", str(lab.inventory))
    return lab


def move_with_fault(lab: Lab, fault: Fault, inventory=None):
    """Move lab-01 from hv01 to hv02 through the share, with `fault` injected in the hosts' transport."""
    return move_vm(
        inventory or load_inventory(str(lab.inventory)),
        "lab-01",
        "hv02",
        SHARE,
        state_dir=lab.state,
        emit=lambda event: None,
        transport_factory=fault.factory(),
    )


def test_move_carries_the_vm_with_its_drift_and_leaves_the_export_on_the_share(tmp_path: Path) -> None:
    lab = lab_with_vms(tmp_path)
    # Someone gave lab-01 a third CPU by hand on hv01, after the last apply.
    lab.powershell(
        "hv01",
        "Stop-VM -Name 'lab-01' -Force; Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 3; Start-VM -Name 'lab-01'",
    )
    before = lab.facts("hv01").vm("lab-01")

    output = lab.ok("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)

    moved = lab.facts("hv02").vm("lab-01")
    assert moved is not None and moved.running
    assert moved.id == before.id  # the same VM, not a copy with a new identity
    assert moved.cpus == 3
    assert moved.guest_edition_sku == 77
    assert moved.switches == ("Classroom LAN",)
    assert lab.facts("hv01").vm("lab-01") is None
    assert lab.facts("hv01").vm("lab-02").running  # the neighbour was not touched
    assert sorted(lab.running()) == [("hv01", "lab-02"), ("hv02", "lab-01")]
    exported = lab.files_under("hv02", SHARE + "\\lab-01")
    assert any(f.endswith(".XML") and "\\Virtual Machines\\" in f for f in exported)
    assert any(f.endswith(".vhdx") and "\\Virtual Hard Disks\\" in f for f in exported)
    assert "cpus: 3" in output and "hv02" in output


def test_the_printed_inventory_change_makes_the_next_apply_a_no_op(tmp_path: Path) -> None:
    lab = lab_with_vms(tmp_path)
    lab.powershell(
        "hv01",
        "Stop-VM -Name 'lab-01' -Force; Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 3; Start-VM -Name 'lab-01'",
    )
    output = lab.ok("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)

    # The admin edits the inventory as the move said: the entry leaves hv01 and joins hv02, with its values.
    entry_line = next(line for line in output.splitlines() if line.startswith("- {name: 'lab-01'"))
    entry = yaml.safe_load(entry_line)[0]
    hosts = lab.doc["all"]["hosts"]
    old = next(vm for vm in hosts["hv01"]["multipoint_vms"] if vm["name"] == "lab-01")
    hosts["hv01"]["multipoint_vms"].remove(old)
    hosts["hv02"]["multipoint_vms"] = [{**old, **entry}]
    lab.save()

    code, events = lab.json_events("apply", str(lab.inventory))
    assert code == 0
    assert [e for e in events if e["event"] == "planned"] == []


def test_move_keep_source_leaves_the_source_off(tmp_path: Path) -> None:
    lab = lab_with_vms(tmp_path)
    source_id = lab.facts("hv01").vm("lab-01").id
    output = lab.ok(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE, "--keep-source"
    )
    kept = lab.facts("hv01").vm("lab-01")
    assert kept is not None and kept.id == source_id and kept.state == "Off"
    assert lab.facts("hv02").vm("lab-01").running
    assert 'state: "off"' in output


def test_move_dry_run_checks_both_hosts_and_changes_nothing(tmp_path: Path) -> None:
    lab = lab_with_vms(tmp_path)
    output = lab.ok("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE, "--dry-run")
    assert "can move" in output
    assert lab.facts("hv01").vm("lab-01").running
    assert lab.facts("hv02").vms == {}
    assert lab.files_under("hv01", SHARE) == []


def test_move_is_refused_when_the_target_has_a_vm_of_that_name(tmp_path: Path) -> None:
    lab = lab_with_vms(tmp_path)
    lab.powershell("hv02", "New-VM -Confirm:$false -Name 'lab-01' -MemoryStartupBytes 1GB -NoVHD | Out-Null")
    code, output = lab.orchestrate(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE
    )
    assert code == 1
    assert "already exists on hv02" in output
    source = lab.facts("hv01").vm("lab-01")
    assert source.running
    assert lab.facts("hv02").vm("lab-01").state == "Off"  # theirs, untouched


def test_move_is_refused_when_the_target_has_a_vm_a_real_host_may_take_for_it(tmp_path: Path) -> None:
    """hv02 has 'lab\u00ad-01' (a soft hyphen, pasted from a document): not lab-01 here, but a real host's
    linguistic -eq skips the soft hyphen (orchestrator/vm_index.py), so the steps after the import could act
    on that VM. Refused before the export; both VMs as they were."""
    lab = lab_with_vms(tmp_path)
    lab.powershell("hv02", "New-VM -Confirm:$false -Name 'lab\u00ad-01' -MemoryStartupBytes 1GB -NoVHD | Out-Null")
    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)
    assert code == 1
    assert "a real host's name comparison may take for 'lab-01'" in output and "not moved" in output
    assert lab.facts("hv01").vm("lab-01").running
    assert lab.facts("hv02").vm("lab\u00ad-01").state == "Off" and lab.facts("hv02").vm("lab-01") is None
    assert lab.files_under("hv01", SHARE) == []


def test_a_vm_the_host_rules_refuse_is_not_stopped_or_exported_by_a_move(tmp_path: Path) -> None:
    """lab-01 is Paused (Hyper-V paused it when hv01's disk filled): the host rules refuse it, and the move's
    export step must then do nothing to it. It used to stop it (Stop-VM), export it, fail on the refusal,
    and then fail to put it back Paused."""
    import json

    from orchestrator.transport.simulated import state_file

    lab = lab_with_vms(tmp_path)
    path = state_file(lab.state, "hv01")
    document = json.loads(path.read_text(encoding="utf-8"))
    for entry in document["host"]["vms"]:
        if entry["name"] == "lab-01":
            entry["state"] = "Paused"
    path.write_text(json.dumps(document), encoding="utf-8")

    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)

    assert code == 1 and "VM 'lab-01' is Paused" in output and "undo" not in output
    assert lab.facts("hv01").vm("lab-01").state == "Paused"
    assert lab.facts("hv02").vm("lab-01") is None
    assert lab.files_under("hv01", SHARE) == []


def test_a_second_move_never_removes_the_copy_an_interrupted_move_left_on_the_target(tmp_path: Path) -> None:
    """A move that died after the import leaves the VM running on the target (same id) and off on the source.
    Running the move again must refuse before exporting, not import, fail and then "undo" by removing the
    target's VM by id: that VM is the one the students are using."""
    lab = lab_with_vms(tmp_path)
    source_id = lab.facts("hv01").vm("lab-01").id
    lab.ok("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE, "--keep-source")
    exports_before = lab.files_under("hv01", SHARE)

    code, output = lab.orchestrate(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE
    )
    assert code == 1
    assert "already exists on hv02" in output
    target = lab.facts("hv02").vm("lab-01")
    assert target is not None and target.id == source_id and target.running  # the working copy survives
    source = lab.facts("hv01").vm("lab-01")
    assert source is not None and source.state == "Off"  # left exactly as it was
    assert lab.files_under("hv01", SHARE) == exports_before  # refused before anything was exported


STEPS = [
    pytest.param(Fault("hv01", "Export-VM -Path", "before"), id="export-connection-lost-before"),
    pytest.param(Fault("hv01", "Export-VM -Path", "after"), id="export-answer-lost-after"),
    pytest.param(Fault("hv02", "Import-VM -Path", "before"), id="import-connection-lost-before"),
    pytest.param(Fault("hv02", "Import-VM -Path", "after"), id="import-answer-lost-after-start"),
    pytest.param(Fault("hv01", "$baseFiles", "before"), id="source-removal-connection-lost-before"),
]


@pytest.mark.parametrize("fault", STEPS)
def test_a_failure_at_any_step_leaves_the_source_as_it_was(tmp_path: Path, fault: Fault) -> None:
    lab = lab_with_vms(tmp_path)
    lab.powershell(
        "hv01",
        "Stop-VM -Name 'lab-01' -Force; Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 3; Start-VM -Name 'lab-01'",
    )
    before = lab.facts("hv01").vm("lab-01")
    inventory = load_inventory(str(lab.inventory))

    result = move_with_fault(lab, fault, inventory)

    assert fault.hits == 1
    assert not result.ok and result.exit_code == 1
    after = lab.facts("hv01").vm("lab-01")
    assert after is not None
    assert (after.id, after.state, after.cpus, after.disks) == (before.id, "Running", 3, before.disks)
    assert lab.facts("hv02").vm("lab-01") is None
    assert sorted(lab.running()) == [("hv01", "lab-01"), ("hv01", "lab-02")]
    # A failed import leaves no copied disk behind on the target either.
    assert [f for f in lab.files_under("hv02", "C:\\") if "lab-01" in f] == []


def test_a_target_that_cannot_run_the_vm_undoes_the_move(tmp_path: Path) -> None:
    # hv02 has too little memory for the VM: Start-VM fails there after the import.
    lab = lab_with_vms(tmp_path, hv02={"memory": "5GB"})
    before = lab.facts("hv01").vm("lab-01")
    code, output = lab.orchestrate(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE
    )
    assert code == 1
    assert "failed at import on hv02" in output and "removed the copy on hv02" in output
    after = lab.facts("hv01").vm("lab-01")
    assert (after.id, after.state) == (before.id, "Running")
    assert lab.facts("hv02").vm("lab-01") is None


def test_a_guest_that_is_not_premium_on_the_target_undoes_the_move(tmp_path: Path) -> None:
    # On hv02 the parent image at the same path holds Standard: the guest boots Standard and is refused.
    lab = lab_with_vms(tmp_path, hv02={"images": {"D:\\images\\mps2012-premium.vhdx": {"edition_sku": 76}}})
    code, output = lab.orchestrate(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE
    )
    assert code == 1
    assert "not MultiPoint Server Premium" in output
    assert lab.facts("hv01").vm("lab-01").running
    assert lab.facts("hv02").vm("lab-01") is None


def test_a_full_share_fails_the_export_and_leaves_no_partial_folder(tmp_path: Path) -> None:
    seed = {"shares": {SHARE: {"free": "1MB"}}}
    lab = lab_with_vms(tmp_path, hv01=seed, hv02=seed)
    code, output = lab.orchestrate(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE
    )
    assert code == 1
    assert "failed at export on hv01" in output
    assert lab.facts("hv01").vm("lab-01").running
    assert lab.files_under("hv01", SHARE) == []


def test_a_saved_source_is_saved_again_after_a_failed_move(tmp_path: Path) -> None:
    lab = lab_with_vms(tmp_path)
    lab.powershell("hv01", "Stop-VM -Name 'lab-01' -Save")
    fault = Fault("hv02", "Import-VM -Path", "before")
    result = move_with_fault(lab, fault)
    assert not result.ok
    assert lab.facts("hv01").vm("lab-01").state == "Saved"


def test_when_the_source_is_already_gone_the_copy_on_the_target_stays(tmp_path: Path) -> None:
    # The removal ran on hv01 but its answer was lost: the VM now lives only on hv02, and must stay there.
    lab = lab_with_vms(tmp_path)
    source_id = lab.facts("hv01").vm("lab-01").id
    fault = Fault("hv01", "$baseFiles", "after")
    result = move_with_fault(lab, fault)
    assert not result.ok
    assert any("already gone" in note for note in result.undo)
    assert lab.facts("hv01").vm("lab-01") is None
    moved = lab.facts("hv02").vm("lab-01")
    assert moved is not None and moved.id == source_id and moved.running


def test_a_move_waits_for_no_one_and_touches_nothing_while_another_run_holds_a_host(tmp_path: Path) -> None:
    from orchestrator.locks import HostLock

    lab = lab_with_vms(tmp_path)
    with HostLock.acquire(lab.state, "hv02", 99, command="orchestrate apply"):
        code, output = lab.orchestrate(
            "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE
        )
    assert code == 3
    assert "locked" in output
    assert lab.facts("hv01").vm("lab-01").running
    assert lab.files_under("hv01", SHARE) == []


def test_no_apply_can_run_on_either_host_while_the_move_runs(tmp_path: Path) -> None:
    from orchestrator.locks import HostLock, HostLocked

    lab = lab_with_vms(tmp_path)
    attempts: list[str] = []

    def apply_meanwhile(event) -> None:
        # Whenever the move reports progress, a cron apply tries to take each host: it must find them locked.
        if type(event).__name__ == "ActionDone":
            for host in ("hv01", "hv02"):
                try:
                    with HostLock.acquire(lab.state, host, 100, command="orchestrate apply"):
                        attempts.append(f"{host} free")
                except HostLocked:
                    attempts.append(f"{host} locked")

    result = move_vm(
        load_inventory(str(lab.inventory)), "lab-01", "hv02", SHARE, state_dir=lab.state, emit=apply_meanwhile
    )
    assert result.ok
    assert attempts and all(a.endswith("locked") for a in attempts)


def test_a_move_needs_a_share_and_contacts_no_host_otherwise(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    code, output = lab.orchestrate(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", "D:\\exports"
    )
    assert code == 2 and "is not a share" in output
    assert not (lab.state / "simulator").exists()


def test_an_undo_that_did_not_finish_ends_with_the_command_that_finishes_it(capsys: pytest.CaptureFixture[str]) -> None:
    # A second SIGTERM (or a host that went away) stopped the undo half-way: the admin is told what to run.
    from orchestrator.cli.move import _report
    from orchestrator.runner.move import MoveResult

    result = MoveResult(False, "hv02.demo.local", "import", "interrupted by a signal", undo=[
        "could not put exam-room on hv02.demo.local back to Off: the run on hv02.demo.local failed (exit 130)"])

    _report(result, "exam-room", "hv01.demo.local", "\\\\nas\\exports", None, "text", "inventories/demo.yaml")

    shown = capsys.readouterr()
    assert ("orchestrate move inventories/demo.yaml --vm exam-room --to hv01.demo.local --undo"
            in shown.out + shown.err)


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_target_without_the_vms_base_image_is_refused_before_the_source_is_touched(
    tmp_path: Path, dry_run: bool
) -> None:
    # lab-01's disk is a differencing child of D:\images\mps2012-premium.vhdx, which hv02 does not have; an
    # export may not carry that image (no page says), so the VM might not start there (audit J M3).
    lab = lab_with_vms(tmp_path, hv02={"images": {}})

    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE,
                                   *(["--dry-run"] if dry_run else []))

    assert code == 1, output
    assert "differencing disk on D:\\images\\mps2012-premium.vhdx, which this host lacks" in output
    assert lab.facts("hv01").vm("lab-01").running  # the source is exactly as it was
    assert lab.facts("hv02").vm("lab-01") is None
    assert lab.files_under("hv02", SHARE + "\\lab-01") == []  # nothing exported
