"""Issue 13, findings 1 and 9, inside the simulator: a 2012 host runs Windows PowerShell 3.0 and a 2012 R2
host 4.0, each refusing what is newer; mutating cmdlets ask for confirmation by their documented
ConfirmImpact, and the non-interactive session turns the prompt into an error."""

from __future__ import annotations

import pytest
from simulator_support import HEADER, fails, lines, ok, simulator

from orchestrator.simulator import Simulator

TWO_VERSIONS = pytest.mark.parametrize("os_version", ["6.2", "6.3"], ids=["2012", "2012-R2"])


def create_vm(sim: Simulator, name: str) -> None:
    """A diskless generation 1 VM: the one kind both 2012 and 2012 R2 create the same way."""
    ok(sim, HEADER + f"New-VM -Name '{name}' -MemoryStartupBytes 1GB -NoVHD -Confirm:$false | Out-Null")


def test_psversiontable_says_3_0_on_2012_and_4_0_on_2012_r2() -> None:
    assert lines(ok(simulator(os_version="6.2"), "$PSVersionTable.PSVersion")) == ["3.0"]
    assert lines(ok(simulator(os_version="6.3"), "$PSVersionTable.PSVersion")) == ["4.0"]


@pytest.mark.parametrize(
    ("script", "refused_on"),
    [
        ("@(1, 2).Where({ $_ -gt 1 }) | Out-Null", {"6.2"}),
        ("@(1, 2).ForEach({ $_ }) | Out-Null", {"6.2"}),
        ("$b = [System.Text.StringBuilder]::new()", {"6.2", "6.3"}),
        ("class Room { }", {"6.2", "6.3"}),
    ],
    ids=["where", "foreach", "new", "class"],
)
def test_a_newer_language_feature_is_refused_before_anything_runs(script: str, refused_on: set[str]) -> None:
    for version in ("6.2", "6.3"):
        result = simulator(os_version=version).run(HEADER + "Write-Output 'started'\n" + script)
        refused = "needs Windows PowerShell" in result.stderr
        assert refused == (version in refused_on), (version, result.stderr)
        if refused:
            assert result.exit_code == 1 and lines(result) == []  # the script never started


@TWO_VERSIONS
def test_a_using_statement_is_refused(os_version: str) -> None:
    result = simulator(os_version=os_version).run("using namespace System.IO\nWrite-Output 'started'")
    assert "the using statement needs Windows PowerShell 5.0" in result.stderr and lines(result) == []


@pytest.mark.parametrize(
    ("script", "refused_on"),
    [
        ("Get-VM -PipelineVariable vm | Out-Null", {"6.2"}),
        ("Get-VM -InformationAction SilentlyContinue | Out-Null", {"6.2", "6.3"}),
        ("@(1, 2, 3) | Select-Object -SkipLast 1 | Out-Null", {"6.2", "6.3"}),
        ("Get-ChildItem -Path 'C:\\' -Depth 1 | Out-Null", {"6.2", "6.3"}),
        # the 3.0 and 4.0 pages' SYNTAX blocks (MicrosoftDocs/PowerShell-Docs reference/3.0, 4.0; audit N L5)
        ("Write-Output -InputObject @(1, 2) -NoEnumerate | Out-Null", {"6.2"}),
        ("Get-Module -FullyQualifiedName @{ ModuleName = 'Hyper-V'; ModuleVersion = '1.0' } | Out-Null", {"6.2"}),
        ("Get-Module -ListAvailable -PSEdition 'Desktop' | Out-Null", {"6.2", "6.3"}),
        ("Get-Command -Name 'Get-VM' -ShowCommandInfo | Out-Null", {"6.2", "6.3"}),
        ("Get-Command -Name 'Get-VM' -FullyQualifiedModule @{ ModuleName = 'Hyper-V'; ModuleVersion = '1.0' } "
         "| Out-Null", {"6.2", "6.3"}),
        ("Copy-Item -LiteralPath 'C:\\a' -Destination 'C:\\b' -ToSession $null | Out-Null", {"6.2", "6.3"}),
    ],
    ids=["pipelinevariable", "informationaction", "skiplast", "depth", "noenumerate", "fullyqualifiedname",
         "psedition", "showcommandinfo", "fullyqualifiedmodule", "tosession"],
)
def test_a_newer_parameter_is_not_found(script: str, refused_on: set[str]) -> None:
    for version in ("6.2", "6.3"):
        result = simulator(os_version=version).run(HEADER + script)
        assert ("NamedParameterNotFound" in result.stderr) == (version in refused_on), (version, result.stderr)


@TWO_VERSIONS
def test_get_command_reports_confirm_and_whatif_for_shouldprocess_cmdlets(os_version: str) -> None:
    sim = simulator(os_version=os_version)
    for cmdlet in ("Restore-VMSnapshot", "Remove-VMSnapshot", "Checkpoint-VM", "Export-VM", "Set-VMMemory"):
        keys = lines(ok(sim, f"(Get-Command -Name '{cmdlet}').Parameters.Keys"))
        assert {"Confirm", "WhatIf"} <= set(keys), (cmdlet, keys)
        assert ("PipelineVariable" in keys) == (os_version != "6.2"), (cmdlet, keys)


@TWO_VERSIONS
def test_a_restore_without_confirm_false_is_the_noninteractive_error_and_changes_nothing(os_version: str) -> None:
    sim = simulator(os_version=os_version)
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'clean'\n"
                     "Set-VMProcessor -VMName 'lab-01' -Count 6 -Confirm:$false")
    result = fails(sim, HEADER + "Restore-VMSnapshot -VMName 'lab-01' -Name 'clean'")
    assert "Windows PowerShell is in NonInteractive mode" in result.stderr
    assert lines(ok(sim, "(Get-VM -Name 'lab-01').ProcessorCount")) == ["6"]
    ok(sim, HEADER + "Restore-VMSnapshot -VMName 'lab-01' -Name 'clean' -Confirm:$false")
    assert lines(ok(sim, "(Get-VM -Name 'lab-01').ProcessorCount")) == ["1"]  # as checkpointed


@TWO_VERSIONS
def test_confirm_preference_and_explicit_confirm_decide_who_prompts(os_version: str) -> None:
    sim = simulator(os_version=os_version)
    create_vm(sim, "lab-01")
    # Start-VM's page runs it without a prompt; -Confirm asks whatever the impact.
    assert "NonInteractive mode" in fails(sim, HEADER + "Start-VM -Name 'lab-01' -Confirm").stderr
    ok(sim, HEADER + "Start-VM -Name 'lab-01'\nStop-VM -Name 'lab-01' -TurnOff -Force")
    # A cmdlet whose impact no page gives is taken as High: it asks, unless told not to.
    assert "NonInteractive mode" in fails(sim, HEADER + "Set-VMProcessor -VMName 'lab-01' -Count 4").stderr
    ok(sim, HEADER + "$ConfirmPreference = 'None'\nSet-VMProcessor -VMName 'lab-01' -Count 4")
    # Remove-VM's page: -Force suppresses the prompt.
    assert "NonInteractive mode" in fails(sim, HEADER + "Remove-VM -Name 'lab-01'").stderr
    ok(sim, HEADER + "Remove-VM -Name 'lab-01' -Force")
    assert lines(ok(sim, "@(Get-VM).Count")) == ["0"]


# ---- which scope a script block runs in --------------------------------------------------------------------
# PowerShell's engine invokes ForEach-Object's and Where-Object's blocks with useLocalScope false (the
# caller's scope); calculated properties get a child scope (PowerShell/PowerShell#7157).


@TWO_VERSIONS
def test_what_a_foreach_object_block_assigns_stays_in_the_callers_scope(os_version: str) -> None:
    script = (
        "$i = 0\n'a', 'b' | ForEach-Object -Process { $i = $i + 1; $i }\n"
        "$found = $false\n@(1, 2, 3) | Where-Object -FilterScript { if ($_ -eq 2) { $found = $true }; $true } | Out-Null\n"
        "Write-Output \"after: $i $found\""
    )
    assert lines(ok(simulator(os_version=os_version), script)) == ["1", "2", "after: 2 True"]


@TWO_VERSIONS
def test_a_calculated_property_still_runs_in_a_child_scope(os_version: str) -> None:
    script = (
        "$i = 0\n'a', 'b' | Select-Object -Property @{ Name = 'n'; Expression = { $i = $i + 1; $i } }"
        " | ForEach-Object -Process { $_.n }\n$i"
    )
    assert lines(ok(simulator(os_version=os_version), script)) == ["1", "1", "0"]


def test_a_vm_variable_clobbered_inside_foreach_object_is_clobbered_here_too() -> None:
    """The dangerous direction: a template that reused a name inside ForEach-Object would act on another
    object on a real host; the simulator must show the same, not keep the outer value."""
    sim = simulator(os_version="6.3")
    for name in ("lab-01", "lab-02"):
        create_vm(sim, name)
    script = (
        "$vm = Get-VM -Name 'lab-01'\n"
        "Get-VM | Where-Object -FilterScript { $_.Name -eq 'lab-02' } | ForEach-Object -Process { $vm = $_ }\n"
        "$vm.Name"
    )
    assert lines(ok(sim, script)) == ["lab-02"]


@TWO_VERSIONS
def test_the_automatic_variables_of_a_block_are_put_back_afterwards(os_version: str) -> None:
    """$_ of an outer ForEach-Object survives an inner one; $args and a block's param() are restored;
    Begin and End see the caller's $_ (they get none of their own)."""
    script = (
        "function Show { param($Name) @(7) | ForEach-Object -Process { $Name = 'inner' }; \"$Name $args\" }\n"
        "Show -Name 'outer' 'x'\n"
        "'o' | ForEach-Object -Process { @(1) | ForEach-Object -Process { $null = $_ }; \"outer item $_\" }\n"
        "'p' | ForEach-Object -Process { @(2) | ForEach-Object -Begin { \"begin sees $_\" } -Process { } -End { \"end sees $_\" } }\n"
        "$_ -eq $null"
    )
    assert lines(ok(simulator(os_version=os_version), script)) == [
        "inner x",
        "outer item o",
        "begin sees p",
        "end sees p",
        "True",
    ]


def _gated() -> list[tuple[str, str, str]]:
    """Every (cmdlet, parameter, version) that extra-cmdlets.json gates with powershell_since."""
    import json

    from orchestrator.resources import data_file

    data = json.loads(data_file("extra-cmdlets.json").read_text(encoding="utf-8"))
    return [(cmdlet, name, since["version"]) for cmdlet, entry in data.items() if isinstance(entry, dict)
            for name, since in (entry.get("powershell_since") or {}).items()]


@pytest.mark.parametrize(("cmdlet", "parameter", "since"), _gated(), ids=lambda v: str(v))
def test_every_gated_parameter_is_absent_before_its_version_and_present_on_2016(cmdlet: str, parameter: str,
                                                                                 since: str) -> None:
    # the audit N L5 diff of every extra-cmdlets.json entry against its 3.0 (and 4.0) page: each gate holds
    from orchestrator import signatures

    introduced = tuple(int(p) for p in since.split("."))
    assert signatures.has_parameter(cmdlet, parameter, "6.2") is (introduced <= (3, 0))
    assert signatures.has_parameter(cmdlet, parameter, "6.3") is (introduced <= (4, 0))
    assert signatures.has_parameter(cmdlet, parameter, "10.0")


@pytest.mark.parametrize(
    "script",
    [
        "Write-Output -InputObject @(1, 2) -NoEnumerate | Out-Null",
        "@(1, 2, 3) | Select-Object -SkipLast 1 | Out-Null",
    ],
    ids=["noenumerate", "skiplast"],
)
def test_a_gated_parameter_fails_binding_on_2012_with_powershells_words_and_binds_on_2016(script: str) -> None:
    name = script.split(" -")[-1].split()[0]
    refused = simulator(os_version="6.2").run(HEADER + script + "\nWrite-Output 'after'")
    assert refused.exit_code == 1 and "after" not in refused.stdout
    assert f"A parameter cannot be found that matches parameter name '{name}'." in refused.stderr
    assert lines(ok(simulator(os_version="10.0"), HEADER + script + "\nWrite-Output 'after'")) == ["after"]
