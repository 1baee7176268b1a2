"""An inventory switch spelled in another case than the host's is that switch: Hyper-V finds switches by name
case aside, and the VM's adapter then reports the switch's own spelling. Compared exactly, every apply planned
"stop VM; connect switch; start VM" and failed its verify, night after night from cron."""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory


def test_a_switch_named_in_other_case_converges_once_and_then_nothing_changes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", switch="classroom lan")]}})

    first = orchestrate("apply", inventory, "--state-dir", state)
    again = orchestrate("apply", inventory, "--state-dir", state)

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert "connect switch" not in again.output and "stop VM" not in again.output
    lab = vms_of(state, "hv01")["lab-01"]
    assert lab["state"] == "Running"
    assert [adapter["switch"] for adapter in lab["adapters"]] == ["Classroom LAN"]

