"""The admin mistypes the checkpoint of the nightly rollback (`--to clena`), or an image is missing: the
refusal is said once per host, in the command's own words ("rollback failed", not "apply failed"), and a
host whose VMs were refused is never also said to "match the inventory". A rollback's plan shows no
`state: Running -> running`: Hyper-V's state names compare without regard to case (audit I L7).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "inventories" / "demo.yaml"


def orchestrate(state: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--state-dir", str(state)])


def test_a_mistyped_checkpoint_is_said_once_per_host_as_a_rollback_failure(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = tmp_path / "demo.yaml"
    shutil.copy(DEMO, inventory)
    assert orchestrate(state, "apply", str(inventory)).exit_code == 0
    text = orchestrate(state, "rollback", str(inventory), "--to", "clena")
    assert text.exit_code == 1
    for host in ("hv01.demo.local", "hv02.demo.local"):
        said = [line for line in text.stderr.splitlines() if host in line and "no checkpoint named 'clena'" in line]
        assert len(said) == 1, text.stderr
    assert "apply failed" not in text.output
    as_json = orchestrate(state, "rollback", str(inventory), "--to", "clena", "-o", "json")
    done = [json.loads(line) for line in as_json.stdout.splitlines() if '"host_done"' in line]
    assert done and all(d["error"].startswith("rollback failed: no checkpoint named 'clena'") for d in done)


def test_a_rollback_plan_shows_no_state_change_that_only_differs_in_case(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert orchestrate(state, "apply", str(DEMO)).exit_code == 0
    preview = orchestrate(state, "rollback", str(DEMO), "--to", "clean", "--limit", "hv01.demo.local", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "restore checkpoint 'clean' of lab-a-01" in preview.stdout
    assert "state: Running -> running" not in preview.stdout
    assert "state: Off -> off" not in preview.stdout


def test_a_host_whose_vm_was_refused_is_not_said_to_match_the_inventory(tmp_path: Path) -> None:
    inventory = tmp_path / "missing-image.yaml"  # the demo, with its VMs' parent image not on the hosts
    inventory.write_text(
        DEMO.read_text(encoding="utf-8").replace("mps2012-premium.vhdx", "mps2012-missing.vhdx", 1), encoding="utf-8"
    )
    result = orchestrate(tmp_path / "state", "apply", str(inventory))
    assert result.exit_code == 1, result.output
    refused = {line.split()[1].rstrip(":") for line in result.stderr.splitlines() if line.startswith("  failed ")}
    assert refused, result.output
    for host in refused:
        assert f"{host}: matches the inventory" not in result.output
