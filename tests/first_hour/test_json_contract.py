"""One JSON-lines contract for every command (docs/output.md), checked against every command.

A script reads `orchestrate ... --output json`: every line of stdout is one JSON object with an `event`; the
results of the command come before the recap; the recap is the last line, there is exactly one, it names the
command and carries the process's exit code; a command is one run (at most one `run_start`, first).
The admin's story: the demo, from validate to a move between its two simulated hosts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli import main

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo.yaml"
SHARE = "\\\\demo-nas\\exports"


def lines_of(stdout: str) -> list[dict[str, Any]]:
    events = []
    for line in stdout.splitlines():
        event = json.loads(line)  # every line is JSON: nothing else on stdout
        assert isinstance(event, dict) and isinstance(event.get("event"), str), line
        events.append(event)
    return events


def check_contract(command: str, exit_code: int, stdout: str) -> list[dict[str, Any]]:
    events = lines_of(stdout)
    assert events, f"{command}: nothing on stdout"
    recaps = [i for i, e in enumerate(events) if e["event"] == "recap"]
    assert recaps == [len(events) - 1], f"{command}: the recap must be the one last line: {events}"
    recap = events[-1]
    assert recap["exit_code"] == exit_code
    assert recap["command"].split()[0] == command
    starts = [i for i, e in enumerate(events) if e["event"] == "run_start"]
    assert starts in ([], [0]), f"{command}: one run per command, started first"
    return events


class Demo:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.state = tmp_path / "state"
        self.inventory = tmp_path / "demo.yaml"
        shutil.copy(DEMO, self.inventory)

    def json(self, command: str, *args: str, inventory: bool = True) -> tuple[int, list[dict[str, Any]]]:
        argv = [command, *([str(self.inventory)] if inventory else []), *args]
        result = CliRunner().invoke(main, [*argv, "--state-dir", str(self.state), "--output", "json"])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result.exit_code, check_contract(command, result.exit_code, result.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    demo = Demo(tmp_path_factory.mktemp("demo"))
    code, _ = demo.json("apply")
    assert code == 0
    return demo


def of(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


def test_validate_is_one_finding_per_line_then_the_recap(demo: Demo, tmp_path: Path) -> None:
    code, events = demo.json("validate")
    assert code == 0 and events[-1]["errors"] == 0 and events[-1]["hosts"] == 2 and events[-1]["vms"] == 6
    broken = tmp_path / "broken.yaml"
    broken.write_text("all:\n  hosts:\n    hv01:\n      multipoint_vms: [{name: a, memory: 6144}]\n")
    result = CliRunner().invoke(main, ["validate", str(broken), "-o", "json"])
    events = check_contract("validate", result.exit_code, result.stdout)
    assert result.exit_code == 2
    (memory,) = [f for f in of(events, "finding") if "memory" in f["message"]]
    assert memory["line"] == 4 and "6144MB (= 6GB)" in memory["fix"]


def test_inventory_ping_render_and_history(demo: Demo) -> None:
    code, events = demo.json("inventory", "--list")
    assert code == 0 and "hv01.demo.local" in of(events, "inventory")[0]["inventory"]["_meta"]["hostvars"]
    code, events = demo.json("ping")
    assert code == 0 and [p["host"] for p in of(events, "ping")] == ["hv01.demo.local", "hv02.demo.local"]
    code, events = demo.json("render", "--out", str(demo.dir / "rendered"))
    assert code == 0 and events[-1]["scripts"] == len(of(events, "rendered"))
    code, events = demo.json("history", inventory=False)
    runs = of(events, "run")
    assert code == 0 and events[-1]["runs"] == len(runs) and "apply" in [r["command"] for r in runs]


def test_runs_apply_plan_checkpoint_rollback_confirm_and_schedules(demo: Demo) -> None:
    for command, args in [
        ("plan", []),
        ("apply", ["--dry-run"]),
        ("checkpoint", ["--name", "contract", "--vm", "lab-a-01"]),
        ("rollback", ["--to", "clean", "--vm", "lab-a-*"]),
        ("apply", ["--limit", "hv01.demo.local", "--revert-after", "30m"]),
        ("confirm", ["--limit", "hv01.demo.local"]),
        ("schedules", []),
    ]:
        code, events = demo.json(command, *args)
        assert code == 0, (command, events)
        assert events[0]["event"] == "run_start"
    (listing,) = [e for e in of(events, "schedules") if e["host"] == "hv01.demo.local"]
    assert [t["name"] for t in listing["tasks"]] == ["schedule nightly reset"]


def test_export_import_and_move_put_their_results_before_the_one_recap(demo: Demo) -> None:
    code, events = demo.json("export", "--to", SHARE, "--vm", "library")
    assert code == 0
    (exported,) = of(events, "exported")
    code, events = demo.json("import", "--host", "hv01.demo.local", "--from", exported["path"], "--name", "copy")
    assert code == 0 and of(events, "imported")[0]["vm"] == "copy"
    code, events = demo.json("move", "--vm", "exam-room", "--to", "hv01.demo.local", "--via", SHARE)
    assert code == 0
    assert len(of(events, "step")) >= 3  # check, export, import, finish: steps of the one run
    assert of(events, "move_done")[0]["target"] == "hv01.demo.local"
    recap = events[-1]
    assert set(recap["hosts"]) == {"hv01.demo.local", "hv02.demo.local"} and recap["changed"] >= 3


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("apply", ["--limit", "hv01"]),
        ("import", ["--host", "hv03.demo.local", "--from", "D:\\exports\\x"]),
        ("move", ["--vm", "library", "--to", "hv1", "--via", SHARE]),
        ("export", ["--to", "exports"]),
        ("history", ["--limit", "~["]),
        # values click's own checks and option callbacks refuse: a cron line's unset "$VMS", a duration
        # without its unit (audit I L5)
        ("rollback", ["--to", "clean", "--vm", ""]),
        ("rollback", ["--to", ""]),
        ("apply", ["--revert-after", "10"]),
        ("apply", ["--retake-baseline", "--revert-after", "10m"]),
        ("checkpoint", ["--forks", "0", "--name", "x"]),
    ],
)
def test_invalid_input_is_one_line_and_the_recap(demo: Demo, command: str, args: list[str]) -> None:
    code, events = demo.json(command, *args, inventory=command != "history")
    assert code == 2
    assert [e["event"] for e in events] == ["invalid_input", "recap"]
