"""`--vm NAME` means that VM, even when its name holds glob characters.

Before, `--vm` was only a glob: `rollback --vm 'lab[1]'` restored `lab1` and discarded its state. A VM of
another host counts too: `lab[1]` on hv01 must not select `lab1` on hv02.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory


def checkpoint_names(state: Path, host: str, name: str) -> list[str]:
    return sorted(s["name"] for s in vms_of(state, host)[name].get("snapshots", []))


def test_an_exact_name_with_brackets_selects_that_vm_only_on_every_host(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(
        tmp_path,
        {
            "hv01": {**simulated_host(), "multipoint_vms": [vm("lab[1]"), vm("lab1")]},
            "hv02": {**simulated_host(), "multipoint_vms": [vm("lab1")]},
        },
    )
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0

    result = orchestrate("checkpoint", inventory, "--name", "before-exam", "--vm", "lab[1]", "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert checkpoint_names(state, "hv01", "lab[1]") == ["before-exam"]
    assert checkpoint_names(state, "hv01", "lab1") == []
    assert checkpoint_names(state, "hv02", "lab1") == []


def test_a_glob_still_selects_when_it_names_no_vm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab1"), vm("lab2"), vm("staff")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0

    result = orchestrate("checkpoint", inventory, "--name", "friday", "--vm", "lab[12]", "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert [n for n in ("lab1", "lab2", "staff") if checkpoint_names(state, "hv01", n) == ["friday"]] == ["lab1", "lab2"]
