"""A whole INI inventory encrypted with `ansible-vault encrypt` is read as Ansible reads it, or refused.

Given `hosts.ini` (or `hosts`, no extension, INI inside) encrypted with the real ansible-vault, when the admin
passes the vault password, then the groups, hosts and values are ansible-inventory's, every text value but
ansible_connection is a secret (masked in `inventory --list`, never in a finding), and the host gets its
decrypted password. Without the password, or with a wrong one, the file is refused with the same finding a
whole encrypted YAML file gets; it is never read as hosts named after its ciphertext lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inventory_support import ansible_env, ansible_list_of, cli, load, write

from orchestrator.inventory.vault import Vault, VaultSecret
from orchestrator.model import Secret

ANSIBLE_VAULT = Path(sys.executable).parent / "ansible-vault"
PASSWORD = "correct horse battery"
WINRM_PASSWORD = "p@ss w0rd{x"
HOSTS_INI = f"""
    [hyperv]
    hv01 ansible_connection=simulator orchestrate_retry="{{}}" seats=12
    [lab]
    hv02 ansible_connection=winrm ansible_user=admin ansible_password="{WINRM_PASSWORD}" multipoint_vms=[]
    [lab:vars]
    room=science
    [site:children]
    lab
"""


def encrypted_inventory(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """`ansible-vault encrypt NAME` of HOSTS_INI; the inventory and its password file."""
    inventory = write(tmp_path / name, HOSTS_INI)
    password_file = write(tmp_path / "vault-pass", PASSWORD)
    subprocess.run(
        [str(ANSIBLE_VAULT), "encrypt", "--vault-password-file", str(password_file), str(inventory)],
        check=True,
        capture_output=True,
        env=ansible_env(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert inventory.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    return inventory, password_file


def text_masked(document: Any) -> Any:
    """Every text value masked, as our listing shows the values of a whole encrypted file; ansible_connection
    excepted, a setting shown as written (vaulted.PLAIN_VARS)."""
    if isinstance(document, dict):
        return {
            key: value if key == "ansible_connection" else text_masked(value) for key, value in document.items()
        }
    if isinstance(document, list):
        return [text_masked(value) for value in document]
    return "********" if isinstance(document, str) else document


@pytest.mark.parametrize("name", ["hosts.ini", "hosts"])
def test_an_encrypted_ini_inventory_lists_like_ansible_inventory(tmp_path: Path, name: str) -> None:
    inventory, password_file = encrypted_inventory(tmp_path, name)
    theirs = ansible_list_of(tmp_path, "-i", str(inventory), "--vault-password-file", str(password_file))
    result = cli("inventory", str(inventory), "--list", "--vault-password-file", str(password_file))
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)
    assert {k: v for k, v in ours.items() if k != "_meta"} == {k: v for k, v in theirs.items() if k != "_meta"}
    assert ours["_meta"] == text_masked(theirs["_meta"])
    assert theirs["_meta"]["hostvars"]["hv02"]["room"] == "science"  # the oracle did decrypt it


@pytest.mark.parametrize("name", ["hosts.ini", "hosts"])
def test_the_decrypted_ini_values_are_secrets_the_host_can_use(tmp_path: Path, name: str) -> None:
    inventory, password_file = encrypted_inventory(tmp_path, name)
    loaded = load(inventory, vault=Vault([VaultSecret(Secret(PASSWORD))]))
    assert not loaded.errors, [f.format() for f in loaded.findings]
    assert list(loaded.hosts) == ["hv01", "hv02"]
    assert loaded.hosts["hv02"].connection.user == "admin"
    password = loaded.hosts["hv02"].connection.password
    assert isinstance(password, Secret) and password.reveal() == WINRM_PASSWORD
    assert isinstance(loaded.hostvars["hv02"]["room"], Secret)
    result = cli("validate", str(inventory), "--vault-password-file", str(password_file), "-v")
    assert result.exit_code == 0, result.output
    assert WINRM_PASSWORD not in result.output


@pytest.mark.parametrize("name", ["hosts.ini", "hosts"])
@pytest.mark.parametrize("password", [None, "not the password"])
def test_an_encrypted_ini_inventory_without_its_password_is_refused(
    tmp_path: Path, name: str, password: str | None
) -> None:
    inventory, _ = encrypted_inventory(tmp_path, name)
    options = []
    if password is not None:
        options = ["--vault-password-file", str(write(tmp_path / "wrong-pass", password))]
    result = cli("validate", str(inventory), *options)
    assert result.exit_code == 2
    assert f"{inventory}:1:1: error: cannot decrypt this Vault-encrypted file" in result.stdout
    assert "pass the vault password" in result.stdout
    listed = cli("inventory", str(inventory), "--list", *options)
    assert listed.exit_code == 2 and "$ANSIBLE_VAULT" not in listed.stdout
