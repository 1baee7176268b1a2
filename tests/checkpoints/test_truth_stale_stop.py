"""A stop that wraps an off-only change re-checks on the host that the change is still needed.

The plan is made from facts read a moment ago; another admin box (or a person at the console) may have made
the change since. Before, the script stopped the classroom VM anyway: a needless reboot in a lesson."""

from __future__ import annotations

from checkpoint_support import SimHost, converge_plan, lab_host, lab_vm

from orchestrator.actions import StopVM


def uptime_runs(host: SimHost, name: str) -> int:
    return next(vm.uptime_runs for vm in host.sim.host.vms.values() if vm.name == name)


def test_a_change_made_meanwhile_by_someone_else_does_not_reboot_the_vm() -> None:
    host = SimHost(lab_host(lab_vm("lab-01", cpus=2)))
    host.apply()
    wanted = host.with_inventory(lab_host(lab_vm("lab-01", cpus=4)))
    stale_plan = converge_plan(wanted.spec, wanted.facts())
    assert isinstance(stale_plan[0], StopVM) and stale_plan[0].unless == (("cpus", 4),)
    host.set_cpus("lab-01", 4)  # meanwhile, by hand: stopped, changed, started again
    starts = uptime_runs(host, "lab-01")

    outcome = wanted.run(stale_plan)

    assert outcome.exit_code == 0, outcome.error
    assert uptime_runs(host, "lab-01") == starts  # never stopped and started again
    after = outcome.facts.vm("lab-01")
    assert after.running and after.cpus == 4


def test_a_change_still_needed_stops_changes_and_starts_the_vm() -> None:
    host = SimHost(lab_host(lab_vm("lab-01", cpus=2)))
    host.apply()
    wanted = host.with_inventory(lab_host(lab_vm("lab-01", cpus=4)))
    starts = uptime_runs(host, "lab-01")

    outcome = wanted.run(converge_plan(wanted.spec, wanted.facts()))

    assert outcome.exit_code == 0, outcome.error
    assert uptime_runs(host, "lab-01") == starts + 1
    assert outcome.facts.vm("lab-01").cpus == 4 and outcome.facts.vm("lab-01").running
