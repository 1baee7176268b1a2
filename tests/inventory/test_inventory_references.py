"""`{{ name }}`: a value that names another variable of the host, as Ansible's vault layout writes it.

Given the layout Ansible's guide recommends (group_vars/hyperv/vars.yml says `ansible_password:
"{{ vault_winrm_password }}"`, group_vars/hyperv/vault.yml holds `vault_winrm_password: !vault |`), when the
admin validates with the vault password, then the host gets the decrypted password as a Secret, the same
value Ansible itself templates, and nothing prints it. A named variable is held to the rules of the value
that names it: a plain-text password only in a file no one else may read, a guest's secret never as text.
A reference to no variable, or a circle of them, is one finding at the line that wrote it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from inventory_support import ansible_env, cli, load, messages, write

from orchestrator.inventory.fields import Reader
from orchestrator.inventory.lookup import variable_reference
from orchestrator.inventory.vault import Vault, VaultSecret, encrypt
from orchestrator.inventory.yaml_source import Origin
from orchestrator.model import Secret

VAULT_PASSWORD = "correct horse battery"
WINRM_PASSWORD = "W1nRM-p@ss word"
ADMIN_PASSWORD = "Guest-Adm1n pass"
ANSIBLE = Path(sys.executable).parent / "ansible"


def vaulted(name: str, plaintext: str) -> str:
    """`name: !vault |` and the envelope, as `ansible-vault encrypt_string --name NAME` writes it."""
    envelope = encrypt(plaintext, VAULT_PASSWORD)
    return f"{name}: !vault |\n" + "".join(f"  {line}\n" for line in envelope.splitlines())


def school(tmp_path: Path, vars_text: str, vault_text: str, vault_mode: int = 0o600) -> Path:
    """hosts.ini with one host in group hyperv; group_vars/hyperv/ holds vars.yml and vault.yml."""
    write(tmp_path / "group_vars/hyperv/vars.yml", vars_text)
    write(tmp_path / "group_vars/hyperv/vault.yml", vault_text, mode=vault_mode)
    return write(
        tmp_path / "hosts.ini",
        """
        [hyperv]
        hv01 ansible_host=127.0.0.1
        [hyperv:vars]
        ansible_connection=winrm
        ansible_user=SCHOOL\\admin
        ansible_winrm_transport=ntlm
        multipoint_vms=[]
        """,
    )


def vault_options(tmp_path: Path) -> list[str]:
    return ["--vault-password-file", str(write(tmp_path / "vault-pass.txt", VAULT_PASSWORD))]


VAULTED_PASSWORDS = 'ansible_password: "{{ vault_winrm_password }}"\n'


def guest_school(folder: Path, extra_vars: str, guest: str) -> Path:
    """The school with the WinRM and guest admin passwords vaulted, `extra_vars` beside them, and one VM
    lab-01 whose guest mapping is `guest` (flow YAML)."""
    vm = f"multipoint_vms:\n  - name: lab-01\n    disk: {{parent: 'D:\\images\\mps.vhdx'}}\n    guest: {guest}\n"
    vault_text = vaulted("vault_winrm_password", WINRM_PASSWORD) + vaulted("vault_admin_password", ADMIN_PASSWORD)
    return school(folder, VAULTED_PASSWORDS + extra_vars + vm, vault_text)


def loaded_guest(inventory: Path) -> Any:
    """lab-01's guest, from an inventory that must load without an error."""
    loaded = load(inventory, vault=Vault([VaultSecret(Secret(VAULT_PASSWORD))]))
    assert messages(loaded, "error") == []
    lab = loaded.hosts["hv01"].vm("lab-01")
    assert lab is not None and lab.guest is not None
    return lab.guest


def ansible_templates(tmp_path: Path, inventory: Path, variable: str) -> object:
    """What Ansible itself makes of the host's variable: `ansible -m debug -a var=...`, which templates it on
    the control node (the debug action runs no module on the host and opens no connection)."""
    completed = subprocess.run(
        [str(ANSIBLE), "hv01", "-i", str(inventory), *vault_options(tmp_path), "-m", "debug", "-a",
         f"var={variable}", "-o"],
        capture_output=True, text=True, timeout=180, env=ansible_env(tmp_path), cwd=tmp_path, check=True,
    )
    # `hv01 | SUCCESS => {"ansible_password": "...", "changed": false}`
    return json.loads(completed.stdout.split("=>", 1)[1])[variable]


def test_the_vault_layout_of_ansibles_guide_gives_the_winrm_password(tmp_path: Path) -> None:
    inventory = school(
        tmp_path,
        'ansible_password: "{{ vault_winrm_password }}"\n',
        vaulted("vault_winrm_password", WINRM_PASSWORD),
    )
    result = cli("validate", str(inventory), *vault_options(tmp_path))
    assert result.exit_code == 0, result.output
    assert WINRM_PASSWORD not in result.output
    loaded = load(inventory, vault=Vault([VaultSecret(Secret(VAULT_PASSWORD))]))
    assert loaded.hosts["hv01"].connection.password == Secret(WINRM_PASSWORD)
    assert ansible_templates(tmp_path, inventory, "ansible_password") == WINRM_PASSWORD


def test_a_named_plain_password_in_a_file_others_can_read_is_refused_at_its_own_line(tmp_path: Path) -> None:
    inventory = school(
        tmp_path,
        'ansible_password: "{{ winrm_password }}"\n',
        f"# not encrypted\nwinrm_password: {WINRM_PASSWORD}\n",
        vault_mode=0o644,
    )
    result = cli("validate", str(inventory))
    assert result.exit_code == 2, result.output
    vault_file = tmp_path / "group_vars/hyperv/vault.yml"
    refusals = [line for line in result.stdout.splitlines() if line.startswith(f"{vault_file}:2:")]
    assert any("group or others can read is refused" in line for line in refusals), result.stdout
    assert WINRM_PASSWORD not in result.output


def test_a_named_plain_password_in_an_owner_only_file_is_a_warning_as_a_literal_is(tmp_path: Path) -> None:
    inventory = school(tmp_path, 'ansible_password: "{{ winrm_password }}"\n', f"winrm_password: {WINRM_PASSWORD}\n")
    loaded = load(inventory)
    assert messages(loaded, "error") == []
    assert any("a literal ansible_password is written" in m for m in messages(loaded, "warning"))
    assert loaded.hosts["hv01"].connection.password == Secret(WINRM_PASSWORD)


def test_other_values_read_as_the_variable_they_name(tmp_path: Path) -> None:
    """`cpus: "{{ lab_cpus }}"` is the number lab_cpus holds; a reference may name another reference."""
    inventory = school(
        tmp_path,
        'ansible_password: "{{ vault_winrm_password }}"\n'
        "lab_cpus: 4\nlab_memory: 8GB\nroom_switch: '{{ school_switch }}'\nschool_switch: Classroom LAN\n"
        "multipoint_vms:\n"
        "  - {name: lab-01, cpus: '{{ lab_cpus }}', memory: '{{lab_memory}}', switch: '{{ room_switch }}',"
        " disk: {parent: 'D:\\images\\mps.vhdx'}}\n",
        vaulted("vault_winrm_password", WINRM_PASSWORD),
    )
    loaded = load(inventory, vault=Vault([VaultSecret(Secret(VAULT_PASSWORD))]))
    assert messages(loaded, "error") == []
    lab = loaded.hosts["hv01"].vm("lab-01")
    assert lab is not None
    assert (lab.cpus, lab.memory, lab.switch) == (4, 8 * 1024**3, "Classroom LAN")


def test_a_reference_to_nothing_and_a_circle_are_findings_at_the_line_that_wrote_them(tmp_path: Path) -> None:
    inventory = school(
        tmp_path,
        'ansible_password: "{{ vault_winrm_password }}"\n'
        "first: '{{ second }}'\nsecond: '{{ first }}'\n"
        "multipoint_vms:\n"
        "  - {name: lab-01, switch: '{{ nowhere }}', path: '{{ first }}', disk: {parent: 'D:\\images\\mps.vhdx'}}\n",
        vaulted("vault_winrm_password", WINRM_PASSWORD),
    )
    loaded = load(inventory, vault=Vault([VaultSecret(Secret(VAULT_PASSWORD))]))
    found = messages(loaded, "error")
    vars_file = tmp_path / "group_vars/hyperv/vars.yml"
    assert any(f"{vars_file}:5:" in m and "{{ nowhere }} names a variable this host does not have" in m
               for m in found), found
    assert any(f"{vars_file}:5:" in m and "go round in a circle: first -> second -> first" in m for m in found), found
    assert "hv01" not in loaded.hosts


def test_a_guest_password_may_name_a_vaulted_variable_never_one_in_plain_text(tmp_path: Path) -> None:
    vaulted_guest = guest_school(tmp_path / "vaulted", "", "{admin_password: '{{ vault_admin_password }}'}")
    assert loaded_guest(vaulted_guest).admin_password == Secret(ADMIN_PASSWORD)

    plain = guest_school(tmp_path / "plain", f"admin_text: {ADMIN_PASSWORD}\n", "{admin_password: '{{ admin_text }}'}")
    result = cli("validate", str(plain), *vault_options(tmp_path))
    assert result.exit_code == 2, result.output
    assert "names '{{ admin_text }}', which holds the secret as text" in result.stdout
    assert ADMIN_PASSWORD not in result.output


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(st.text(), st.integers(), st.booleans(), st.none()),
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
        lambda n: n not in {"true", "false", "none", "True", "False", "None"}
    ),
    spacing=st.sampled_from(["{{ %s }}", "{{%s}}", "{{- %s -}}", "  {{ %s }}\n"]),
)
def test_a_reference_reads_exactly_as_the_value_it_names(value: object, name: str, spacing: str) -> None:
    """Whatever a variable holds, naming it gives what writing it there gives: the same value, or the same
    refusal (a template inside it is refused as it would be in place)."""
    assume(variable_reference(value) != name)  # naming itself is a circle, tested above
    where = Origin("inv.yaml", 3, 7, ("all", "vars", "x"))
    direct, named = Reader(), Reader(variables={name: value})
    assert named.scalar(spacing % name, where) == direct.scalar(value, where)
    assert [f.message for f in named.findings] == [f.message for f in direct.findings]


def test_a_product_key_may_name_the_public_kms_key_but_a_named_mak_is_a_secret(tmp_path: Path) -> None:
    guest = "{admin_password: '{{ vault_admin_password }}', product_key: '{{ %s }}'}"
    public = guest_school(tmp_path / "public", "kms_key: XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G\n", guest % "kms_key")
    assert loaded_guest(public).product_key == "XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G"

    mak = "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY"
    private = guest_school(tmp_path / "mak", f"site_mak: {mak}\n", guest % "site_mak")
    result = cli("validate", str(private), *vault_options(tmp_path))
    assert result.exit_code == 2 and "holds the secret as text" in result.stdout
    assert mak not in result.output


def test_a_list_of_vms_may_be_named_and_its_mistakes_point_where_it_is_written(tmp_path: Path) -> None:
    """`multipoint_vms: "{{ lab_vms }}"`, the list kept in group_vars/hyperv/vms.yml: the VMs are that list's,
    and a bad value inside it is reported at its own line in vms.yml, not at the reference."""
    write(
        tmp_path / "group_vars/hyperv/vms.yml",
        "lab_vms:\n"
        "  - {name: lab-01, cpus: 2, disk: {parent: 'D:\\images\\mps.vhdx'}}\n"
        "  - {name: lab-02, cpus: many, disk: {parent: 'D:\\images\\mps.vhdx'}}\n",
    )
    inventory = school(
        tmp_path, VAULTED_PASSWORDS + 'multipoint_vms: "{{ lab_vms }}"\n', vaulted("vault_winrm_password", WINRM_PASSWORD)
    )
    loaded = load(inventory, vault=Vault([VaultSecret(Secret(VAULT_PASSWORD))]))
    errors = messages(loaded, "error")
    vms_file = tmp_path / "group_vars/hyperv/vms.yml"
    assert len(errors) == 1 and errors[0].startswith(f"{vms_file}:3:"), errors
    assert "cpus of VM 'lab-02' must be a whole number" in errors[0]

    write(vms_file, "lab_vms:\n  - {name: lab-01, cpus: 2, disk: {parent: 'D:\\images\\mps.vhdx'}}\n")
    fixed = load(inventory, vault=Vault([VaultSecret(Secret(VAULT_PASSWORD))]))
    assert messages(fixed, "error") == []
    assert [vm.name for vm in fixed.hosts["hv01"].vms] == ["lab-01"]
