"""Deadlines stop PowerShell, not Hyper-V (issue 13, finding 8): an export is Hyper-V's own job, which goes on
when the PowerShell job that asked for it is removed (cmdlets_disk._vmms_export_job cites the pages). Past its
deadline the export script waits for that job to end before it deletes the partial folder or starts the VM."""

from __future__ import annotations

from pathlib import Path

import pytest
from transfer_support import SHARE, Lab

from orchestrator.journal import Journal

VERSIONS = pytest.mark.parametrize("os_version", ["6.2.9200", "6.3.9600"], ids=["2012", "2012R2"])


def slow_classroom(tmp_path: Path, os_version: str) -> Lab:
    """hv01 applied with the classroom VMs running, on a host where every job (Hyper-V's too) takes forever."""
    lab = Lab(tmp_path, hv01={"os_version": os_version})
    lab.doc["all"]["vars"]["multipoint_vm_defaults"]["generation"] = 1 if os_version.startswith("6.2") else 2
    lab.save()
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.slow_jobs("hv01", 10**9)
    return lab


@VERSIONS
def test_an_export_past_its_deadline_leaves_no_folder_and_restarts_the_vm_only_after_hyperv_ended(
    tmp_path: Path, os_version: str
) -> None:
    # given a running classroom VM whose export will not finish in time
    lab = slow_classroom(tmp_path, os_version)

    # when the admin exports it with --allow-stop and a one-second deadline
    code, output = lab.orchestrate(
        "export", str(lab.inventory), "--to", SHARE, "--vm", "lab-01", "--allow-stop", "--timeout", "1"
    )

    # then the export fails saying so, nothing is left on the share, no Hyper-V job is still writing,
    # and the VM runs again
    assert code == 1
    assert "did not finish within 1 seconds" in output
    assert lab.files_under("hv01", SHARE) == []
    assert Journal.open(lab.state).exports("hv01", "lab-01") == []
    assert lab.sim("hv01").host.vmms_jobs == []
    vm = lab.facts("hv01").vm("lab-01")
    assert vm is not None and vm.running


@VERSIONS
def test_while_hyperv_still_exports_its_folder_cannot_be_deleted_nor_its_vm_started(
    tmp_path: Path, os_version: str
) -> None:
    # given an export whose PowerShell job was removed while Hyper-V's job still runs
    lab = slow_classroom(tmp_path, os_version)
    lab.slow_jobs("hv01", 30)
    folder = f"{SHARE}\\lab-01-by-hand"
    lab.powershell("hv01", "Stop-VM -Name 'lab-01' -Save\n"
                   f"$job = Start-Job -ScriptBlock {{ Export-VM -Name 'lab-01' -Path '{folder}' -Confirm:$false }}\n"
                   "Wait-Job -Job $job -Timeout 2 | Out-Null\nRemove-Job -Job $job -Force")
    sim = lab.sim("hv01")
    assert [job["path"] for job in sim.host.vmms_jobs] == [f"{folder}\\lab-01"]

    # then Hyper-V refuses both while its job runs
    deleting = sim.run(f"$ErrorActionPreference = 'Stop'\nRemove-Item -LiteralPath '{folder}' -Recurse -Force")
    assert deleting.exit_code != 0 and "being used by another process" in deleting.stderr
    starting = sim.run("$ErrorActionPreference = 'Stop'\nStart-VM -Name 'lab-01'")
    assert starting.exit_code != 0 and "export of the virtual machine is in progress" in starting.stderr

    # and once the job's 30 seconds have passed, both work
    lab.powershell("hv01", f"Start-Sleep -Seconds 30\nRemove-Item -LiteralPath '{folder}' -Recurse -Force\n"
                   "Start-VM -Name 'lab-01'")
    assert lab.files_under("hv01", folder) == []
    vm = lab.facts("hv01").vm("lab-01")
    assert vm is not None and vm.running
