"""The benchmark command's smallest configuration runs from the repository root and ends in a JSON summary.

Benchmarks are not part of the test suite; this only proves `python -m benchmarks` still works (the fake, the
real `orchestrate apply`, the run_ps baseline and the per-size subprocesses), so the README's command does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmarks_print_a_json_summary_with_every_figure(tmp_path: Path):
    written = tmp_path / "summary.json"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(written)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table, marker, printed = done.stdout.rpartition("JSON summary:\n")
    assert marker and "Wire economy" in table
    summary = json.loads(printed)
    assert summary == json.loads(written.read_text(encoding="utf-8"))
    assert summary["machine"]["nproc"] >= 1 and summary["machine"]["python"]
    wire = summary["benchmarks"]["wire"]
    # Measured on the fake's counters: ours uses one connection and one shell per run, the baseline more.
    assert wire["ours"]["converge"]["connections"] == 1
    assert wire["ours"]["noop"]["commands"] == 1
    assert wire["baseline"]["converge"]["commands"] > wire["ours"]["converge"]["commands"]
    fleet = summary["benchmarks"]["fleet"]["forks"]["2"]
    assert fleet["converge"]["lower_bound_s"] > 0 and fleet["noop"]["wall_s"] > 0
    sizes = summary["benchmarks"]["admin"]["sizes"]
    assert [s["vms"] for s in sizes] == [10, 20] and all(s["process_peak_mb"] > 0 for s in sizes)
    for row in summary["benchmarks"]["sim"]["scripts"].values():
        assert row["scripts_per_s"] > 0
        # The layer breakdown (sampled with setitimer, which Linux has): shares of one whole, and the bound
        # "if the language cost nothing" can only be faster than what was measured.
        shares = row["layers_percent"]
        assert set(shares) == {"language", "binding", "host", "other"}
        assert 99 <= sum(shares.values()) <= 101 and row["layer_samples"] >= 60 and shares["language"] > 0
        assert row["scripts_per_s_if_language_were_free"] >= row["scripts_per_s"]
    dry = summary["benchmarks"]["dry"]["sizes"]
    assert [row["hosts"] for row in dry] == [3]
    assert dry[0]["dry_run_cpu_s"] > 0 and dry[0]["render_cpu_s"] > 0 and dry[0]["dry_run_over_render"] > 0
    # The CPU split into user and kernel time (render's file writes are kernel time): the parts make the whole.
    for command in ("render", "dry_run"):
        parts = dry[0][f"{command}_user_s"] + dry[0][f"{command}_sys_s"]
        assert abs(parts - dry[0][f"{command}_cpu_s"]) <= 0.002 and dry[0][f"{command}_user_s"] > 0
    assert dry[0]["user_dry_run_over_render"] > 0
