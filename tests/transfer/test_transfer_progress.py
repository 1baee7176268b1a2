"""A long export through the real WinRM transport: the fake WinRM server answers each Receive with a small
chunk while the command is still Running, and the admin's box sees the export's progress records as they
arrive, before the export's action is reported done."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fakes.hosts import fake_host
from transfer_support import IMAGE, SHARE, host_seed

from orchestrator import events as ev
from orchestrator.model import DiskSpec, Inventory, VMSpec
from orchestrator.operations import Export
from orchestrator.runner import Runner, RunOptions
from orchestrator.simulator import Simulator

GB = 1024**3


def test_a_long_export_streams_progress_before_it_is_done(fake_winrm, tmp_path: Path) -> None:
    simulator = Simulator(seed=host_seed())
    server = fake_winrm(simulator)
    vm = VMSpec("lab-01", 2, 4 * GB, DiskSpec("parent", source=IMAGE), switch="Classroom LAN")
    host = replace(fake_host(server, "hv01", allow_unencrypted=True), vms=(vm,))
    inventory = Inventory(str(tmp_path / "inv.yaml"), {"hv01": host}, {}, {})
    assert (
        Runner(inventory, RunOptions(state_dir=tmp_path / "state"), lambda e: None).apply(["hv01"]).exit_code
        == 0
    )

    simulator.host.job_seconds = 8  # the export job runs for four of the script's 2-second polls
    server.output_chunk = 64  # each Receive carries a small piece of the output, CommandState Running
    seen: list[tuple[ev.Event, int]] = []
    receives = lambda: server.stats().get("action:Receive", 0)  # noqa: E731
    result = Runner(
        inventory,
        RunOptions(state_dir=tmp_path / "state", command="export"),
        lambda event: seen.append((event, receives())),
        operation=Export(SHARE),
    ).apply(["hv01"])

    assert result.exit_code == 0
    events = [event for event, _ in seen]
    done = next(i for i, e in enumerate(events) if isinstance(e, ev.ActionDone))
    progress = [(e, n) for e, n in seen[:done] if isinstance(e, ev.Progress)]
    assert len(progress) >= 2
    assert len(progress) == 6 and any(0 < e.percent < 100 for e, _ in progress)
    assert [e.percent for e, _ in progress] == sorted(e.percent for e, _ in progress)
    assert progress[-1][0].percent == 100 and {e.vm for e, _ in progress} == {"lab-01"}
    # They came in different Receive replies, while the script was still running on the host.
    assert len({n for _, n in progress}) == len(progress)
    exported = [f for f in simulator.snapshot()["shares"]["files"] if f["path"].endswith(".XML")]
    assert len(exported) == 1
