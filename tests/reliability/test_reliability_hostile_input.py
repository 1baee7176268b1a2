"""Hostile input: an inventory (or a vars file next to it) written to hurt the admin box.

Given an inventory that is a YAML alias bomb, a huge or deeply nested file, binary data, invalid UTF-8,
a symlinked group_vars loop, a vars file that is /dev/zero or a named pipe, when the admin runs
`orchestrate apply`, then it is refused within seconds with a message that names the file and the problem,
exit code 2, no host contacted (no state written), and the process stays within a bounded amount of memory.
The real CLI runs in a child process that reports its own peak memory (VmHWM) as it exits. Not ru_maxrss:
Linux carries the forking process's high-water mark across exec into the child's ru_maxrss, so that figure
was the test worker's (which grows over a long run), not the CLI's.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import CLI, cli_env

TIME_LIMIT = 20.0  # CPU seconds of the CLI, generous; each case takes about one on a laptop
# A hang is told by the wall clock: under `-n 8` on two cores beside other jobs (load 20-30), a case that
# needs one CPU second has taken 44 s of wall time, so the wall clock only guards against a hang.
HANG_LIMIT = 180.0
MEMORY_LIMIT_MB = 250  # peak RSS of the whole CLI process (Python, click, PyYAML and the inventory)
GOOD = "all:\n  hosts:\n    hv01:\n      ansible_connection: simulator\n"


def alias_bomb(folder: Path) -> Path:
    """Billion laughs: nine levels of ten aliases each expand to 10**9 strings."""
    lines = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for level in range(1, 10):
        this, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{this}: &{this} [" + ", ".join([f"*{previous}"] * 10) + "]")
    return _write(
        folder, "all:\n  hosts:\n    hv01:\n      bomb:\n" + "".join(f"        {x}\n" for x in lines)
    )


def huge(folder: Path) -> Path:
    """Eleven megabytes of comments after a valid inventory (sparse on disk, never worth reading whole)."""
    path = _write(folder, GOOD)
    with path.open("ab") as handle:
        handle.write(b"# padding\n" * (11 * 1024 * 1024 // 10))
    return path


def deeply_nested_flow(folder: Path) -> Path:
    return _write(folder, "all:\n  vars:\n    x: " + "[" * 100_000 + "]" * 100_000 + "\n")


def deeply_nested_block(folder: Path) -> Path:
    lines = [" " * level + f"k{level}:" for level in range(2000)]
    return _write(folder, "all:\n  vars:\n" + "\n".join("    " + line for line in lines) + " 1\n")


def binary(folder: Path) -> Path:
    path = folder / "inventory.yaml"
    path.write_bytes(random.Random(7).randbytes(64 * 1024))
    return path


def nul_bytes(folder: Path) -> Path:
    path = folder / "inventory.yaml"
    path.write_bytes(GOOD.encode() + b"      notes: \x00\x01\x02 MZ\x90\x00\n")
    return path


def invalid_utf8(folder: Path) -> Path:
    path = folder / "inventory.yaml"
    path.write_bytes(b"all:\n  hosts:\n    hv\xff\xfe01:\n      ansible_connection: simulator\n")
    return path


def group_vars_loop(folder: Path) -> Path:
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all").symlink_to("..")
    return _write(folder, GOOD)


def group_vars_file_loop(folder: Path) -> Path:
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").symlink_to("all.yaml")
    (folder / "group_vars" / "all.yaml").symlink_to("all.yml")
    return _write(folder, GOOD)


def group_vars_dangling_symlink(folder: Path) -> Path:
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").symlink_to("moved-away.yml")
    return _write(folder, GOOD)


def host_vars_folder_with_a_looping_file(folder: Path) -> Path:
    (folder / "host_vars" / "hv01").mkdir(parents=True)
    (folder / "host_vars" / "hv01" / "a.yml").symlink_to("b.yml")
    (folder / "host_vars" / "hv01" / "b.yml").symlink_to("a.yml")
    return _write(folder, GOOD)


def vars_file_is_dev_zero(folder: Path) -> Path:
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").symlink_to("/dev/zero")
    return _write(folder, GOOD)


def vars_file_is_a_named_pipe(folder: Path) -> Path:
    (folder / "host_vars").mkdir()
    os.mkfifo(folder / "host_vars" / "hv01.yml")
    return _write(folder, GOOD)


def _write(folder: Path, text: str) -> Path:
    path = folder / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "alias bomb": (alias_bomb, "alias bomb"),
    "huge file": (huge, "MB limit"),
    "deeply nested (flow)": (deeply_nested_flow, "nesting depth"),
    "deeply nested (block)": (deeply_nested_block, "nested deeper"),
    "binary data": (binary, "not UTF-8"),
    "NUL and control bytes": (nul_bytes, "inventory.yaml:5"),
    "invalid UTF-8": (invalid_utf8, "not UTF-8"),
    "group_vars symlink loop": (group_vars_loop, "symlink loop"),
    "group_vars file symlink loop": (group_vars_file_loop, "group_vars/all"),
    "group_vars dangling symlink": (group_vars_dangling_symlink, "group_vars/all.yml"),
    "host_vars folder with a looping file": (host_vars_folder_with_a_looping_file, "host_vars/hv01/a.yml"),
    "vars file is /dev/zero": (vars_file_is_dev_zero, "not a regular file"),
    "vars file is a named pipe": (vars_file_is_a_named_pipe, "not a regular file"),
}


PEAK_MARK = "@@peak-kb="
# The CLI as reliability_support.CLI runs it, then (however it exits) its own VmHWM on the last stderr line.
MEASURED_CLI = [CLI[0], "-c", (
    "import atexit, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    f"            sys.stderr.write('\\n{PEAK_MARK}' + line.split()[1] + '\\n')\n"
    "atexit.register(peak)\n"
    + CLI[2]
)]


def run_measured(args: list[str], cwd: Path) -> tuple[int, str, float, float]:
    """Run the CLI; (exit code, stderr, CPU seconds, peak RSS in MB of that child alone)."""
    started = time.monotonic()
    child = subprocess.Popen(
        [*MEASURED_CLI, *args], cwd=cwd, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )
    deadline = started + HANG_LIMIT
    assert child.stderr is not None
    stderr = ""
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            pytest.fail(f"orchestrate {' '.join(args)} still running after {HANG_LIMIT:.0f}s")
        time.sleep(0.02)
    seconds = usage.ru_utime + usage.ru_stime  # its own CPU time: the load beside it does not count
    stderr = child.stderr.read()
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    text, _, peak = stderr.rstrip("\n").rpartition(PEAK_MARK)
    assert peak.isdigit(), f"the CLI did not report its peak memory: {stderr[-500:]}"
    return child.returncode, text.rstrip("\n"), seconds, int(peak) / 1024


# `apply` for every case; `inventory --list` too where a loader that let the file through would then walk
# the whole structure (the alias bomb is cheap while its aliases stay shared, deadly once serialised).
RUNS = [(case, "apply") for case in CASES] + [("alias bomb", "inventory --list")]


@pytest.mark.parametrize(("case", "command"), RUNS)
def test_hostile_inventory_is_refused_quickly_with_a_clear_message(
    tmp_path: Path, case: str, command: str
) -> None:
    make, expected = CASES[case]
    inventory = make(tmp_path)
    state = tmp_path / "state"
    args = [*command.split(), str(inventory), "--state-dir", str(state)]

    code, stderr, seconds, peak_mb = run_measured(args, tmp_path)

    assert code == 2, stderr
    assert expected in stderr, stderr
    assert "nothing was contacted" in stderr or command != "apply"
    assert "Traceback" not in stderr
    assert len(stderr) < 4000  # one clear finding, not a dump of the file
    assert not state.exists()  # no journal, no lock, no simulated host: nothing happened
    assert seconds < TIME_LIMIT, f"{case}: {seconds:.1f} CPU-s"
    assert peak_mb < MEMORY_LIMIT_MB, f"{case}: {peak_mb:.0f} MB"
