"""Benchmark 4, simulator throughput: apply scripts run per CPU second on one core.

The simulator bounds the speed of the test suite and of every dry-run preflight. The scripts are the real
rendered ones for the benchmark host (5 classroom VMs), each run on its own fresh simulated host, timed in
CPU seconds of this single-threaded process (`time.process_time`), simulator construction excluded:

- converge: the apply script that creates the 5 VMs (15 actions, then the new facts);
- one change: on a converged host, the apply script of one action (start a VM that was stopped), then facts;
- facts: the read-only facts script on a converged host.

Then the same scripts run again (on fresh simulated hosts, not timed) under a sampling profiler on the CPU
clock (benchmarks.layers), which says what share of a script's CPU each layer of the simulator takes: the
PowerShell language (parser, compiled tree, interpreter, values and operators), parameter binding and
command dispatch, and the simulated host (its cmdlets and objects, ConvertTo-Json, files and state). From
those shares: how many scripts per second the simulator would run if the language cost nothing, the bound
on what any faster execution model of the language alone can give.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from benchmarks.common import PASSWORD, PASSWORD_ENV, SEED, winrm_host_vars, write_inventory

TARGET_PER_S = 500.0
ROUND_CPU_S = 0.2  # the sampled pass builds fresh hosts for about this much CPU per round
# Tried in this order for each frame, innermost first (benchmarks.layers.sample).
LAYERS = (
    ("language", "/orchestrator/simulator/language/"),
    ("binding", "/orchestrator/simulator/binder.py"),
    ("binding", "/orchestrator/simulator/commands.py"),
    ("binding", "/orchestrator/signatures.py"),
    ("host", "/orchestrator/simulator/"),
)


def _scripts(vms: int, folder: Path) -> dict[str, Any]:
    import os

    from orchestrator.facts import load_document, parse_facts
    from orchestrator.inventory import load_inventory
    from orchestrator.plan import plan_host
    from orchestrator.render import Renderer
    from orchestrator.simulator import Simulator
    from orchestrator.transport.stdin import channel

    os.environ.setdefault(PASSWORD_ENV, PASSWORD)
    path = write_inventory(folder / "sim.yaml", {"hv01": winrm_host_vars(5985, "", vms)})
    host = load_inventory(str(path)).hosts["hv01"]
    renderer = Renderer()
    facts_script = renderer.render_facts(host)

    def plan_on(sim: Simulator) -> tuple[Any, str]:
        facts = parse_facts(load_document(sim.run(*channel(facts_script)).stdout))
        plan = list(plan_host(host, facts))
        return plan, renderer.render_apply(host, plan, facts.version)

    fresh = Simulator(seed=SEED)
    converge_plan, converge = plan_on(fresh)
    if fresh.run(*channel(converge)).exit_code != 0:
        raise RuntimeError("the converge script failed on the simulator")
    first = host.vms[0].name
    stop = Simulator(seed=SEED)
    stop.run(*channel(converge))
    stopped = stop.run(*channel(f"Stop-VM -Name '{first}' -Force -TurnOff"))
    if stopped.exit_code != 0:
        raise RuntimeError(f"could not stop a VM on the simulator: {stopped.stderr}")
    change_plan, change = plan_on(stop)
    return {
        "converge": (converge, lambda: Simulator(seed=SEED), len(converge_plan)),
        "one change": (change, lambda: _seeded_like(stop), len(change_plan)),
        "facts": (facts_script, lambda: _seeded_like(fresh), 0),
    }


def _seeded_like(sim: Any) -> Any:
    """A fresh simulator holding a copy of `sim`'s host (each run starts from the same state)."""
    import copy

    from orchestrator.simulator import Simulator

    clone = Simulator(seed=SEED)
    clone.host = copy.deepcopy(sim.host)
    clone.shares = copy.deepcopy(sim.shares)
    return clone


def _layers(script: str, make: Any, per_round: int, min_samples: int, per_s: float | None) -> dict[str, Any]:
    """Each layer's share of the script's CPU (percent), sampled over rounds of `per_round` fresh hosts
    until `min_samples` were taken, and the scripts per second with the language's share taken away;
    empty where the platform has no CPU-time timer."""
    from benchmarks.layers import sample
    from orchestrator.transport.stdin import channel

    sent = channel(script)  # what a transport gives powershell.exe: its bootstrap checks stdin, then runs it

    def work(simulators: list[Any]) -> None:
        for sim in simulators:
            sim.run(*sent)

    sampled = sample(lambda: [make() for _ in range(per_round)], work, LAYERS, min_samples)
    if sampled is None:
        return {}
    rest = 1.0 - sampled.shares["language"]
    return {
        "layers_percent": {layer: round(100 * share, 1) for layer, share in sampled.shares.items()},
        "layer_samples": sampled.samples,
        "scripts_per_s_if_language_were_free": round(per_s / rest, 1) if per_s and rest > 0 else None,
    }


def run(vms: int = 5, runs: int = 200, min_samples: int = 500) -> dict[str, Any]:
    """`min_samples`: per script, the sampled pass goes on (in rounds of about ROUND_CPU_S) until it has this
    many samples: 500 give each share a standard error of about 2 points."""
    import tempfile

    from orchestrator.transport.stdin import channel

    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        scripts = _scripts(vms, Path(tmp))
    results: dict[str, Any] = {}
    for label, (script, make, actions) in scripts.items():
        simulators = [make() for _ in range(runs)]
        sent = channel(script)  # what a transport gives powershell.exe: its bootstrap checks stdin, then runs it
        make().run(*sent)  # warm: the first run parses the script
        started = time.process_time()
        for sim in simulators:
            result = sim.run(*sent)
            if result.exit_code != 0:
                raise RuntimeError(f"simulator {label}: exit {result.exit_code}: {result.stderr[:300]}")
        cpu = time.process_time() - started
        results[label] = {
            "actions": actions,
            "script_kb": round(len(script.encode("utf-8")) / 1024, 1),
            "runs": runs,
            "cpu_s": round(cpu, 3),
            "ms_per_script": round(1000 * cpu / runs, 2),
            "scripts_per_s": round(runs / cpu, 1) if cpu else None,
            **_layers(script, make, max(1, math.ceil(ROUND_CPU_S * runs / cpu)) if cpu else runs, min_samples,
                      runs / cpu if cpu else None),
        }
    return {
        "vms": vms,
        "scripts": results,
        "target_per_s": TARGET_PER_S,
        "met": {label: (row["scripts_per_s"] or 0) >= TARGET_PER_S for label, row in results.items()},
    }
