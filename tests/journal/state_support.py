"""What the state-directory tests share: the demo inventory, the CLI run against one state directory, and a
snapshot of every file under a folder (to prove a refused command changed nothing)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "inventories" / "demo.yaml")


def orchestrate(state: Path, *args: str):
    return CliRunner().invoke(main, list(args), env={"ORCHESTRATE_STATE_DIR": str(state), "COLUMNS": "200"})


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
