"""A secret given through lookup('env', ...) never appears in any output, even in an error about that value.

Given a secret in an environment variable, used as the password or misused where a number, a size, a
name, a choice or a time belongs, when the admin runs validate (text and JSON) and inventory --list/--host,
then the secret's text appears nowhere in stdout or stderr.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory_support import cli, write

SECRET = "Sup3r/S3cret:Value|42"

PLACES = {
    "password": "      ansible_user: admin\n      ansible_password: \"{{ lookup('env', 'SECRET_X') }}\"\n",
    "where a number belongs": "      ansible_connection: simulator\n      multipoint_vms:\n        - name: vm1\n"
    "          disk: {parent: b.vhdx}\n          cpus: \"{{ lookup('env', 'SECRET_X') }}\"\n",
    "where a size belongs": "      ansible_connection: simulator\n      multipoint_vms:\n        - name: vm1\n"
    "          disk: {parent: b.vhdx}\n          memory: \"{{ lookup('env', 'SECRET_X') }}\"\n",
    "as a VM name with forbidden characters": "      ansible_connection: simulator\n      multipoint_vms:\n"
    "        - name: \"{{ lookup('env', 'SECRET_X') }}\"\n          disk: {parent: b.vhdx}\n",
    "as an edition": "      ansible_connection: simulator\n      multipoint_vms:\n        - name: vm1\n"
    "          disk: {parent: b.vhdx}\n          edition: \"{{ lookup('env', 'SECRET_X') }}\"\n",
    "as a transport": "      multipoint_vms: []\n      ansible_winrm_transport: \"{{ lookup('env', 'SECRET_X') }}\"\n",
    "as a port": "      multipoint_vms: []\n      ansible_winrm_transport: kerberos\n"
    "      ansible_port: \"{{ lookup('env', 'SECRET_X') }}\"\n",
    "as a schedule time": "      ansible_connection: simulator\n      multipoint_schedules:\n"
    "        - {name: n, checkpoint: c, at: \"{{ lookup('env', 'SECRET_X') }}\"}\n",
    "as a retry count": "      ansible_connection: simulator\n      orchestrate_retry:\n"
    "        attempts: \"{{ lookup('env', 'SECRET_X') }}\"\n",
}


@pytest.mark.parametrize("body", list(PLACES.values()), ids=list(PLACES))
def test_env_secret_never_printed(tmp_path: Path, body: str) -> None:
    inventory = write(tmp_path / "inv.yaml", "all:\n  hosts:\n    hv01:\n" + body)
    env = {"SECRET_X": SECRET}
    outputs = [
        cli("validate", str(inventory), env=env),
        cli("validate", str(inventory), "--output", "json", env=env),
        cli("inventory", str(inventory), "--list", env=env),
        cli("inventory", str(inventory), "--host", "hv01", env=env),
    ]
    for result in outputs:
        text = result.stdout + result.stderr
        for fragment in (SECRET, "S3cret", "Value|42"):
            assert fragment not in text, text
    if "password" not in body:  # misused: there must be an error, naming the variable instead of the value
        assert outputs[0].exit_code == 2
        assert "SECRET_X" in outputs[0].stdout


def test_literal_and_file_passwords_are_masked_in_listing(tmp_path: Path) -> None:
    write(tmp_path / "pw.txt", "file-secret-123\n")
    inventory = write(
        tmp_path / "inv.yaml",
        """
        all:
          vars: {ansible_user: admin}
          hosts:
            hv01: {ansible_password: literal-secret-123}
            hv02: {orchestrate_password_file: pw.txt}
    """,
    )
    for args in (["inventory", str(inventory), "--list"], ["validate", str(inventory), "-o", "json"]):
        result = cli(*args)
        assert "literal-secret-123" not in result.output and "file-secret-123" not in result.output
    assert '"ansible_password": "********"' in cli("inventory", str(inventory), "--list").stdout
