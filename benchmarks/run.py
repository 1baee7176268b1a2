"""`python -m benchmarks`: runs the five benchmarks, prints a table per benchmark, then one JSON summary.

    python -m benchmarks                     # everything (about 10 minutes on 2 cores)
    python -m benchmarks --only wire,sim     # some of them
    python -m benchmarks --only dry --dry-run-5000   # the dry-run sweep with its 5,000-host size (long)
    python -m benchmarks --quick             # the smallest configuration of each (seconds; the smoke test)
    python -m benchmarks --json out.json     # also write the JSON summary to a file

The JSON summary is the last thing printed, after a line `JSON summary:`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py` from a clone
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, use_fakes

BENCHMARKS = ("wire", "fleet", "admin", "sim", "dry")
FULL: dict[str, dict[str, Any]] = {
    "wire": {"vms": 5, "repeats": 3},
    "fleet": {"hosts": 200, "forks": (10, 50, 100), "latency": 0.02, "vms": 5},
    "admin": {"sizes": (200, 2_000, 10_000, 20_000), "vms_per_host": 5},
    "sim": {"vms": 5, "runs": 200, "min_samples": 500},
    "dry": {"sizes": (100, 1_000), "vms_per_host": 5},
}
QUICK: dict[str, dict[str, Any]] = {
    "wire": {"vms": 1, "repeats": 1},
    "fleet": {"hosts": 2, "forks": (2,), "latency": 0.02, "vms": 1},
    "admin": {"sizes": (10, 20), "vms_per_host": 5},
    "sim": {"vms": 1, "runs": 3, "min_samples": 60},
    "dry": {"sizes": (3,), "vms_per_host": 5},
}
DRY_RUN_LARGE = 5_000  # hosts; minutes of CPU, so only with --dry-run-5000


def _runner(name: str) -> Callable[..., dict[str, Any]]:
    if name == "wire":
        from benchmarks import wire

        return wire.run
    if name == "fleet":
        from benchmarks import fleet

        return fleet.run
    if name == "admin":
        from benchmarks import admin_box

        return admin_box.run
    if name == "dry":
        from benchmarks import dry_run

        return dry_run.run
    from benchmarks import simulator_speed

    return simulator_speed.run


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _yes(flag: Any) -> str:
    return "met" if flag is True else "NOT met" if flag is False else "-"


def show_wire(r: dict[str, Any]) -> str:
    rows = []
    for label in ("converge", "noop"):
        ours, base, ratio = r["ours"][label], r["baseline"][label], r["baseline_over_ours"][label]
        target = r["targets"][label]
        for key in ("commands", "requests", "connections", "wall_s"):
            rows.append([f"{label} {key}", ours[key], base[key], ratio[key], target.get(key, "")])
        rows.append([f"{label} target", _yes(r["met"][label]), "", "", ""])
    note = (
        f"baseline: {r['baseline']['converge']['operations']} run_ps per run; "
        f"{r['baseline']['commands_over_cmd_exe_limit']} of them exceed cmd.exe's 8191-character line"
    )
    sweep = ", ".join(
        f"{row['vms']} VM(s): {row['requests']} req ({row['facts_stdout_bytes'] // 1024} KiB of facts)"
        for row in r["noop_by_vm_count"]
    )
    note += f"\nno-op requests by VM count (fake answers <= {r['receive_chunk_bytes'] // 1024} KiB per Receive): {sweep}"
    return (
        f"1. Wire economy, one host with {r['vms']} VMs (orchestrate apply vs winrm.Session.run_ps)\n"
        + _table(["", "ours", "baseline", "baseline/ours", "target <="], rows)
        + "\n"
        + note
    )


def show_fleet(r: dict[str, Any]) -> str:
    rows = []
    for forks, runs in r["forks"].items():
        for label, m in runs.items():
            rows.append(
                [
                    f"forks {forks} {label}",
                    m["wall_s"],
                    m["requests_per_host"],
                    m["lower_bound_s"],
                    m["ratio"],
                    m["orchestrator_cpu_s"],
                    m["fake_hosts_cpu_s"],
                    m["cpu_floor_s"],
                    m["orchestrator_cpu_ms_per_host"],
                ]
            )
    return (
        f"2. Fleet: {r['hosts']} hosts x {r['vms_per_host']} VMs, {int(r['latency_s'] * 1000)} ms per request "
        f"(target wall/bound <= {r['target_ratio']})\n"
        + _table(
            [
                "",
                "wall s",
                "req/host",
                "bound s",
                "wall/bound",
                "orch CPU s",
                "hosts CPU s",
                "CPU floor s",
                "orch ms/host",
            ],
            rows,
        )
    )


def show_admin(r: dict[str, Any]) -> str:
    rows = [
        [
            s["vms"],
            s["hosts"],
            s["process_cpu_s"],
            s["work_cpu_s"],
            s["validate_cpu_s"],
            s["plan_render_cpu_s"],
            s["of_which_script_check_cpu_s"],
            s["work_cpu_ms_per_vm"],
            s["process_peak_mb"],
            s["work_peak_mb"],
            s["work_kb_per_vm"],
        ]
        for s in r["sizes"]
    ]
    t = r["target"]
    met = r["met"] or {}
    return (
        f"3. Admin box: validate + plan + render, no host contacted ({r['vms_per_host']} VMs per host); "
        f"target {t['vms']} VMs under {t['cpu_s']} CPU s and {t['peak_mb']} MB: "
        f"CPU {_yes(met.get('process_cpu'))}, memory {_yes(met.get('process_memory'))}\n"
        + _table(
            [
                "VMs",
                "hosts",
                "CPU s",
                "work CPU s",
                "validate",
                "plan+render",
                "(check)",
                "ms/VM",
                "peak MB",
                "work MB",
                "KB/VM",
            ],
            rows,
        )
    )


def show_sim(r: dict[str, Any]) -> str:
    rows = [
        [
            label,
            m["actions"],
            m["script_kb"],
            m["runs"],
            m["ms_per_script"],
            m["scripts_per_s"],
            _yes(r["met"][label]),
        ]
        for label, m in r["scripts"].items()
    ]
    text = (
        f"4. Simulator throughput, one core, host with {r['vms']} VMs (target >= {r['target_per_s']:.0f}/s)\n"
        + _table(["script", "actions", "KB", "runs", "ms/script", "scripts/s", "target"], rows)
    )
    sampled = {label: m for label, m in r["scripts"].items() if "layers_percent" in m}
    if not sampled:
        return text
    layers = list(next(iter(sampled.values()))["layers_percent"])
    layer_rows = [
        [label, *(m["layers_percent"][layer] for layer in layers), m["layer_samples"],
         m["scripts_per_s_if_language_were_free"]]
        for label, m in sampled.items()
    ]
    return (
        text
        + "\n\nWhere a script's CPU goes (sampled on the CPU clock, percent), and scripts/s if the language cost nothing\n"
        + _table(["script", *layers, "samples", "scripts/s without language"], layer_rows)
    )


def show_dry(r: dict[str, Any]) -> str:
    rows = [
        [
            s["hosts"],
            s["vms"],
            s["render_cpu_s"],
            s["render_ms_per_host"],
            s["render_peak_mb"],
            s["dry_run_cpu_s"],
            s["dry_run_ms_per_host"],
            s["dry_run_peak_mb"],
            s["dry_run_over_render"],
            f"{s['render_user_s']} / {s['render_sys_s']}",
            f"{s['dry_run_user_s']} / {s['dry_run_sys_s']}",
            s["user_dry_run_over_render"],
        ]
        for s in r["sizes"]
    ]
    t, met = r["target"], r["met"]
    return (
        f"5. Dry run vs render, simulated hosts x {r['vms_per_host']} VMs (own VM names per host); targets: "
        f"dry run <= {t['ratio']}x render ({_yes(met['ratio'])} at the largest size), "
        f"{t['hosts_for_memory']} hosts under {t['peak_mb']} MB ({_yes(met['memory'])})\n"
        + _table(
            ["hosts", "VMs", "render CPU s", "ms/host", "peak MB", "dry run CPU s", "ms/host", "peak MB",
             "dry/render", "render user/kernel s", "dry run user/kernel s", "user dry/render"],
            rows,
        )
    )


SHOW = {"wire": show_wire, "fleet": show_fleet, "admin": show_admin, "sim": show_sim, "dry": show_dry}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="smallest configuration of each (smoke test)")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON summary to this file")
    parser.add_argument(
        "--dry-run-5000", action="store_true", help=f"add {DRY_RUN_LARGE:,} hosts to the dry-run sweep (minutes)"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    use_fakes()
    configs = {name: dict(config) for name, config in (QUICK if args.quick else FULL).items()}
    if args.dry_run_5000:
        configs["dry"]["sizes"] = (*configs["dry"]["sizes"], DRY_RUN_LARGE)
    about = machine()
    about["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]
    summary: dict[str, Any] = {"machine": about, "quick": args.quick, "benchmarks": {}}
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in about.items()), flush=True)
    for name in chosen:
        started = time.perf_counter()
        result = _runner(name)(**configs[name])
        result["config"] = configs[name]
        result["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
        summary["benchmarks"][name] = result
        print("\n" + SHOW[name](result), flush=True)
    summary["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    document = json.dumps(summary, indent=2)
    if args.json is not None:
        args.json.write_text(document + "\n", encoding="utf-8")
    print("\nJSON summary:")
    print(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
