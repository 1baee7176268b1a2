"""A broken state directory is one clear message naming the path and the fix, exit 2, before any host is
contacted; with --output json an error event says the same."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, vms_of, write_inventory


def test_locks_that_is_a_file_stops_apply_before_any_host_is_contacted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "locks").write_text("not a folder", encoding="utf-8")
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01")]}})

    result = orchestrate("apply", inventory, "--state-dir", state, "--output", "json")

    assert result.exit_code == 2
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    (error,) = [e for e in events if e["event"] == "error"]
    assert error["kind"] == "state_dir" and error["path"].endswith("locks") and error["fix"]
    assert events[-1]["event"] == "recap" and events[-1]["exit_code"] == 2  # docs/output.md: the recap is last
    assert "locks" in result.stderr
    assert not (state / "simulator").exists()  # no host was contacted, so the simulated host was never made


def test_an_emptied_journal_is_noticed_not_silently_recreated(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    (state / "journal.sqlite3").write_bytes(b"")  # emptied under us (a bad restore, a full disk)

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 2
    assert "journal.sqlite3" in result.output
    assert (state / "journal.sqlite3").stat().st_size == 0  # left for the admin to restore, not replaced
    assert "lab-01" in vms_of(state, "hv01")
