"""A script that changes a VM by assigning to the object Get-VM returned works nowhere on Windows (the
Hyper-V module's objects change through Set-VM and its siblings; CIM instances' properties are read-only,
as Microsoft's "Selecting parts of objects" page shows): the simulator refuses it too, as Windows words it,
and the host stays as it was. Objects a script builds itself ([pscustomobject], Select-Object's copies)
keep their settable note properties."""

from __future__ import annotations

import pytest
from simulator_support import HEADER, fails, lines, ok, simulator

from orchestrator.simulator import Simulator


def a_host_with_one_vm() -> Simulator:
    sim = simulator()
    ok(sim, HEADER + "New-VM -Name 'lab-01' -MemoryStartupBytes 1GB -NoVHD -Confirm:$false | Out-Null")
    return sim


@pytest.mark.parametrize(
    "assignment",
    [
        "$vm.Notes = 'changed'",
        "$vm.notes = 'changed'",
        "$vm.Notes += ' and more'",
        "Get-VM | ForEach-Object -Process { $_.Notes = 'changed' }",
    ],
    ids=["plain", "other-case", "compound", "in-a-pipeline"],
)
def test_assigning_to_a_vm_objects_property_fails_and_the_vm_keeps_its_notes(assignment: str) -> None:
    sim = a_host_with_one_vm()
    result = fails(sim, HEADER + "$vm = Get-VM -Name 'lab-01'\n" + assignment)
    assert 'is a ReadOnly property.' in result.stderr
    assert lines(ok(sim, HEADER + "(Get-VM -Name 'lab-01').Notes")) == []


def test_the_error_is_catchable_with_windows_words_and_set_vm_is_the_way() -> None:
    sim = a_host_with_one_vm()
    result = ok(sim, HEADER + "$vm = Get-VM -Name 'lab-01'\n"
                "try { $vm.Notes = 'x' } catch { Write-Output $_.Exception.Message; "
                "Write-Output $_.FullyQualifiedErrorId }\n"
                "Set-VM -VM $vm -Notes 'through Set-VM' -Confirm:$false\n"
                "(Get-VM -Name 'lab-01').Notes")
    assert lines(result) == ['"Notes" is a ReadOnly property.', "ReadOnlyProperty", "through Set-VM"]


def test_a_cim_instances_property_is_read_only_as_microsofts_page_shows() -> None:
    result = ok(simulator(), HEADER + "$os = Get-CimInstance -ClassName Win32_ComputerSystem\n"
                "try { $os.Name = 'x' } catch { Write-Output $_.Exception.Message; "
                "Write-Output $_.FullyQualifiedErrorId }")
    assert lines(result) == ['"Name" is a ReadOnly property.', "ReadOnlyCIMProperty"]


def test_a_missing_property_is_still_not_found_rather_than_read_only() -> None:
    sim = a_host_with_one_vm()
    result = fails(sim, HEADER + "$vm = Get-VM -Name 'lab-01'\n$vm.NoSuchThing = 1")
    assert "cannot be found on this object" in result.stderr


@pytest.mark.parametrize(
    "make",
    [
        "[pscustomobject]@{ Name = 'a' }",
        "New-Object -TypeName PSObject -Property @{ Name = 'a' }",
        "'{\"Name\": \"a\"}' | ConvertFrom-Json",
        "Get-VM -Name 'lab-01' | Select-Object -Property Name",
    ],
    ids=["pscustomobject", "new-object", "from-json", "select-object"],
)
def test_objects_a_script_builds_itself_keep_settable_properties(make: str) -> None:
    sim = a_host_with_one_vm()
    result = ok(sim, HEADER + f"$o = {make}\n$o.Name = 'b'\n$o.Name")
    assert lines(result) == ["b"]
