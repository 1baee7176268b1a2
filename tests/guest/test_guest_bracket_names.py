"""The admin's story: the inventory names a VM `room [a]` (brackets are legal in a VM's and a file's name).
Its disk is `room [a].vhdx`, which a -Path that reads wildcards (Get-VHD, Mount-VHD, Dismount-VHD, Export-VM
on their 2012 pages) would take for the pattern `room a.vhdx`. Setting up its guest, reading its facts,
and exporting it name that one file, and a VM's folder with brackets in its path is made as written."""

from __future__ import annotations

from pathlib import Path

from apply_support import PREMIUM, guest, guest_of, inventory, orchestrate, recap, seed, simulated

ROOM = "room [a]"


def test_a_vm_with_brackets_in_its_name_is_set_up_read_and_exported(tmp_path: Path) -> None:
    for version in ("6.2.9200", "6.3.9600"):
        folder = tmp_path / version
        folder.mkdir()
        state = folder / "state"
        # generation 1 VMs, so an MBR image (2012 R2's default image is GPT: guest.boots_from)
        host_seed = seed(os_version=version, folders=["D:\\exports"],
                         images={PREMIUM: {"edition_sku": 77, "partition_style": "MBR"}})
        vm = {"name": ROOM, "generation": 1, "guest": guest(computer_name="ROOM-A")}
        in_a_folder = {"name": "room [b]", "generation": 1, "path": "D:\\VMs\\[rooms]", "guest": guest(computer_name="ROOM-B")}
        inv = inventory(folder, [vm, in_a_folder], host_seed=host_seed)

        applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

        assert applied.exit_code == 0, applied.output
        sim = simulated(state)
        _run, os_state = guest_of(sim, ROOM)
        assert os_state["computer_name"] == "ROOM-A"  # the answer file went into room [a].vhdx
        (drive,) = sim.host.vm_by_name("room [b]")[0].disks  # its baseline's .avhdx, beside room [b].vhdx
        assert drive.path.startswith("D:\\VMs\\[rooms]\\room [b]_") and drive.path.endswith(".avhdx")
        assert recap(orchestrate("apply", inv, "--state-dir", state, "-o", "json"))["changed"] == 0
        exported = orchestrate("export", inv, "--to", "D:\\exports", "--vm", ROOM, "--allow-stop",
                               "--state-dir", state)
        files = [entry.path for entry in simulated(state).host.files.values()]
        if version.startswith("6.2"):  # its page: Export-VM -Path takes wildcards, so the escaped path is right
            assert exported.exit_code == 0, exported.output
            assert any(path.startswith(f"D:\\exports\\{ROOM}\\") and path.endswith(f"\\{ROOM}.vhdx") for path in files)
        else:  # 2012 R2's page says -Path takes none: the escaped folder could be another one (audit J L4)
            assert exported.exit_code == 1 and "rename the VM" in exported.output, exported.output
            assert not any(path.startswith("D:\\exports\\") for path in files)
