"""A new admin follows README top to bottom, copy-pasting, and nothing fails.

The test takes a copy of the checkout (as a fresh clone would be), runs README's set-up command 1 exactly as
written (it creates the venv, activates it, installs the product and runs the demo), then every command of
"Try the demo", in the same shell, as written. Nothing may fail, and bare `orchestrate` must resolve to
the venv's console script: nothing else on PATH provides one.

Offline by construction: pip gets no index (PIP_NO_INDEX) and no dependency resolution (PIP_NO_DEPS); the
dependencies come from the test's own environment through PYTHONPATH (a folder of links to its
site-packages, without this product in it), and the build backend too (PIP_NO_BUILD_ISOLATION=0 turns
isolation off). The commands themselves are README's, unchanged.

The state directory: for a user it is ~/.local/state/orchestrate, so HOME is a folder of the test and the
test checks that the demo's state landed there. root's is /var/lib/orchestrate, the machine's real one, so
as root the test points ORCHESTRATE_STATE_DIR at a folder of its own instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_blocks(section: str) -> list[str]:
    """The ```sh blocks of one README section (from its heading to the next heading of its level or above)."""
    text = README.read_text(encoding="utf-8")
    level = len(section.split(" ")[0])
    start = text.index(section + "\n")
    rest = text[start + len(section) :]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{level}}} ", rest, re.M)]
    body = rest[: ends[0]] if ends else rest
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", body, re.S)]


def set_up_command() -> str:
    (command,) = [
        line.strip()
        for block in readme_blocks("## Set up (Python 3.11, pip)")
        for line in block.splitlines()
        if line.strip().startswith("python3 -m venv") and "inventories/demo.yaml" in line
    ]
    return command


def checkout_copy(target: Path) -> Path:
    """The files a clone would have (tracked, plus new ones not ignored), without the developer's venv."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / raw.decode()
        if source.is_file():
            destination = target / raw.decode()
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


def dependencies_folder(target: Path) -> Path:
    """Links to everything in this environment's site-packages except this product (and pip's own tools)."""
    target.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    skip = re.compile(r"^(orchestrator|multipoint_orchestrator.*|_?_?editable.*|.*\.pth|pip|pip-.*|_distutils_hack)$")
    for entry in site.iterdir():
        if not skip.match(entry.name):
            (target / entry.name).symlink_to(entry)
    return target


def python_bin(target: Path) -> Path:
    """A `python3` of the same version as this test's interpreter (the base one, not this venv's)."""
    target.mkdir()
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    (target / "python3").symlink_to(base if base.exists() else Path(sys.executable).resolve())
    return target


@pytest.mark.slow
def test_a_new_admin_follows_the_readme_from_a_fresh_checkout(tmp_path: Path) -> None:
    checkout = checkout_copy(tmp_path / "multipoint-orchestrator")
    home = tmp_path / "home"
    home.mkdir()
    deps = dependencies_folder(tmp_path / "deps")
    pybin = python_bin(tmp_path / "bin")
    path = [str(pybin)] + [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "orchestrate").exists()
    ]
    env = {
        "PATH": os.pathsep.join(path),
        "HOME": str(home),
        "PYTHONPATH": str(deps),
        "PIP_NO_INDEX": "1",
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "LANG": "C.UTF-8",
    }
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    state = tmp_path / "root-state" if as_root else home / ".local" / "state" / "orchestrate"
    if as_root:
        env["ORCHESTRATE_STATE_DIR"] = str(state)

    demo = "\n".join(readme_blocks("### Try the demo"))
    assert "orchestrate export" in demo and "orchestrate import" in demo and "orchestrate move" in demo
    script = "\n".join(
        [
            "set -eu",
            "command -v orchestrate >/dev/null && { echo 'orchestrate is on PATH before the set-up'; exit 90; }",
            set_up_command(),
            'case "$(command -v orchestrate)" in "$PWD/.venv/bin/orchestrate") ;; *) exit 91;; esac',
            demo,
        ]
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=checkout, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"

    # The demo's state is in the user's state folder (not the checkout's), and the moved VM is on hv01.
    assert not (checkout / ".orchestrate").exists()
    hv01 = json.loads((state / "simulator" / "hv01.demo.local.json").read_text(encoding="utf-8"))
    hv02 = json.loads((state / "simulator" / "hv02.demo.local.json").read_text(encoding="utf-8"))
    names = lambda doc: {vm["name"] for vm in doc["host"]["vms"]}  # noqa: E731
    assert {"exam-room", "library-copy", "lab-a-01"} <= names(hv01)
    assert "exam-room" not in names(hv02) and "library" in names(hv02)
    assert "moved exam-room from hv02.demo.local to hv01.demo.local" in done.stdout
