"""Concurrency: cron's nightly apply and the admin's manual apply hit the same Hyper-V host at once.

Two runs against one host never interleave their changes: the second either exits 3 at once, naming the run
that holds the host, or (with --wait-lock SECONDS) waits for it and then plans against what the first one left.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from reliability_support import (
    HOST_SEED,
    PREMIUM_IMAGE,
    SWITCH,
    ChaosServer,
    fast_transports,
    journal_rows,
    run_inventory,
    wait_for,
    winrm_fleet,
    write_yaml,
)

from orchestrator import events as ev
from orchestrator.cli import main
from orchestrator.model import RetryPolicy

RETRY = RetryPolicy(attempts=3, deadline=30.0)
SLOW_APPLY = 1.0  # the first run's apply answers this late, so the second run surely arrives meanwhile


def in_background(work: Callable[[], None]) -> threading.Thread:
    """The first run (cron's), in its own thread of this process: its lock is an OS lock all the same."""
    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_second_run_that_waits_for_the_lock_plans_against_what_the_first_one_left(tmp_path: Path) -> None:
    with ChaosServer(seed=0, rate=0.0) as server:
        inventory = winrm_fleet(server, ["hv01"], 2, tmp_path / "school.yaml", RETRY)
        state = tmp_path / "state"
        server.delay(SLOW_APPLY, action="Receive", after=1)  # the first run's apply command is slow
        first: dict = {}
        cron = in_background(
            lambda: first.update(result=run_inventory(inventory, state, fast_transports())[0])
        )
        assert wait_for(lambda: server.stats()["commands"] >= 2, timeout=30)  # the first run is applying

        started = time.monotonic()
        second, events = run_inventory(inventory, state, fast_transports(), wait_lock=30)
        waited = time.monotonic() - started
        cron.join(30)

        assert first["result"].exit_code == 0 and second.exit_code == 0
        assert waited > 0.2  # it really waited for the first run
        # The second run read the host only after the first one's changes: nothing was left to plan.
        assert [e.actions for e in events if isinstance(e, ev.HostPlanned)] == [0]
        assert server.stats()["commands"] == 3  # facts + apply of the first run, facts of the second
        vms = server.simulator("hv01").snapshot()["host"]["vms"]
        assert sorted(vm["name"] for vm in vms) == ["hv01-lab-01", "hv01-lab-02"]


def test_a_second_run_without_wait_lock_exits_3_and_leaves_the_host_alone(tmp_path: Path) -> None:
    with ChaosServer(seed=0, rate=0.0) as server:
        inventory = winrm_fleet(server, ["hv01"], 2, tmp_path / "school.yaml", RETRY)
        state = tmp_path / "state"
        server.delay(SLOW_APPLY * 2, action="Receive", after=1)
        first: dict = {}
        cron = in_background(
            lambda: first.update(result=run_inventory(inventory, state, fast_transports())[0])
        )
        assert wait_for(lambda: server.stats()["commands"] >= 2, timeout=30)

        second, _ = run_inventory(inventory, state, fast_transports())
        commands_during = server.stats()["commands"]
        cron.join(30)

        assert second.exit_code == 3
        assert second.outcomes["hv01"].status == "locked"
        assert "locked by run" in (second.outcomes["hv01"].error or "")
        assert "--wait-lock" in (second.outcomes["hv01"].fix or "") + (second.outcomes["hv01"].error or "")
        assert commands_during == 2  # the second run sent nothing to the host
        assert first["result"].exit_code == 0
        runs = {r["id"]: r for r in journal_rows(state, "runs")}
        assert (runs[second.run_id]["status"], runs[second.run_id]["exit_code"]) == ("locked", 3)


HOLD = """
import sys, time
from orchestrator.locks import HostLock
lock = HostLock.acquire(sys.argv[1], sys.argv[2], 41, command="orchestrate apply")
print("held", flush=True)
time.sleep(float(sys.argv[3]))
lock.release()
"""


def simulated_inventory(folder: Path) -> Path:
    vm = {"name": "lab-01", "cpus": 2, "memory": "4GB", "switch": SWITCH, "disk": {"parent": PREMIUM_IMAGE}}
    document = {
        "all": {
            "hosts": {
                "hv01": {
                    "ansible_connection": "simulator",
                    "orchestrate_simulator": HOST_SEED,
                    "multipoint_vms": [vm],
                }
            }
        }
    }
    return write_yaml(folder / "inventory.yaml", document)


def test_the_cli_exits_3_naming_the_other_process_or_waits_with_wait_lock(tmp_path: Path) -> None:
    inventory = simulated_inventory(tmp_path)
    state = tmp_path / "state"
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state), "hv01", "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        refused = CliRunner().invoke(main, ["apply", str(inventory), "--state-dir", str(state)])
        assert refused.exit_code == 3, refused.output
        assert f"pid {other.pid}" in refused.output and "--wait-lock" in refused.output

        waited = CliRunner().invoke(
            main, ["apply", str(inventory), "--state-dir", str(state), "--wait-lock", "30"]
        )
        assert waited.exit_code == 0, waited.output
        assert other.poll() == 0  # the holder had released the lock before the waiting run went on
    finally:
        other.kill()
        other.wait(10)
