"""Ansible Vault in the inventory: `!vault |` values and whole encrypted vars files, as Ansible reads them.

Given group_vars encrypted with the real `ansible-vault` (format 1.1, and 1.2 with a --vault-id label), when
the admin passes the vault password the way Ansible takes it (--vault-password-file, a password script,
--vault-id, --ask-vault-pass, ANSIBLE_VAULT_PASSWORD_FILE), then the host gets the decrypted password as a
Secret, `inventory --list` masks it, and the resolved inventory equals ansible-inventory's. Without the
password, the admin gets one finding at the vault value's line saying what to pass, and every other
variable of that file still applies.
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
WINRM_PASSWORD = "W1nRM-p@ss word"


def ansible_encrypt_string(tmp_path: Path, plaintext: str, name: str, vault_id: str | None = None) -> str:
    """`ansible-vault encrypt_string` output (`name: !vault |` and the indented envelope)."""
    password_file = write(tmp_path / ".vault-pass-for-encrypting", PASSWORD)
    source = f"{vault_id}@{password_file}" if vault_id else str(password_file)
    option = ["--vault-id", source] if vault_id else ["--vault-password-file", source]
    completed = subprocess.run(
        [str(ANSIBLE_VAULT), "encrypt_string", *option, plaintext, "--name", name],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=ansible_env(tmp_path),
        cwd=tmp_path,
    )
    return completed.stdout


def school(tmp_path: Path, group_vars_text: str) -> Path:
    """hosts.ini with one MultiPoint host over WinRM; its credentials live in group_vars/hyperv.yml."""
    write(tmp_path / "group_vars/hyperv.yml", group_vars_text)
    return write(
        tmp_path / "hosts.ini",
        """
        [hyperv]
        hv01.school.local
        [hyperv:vars]
        ansible_connection=winrm
        multipoint_vms=[]
        """,
    )


def _mask_vault(document: object) -> object:
    """ansible-inventory prints a vault value as {"__ansible_vault": ...}; we print the mask."""
    if isinstance(document, dict):
        if set(document) == {"__ansible_vault"}:
            return "********"
        return {k: _mask_vault(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_mask_vault(v) for v in document]
    return document


@pytest.fixture
def vaulted_school(tmp_path: Path) -> Path:
    encrypted = ansible_encrypt_string(tmp_path, WINRM_PASSWORD, "ansible_password")
    return school(tmp_path, "ansible_user: 'SCHOOL\\admin'\n" + encrypted + "ansible_winrm_transport: ntlm\n")


def test_vault_password_file_decrypts_the_winrm_password(tmp_path: Path, vaulted_school: Path) -> None:
    password_file = write(tmp_path / "vault-pass.txt", PASSWORD + "\n")
    result = cli("validate", str(vaulted_school), "--vault-password-file", str(password_file))
    assert result.exit_code == 0, result.output
    inventory = load(vaulted_school, vault=Vault([VaultSecret(Secret(PASSWORD))]))
    assert inventory.hosts["hv01.school.local"].connection.password == Secret(WINRM_PASSWORD)
    assert WINRM_PASSWORD not in result.output


def test_list_masks_the_vault_value_and_equals_ansible_inventory(
    tmp_path: Path, vaulted_school: Path
) -> None:
    password_file = write(tmp_path / "vault-pass.txt", PASSWORD)
    result = cli("inventory", str(vaulted_school), "--list", "--vault-password-file", str(password_file))
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)
    assert ours["_meta"]["hostvars"]["hv01.school.local"]["ansible_password"] == "********"
    assert WINRM_PASSWORD not in result.output
    theirs = ansible_list_of(tmp_path, "-i", str(vaulted_school), "--vault-password-file", str(password_file))
    assert ours == _mask_vault(theirs)


def test_without_the_password_one_finding_and_the_rest_of_the_file_applies(vaulted_school: Path) -> None:
    result = cli("validate", str(vaulted_school))
    assert result.exit_code == 2
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 1, errors  # not "ntlm needs ansible_user" and friends: ansible_user was read
    assert errors[0].startswith(f"{vaulted_school.parent}/group_vars/hyperv.yml:2:")
    assert "no vault password was given" in errors[0] and "--vault-password-file" in errors[0]


def test_wrong_password_is_one_finding_naming_the_vault_id(tmp_path: Path, vaulted_school: Path) -> None:
    wrong = write(tmp_path / "wrong.txt", "not it")
    inventory = load(vaulted_school, vault=Vault([VaultSecret(Secret("not it"))]))
    assert [f.message for f in inventory.errors] == [
        "cannot decrypt this Vault value: no vault password given decrypts it; tried vault id(s): default"
    ]
    assert cli("validate", str(vaulted_school), "--vault-password-file", str(wrong)).exit_code == 2


def test_vault_id_label_format_1_2(tmp_path: Path) -> None:
    """`--vault-id lab@FILE` decrypts a value encrypted for vault id 'lab' (header ;1.2;AES256;lab)."""
    encrypted = ansible_encrypt_string(tmp_path, WINRM_PASSWORD, "ansible_password", vault_id="lab")
    assert "$ANSIBLE_VAULT;1.2;AES256;lab" in encrypted
    path = school(tmp_path, "ansible_user: admin\n" + encrypted)
    password_file = write(tmp_path / "lab-pass", PASSWORD)
    other = write(tmp_path / "other-pass", "other")
    result = cli("validate", str(path), "--vault-id", f"other@{other}", "--vault-id", f"lab@{password_file}")
    assert result.exit_code == 0, result.output


def test_password_script_and_client_script(tmp_path: Path, vaulted_school: Path) -> None:
    """An executable password file is run and its stdout is the password; a *-client script gets --vault-id."""
    script = write(tmp_path / "vault-pass.sh", f"#!/bin/sh\necho '{PASSWORD}'\n", mode=0o700)
    assert cli("validate", str(vaulted_school), "--vault-password-file", str(script)).exit_code == 0
    client = write(
        tmp_path / "keyring-client.sh",
        f'#!/bin/sh\n[ "$1" = --vault-id ] && [ "$2" = default ] && echo \'{PASSWORD}\'\n',
        mode=0o700,
    )
    assert cli("validate", str(vaulted_school), "--vault-id", str(client)).exit_code == 0
    failing = write(tmp_path / "broken.sh", "#!/bin/sh\nexit 3\n", mode=0o700)
    result = cli("validate", str(vaulted_school), "--vault-password-file", str(failing))
    assert result.exit_code == 2 and "exited 3" in result.output


def test_ansible_vault_password_file_environment_variable(tmp_path: Path, vaulted_school: Path) -> None:
    password_file = write(tmp_path / "vault-pass.txt", PASSWORD)
    result = cli("validate", str(vaulted_school), env={"ANSIBLE_VAULT_PASSWORD_FILE": str(password_file)})
    assert result.exit_code == 0, result.output


def test_ask_vault_pass(vaulted_school: Path) -> None:
    result = cli("validate", str(vaulted_school), "--ask-vault-pass", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Vault password: " in result.stderr


def test_missing_password_file_is_a_usage_error(tmp_path: Path, vaulted_school: Path) -> None:
    result = cli("validate", str(vaulted_school), "--vault-password-file", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "was not found" in result.output


def test_whole_encrypted_vars_file(tmp_path: Path) -> None:
    """`ansible-vault encrypt group_vars/hyperv.yml`: read after decryption; its text values are Secrets."""
    path = school(tmp_path, f"ansible_user: admin\nansible_password: '{WINRM_PASSWORD}'\nseats: 12\n")
    vars_file = tmp_path / "group_vars/hyperv.yml"
    password_file = write(tmp_path / "vault-pass.txt", PASSWORD)
    subprocess.run(
        [str(ANSIBLE_VAULT), "encrypt", "--vault-password-file", str(password_file), str(vars_file)],
        check=True,
        capture_output=True,
        env=ansible_env(tmp_path),
        timeout=120,
    )
    assert vars_file.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    result = cli("inventory", str(path), "--list", "--vault-password-file", str(password_file))
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)
    host = ours["_meta"]["hostvars"]["hv01.school.local"]
    assert (host["ansible_user"], host["ansible_password"], host["seats"]) == ("********", "********", 12)
    theirs = ansible_list_of(tmp_path, "-i", str(path), "--vault-password-file", str(password_file))
    theirs_host = theirs["_meta"]["hostvars"]["hv01.school.local"]
    assert (theirs_host["ansible_user"], theirs_host["seats"]) == ("admin", 12)
    assert (
        load(path, vault=Vault([VaultSecret(Secret(PASSWORD))])).hosts["hv01.school.local"].connection.user
        == "admin"
    )
    missing = cli("validate", str(path))
    assert missing.exit_code == 2
    assert f"{vars_file}:1:1: error: cannot decrypt this Vault-encrypted file" in missing.stdout


def test_a_decrypted_value_never_shows_in_a_finding(tmp_path: Path) -> None:
    """A vault value that is wrong for its variable: the finding says so without echoing it."""
    secret_transport = "bogus-secret-transport"
    text = "ansible_user: admin\nansible_winrm_transport: !vault |\n" + "".join(
        f"  {line}\n" for line in encrypt(secret_transport, PASSWORD).splitlines()
    )
    path = school(tmp_path, text)
    password_file = write(tmp_path / "vault-pass.txt", PASSWORD)
    result = cli("validate", str(path), "--vault-password-file", str(password_file))
    assert result.exit_code == 2
    assert "ansible_winrm_transport" in result.stdout
    assert secret_transport not in result.output


def test_our_encryption_is_read_by_ansible() -> None:
    """encrypt() writes what ansible-core's VaultLib reads, for 1.1 and 1.2 (so tests may use either)."""
    from ansible.parsing.vault import VaultLib
    from ansible.parsing.vault import VaultSecret as AnsibleSecret

    for label in ("default", "lab"):
        envelope = encrypt("plain text", PASSWORD, label=label)
        lib = VaultLib([(label, AnsibleSecret(PASSWORD.encode()))])
        assert lib.decrypt(envelope) == b"plain text"
        assert Vault([VaultSecret(Secret(PASSWORD), label)]).decrypt(envelope) == "plain text"


def test_a_latin1_password_file_decrypts_as_with_ansible(tmp_path: Path) -> None:
    """A legacy password file holding b'caf\\xe9' (Latin-1, not UTF-8): ansible-vault encrypts with its raw
    bytes and ansible-inventory decrypts with them; so do we (it used to crash with UnicodeEncodeError)."""
    password_file = tmp_path / "latin1-pass.txt"
    password_file.write_bytes(b"caf\xe9\n")
    password_file.chmod(0o600)
    encrypted = subprocess.run(
        [str(ANSIBLE_VAULT), "encrypt_string", "--vault-password-file", str(password_file), WINRM_PASSWORD,
         "--name", "ansible_password"],
        capture_output=True, text=True, timeout=120, check=True, env=ansible_env(tmp_path), cwd=tmp_path,
    ).stdout
    inventory = school(tmp_path, "ansible_user: 'SCHOOL\\admin'\n" + encrypted + "ansible_winrm_transport: ntlm\n")

    result = cli("validate", str(inventory), "--vault-password-file", str(password_file))
    assert result.exit_code == 0, result.output
    listed = cli("inventory", str(inventory), "--list", "--vault-password-file", str(password_file))
    theirs = ansible_list_of(tmp_path, "-i", str(inventory), "--vault-password-file", str(password_file))
    assert json.loads(listed.stdout) == _mask_vault(theirs)
    from orchestrator.inventory.vault_secrets import build_vault

    loaded = load(inventory, vault=build_vault(password_files=[str(password_file)], environ={}))
    assert loaded.hosts["hv01.school.local"].connection.password == Secret(WINRM_PASSWORD)


def test_ansible_vault_password_file_is_added_to_vault_password_file_as_ansible_adds_it(
    tmp_path: Path, vaulted_school: Path
) -> None:
    """The team's ANSIBLE_VAULT_PASSWORD_FILE holds the right password; the admin also passes a personal
    --vault-password-file that is not it. Ansible tries both (ansible/cli/__init__.py:240-242) and decrypts."""
    team = write(tmp_path / "team-pass.txt", PASSWORD)
    mine = write(tmp_path / "my-pass.txt", "my own password")
    env = {"ANSIBLE_VAULT_PASSWORD_FILE": str(team)}
    theirs = ansible_list_of(tmp_path, "-i", str(vaulted_school), "--vault-password-file", str(mine), env=env)

    result = cli("inventory", str(vaulted_school), "--list", "--vault-password-file", str(mine), env=env)
    assert result.exit_code == 0 and "cannot decrypt" not in result.stderr, result.stderr
    assert json.loads(result.stdout) == _mask_vault(theirs)
    assert cli("validate", str(vaulted_school), "--vault-password-file", str(mine), env=env).exit_code == 0


def test_a_wrong_ansible_vault_password_file_is_named_not_suggested(tmp_path: Path, vaulted_school: Path) -> None:
    wrong = write(tmp_path / "stale-pass.txt", "last year's password")
    result = cli("validate", str(vaulted_school), env={"ANSIBLE_VAULT_PASSWORD_FILE": str(wrong)})
    assert result.exit_code == 2
    error = next(line for line in result.stdout.splitlines() if "cannot decrypt" in line)
    assert "or set ANSIBLE_VAULT_PASSWORD_FILE" not in error
    assert f"tried: {wrong} (from ANSIBLE_VAULT_PASSWORD_FILE)" in error


def test_ask_vault_pass_strips_the_typed_password_as_ansible_does(
    vaulted_school: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password typed with a trailing space: Ansible's prompt secret strips it (parsing/vault/__init__.py:319)."""
    from ansible.parsing import vault as ansible_vault

    monkeypatch.setattr(ansible_vault.display, "prompt", lambda *args, **kwargs: PASSWORD + "  ")
    prompted = ansible_vault.PromptVaultSecret(prompt_formats=["Vault password: "], vault_id="default")
    prompted.load()
    assert prompted.bytes == PASSWORD.encode()  # the oracle: stripped

    result = cli("validate", str(vaulted_school), "--ask-vault-pass", input=" " + PASSWORD + "  \n")
    assert result.exit_code == 0, result.output


def ansible_lists(tmp_path: Path, inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list", *args],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path, env=ansible_env(tmp_path),
    )  # fmt: skip


@pytest.mark.parametrize("broken", ["missing file", "failing script", "empty file"])
def test_a_broken_password_source_is_skipped_with_a_warning_when_another_works(
    tmp_path: Path, vaulted_school: Path, broken: str
) -> None:
    """The admin passes the team's old password file (gone, or a script that now fails) and a working one:
    Ansible warns about the broken source and decrypts with the other (ansible/cli/__init__.py:292-323)."""
    if broken == "missing file":
        bad = tmp_path / "gone.txt"
    elif broken == "failing script":
        bad = write(tmp_path / "broken.sh", "#!/bin/sh\nexit 3\n", mode=0o700)
    else:
        bad = write(tmp_path / "empty.txt", "\n")
    good = write(tmp_path / "vault-pass.txt", PASSWORD)
    options = ["--vault-password-file", str(bad), "--vault-password-file", str(good)]
    theirs = ansible_lists(tmp_path, vaulted_school, *options)
    assert theirs.returncode == 0 and "[WARNING]: Error" in theirs.stderr, theirs.stderr

    result = cli("validate", str(vaulted_school), *options)
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.stdout.splitlines() if str(bad) in line)
    assert "warning:" in warning and "skipped" in warning
    listed = cli("inventory", str(vaulted_school), "--list", *options)
    document = json.loads(theirs.stdout)
    document["_meta"].pop("profile", None)
    assert listed.exit_code == 0 and json.loads(listed.stdout) == _mask_vault(document)


def test_when_no_password_source_works_the_last_failure_is_the_error(tmp_path: Path, vaulted_school: Path) -> None:
    failing = write(tmp_path / "broken.sh", "#!/bin/sh\nexit 3\n", mode=0o700)
    options = ["--vault-password-file", str(tmp_path / "gone.txt"), "--vault-password-file", str(failing)]
    assert ansible_lists(tmp_path, vaulted_school, *options).returncode != 0
    result = cli("validate", str(vaulted_school), *options)
    assert result.exit_code == 2 and "exited 3" in result.output
