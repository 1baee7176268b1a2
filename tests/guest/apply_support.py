"""The admin's story around `orchestrate apply` for VMs with `guest`: an inventory, the CLI, the simulated host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from orchestrator.cli import main
from orchestrator.simulator import Simulator
from orchestrator.simulator.host.guest import ANSWER_FILE, volume_of
from orchestrator.simulator.host.model import norm_path
from orchestrator.transport.simulated import state_file

PREMIUM = "D:\\images\\mps2012-premium.vhdx"
STANDARD = "D:\\images\\mps2012-standard.vhdx"
PASSWORD = "Pa55-w0rd!<&>'\"]]>é"
JOIN_PASSWORD = "j0in&<secret>"
ENV = {"MP_ADMIN_PASSWORD": PASSWORD, "JOIN_PASSWORD": JOIN_PASSWORD}


def seed(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "os_sku": 8, "os_version": "6.3.9600", "logical_processors": 24, "memory": "64GB",
        "switches": ["Classroom LAN"], "images": {PREMIUM: {"edition_sku": 77}, STANDARD: {"edition_sku": 76}},
    }
    data.update(overrides)
    return data


def guest(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "admin_password": "{{ lookup('env', 'MP_ADMIN_PASSWORD') }}",
        "time_zone": "W. Europe Standard Time",
        "organization": "O'Brien <&> \"Schule\" ]]> Zürich",
    }
    data.update(overrides)
    return data


def inventory(folder: Path, vms: list[dict[str, Any]], *, host_seed: dict[str, Any] | None = None,
              defaults: dict[str, Any] | None = None, host: str = "hv01") -> Path:
    vm_defaults: dict[str, Any] = {
        "cpus": 2, "memory": "4GB", "switch": "Classroom LAN", "disk": {"parent": PREMIUM},
        "checkpoints": {"baseline": "clean"}, "guest": guest(),
    }
    vm_defaults.update(defaults or {})
    document = {"all": {"hosts": {host: {
        "ansible_connection": "simulator", "orchestrate_simulator": host_seed or seed(),
        "multipoint_vm_defaults": vm_defaults, "multipoint_vms": vms,
    }}}}
    path = folder / "inventory.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def orchestrate(*args: Any, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=ENV if env is None else env).invoke(main, [str(a) for a in args], catch_exceptions=False)


def events(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def recap(result: Result) -> dict[str, Any]:
    found = [e for e in events(result) if e["event"] == "recap"]
    assert found, result.output
    return found[-1]


def host_failure(result: Result, host: str = "hv01") -> str:
    done = [e for e in events(result) if e["event"] == "host_done" and e["host"] == host]
    assert done, result.output
    return str(done[-1]["error"] or "")


def failed_apply(inventory_path: Path, state: Path) -> tuple[Result, str]:
    """`orchestrate apply` that must fail on hv01: its result and hv01's error."""
    applied = orchestrate("apply", inventory_path, "--state-dir", state, "-o", "json")
    assert applied.exit_code == 1, applied.output
    return applied, host_failure(applied)


def simulated(state: Path, host_seed: dict[str, Any] | None = None, host: str = "hv01") -> Simulator:
    """The simulated host as its state file holds it (seeded like the inventory's when there is none yet)."""
    return Simulator(state_path=state_file(state, host), seed=host_seed, host_name=host)


def guest_of(sim: Simulator, name: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the guest's run: its phase, None when the VM is off; the OS state on its system disk)."""
    vm = sim.host.vm_by_name(name)[0]
    volume = volume_of(sim.host, vm.disks[0].path)
    assert volume is not None
    return vm.guest_run, volume["os"]


def guest_line_of(sim: Simulator, name: str) -> tuple[str, str, str]:
    """(state, computer name, token) on the VM's orchestrate-guest Notes line; the token is the one its setup
    was given (`ready` and a GUID's 32 hex digits, made on the host by PrepareGuest)."""
    import re

    vm = sim.host.vm_by_name(name)[0]
    match = re.search(r"^orchestrate-guest: (ready[0-9a-f]{32}) (\S+) (\S+)$", vm.notes, re.MULTILINE)
    assert match is not None, vm.notes
    return match.group(2), match.group(3), match.group(1)


def has_answer_file(sim: Simulator, name: str) -> bool:
    vm = sim.host.vm_by_name(name)[0]
    volume = volume_of(sim.host, vm.disks[0].path)
    return volume is not None and norm_path(ANSWER_FILE) in volume["files"]


def summaries(result: Result, host: str = "hv01") -> list[str]:
    return [e["summary"] for e in events(result) if e["event"] == "planned" and e["host"] == host]


def read_facts(state: Path, spec: Any) -> Any:
    """The host's facts as a run reads them (the facts script through the simulated transport)."""
    from orchestrator.facts import parse_facts_json
    from orchestrator.render import Renderer
    from orchestrator.transport.simulated import SimulatedTransport

    transport = SimulatedTransport(spec.name, state, spec.simulator)
    result = transport.run(Renderer().render_facts(spec), idempotent=True)
    assert result.exit_code == 0, result.stderr
    return parse_facts_json(result.stdout)
