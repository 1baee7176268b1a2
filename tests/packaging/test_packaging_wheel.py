"""A plain (non-editable) install must carry the templates and the cmdlet data: the product never reads the
source checkout or ../shared at run time. Build the wheel, install it into an empty folder, and run it from
another working directory with only that folder on the path."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
from orchestrator import resources, signatures
from orchestrator.render import Renderer
from orchestrator.simulator import Simulator
from orchestrator.inventory import load_inventory
inv = load_inventory(sys.argv[1])
host = inv.hosts["hv01.demo.local"]
script = Renderer().render_facts(host)
result = Simulator(seed=host.simulator).run(script)
print(json.dumps({
    "templates": str(resources.templates_dir()),
    "signatures": str(resources.data_file("hyperv-cmdlets.json")),
    "has_generation": signatures.has_parameter("New-VM", "Generation", "6.3"),
    "facts_exit": result.exit_code,
    "errors": [f.format() for f in inv.errors],
}))
"""


def test_a_wheel_install_finds_templates_and_signatures_from_another_directory(tmp_path: Path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("multipoint_orchestrator-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "orchestrator/templates/apply.ps1.j2" in names
    assert "orchestrator/data/hyperv-cmdlets.json" in names

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "inventories" / "demo.yaml")],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    import json

    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["templates"].startswith(str(target)), report
    assert report["signatures"].startswith(str(target)), report
    assert report["has_generation"] is True
    assert report["facts_exit"] == 0
    assert report["errors"] == []
