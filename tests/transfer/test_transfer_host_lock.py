"""The lock on the Hyper-V host itself: a changing script of one run never interleaves with another's.

Box A's script still running on hv01 is a PowerShell process that holds the host lock open
(`Simulator.hold` keeps the process of the real rendered apply script running); box B is another admin
box (its own state dir: own journal, own admin-box locks) in a child process, against the same simulated
hosts. Before the host lock, B's apply ran at once and changed the host under A's feet.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from transfer_support import SHARE, Lab, other_box

from orchestrator.host_lock import LOCK_FILE, LOCK_TEMPLATE, LockRequest
from orchestrator.inventory import load_inventory
from orchestrator.render import Renderer


def box_a_still_running(lab: Lab, host: str) -> int:
    """Box A's apply (box A's run 7) is still at work on `host`: it ran the shipped lock-taking part of every
    changing script and has not reached its end. Returns its PowerShell process id."""
    spec = load_inventory(str(lab.inventory)).hosts[host]
    request = LockRequest(box="laptop", run=7, command="apply")
    script = Renderer().render_operation(LOCK_TEMPLATE, spec, "6.3", **request.template_context())
    result, pid = lab.sim(host).hold(script)
    assert result.exit_code == 0, result.stdout + result.stderr
    return pid


def box_b(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    """Another admin box, in its own process: its own state dir, the same Hyper-V hosts."""
    return other_box(lab)(*args)


def vm_names(lab: Lab, host: str) -> list[str]:
    return sorted(lab.facts(host).vms)


def test_box_b_apply_waits_its_turn_while_box_a_runs_on_the_host(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.ok("apply", str(lab.inventory), "--limit", "hv02")  # hv02 exists on disk; hv01 is still new
    lab.ok("apply", str(lab.inventory))
    lab.powershell("hv01", "Stop-VM -Name 'lab-02' -Force")  # drift box B would put right
    pid = box_a_still_running(lab, "hv01")

    done = box_b(lab, "apply", str(lab.inventory), "--output", "json")

    assert done.returncode == 3, done.stdout + done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    [finished] = [e for e in events if e.get("event") == "host_done" and e.get("host") == "hv01"]
    assert finished["status"] == "locked"
    assert "locked on the host by laptop, run 7, `apply`" in finished["error"]
    assert f"(PowerShell pid {pid})" in finished["error"]
    assert ("hv01", "lab-02") not in lab.running()  # B changed nothing while A held the host
    [recap] = [e for e in events if e.get("event") == "recap"]
    assert recap["locked"] == 1

    # With --wait-lock the script waits on the host (every 5 s) as long as the run waits for its own box's
    # lock; A is still at work when that time is up, so B is still told who holds the host.
    waited = box_b(lab, "apply", str(lab.inventory), "--wait-lock", "60")
    assert waited.returncode == 3 and "locked on the host by laptop" in waited.stdout + waited.stderr

    assert lab.sim("hv01").end_process(pid)  # A's PowerShell ends (finished, or killed: the same to the lock)
    done = box_b(lab, "apply", str(lab.inventory))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("hv01", "lab-02") in lab.running()


def test_a_killed_holder_never_keeps_the_host_locked(tmp_path: Path) -> None:
    """The lock file stays on the host with the dead holder's record in it; the next run takes it anyway."""
    lab = Lab(tmp_path)
    lab.ok("apply", str(lab.inventory))
    pid = box_a_still_running(lab, "hv01")
    lab.sim("hv01").end_process(pid)  # killed: Windows closes every handle of a process that ends
    assert lab.exists("hv01", LOCK_FILE)

    lab.powershell("hv01", "Stop-VM -Name 'lab-01' -Force")
    output = lab.ok("apply", str(lab.inventory))
    assert "locked on the host" not in output
    assert ("hv01", "lab-01") in lab.running()


def test_a_move_to_a_locked_target_leaves_the_source_as_it_was(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.ok("apply", str(lab.inventory))
    before = lab.facts("hv01").vm("lab-01")
    lab.ok("apply", str(lab.inventory), "--limit", "hv02")
    pid = box_a_still_running(lab, "hv02")

    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)

    assert code != 0, output
    assert "locked on the host by laptop" in output
    after = lab.facts("hv01").vm("lab-01")
    assert (after.id, after.running) == (before.id, True)
    assert "lab-01" not in vm_names(lab, "hv02")
    lab.sim("hv02").end_process(pid)
