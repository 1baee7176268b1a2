"""A move leaves no disk file of the moved VM on the source (issue 13, finding 3).

On a real host every managed VM has a baseline checkpoint, so its drive writes to an .avhdx whose parents lead
back to the VM's own base disk; Remove-VM merges that chain into the base disk in the background after the VM
is gone (docset/winserver2012r2-ps/hyper-v/Remove-VM.md; modelled in orchestrator/simulator/host/chains.py).
The source's clean-up must take the whole chain, wait for the merge, and never touch the shared image.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transfer_support import SHARE, Lab

VERSIONS = pytest.mark.parametrize("os_version", ["6.2.9200", "6.3.9600"], ids=["2012", "2012R2"])


def _disk_files(lab: Lab, host: str) -> list[str]:
    return sorted(e.path for e in lab.sim(host).host.files.values() if e.vhd is not None)


@VERSIONS
def test_a_move_takes_every_disk_file_of_the_vm_off_the_source(tmp_path: Path, os_version: str) -> None:
    # given a classroom on hv01 whose VMs stand on their baseline checkpoints, on a host where Hyper-V's
    # merges (and exports) take 30 seconds
    lab = Lab(tmp_path, hv01={"os_version": os_version}, hv02={"os_version": os_version})
    defaults = lab.doc["all"]["vars"]["multipoint_vm_defaults"]
    defaults["generation"] = 1 if os_version.startswith("6.2") else 2
    defaults["checkpoints"] = {"baseline": "clean"}
    lab.save()
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.slow_jobs("hv01", 30)
    before = _disk_files(lab, "hv01")
    own = [f for f in before if "lab-01" in f.lower()]
    assert any(f.lower().endswith(".avhdx") for f in own) and any(f.lower().endswith("lab-01.vhdx") for f in own)

    # when the admin moves lab-01 to hv02
    code, output = lab.orchestrate(
        "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE
    )

    # then the VM runs on hv02 with its checkpoints, and hv01 holds no file of it, only the others' and the image
    assert code == 0, output
    moved = lab.facts("hv02").vm("lab-01")
    assert moved is not None and moved.running and [c.name for c in moved.checkpoints]
    assert lab.facts("hv01").vm("lab-01") is None
    after = _disk_files(lab, "hv01")
    assert [f for f in after if "lab-01" in f.lower()] == []
    assert after == [f for f in before if f not in own]
    assert lab.sim("hv01").host.vmms_jobs == []
