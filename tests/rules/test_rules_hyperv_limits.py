"""Hyper-V's per-VM maximums (orchestrator.hyperv_limits), as the admin meets them: validation refuses a value
a 2012 host refuses, before New-VM makes a VM that Set-VMProcessor or Set-VMMemory then fails on; the
simulated host refuses the same values (tests/simulator/test_truth_hyperv_limits.py). Audit H: `cpus: 72` on
a 96-processor host passed validation, the dry run and apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_rules_vms import GB, MB, problems, vm

from orchestrator.cli import main
from orchestrator.hyperv_limits import MAX_CHECKPOINTS
from orchestrator.model import CheckpointPolicy, DiskSpec, DynamicMemory

TB = 1024 * GB


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"cpus": 65}, "at most 64 virtual processors"),
        ({"memory": 16 * MB}, "outside the 32MB to 1TB"),
        ({"memory": 2 * TB}, "outside the 32MB to 1TB"),
        ({"memory": 4 * GB, "dynamic_memory": DynamicMemory(16 * MB, 8 * GB)}, "a minimum of at least 32MB"),
        ({"memory": 4 * GB, "dynamic_memory": DynamicMemory(1 * GB, 2 * TB)}, "a maximum of at most 1TB"),
        ({"checkpoints": CheckpointPolicy(keep=MAX_CHECKPOINTS - 1)}, "at most 50 checkpoints"),
        ({"disk": DiskSpec(kind="new", size=65 * TB, iso="D:\\mps.iso")}, "above the 64TB a VHDX holds"),
    ],
)
def test_a_value_beyond_hyper_v_s_maximum_is_refused(changes: dict[str, object], fragment: str) -> None:
    assert any(fragment in found for found in problems(vm(**changes))), problems(vm(**changes))


def test_the_maximums_themselves_are_accepted() -> None:
    at_the_limits = vm(cpus=64, memory=1 * TB, dynamic_memory=DynamicMemory(32 * MB, 1 * TB),
                       checkpoints=CheckpointPolicy(keep=MAX_CHECKPOINTS - 2))
    assert problems(at_the_limits) == []


def test_validate_names_the_line_of_a_processor_count_no_vm_can_have(tmp_path: Path) -> None:
    inventory = tmp_path / "school.yaml"
    host = {"ansible_connection": "simulator", "orchestrate_simulator": {"logical_processors": 96},
            "multipoint_vms": [{"name": "lab-01", "cpus": 72, "memory": "8GB",
                                "disk": {"parent": "D:\\images\\premium.vhdx"}}]}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"hv01": host}}}), encoding="utf-8")

    result = CliRunner().invoke(main, ["validate", str(inventory)])

    assert result.exit_code == 2
    assert f"{inventory}:" in result.output and "cpus is 72" in result.output and "give 64 or fewer" in result.output
