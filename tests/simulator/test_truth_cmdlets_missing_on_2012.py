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
