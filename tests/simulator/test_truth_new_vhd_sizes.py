"""Audit L, M3: the simulated host's New-VHD refuses a size that is not a whole multiple of 1 MB, or below
3 MB, as validation does (orchestrator.hyperv_limits cites PowerShell/PowerShell#25761, where a real New-VHD
refused `-SizeBytes 2000000000`): before, it made any positive size, more lenient than that issue's host."""

from __future__ import annotations

from simulator_support import HEADER, fails, ok, simulator

from orchestrator.simulator.host.model import norm_path

MB = 1024**2
FOLDER = "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks"


def test_the_simulated_host_s_new_vhd_refuses_the_same_sizes() -> None:
    sim = simulator()
    for size in ("2000000000", "1MB", "0"):
        refused = fails(sim, HEADER + f"New-VHD -Path '{FOLDER}\\odd.vhdx' -SizeBytes {size} -Dynamic -Confirm:$false")
        assert "Failed to create the virtual hard disk." in refused.stderr
    assert not sim.host.files.get(norm_path(FOLDER + "\\odd.vhdx"))
    ok(sim, HEADER + f"New-VHD -Path '{FOLDER}\\odd.vhdx' -SizeBytes 3MB -Dynamic -Confirm:$false | Out-Null")
    assert sim.host.files[norm_path(FOLDER + "\\odd.vhdx")].vhd["size"] == 3 * MB
