"""When an import fails after Import-VM has run, nothing of it stays: the VM it registered is removed first,
then (once Hyper-V has merged that VM's checkpoints away) its disk folder. The admin's stories: a deadline
that passed while Hyper-V was still copying, an import onto the source's own host under a new name, and a
copy that cannot start for want of memory."""

from __future__ import annotations

from pathlib import Path

from transfer_support import SHARE, Lab, exported

from orchestrator.journal import Journal


def exported_with_a_checkpoint(tmp_path: Path, **seeds: object) -> tuple[Lab, str]:
    """hv01 converged with lab-01 on its baseline checkpoint 'clean', and lab-01 exported to the share."""
    lab = Lab(tmp_path, **seeds)  # type: ignore[arg-type]
    lab.doc["all"]["hosts"]["hv01"]["multipoint_vms"][0]["checkpoints"] = {"baseline": "clean"}
    lab.save()
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.ok("export", str(lab.inventory), "--to", SHARE, "--vm", "lab-01")
    (record,) = Journal.open(lab.state).exports("hv01", "lab-01")
    return lab, record.path


def test_an_import_past_its_deadline_leaves_no_vm_and_no_disk_folder(tmp_path: Path) -> None:
    # given an export, and a target host where Hyper-V's copy takes a minute
    lab, export = exported(tmp_path)
    lab.slow_jobs("hv02", 60)

    # when the admin imports it with a five-second deadline
    code, output = lab.orchestrate(
        "import", str(lab.inventory), "--host", "hv02", "--from", export, "--name", "lab-01-late", "--timeout", "5"
    )

    # then the deadline fails the import (the clock of the host's script, not the test machine's, measures it)
    # and neither the VM Hyper-V registered meanwhile nor its disks are left
    assert code == 1
    assert "the import of lab-01-late did not finish within 5 seconds" in output
    assert lab.facts("hv02").vms == {}
    assert lab.files_under("hv02", "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks") == []
    assert lab.sim("hv02").host.vmms_jobs == []


def test_a_late_import_on_the_source_host_does_not_leave_a_second_vm_of_the_same_name(tmp_path: Path) -> None:
    # given lab-01 exported, and its own host hv01 slow to copy
    lab, export = exported(tmp_path)
    lab.slow_jobs("hv01", 60)

    # when a spare copy is imported there under a new name, and the deadline passes
    code, output = lab.orchestrate(
        "import", str(lab.inventory), "--host", "hv01", "--from", export, "--name", "lab-01-spare", "--timeout", "5"
    )
    assert code == 1 and "did not finish within 5 seconds" in output

    # then hv01 holds only its own two VMs: the copy, still under the export's name lab-01, was removed, so
    # the next converge is not refused with "2 VMs are named lab-01"
    assert sorted(lab.facts("hv01").vms) == ["lab-01", "lab-02"]
    lab.slow_jobs("hv01", 0)
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")


def test_a_copy_that_cannot_start_is_removed_with_its_merged_checkpoints_and_says_why(tmp_path: Path) -> None:
    # given an export of lab-01 (it carries the baseline checkpoint), and a target with 1 GB of memory
    # whose Hyper-V takes five seconds for each job, the merge of a removed VM's checkpoints too
    lab, export = exported_with_a_checkpoint(tmp_path, hv02={"memory": "1GB"})
    assert any(path.lower().endswith(".avhdx") for path in lab.files_under("hv01", export))
    lab.slow_jobs("hv02", 5)

    # when it is imported and started there
    code, output = lab.orchestrate("import", str(lab.inventory), "--host", "hv02", "--from", export, "--start")

    # then the import fails for the memory, not for a folder in use, and nothing of the copy is left
    assert code == 1
    assert "being used by another process" not in output
    assert "memory" in output.lower()
    assert lab.facts("hv02").vms == {}
    assert lab.files_under("hv02", "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks") == []


def test_an_export_on_the_hosts_own_disk_survives_the_removal_of_a_checkpoint_and_still_imports(
    tmp_path: Path,
) -> None:
    """Hyper-V merges the removed checkpoint's files of that VM only; an export's .avhdx copies are plain files
    that no VM names, and must stay as they are (the simulator used to merge every unnamed .avhdx away)."""
    # given lab-01 with its baseline, exported to hv01's own D:\\exports
    lab = Lab(tmp_path, hv01={"folders": ["D:\\exports"]})
    lab.doc["all"]["hosts"]["hv01"]["multipoint_vms"][0]["checkpoints"] = {"baseline": "clean", "keep": 1}
    lab.save()
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.ok("export", str(lab.inventory), "--to", "D:\\exports", "--vm", "lab-01")
    (record,) = Journal.open(lab.state).exports("hv01", "lab-01")
    exported_files = lab.files_under("hv01", record.path)
    assert any(path.lower().endswith(".avhdx") for path in exported_files)

    # when two checkpoints are taken, and retention (keep: 1) removes the older one
    lab.ok("checkpoint", str(lab.inventory), "--name", "monday", "--vm", "lab-01", "--limit", "hv01")
    lab.ok("checkpoint", str(lab.inventory), "--name", "tuesday", "--vm", "lab-01", "--limit", "hv01")
    assert "monday" not in [c.name for c in lab.facts("hv01").vm("lab-01").checkpoints]

    # then the export is whole, and imports there as a spare copy
    assert lab.files_under("hv01", record.path) == exported_files
    lab.ok("import", str(lab.inventory), "--host", "hv01", "--from", record.path, "--name", "lab-01-spare")
    assert lab.facts("hv01").vm("lab-01-spare") is not None
