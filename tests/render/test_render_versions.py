"""Every rendered script parses, names only cmdlets of the shared contract, binds every parameter by name,
and passes only parameters that the cmdlet has on the target Windows version (6.2, 6.3, 10.0)."""

from __future__ import annotations

import pytest
from render_support import VERSIONS, Hostile, command_calls, iter_scripts_hostile, parse, syntax_errors

from orchestrator import signatures
from orchestrator.render import Renderer

# docs/templates.md: the cmdlets templates may use (the simulator supports exactly these).
_CONTRACT_TEXT = """
Get-VM New-VM Set-VM Start-VM Stop-VM Remove-VM Set-VMProcessor Set-VMMemory Get-VMNetworkAdapter
Add-VMNetworkAdapter Connect-VMNetworkAdapter Get-VMSwitch New-VHD Get-VHD Add-VMHardDiskDrive
Get-VMHardDiskDrive Add-VMDvdDrive Get-VMDvdDrive Set-VMDvdDrive Set-VMFirmware Get-VMHost Checkpoint-VM Get-VMSnapshot
Restore-VMSnapshot Remove-VMSnapshot Rename-VMSnapshot Remove-VMSavedState Export-VM Import-VM Compare-VM
Get-WindowsFeature Get-WindowsImage
Get-CimInstance Get-Module Get-Command Register-ScheduledTask Unregister-ScheduledTask Get-ScheduledTask
Get-ScheduledTaskInfo Start-ScheduledTask New-ScheduledTaskAction New-ScheduledTaskTrigger
New-ScheduledTaskPrincipal New-ScheduledTaskSettingsSet Write-Output Write-Error Out-Null ConvertTo-Json ConvertFrom-Json Select-Object
Where-Object ForEach-Object Sort-Object Measure-Object Test-Path New-Item Remove-Item Copy-Item Rename-Item Join-Path
Split-Path Get-ChildItem Get-Content Get-Date Get-PSDrive Start-Job Wait-Job Receive-Job Remove-Job Start-Sleep
Mount-VHD Dismount-VHD Get-Disk Get-Partition Add-PartitionAccessPath Remove-PartitionAccessPath Set-Content New-Object
"""
CONTRACT_CMDLETS = frozenset(_CONTRACT_TEXT.split())
OWN_FUNCTIONS = {"Find-OrchestrateVM", "Get-OrchestrateVM", "ConvertTo-OrchestrateDate", "Restore-OrchestrateCheckpoint",
                 "ConvertTo-OrchestrateWildcardLiteral",  # paths for -Path parameters that read wildcards
                 "Get-OrchestrateSecret", "Get-OrchestrateKvpValue",  # these two: issue 15 (guest setup)
                 "Test-OrchestrateJoined",  # did the guest join its domain (the guest wait)
                 "Get-OrchestrateOwnChain",  # a drive's own disk files (discard, import clean-up)
                 "Find-OrchestrateChainHolder",  # a VM whose disk chain holds a file (discard, create)
                 "Get-OrchestrateDrivesOf",  # a VM's and its checkpoints' drives (both of the above)
                 "Get-OrchestrateOwnDisks"}  # every VM's own disk files, once per script (create)


def _scripts_by_version() -> list[tuple[str, str, str]]:
    renderer = Renderer()
    out = []
    for version in VERSIONS:
        for label, script in iter_scripts_hostile(renderer, Hostile(), versions=(version,)):
            out.append((version, label, script))
    return out


SCRIPTS = _scripts_by_version()


@pytest.mark.parametrize(("version", "label", "script"), SCRIPTS, ids=[f"{v}-{lbl}" for v, lbl, _ in SCRIPTS])
def test_script_binds_only_parameters_the_version_has(version: str, label: str, script: str) -> None:
    tree = parse(script)
    assert not syntax_errors(tree)
    lines = script.splitlines()
    assert lines[0] == "$ErrorActionPreference = 'Stop'"
    assert lines[1] == "$ProgressPreference = 'SilentlyContinue'"
    known = frozenset(n for n in signatures.cmdlet_names() if signatures.available(n, version))
    switches = {
        name: {p.name for s in signatures.signature(name, version).parameter_sets for p in s.parameters
               if p.is_switch} | {p.name for p in signatures.signature(name, version).common if p.is_switch}
        for name in known
    }
    calls = command_calls(tree, switches)
    assert any(c.name == "Get-VM" for c in calls)
    for call in calls:
        assert call.name in CONTRACT_CMDLETS | OWN_FUNCTIONS, f"{label}: {call.name} is not in the contract"
        missing = call.name in signatures.cmdlet_names() and call.name not in known
        assert not missing, f"{label} line {call.line}: {call.name} does not exist on {version}"
        if call.name not in known:
            continue
        allowed = signatures.parameters(call.name, version)
        for parameter in call.parameters:
            assert parameter in allowed, f"{label} line {call.line}: {call.name} -{parameter} on {version}"
        assert call.positional == 0, f"{label} line {call.line}: {call.name} has a positional argument"


def test_generation_is_only_passed_where_new_vm_has_it() -> None:
    by_version = {v: s for v, label, s in SCRIPTS if label.startswith("apply(all")}
    assert "-Generation" not in by_version["6.2"]
    assert "-Generation 2" in by_version["6.3"]
    assert "-Generation 2" in by_version["10.0"]


def test_no_script_contains_the_password() -> None:
    for _, label, script in SCRIPTS:
        assert "S3cr3t-pw!" not in script, label


def test_rendering_is_deterministic() -> None:
    again = _scripts_by_version()
    assert [s for *_, s in again] == [s for *_, s in SCRIPTS]
