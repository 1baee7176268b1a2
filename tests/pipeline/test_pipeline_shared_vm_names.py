"""Two VMs of one name on a host: orchestrate touches neither, whatever the operation.

Hyper-V keeps VMs apart by Id, not by name: an admin who clones lab-01 by hand (Export-VM, then Import-VM
-Copy -GenerateNewId) has two VMs named lab-01. The scripts find a VM by name and act on the first Get-VM
lists; the facts used to keep the last one. So a plan made from one lab-01 could remove, restore or
checkpoint the other. Now the host rules refuse such a VM by name, with both ids and how to mend it, and the
other VMs go on. Names also match without regard to case, as the scripts' `-eq` does.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_support import orchestrate, simulated_host, vm, write_inventory

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file
from orchestrator.transport.stdin import channel

CLONE_BY_HAND = """$ErrorActionPreference = 'Stop'
Export-VM -Name 'lab-01' -Path 'C:\\clone' -Confirm:$false
$config = @(Get-ChildItem -LiteralPath 'C:\\clone\\lab-01\\Virtual Machines' -Filter '*.xml')[0].FullName
New-Item -ItemType Directory -Path 'C:\\clone\\vm' -Force | Out-Null
Import-VM -Path $config -Copy -GenerateNewId -VirtualMachinePath 'C:\\clone\\vm' -VhdDestinationPath 'C:\\clone\\vm' -Confirm:$false | Out-Null
"""


def vm_ids(state: Path) -> dict[str, list[str]]:
    """The host's VMs as the admin sees them: name -> the ids of every VM of that name."""
    result = Simulator(state_path=state_file(state, "hv01")).run(
        *channel("Get-VM | ForEach-Object { $_.Name + '|' + $_.Id + '|' + $_.State }"))
    assert result.exit_code == 0, result.stderr
    ids: dict[str, list[str]] = {}
    for line in result.stdout.split():
        name, vm_id, _state = line.split("|")
        ids.setdefault(name, []).append(vm_id)
    return ids


def a_host_where_lab01_was_cloned_by_hand(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01"), vm("lab-02")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    Simulator(state_path=state_file(state, "hv01")).run(*channel("Stop-VM -Name 'lab-01' -Force"))
    clone = Simulator(state_path=state_file(state, "hv01")).run(*channel(CLONE_BY_HAND))
    assert clone.exit_code == 0, clone.stderr
    before = vm_ids(state)
    assert len(before["lab-01"]) == 2
    return state, before


def test_removing_a_vm_whose_name_two_vms_hold_removes_neither_and_says_which(tmp_path: Path) -> None:
    state, before = a_host_where_lab01_was_cloned_by_hand(tmp_path)
    inventory = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", state="absent"), vm("lab-02")]}}
    )

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code != 0
    assert "2 VMs on the host are named 'lab-01'" in result.output
    for vm_id in before["lab-01"]:
        assert vm_id in result.output
    assert "Rename-VM -VM (Get-VM -Id" in result.output
    assert vm_ids(state) == before  # both lab-01s, and lab-02, as they were


def test_a_checkpoint_of_the_shared_name_is_refused_and_the_other_vm_gets_its_own(tmp_path: Path) -> None:
    state, before = a_host_where_lab01_was_cloned_by_hand(tmp_path)
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01"), vm("lab-02")]}})

    result = orchestrate("checkpoint", inventory, "--name", "before-exam", "--state-dir", state)

    assert result.exit_code != 0 and "are named 'lab-01'" in result.output
    names = Simulator(state_path=state_file(state, "hv01")).run(
        *channel("Get-VMSnapshot -VMName 'lab-01','lab-02' | ForEach-Object { $_.VMName + '|' + $_.Name }"))
    taken = sorted(line for line in names.stdout.split() if line.endswith("|before-exam"))
    assert taken == ["lab-02|before-exam"]
    assert vm_ids(state) == before


def test_a_name_differing_only_in_case_is_the_same_vm_not_a_new_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    before = vm_ids(state)
    recased = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("LAB-01")]}})

    result = orchestrate("plan", recased, "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert "create" not in result.output.lower()
    assert "not in the inventory" not in result.output
    assert vm_ids(state) == before


def test_a_name_a_real_host_may_take_for_another_vm_touches_neither(tmp_path: Path) -> None:
    """The library VM was made as 'Straße'; a new inventory spells it 'Strasse' and says absent. A real
    host's -eq is linguistic and may take one for the other (orchestrator/vm_index.py), so removing
    'Strasse' there could remove 'Straße'. Refused, with the VM's id; the other VM goes on."""
    state = tmp_path / "state"
    made = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("Straße"), vm("lab-02")]}})
    assert orchestrate("apply", made, "--state-dir", state).exit_code == 0
    before = vm_ids(state)
    respelled = write_inventory(
        tmp_path,
        {"hv01": {**simulated_host(), "multipoint_vms": [vm("Strasse", state="absent"), vm("lab-02", cpus=4)]}},
    )

    result = orchestrate("apply", respelled, "--state-dir", state)

    assert result.exit_code != 0
    assert "a real host's name comparison may take for 'Strasse'" in result.output
    assert before["Straße"][0] in result.output and "Rename-VM -VM (Get-VM -Id" in result.output
    assert vm_ids(state) == before  # Straße is still there, and nothing was made or removed
    cpus = Simulator(state_path=state_file(state, "hv01")).run(*channel("(Get-VM -Name 'lab-02').ProcessorCount"))
    assert cpus.stdout.split() == ["4"]  # the VM the inventory names plainly was converged


def test_two_inventory_vms_a_real_host_may_take_for_one_are_refused_before_anything(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("Caf\u00e9"), vm("Cafe\u0301-")]}}
    )
    assert orchestrate("validate", inventory).exit_code == 0  # different after accents: fine
    inventory = write_inventory(
        tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("Caf\u00e9"), vm("CAFE\u0301")]}}
    )

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 2
    assert "have names a real host's name comparison may take for one" in result.output
    assert not state.exists()  # nothing contacted
