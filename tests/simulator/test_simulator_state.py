"""Persistence: the state file carries the host between runs, is written atomically, and only when it changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from simulator_support import HEADER, SEED_63, create_vm, lines, ok

from orchestrator.simulator import Simulator, StateError
from orchestrator.simulator.state import HOST_FORMAT
from orchestrator.transport.simulated import SimulatedTransport, state_file


def test_state_survives_between_runs_and_seed_only_initialises(tmp_path: Path) -> None:
    path = tmp_path / "simulator" / "hv01.json"
    sim = Simulator(state_path=path, seed=SEED_63)
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'baseline'")
    restored = Simulator(state_path=path, seed={"switches": ["Other"], "memory": "1GB"})  # the file wins
    assert restored.host.switches == ["LAN", "Classroom"]
    result = ok(restored, "(Get-VMSnapshot -VMName 'lab-01').Name")
    assert lines(result) == ["baseline"]
    assert Simulator(state_path=path).host.vm_by_name("lab-01")[0].snapshots


def test_state_is_reloaded_before_each_run(tmp_path: Path) -> None:
    path = tmp_path / "hv01.json"
    first = Simulator(state_path=path, seed=SEED_63)
    second = Simulator(state_path=path)
    create_vm(first, "made-by-first")
    assert lines(ok(second, "(Get-VM).Name")) == ["made-by-first"]


def test_the_file_is_written_only_when_the_model_changed(tmp_path: Path) -> None:
    path = tmp_path / "hv01.json"
    sim = Simulator(state_path=path, seed=SEED_63)
    read_only = (
        HEADER
        + "Get-VM | Out-Null\nGet-VMSwitch | Out-Null\n(Get-CimInstance -ClassName Win32_OperatingSystem).Caption"
    )
    ok(sim, read_only)
    assert not path.exists()  # a fresh host that was only read leaves no file (dry runs, pings)
    create_vm(sim, "lab-01")
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    stamp = path.stat().st_mtime_ns
    ok(sim, read_only)
    assert path.stat().st_mtime_ns == stamp
    mutations = sim.mutations
    create_vm(sim, "lab-02")
    assert path.stat().st_mtime_ns != stamp
    assert sim.mutations > mutations


def test_a_crash_while_saving_leaves_the_old_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hv01.json"
    sim = Simulator(state_path=path, seed=SEED_63)
    create_vm(sim, "kept")
    good = path.read_text()

    def crash(*_args: object, **_kwargs: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        sim.run(HEADER + "New-VM -Confirm:$false -Name 'lost' -NoVHD | Out-Null")
    monkeypatch.undo()
    assert path.read_text() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert lines(ok(Simulator(state_path=path), "(Get-VM).Name")) == ["kept"]


def test_a_json_file_without_the_format_marker_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hv01.json"
    path.write_text(json.dumps({"host": {"name": "HV01"}}))
    with pytest.raises(StateError, match="format marker"):
        Simulator(state_path=path)
    path.write_text("{not json")
    with pytest.raises(StateError):
        Simulator(state_path=path)


def test_the_state_file_is_self_contained_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "hv01.json"
    create_vm(Simulator(state_path=path, seed=SEED_63), "lab-01")
    doc = json.loads(path.read_text())
    assert doc["format"] == HOST_FORMAT
    assert doc["host"]["switches"] == ["LAN", "Classroom"]
    assert {f["path"] for f in doc["host"]["files"]} >= {"D:\\images\\mps-premium.vhdx"}


def test_shares_live_beside_the_host_files(tmp_path: Path) -> None:
    folder = tmp_path / "simulator"
    create_vm(Simulator(state_path=folder / "hv01.json", seed=SEED_63), "lab-01")
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) == [
        "_shares.json",
        "hv01.json",
    ]
    # a host seeded without shares still sees the state dir's shares
    other = Simulator(state_path=folder / "hv02.json", seed={"os_version": "6.3"})
    assert lines(ok(other, "Test-Path -Path '\\\\nas\\exports'")) == ["True"]


def test_snapshot_proves_a_read_only_script_changed_nothing() -> None:
    sim = Simulator(seed=SEED_63)
    create_vm(sim, "lab-01")
    before = sim.snapshot()
    count = sim.mutations
    ok(
        sim,
        HEADER + "Get-VM | Select-Object Name, State | ConvertTo-Json -Compress\n"
        "Get-VMSnapshot -VMName 'lab-01' | Out-Null",
    )
    assert sim.snapshot() == before
    assert sim.mutations == count
    assert sim.mutation_log[:2] == ["New-Item C:\\VMs", "New-VHD C:\\VMs\\lab-01.vhdx"]


def test_from_facts_seeds_a_look_alike_host() -> None:
    facts = {
        "host": {
            "os_version": "6.3.9600",
            "os_sku": 8,
            "hyperv_installed": True,
            "logical_processors": 16,
            "memory_total": 68719476736,
            "computer_name": "HV01",
        },
        "switches": ["LAN"],
        "vms": [
            {
                "name": "lab-01",
                "id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                "state": "Running",
                "generation": 2,
                "cpus": 4,
                "memory_startup": 8589934592,
                "dynamic_memory": False,
                "notes": "n",
                "path": "C:\\VMs",
                "parent_checkpoint": "baseline",
                "disks": [{"path": "C:\\VMs\\lab-01.vhdx", "parent": "D:\\images\\mps-premium.vhdx"}],
                "adapters": [{"name": "Network Adapter", "switch": "LAN"}],
                "checkpoints": [
                    {
                        "name": "baseline",
                        "id": "2b4e28ba-2fa1-11d2-883f-0016d3cca427",
                        "parent": None,
                        "created": "2026-11-25T02:00:00.0000000Z",
                        "notes": "orchestrate:managed",
                    }
                ],
            }
        ],
        "paths": {"D:\\images\\mps-premium.vhdx": True, "C:\\VMs": True},
        "images": {
            "D:\\images\\mps-premium.vhdx": [
                {
                    "index": 1,
                    "name": "Windows MultiPoint Server 2012 Premium",
                    "edition_id": "ServerMultiPointPremium",
                }
            ]
        },
        "tasks": [{"name": "nightly", "path": "\\MultiPoint\\", "state": "Ready", "last_result": 0}],
    }
    sim = Simulator.from_facts(facts)
    assert lines(
        ok(sim, "$v = Get-VM -Name 'lab-01'; $v.State.ToString(); $v.ParentSnapshotName; $v.ProcessorCount")
    ) == ["Running", "baseline", "4"]
    assert lines(ok(sim, "(Get-ScheduledTask -TaskPath '\\MultiPoint\\').TaskName")) == ["nightly"]
    ok(
        sim,
        HEADER + "Stop-VM -Name 'lab-01' -TurnOff\n"
        "Restore-VMSnapshot -VMName 'lab-01' -Name 'baseline' -Confirm:$false",
    )
    assert sim.mutations == 2


def test_simulated_transport_runs_through_the_bootstrap(tmp_path: Path) -> None:
    transport = SimulatedTransport("hv01.demo.local", tmp_path, SEED_63)
    seen: list[tuple[str, str]] = []
    result = transport.run(
        HEADER + "New-VM -Confirm:$false -Name 'x' -NoVHD | Out-Null\n'done'\nexit 0",
        idempotent=True,
        on_output=lambda stream, text: seen.append((stream, text)),
    )
    assert (result.exit_code, result.stdout) == (0, "done\r\n")
    assert seen == [("stdout", "done\r\n")]
    assert state_file(tmp_path, "hv01.demo.local") == tmp_path / "simulator" / "hv01.demo.local.json"
    again = SimulatedTransport("hv01.demo.local", tmp_path, None)
    assert again.run("(Get-VM).Name", idempotent=True).stdout == "x\r\n"
    failed = again.run("Get-VM -Name 'nope' -ErrorAction Stop", idempotent=True)
    assert failed.exit_code == 1 and "unable to find" in failed.stderr
    again.close()
    again.close()
