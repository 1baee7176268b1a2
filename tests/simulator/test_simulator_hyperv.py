"""The host model: given a host, when a script runs these cmdlets, then the host holds exactly this."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from simulator_support import (
    HEADER,
    PREMIUM,
    PREMIUM_ISO,
    SEED_63,
    STANDARD,
    create_vm,
    fails,
    last_json,
    lines,
    ok,
    simulator,
    value,
)

from orchestrator.simulator import Simulator
from orchestrator.transport.stdin import channel

GiB = 2**30


def test_create_configure_start_and_read_back_a_vm() -> None:
    sim = simulator()
    create_vm(sim, "lab-01", memory="4GB", cpus=4)
    ok(sim, HEADER + """
Set-VMMemory -Confirm:$false -VMName 'lab-01' -DynamicMemoryEnabled $true -MinimumBytes 1GB -StartupBytes 4GB -MaximumBytes 8GB
Set-VM -Confirm:$false -Name 'lab-01' -Notes 'orchestrate:managed'
Add-VMNetworkAdapter -Confirm:$false -VMName 'lab-01' -SwitchName 'Classroom' -Name 'Second'
Add-VMDvdDrive -Confirm:$false -VMName 'lab-01' -Path 'D:\\iso\\mps-premium.iso'
Start-VM -Name 'lab-01'
""")
    vm = sim.host.vm_by_name("lab-01")[0]
    assert (vm.state, vm.cpus, vm.memory_startup, vm.dynamic_memory, vm.memory_minimum, vm.memory_maximum) == (
        "Running", 4, 4 * GiB, True, GiB, 8 * GiB)
    assert vm.notes == "orchestrate:managed"
    assert [(a.name, a.switch) for a in vm.adapters] == [("Network Adapter", "LAN"), ("Second", "Classroom")]
    assert vm.dvds == [PREMIUM_ISO]
    doc = value(sim, "Get-VM -Name 'lab-01' | Select-Object Name, State, Generation, ProcessorCount, MemoryStartup, "
                     "DynamicMemoryEnabled, Notes, ParentSnapshotName")
    assert doc == {"Name": "lab-01", "State": 2, "Generation": 2, "ProcessorCount": 4, "MemoryStartup": 4 * GiB,
                   "DynamicMemoryEnabled": True, "Notes": "orchestrate:managed", "ParentSnapshotName": None}
    assert value(sim, "(Get-VM -Name 'lab-01').State.ToString()") == "Running"
    assert value(sim, "@(Get-VMHardDiskDrive -VMName 'lab-01').Path") == "C:\\VMs\\lab-01.vhdx"
    assert value(sim, "(Get-VHD -Path 'C:\\VMs\\lab-01.vhdx').ParentPath") == PREMIUM
    assert value(sim, "@(Get-VMNetworkAdapter -VMName 'lab-01').Count") == 2


def test_names_must_exist_or_be_free() -> None:
    sim = simulator()
    create_vm(sim, "lab-01")
    result = fails(sim, HEADER + "New-VM -Confirm:$false -Name 'lab-01' -NoVHD")
    assert "already exists" in result.stderr
    result = fails(sim, HEADER + "Start-VM -Name 'ghost'")
    assert 'Hyper-V was unable to find a virtual machine with name "ghost".' in result.stderr
    result = fails(sim, HEADER + "New-VM -Confirm:$false -Name 'x' -NoVHD -SwitchName 'Nope'")
    assert "Unable to find a virtual switch" in result.stderr
    assert len(sim.host.vms) == 1


def test_starting_needs_memory_to_fit() -> None:
    sim = simulator(memory="16GB")  # 14GB usable after the host reserve
    create_vm(sim, "big-1", memory="8GB")
    create_vm(sim, "big-2", memory="8GB")
    ok(sim, HEADER + "Start-VM -Name 'big-1'")
    result = fails(sim, HEADER + "Start-VM -Name 'big-2'")
    assert "Not enough memory in the system to start the virtual machine big-2 with ram size 8192 megabytes" in (
        result.stderr)
    assert sim.host.vm_by_name("big-2")[0].state == "Off"
    assert value(sim, "(Get-CimInstance -ClassName Win32_OperatingSystem).FreePhysicalMemory") == 6 * 1024**2


def test_processor_and_memory_changes_need_the_vm_off_on_2012_r2() -> None:
    sim = simulator()
    create_vm(sim, "lab-01", cpus=2)
    ok(sim, HEADER + "Start-VM -Name 'lab-01'")
    result = fails(sim, HEADER + "Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 4")
    assert "Failed to modify device 'Processor'" in result.stderr
    assert "cannot be performed while the virtual machine is in its current state" in result.stderr
    assert "Failed to modify device 'Memory'" in fails(sim, HEADER + "Set-VMMemory -Confirm:$false -VMName 'lab-01' -StartupBytes 8GB"
                                                       ).stderr
    assert "Ethernet Connection" in fails(sim, HEADER + "Add-VMNetworkAdapter -Confirm:$false -VMName 'lab-01' -SwitchName 'LAN'").stderr
    assert sim.host.vm_by_name("lab-01")[0].cpus == 2
    ok(sim, HEADER + "Stop-VM -Name 'lab-01' -Force\nSet-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 4")
    assert sim.host.vm_by_name("lab-01")[0].cpus == 4


def test_processor_change_on_a_running_vm_is_allowed_on_2016() -> None:
    sim = simulator(os_version="10.0")
    create_vm(sim, "lab-01", cpus=2)
    ok(sim, HEADER + "Start-VM -Name 'lab-01'\nSet-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 4")
    assert sim.host.vm_by_name("lab-01")[0].cpus == 4


def test_stop_modes_and_remove_needs_force() -> None:
    sim = simulator()
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Start-VM -Name 'lab-01'\nStop-VM -Name 'lab-01' -Save")
    assert sim.host.vm_by_name("lab-01")[0].state == "Saved"
    # Stop-VM's page is silent on a Saved VM: the simulator refuses, and the saved state is deleted instead.
    assert "in its current state" in fails(sim, HEADER + "Stop-VM -Name 'lab-01' -TurnOff").stderr
    assert sim.host.vm_by_name("lab-01")[0].state == "Saved"
    ok(sim, HEADER + "Remove-VMSavedState -VMName 'lab-01' -Confirm:$false")
    assert sim.host.vm_by_name("lab-01")[0].state == "Off"
    assert "NonInteractive mode" in fails(sim, HEADER + "Remove-VM -Name 'lab-01'").stderr
    ok(sim, HEADER + "Remove-VM -Name 'lab-01' -Force")
    assert sim.host.vms == {}


def _drive(sim: Simulator, name: str = "lab-01") -> str:
    return sim.host.vm_by_name(name)[0].disks[0].path


def _content(sim: Simulator, name: str = "lab-01") -> int:
    return sim.host.files[_drive(sim, name).lower()].content


def test_checkpoints_capture_and_restore_configuration_and_disk_state() -> None:
    sim = simulator()
    create_vm(sim, "lab-01", cpus=2)
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'baseline'")
    # the drive now writes to a new .avhdx whose parent is the disk it had (chains.py)
    first = _drive(sim)
    assert first.lower().startswith("c:\\vms\\lab-01_") and first.lower().endswith(".avhdx")
    assert value(sim, f"(Get-VHD -Path '{first}').ParentPath") == "C:\\VMs\\lab-01.vhdx"
    content_at_baseline = _content(sim)
    ok(sim, HEADER + "Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 6\nStart-VM -Name 'lab-01'")
    assert _content(sim) != content_at_baseline  # the guest wrote to its disk
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'after'")
    assert value(sim, f"(Get-VHD -Path '{_drive(sim)}').ParentPath") == first
    assert re.fullmatch(r"C:\\VMs\\lab-01_[0-9A-F-]{36}\.avhdx", _drive(sim))  # one GUID, not one per link
    snaps = last_json(ok(sim, "Get-VMSnapshot -VMName 'lab-01' | Select-Object Name, ParentSnapshotName, VMName | "
                              "ConvertTo-Json -Compress"))
    assert snaps == [{"Name": "baseline", "ParentSnapshotName": None, "VMName": "lab-01"},
                     {"Name": "after", "ParentSnapshotName": "baseline", "VMName": "lab-01"}]
    ok(sim, HEADER + "Stop-VM -Name 'lab-01' -TurnOff\n"
                     "Restore-VMSnapshot -VMName 'lab-01' -Name 'baseline' -Confirm:$false")
    vm = sim.host.vm_by_name("lab-01")[0]
    assert (vm.cpus, vm.state, _content(sim)) == (2, "Off", content_at_baseline)
    # the restored drive is a new child of the baseline's file; 'after' still stands on the first .avhdx
    assert value(sim, f"(Get-VHD -Path '{_drive(sim)}').ParentPath") == "C:\\VMs\\lab-01.vhdx"
    assert first.lower() in sim.host.files
    assert value(sim, "(Get-VM -Name 'lab-01').ParentSnapshotName") == "baseline"
    ok(sim, HEADER + "Rename-VMSnapshot -Confirm:$false -VMName 'lab-01' -Name 'after' -NewName 'later'\n"
                     "Remove-VMSnapshot -Confirm:$false -VMName 'lab-01' -Name 'baseline'")
    remaining = [(s.name, s.parent_id) for s in vm.snapshots.values()]
    assert remaining == [("later", None)]
    assert value(sim, "(Get-VM -Name 'lab-01').ParentSnapshotName") is None
    # a merge never touches the base disk's own file, and every chain still ends on it
    for drive in [_drive(sim), first]:
        assert value(sim, f"(Get-VHD -Path '{drive}').ParentPath") == "C:\\VMs\\lab-01.vhdx"


def test_remove_vm_merges_its_checkpoint_files_and_keeps_the_base_disk() -> None:
    """Remove-VM deletes the configuration only and merges the checkpoints into the VHDs after deletion
    (docset/winserver2012r2-ps/hyper-v/Remove-VM.md): while the merge runs the base disk is in use."""
    sim = simulator(job_seconds=30)
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'baseline'\n"
                     "Checkpoint-VM -Name 'lab-01' -SnapshotName 'later'")
    checkpoint_files = [k for k in sim.host.files if k.endswith(".avhdx")]
    assert len(checkpoint_files) == 2
    ok(sim, HEADER + "Remove-VM -Name 'lab-01' -Force")
    assert "being used by another process" in fails(
        sim, HEADER + "Remove-Item -LiteralPath 'C:\\VMs\\lab-01.vhdx' -Force").stderr
    ok(sim, HEADER + "Start-Sleep -Seconds 30")
    assert [k for k in sim.host.files if k.endswith(".avhdx")] == []
    assert "c:\\vms\\lab-01.vhdx" in sim.host.files
    ok(sim, HEADER + "Remove-Item -LiteralPath 'C:\\VMs\\lab-01.vhdx' -Force")
    assert "c:\\vms\\lab-01.vhdx" not in sim.host.files


def test_restore_needs_an_existing_checkpoint_and_confirm_false() -> None:
    sim = simulator()
    create_vm(sim, "lab-01")
    result = fails(sim, HEADER + "Restore-VMSnapshot -VMName 'lab-01' -Name 'nope' -Confirm:$false")
    assert "Unable to find a snapshot matching the given criteria." in result.stderr
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'cp'")
    assert "NonInteractive mode" in fails(sim, HEADER + "Restore-VMSnapshot -VMName 'lab-01' -Name 'cp'").stderr


def test_a_running_premium_guest_reports_its_edition_through_kvp() -> None:
    sim = simulator()
    create_vm(sim, "premium", parent=PREMIUM)
    create_vm(sim, "standard", parent=STANDARD)
    script = """
$items = @()
foreach ($c in Get-CimInstance -Namespace root\\virtualization\\v2 -ClassName Msvm_KvpExchangeComponent) {
    foreach ($x in $c.GuestIntrinsicExchangeItems) {
        if ($x -match '<VALUE>([^<]*)</VALUE></PROPERTY><PROPERTY NAME="Description".*<VALUE>OSEditionId</VALUE>') {
            $items += [ordered]@{ vm = $c.SystemName; sku = [int]$Matches[1] }
        }
    }
}
ConvertTo-Json -InputObject @($items) -Compress
"""
    assert last_json(ok(sim, script)) == []  # nothing reports before the guests run
    ok(sim, HEADER + "Start-VM -Name 'premium'\nStart-VM -Name 'standard'")
    by_id = {vm.id.upper(): vm.name for vm in sim.host.vms.values()}
    reported = {by_id[i["vm"]]: i["sku"] for i in last_json(ok(sim, script))}
    assert reported == {"premium": 77, "standard": 76}


def test_install_media_report_their_edition() -> None:
    sim = simulator()
    doc = value(sim, f"Get-WindowsImage -ImagePath '{PREMIUM}' -Index 1 | Select-Object ImageName, EditionId")
    assert doc == {"ImageName": "Windows MultiPoint Server 2012 Premium", "EditionId": "ServerMultiPointPremium"}
    assert value(sim, f"(Get-WindowsImage -ImagePath '{STANDARD}' -Index 1).EditionId") == "ServerMultiPointStandard"
    assert "cannot find the file" in fails(sim, HEADER + "Get-WindowsImage -ImagePath 'D:\\nope.vhdx'").stderr
    # DISM cannot read an ISO: its edition shows only once a guest boots from it (KVP)
    assert "not a Windows image" in fails(sim, HEADER + f"Get-WindowsImage -ImagePath '{PREMIUM_ISO}'").stderr


def test_host_facts_cmdlets() -> None:
    sim = simulator(os_sku=77, os_version=None)
    assert sim.host.os_version == "6.2"  # MultiPoint Server 2012 is Windows Server 2012
    os_info = value(sim, "Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object OperatingSystemSKU, Version")
    assert os_info == {"OperatingSystemSKU": 77, "Version": "6.2.9200"}
    assert value(sim, "(Get-WindowsFeature -Name Hyper-V).Installed") is True
    assert value(sim, "(Get-VMHost).LogicalProcessorCount") == 16
    assert value(sim, "@(Get-VMSwitch | ForEach-Object { $_.Name })") == ["LAN", "Classroom"]
    assert value(sim, "@(Get-Module -ListAvailable -Name Hyper-V).Count") == 1


def test_a_host_without_hyper_v_has_no_hyper_v_cmdlets() -> None:
    sim = simulator(hyperv_installed=False)
    assert value(sim, "(Get-WindowsFeature -Name Hyper-V).Installed") is False
    assert value(sim, "@(Get-Module -ListAvailable -Name Hyper-V).Count") == 0
    assert "The term 'Get-VM' is not recognized" in fails(sim, HEADER + "Get-VM").stderr


def test_export_then_import_on_another_host_through_a_share(tmp_path: Path) -> None:
    state = tmp_path / "simulator"
    one = Simulator(state_path=state / "hv01.json", seed=SEED_63)
    two = Simulator(state_path=state / "hv02.json", seed=SEED_63)
    create_vm(one, "lab-01")
    ok(one, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'baseline'\n"
                     "Export-VM -Confirm:$false -Name 'lab-01' -Path '\\\\nas\\exports'")
    result = fails(one, HEADER + "Export-VM -Confirm:$false -Name 'lab-01' -Path '\\\\nas\\exports'")
    assert "already contains an exported virtual machine" in result.stderr
    vm_id = one.host.vm_by_name("lab-01")[0].id
    config = f"\\\\nas\\exports\\lab-01\\Virtual Machines\\{vm_id.upper()}.XML"
    assert lines(ok(two, f"Test-Path -Path '{config}'")) == ["True"]
    # no page says Import-VM makes a missing -VhdDestinationPath, and the simulated one does not (audit J L3)
    ok(two, HEADER + "New-Item -ItemType Directory -Path 'C:\\Imported' | Out-Null")
    ok(two, HEADER + f"Import-VM -Confirm:$false -Path '{config}' -Copy -GenerateNewId -VhdDestinationPath 'C:\\Imported'")
    imported = two.host.vm_by_name("lab-01")[0]
    assert imported.id != vm_id
    # the whole chain came along, and the copied .avhdx reads through to the copied base disk
    (drive,) = [d.path for d in imported.disks]
    assert drive.startswith("C:\\Imported\\lab-01_") and drive.endswith(".avhdx")
    assert value(two, f"(Get-VHD -Path '{drive}').ParentPath") == "C:\\Imported\\lab-01.vhdx"
    assert [s.name for s in imported.snapshots.values()] == ["baseline"]
    # the state survives: a fresh simulator on the same file sees the imported VM
    assert Simulator(state_path=state / "hv02.json").host.vm_by_name("lab-01")
    # registering in place keeps the ID, which must not be registered already
    result = fails(one, HEADER + f"Import-VM -Confirm:$false -Path '{config}'")
    assert "same identifier already exists" in result.stderr


def test_export_to_an_unknown_share_or_without_space_fails() -> None:
    sim = simulator(shares={"\\\\nas\\tiny": {"free": "1MB"}})
    create_vm(sim, "lab-01")
    assert "network path was not found" in fails(sim, HEADER + "Export-VM -Confirm:$false -Name 'lab-01' -Path '\\\\other\\x'").stderr
    assert "not enough space" in fails(sim, HEADER + "Export-VM -Confirm:$false -Name 'lab-01' -Path '\\\\nas\\tiny'").stderr


def test_compare_vm_reports_a_missing_switch() -> None:
    sim = simulator()
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Export-VM -Confirm:$false -Name 'lab-01' -Path 'C:\\Exports'")
    sim.host.switches.remove("LAN")
    vm_id = sim.host.vm_by_name("lab-01")[0].id.upper()
    report = value(sim, f"@((Compare-VM -Path 'C:\\Exports\\lab-01\\Virtual Machines\\{vm_id}.XML' -Copy "
                        "-GenerateNewId -Confirm:$false).Incompatibilities | ForEach-Object { $_.MessageId })")
    assert report == [33012]


def test_compare_vm_supports_should_process_and_no_page_says_it_would_not_prompt() -> None:
    # Compare-VM lists -Confirm and -WhatIf on 2012 and 2012 R2 (audit J M1); no page gives its ConfirmImpact,
    # so it is taken as High, as for every Hyper-V cmdlet whose page is silent: a script must say -Confirm:$false.
    sim = simulator()
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Export-VM -Confirm:$false -Name 'lab-01' -Path 'C:\\Exports'")
    vm_id = sim.host.vm_by_name("lab-01")[0].id.upper()
    refused = fails(sim, HEADER + f"Compare-VM -Path 'C:\\Exports\\lab-01\\Virtual Machines\\{vm_id}.XML' -Copy")
    assert "NonInteractive mode" in refused.stderr


def _encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def test_scheduled_task_runs_its_encoded_powershell_action() -> None:
    sim = simulator()
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'clean'\nSet-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 8")
    action_script = HEADER + "Restore-VMSnapshot -VMName 'lab-01' -Name 'clean' -Confirm:$false\nexit 0"
    register = HEADER + f"""
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile -NonInteractive -EncodedCommand {_encoded(action_script)}'
$trigger = New-ScheduledTaskTrigger -Weekly -DaysOfWeek Monday, Friday -At '02:30'
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
Register-ScheduledTask -TaskName 'nightly reset' -TaskPath '\\MultiPoint\\' -Action $action -Trigger $trigger -Principal $principal -Description 'orchestrate' | Out-Null
"""
    ok(sim, register)
    assert "already exists" in fails(sim, register).stderr
    info = value(sim, "Get-ScheduledTaskInfo -TaskName 'nightly reset' -TaskPath '\\MultiPoint\\' | "
                      "Select-Object LastTaskResult, TaskName")
    assert info == {"LastTaskResult": 267011, "TaskName": "nightly reset"}
    ok(sim, HEADER + "Start-ScheduledTask -TaskName 'nightly reset' -TaskPath '\\MultiPoint\\'")
    assert sim.host.vm_by_name("lab-01")[0].cpus == 2  # the action restored the checkpoint
    assert value(sim, "(Get-ScheduledTaskInfo -TaskName 'nightly reset' -TaskPath '\\MultiPoint\\').LastTaskResult") == 0
    tasks = value(sim, "@(Get-ScheduledTask -TaskPath '\\MultiPoint\\' | ForEach-Object { $_.TaskName })")
    assert tasks == ["nightly reset"]
    ok(sim, HEADER + "Unregister-ScheduledTask -TaskName 'nightly reset' -TaskPath '\\MultiPoint\\' -Confirm:$false")
    assert sim.host.tasks == {}


def test_a_failing_task_action_records_its_exit_code() -> None:
    sim = simulator()
    action = HEADER + "Restore-VMSnapshot -VMName 'ghost' -Name 'clean' -Confirm:$false"
    ok(sim, HEADER + f"""
$a = New-ScheduledTaskAction -Execute 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe' -Argument '-EncodedCommand {_encoded(action)}'
$t = New-ScheduledTaskTrigger -Daily -At '03:00'
Register-ScheduledTask -TaskName 'broken' -Action $a -Trigger $t | Out-Null
Start-ScheduledTask -TaskName 'broken'
""")
    task = next(iter(sim.host.tasks.values()))
    assert task.last_result == 1
    assert "unable to find a virtual machine" in task.last_output


def test_jobs_run_their_script_block() -> None:
    sim = simulator()
    script = "$j = Start-Job -ScriptBlock { param($n) $n * 2 } -ArgumentList 21\n" \
             "Wait-Job -Job $j | Out-Null\nReceive-Job -Job $j\nRemove-Job -Job $j"
    assert lines(ok(sim, *channel(script))) == ["42"]  # the bootstrap lets jobs run (console_encoding)


def test_files_and_paths() -> None:
    sim = simulator()
    script = HEADER + """
New-Item -ItemType Directory -Path 'C:\\Exports\\a' -Force | Out-Null
New-Item -ItemType File -Path 'C:\\Exports\\a\\note.txt' -Value 'hi' | Out-Null
Copy-Item -Path 'C:\\Exports\\a' -Destination 'C:\\Copy' -Recurse
$r = [ordered]@{
  leaf = Test-Path -Path 'C:\\Copy\\note.txt' -PathType Leaf
  join = Join-Path -Path 'C:\\Exports' -ChildPath 'a'
  parent = Split-Path -Path 'C:\\Exports\\a\\note.txt' -Parent
  name = Split-Path -Path 'C:\\Exports\\a\\note.txt' -Leaf
  children = @(Get-ChildItem -Path 'C:\\Exports\\a' | ForEach-Object { $_.Name })
  free = (Get-PSDrive -Name C).Free -gt 0
}
Remove-Item -Path 'C:\\Exports' -Recurse -Force
$r.gone = -not (Test-Path -Path 'C:\\Exports')
$r | ConvertTo-Json -Compress
"""
    assert last_json(ok(sim, script)) == {"leaf": True, "join": "C:\\Exports\\a", "parent": "C:\\Exports\\a",
                                          "name": "note.txt", "children": ["note.txt"], "free": True, "gone": True}
    assert "Cannot find path" in fails(sim, HEADER + "Remove-Item -Path 'C:\\nope'").stderr


def test_what_if_changes_nothing() -> None:
    sim = simulator()
    create_vm(sim, "lab-01")
    before = sim.snapshot()
    result = ok(sim, HEADER + "Remove-VM -Name 'lab-01' -Force -WhatIf")
    assert "What if:" in result.stdout
    assert sim.snapshot() == before


def test_get_scheduled_task_errors_on_an_empty_folder_as_windows_does() -> None:
    sim = simulator()
    result = fails(sim, HEADER + "Get-ScheduledTask -TaskPath '\\MultiPoint\\'")
    assert "No MSFT_ScheduledTask objects found with property 'TaskPath' equal to '\\MultiPoint\\'" in result.stderr
    script = "$n = @(Get-ScheduledTask -TaskPath '\\MultiPoint\\' -ErrorAction SilentlyContinue).Count\n$n"
    assert lines(ok(sim, HEADER + script)) == ["0"]


def test_a_guest_installed_from_a_premium_iso_reports_77_once_running() -> None:
    sim = simulator()
    ok(sim, HEADER + f"""
New-VM -Confirm:$false -Name 'fresh' -MemoryStartupBytes 2GB -Generation 2 -NewVHDPath 'C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks\\fresh.vhdx' -NewVHDSizeBytes 40GB | Out-Null
Add-VMDvdDrive -Confirm:$false -VMName 'fresh' -Path '{PREMIUM_ISO}'
Start-VM -Name 'fresh'
""")
    assert sim.host.vm_by_name("fresh")[0].booted_from == 77
    size = value(sim, "(Get-VHD -Path 'C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks\\fresh.vhdx').Size")
    assert size == 40 * GiB


def test_a_checkpoint_reports_the_configuration_it_captured() -> None:
    sim = simulator()
    create_vm(sim, "lab-01", cpus=2)
    ok(sim, HEADER + "Set-VMMemory -Confirm:$false -VMName 'lab-01' -DynamicMemoryEnabled $true -MinimumBytes 1GB -MaximumBytes 8GB\n"
                     "Checkpoint-VM -Name 'lab-01' -SnapshotName 'cp'\nSet-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 4")
    snap = value(sim, "Get-VMSnapshot -VMName 'lab-01' -Name 'cp' | Select-Object ProcessorCount, MemoryStartup, "
                      "DynamicMemoryEnabled, MemoryMinimum, MemoryMaximum")
    assert snap == {"ProcessorCount": 2, "MemoryStartup": 4 * GiB, "DynamicMemoryEnabled": True,
                    "MemoryMinimum": GiB, "MemoryMaximum": 8 * GiB}


def test_an_iso_goes_into_the_drive_taken_from_that_vm_only() -> None:
    """Set-VMDvdDrive fed the drive object of 'lab[1]' changes that VM's drive, never lab1's (a name with
    [ ] is a wildcard to -VMName), and Get-VMDvdDrive lists a generation 1 VM's one drive."""
    sim = simulator()
    for name in ("lab[1]", "lab1"):
        ok(sim, HEADER + f"New-VM -Confirm:$false -Name '{name}' -MemoryStartupBytes 2GB -Generation 1 -NoVHD | Out-Null")
    ok(sim, HEADER + f"""
$vm = Get-VM | Where-Object -FilterScript {{ $_.Name -eq 'lab[1]' }}
@(Get-VMDvdDrive -VM $vm) | Select-Object -First 1 | Set-VMDvdDrive -Path '{PREMIUM_ISO}' -Confirm:$false
""")
    assert sim.host.vm_by_name("lab[1]")[0].dvds == [PREMIUM_ISO]
    assert sim.host.vm_by_name("lab1")[0].dvds == [None]
    assert value(sim, "@(Get-VMDvdDrive -VMName 'lab1').Count") == 1


def test_an_export_needs_room_for_the_whole_chain_not_only_the_newest_file() -> None:
    """The export copies the base disk and every checkpoint file (chains.py): a share with room for the
    base disk alone refuses it, and the facts-side estimate (Get-VHD FileSize along the chain) sees why."""
    sim = simulator(shares={"\\\\nas\\exports": {"free": "6MB"}})
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'baseline'")
    chain = [value(sim, "(Get-VMHardDiskDrive -VMName 'lab-01').Path")]
    chain.append(value(sim, f"(Get-VHD -Path '{chain[0]}').ParentPath"))
    sizes = [value(sim, f"(Get-VHD -Path '{path}').FileSize") for path in chain]
    assert sizes[1] <= 6 * 2**20 < sum(sizes)
    result = fails(sim, HEADER + "Export-VM -Confirm:$false -Name 'lab-01' -Path '\\\\nas\\exports'")
    assert "not enough space" in result.stderr


def test_get_vm_shows_each_change_at_once_in_one_script_and_the_untouched_vm_as_it_is() -> None:
    # Get-VM keeps a VM's object while nothing it is made of changed (objects.vm_inputs); within one
    # script, every change to a VM must still show in the next Get-VM, as on Windows, where each call
    # reads the VM afresh.
    sim = simulator()
    create_vm(sim, "lab-01", memory="4GB", cpus=2)
    create_vm(sim, "lab-02", memory="4GB", cpus=2)
    result = ok(sim, HEADER + """
$seen = @()
$seen += (Get-VM | ForEach-Object { "$($_.Name) $($_.ProcessorCount) $($_.Notes) $($_.State) $($_.NetworkAdapters.Count) $($_.DVDDrives.Count) $($_.ParentSnapshotName)" }) -join ';'
Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 4
$seen += (Get-VM | ForEach-Object { "$($_.Name) $($_.ProcessorCount) $($_.Notes) $($_.State) $($_.NetworkAdapters.Count) $($_.DVDDrives.Count) $($_.ParentSnapshotName)" }) -join ';'
Set-VM -Confirm:$false -Name 'lab-01' -Notes 'seat one'
Add-VMNetworkAdapter -Confirm:$false -VMName 'lab-01' -SwitchName 'Classroom' -Name 'Second'
Add-VMDvdDrive -Confirm:$false -VMName 'lab-01' -Path 'D:\\iso\\mps-premium.iso'
$seen += (Get-VM | ForEach-Object { "$($_.Name) $($_.ProcessorCount) $($_.Notes) $($_.State) $($_.NetworkAdapters.Count) $($_.DVDDrives.Count) $($_.ParentSnapshotName)" }) -join ';'
Start-VM -Name 'lab-01'
Checkpoint-VM -Confirm:$false -Name 'lab-02' -SnapshotName 'clean'
$seen += (Get-VM | ForEach-Object { "$($_.Name) $($_.ProcessorCount) $($_.Notes) $($_.State) $($_.NetworkAdapters.Count) $($_.DVDDrives.Count) $($_.ParentSnapshotName)" }) -join ';'
$seen
""")
    assert lines(result) == [
        "lab-01 2  Off 1 0 ;lab-02 2  Off 1 0 ",
        "lab-01 4  Off 1 0 ;lab-02 2  Off 1 0 ",
        "lab-01 4 seat one Off 2 1 ;lab-02 2  Off 1 0 ",
        "lab-01 4 seat one Running 2 1 ;lab-02 2  Off 1 0 clean",
    ]



def test_each_get_vm_hands_out_objects_of_its_own_down_to_the_adapters() -> None:
    # The cache keeps one built object per VM; every caller gets a copy down to the drive and adapter
    # objects inside it, so nothing one script line does to an object it got shows in a later Get-VM.
    from orchestrator.simulator.host.acl import DEFAULT_USER, Identity
    from orchestrator.simulator.host.context import HostContext
    from orchestrator.simulator.host.files import FileSystem
    from orchestrator.simulator.host.objects import vm_inputs, vm_object_from

    sim = simulator()
    create_vm(sim, "lab-01", memory="4GB", cpus=2)
    fs = FileSystem(sim.host.files, sim.shares, lambda: None, sim.session, Identity.session(DEFAULT_USER, True, False))
    ctx = HostContext(sim.host, fs)
    vm = sim.host.vm_by_name("lab-01")[0]

    def get_vm():
        return ctx.object_for(("vm", vm.id), vm_inputs(sim.host, vm), vm_object_from)

    first, second = get_vm(), get_vm()
    first.get("NetworkAdapters")[0].set("SwitchName", "elsewhere")
    first.get("HardDrives").clear()

    again = get_vm()
    assert first.props is not second.props and first.get("NetworkAdapters") is not second.get("NetworkAdapters")
    assert [a.get("SwitchName") for a in again.get("NetworkAdapters")] == [a.switch for a in vm.adapters]
    assert [d.get("Path") for d in again.get("HardDrives")] == [d.path for d in vm.disks] != []


def test_a_repaired_report_compared_again_has_no_incompatibilities_left() -> None:
    # Compare-VM.md (2012) Example 2: fix the report's .Source, then "Generates a new compatibility report".
    sim = simulator()
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Export-VM -Confirm:$false -Name 'lab-01' -Path 'C:\\Exports'")
    sim.host.switches.remove("LAN")
    sim.host.switches.append("Classroom")
    vm_id = sim.host.vm_by_name("lab-01")[0].id.upper()
    counts = lines(ok(sim, HEADER + (
        f"$r = Compare-VM -Path 'C:\\Exports\\lab-01\\Virtual Machines\\{vm_id}.XML' -Copy -GenerateNewId -Confirm:$false\n"
        "$before = @($r.Incompatibilities).Count\n"
        "$again = Compare-VM -CompatibilityReport $r -Confirm:$false\n"
        "$unrepaired = @($again.Incompatibilities).Count\n"
        "Connect-VMNetworkAdapter -VMNetworkAdapter $r.Incompatibilities[0].Source -SwitchName 'Classroom' -Confirm:$false\n"
        "$repaired = Compare-VM -CompatibilityReport $r -Confirm:$false\n"
        "Write-Output ([string]$before + ' ' + $unrepaired + ' ' + @($repaired.Incompatibilities).Count)")))
    assert counts == ["1 1 0"]
