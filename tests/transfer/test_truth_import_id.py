"""The id `orchestrate import` reports is the imported VM's id, a plain string (issue 13, finding 5).

The import runs in a background job, and what Receive-Job returns carries PSComputerName, RunspaceId and
PSShowComputerName; ConvertTo-Json in Windows PowerShell 3.0-5.1 (2012 and 2012 R2) writes such a string as an
object (PowerShell/PowerShell#5797), so the template casts it before it goes into the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transfer_support import SHARE, Lab

from orchestrator.journal import Journal


@pytest.mark.parametrize("os_version", ["6.2.9200", "6.3.9600"], ids=["2012", "2012R2"])
def test_import_reports_the_new_vms_id_as_a_string(tmp_path: Path, os_version: str) -> None:
    lab = Lab(tmp_path, hv01={"os_version": os_version}, hv02={"os_version": os_version})
    lab.doc["all"]["vars"]["multipoint_vm_defaults"]["generation"] = 1 if os_version.startswith("6.2") else 2
    lab.save()
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.ok("export", str(lab.inventory), "--to", SHARE, "--vm", "lab-01", "--allow-stop")  # 2012: not running
    (record,) = Journal.open(lab.state).exports("hv01", "lab-01")

    code, events = lab.json_events("import", str(lab.inventory), "--host", "hv02", "--from", record.path)

    assert code == 0, events
    imported = lab.facts("hv02").vm("lab-01")
    assert imported is not None
    (reported,) = [e for e in events if e.get("event") == "imported"]
    assert reported["id"] == imported.id
