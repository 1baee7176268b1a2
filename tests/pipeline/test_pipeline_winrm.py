"""The same flows through the real WinRM transport: the fake WinRM server on 127.0.0.1 runs every command
on a simulator, exactly as a Windows host would run the bootstrap and the script it reads from stdin."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fakes.hosts import fake_host
from pipeline_support import PREMIUM_IMAGE

from orchestrator import events as ev
from orchestrator.model import CheckpointPolicy, DiskSpec, Inventory, VMSpec
from orchestrator.runner import Runner, RunOptions
from orchestrator.simulator import Simulator

GB = 1024**3
SEED = {
    "os_sku": 8,
    "os_version": "6.3.9600",
    "logical_processors": 16,
    "memory": "64GB",
    "switches": ["Classroom LAN"],
    "images": {PREMIUM_IMAGE: {"edition_sku": 77}},
}


def classroom(count: int) -> tuple[VMSpec, ...]:
    return tuple(
        VMSpec(
            name=f"lab-ü-{i:02d}",
            cpus=2,
            memory=4 * GB,
            disk=DiskSpec("parent", source=PREMIUM_IMAGE),
            switch="Classroom LAN",
            checkpoints=CheckpointPolicy(baseline="clean"),
        )
        for i in range(1, count + 1)
    )


def run(inventory: Inventory, state: Path, **options) -> tuple[int, list[ev.Event]]:
    seen: list[ev.Event] = []
    result = Runner(inventory, RunOptions(state_dir=state, **options), seen.append).apply(
        list(inventory.hosts)
    )
    return result.exit_code, seen


def test_apply_through_winrm_converges_then_a_reapply_is_one_command(fake_winrm, tmp_path: Path):
    simulator = Simulator(seed=SEED)
    server = fake_winrm(simulator)
    host = replace(fake_host(server, "hv01", allow_unencrypted=True), vms=classroom(5))
    inventory = Inventory(str(tmp_path / "inv.yaml"), {"hv01": host}, {}, {})

    code, events = run(inventory, tmp_path / "state")
    assert code == 0, [e for e in events if isinstance(e, ev.HostFinished)]
    vms = {vm["name"]: vm for vm in simulator.snapshot()["host"]["vms"]}
    assert sorted(vms) == [f"lab-ü-{i:02d}" for i in range(1, 6)]  # non-ASCII names arrive intact
    assert all(vm["state"] == "Running" and vm["snapshots"][0]["name"] == "clean" for vm in vms.values())
    converge = server.stats()
    assert converge["commands"] == 2  # one read-only facts command, one apply command
    assert converge["shells_created"] == 1

    code, events = run(inventory, tmp_path / "state")
    assert code == 0
    assert server.stats()["commands"] - converge["commands"] == 1
    assert [e.changed for e in events if isinstance(e, ev.Recap)] == [0]


def test_dry_run_through_winrm_runs_no_mutating_cmdlet(fake_winrm, tmp_path: Path):
    simulator = Simulator(seed=SEED)
    server = fake_winrm(simulator)
    host = replace(fake_host(server, "hv01", allow_unencrypted=True), vms=classroom(2))
    inventory = Inventory(str(tmp_path / "inv.yaml"), {"hv01": host}, {}, {})
    before = simulator.snapshot()

    code, events = run(inventory, tmp_path / "state", dry_run=True)
    assert code == 0
    assert simulator.mutations == 0
    assert simulator.snapshot() == before
    assert server.stats()["commands"] == 1
    assert [e.ok for e in events if isinstance(e, ev.PreflightDone)] == [True]
    assert len([e for e in events if isinstance(e, ev.PlannedAction)]) == 6


def test_a_wrong_password_fails_that_host_with_a_clear_message(fake_winrm, tmp_path: Path):
    server = fake_winrm(Simulator(seed=SEED))
    good = replace(fake_host(server, "good", allow_unencrypted=True), vms=classroom(1))
    bad = replace(fake_host(server, "bad", password="wrong", allow_unencrypted=True), vms=classroom(1))
    inventory = Inventory(str(tmp_path / "inv.yaml"), {"good": good, "bad": bad}, {}, {})
    code, events = run(inventory, tmp_path / "state")
    assert code == 1
    finished = {e.host: e for e in events if isinstance(e, ev.HostFinished)}
    assert finished["bad"].status == "failed"
    assert "wrong" not in (finished["bad"].error or "") + (finished["bad"].fix or "")
    assert finished["bad"].fix
    assert finished["good"].status == "changed"


def test_basic_over_plain_http_when_allowed_warns_on_every_run(fake_winrm, tmp_path: Path):
    server = fake_winrm(Simulator(seed=SEED))
    host = replace(fake_host(server, "hv01", allow_unencrypted=True), vms=classroom(1))
    inventory = Inventory(str(tmp_path / "inv.yaml"), {"hv01": host}, {}, {})
    for _ in range(2):
        code, events = run(inventory, tmp_path / "state")
        assert code == 0
        warnings = [e.message for e in events if isinstance(e, ev.HostWarning)]
        assert any("clear text" in w.lower() or "unencrypted" in w.lower() for w in warnings), warnings


def test_an_apply_whose_reply_was_lost_is_not_rerun_and_the_next_run_rereads_the_host(fake_winrm, tmp_path: Path):
    """The apply ran to its end but its answer was lost: it is not run again (it could be mid-change on a
    real host), the run says the output was lost, and the next run plans from the host as it is."""
    from orchestrator.journal import Journal

    simulator = Simulator(seed=SEED)
    server = fake_winrm(simulator)
    server.drop("Receive", processed=True, after=1)  # the facts arrive; the apply runs but its answer is lost
    host = replace(fake_host(server, "hv01", allow_unencrypted=True), vms=classroom(2))
    inventory = Inventory(str(tmp_path / "inv.yaml"), {"hv01": host}, {}, {})

    code, events = run(inventory, tmp_path / "state")
    assert code != 0
    (finished,) = [e for e in events if isinstance(e, ev.HostFinished)]
    assert "output" in (finished.error or "") and "not run again" in (finished.error or ""), finished
    assert server.stats()["commands"] == 2  # facts, the apply whose answer was lost: no rerun
    vms = simulator.snapshot()["host"]["vms"]
    assert sorted(vm["name"] for vm in vms) == ["lab-ü-01", "lab-ü-02"]
    assert all(len(vm["snapshots"]) == 1 for vm in vms)
    journal = Journal.open(tmp_path / "state")
    (latest,) = journal.runs(last=1)
    assert all(a.status != "changed" for a in journal.run(latest.id).actions)  # not claimed as done

    code, events = run(inventory, tmp_path / "state")
    assert code == 0 and [e.changed for e in events if isinstance(e, ev.Recap)] == [0]  # it was all done
