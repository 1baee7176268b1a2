"""A simulated Hyper-V host driven the way the runner drives one: facts script, plan, one apply script.

The checkpoint tests run the pipeline by hand on `orchestrator.simulator.Simulator` (to fire tasks and act
as the admin between steps), and judge the host's state by a fresh facts run, never by the text of the
scripts sent. `RENDERER` is the scripts port the operations plan with, as the runner's Renderer is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.facts import HostFacts, facts_after_apply, load_document, parse_facts
from orchestrator.model import CheckpointPolicy, Connection, DiskSpec, HostSpec, Schedule, VMSpec
from orchestrator.operations.converge import plan_converge
from orchestrator.plan import Plan
from orchestrator.render import Renderer
from orchestrator.simulator import Simulator
from orchestrator.simulator.language.console_encoding import OEM_CODEPAGE
from orchestrator.transport.stdin import channel

GiB = 1024**3
IMAGE = "D:\\images\\mps2012-premium.vhdx"
SEED = {
    "os_sku": 8,
    "os_version": "6.3",
    "switches": ["LAN"],
    "memory": "64GB",
    "logical_processors": 16,
    "images": {IMAGE: {"edition_sku": 77, "size": "20GB"}},
}
RENDERER = Renderer()


def converge_plan(spec: HostSpec, facts: HostFacts) -> Plan:
    """What `orchestrate apply` plans: the VM diff and the host's scheduled tasks."""
    return plan_converge(spec, facts, RENDERER)


def lab_vm(
    name: str, *, cpus: int = 2, keep: int | None = 3, pre_rollback: bool = False, state: str = "running"
):
    return VMSpec(
        name,
        cpus,
        4 * GiB,
        DiskSpec("parent", source=IMAGE),
        switch="LAN",
        state=state,  # type: ignore[arg-type]
        checkpoints=CheckpointPolicy("clean", keep, pre_rollback),
    )


def lab_host(*vms: VMSpec, schedules: Iterable[Schedule] = ()) -> HostSpec:
    return HostSpec("hv01", Connection(kind="simulator"), vms=tuple(vms), schedules=tuple(schedules))


@dataclass
class Outcome:
    exit_code: int
    document: dict[str, Any]
    facts: HostFacts | None

    @property
    def error(self) -> str | None:
        failed = self.document.get("failed") or {}
        return failed.get("error") or self.document.get("error")


@dataclass
class SimHost:
    """One simulated host and the inventory's view of it."""

    spec: HostSpec
    sim: Simulator = field(default_factory=lambda: Simulator(None, SEED))

    def facts_document(self) -> dict[str, Any]:
        result = self.sim.run(*channel(RENDERER.render_facts(self.spec)))
        assert result.exit_code == 0, result.stderr
        return load_document(result.stdout)

    def facts(self) -> HostFacts:
        return parse_facts(self.facts_document())

    def run(self, plan: Plan) -> Outcome:
        """The apply script of `plan`, as the runner renders it and the WinRM transport runs it (through the
        bootstrap's script block, so the script's preferences are not the global ones); returns the document and
        the new facts."""
        before = self.facts_document()
        script = RENDERER.render_apply(self.spec, list(plan), parse_facts(before).version)
        result = self.sim.run(*channel(script))
        document = load_document(result.stdout)
        facts = parse_facts(facts_after_apply(before, document["facts"])) if document.get("facts") else None
        return Outcome(result.exit_code, document, facts)

    def apply(self) -> Outcome:
        outcome = self.run(converge_plan(self.spec, self.facts()))
        assert outcome.exit_code == 0, outcome.error
        return outcome

    def powershell(self, script: str) -> None:
        """What the admin (or a user) does by hand on the host, at its own console (OEM code page, not the 65001
        of the product's WinRM shells: orchestrator/simulator/language/console_encoding.py)."""
        result = self.sim.run(script, codepage=OEM_CODEPAGE)
        assert result.exit_code == 0, result.stderr

    def set_cpus(self, vm: str, count: int) -> None:
        self.powershell(
            f"Stop-VM -Name '{vm}' -TurnOff -Force; Set-VMProcessor -Confirm:$false -VMName '{vm}' -Count {count}; "
            f"Start-VM -Name '{vm}'"
        )

    def start_task(self, name: str) -> None:
        """Task Scheduler firing the task: the simulator decodes and runs its -EncodedCommand."""
        self.powershell(f"Start-ScheduledTask -TaskName '{name}' -TaskPath '\\MultiPoint\\'")

    def with_inventory(self, spec: HostSpec) -> SimHost:
        return replace(self, spec=spec)
