"""The admin's story: `orchestrate apply` brings every new VM with `guest` to a ready, named MultiPoint Premium
server before its baseline; a second apply changes nothing; a rollback returns the ready server; what goes
wrong in a guest's setup fails the host with what the host could see, and never takes a baseline of it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from apply_support import (
    ENV,
    PREMIUM,
    STANDARD,
    events,
    guest,
    guest_line_of,
    guest_of,
    has_answer_file,
    host_failure,
    inventory,
    orchestrate,
    read_facts,
    recap,
    seed,
    simulated,
    summaries,
)

from orchestrator.actions import GUEST_NOTES_PREFIX
from orchestrator.facts import load_document
from orchestrator.inventory import load_inventory
from orchestrator.operations.move import MoveExport
from orchestrator.plan import plan_host
from orchestrator.render import Renderer
from orchestrator.runner.host import guest_secrets
from orchestrator.transport.simulated import SimulatedTransport, state_file

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo.yaml"


def test_apply_sets_up_every_guest_before_its_baseline_and_a_second_apply_is_a_no_op(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}, {"name": "lab-02", "state": "off"}])
    state = tmp_path / "state"
    first = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert first.exit_code == 0, first.output
    ready = {e["vm"]: e for e in events(first) if e["event"] == "guest_ready"}
    assert set(ready) == {"lab-01", "lab-02"}
    assert ready["lab-01"] == {"event": "guest_ready", "host": "hv01", "vm": "lab-01", "computer_name": "LAB-01",
                               "edition_sku": 77, "seconds": ready["lab-01"]["seconds"]}
    assert ready["lab-01"]["seconds"] >= 30 * 60  # the simulated setup takes 30 minutes
    details = [e["detail"] for e in events(first) if e["event"] == "progress" and e["vm"] == "lab-01"]
    assert "specializing, 6 of 45 min" in details

    sim = simulated(state)
    for name, power in (("lab-01", "Running"), ("lab-02", "Off")):
        vm = sim.host.vm_by_name(name)[0]
        assert vm.state == power
        _run, os_state = guest_of(sim, name)
        assert os_state["computer_name"] == name.upper() and os_state["generalized"] is False
        assert not has_answer_file(sim, name)  # SetupComplete.cmd deleted it before reporting ready
        (baseline,) = vm.snapshots.values()
        assert baseline.name == "clean"
        # The baseline is of the ready server: its memory holds a finished setup.
        assert baseline.config["guest_run"] == {"phase": "ready"}
        assert guest_line_of(sim, name)[:2] == ("ready", name.upper())

    second = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert second.exit_code == 0, second.output
    assert recap(second)["changed"] == 0 and summaries(second) == []


def test_a_rollback_to_the_baseline_returns_the_ready_server(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code == 0
    back = orchestrate("rollback", inv, "--to", "clean", "--state-dir", state, "-o", "json")
    assert back.exit_code == 0, back.output
    sim = simulated(state)
    run, os_state = guest_of(sim, "lab-01")
    assert run == {"phase": "ready"} and os_state["computer_name"] == "LAB-01"
    assert orchestrate("apply", inv, "--state-dir", state, "-o", "json").exit_code == 0
    assert summaries(orchestrate("apply", inv, "--state-dir", state, "-o", "json")) == []


def test_the_demo_brings_every_vm_to_a_ready_named_premium_server(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = orchestrate("apply", DEMO, "--state-dir", state, "-o", "json", env={})  # no variable to export
    assert result.exit_code == 0, result.output
    ready = {(e["host"], e["vm"]): e["computer_name"] for e in events(result) if e["event"] == "guest_ready"}
    assert ready == {
        ("hv01.demo.local", "lab-a-01"): "LAB-A-01",
        ("hv01.demo.local", "lab-a-02"): "LAB-A-02",
        ("hv01.demo.local", "lab-a-03"): "LAB-A-03",
        ("hv02.demo.local", "library"): "LIBRARY",
        ("hv02.demo.local", "teacher's room (staff)"): "TEACHERS-ROOM",
        ("hv02.demo.local", "exam-room"): "EXAM-ROOM",
    }


def test_a_guest_not_ready_in_time_fails_the_host_and_the_next_apply_waits_again(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="10m")})
    state = tmp_path / "state"
    first = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert first.exit_code != 0
    error = host_failure(first)
    assert "not ready after 10 min and no word from the guest through KVP" in error
    # A mistyped MAK passes every check here (only its form can be checked) and makes a real setup fail.
    assert "an invalid product key, such as a mistyped MAK or one of another product, makes Windows Setup fail" in error
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.state == "Running" and vm.snapshots == {}  # not turned off, no baseline of a half-set-up guest
    assert vm.guest_run is not None and vm.guest_run["phase"] == "specialize"

    # The next apply (with more patience) resumes: no second answer file, only the wait, then the baseline.
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    second = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert second.exit_code == 0, second.output
    assert summaries(second) == ["wait until lab-01 report ready (setup of the guest)", "checkpoint lab-01"]
    assert [e["vm"] for e in events(second) if e["event"] == "guest_ready"] == ["lab-01"]
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert [s.name for s in vm.snapshots.values()] == ["clean"]


def test_nothing_turns_off_a_guest_in_setup(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="5m")})
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code != 0  # still in setup after 5 minutes

    back = orchestrate("rollback", inv, "--to", "clean", "--state-dir", state, "-o", "json")
    assert back.exit_code != 0
    assert "a rollback would turn them off" in host_failure(back)
    # A move's first step would turn it off too: refused (the operation's plan, as the move workflow runs it).
    spec = load_inventory(inv, environ=ENV).hosts["hv01"]
    facts = read_facts(state, spec)
    move = MoveExport("lab-01", "\\\\nas\\moves", datetime(2026, 12, 1, tzinfo=UTC)).plan(spec, facts, Renderer())
    assert [type(a).__name__ for a in move] == ["RefuseVMs"]
    assert "a move would turn them off" in move[0].message  # type: ignore[attr-defined]
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert vm.state == "Running" and vm.guest_run is not None and vm.guest_run["phase"] == "specialize"

    # A CPU change needs the VM off: this run only waits for the guest (and takes its baseline), then refuses.
    more_cpus = inventory(tmp_path, [{"name": "lab-01", "cpus": 4}])
    changed = orchestrate("apply", more_cpus, "--state-dir", state, "-o", "json")
    assert changed.exit_code != 0
    assert "their guest was still in setup when this run began" in host_failure(changed)
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert vm.state == "Running" and vm.cpus == 2 and vm.guest_run == {"phase": "ready"}
    # The guest is ready now: the next apply makes the change.
    assert orchestrate("apply", more_cpus, "--state-dir", state).exit_code == 0
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert vm.cpus == 4 and vm.state == "Running"


def test_a_guest_that_read_no_answer_file_is_reported_at_oobe(tmp_path: Path) -> None:
    """A run cut off after the VM's Notes got its guest line but before the disk was written: the next apply
    never writes an answer file into it (it may have booted); it starts and waits, and the guest shows OOBE."""
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="5m")})
    state = tmp_path / "state"
    sim = simulated(state, seed())
    result = sim.run(
        "$ErrorActionPreference = 'Stop'\n"
        "$vhd = Join-Path -Path (Get-VMHost).VirtualHardDiskPath -ChildPath 'lab-01.vhdx'\n"
        f"New-VHD -Path $vhd -ParentPath '{PREMIUM}' -Differencing -Confirm:$false | Out-Null\n"
        "$vm = New-VM -Name 'lab-01' -Generation 2 -MemoryStartupBytes 4294967296 -VHDPath $vhd"
        " -SwitchName 'Classroom LAN' -Confirm:$false\n"
        "Set-VMProcessor -VM $vm -Count 2 -Confirm:$false\n"
        f"Set-VM -VM $vm -Notes '{GUEST_NOTES_PREFIX} ready{'0' * 32} setup LAB-01' -Confirm:$false\n"
    )
    assert result.exit_code == 0, result.stderr
    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert "prepare the guest of lab-01" not in summaries(applied)
    assert "still at Windows Welcome (OOBE)" in host_failure(applied)
    assert "or SetupComplete.cmd ran and stopped early" in host_failure(applied)
    sim = simulated(state)
    run, os_state = guest_of(sim, "lab-01")
    assert run == {"phase": "oobe"} and os_state["computer_name"].startswith("WIN-")
    assert sim.host.vm_by_name("lab-01")[0].snapshots == {}


def test_a_standard_image_is_never_set_up_as_a_baseline(tmp_path: Path) -> None:
    """The rules refuse a Standard image before anything is created (the image reports its edition)."""
    inv = inventory(tmp_path, [{"name": "lab-01", "disk": {"parent": STANDARD}}])
    state = tmp_path / "state"
    result = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert result.exit_code != 0
    assert "Standard" in host_failure(result) or "76" in host_failure(result)
    assert simulated(state).host.vm_by_name("lab-01") == []


def test_a_guest_reporting_standard_fails_before_its_baseline(tmp_path: Path) -> None:
    """Should a Standard image get past the rules (they refuse it by its edition first, see above), the wait
    still checks what the set-up guest reports: OSEditionId 76 fails the host, and no baseline is taken."""
    inv = inventory(tmp_path, [{"name": "lab-01", "disk": {"parent": STANDARD}}])
    state = tmp_path / "state"
    spec = load_inventory(inv, environ=ENV).hosts["hv01"]
    facts = read_facts(state, spec)
    renderer = Renderer()
    plan = plan_host(spec, facts)
    script = renderer.render_apply(spec, list(plan), facts.version, facts.cmdlets or None)
    transport = SimulatedTransport(spec.name, state, spec.simulator)
    result = transport.run(script, idempotent=True, secrets=guest_secrets(renderer, plan, reveal=True))
    failed = load_document(result.stdout)["failed"]
    assert failed["summary"].startswith("wait for the guests of")
    assert "reports OSEditionId 76 (76 is MultiPoint Standard), not MultiPoint Premium (77)" in failed["error"]
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert vm.snapshots == {} and vm.state == "Running"


def test_a_malformed_answer_file_override_fails_before_anything_changes(tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "guest"
    templates.mkdir(parents=True)
    (templates / "unattend.xml.j2").write_text("<unattend xmlns='urn:schemas-microsoft-com:unattend'><settings>\n")
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    state = tmp_path / "state"
    for extra in (["--dry-run"], []):
        result = orchestrate("apply", inv, "--state-dir", state, "--templates", tmp_path / "templates", "-o",
                             "json", *extra)
        assert result.exit_code != 0
        assert "not a valid answer file" in host_failure(result)
    assert simulated(state).host.vm_by_name("lab-01") == []


def test_the_hosts_own_rollback_task_never_turns_off_a_guest_in_setup(tmp_path: Path) -> None:
    """The nightly task runs on the host with no admin box to ask: its restore refuses a guest in setup too,
    even when the VM has a checkpoint of that name (taken by hand during setup)."""
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="5m")})
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code != 0  # still in setup
    sim = simulated(state)
    assert sim.run("Checkpoint-VM -Name 'lab-01' -SnapshotName 'clean'").exit_code == 0
    spec = load_inventory(inv, environ=ENV).hosts["hv01"]
    from orchestrator.actions import RestoreCheckpoint

    script = Renderer().render_apply(spec, [RestoreCheckpoint("lab-01", "clean")], "6.3")
    failed = load_document(simulated(state).run(script).stdout)["failed"]
    assert "its guest is still in setup; a rollback would turn it off" in failed["error"]
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert vm.state == "Running" and vm.guest_run is not None and vm.guest_run["phase"] == "specialize"


def test_a_dry_run_of_a_resumed_wait_passes_its_preflight_and_changes_nothing(tmp_path: Path) -> None:
    """The preflight's copy knows no guest's disk: it takes the guest in setup to finish as planned, so the
    dry run checks the script (and says it would wait), while the real guest is left exactly as it was."""
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="5m")})
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code != 0
    before = simulated(state).snapshot()
    dry = orchestrate("apply", inv, "--state-dir", state, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.output
    assert summaries(dry) == ["wait until lab-01 report ready (setup of the guest)", "checkpoint lab-01"]
    assert [e["ok"] for e in events(dry) if e["event"] == "preflight"] == [True]
    assert simulated(state).snapshot() == before


def test_a_guest_on_an_empty_disk_is_refused_before_it_is_created(tmp_path: Path) -> None:
    """An answer file goes into a sysprepped image's Windows; a new empty disk (an ISO install) has none. The
    inventory says so before any host is asked (it used to pass validation and fail at apply)."""
    inv = inventory(tmp_path, [{"name": "lab-01", "disk": {"size": "60GB", "iso": "D:\\iso\\mps.iso"}},
                               {"name": "lab-02"}],
                    host_seed=seed(images={PREMIUM: {"edition_sku": 77}, "D:\\iso\\mps.iso": {"edition_sku": 77}}))
    state = tmp_path / "state"
    validated = orchestrate("validate", inv)
    assert validated.exit_code == 2 and "`guest` needs a disk made from a sysprepped image" in validated.output
    assert f"{inv}:" in validated.output
    result = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert result.exit_code == 2 and "`guest` needs a disk made from a sysprepped image" in result.output
    assert not state_file(state, "hv01").exists()  # nothing was contacted


def test_a_setup_complete_that_stops_early_is_named_with_the_guest_log_to_read(tmp_path: Path) -> None:
    """A site's SetupComplete.cmd lost its `del` of the answer file: it stops at its own check, before the
    ready value, and Windows Setup goes on regardless (it checks no exit code). The guest is up under its
    name, so the wait's timeout names both causes, Windows Welcome or SetupComplete.cmd, and the log in the
    guest that tells them apart."""
    from orchestrator.resources import templates_dir

    site = tmp_path / "site-templates"
    (site / "guest").mkdir(parents=True)
    shipped = (templates_dir() / "guest" / "SetupComplete.cmd.j2").read_text(encoding="utf-8")
    kept = [line for line in shipped.splitlines() if not line.startswith("del ")]
    (site / "guest" / "SetupComplete.cmd.j2").write_text("\n".join(kept) + "\n", encoding="utf-8")
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="40m")})
    state = tmp_path / "state"
    applied = orchestrate("apply", inv, "--state-dir", state, "--templates", site, "-o", "json")
    assert applied.exit_code == 1, applied.output
    error = host_failure(applied)
    assert "not ready after 40 min: the guest runs as LAB-01 but never reported ready" in error
    assert "still at Windows Welcome (OOBE)" in error and "or SetupComplete.cmd ran and stopped early" in error
    assert "see C:\\Windows\\Panther\\UnattendGC\\setupact.log in the guest" in error
    sim = simulated(state)
    run, os_state = guest_of(sim, "lab-01")
    assert run == {"phase": "ready"} and "exited with 1" in os_state["setup_complete_error"]
    assert has_answer_file(sim, "lab-01") and sim.host.vm_by_name("lab-01")[0].snapshots == {}
