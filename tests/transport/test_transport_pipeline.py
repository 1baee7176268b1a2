"""The admin's story over real WinRM: `orchestrate apply` reaches a (simulated) Hyper-V host through the fake
WinRM server with NTLM and message encryption, creates the VM, and a second apply changes nothing. Per run:
one TCP connection, one NTLM handshake, one shell for both the facts and the apply script."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.simulator import Simulator

IMAGE = "D:\\images\\mps2012-premium.vhdx"
SEED = {
    "os_sku": 8,
    "os_version": "6.3.9600",  # 2012 R2: generation 2 VMs need it
    "hyperv_installed": True,
    "logical_processors": 16,
    "memory": "64GB",
    "switches": ["Classroom LAN"],
    "images": {IMAGE: {"edition_sku": 77}},
}
VM = "Raum-Ω-01"


def test_apply_over_winrm_converges_and_then_changes_nothing(fake_winrm, tmp_path, monkeypatch):
    sim = Simulator(seed=SEED)
    server = fake_winrm(users={"LAB\\admin": "S3cret!"})
    server.add_host("hv01", sim)
    monkeypatch.setenv("FAKE_WINRM_PASSWORD", "S3cret!")
    inventory = tmp_path / "school.yaml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {
                        "ansible_host": "127.0.0.1",
                        "ansible_port": server.port,
                        "ansible_winrm_scheme": "http",
                        "ansible_user": "LAB\\admin",
                        "ansible_password": "{{ lookup('env', 'FAKE_WINRM_PASSWORD') }}",
                    },
                    "hosts": {
                        "hv01": {
                            "ansible_winrm_path": "/wsman/hv01",
                            "multipoint_vms": [
                                {
                                    "name": VM,
                                    "cpus": 2,
                                    "memory": "4GB",
                                    "stations": {"rdp": 4},
                                    "disk": {"parent": IMAGE},
                                    "switch": "Classroom LAN",
                                }
                            ],
                        }
                    },
                }
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    inventory.chmod(0o600)
    apply = ["apply", str(inventory), "--state-dir", str(tmp_path / "state")]

    first = CliRunner().invoke(main, apply)
    assert first.exit_code == 0, first.output
    after_first = server.stats()
    second = CliRunner().invoke(main, [*apply, "-o", "json"])
    assert second.exit_code == 0, second.output

    found = sim.run(
        f"$vm = Get-VM -Name '{VM}'\n"
        "Write-Output ([ordered]@{ state = [string]$vm.State; cpus = $vm.ProcessorCount } | ConvertTo-Json -Compress)"
    )
    assert json.loads(found.stdout) == {"state": "Running", "cpus": 2}
    assert "S3cret!" not in first.output + second.output
    assert after_first["connections"] == 1 and after_first["shells_created"] == 1
    assert after_first["auth_challenges"] == 1 and after_first["encrypted_requests"] > 0
    assert server.stats()["connections"] == 2 and server.stats()["shells_created"] == 2
