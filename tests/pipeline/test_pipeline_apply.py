"""The admin's story: `orchestrate apply` converges simulated hosts, a second apply changes nothing,
a dry run changes nothing, and one host's trouble never stops the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_support import (
    STANDARD_IMAGE,
    host_state,
    json_events,
    orchestrate,
    simulated_host,
    vm,
    vms_of,
    write_inventory,
)

from orchestrator.transport.simulated import state_file

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo.yaml"


def recap(result) -> dict:
    events = json_events(result)
    assert events[-1]["event"] == "recap"
    return events[-1]


def test_demo_apply_creates_every_vm_then_a_second_apply_changes_nothing(tmp_path: Path):
    state = tmp_path / "state"
    first = orchestrate("apply", DEMO, "--state-dir", state, "-o", "json")
    assert first.exit_code == 0, first.output
    assert recap(first)["changed"] > 0 and recap(first)["failed"] == 0

    lab = vms_of(state, "hv01.demo.local")
    # The 45-seat classroom became three Premium VMs of 15 seats, each at the floor for 15 seats.
    assert sorted(lab) == ["lab-a-01", "lab-a-02", "lab-a-03"]
    assert all(v["cpus"] == 6 and v["memory_startup"] == 8 * 1024**3 for v in lab.values())
    assert all(v["state"] == "Running" for v in lab.values())
    assert all([s["name"] for s in v["snapshots"]] == ["clean"] for v in lab.values())
    library = vms_of(state, "hv02.demo.local")
    assert library["exam-room"]["state"] == "Off"
    assert library["teacher's room (staff)"]["dynamic_memory"] is True
    assert library["teacher's room (staff)"]["adapters"][0]["switch"] == "Staff LAN"

    second = orchestrate("apply", DEMO, "--state-dir", state, "-o", "json")
    assert second.exit_code == 0, second.output
    assert recap(second)["changed"] == 0
    assert not [e for e in json_events(second) if e["event"] in ("planned", "action")]


def test_dry_run_on_a_fresh_state_lists_every_action_and_changes_nothing(tmp_path: Path):
    state = tmp_path / "state"
    preview = orchestrate("apply", DEMO, "--dry-run", "--state-dir", state, "-o", "json")
    assert preview.exit_code == 0, preview.output
    planned = [e for e in json_events(preview) if e["event"] == "planned"]
    creates = sorted(e["summary"] for e in planned if e["summary"].startswith("create VM"))
    assert creates == [
        "create VM exam-room",
        "create VM lab-a-01",
        "create VM lab-a-02",
        "create VM lab-a-03",
        "create VM library",
        "create VM teacher's room (staff)",
    ]
    assert all(e["ok"] for e in json_events(preview) if e["event"] == "preflight")
    assert recap(preview)["changed"] == len(planned)
    for host in ("hv01.demo.local", "hv02.demo.local"):
        assert not state_file(state, host).exists()  # the simulated hosts were only read

    # `plan` is the same preview, and it still leaves the host alone after a real apply drifted away.
    orchestrate("apply", DEMO, "--state-dir", state)
    before = {h: state_file(state, h).read_bytes() for h in ("hv01.demo.local", "hv02.demo.local")}
    again = orchestrate("plan", DEMO, "--state-dir", state, "-o", "json")
    assert again.exit_code == 0 and recap(again)["changed"] == 0
    assert before == {h: state_file(state, h).read_bytes() for h in before}


def test_a_drifted_vm_is_brought_back_with_a_power_cycle_only_where_needed(tmp_path: Path):
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab 1")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    drifted = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab 1", cpus=4, memory="6GB")]}}
    )
    result = orchestrate("apply", drifted, "--state-dir", state, "-o", "json")
    assert result.exit_code == 0, result.output
    summaries = [e["summary"] for e in json_events(result) if e["event"] == "action"]
    assert summaries == ["stop VM lab 1", "set CPUs of lab 1", "set memory of lab 1", "start VM lab 1"]
    after = vms_of(state, "hv01")["lab 1"]
    assert (after["cpus"], after["memory_startup"], after["state"]) == (4, 6 * 1024**3, "Running")


def test_one_failing_host_never_stops_the_others(tmp_path: Path):
    state = tmp_path / "state"
    inventory = write_inventory(
        tmp_path,
        {
            "good": {**simulated_host(), "multipoint_vms": [vm("lab-1")]},
            "no-hyperv": {**simulated_host(hyperv_installed=False), "multipoint_vms": [vm("lab-1")]},
        },
    )
    result = orchestrate("apply", inventory, "--state-dir", state, "-o", "json")
    assert result.exit_code == 1
    done = {e["host"]: e for e in json_events(result) if e["event"] == "host_done"}
    assert done["good"]["status"] == "changed"
    assert done["no-hyperv"]["status"] == "failed"
    assert "Install-WindowsFeature -Name Hyper-V" in done["no-hyperv"]["fix"]
    assert recap(result)["failed"] == 1
    assert "lab-1" in vms_of(state, "good")
    assert host_state(state, "no-hyperv")["vms"] == []


def test_json_output_is_only_json_lines_ending_with_the_recap(tmp_path: Path):
    inventory = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("a"), vm("b")]}}
    )
    result = orchestrate("apply", inventory, "--state-dir", tmp_path / "s", "-o", "json")
    lines = result.stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert all("event" in e for e in events)
    final = events[-1]
    assert final["event"] == "recap"
    assert final["changed"] == 4  # create and start, for each of the two VMs
    assert final["failed"] == 0
    assert final["hosts"] == {"hv01": {"ok": 0, "changed": 4, "failed": 0, "skipped": 0}}
    assert {e["event"] for e in events} >= {
        "run_start",
        "host_start",
        "facts",
        "planned",
        "action",
        "host_done",
    }


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("hv01", {"hv01"}),
        ("lab", {"hv01", "hv02"}),
        ("lab:!hv02", {"hv01"}),
        ("hv0*", {"hv01", "hv02", "hv03"}),
        ("office,hv01", {"hv01", "hv03"}),
        ("lab:&hv0?", {"hv01", "hv02"}),
    ],
)
def test_limit_takes_ansible_patterns(tmp_path: Path, pattern: str, expected: set[str]):
    hosts = {name: {**simulated_host(), "multipoint_vms": [vm("x")]} for name in ("hv01", "hv02", "hv03")}
    path = tmp_path / "inventory.yaml"
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "lab": {"hosts": {"hv01": hosts["hv01"], "hv02": hosts["hv02"]}},
                        "office": {"hosts": {"hv03": hosts["hv03"]}},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    result = orchestrate("apply", path, "--limit", pattern, "--state-dir", tmp_path / "s", "-o", "json")
    assert result.exit_code == 0, result.output
    assert set(recap(result)["hosts"]) == expected


def test_a_limit_that_matches_nothing_is_invalid_input_and_contacts_nothing(tmp_path: Path):
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("x")]}})
    result = orchestrate("apply", inventory, "--limit", "nope", "--state-dir", tmp_path / "s")
    assert result.exit_code == 2
    assert "nope" in result.output
    assert not (tmp_path / "s" / "simulator").exists()


def test_an_invalid_inventory_exits_2_before_any_host_is_contacted(tmp_path: Path):
    inventory = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("x", edition="standard")]}}
    )
    result = orchestrate("apply", inventory, "--state-dir", tmp_path / "s")
    assert result.exit_code == 2
    assert "inventory.yaml:" in result.output
    assert not (tmp_path / "s").exists()


def test_a_vm_built_from_standard_media_is_refused_and_the_other_vms_go_on(tmp_path: Path):
    state = tmp_path / "s"
    inventory = write_inventory(
        tmp_path,
        {
            "hv01": {
                **simulated_host(),
                "multipoint_vms": [vm("good"), vm("bad", disk={"parent": STANDARD_IMAGE})],
            }
        },
    )
    result = orchestrate("apply", inventory, "--state-dir", state, "-o", "json")
    assert result.exit_code == 1
    warnings = [e["message"] for e in json_events(result) if e["event"] == "warning"]
    assert any("'bad' refused" in w and "SKU 77" in w for w in warnings)
    assert set(vms_of(state, "hv01")) == {"good"}


def test_state_dir_is_the_environment_then_the_users_state_folder_never_the_current_one(
    tmp_path: Path, monkeypatch
):
    """The admin applies from one folder and runs history from another: the demo must not seem to vanish."""
    from orchestrator.cli import options

    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("x")]}})
    monkeypatch.setattr(options, "_is_system_user", lambda: False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("ORCHESTRATE_STATE_DIR", str(tmp_path / "from-env"))
    monkeypatch.chdir(tmp_path)
    assert orchestrate("apply", inventory).exit_code == 0
    assert state_file(tmp_path / "from-env", "hv01").exists()

    monkeypatch.delenv("ORCHESTRATE_STATE_DIR")
    assert orchestrate("apply", inventory).exit_code == 0
    user_state = home / ".local" / "state" / "orchestrate"
    assert state_file(user_state, "hv01").exists()
    assert not (tmp_path / ".orchestrate").exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    listed = orchestrate("history", "--output", "json")
    runs = [e for e in json_events(listed) if e["event"] == "run"]
    assert [r["command"] for r in runs] == ["apply"]  # the run made from the other folder

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert options.default_state_dir() == tmp_path / "xdg" / "orchestrate"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/path")  # the XDG spec: a relative path is ignored
    assert options.default_state_dir() == user_state


def test_root_and_a_service_without_a_home_share_the_system_state_dir(monkeypatch, tmp_path: Path):
    from orchestrator.cli import options

    monkeypatch.setattr(options, "_is_system_user", lambda: True)
    assert options.default_state_dir({"HOME": str(tmp_path)}) == Path("/var/lib/orchestrate")
    assert options.default_state_dir({"ORCHESTRATE_STATE_DIR": str(tmp_path)}) == tmp_path
    monkeypatch.setattr(options, "_is_system_user", lambda: False)
    for home in ({}, {"HOME": "/"}, {"HOME": str(tmp_path / "missing")}):
        assert options.default_state_dir(home) == Path("/var/lib/orchestrate")


def test_apply_with_site_templates_registers_tasks_that_run_the_site_rollback(tmp_path: Path) -> None:
    """`apply --templates SITE` must reach the script a scheduled task runs (it is rendered while planning),
    not only the apply script: the school reviewed its rollback override and expects it on the host."""
    from orchestrator.resources import templates_dir
    from orchestrator.simulator.host.cmdlets_tasks import decode_action

    site = tmp_path / "site" / "operations"
    site.mkdir(parents=True)
    packaged = (templates_dir() / "operations" / "rollback.ps1.j2").read_text(encoding="utf-8")
    marked = packaged.replace("{% block body %}\n", "{% block body %}\n# site marker: reviewed by the school\n", 1)
    (site / "rollback.ps1.j2").write_text(marked, encoding="utf-8")
    lab = vm("lab-01", checkpoints={"baseline": "clean"})
    host = {**simulated_host(), "multipoint_vms": [lab],
            "multipoint_schedules": [{"name": "nightly", "checkpoint": "clean", "at": "02:30"}]}
    inventory = write_inventory(tmp_path, {"hv01": host})
    state = tmp_path / "state"

    result = orchestrate("apply", inventory, "--state-dir", state, "--templates", tmp_path / "site")

    assert result.exit_code == 0, result.stdout
    (task,) = host_state(state, "hv01")["tasks"]
    (script,) = [decode_action(a) for a in task["actions"]]
    assert script is not None and "# site marker: reviewed by the school" in script



def test_a_dry_run_of_many_hosts_preflights_them_one_at_a_time_and_every_one_fully(tmp_path: Path, monkeypatch):
    # A preflight is pure CPU under the interpreter lock: preflights take turns (no thread switches between
    # two of them) while the hosts' facts are still gathered in parallel, and every host gets its preview.
    import threading
    import time

    from orchestrator.simulator import Simulator

    guard = threading.Lock()
    running, most, previews = [0], [0], [0]
    stock = Simulator.from_facts.__func__

    def from_facts(cls, document):
        simulator = stock(cls, document)
        run = simulator.run

        def counted(*args, **kwargs):
            with guard:
                running[0] += 1
                most[0] = max(most[0], running[0])
            try:
                time.sleep(0.02)  # gives the interpreter lock away: another preflight could start now
                return run(*args, **kwargs)
            finally:
                with guard:
                    running[0] -= 1
                    previews[0] += 1

        simulator.run = counted
        return simulator

    monkeypatch.setattr(Simulator, "from_facts", classmethod(from_facts))
    hosts = {f"hv{i:02d}": {**simulated_host(), "multipoint_vms": [vm(f"seat-{i:02d}")]} for i in range(8)}
    inventory = write_inventory(tmp_path, hosts)

    preview = orchestrate("apply", inventory, "--dry-run", "--forks", "8", "--state-dir", tmp_path / "s", "-o", "json")

    assert preview.exit_code == 0, preview.output
    assert sorted(e["host"] for e in json_events(preview) if e["event"] == "preflight" and e["ok"]) == sorted(hosts)
    assert previews[0] == len(hosts) and most[0] == 1
