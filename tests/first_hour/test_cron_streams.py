"""The nightly cron job of an admin: `orchestrate ... >/dev/null` mails only what goes to stderr, and a
crontab line that splits the streams (`>> run.log 2>> run.err`) expects run.err to hold the problems.

Given a host whose image is missing (it fails) and one held by another run (it is locked), then in text mode
the failed and locked lines, the warnings and one summary line reach stderr, and stdout keeps the plan,
the progress and the recap; in JSON mode stdout stays JSON and stderr gets the same summary line.
The state directory is given the way cron gives it: ORCHESTRATE_STATE_DIR, sometimes with `~` in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.locks import HostLock

IMAGE = "D:\\images\\mps2012-premium.vhdx"


def classroom(folder: Path) -> Path:
    seed = {
        "os_sku": 8,
        "os_version": "6.3.9600",
        "logical_processors": 24,
        "memory": "64GB",
        "switches": ["Classroom LAN"],
        "images": {IMAGE: {"edition_sku": 77}},
    }

    def host(vm: str, image: str) -> dict:
        return {
            "ansible_connection": "simulator",
            "orchestrate_simulator": seed,
            "multipoint_vms": [
                {"name": vm, "cpus": 2, "memory": "4GB", "switch": "Classroom LAN", "disk": {"parent": image},
                 "stations": {"rdp": 2}}
            ],
        }

    document = {
        "all": {
            "hosts": {
                "hva.test.local": host("a1", "D:\\images\\missing.vhdx"),
                "hvb.test.local": host("b1", IMAGE),
                "hvc.test.local": host("c1", IMAGE),
            }
        }
    }
    path = folder / "two.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_failures_locks_and_warnings_reach_stderr_and_the_plan_stays_on_stdout(tmp_path: Path) -> None:
    inventory = classroom(tmp_path)
    state = tmp_path / "state"
    with HostLock.acquire(state, "hvc.test.local", run_id=99, command="orchestrate rollback"):
        result = CliRunner().invoke(main, ["apply", str(inventory)], env={"ORCHESTRATE_STATE_DIR": str(state)})
    assert result.exit_code == 1, result.output
    out, err = result.stdout, result.stderr
    assert "warning hva.test.local: VM 'a1' refused" in err
    # said once: the host's own line points at the refusal instead of repeating it
    assert "failed hva.test.local: for the refusal above" in err and err.count("VM 'a1' refused") == 1
    assert "locked hvc.test.local" in err
    assert "warning hva.test.local" in err
    assert err.splitlines()[-1] == (
        "apply: exit 1: 1 host(s) failed: hva.test.local; 1 host(s) locked by another run: hvc.test.local "
        "(see above, and `orchestrate history`)"
    )
    assert "hva.test.local: VM 'a1' refused" not in out and "locked hvc" not in out
    assert "~ hvb.test.local: create VM b1" in out  # the plan
    assert "changed 2 action(s); 1 host(s) failed; 1 host(s) locked by another run; exit 1" in out  # the recap


def test_a_good_night_leaves_stderr_empty(tmp_path: Path) -> None:
    inventory = classroom(tmp_path)
    result = CliRunner().invoke(
        main, ["apply", str(inventory), "--limit", "hvb.test.local"], env={"ORCHESTRATE_STATE_DIR": str(tmp_path / "s")}
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "exit 0" in result.stdout


def test_json_mode_ends_a_failed_run_with_the_summary_on_stderr(tmp_path: Path) -> None:
    inventory = classroom(tmp_path)
    result = CliRunner().invoke(
        main, ["apply", str(inventory), "-o", "json"], env={"ORCHESTRATE_STATE_DIR": str(tmp_path / "s")}
    )
    assert result.exit_code == 1
    assert all(json.loads(line)["event"] for line in result.stdout.splitlines())
    assert result.stderr.splitlines()[-1].startswith("apply: exit 1: 1 host(s) failed: hva.test.local (")


def test_a_tilde_in_orchestrate_state_dir_is_the_home_folder_as_in_the_admins_shell(tmp_path: Path, monkeypatch) -> None:
    """cron does not expand `~` in `ORCHESTRATE_STATE_DIR=~/orch-state`: orchestrate does, so the job and
    the admin's shell share one journal instead of the job growing a folder named `~` in its cwd."""
    inventory = classroom(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {"ORCHESTRATE_STATE_DIR": "~/orch-state", "HOME": str(home)}
    cwd = tmp_path / "cron-cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(main, ["apply", str(inventory), "--limit", "hvb.test.local"], env=env)
    assert not (cwd / "~").exists()
    assert result.exit_code == 0, result.output
    assert (home / "orch-state" / "journal.sqlite3").exists()
    history = CliRunner().invoke(main, ["history", "--state-dir", "~/orch-state"], env={"HOME": str(home)})
    assert history.exit_code == 0 and "apply" in history.stdout


def test_a_relative_state_dir_is_refused_naming_the_folder_it_would_have_meant(tmp_path: Path, monkeypatch) -> None:
    inventory = classroom(tmp_path)
    monkeypatch.chdir(tmp_path)
    meant = tmp_path.resolve() / "orch-state"
    by_env = CliRunner().invoke(main, ["apply", str(inventory)], env={"ORCHESTRATE_STATE_DIR": "orch-state"})
    by_option = CliRunner().invoke(main, ["history", "--state-dir", "orch-state", "-o", "json"])
    assert not (tmp_path / "orch-state").exists()
    assert by_env.exit_code == 2
    assert "ORCHESTRATE_STATE_DIR='orch-state' is a relative path" in by_env.stderr
    assert f"it would have meant {meant}" in by_env.stderr
    assert by_option.exit_code == 2 and "--state-dir" in by_option.stderr and str(meant) in by_option.stderr
    assert [json.loads(line)["event"] for line in by_option.stdout.splitlines()] == ["invalid_input", "recap"]
