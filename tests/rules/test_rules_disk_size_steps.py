"""Audit L, M3: a new disk's size is one New-VHD takes. PowerShell/PowerShell#25761 shows a real New-VHD
refusing `-SizeBytes 2000000000` (not aligned), and no 2012 page states a granularity or a minimum; the admin
who writes `size: 1953125KB` (2,000,000,000 bytes) or `size: 1MB` learns it from `orchestrate validate`, at
the line of that disk, before any host is contacted (orchestrator.hyperv_limits cites the sources; the
simulated host's New-VHD refuses the same sizes: tests/simulator/test_truth_new_vhd_sizes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_rules_vms import GB, MB, host, problems, vm

from orchestrator.cli import main
from orchestrator.model import DiskSpec
from orchestrator.rules import check_host

ISO = "D:\\iso\\mps2012.iso"


def _findings(size: int) -> list[tuple[str, str]]:
    spec = vm(disk=DiskSpec(kind="new", size=size, iso=ISO))
    return [(f.message, f.fix or "") for f in check_host(host(spec)) if f.severity == "error"]


@pytest.mark.parametrize(
    ("size", "message", "fix"),
    [
        pytest.param(2_000_000_000, "1953125KB is not a whole multiple of 1 MB", "write 1908MB", id="the issue's"),
        pytest.param(60 * GB + 512, "is not a whole multiple of 1 MB", "write 61441MB", id="60GB and a sector"),
        pytest.param(1536, "1536 is not a whole multiple of 1 MB", "write 3MB", id="a few bytes"),
        pytest.param(2 * MB, "2MB is below 3MB", "like 60GB", id="below the floor"),
    ],
)
def test_a_disk_size_new_vhd_refuses_is_refused_before_any_change(size: int, message: str, fix: str) -> None:
    found = _findings(size)
    assert any(message in m and fix in f for m, f in found), found


@pytest.mark.parametrize("size", [3 * MB, 1000 * MB, 60 * GB, 2 * 1024 * GB])
def test_every_size_written_in_mb_or_gb_passes(size: int) -> None:
    assert problems(vm(disk=DiskSpec(kind="new", size=size, iso=ISO))) == []


def test_validate_names_the_line_of_the_disk_whose_size_new_vhd_would_refuse(tmp_path: Path) -> None:
    inventory = tmp_path / "school.yaml"
    host = {"ansible_connection": "simulator",
            "multipoint_vms": [{"name": "lab-01", "cpus": 2, "memory": "4GB",
                                "disk": {"size": "1953125KB", "iso": ISO}}]}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"hv01": host}}}, sort_keys=False), encoding="utf-8")
    size_line = next(i for i, line in enumerate(inventory.read_text().splitlines(), 1) if "size: 1953125KB" in line)

    result = CliRunner().invoke(main, ["validate", str(inventory)])

    assert result.exit_code == 2, result.output
    assert f"{inventory}:{size_line}:" in result.output, result.output
    assert "the disk size 1953125KB is not a whole multiple of 1 MB" in result.output

