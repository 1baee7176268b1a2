"""Whatever classroom an admin writes, and whatever someone did to it on the host since, one apply makes the
host match the inventory and the next plan has nothing to do.

The admin's story, generated: a 2012 or 2012 R2 host gets one to three VMs with any legal names (quotes,
brackets, `$`, non-ASCII letters), CPUs, static or dynamic memory, a switch, a power state and maybe a
baseline checkpoint. After the first apply, someone works on the host by hand, as a colleague in Hyper-V
Manager would: turns a VM off, saves it, gives it other CPUs or memory, plugs it into the other switch, or
removes it. The next apply must converge each VM back, and a plan after that must find nothing. A plan
that keeps finding work (facts read differently from what the scripts wrote) or a script that trips over
a name would show up here, not in a classroom at 2 a.m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_support import json_events, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.pwsh import quote
from orchestrator.rules.names import name_problem
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file
from orchestrator.transport.stdin import channel
from orchestrator.vm_index import alike_key

GB = 1024**3
MB = 1024**2
SWITCHES = ("Classroom LAN", "Staff LAN")
# Letters (ASCII and not), digits, and the punctuation a name may hold that a script must keep literal.
_NAME_CHARS = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 -_'()[]$#;`&@!.,%+=éÅßΩ\u2019"))
_NAMES = st.text(_NAME_CHARS, min_size=1, max_size=24).filter(lambda name: name_problem(name) is None)
DRIFTS = ("none", "turned off", "saved", "other cpus", "other memory", "other switch", "removed")


@st.composite
def classrooms(draw: st.DrawFn) -> dict[str, Any]:
    os_version = draw(st.sampled_from(("6.2.9200", "6.3.9600")))
    names = draw(st.lists(_NAMES, min_size=1, max_size=3, unique_by=alike_key))
    vms = []
    for name in names:
        memory = draw(st.integers(1024, 4096)) * 2 * MB
        overrides: dict[str, Any] = {
            "cpus": draw(st.integers(1, 6)),
            "memory": f"{memory // MB}MB",
            "switch": draw(st.sampled_from(SWITCHES)),
            "generation": 1 if os_version == "6.2.9200" else draw(st.sampled_from((1, 2))),
            "state": draw(st.sampled_from(("running", "off"))),
        }
        if draw(st.booleans()):
            overrides["dynamic_memory"] = {"min": f"{memory // MB // 2 // 2 * 2}MB", "max": f"{memory // MB * 2}MB"}
        if draw(st.booleans()):
            overrides["checkpoints"] = {"baseline": draw(st.sampled_from(("clean", "Start of term", "[ready]")))}
        vms.append(vm(name, **overrides))
    drifts = [draw(st.sampled_from(DRIFTS)) for _ in vms]
    return {"os_version": os_version, "vms": vms, "drifts": drifts}


def by_hand(state: Path, script: str) -> None:
    """What a colleague types on the host (found by exact name: -Name would read [ ] as a wildcard)."""
    result = Simulator(state_path=state_file(state, "hv01")).run(*channel("$ErrorActionPreference = 'Stop'\n" + script))
    assert result.exit_code == 0, result.stderr


def drift(state: Path, name: str, how: str) -> None:
    find = f"$v = Get-VM | Where-Object {{ $_.Name -eq {quote(name)} }}\n"
    off = "if ($v.State -ne 'Off') { Stop-VM -VM $v -TurnOff -Force }\n"
    scripts = {
        "none": "",
        "turned off": find + off,
        "saved": find + "if ($v.State -eq 'Running') { Stop-VM -VM $v -Save }\n",
        "other cpus": find + off + "Set-VMProcessor -VM $v -Count ($v.ProcessorCount % 6 + 1) -Confirm:$false\n",
        "other memory": find + off + "Set-VMMemory -VM $v -DynamicMemoryEnabled $false -StartupBytes 1GB -Confirm:$false\n",
        "other switch": find + off + "Get-VMNetworkAdapter -VM $v | Connect-VMNetworkAdapter -SwitchName "
        "((Get-VMSwitch | Where-Object { $_.Name -ne (Get-VMNetworkAdapter -VM $v).SwitchName } | "
        "Select-Object -First 1).Name) -Confirm:$false\n",
        # Remove-VM keeps the disks; a colleague who wants the VM rebuilt deletes them too (a disk left in the
        # way is refused: tests/pipeline/test_pipeline_disk_in_the_way.py).
        # (Hyper-V merges a removed VM's checkpoint files first: the sleep is simulated time, no real wait.)
        "removed": find + off + "Remove-VM -VM $v -Force -Confirm:$false\nStart-Sleep -Seconds 3600\n"
        "foreach ($file in @(Get-ChildItem -LiteralPath (Get-VMHost).VirtualHardDiskPath)) {\n"
        f"    if ($file.Name.StartsWith({quote(name + '.')}) -or $file.Name.StartsWith({quote(name + '_')})) "
        "{ Remove-Item -LiteralPath $file.FullName -Force }\n}\n",
    }
    if scripts[how]:
        by_hand(state, scripts[how])


def assert_matches(state: Path, wanted: list[dict[str, Any]]) -> None:
    found = vms_of(state, "hv01")
    assert sorted(found) == sorted(spec["name"] for spec in wanted)
    for spec in wanted:
        on_host = found[spec["name"]]
        memory = int(spec["memory"].removesuffix("MB")) * MB
        assert on_host["generation"] == spec["generation"], spec["name"]
        assert on_host["cpus"] == spec["cpus"], spec["name"]
        assert on_host["memory_startup"] == memory, spec["name"]
        assert on_host["dynamic_memory"] == ("dynamic_memory" in spec), spec["name"]
        if "dynamic_memory" in spec:
            limits = spec["dynamic_memory"]
            assert on_host["memory_minimum"] == int(limits["min"].removesuffix("MB")) * MB
            assert on_host["memory_maximum"] == int(limits["max"].removesuffix("MB")) * MB
        assert [adapter["switch"] for adapter in on_host["adapters"]] == [spec["switch"]], spec["name"]
        assert on_host["state"] == ("Running" if spec["state"] == "running" else "Off"), spec["name"]
        if "checkpoints" in spec:
            names = [snapshot["name"] for snapshot in on_host.get("snapshots", [])]
            assert names == [spec["checkpoints"]["baseline"]], spec["name"]


def nothing_left_to_do(inventory: Path, state: Path) -> None:
    plan = orchestrate("plan", inventory, "--state-dir", state, "--output", "json")
    assert plan.exit_code == 0, plan.output
    (recap,) = [event for event in json_events(plan) if event["event"] == "recap"]
    pending = [event for event in json_events(plan) if event["event"] == "plan" and event["actions"]]
    assert recap["changed"] == 0 and not pending, plan.stdout


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classrooms())
def test_any_classroom_converges_after_any_hand_change(tmp_path_factory: pytest.TempPathFactory,
                                                       room: dict[str, Any]) -> None:
    folder = tmp_path_factory.mktemp("room")
    state = folder / "state"
    host = simulated_host(os_version=room["os_version"], os_sku=8,
                          switches=list(SWITCHES))
    inventory = write_inventory(folder, {"hv01": {**host, "multipoint_vms": room["vms"]}})

    first = orchestrate("apply", inventory, "--state-dir", state)
    assert first.exit_code == 0, first.output
    assert_matches(state, room["vms"])
    nothing_left_to_do(inventory, state)

    for spec, how in zip(room["vms"], room["drifts"], strict=True):
        drift(state, spec["name"], how)
    again = orchestrate("apply", inventory, "--state-dir", state)

    assert again.exit_code == 0, again.output
    assert_matches(state, room["vms"])
    nothing_left_to_do(inventory, state)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classrooms(), st.integers(1, 60))
def test_an_apply_killed_after_any_change_is_finished_by_the_next(tmp_path_factory: pytest.TempPathFactory,
                                                                  room: dict[str, Any], changes: int) -> None:
    """The admin's Ctrl-C, a lost shell or a host's reboot of WinRM ends the apply script on the host after
    some of its changes: it keeps what it did and runs no finally block. The next apply finishes the work."""
    folder = tmp_path_factory.mktemp("killed")
    state = folder / "state"
    host = simulated_host(os_version=room["os_version"], switches=list(SWITCHES))
    inventory = write_inventory(folder, {"hv01": {**host, "multipoint_vms": room["vms"]}})
    Simulator(state_path=state_file(state, "hv01"), seed=host["orchestrate_simulator"]).kill_after_changes(changes)

    orchestrate("apply", inventory, "--state-dir", state)  # killed on the host, or whole when it changed less
    again = orchestrate("apply", inventory, "--state-dir", state)

    assert again.exit_code == 0, again.output
    assert_matches(state, room["vms"])
    nothing_left_to_do(inventory, state)
