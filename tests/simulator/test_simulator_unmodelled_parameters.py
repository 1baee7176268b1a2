"""Parameters the file cmdlets bind but the simulator does not apply (-Include, -Exclude, -Filter where it is
ignored, -NewerThan, -OlderThan...) are refused as not modelled, as Get-Content without -Raw is: on a real host
they change what is listed, tested or deleted, so a dry run that ignored them would pass a script that then
does something else on the host (Remove-Item -Exclude would delete what the admin meant to keep)."""

from __future__ import annotations

import pytest

from orchestrator.simulator import Simulator

SETUP = """$ErrorActionPreference = 'Stop'
$null = New-Item -ItemType Directory -Path 'C:\\t' -Force
$null = New-Item -ItemType File -Path 'C:\\t\\keep.txt' -Value 'k'
$null = New-Item -ItemType File -Path 'C:\\t\\drop.tmp' -Value 'd'
"""


def host() -> Simulator:
    return Simulator(seed={"os_version": "6.2", "folders": ["C:\\VMs"]})


def test_remove_item_with_exclude_is_refused_and_keeps_every_file() -> None:
    sim = host()
    result = sim.run(SETUP + "Remove-Item -LiteralPath 'C:\\t' -Recurse -Force -Exclude 'keep.txt'")

    assert result.exit_code == 1
    assert "does not model Remove-Item -Exclude" in result.stderr
    assert "c:\\t\\keep.txt" in sim.host.files and "c:\\t\\drop.tmp" in sim.host.files


@pytest.mark.parametrize(
    ("command", "named"),
    [
        ("Get-ChildItem -LiteralPath 'C:\\t' -Include '*.z'", "Get-ChildItem -Include"),
        ("Get-ChildItem -LiteralPath 'C:\\t' -Recurse -Exclude '*.tmp'", "Get-ChildItem -Exclude"),
        ("Get-ChildItem -Path 'C:\\t' -Hidden", "Get-ChildItem -Hidden"),
        # the 3.0 page's LiteralItems set has -Attributes, -Hidden, -ReadOnly and -System too (audit N leftover)
        ("Get-ChildItem -LiteralPath 'C:\\t' -Hidden", "Get-ChildItem -Hidden"),
        ("Get-ChildItem -LiteralPath 'C:\\t' -ReadOnly", "Get-ChildItem -ReadOnly"),
        ("Get-ChildItem -LiteralPath 'C:\\t' -System", "Get-ChildItem -System"),
        ("Get-ChildItem -LiteralPath 'C:\\t' -Attributes 'Hidden'", "Get-ChildItem -Attributes"),
        ("Test-Path -LiteralPath 'C:\\t\\keep.txt' -Include '*.vhdx'", "Test-Path -Include"),
        ("Test-Path -LiteralPath 'C:\\t\\keep.txt' -NewerThan (Get-Date)", "Test-Path -NewerThan"),
        ("Test-Path -LiteralPath 'C:\\t\\keep.txt' -OlderThan (Get-Date)", "Test-Path -OlderThan"),
        ("Test-Path -LiteralPath 'C:\\t\\keep.txt' -Filter '*.z'", "Test-Path -Filter"),
        ("Copy-Item -LiteralPath 'C:\\t' -Destination 'C:\\VMs' -Recurse -Filter '*.txt'", "Copy-Item -Filter"),
        ("Copy-Item -LiteralPath 'C:\\t' -Destination 'C:\\VMs' -Recurse -Include '*.txt'", "Copy-Item -Include"),
        ("Remove-Item -LiteralPath 'C:\\t' -Recurse -Force -Filter '*.tmp'", "Remove-Item -Filter"),
        ("Set-Content -LiteralPath 'C:\\t\\keep.txt' -Value 'x' -Exclude '*.txt'", "Set-Content -Exclude"),
    ],
)
def test_a_parameter_the_simulator_would_ignore_is_refused(command: str, named: str) -> None:
    result = host().run(SETUP + command)

    assert result.exit_code == 1
    assert f"does not model {named}" in result.stderr


def test_get_child_item_filter_is_modelled_and_keeps_working() -> None:
    # lib/facts_body.ps1.j2 lists the move records with -Filter '*.json'
    result = host().run(SETUP + "(Get-ChildItem -LiteralPath 'C:\\t' -Filter '*.txt').Name")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["keep.txt"]
