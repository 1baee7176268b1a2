"""Host-level rules stop a host before any change; a host another run holds is never touched (exit 3)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pipeline_support import host_state, json_events, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.facts import HostFacts, VMFacts
from orchestrator.locks import HostLock
from orchestrator.model import Connection, DiskSpec, HostSpec, VMSpec
from orchestrator.operations import Converge
from orchestrator.plan import Plan
from orchestrator.vm_index import VMIndex

GB = 1024**3


def host_done(result) -> dict[str, dict]:
    return {e["host"]: e for e in json_events(result) if e["event"] == "host_done"}


@pytest.mark.parametrize(
    ("seed", "vms", "expected"),
    [
        ({"hyperv_installed": False}, [vm("a")], "Install-WindowsFeature"),
        ({"os_sku": 76, "os_version": "6.2.9200"}, [vm("a", generation=1)], "Standard (SKU 76)"),
        ({"memory": "8GB"}, [vm("a", memory="6GB"), vm("b", memory="6GB")], "need 12GB of memory but only"),
        ({"logical_processors": 4}, [vm("a", cpus=6)], "only 4 logical processors"),
    ],
)
def test_host_rules_fail_the_host_before_anything_changes(tmp_path: Path, seed, vms, expected):
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(**seed), "multipoint_vms": vms}})
    result = orchestrate("apply", inventory, "--state-dir", tmp_path / "s", "-o", "json")
    assert result.exit_code == 1, result.output
    done = host_done(result)["hv01"]
    assert done["status"] == "failed"
    assert expected in (done["error"] or "") + (done["fix"] or "") + result.stdout
    assert host_state(tmp_path / "s", "hv01")["vms"] == []


def test_a_generation_2_vm_on_a_2012_host_is_a_finding_not_a_powershell_error(tmp_path: Path):
    inventory = write_inventory(
        tmp_path,
        {
            "hv01": {
                **simulated_host(os_version="6.2.9200"),
                "multipoint_vms": [vm("g2"), vm("g1", generation=1)],
            }
        },
    )
    result = orchestrate("apply", inventory, "--state-dir", tmp_path / "s", "-o", "json")
    assert result.exit_code == 1
    warnings = [e["message"] for e in json_events(result) if e["event"] == "warning"]
    assert any("'g2'" in w and "generation 2" in w for w in warnings)
    assert set(vms_of(tmp_path / "s", "hv01")) == {"g1"}


def test_a_host_locked_by_another_run_is_not_touched_and_exits_3(tmp_path: Path):
    state = tmp_path / "s"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("a")]}})
    with HostLock.acquire(state, "hv01", run_id=999, command="orchestrate rollback"):
        result = orchestrate("apply", inventory, "--state-dir", state, "-o", "json")
    assert result.exit_code == 3
    done = host_done(result)["hv01"]
    assert done["status"] == "locked" and "orchestrate rollback" in done["error"]
    assert "--wait-lock" in done["fix"]
    assert host_state(state, "hv01")["vms"] == []
    (recap,) = [e for e in json_events(result) if e["event"] == "recap"]
    assert recap["locked"] == 1 and recap["failed"] == 0  # left alone, not failed: try again later


def test_a_failed_host_is_not_hidden_by_a_locked_one_exit_1(tmp_path: Path):
    """The nightly cron line retries on 3 and mails on 1: hv02's real failure must not pass for a busy hv01."""
    state = tmp_path / "s"
    inventory = write_inventory(
        tmp_path,
        {
            "hv01": {**simulated_host(), "multipoint_vms": [vm("a")]},
            "hv02": {**simulated_host(images={}), "multipoint_vms": [vm("b")]},  # its image is missing
        },
    )
    with HostLock.acquire(state, "hv01", run_id=999, command="orchestrate rollback"):
        result = orchestrate("apply", inventory, "--state-dir", state, "-o", "json")
    done = host_done(result)
    assert done["hv01"]["status"] == "locked" and done["hv02"]["status"] == "failed"
    (recap,) = [e for e in json_events(result) if e["event"] == "recap"]
    assert recap["locked"] == 1 and recap["failed"] == 1
    assert recap["exit_code"] == result.exit_code == 1


@pytest.mark.parametrize("wait", ["20", "1m"])  # seconds, or a duration as --revert-after takes (audit I L8)
def test_wait_lock_waits_for_the_other_run_then_applies(tmp_path: Path, wait: str):
    state = tmp_path / "s"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("a")]}})
    lock = HostLock.acquire(state, "hv01", run_id=999)
    releaser = threading.Timer(0.3, lock.release)
    releaser.start()
    try:
        result = orchestrate("apply", inventory, "--state-dir", state, "--wait-lock", wait, "-o", "json")
    finally:
        releaser.join()
    assert result.exit_code == 0, result.output
    assert "a" in vms_of(state, "hv01")


def test_a_wait_lock_that_is_no_duration_is_refused(tmp_path: Path):
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("a")]}})
    refused = orchestrate("apply", inventory, "--state-dir", tmp_path / "s", "--wait-lock", "15x")
    assert refused.exit_code == 2 and "'15x' is not a duration such as 30m" in refused.stderr


def _started(name: str, edition: str | None) -> tuple[HostSpec, HostFacts]:
    spec = VMSpec(name=name, cpus=2, memory=4 * GB, disk=DiskSpec("parent", source="D:\\p.vhdx"))
    kvp = {"OSEditionId": edition} if edition else {}
    observed = VMFacts(name, "id", "Running", 2, 2, 4 * GB, False, 0, 0, kvp=kvp)
    host = HostSpec(name="hv01", connection=Connection(kind="simulator"), vms=(spec,))
    return host, HostFacts(os_version="6.3", os_sku=8, vms=VMIndex([observed]))


def test_a_started_vm_whose_guest_is_not_premium_fails_loudly():
    from orchestrator.actions import StartVM

    host, facts = _started("lab", "76")
    verdict = Converge().verify(host, Plan((StartVM("lab"),)), facts)
    assert verdict.errors and "SKU 76" in verdict.errors[0] and "Premium" in verdict.fix

    host, facts = _started("lab", "77")
    assert Converge().verify(host, Plan((StartVM("lab"),)), facts).errors == []

    host, facts = _started("lab", None)
    verdict = Converge().verify(host, Plan((StartVM("lab"),)), facts)
    assert not verdict.errors and "not reported its edition" in verdict.warnings[0]
