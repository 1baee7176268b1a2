"""What every benchmark shares: the fake on sys.path, the machine description, the simulated host and its VMs.

The fake WinRM server lives in tests/fakes (it is the test suite's fake); benchmarks import it from there
rather than keeping a copy that could drift from what the tests prove.
"""

from __future__ import annotations

import functools
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TEMPLATES = Path(__file__).resolve().parent / "templates"
PASSWORD_ENV = "ORCHESTRATE_BENCH_PASSWORD"
USER = "admin"
PASSWORD = "Passw0rd!"  # the fake's test account on 127.0.0.1, not a secret
PREMIUM_IMAGE = "D:\\images\\mps2012-premium.vhdx"
SWITCH = "Classroom LAN"

# A 2012 R2 Datacenter Hyper-V host with room for many classroom VMs (the demo's host).
SEED: dict[str, Any] = {
    "os_sku": 8,
    "os_version": "6.3.9600",
    "logical_processors": 64,
    "memory": "512GB",
    "free_disk": "20TB",
    "switches": [SWITCH],
    "images": {PREMIUM_IMAGE: {"edition_sku": 77}},
}


def use_fakes() -> None:
    """Put the repository root and tests/ on sys.path, so `fakes` and `benchmarks` import from a clone."""
    for folder in (str(ROOT), str(TESTS)):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def vm_vars(index: int, prefix: str = "lab") -> dict[str, Any]:
    """One classroom VM as an inventory writes it: 4 RDP seats, a differencing disk, a baseline checkpoint."""
    return {
        "name": f"{prefix}-{index:02d}",
        "cpus": 2,
        "memory": "4GB",
        "switch": SWITCH,
        "disk": {"parent": PREMIUM_IMAGE},
        "stations": {"rdp": 4},
        "checkpoints": {"baseline": "clean"},
    }


def winrm_host_vars(port: int, route: str, vms: int) -> dict[str, Any]:
    """Host vars of a host served by the fake at http://127.0.0.1:<port>/wsman/<route>, Basic over HTTP."""
    return {
        "ansible_host": "127.0.0.1",
        "ansible_port": port,
        "ansible_winrm_scheme": "http",
        "ansible_winrm_transport": "basic",
        "ansible_winrm_path": f"/wsman/{route}" if route else "/wsman",
        "ansible_user": USER,
        "ansible_password": "{{ lookup('env', '" + PASSWORD_ENV + "') }}",
        "orchestrate_allow_unencrypted": True,
        "ansible_winrm_operation_timeout_sec": 20,
        "ansible_winrm_read_timeout_sec": 30,
        "multipoint_vms": [vm_vars(i) for i in range(1, vms + 1)],
    }


def write_inventory(path: Path, hosts: dict[str, dict[str, Any]]) -> Path:
    """An inventory file the real loader reads (owner-only, like an admin's inventory with env lookups)."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"all": {"hosts": hosts}}
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    path.chmod(0o600)
    return path


class CliFailed(RuntimeError):
    """`orchestrate` exited non-zero inside a benchmark; the message ends with what it printed last."""


def run_cli(*args: str) -> None:
    """`orchestrate ARGS` in this process (click's main, as the console script runs it). The output is kept
    out of the figures; a non-zero exit raises CliFailed with the output's tail, so a failed host is told."""
    import contextlib
    import io

    from orchestrator.cli import main

    sink = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            main.main([*args], prog_name="orchestrate", standalone_mode=False)
        except SystemExit as exc:
            code = int(exc.code or 0)
    if code != 0:
        raise CliFailed(f"orchestrate {' '.join(args)} exited {code}; its last output:\n{sink.getvalue()[-4000:]}")


def bytecode_env() -> dict[str, str]:
    """Environment for a worker interpreter that reads compiled bytecode, as an installed package does.

    `pip install` writes every module's .pyc at install time, so the admin's `orchestrate` never compiles
    its sources. A checkout run with PYTHONDONTWRITEBYTECODE=1 (set on some CI machines and sandboxes)
    would compile every module in every fresh worker (about 40 ms of CPU per process here, counted as the
    product's). So once per benchmark run the project is compiled into a temporary PYTHONPYCACHEPREFIX
    (never into the checkout), and every worker reads it from there."""
    return {"PYTHONPYCACHEPREFIX": _compiled_prefix()}


@functools.cache
def _compiled_prefix() -> str:
    """The project compiled once per process into a temporary folder, removed at exit."""
    import atexit
    import compileall
    import shutil
    import tempfile

    prefix = tempfile.mkdtemp(prefix="orchestrate-bench-pyc-")
    atexit.register(shutil.rmtree, prefix, ignore_errors=True)
    saved = sys.pycache_prefix
    sys.pycache_prefix = prefix  # compileall writes where the import system will look (cache_from_source)
    try:
        for folder in ("orchestrator", "benchmarks", "tests/fakes"):
            compileall.compile_dir(str(ROOT / folder), quiet=1, workers=1)
    finally:
        sys.pycache_prefix = saved
    return prefix


def run_worker(module: str, args: list[str], what: str, extra_env: dict[str, str] | None = None) -> Any:
    """`python -m MODULE ARGS` in its own interpreter (a clean heap for CPU and peak-memory figures), reading
    the project's compiled bytecode (`bytecode_env`); its stdout is one JSON document. Raises RuntimeError
    naming `what` when the worker fails."""
    import json
    import subprocess

    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        **bytecode_env(),
        **(extra_env or {}),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Timing:
    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Timing]:
    """Wall-clock and this process's CPU seconds (all threads) spent inside the block."""
    timing = Timing()
    wall, cpu = time.perf_counter(), cpu_seconds()
    try:
        yield timing
    finally:
        timing.wall = time.perf_counter() - wall
        timing.cpu = cpu_seconds() - cpu


def machine() -> dict[str, Any]:
    """Where the figures came from: they mean little without it."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "memory": memory,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "workers_bytecode": "compiled once per run, as pip installs it (benchmarks.common.bytecode_env)",
    }


def _git(*args: str) -> str | None:
    """The code the figures came from (None outside a git checkout)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
