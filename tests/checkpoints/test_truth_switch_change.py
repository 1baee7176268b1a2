"""Issue 13, finding 10: on 2012 and 2012 R2 a running VM's network adapters change only while it is off
(hot add is 2016 and Gen 2 only; reconnecting live is undocumented there, so the simulator is strict).
The plan stops the VM, changes its switch and starts it again; the simulator refuses the live change."""

from __future__ import annotations

from dataclasses import replace

import pytest
from checkpoint_support import SEED, SimHost, converge_plan, lab_host, lab_vm

from orchestrator.actions import ConnectSwitch, StartVM, StopVM
from orchestrator.simulator import Simulator


def classroom_on(os_version: str) -> SimHost:
    vm = replace(lab_vm("lab-01"), generation=1 if os_version == "6.2" else 2)
    host = SimHost(lab_host(vm), Simulator(None, {**SEED, "os_version": os_version, "switches": ["LAN", "Exam"]}))
    host.apply()
    return host


@pytest.mark.parametrize("os_version", ["6.2", "6.3"])
def test_moving_a_running_classroom_vm_to_another_switch_stops_it_first_and_starts_it_again(
    os_version: str,
) -> None:
    host = classroom_on(os_version)
    exam = host.with_inventory(lab_host(replace(host.spec.vms[0], switch="Exam")))

    plan = converge_plan(exam.spec, exam.facts())
    outcome = exam.run(plan)

    assert [type(a) for a in plan] == [StopVM, ConnectSwitch, StartVM]
    assert outcome.exit_code == 0, outcome.error
    vm = exam.facts().vm("lab-01")
    assert vm is not None and vm.switches == ("Exam",) and vm.state == "Running"


@pytest.mark.parametrize("os_version", ["6.2", "6.3"])
@pytest.mark.parametrize(
    "change",
    [
        "Add-VMNetworkAdapter -VMName 'lab-01' -SwitchName 'Exam' -Confirm:$false",
        "Connect-VMNetworkAdapter -VMName 'lab-01' -SwitchName 'Exam' -Confirm:$false",
    ],
)
def test_the_host_refuses_a_network_change_on_a_running_vm(os_version: str, change: str) -> None:
    host = classroom_on(os_version)

    result = host.sim.run(change)

    assert result.exit_code != 0
    assert "cannot be performed while the virtual machine is in its current state" in result.stderr
    vm = host.facts().vm("lab-01")
    assert vm is not None and vm.switches == ("LAN",) and len(vm.adapters) == 1
