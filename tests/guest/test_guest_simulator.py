"""The simulated guest, as the admin's story: a VM whose disk got an answer file from the host sets itself up
in simulated time, names itself, deletes the answer file and tells the host it is ready; what goes wrong shows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from guest_support import model_vm
from sim_support import HEADER, KVP_READ, PREMIUM, STANDARD, prepare, run_ok, simulator

from orchestrator.facts import parse_kvp_items
from orchestrator.model import DomainJoin, Secret
from orchestrator.render import Renderer, render_answer_file, render_setup_complete
from orchestrator.simulator import Simulator
from orchestrator.simulator.host.guest import ANSWER_FILE, SETUP_INTERRUPTED, SETUP_PARSE_ERROR, volume_of
from orchestrator.simulator.host.model import norm_path

RENDERER = Renderer()
TOKEN = "lab-01.ready"


def files_for(vm_name: str = "lab-01", **guest: object) -> tuple[str, str]:
    vm = replace(model_vm(vm_name, **guest))
    return render_answer_file(RENDERER, vm, reveal=True), render_setup_complete(RENDERER, "OrchestrateReady", TOKEN)


def exchange(sim: Simulator, name: str = "lab-01") -> tuple[dict[str, str], dict[str, str]]:
    """What the host reads through KVP: (intrinsic items, items the guest wrote)."""
    doc = json.loads(run_ok(sim, KVP_READ.format(name=f"'{name}'")).stdout)
    return parse_kvp_items(doc["intrinsic"]), parse_kvp_items(doc["guest"])


def guest_files(sim: Simulator, name: str = "lab-01") -> set[str]:
    vm = sim.host.vm_by_name(name)[0]
    volume = volume_of(sim.host, vm.disks[0].path)
    assert volume is not None
    return set(volume["files"])


def test_a_prepared_guest_sets_itself_up_and_reports_ready() -> None:
    sim = simulator()
    answer, setup_complete = files_for()
    run_ok(sim, prepare("lab-01", answer, setup_complete))
    assert norm_path(ANSWER_FILE) in guest_files(sim)
    run_ok(sim, "Start-VM -Name 'lab-01'")
    assert exchange(sim) == ({}, {})  # specializing: the host sees nothing yet
    run_ok(sim, "Start-Sleep -Seconds 600")
    assert exchange(sim) == ({}, {})
    run_ok(sim, "Start-Sleep -Seconds 1200")
    intrinsic, written = exchange(sim)
    assert intrinsic["FullyQualifiedDomainName"] == "LAB-01"
    assert intrinsic["OSEditionId"] == "77"
    assert written == {"OrchestrateReady": TOKEN}
    assert norm_path(ANSWER_FILE) not in guest_files(sim)  # deleted before the guest said ready


def test_a_malformed_answer_file_stops_setup_with_windows_message() -> None:
    sim = simulator()
    _answer, setup_complete = files_for()
    run_ok(sim, prepare("lab-01", "<unattend xmlns='urn:schemas-microsoft-com:unattend'><settings>", setup_complete))
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 7200")
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.guest_run is not None and vm.guest_run["phase"] == "failed"
    assert vm.guest_run["error"].startswith(SETUP_PARSE_ERROR)
    assert "for pass [specialize]" in vm.guest_run["error"]
    assert exchange(sim) == ({}, {})  # never ready
    run_ok(sim, "Stop-VM -Name 'lab-01' -TurnOff -Force -Confirm:$false\nStart-VM -Name 'lab-01'\nStart-Sleep -Seconds 7200")
    assert sim.host.vm_by_name("lab-01")[0].guest_run["phase"] == "failed"  # type: ignore[index]


def test_a_setting_windows_refuses_is_a_specialize_error_of_its_component() -> None:
    sim = simulator()
    answer, setup_complete = files_for()
    bad = answer.replace("<TimeZone>UTC</TimeZone>", "<TimeZone>Mars Standard Time</TimeZone>")
    run_ok(sim, prepare("lab-01", bad, setup_complete))
    run_ok(sim, "Start-VM -Name 'lab-01'")
    error = sim.host.vm_by_name("lab-01")[0].guest_run["error"]  # type: ignore[index]
    assert error.startswith(SETUP_PARSE_ERROR) and "[Microsoft-Windows-Shell-Setup]" in error


def test_without_an_answer_file_the_guest_waits_at_oobe_with_a_generated_name() -> None:
    sim = simulator()
    run_ok(sim, prepare("lab-01", None, None))
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 7200")
    intrinsic, written = exchange(sim)
    name = intrinsic["FullyQualifiedDomainName"]
    assert name.startswith("WIN-") and len(name) == 15 and name != "LAB-01"
    assert intrinsic["OSEditionId"] == "77" and written == {}
    assert sim.host.vm_by_name("lab-01")[0].guest_run == {"phase": "oobe"}


def test_a_standard_image_reports_its_own_edition_whatever_key_it_got() -> None:
    sim = simulator()
    answer, setup_complete = files_for()
    run_ok(sim, prepare("lab-01", answer, setup_complete, image=STANDARD))
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 1800")
    intrinsic, written = exchange(sim)
    assert intrinsic["OSEditionId"] == "76" and written == {"OrchestrateReady": TOKEN}


def test_a_baseline_of_the_ready_server_restores_the_ready_server() -> None:
    sim = simulator()
    answer, setup_complete = files_for()
    run_ok(sim, prepare("lab-01", answer, setup_complete))
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 1800\nCheckpoint-VM -Name 'lab-01' -SnapshotName 'clean'")
    ready = exchange(sim)
    # the day's use, then the nightly rollback
    run_ok(sim, "Stop-VM -Name 'lab-01' -Force -Confirm:$false\n"
                "Restore-VMSnapshot -VMName 'lab-01' -Name 'clean' -Confirm:$false\nStart-VM -Name 'lab-01'")
    assert exchange(sim) == ready
    assert sim.host.vm_by_name("lab-01")[0].guest_run == {"phase": "ready"}
    assert norm_path(ANSWER_FILE) not in guest_files(sim)


def test_a_checkpoint_taken_off_before_first_boot_sets_up_again_after_restore() -> None:
    sim = simulator()
    answer, setup_complete = files_for()
    run_ok(sim, prepare("lab-01", answer, setup_complete))
    run_ok(sim, "Checkpoint-VM -Name 'lab-01' -SnapshotName 'never-booted'\nStart-VM -Name 'lab-01'\n"
                "Start-Sleep -Seconds 1800\nStop-VM -Name 'lab-01' -Force -Confirm:$false\n"
                "Restore-VMSnapshot -VMName 'lab-01' -Name 'never-booted' -Confirm:$false\nStart-VM -Name 'lab-01'")
    assert sim.host.vm_by_name("lab-01")[0].guest_run["phase"] == "specialize"  # type: ignore[index]
    assert norm_path(ANSWER_FILE) in guest_files(sim)  # the old baseline still holds the passwords


def test_powering_off_during_setup_breaks_windows_for_good() -> None:
    sim = simulator()
    answer, setup_complete = files_for()
    run_ok(sim, prepare("lab-01", answer, setup_complete))
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 600\nStop-VM -Name 'lab-01' -TurnOff -Confirm:$false")
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 7200")
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.guest_run == {"phase": "failed", "error": SETUP_INTERRUPTED}
    assert exchange(sim) == ({}, {})


def test_a_domain_join_needs_a_domain_the_network_has() -> None:
    join = DomainJoin(name="school.example", user="joiner", password=Secret("j0in"))
    answer, setup_complete = files_for(domain=join)
    sim = simulator()
    sim.host.guest_domains = ["school.example"]
    run_ok(sim, prepare("lab-01", answer, setup_complete))
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 1800")
    assert exchange(sim)[0]["FullyQualifiedDomainName"] == "LAB-01.school.example"
    elsewhere = simulator()  # no such domain: setup finishes in a workgroup, the host can see it
    run_ok(elsewhere, prepare("lab-01", answer, setup_complete))
    run_ok(elsewhere, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 1800")
    assert exchange(elsewhere)[0]["FullyQualifiedDomainName"] == "LAB-01"


def test_the_disk_is_always_dismounted_and_a_mounted_disk_cannot_start() -> None:
    sim = simulator()
    failing = prepare("lab-01", None, None).replace("if (-not $windows)", "throw 'boom'\n    if (-not $windows)")
    result = sim.run(HEADER + failing)
    assert result.exit_code == 1 and "boom" in result.stderr
    vm = sim.host.vm_by_name("lab-01")[0]
    assert sim.host.files[norm_path(vm.disks[0].path)].mounted is None  # the finally ran
    run_ok(sim, f"Mount-VHD -Path '{vm.disks[0].path}' -Confirm:$false")
    refused = sim.run(HEADER + "Start-VM -Name 'lab-01'")
    assert refused.exit_code == 1 and "being used by another process" in refused.stderr
    twice = sim.run(HEADER + f"Mount-VHD -Path '{vm.disks[0].path}' -Confirm:$false")
    assert twice.exit_code == 1 and "being used by another process" in twice.stderr


def test_a_running_vms_disk_cannot_be_mounted() -> None:
    sim = simulator()
    run_ok(sim, prepare("lab-01", None, None))
    run_ok(sim, "Start-VM -Name 'lab-01'")
    vhd = sim.host.vm_by_name("lab-01")[0].disks[0].path
    result = sim.run(HEADER + f"Mount-VHD -Path '{vhd}' -Confirm:$false")
    assert result.exit_code == 1 and "being used by another process" in result.stderr
    base = sim.run(HEADER + f"Mount-VHD -Path '{PREMIUM}' -Confirm:$false")  # its parent is in use as well
    assert base.exit_code == 1


def test_windows_server_2012_mount_vhd_has_no_confirm() -> None:
    sim = simulator(os_version="6.2")
    result = sim.run(HEADER + prepare("lab-01", None, None, confirm=True, generation=1))
    assert result.exit_code == 1 and "Confirm" in result.stderr
    answer, setup_complete = files_for()
    run_ok(sim, prepare("lab-02", answer, setup_complete, confirm=False, generation=1))
    run_ok(sim, "Start-VM -Name 'lab-02'\nStart-Sleep -Seconds 1800")
    assert exchange(sim, "lab-02")[1] == {"OrchestrateReady": TOKEN}


def test_get_disk_and_get_partition_show_the_mounted_guest_disk() -> None:
    sim = simulator()
    run_ok(sim, prepare("lab-01", None, None))
    vhd = sim.host.vm_by_name("lab-01")[0].disks[0].path
    out = run_ok(sim, f"$d = Mount-VHD -Path '{vhd}' -Passthru -Confirm:$false\n"
                      "$disk = Get-Disk -Number $d.DiskNumber\n"
                      "$parts = @(Get-Partition -DiskNumber $d.DiskNumber)\n"
                      "@{ n = $d.DiskNumber; location = $disk.Location; style = $disk.PartitionStyle;"
                      " types = @($parts | ForEach-Object { $_.Type }); letters = @($parts | Where-Object { $_.DriveLetter }"
                      " | ForEach-Object { [string]$_.DriveLetter }) } | ConvertTo-Json -Compress\n"
                      f"Dismount-VHD -Path '{vhd}' -Confirm:$false").stdout
    doc = json.loads(out)
    assert doc["n"] == 1 and doc["location"] == vhd and doc["style"] == "GPT"
    assert doc["types"] == ["Recovery", "System", "Reserved", "Basic"] and doc["letters"] == ["E"]  # D: holds the images
    missing = sim.run(HEADER + "Get-Partition -DiskNumber 7 -ErrorAction Stop")
    assert missing.exit_code == 1 and "No MSFT_Partition objects found" in missing.stderr


def test_setup_resumes_across_runs_of_a_persisted_host(tmp_path: Path) -> None:
    state = tmp_path / "hv01.json"
    answer, setup_complete = files_for()
    first = Simulator(state_path=state, seed={"os_sku": 8, "os_version": "6.3", "memory": "32GB",
                                              "images": {PREMIUM: {"edition_sku": 77}}})
    run_ok(first, prepare("lab-01", answer, setup_complete))
    run_ok(first, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 900")
    again = Simulator(state_path=state)  # the admin box lost its connection; a new run picks the host up
    assert again.host.vm_by_name("lab-01")[0].guest_run["left"] == 900  # type: ignore[index]
    run_ok(again, "Start-Sleep -Seconds 900")
    assert exchange(again)[1] == {"OrchestrateReady": TOKEN}
    assert "AdministratorPassword" not in state.read_text(encoding="utf-8")  # the answer file is gone

@pytest.mark.parametrize("encoding", ["UTF8", "Unicode"])
def test_a_hostile_computer_owner_reaches_the_guest_as_text(encoding: str) -> None:
    answer, setup_complete = files_for(owner="<]]>&'\"ü", organization="Schule & Co")
    sim = simulator()
    script = prepare("lab-01", answer, setup_complete).replace("-Value $answer -Encoding UTF8", f"-Value $answer -Encoding {encoding}")
    run_ok(sim, script)
    run_ok(sim, "Start-VM -Name 'lab-01'\nStart-Sleep -Seconds 1800")
    assert exchange(sim)[1] == {"OrchestrateReady": TOKEN}
