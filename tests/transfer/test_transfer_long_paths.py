"""The admin's story: a classroom VM with a long, descriptive name is exported to the school's share. Export-VM
nests the name three times (<share>\\<vm>\\<stamp>\\<vm>\\Virtual Hard Disks\\<vm>.vhdx), and Windows' paths
stop at 260 characters (MAX_PATH). The simulator used to write any length, so the export passed here and
would fail half-way on a real host (audit H, H4). Now the simulated host refuses such a path as .NET does,
and the export refuses the VM before anything is written, naming the limit."""

from __future__ import annotations

from pathlib import Path

from transfer_support import SHARE, Lab

from orchestrator.simulator import Simulator

LONG = "Informatik-Raum-" + "x" * 70  # 86 characters: a legal VM name (at most 100)


def test_an_export_whose_paths_pass_max_path_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.doc["all"]["hosts"]["hv01"]["multipoint_vms"].append(
        {"name": LONG, "cpus": 2, "memory": "4GB", "stations": {"rdp": 4}})
    lab.save()
    lab.ok("apply", str(lab.inventory))

    code, output = lab.orchestrate("export", str(lab.inventory), "--to", SHARE)

    assert code != 0
    assert f"VM(s) {LONG}: an export to {SHARE} would write files whose paths pass Windows' 260" in output
    assert lab.files_under("hv01", f"{SHARE}\\{LONG}") == []
    assert lab.files_under("hv01", f"{SHARE}\\lab-01")  # the others are exported


def test_the_simulated_host_refuses_a_path_past_max_path_as_dot_net_does() -> None:
    sim = Simulator(seed={"os_sku": 8})
    made = sim.run("$ErrorActionPreference = 'Stop'\nNew-Item -ItemType Directory -Path ('C:\\' + ('x' * 250))")
    assert made.exit_code == 1
    assert "The specified path, file name, or both are too long." in made.stderr
    assert sim.run("New-Item -ItemType Directory -Path ('C:\\' + ('x' * 200)) | Out-Null").exit_code == 0
