"""A vaulted ansible_connection is a setting, not a secret: decrypted and compared as plain text.

Given a mixed fleet whose Linux servers get `ansible_connection: ssh` from a Vault-encrypted group_vars file
(the whole file encrypted with ansible-vault, or the value alone as `!vault |`), when the admin validates
or lists the inventory with the vault password, then those servers are left alone exactly as with a plain
`ansible_connection: ssh` (not counted as WinRM hosts, never typed or contacted), the connection shows as
written in `inventory --list` (as ansible-inventory resolves it), and the word "winrm" of the MultiPoint
hosts is never masked as if it were a password.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from inventory_support import ansible_env, ansible_list_of, cli, load, write

from orchestrator.inventory.vault import Vault, VaultSecret, encrypt
from orchestrator.model import Secret

ANSIBLE_VAULT = Path(sys.executable).parent / "ansible-vault"
PASSWORD = "correct horse battery"
INVENTORY = """
    all:
      children:
        hyperv:
          hosts:
            hv01: {ansible_connection: winrm, ansible_user: admin, ansible_password: Pa55-word, multipoint_vms: []}
        linux:
          hosts:
            web01: {multipoint_vms: []}
            db01:
"""


def fleet(tmp_path: Path, how: str) -> Path:
    """The inventory, with group_vars/linux.yml setting ansible_connection: ssh `how`: plain, !vault, whole."""
    inventory = write(tmp_path / "inventory.yml", INVENTORY)
    vars_file = tmp_path / "group_vars" / "linux.yml"
    if how == "!vault":
        envelope = encrypt("ssh", PASSWORD).replace("\n", "\n  ")
        write(vars_file, f"ansible_connection: !vault |\n  {envelope}\nansible_user: root\n")
    else:
        write(vars_file, "ansible_connection: ssh\nansible_user: root\n")
    if how == "whole file":
        password_file = write(tmp_path / "vault-pass", PASSWORD)
        subprocess.run(
            [str(ANSIBLE_VAULT), "encrypt", "--vault-password-file", str(password_file), str(vars_file)],
            check=True, capture_output=True, env=ansible_env(tmp_path), cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert vars_file.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    return inventory


VAULT = Vault([VaultSecret(Secret(PASSWORD), "default", "test")])


@pytest.mark.parametrize("how", ["!vault", "whole file"])
def test_a_vaulted_ssh_connection_leaves_the_host_alone_as_a_plain_one(tmp_path: Path, how: str) -> None:
    plain = load(fleet(tmp_path / "plain", "plain"), vault=VAULT)
    vaulted = load(fleet(tmp_path / "vaulted", how), vault=VAULT)
    assert sorted(vaulted.hosts) == sorted(plain.hosts) == ["hv01"]  # web01 and db01 are not ours
    assert vaulted.hostvars["web01"]["ansible_connection"] == "ssh"
    assert [f.message for f in vaulted.findings] == [f.message for f in plain.findings]


@pytest.mark.parametrize("how", ["!vault", "whole file"])
def test_the_vaulted_connection_is_listed_as_ansible_resolves_it_and_winrm_is_not_masked(
    tmp_path: Path, how: str
) -> None:
    inventory = fleet(tmp_path, how)
    password_file = write(tmp_path / "vault-pass", PASSWORD)
    listed = cli("inventory", str(inventory), "--list", "--vault-password-file", str(password_file))
    assert listed.exit_code == 0, listed.output
    ours = json.loads(listed.stdout)["_meta"]["hostvars"]
    theirs = ansible_list_of(tmp_path, "-i", str(inventory), "--vault-password-file", str(password_file))
    connection = theirs["_meta"]["hostvars"]["web01"]["ansible_connection"]
    if isinstance(connection, dict):  # ansible-inventory prints a `!vault` value as its envelope
        assert set(connection) == {"__ansible_vault"}
    else:
        assert connection == "ssh"
    assert ours["web01"]["ansible_connection"] == ours["db01"]["ansible_connection"] == "ssh"
    assert ours["hv01"]["ansible_connection"] == "winrm"
    validated = cli("validate", str(inventory), "-v", "--vault-password-file", str(password_file))
    assert validated.exit_code == 0, validated.output
    assert "winrm" in validated.output and "ansible_connection is 'ssh'" in validated.output
