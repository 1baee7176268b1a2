"""Simulated time passing on a host: Hyper-V's own jobs and the guests' first-boot setup move on together.

Start-Sleep and Wait-Job call `tick` (never real waiting): on Windows both block for the time given
(PowerShell-Docs reference/3.0 Start-Sleep.md; Wait-Job.md, -Timeout), and Hyper-V's VMMS jobs and a guest's
setup go on meanwhile (Hyper-V's jobs: docset/winserver2012r2-ps/hyper-v/Export-VM.md -AsJob; the guest:
host/guest.py). It lives apart from the model (model.py) so the model
does not import the guest (guest.py builds on the model): no import circle.
"""

from __future__ import annotations

from orchestrator.simulator.host import guest
from orchestrator.simulator.host.model import Host, norm_path


def tick(host: Host, seconds: float) -> bool:
    """Simulated time passes for Hyper-V's jobs (a script waited `seconds`); the jobs done are dropped.
    True when a guest's setup moved on (the caller records that as a change of the host's state)."""
    moved = guest.advance(host, seconds)
    for job in host.vmms_jobs:
        job["left"] = max(0.0, float(job["left"]) - seconds)
        if job["left"] <= 0 and job.get("kind") == "merge":  # a checkpoint file merged away (chains.py)
            host.files.pop(norm_path(job["path"]), None)
    host.vmms_jobs = [job for job in host.vmms_jobs if job["left"] > 0]
    return moved
