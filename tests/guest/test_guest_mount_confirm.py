"""Audit A, finding 4: whether the guest's disk is mounted with `Mount-VHD -Confirm:$false` is the host's answer.

The 2012 Mount-VHD page's SYNTAX lists no -Confirm, the 2012 R2 page's does, and the 2012 SYNTAX blocks were
wrong about -Confirm for nine other Hyper-V cmdlets (hyperv-cmdlets.json): only the host's own Get-Command can
say. Given hosts whose Mount-VHD has or lacks -Confirm, among them hosts that differ from their version's page,
when the admin previews and applies a VM with a guest, then the facts record what the host's Mount-VHD takes,
the script passes -Confirm:$false exactly where it exists, and both the dry run and the apply set the guest up.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import ENV, events, inventory, orchestrate, read_facts, seed

from orchestrator.inventory import load_inventory

HOSTS = [
    pytest.param("6.2.9200", None, False, id="2012, as its page shows Mount-VHD"),
    pytest.param("6.3.9600", None, True, id="2012 R2, as its page shows Mount-VHD"),
    pytest.param("6.3.9600", "6.2", False, id="2012 R2 whose Mount-VHD has no -Confirm"),
    pytest.param("6.2.9200", "6.3", True, id="2012 whose Mount-VHD has -Confirm after all"),
]


def mount_lines(result_output: list[dict]) -> list[str]:
    scripts = [e["script"] for e in result_output if e["event"] == "script"]
    return [line.strip() for script in scripts for line in script.splitlines() if "Mount-VHD -Path" in line]


@pytest.mark.parametrize(("os_version", "mount_vhd_as_on", "confirms"), HOSTS)
def test_the_guest_disk_is_mounted_with_confirm_exactly_where_the_hosts_mount_vhd_has_it(
    tmp_path: Path, os_version: str, mount_vhd_as_on: str | None, confirms: bool
) -> None:
    host_seed = seed(os_version=os_version)
    if mount_vhd_as_on:
        host_seed["cmdlets_as_on"] = {"Mount-VHD": mount_vhd_as_on}
    generation = 1 if os_version.startswith("6.2") else 2  # 2012 makes generation 1 VMs only
    inv = inventory(tmp_path, [{"name": "lab-01", "generation": generation}], host_seed=host_seed)
    state = tmp_path / "state"

    facts = read_facts(state, load_inventory(inv, environ=ENV).hosts["hv01"])
    assert ("Confirm" in facts.cmdlets["Mount-VHD"]) is confirms
    assert "Path" in facts.cmdlets["Dismount-VHD"]  # asked too: the script dismounts in its finally

    preview = orchestrate("apply", inv, "--state-dir", state, "--dry-run", "--show-scripts", "-o", "json")
    assert preview.exit_code == 0, preview.output
    (mount,) = mount_lines(events(preview))
    assert mount.endswith("-Passthru -Confirm:$false") if confirms else mount.endswith("-Passthru"), mount

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert applied.exit_code == 0, applied.output
    assert [e["vm"] for e in events(applied) if e["event"] == "guest_ready"] == ["lab-01"]


def test_a_host_whose_mount_vhd_differs_from_its_page_binds_and_confirms_as_that_host_would() -> None:
    """The simulator's `cmdlets_as_on`: never more lenient than the host it describes."""
    from sim_support import HEADER, simulator

    no_confirm = simulator(os_version="6.3", cmdlets_as_on={"Mount-VHD": "6.2"})
    refused = no_confirm.run(HEADER + "Mount-VHD -Path 'D:\\images\\mps-premium.vhdx' -Confirm:$false")
    assert refused.exit_code == 1 and "parameter name 'Confirm'" in refused.stderr
    listed = no_confirm.run("(Get-Command -Name Mount-VHD).Parameters.ContainsKey('Confirm')")
    assert listed.stdout.strip() == "False"
    assert "PipelineVariable" in no_confirm.run("(Get-Command -Name Mount-VHD).Parameters.Keys").stdout  # 4.0's

    with_confirm = simulator(os_version="6.2", cmdlets_as_on={"Mount-VHD": "6.3"})
    asked = with_confirm.run(HEADER + "Mount-VHD -Path 'D:\\images\\mps-premium.vhdx'")
    assert asked.exit_code == 1 and "NonInteractive mode" in asked.stderr  # an unknown ConfirmImpact is High
    assert "PipelineVariable" not in with_confirm.run("(Get-Command -Name Mount-VHD).Parameters.Keys").stdout


def test_a_mistyped_cmdlet_in_cmdlets_as_on_is_refused_with_the_name_it_resembles(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}], host_seed=seed(cmdlets_as_on={"Mount-VDH": "6.2"}))

    (error,) = load_inventory(inv, environ=ENV).errors

    assert "'Mount-VDH' is not a cmdlet the simulator knows" in error.message and "Mount-VHD" in error.fix
