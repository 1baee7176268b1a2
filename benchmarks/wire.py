"""Benchmark 1, wire economy: what one host costs on the wire, ours against one `run_ps` per operation.

Ours: the real `orchestrate apply` (click's main, in this process) on an inventory whose one host is the fake
at /wsman/<route>, a converge of 5 VMs then a no-op re-apply. The fake's counters give WinRM commands, WS-Man
HTTP requests and TCP connections.

The baseline does the same operations the way a script built on `winrm.Session.run_ps` does them, one
`run_ps` per operation: the facts read, then every action of the plan in its own script, each re-checking
its state first (the Ansible task model, which is why a re-apply repeats every operation). Its scripts are
our own templates, so both sides do the same work on the host. `run_ps` puts the script on the command
line; cmd.exe cuts that at 8,191 characters, so the baseline runs with the fake's limit lifted and reports
how many of its commands a real host would have refused.

Each side runs `repeats` times on fresh simulated hosts; every figure is the median (the machine may be busy
with other work), and a counter that differed between repetitions is listed under `varied`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PASSWORD,
    PASSWORD_ENV,
    SEED,
    TEMPLATES,
    USER,
    run_cli,
    timed,
    use_fakes,
    winrm_host_vars,
    write_inventory,
)

COUNTERS = ("commands", "requests", "connections", "shells_created")
CMD_LINE_LIMIT = 8191
TARGETS = {
    "converge": {"commands": 2, "requests": 12, "connections": 1},
    "noop": {"commands": 1, "requests": 6, "connections": 1},
}


class RecordingHost:
    """A simulated host that also notes how many bytes of stdout each script printed: the size of the output
    decides how many Receive requests it takes to read it."""

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator
        self.stdout_bytes: list[int] = []

    def run(self, script: str, stdin: str = "", *, codepage: int = 65001) -> Any:
        result = self.simulator.run(script, stdin, codepage=codepage)
        self.stdout_bytes.append(len(str(result.stdout or "").encode("utf-8")))
        return result


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after.get(key, 0) - before.get(key, 0) for key in COUNTERS}


def measure_ours(server: Any, folder: Path, vms: int, route: str = "ours") -> dict[str, Any]:
    """`orchestrate apply` twice on one host: the converge, then the re-apply that finds nothing to do."""
    inventory = write_inventory(folder / f"{route}.yaml", {"hv01": winrm_host_vars(server.port, route, vms)})
    state = folder / f"state-{route}"
    results: dict[str, Any] = {}
    for label in ("converge", "noop"):
        before = server.stats()
        with timed() as timing:
            run_cli("apply", str(inventory), "--state-dir", str(state), "--output", "json")
        host = server.hosts[route].simulator
        outputs, host.stdout_bytes = host.stdout_bytes, []
        results[label] = {
            **_delta(before, server.stats()),
            "wall_s": round(timing.wall, 4),
            "stdout_bytes": outputs,
        }
    return results


def noop_by_vm_count(server: Any, folder: Path, most: int) -> list[dict[str, Any]]:
    """The no-op's requests for 1..most VMs: where the facts document outgrows one Receive reply."""
    rows = []
    for count in range(1, most + 1):
        noop = measure_ours(server, folder, count, route=f"sweep-{count}")["noop"]
        rows.append(
            {"vms": count, "requests": noop["requests"], "facts_stdout_bytes": noop["stdout_bytes"][0]}
        )
    return rows


def baseline_scripts(vms: int) -> tuple[str, list[str]]:
    """The facts script and one script per planned action, rendered from the shipped templates."""
    from orchestrator.facts import HostFacts, load_document, parse_facts
    from orchestrator.inventory import load_inventory
    from orchestrator.plan import plan_host
    from orchestrator.render import Renderer
    from orchestrator.simulator import Simulator
    from orchestrator.transport.stdin import channel

    with tempfile.TemporaryDirectory(prefix="bench-wire-") as tmp:
        path = write_inventory(Path(tmp) / "plan.yaml", {"hv01": winrm_host_vars(1, "plan", vms)})
        host = load_inventory(str(path)).hosts["hv01"]
    renderer = Renderer(TEMPLATES)
    facts_script = renderer.render_facts(host)
    # The plan of a converge: what the facts of the seeded (empty) host call for.
    observed = Simulator(seed=SEED).run(*channel(facts_script))
    facts: HostFacts = parse_facts(load_document(observed.stdout))
    actions = list(plan_host(host, facts))
    scripts = [
        renderer.render_operation("baseline_action.ps1.j2", host, facts.version, actions=[action])
        for action in actions
    ]
    return facts_script, scripts


def measure_baseline(server: Any, operations: list[str], route: str = "baseline") -> dict[str, Any]:
    """The same operations as one `winrm.Session.run_ps` each, over one Session, converge then re-apply."""
    import winrm

    session = winrm.Session(server.url(route), auth=(USER, PASSWORD), transport="basic")
    results: dict[str, Any] = {}
    for label in ("converge", "noop"):
        before = server.stats()
        with timed() as timing:
            for script in operations:
                result = session.run_ps(script)
                if result.status_code != 0:
                    raise RuntimeError(f"baseline {label}: run_ps failed: {result.std_err[:300]!r}")
        results[label] = {
            **_delta(before, server.stats()),
            "wall_s": round(timing.wall, 4),
            "operations": len(operations),
        }
    return results


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of the repetitions for every figure; a counter that was not the same every time keeps its
    values under `varied` (a script's output that lands near a Receive boundary can take one more)."""
    combined: dict[str, Any] = {}
    for label in ("converge", "noop"):
        rows = [run[label] for run in runs]
        keys = [key for key in rows[0] if key not in ("wall_s", "stdout_bytes")]
        counts = {key: statistics.median_low([row[key] for row in rows]) for key in keys}
        varied = {key: [row[key] for row in rows] for key in keys if len({row[key] for row in rows}) > 1}
        walls = sorted(row["wall_s"] for row in rows)
        combined[label] = {**counts, "wall_s": statistics.median(walls), "wall_s_each": walls}
        if varied:
            combined[label]["varied"] = varied
        if "stdout_bytes" in rows[0]:
            combined[label]["stdout_bytes"] = rows[0]["stdout_bytes"]
    return combined


def _command_line_length(script: str) -> int:
    """The length of the command line `run_ps` sends for `script` (as pywinrm builds it)."""
    import base64

    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    return len(f"powershell -encodedcommand {encoded}")


def run(vms: int = 5, repeats: int = 3) -> dict[str, Any]:
    use_fakes()
    from fakes.server import FakeWinRMServer

    from orchestrator.simulator import Simulator

    os.environ[PASSWORD_ENV] = PASSWORD
    server = FakeWinRMServer(
        users={USER: PASSWORD}, simulator_factory=lambda _route: RecordingHost(Simulator(seed=SEED))
    )
    server.command_line_limit = None  # lifted for the baseline; ours never comes near it (see the report)
    with server, tempfile.TemporaryDirectory(prefix="bench-wire-") as tmp:
        # One untimed round first on another simulated host: imports, template compilation and the
        # simulator's parser warm-up are paid once per process, not per host; both sides then run warm.
        measure_ours(server, Path(tmp), vms, route="warmup")
        facts_script, action_scripts = baseline_scripts(vms)
        operations = [facts_script, *action_scripts]
        ours = _combine([measure_ours(server, Path(tmp), vms, route=f"ours-{i}") for i in range(repeats)])
        baseline = _combine(
            [measure_baseline(server, operations, route=f"baseline-{i}") for i in range(repeats)]
        )
        sweep = noop_by_vm_count(server, Path(tmp), vms)
        baseline["commands_over_cmd_exe_limit"] = sum(
            1 for script in operations if _command_line_length(script) > CMD_LINE_LIMIT
        )
    ratios = {
        label: {
            key: (round(baseline[label][key] / ours[label][key], 2) if ours[label][key] else None)
            for key in ("commands", "requests", "connections", "wall_s")
        }
        for label in ("converge", "noop")
    }
    met = {
        label: all(ours[label][key] <= limit for key, limit in TARGETS[label].items()) for label in TARGETS
    }
    return {
        "vms": vms,
        "repeats": repeats,
        "ours": ours,
        "baseline": baseline,
        "baseline_over_ours": ratios,
        "noop_by_vm_count": sweep,
        "receive_chunk_bytes": server.output_chunk,
        "targets": TARGETS,
        "met": met,
    }
