"""The admin's story when a host's PowerShell does not read the script it was sent: another code page, or only
a part of it. No page rules either out (orchestrator.transport.stdin), and both used to run: a VM under a
garbled name, or the first half of a plan. Now the bootstrap checks what it read and runs nothing; the run
says so, and nothing is tried again."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.simulator import Simulator

IMAGE = "D:\\images\\mps2012-premium.vhdx"
SEED = {
    "os_sku": 8,
    "os_version": "6.3.9600",
    "hyperv_installed": True,
    "logical_processors": 16,
    "memory": "64GB",
    "switches": ["Classroom LAN"],
    "images": {IMAGE: {"edition_sku": 77}},
}
NOT_RECEIVED = "PowerShell on the host read a different script from the one sent"


def an_inventory(tmp_path, server, vm_name: str):
    path = tmp_path / "school.yaml"
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_winrm_scheme": "http",
        "ansible_winrm_path": "/wsman/hv01",
        "ansible_user": "admin",
        "ansible_password": "Passw0rd!",
        "multipoint_vms": [{"name": vm_name, "cpus": 2, "memory": "4GB", "disk": {"parent": IMAGE},
                            "switch": "Classroom LAN"}],
    }
    path.write_text(yaml.safe_dump({"all": {"hosts": {"hv01": host}}}, allow_unicode=True), encoding="utf-8")
    path.chmod(0o600)
    return path


def vm_names(sim: Simulator) -> list[str]:
    found = sim.run("@(Get-VM) | ForEach-Object { $_.Name }")
    assert found.exit_code == 0, found.stderr
    return found.stdout.split()


def test_a_host_reading_stdin_in_another_code_page_creates_no_vm_under_a_garbled_name(fake_winrm, tmp_path):
    sim = Simulator(seed=SEED)
    server = fake_winrm()
    server.add_host("hv01", sim)
    # Every script of the run names the VM (the facts script asks the host about it), and its name reads
    # otherwise in code page 1252.
    server.stdin_reader = lambda data, _codepage: data.decode("cp1252", errors="replace")

    result = CliRunner().invoke(main, ["apply", str(an_inventory(tmp_path, server, "Raum-Ω-01")),
                                       "--state-dir", str(tmp_path / "state")])

    assert result.exit_code != 0
    assert NOT_RECEIVED in result.output and "nothing of it was run" in result.output
    assert vm_names(sim) == []  # neither 'Raum-Ω-01' nor 'Raum-Î©-01'
    assert server.hosts["hv01"].commands_run == 1  # the facts script, once: never retried, no apply


def test_a_host_handing_powershell_only_part_of_the_script_runs_none_of_it(fake_winrm, tmp_path):
    sim = Simulator(seed=SEED)
    server = fake_winrm()
    server.add_host("hv01", sim)
    # A reader that stops at a line break past the middle: what is left would still parse.
    server.stdin_reader = lambda data, _codepage: data[: data.index(b"\n", len(data) // 2) + 1].decode()

    result = CliRunner().invoke(main, ["apply", str(an_inventory(tmp_path, server, "lab-01")),
                                       "--state-dir", str(tmp_path / "state")])

    assert result.exit_code != 0
    assert NOT_RECEIVED in result.output
    assert vm_names(sim) == []
    assert server.hosts["hv01"].commands_run == 1  # the facts script was refused: no plan, no apply
