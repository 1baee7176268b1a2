"""Benchmark 2, fleet wall time: many hosts behind the fake, a fixed latency on every request, --forks N.

The real `orchestrate apply` runs in this process over an inventory of `hosts` WinRM hosts, all served by one
fake (benchmarks.fleet_server, its own process) at /wsman/<host>, with `latency` seconds added before every
HTTP reply. Each forks value gets its own fresh hosts: a converge (5 VMs each), then a no-op re-apply.

The lower bound is ceil(hosts / forks) x requests per host x latency, with the requests per host read from
the fake's counters in the same run (not assumed). It leaves out all computing: the orchestrator's (render,
parse) and the simulated hosts' (running the scripts), which here share this machine's cores, where a real
fleet runs each host's share on that host. So the CPU seconds of both processes are reported beside it,
and the floor they set: max(orchestrator CPU, hosts CPU, their sum / cores).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import PASSWORD, PASSWORD_ENV, ROOT, run_cli, timed, winrm_host_vars, write_inventory

TARGET_RATIO = 1.3


class ServerProcess:
    """benchmarks.fleet_server as a child process; `stats()` asks it for its counters and CPU seconds."""

    def __init__(self, latency: float) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fleet_server", "--latency", str(latency)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(json.loads(self.proc.stdout.readline())["port"])

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def one_run(
    server: ServerProcess, inventory: Path, state: Path, forks: int, hosts: int, latency: float
) -> dict[str, Any]:
    before = server.stats()
    with timed() as timing:
        run_cli("apply", str(inventory), "--state-dir", str(state), "--forks", str(forks), "--output", "json")
    after = server.stats()
    orchestrator_cpu = timing.cpu
    hosts_cpu = after["cpu_s"] - before["cpu_s"]
    # What the two processes' measured CPU allows at best: each runs Python on one core at a time (the
    # interpreter lock), and together they have this machine's cores.
    cpu_floor = max(orchestrator_cpu, hosts_cpu, (orchestrator_cpu + hosts_cpu) / (os.cpu_count() or 1))
    requests = after["requests"] - before["requests"]
    per_host = requests / hosts
    bound = math.ceil(hosts / forks) * per_host * latency
    return {
        "wall_s": round(timing.wall, 3),
        "requests_per_host": round(per_host, 2),
        "commands": after["commands"] - before["commands"],
        "connections": after["connections"] - before["connections"],
        "lower_bound_s": round(bound, 3),
        "ratio": round(timing.wall / bound, 2) if bound else None,
        "orchestrator_cpu_s": round(orchestrator_cpu, 2),
        "fake_hosts_cpu_s": round(hosts_cpu, 2),
        "cpu_floor_s": round(cpu_floor, 2),
        "orchestrator_cpu_ms_per_host": round(1000 * orchestrator_cpu / hosts, 1),
    }


def run(
    hosts: int = 200, forks: tuple[int, ...] = (10, 50, 100), latency: float = 0.02, vms: int = 5
) -> dict[str, Any]:
    os.environ[PASSWORD_ENV] = PASSWORD
    server = ServerProcess(latency)
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
            folder = Path(tmp)
            # Untimed: one host through both processes first, so imports, template compilation and the
            # simulator's first parse are not charged to the first forks value.
            warm = write_inventory(folder / "warm.yaml", {"warm": winrm_host_vars(server.port, "warm", vms)})
            run_cli("apply", str(warm), "--state-dir", str(folder / "state-warm"), "--output", "json")
            for count in forks:
                names = {f"f{count}-hv{i:03d}": f"f{count}-hv{i:03d}" for i in range(1, hosts + 1)}
                inventory = write_inventory(
                    folder / f"fleet-{count}.yaml",
                    {name: winrm_host_vars(server.port, route, vms) for name, route in names.items()},
                )
                state = folder / f"state-{count}"
                results[str(count)] = {
                    "converge": one_run(server, inventory, state, count, hosts, latency),
                    "noop": one_run(server, inventory, state, count, hosts, latency),
                }
    finally:
        server.stop()
    return {
        "hosts": hosts,
        "vms_per_host": vms,
        "latency_s": latency,
        "forks": results,
        "target_ratio": TARGET_RATIO,
    }
