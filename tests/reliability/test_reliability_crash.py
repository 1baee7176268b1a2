"""Crash safety: the admin box loses the orchestrator in the middle of a run (OOM killer, a closed laptop, a
power cut: SIGKILL, no cleanup at all), and the next run simply works.

Given two simulated Hyper-V hosts, when `orchestrate apply` (and then `orchestrate rollback`) is killed at a
seeded random moment while it holds the host locks, then the next run is not blocked by the dead run's locks
(it takes them over), the journal marks the killed run `interrupted`, and the hosts converge: every VM of the
inventory exists exactly once with its checkpoint, none is lost. When `orchestrate move` is killed the same
way, the VM still exists and never runs on both hosts, and the next move is not blocked by the dead one.
The real CLI runs in a child process.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    HOST_SEED,
    PREMIUM_IMAGE,
    SWITCH,
    journal_rows,
    run_cli,
    sigkill,
    start_cli,
    wait_for,
    write_yaml,
)

from orchestrator.locks import LockHolder, lock_path
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file

SEED = int(os.environ.get("RELIABILITY_SEED", "20261125"))
HOSTS = ("hv01", "hv02")
VMS = 4
KILLS = 3  # seeded kill points per command: enough to land before, inside and after the host's script


def inventory(folder: Path) -> Path:
    vms = [
        {"name": f"lab-{i:02d}", "cpus": 2, "memory": "4GB", "stations": {"rdp": 4}}
        for i in range(1, VMS + 1)
    ]
    document: dict[str, Any] = {
        "all": {
            "vars": {
                "ansible_connection": "simulator",
                "orchestrate_simulator": HOST_SEED,
                "multipoint_vm_defaults": {
                    "edition": "premium",
                    "switch": SWITCH,
                    "disk": {"parent": PREMIUM_IMAGE},
                    "checkpoints": {"baseline": "clean", "keep": 3},
                },
            },
            "hosts": {name: {"multipoint_vms": vms} for name in HOSTS},
        }
    }
    return write_yaml(folder / "classroom.yaml", document)


def vms_on(state: Path, host: str) -> list[dict[str, Any]]:
    return Simulator(state_path=state_file(state, host)).snapshot()["host"]["vms"]


def assert_classroom_whole(state: Path) -> None:
    """Every VM of the inventory exists exactly once, running, with its one baseline checkpoint."""
    for host in HOSTS:
        vms = vms_on(state, host)
        assert sorted(vm["name"] for vm in vms) == [f"lab-{i:02d}" for i in range(1, VMS + 1)], host
        for vm in vms:
            assert vm["state"] == "Running", (host, vm["name"])
            assert [s["name"] for s in vm["snapshots"]].count("clean") == 1, (host, vm["name"])


def holds_a_lock(state: Path, pid: int) -> bool:
    """Process `pid` has taken a host lock and written its name in it (a kill now leaves a stale lock)."""
    for host in HOSTS:
        try:
            holder = LockHolder.from_json(lock_path(state, host).read_text(encoding="utf-8"))
        except OSError:
            continue
        if holder is not None and holder.pid == pid:
            return True
    return False


def kill_at_random_points(args: list[str], state: Path, cwd: Path, rng: random.Random) -> int:
    """Start `orchestrate ARGS` KILLS times, each SIGKILLed a seeded random time after it took a lock (the
    first one at once, so that at least one kill is mid-run however fast the machine).

    Returns how many kills hit the child while it still held a host lock (a real crash mid-run)."""
    mid_run = 0
    for attempt in range(KILLS):
        delay = 0.0 if attempt == 0 else rng.uniform(0.0, 0.6)
        mid_run += kill_once(start_cli(args, cwd), state, delay)
    return mid_run


def kill_once(child: subprocess.Popen[str], state: Path, delay: float) -> int:
    """SIGKILL `child` `delay` seconds after it took a host lock; 1 if it still held one then."""
    took_lock = wait_for(lambda: holds_a_lock(state, child.pid) or child.poll() is not None, timeout=60)
    assert took_lock, "the run never took a host lock"
    wait_for(lambda: child.poll() is not None, timeout=delay)
    alive = child.poll() is None
    held = alive and holds_a_lock(state, child.pid)
    sigkill(child)
    return int(held)


def assert_next_run_recovers(args: list[str], state: Path, cwd: Path) -> dict[str, Any]:
    """The next run is not blocked, marks the killed runs interrupted, and succeeds."""
    before = {r["id"] for r in journal_rows(state, "runs")}
    done = run_cli([*args, "--output", "json"], cwd)
    assert done.returncode == 0, done.stderr
    runs = journal_rows(state, "runs")
    killed = [r for r in runs if r["id"] in before]
    assert killed and all(r["status"] != "running" for r in runs), [(r["id"], r["status"]) for r in runs]
    assert not any(r["status"] == "locked" for r in runs)
    last = runs[-1]
    assert last["id"] not in before and last["exit_code"] == 0
    return {"runs": runs, "events": [json.loads(line) for line in done.stdout.splitlines() if line.strip()]}


@pytest.mark.slow
def test_apply_then_rollback_killed_at_random_points_recover_on_the_next_run(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    inv = inventory(tmp_path)
    state = tmp_path / "state"
    apply = ["apply", inv, "--state-dir", state]

    # apply, killed again and again before it could finish; then one run that is left alone.
    mid_apply = kill_at_random_points(apply, state, tmp_path, rng)
    recovered = assert_next_run_recovers(apply, state, tmp_path)
    assert_classroom_whole(state)
    interrupted = [r for r in recovered["runs"] if r["status"] == "interrupted"]
    assert len(interrupted) >= mid_apply >= 1, (
        mid_apply,
        [(r["id"], r["status"]) for r in recovered["runs"]],
    )
    assert all(r["finished"] for r in interrupted)  # the end is set to the run's last recorded activity
    hosts = {(h["run_id"], h["host"]): h["status"] for h in journal_rows(state, "host_results")}
    assert "running" not in hosts.values()

    # The VMs drift (one is stopped), and the nightly rollback to `clean` is killed mid-way, then rerun.
    Simulator(state_path=state_file(state, "hv01")).run("Stop-VM -Name 'lab-01' -Force")
    rollback = ["rollback", inv, "--to", "clean", "--state-dir", state]
    mid_rollback = kill_at_random_points(rollback, state, tmp_path, rng)
    assert_next_run_recovers(rollback, state, tmp_path)
    assert_classroom_whole(state)
    assert mid_rollback >= 1

    # And a plain apply afterwards has nothing left to do: the killed runs left no half-made change behind.
    final = run_cli([*apply, "--output", "json"], tmp_path)
    assert final.returncode == 0, final.stderr
    recap = [json.loads(line) for line in final.stdout.splitlines() if '"recap"' in line]
    assert recap and recap[-1]["changed"] == 0, recap


# ---- move ------------------------------------------------------------------------------------------------

SHARE = "\\\\nas\\exports"


def move_lab(folder: Path) -> Path:
    """hv01 runs lab-01 and lab-02; hv02 is empty; both reach the share \\\\nas\\exports."""
    seed = dict(HOST_SEED, shares={SHARE: {"free": "2TB"}})
    vms = [{"name": n, "cpus": 2, "memory": "4GB", "stations": {"rdp": 4}} for n in ("lab-01", "lab-02")]
    document = {
        "all": {
            "vars": {
                "ansible_connection": "simulator",
                "orchestrate_simulator": seed,
                "multipoint_vm_defaults": {"switch": SWITCH, "disk": {"parent": PREMIUM_IMAGE}},
            },
            "hosts": {"hv01": {"multipoint_vms": vms}, "hv02": {}},
        }
    }
    return write_yaml(folder / "school.yaml", document)


def copies(state: Path, name: str) -> list[tuple[str, str]]:
    """(host, state) of every VM called `name` on the two hosts."""
    return [(host, vm["state"]) for host in HOSTS for vm in vms_on(state, host) if vm["name"] == name]


@pytest.mark.slow
def test_move_killed_at_random_points_never_loses_the_vm_nor_runs_it_twice(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    for attempt in range(KILLS):
        folder = tmp_path / f"attempt-{attempt}"
        folder.mkdir()
        inv = move_lab(folder)
        state = folder / "state"
        assert run_cli(["apply", inv, "--state-dir", state], folder).returncode == 0
        move = ["move", inv, "--vm", "lab-01", "--to", "hv02", "--via", SHARE, "--state-dir", state]

        child = start_cli(move, folder)
        kill_once(child, state, rng.uniform(0.0, 0.4))

        # Killed anywhere: lab-01 still exists, and never runs on both hosts at once.
        found = copies(state, "lab-01")
        assert found, f"lab-01 lost (attempt {attempt})"
        assert [s for _, s in found].count("Running") <= 1, found
        assert copies(state, "lab-02") == [("hv01", "Running")]  # the neighbour was not touched

        # The next move is not blocked by the dead one's locks, and the dead run is marked interrupted.
        again = run_cli([*move, "-o", "json"], folder)
        assert again.returncode in (0, 1), again.stderr
        runs = journal_rows(state, "runs")
        assert all(r["status"] != "running" for r in runs), [(r["id"], r["status"]) for r in runs]
        found = copies(state, "lab-01")
        assert found and [s for _, s in found].count("Running") <= 1, found
        if again.returncode == 1:  # refused: the dead move had already moved it, or left both copies
            assert "lab-01" in again.stdout + again.stderr
