"""The plan is a pure diff: given a desired host and its observed facts, the actions that converge it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator.actions import (
    ConnectSwitch,
    CreateVM,
    RemoveVM,
    SetMemory,
    SetProcessor,
    StartVM,
    StopVM,
    TakeCheckpoint,
)
from orchestrator.facts import AdapterFacts, CheckpointFacts, HostFacts, VMFacts
from orchestrator.model import CheckpointPolicy, Connection, DiskSpec, DynamicMemory, HostSpec, VMSpec
from orchestrator.plan import plan_host
from orchestrator.vm_index import VMIndex

GB = 1024**3


def vm_spec(name: str = "lab-01", **kw) -> VMSpec:
    base = dict(
        name=name,
        cpus=4,
        memory=8 * GB,
        disk=DiskSpec("parent", source="D:\\images\\premium.vhdx"),
        switch="LAN",
        checkpoints=CheckpointPolicy(baseline="clean"),
    )
    base.update(kw)
    return VMSpec(**base)


def observed(name: str = "lab-01", **kw) -> VMFacts:
    base = dict(
        name=name,
        id="6f1c1f0e-0000-4000-8000-000000000001",
        state="Running",
        generation=2,
        cpus=4,
        memory_startup=8 * GB,
        dynamic_memory=False,
        memory_minimum=512 * 1024**2,
        memory_maximum=1024 * GB,
        adapters=(AdapterFacts("Network Adapter", "LAN"),),
        checkpoints=(CheckpointFacts("clean", "c1", None, None, "orchestrate:managed"),),
    )
    base.update(kw)
    return VMFacts(**base)


def host(*vms: VMSpec) -> HostSpec:
    return HostSpec(name="hv01", connection=Connection(kind="simulator"), vms=vms)


def facts(*vms: VMFacts, version: str = "6.3.9600") -> HostFacts:
    return HostFacts(os_version=version, os_sku=8, vms=VMIndex(vms))


def kinds(plan) -> list[type]:
    return [type(a) for a in plan]


def test_a_missing_vm_is_created_checkpointed_while_clean_then_started():
    plan = plan_host(host(vm_spec()), facts())
    assert kinds(plan) == [CreateVM, TakeCheckpoint, StartVM]
    assert plan[1].name == "clean"


def test_a_converged_host_plans_nothing():
    assert plan_host(host(vm_spec()), facts(observed())).empty


def test_a_vm_wanted_off_is_created_and_left_off():
    plan = plan_host(host(vm_spec(state="off", checkpoints=CheckpointPolicy())), facts())
    assert kinds(plan) == [CreateVM]


def test_cpu_change_on_a_running_vm_is_wrapped_in_stop_and_start():
    plan = plan_host(host(vm_spec(cpus=6)), facts(observed()))
    assert kinds(plan) == [StopVM, SetProcessor, StartVM]
    assert plan[1].changes() == [("cpus", 4, 6)]
    assert "needed for" in plan[0].reason


def test_cpu_change_on_a_stopped_vm_wanted_off_needs_no_power_cycle():
    plan = plan_host(host(vm_spec(cpus=2, state="off")), facts(observed(state="Off")))
    assert kinds(plan) == [SetProcessor]


def test_static_memory_resize_needs_the_vm_off_on_2012_r2_but_not_on_2016():
    desired = host(vm_spec(memory=12 * GB))
    assert kinds(plan_host(desired, facts(observed()))) == [StopVM, SetMemory, StartVM]
    assert kinds(plan_host(desired, facts(observed(), version="10.0.14393"))) == [SetMemory]


def test_switching_to_dynamic_memory_needs_the_vm_off_even_on_2016():
    desired = host(vm_spec(dynamic_memory=DynamicMemory(4 * GB, 16 * GB)))
    plan = plan_host(desired, facts(observed(), version="10.0"))
    assert kinds(plan) == [StopVM, SetMemory, StartVM]
    assert ("dynamic_memory", "static", f"{4 * GB}-{16 * GB}") in plan[1].changes()


@pytest.mark.parametrize("version", ["6.2.9200", "6.3.9600"])
def test_switch_change_of_a_running_vm_is_wrapped_in_stop_and_start_on_2012_and_2012_r2(version: str):
    # Live network changes are documented from 2016 only (plan.py's docstring has the source).
    plan = plan_host(host(vm_spec(switch="Classroom")), facts(observed(), version=version))
    assert kinds(plan) == [StopVM, ConnectSwitch, StartVM]
    assert plan[1].changes() == [("switch", "LAN", "Classroom")]


def test_switch_change_of_a_running_vm_with_an_adapter_happens_live_on_2016():
    plan = plan_host(host(vm_spec(switch="Classroom")), facts(observed(), version="10.0"))
    assert kinds(plan) == [ConnectSwitch]


def test_power_state_converges_both_ways():
    assert kinds(plan_host(host(vm_spec()), facts(observed(state="Off")))) == [StartVM]
    assert kinds(plan_host(host(vm_spec(state="off")), facts(observed()))) == [StopVM]


def test_a_missing_baseline_checkpoint_is_taken_on_an_existing_vm():
    plan = plan_host(host(vm_spec()), facts(observed(checkpoints=())))
    assert kinds(plan) == [TakeCheckpoint]


def test_absent_removes_only_the_vm_marked_absent_and_stops_it_first():
    plan = plan_host(host(vm_spec(state="absent")), facts(observed()))
    assert kinds(plan) == [StopVM, RemoveVM]
    assert plan_host(host(vm_spec(state="absent")), facts()).empty


def test_vms_not_in_the_inventory_are_reported_never_removed():
    plan = plan_host(host(vm_spec()), facts(observed(), observed("teacher-pc", id="x")))
    assert plan.empty
    assert any("teacher-pc" in note and "left alone" in note for note in plan.notes)


@pytest.mark.parametrize("name", ["O'Brien lab", "lab ‘quoted’", "$(calc)", "laboratoire-é"])
def test_names_flow_through_unchanged(name: str):
    plan = plan_host(host(vm_spec(name=name)), facts())
    assert plan[0].vm.name == name and plan[-1].vm_name == name


def test_plan_is_deterministic_and_keeps_inventory_order():
    desired = host(vm_spec("b"), vm_spec("a"), replace(vm_spec("c"), state="off"))
    first = plan_host(desired, facts())
    assert list(first) == list(plan_host(desired, facts()))
    assert [a.target for a in first if isinstance(a, CreateVM)] == ["b", "a", "c"]
