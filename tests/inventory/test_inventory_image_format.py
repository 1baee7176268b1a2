"""Audit A, finding 2: a `parent` or `copy_from` image that is not a .vhdx is refused before any host is touched.

The VM's disk is always `<VM>.vhdx` (templates/actions/create_vm.ps1.j2), and Hyper-V takes a disk's format from
its file extension (the 2012 New-VHD page), so a `.vhd` image would end up as a VHDX child of a VHD parent, or as
a VHD file under a .vhdx name; a generation 2 VM boots only from a VHDX. Given an admin whose base image is still
a `.vhd`, when they validate or apply, then the finding points at the image's line, says to convert it with
Convert-VHD and what to write instead, and nothing is made on the host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.inventory import load_inventory
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file

OLD_IMAGE = "D:\\images\\mps2012-premium.vhd"
CONVERTED = "D:\\images\\mps2012-premium.vhdx"
SEED = {
    "os_version": "6.3", "logical_processors": 16, "memory": "64GB", "switches": ["Classroom LAN"],
    "images": {OLD_IMAGE: {"edition_sku": 77}, CONVERTED: {"edition_sku": 77}},
}


def inventory(folder: Path, disk: dict[str, Any], generation: int = 2) -> Path:
    vm = {"name": "lab-01", "generation": generation, "cpus": 2, "memory": "4GB", "switch": "Classroom LAN",
          "disk": disk}
    document = {"all": {"hosts": {"hv01": {
        "ansible_connection": "simulator", "orchestrate_simulator": SEED, "multipoint_vms": [vm],
    }}}}
    path = folder / "inventory.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def orchestrate(*args: Any, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner(env=env).invoke(main, [str(a) for a in args])
    return result.exit_code, " ".join(result.output.split())


def vms_on(state: Path) -> list[str]:
    sim = Simulator(state_path=state_file(state, "hv01"), host_name="hv01")
    return [vm.name for vm in sim.host.vms.values()]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


@pytest.mark.parametrize("kind", ["parent", "copy_from"])
@pytest.mark.parametrize("generation", [1, 2])
def test_a_vhd_base_image_is_refused_at_its_line_with_the_convert_command_and_the_vhdx_then_builds(
    tmp_path: Path, kind: str, generation: int
) -> None:
    state = tmp_path / "state"
    path = inventory(tmp_path, {kind: OLD_IMAGE}, generation)

    code, output = orchestrate("apply", path, "--state-dir", state)

    assert code == 2
    assert f"{path}:{line_of(path, f'{kind}: ')}:" in output
    assert f"disk {kind} 'D:\\\\images\\\\mps2012-premium.vhd' is not a .vhdx image" in output
    assert (f"Convert-VHD -Path '{OLD_IMAGE}' -DestinationPath '{CONVERTED}', then write {kind}: {CONVERTED}"
            in output)
    assert not state.exists()  # no host was contacted, nothing was made

    # The admin converts the image on the host and writes the .vhdx: the same VM is built from it.
    code, output = orchestrate("apply", inventory(tmp_path, {kind: CONVERTED}, generation), "--state-dir", state)
    assert code == 0, output
    assert vms_on(state) == ["lab-01"]


def test_the_extension_is_compared_without_case_and_any_other_image_is_refused_too(tmp_path: Path) -> None:
    upper = load_inventory(inventory(tmp_path, {"parent": "D:\\IMAGES\\MPS2012-PREMIUM.VHDX"}))
    assert not upper.errors, [f.format() for f in upper.errors]

    for image, fix in [
        ("D:\\images\\MPS2012-PREMIUM.VHD", "Convert-VHD -Path 'D:\\images\\MPS2012-PREMIUM.VHD' -DestinationPath "
                                           "'D:\\images\\MPS2012-PREMIUM.vhdx'"),
        ("D:\\media\\mps2012.iso", "an install ISO goes in disk: {size: 60GB, iso: <the ISO>}"),
        ("D:\\images\\lab-01_1234.avhdx", "give a .vhdx image as parent"),
    ]:
        (error,) = load_inventory(inventory(tmp_path, {"parent": image})).errors
        assert error.path[-2:] == ("disk", "parent") and fix in error.fix, error.format()


def test_an_image_named_by_an_environment_variable_is_refused_without_printing_it(tmp_path: Path) -> None:
    secret_path = "\\\\files.school.local\\images$\\mps2012-premium.vhd"
    path = inventory(tmp_path, {"copy_from": "{{ lookup('env', 'BASE_IMAGE') }}"})

    (error,) = load_inventory(path, environ={"BASE_IMAGE": secret_path}).errors

    assert "the value of environment variable BASE_IMAGE is not a .vhdx image" in error.message
    assert "Convert-VHD" in error.fix
    assert "files.school.local" not in error.format()
