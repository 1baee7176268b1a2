"""The admin's story: the school's MultiPoint image was sysprepped on a generation 1 VM, so its disk is MBR,
and the inventory leaves `generation` at 2012 R2's default, 2. A generation 2 VM has UEFI firmware and boots
only GPT (Should-I-create-a-generation-1-or-2-virtual-machine-in-Hyper-V.md), so it would sit at "no
operating system" for the whole 45-minute wait. The guest step refuses it before it writes anything; with
`generation: 1` the same image becomes a ready server."""

from __future__ import annotations

from pathlib import Path

from apply_support import (
    PREMIUM,
    failed_apply,
    guest_of,
    has_answer_file,
    inventory,
    orchestrate,
    seed,
    simulated,
)

MBR_IMAGE = {PREMIUM: {"edition_sku": 77, "partition_style": "MBR"}}


def test_a_generation_2_vm_on_an_mbr_image_is_refused_before_its_disk_is_written(tmp_path: Path) -> None:
    host_seed = seed(images=MBR_IMAGE)
    inv = inventory(tmp_path, [{"name": "lab-01"}], host_seed=host_seed)
    state = tmp_path / "state"

    _applied, error = failed_apply(inv, state)

    assert "the disk of VM lab-01 is partitioned MBR, which a generation 2 VM cannot boot" in error
    assert "give the VM the generation its image was made for" in error
    assert "not ready after" not in error  # refused at once, not after the wait
    sim = simulated(state, host_seed)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.state == "Off" and vm.snapshots == {}
    assert not has_answer_file(sim, "lab-01")
    assert not any(entry.mounted for entry in sim.host.files.values())  # dismounted whatever happened


def test_the_same_image_in_a_generation_1_vm_becomes_a_ready_server(tmp_path: Path) -> None:
    host_seed = seed(images=MBR_IMAGE)
    inv = inventory(tmp_path, [{"name": "lab-01", "generation": 1}], host_seed=host_seed)
    state = tmp_path / "state"

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 0, applied.output
    run, os_state = guest_of(simulated(state, host_seed), "lab-01")
    assert run is not None and run["phase"] == "ready"
    assert os_state["computer_name"] == "LAB-01"


def test_a_vm_whose_firmware_cannot_boot_its_disk_shows_no_operating_system() -> None:
    """The simulator's firmware rule, without the product's check: a generation 1 VM on a GPT image."""
    from orchestrator.simulator import Simulator

    sim = Simulator(seed=seed(images={PREMIUM: {"edition_sku": 77, "partition_style": "GPT"}}, folders=["D:\\vms"]))
    script = (f"New-VHD -Path 'D:\\vms\\lab-01.vhdx' -ParentPath '{PREMIUM}' -Differencing -Confirm:$false | Out-Null\n"
              "New-VM -Name 'lab-01' -Generation 1 -VHDPath 'D:\\vms\\lab-01.vhdx' -MemoryStartupBytes 4GB -Confirm:$false | Out-Null\n"
              "Start-VM -Name 'lab-01'")
    result = sim.run(script)
    assert result.exit_code == 0, result.stderr
    assert sim.host.vm_by_name("lab-01")[0].guest_run == {"phase": "no_os"}


def test_the_dry_run_of_a_generation_1_vm_does_not_guess_its_images_partitions(tmp_path: Path) -> None:
    """The dry run preflights on a copy made from the facts, which never open an image: it must not refuse a
    generation 1 VM for a partition style it cannot know (2012 R2's default is GPT), nor pass a refusal on."""
    host_seed = seed(images=MBR_IMAGE)
    inv = inventory(tmp_path, [{"name": "lab-01", "generation": 1}], host_seed=host_seed)

    previewed = orchestrate("apply", inv, "--dry-run", "--state-dir", tmp_path / "state", "-o", "json")

    assert previewed.exit_code == 0, previewed.output
    assert simulated(tmp_path / "state", host_seed).host.vm_by_name("lab-01") == []


def test_a_simulated_image_with_an_unknown_partition_style_is_invalid_input(tmp_path: Path) -> None:
    host_seed = seed(images={PREMIUM: {"edition_sku": 77, "partition_style": "UEFI"}})
    inv = inventory(tmp_path, [{"name": "lab-01"}], host_seed=host_seed)

    checked = orchestrate("validate", inv)

    assert checked.exit_code == 2
    assert "partition_style must be GPT (a generation 2 VM's image) or MBR (generation 1), not 'UEFI'" in checked.output
    assert "inventory.yaml:" in checked.output
