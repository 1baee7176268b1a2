"""Two simulated Hyper-V hosts and a share, kept in one state dir, driven the way the admin drives them.

The admin runs `orchestrate` commands (click's CliRunner); the tests then read the hosts' state back from
the simulator's files (what Get-VM would say, what is on the share), never from the text the commands sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.facts import HostFacts, load_document, parse_facts
from orchestrator.inventory import load_inventory
from orchestrator.render import Renderer
from orchestrator.simulator import Simulator
from orchestrator.simulator.language.console_encoding import OEM_CODEPAGE
from orchestrator.transport.errors import ShellLost
from orchestrator.transport.factory import open_transport
from orchestrator.transport.simulated import state_file

SHARE = "\\\\nas\\exports"
IMAGE = "D:\\images\\mps2012-premium.vhdx"


def host_seed(**overrides: Any) -> dict[str, Any]:
    seed: dict[str, Any] = {
        "os_sku": 8,
        "os_version": "6.3.9600",
        "logical_processors": 24,
        "memory": "64GB",
        "switches": ["Classroom LAN"],
        "images": {IMAGE: {"edition_sku": 77}},
        "shares": {SHARE: {"free": "2TB"}},
    }
    seed.update(overrides)
    return seed


class Lab:
    """hv01 runs lab-01 and lab-02 (from the inventory); hv02 is empty; both reach \\\\nas\\exports, because
    their sessions are CredSSP ones that can pass the admin's identity on to the share (no double hop)."""

    def __init__(
        self, tmp_path: Path, hv01: dict[str, Any] | None = None, hv02: dict[str, Any] | None = None
    ):
        self.dir = tmp_path
        self.state = tmp_path / "state"
        self.inventory = tmp_path / "school.yaml"
        self.doc: dict[str, Any] = {
            "all": {
                "vars": {
                    "ansible_connection": "simulator",
                    "ansible_winrm_transport": "credssp",
                    "multipoint_vm_defaults": {"switch": "Classroom LAN", "disk": {"parent": IMAGE}},
                },
                "hosts": {
                    "hv01": {
                        "orchestrate_simulator": host_seed(**(hv01 or {})),
                        "multipoint_vms": [
                            {"name": "lab-01", "cpus": 2, "memory": "4GB", "stations": {"rdp": 4}},
                            {"name": "lab-02", "cpus": 2, "memory": "4GB", "stations": {"rdp": 4}},
                        ],
                    },
                    "hv02": {"orchestrate_simulator": host_seed(**(hv02 or {}))},
                },
            }
        }
        self.save()

    def save(self) -> None:
        self.inventory.write_text(yaml.safe_dump(self.doc, sort_keys=False), encoding="utf-8")

    # -- the admin at the console -------------------------------------------------------------------------

    def orchestrate(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, [*args, "--state-dir", str(self.state)])
        return result.exit_code, result.output

    def ok(self, *args: str) -> str:
        code, output = self.orchestrate(*args)
        assert code == 0, output
        return output

    def json_events(self, *args: str) -> tuple[int, list[dict[str, Any]]]:
        code, output = self.orchestrate(*args, "--output", "json")
        events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        return code, events

    # -- what is really on the hosts ----------------------------------------------------------------------

    def sim(self, host: str) -> Simulator:
        """The host as its state file holds it, or as the inventory seeds it before any run changed it."""
        seed = load_inventory(str(self.inventory)).hosts[host].simulator
        return Simulator(state_path=state_file(self.state, host), seed=seed, host_name=host)

    def facts(self, host: str) -> HostFacts:
        inventory = load_inventory(str(self.inventory))
        result = self.sim(host).run(Renderer().render_facts(inventory.hosts[host]))
        assert result.exit_code == 0, result.stderr
        return parse_facts(load_document(result.stdout))

    def powershell(self, host: str, script: str) -> str:
        """What someone does by hand on the host: at its own console, whose code page is the OEM one, not the
        65001 of the product's WinRM shells (orchestrator/simulator/language/console_encoding.py)."""
        result = self.sim(host).run(script, codepage=OEM_CODEPAGE)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    def exists(self, host: str, path: str) -> bool:
        out = self.powershell(host, f"Write-Output (Test-Path -LiteralPath '{path}')")
        return out.strip() == "True"

    def files_under(self, host: str, path: str) -> list[str]:
        out = self.powershell(
            host,
            f"if (Test-Path -LiteralPath '{path}') {{ Get-ChildItem -LiteralPath '{path}' -Recurse -File | "
            "ForEach-Object -Process { Write-Output $_.FullName } }",
        )
        return [line for line in out.splitlines() if line.strip()]

    def slow_jobs(self, host: str, seconds: float) -> None:
        """From now on the host's background jobs stay Running for `seconds` of Wait-Job -Timeout (the
        simulated host's job_seconds), so the scripts' polling loops run: progress, deadlines."""
        from orchestrator.simulator.state import host_from_seed, host_to_json

        path = state_file(self.state, host)
        if path.exists():
            doc = json.loads(path.read_text(encoding="utf-8"))
        else:  # a host no run has changed yet: its state as the inventory seeds it
            seed = load_inventory(str(self.inventory)).hosts[host].simulator
            doc = host_to_json(host_from_seed(seed, host)[0])
            path.parent.mkdir(parents=True, exist_ok=True)
        doc["host"]["job_seconds"] = seconds
        path.write_text(json.dumps(doc), encoding="utf-8")

    def running(self) -> list[tuple[str, str]]:
        """(host, VM) of every running VM, on both hosts."""
        return [
            (host, vm.name) for host in ("hv01", "hv02") for vm in self.facts(host).vms.values() if vm.running
        ]


def exported(tmp_path: Path, **seeds: Any) -> tuple[Lab, str]:
    """hv01 converged and lab-01 exported to the share; returns the lab and the export folder."""
    from orchestrator.journal import Journal

    lab = Lab(tmp_path, **seeds)
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.ok("export", str(lab.inventory), "--to", SHARE, "--vm", "lab-01")
    (record,) = Journal.open(lab.state).exports("hv01", "lab-01")
    return lab, record.path


@dataclass
class Fault:
    """Break one script on one host: `where` "before" it runs (the connection drops, nothing ran) or "after"
    it ran (the host did the work, the answer is lost). `match` picks the script by text only that step's
    script holds ("Export-VM -Path", "Import-VM -Path", "$baseFiles" of the removal)."""

    host: str
    match: str
    where: str = "before"
    hits: int = 0

    def factory(self) -> Callable[[Any, Path], Any]:
        fault = self

        class Faulty:
            def __init__(self, inner: Any, host: str) -> None:
                self.inner = inner
                self.host = host

            def run(self, script: str, **kwargs: Any) -> Any:
                hit = self.host == fault.host and fault.match in script
                if hit and fault.where == "before":
                    fault.hits += 1
                    raise ShellLost("injected: the connection dropped before the script ran", "try again")
                result = self.inner.run(script, **kwargs)
                if hit and fault.where == "after":
                    fault.hits += 1
                    raise ShellLost("injected: the connection dropped after the script ran", "try again")
                return result

            def close(self) -> None:
                self.inner.close()

        return lambda host, state_dir: Faulty(open_transport(host, state_dir), host.name)


CLI = [sys.executable, "-c", "from orchestrator.cli import main; main()"]


def other_box(lab: Lab, name: str = "box-b") -> Callable[..., subprocess.CompletedProcess[str]]:
    """A second admin box in its own process: its own state dir (journal, locks), the same Hyper-V hosts."""
    state = lab.dir / name
    state.mkdir(exist_ok=True)
    link = state / "simulator"
    if not link.exists():
        link.symlink_to(lab.state / "simulator", target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})

    def orchestrate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args, "--state-dir", str(state)], capture_output=True, text=True, env=env,
                              timeout=120, check=False)

    return orchestrate
