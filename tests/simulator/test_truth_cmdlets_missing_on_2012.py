"""A cmdlet Windows Server 2012 does not have is not recognized there, as on the real host.

Set-VMFirmware came with 2012 R2 (generation 2 VMs): the 2012 docset has no page for it. The data said so
in a sentence, which was read as a list of its letters, so the simulated 2012 host bound the call."""

from __future__ import annotations

from orchestrator import signatures
from orchestrator.simulator import Simulator


def test_set_vmfirmware_is_not_recognized_on_2012_and_binds_on_2012_r2() -> None:
    script = "Set-VMFirmware -VMName 'lab-01' -EnableSecureBoot Off"
    on_2012 = Simulator(None, {"os_version": "6.2", "os_sku": 8}).run(script)
    assert on_2012.exit_code != 0
    assert "'Set-VMFirmware' is not recognized" in on_2012.stderr
    assert not signatures.available("Set-VMFirmware", "6.2")
    assert signatures.available("Set-VMFirmware", "6.3")
    assert "EnableSecureBoot" in signatures.parameters("Set-VMFirmware", "6.3")


def test_get_command_on_2012_does_not_list_it() -> None:
    result = Simulator(None, {"os_version": "6.2", "os_sku": 8}).run(
        "Get-Command -Name 'Set-VMFirmware' -ErrorAction Stop"
    )
    assert result.exit_code != 0 and "is not recognized" in result.stderr


def test_get_command_with_several_names_skips_a_missing_one_and_returns_the_others() -> None:
    """PowerShell's GetCommandCommand.cs writes a non-terminating error for a literal name without a match and
    goes on; the matches are written at the end, so -ErrorAction Stop lets none of them out."""
    from simulator_support import HEADER, lines, ok, simulator

    sim = simulator(os_version="6.2")  # Set-VMFirmware is 2012 R2's
    names = "'Get-VM', 'No-Such-Command', 'Set-VMFirmware', 'Start-VM'"
    quiet = ok(sim, HEADER + f"@(Get-Command -Name {names} -ErrorAction SilentlyContinue) | ForEach-Object {{ $_.Name }}")
    assert lines(quiet) == ["Get-VM", "Start-VM"]
    stopped = ok(sim, HEADER + f"try {{ Get-Command -Name {names} }} catch {{ 'stopped: ' + $_.FullyQualifiedErrorId }}")
    assert lines(stopped) == ["stopped: CommandNotFoundException,Get-Command"]
