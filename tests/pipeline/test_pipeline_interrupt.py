"""Ctrl-C (or SIGTERM) during an apply: no new host starts, the recap still comes, the run is journaled as
aborted, and the exit code says so; no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline_support import simulated_host, vm, vms_of, write_inventory

from orchestrator import events as ev
from orchestrator import exit_codes
from orchestrator.inventory import load_inventory
from orchestrator.journal import Journal
from orchestrator.runner import Runner, RunOptions
from orchestrator.transport.factory import open_transport


def interrupted_on(host_name: str):
    """The admin presses Ctrl-C while `host_name` runs its apply script (the script itself completes)."""

    def factory(host: Any, state_dir: Path) -> Any:
        transport = open_transport(host, state_dir)
        run = transport.run
        calls = []

        def run_then_interrupt(script: str, **kwargs: Any) -> Any:
            result = run(script, **kwargs)
            calls.append(script)
            if host.name == host_name and len(calls) == 2:  # the facts script, then the apply script
                raise KeyboardInterrupt
            return result

        transport.run = run_then_interrupt
        return transport

    return factory


def test_ctrl_c_stops_new_hosts_and_still_ends_with_the_recap(tmp_path: Path) -> None:
    state = tmp_path / "state"
    hosts = {name: {**simulated_host(), "multipoint_vms": [vm("lab-01")]} for name in ("hv01", "hv02", "hv03")}
    inventory = load_inventory(write_inventory(tmp_path, hosts))
    events: list[ev.Event] = []
    runner = Runner(inventory, RunOptions(state_dir=state, forks=1), events.append, interrupted_on("hv01"))

    result = runner.apply(["hv01", "hv02", "hv03"])

    assert result.exit_code == exit_codes.INTERRUPTED
    assert "lab-01" in vms_of(state, "hv01")  # the script in flight finished on its host
    assert result.outcomes["hv02"].error == "interrupted (not started)"
    assert not (state / "simulator" / "hv02.json").exists() and not (state / "simulator" / "hv03.json").exists()
    assert isinstance(events[-1], ev.Recap) and events[-1].exit_code == exit_codes.INTERRUPTED
    (run,) = Journal.open(state).runs()
    assert run.status == "aborted" and run.exit_code == exit_codes.INTERRUPTED
