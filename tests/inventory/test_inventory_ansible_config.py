"""ansible.cfg and ANSIBLE_* settings that change what an inventory resolves to are refused, never ignored.

Given an admin whose ansible.cfg (found as Ansible finds it: ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg)
or environment sets hash_behaviour=merge, another variable precedence, other ignored extensions..., when
they run orchestrate on their inventory, then they get an error naming the file, the key and its line (or
the environment variable) instead of a silently different resolution: the real ansible-inventory, run with
the same config, shows what would have differed. A setting left at its default changes nothing, and the
vault password file set in ansible.cfg is honoured as Ansible honours it.

No test reads the real ~, /etc or the repository's folder: each runs in its tmp_path, with HOME there and
ANSIBLE_CONFIG unset or pointing there.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from inventory_support import ANSIBLE_INVENTORY, ansible_env, cli, load, write

from orchestrator.inventory.vault import encrypt

MERGING = """
all:
  vars: {m: {a: 1, b: 1}}
  children:
    lab:
      vars: {m: {b: 2}}
      hosts: {hv01: }
"""


@pytest.fixture
def admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The admin's project folder as the current folder, their home beside it, no ANSIBLE_* set."""
    project = tmp_path / "project"
    project.mkdir(mode=0o755)
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith("ANSIBLE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    return project


def real_ansible_list(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real `ansible-inventory --list` run in `project`, finding its config as it would for the admin
    (ANSIBLE_CONFIG unset unless `env` sets it; HOME is tmp_path's)."""
    base = ansible_env(project.parent)
    base.pop("ANSIBLE_CONFIG")
    base["HOME"] = str(project.parent / "home")
    return subprocess.run(
        [str(ANSIBLE_INVENTORY), *args, "--list"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=project,
        env={**base, **(env or {})},
    )


def test_hash_behaviour_merge_in_the_projects_ansible_cfg_is_refused_at_its_line(admin: Path) -> None:
    write(admin / "ansible.cfg", "[defaults]\n# the old way\nhash_behaviour = merge\n")
    inventory = write(admin / "inv.yaml", MERGING)

    ansible = real_ansible_list(admin, "-i", str(inventory))
    assert ansible.returncode == 0, ansible.stderr
    assert json.loads(ansible.stdout)["_meta"]["hostvars"]["hv01"]["m"] == {"a": 1, "b": 2}  # merged

    for command in (["validate", str(inventory)], ["inventory", str(inventory), "--list"]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert f"{admin / 'ansible.cfg'}:3:1: error:" in result.output
        assert "[defaults] hash_behaviour = merge" in result.output and "DEFAULT_HASH_BEHAVIOUR" in result.output
        assert '"m"' not in result.stdout  # nothing of the (unmerged) inventory is shown


def test_hash_behaviour_from_the_environment_is_refused_naming_the_variable(admin: Path) -> None:
    inventory = write(admin / "inv.yaml", MERGING)
    ansible = real_ansible_list(admin, "-i", str(inventory), env={"ANSIBLE_HASH_BEHAVIOUR": "merge"})
    assert json.loads(ansible.stdout)["_meta"]["hostvars"]["hv01"]["m"] == {"a": 1, "b": 2}

    result = cli("inventory", str(inventory), "--list", env={"ANSIBLE_HASH_BEHAVIOUR": "merge"})
    assert result.exit_code == 2
    assert "ANSIBLE_HASH_BEHAVIOUR=merge is set" in result.stderr and "unset ANSIBLE_HASH_BEHAVIOUR" in result.stderr


def test_the_environment_wins_over_the_config_file_as_in_ansible(admin: Path) -> None:
    write(admin / "ansible.cfg", "[defaults]\nhash_behaviour = merge\n")
    inventory = write(admin / "inv.yaml", MERGING)
    ansible = real_ansible_list(admin, "-i", str(inventory), env={"ANSIBLE_HASH_BEHAVIOUR": "replace"})
    assert json.loads(ansible.stdout)["_meta"]["hostvars"]["hv01"]["m"] == {"b": 2}

    result = cli("inventory", str(inventory), "--list", env={"ANSIBLE_HASH_BEHAVIOUR": "replace"})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["_meta"]["hostvars"]["hv01"]["m"] == {"b": 2}


def test_settings_at_their_default_change_nothing(admin: Path) -> None:
    write(
        admin / "ansible.cfg",
        """
        [defaults]
        hash_behaviour = "replace"
        force_valid_group_names = ignore
        yaml_valid_extensions = .yml, .yaml, .json
        vars_plugins_enabled = ansible.builtin.host_group_vars
        host_key_checking = False
        [inventory]
        enable_plugins = host_list, yaml, ini
        """,
    )
    inventory = write(admin / "inv.yaml", MERGING)
    ansible = real_ansible_list(admin, "-i", str(inventory))
    result = cli("inventory", str(inventory), "--list")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["_meta"]["hostvars"] == json.loads(ansible.stdout)["_meta"]["hostvars"]


def test_ansible_config_pointing_at_a_folder_and_ignored_extensions(admin: Path, tmp_path: Path) -> None:
    """ANSIBLE_CONFIG=folder means folder/ansible.cfg; [inventory] ignore_extensions there would make Ansible
    skip the .yml files of an inventory directory, so the hosts would differ."""
    settings = tmp_path / "settings"
    write(settings / "ansible.cfg", "[inventory]\nignore_extensions = .yml, .orig\n")
    write(admin / "inventory/lab.yml", "lab: {hosts: {hv01: }}\n")
    write(admin / "inventory/office.ini", "[office]\npc01\n")

    env = {"ANSIBLE_CONFIG": str(settings)}
    ansible = real_ansible_list(admin, "-i", "inventory", env=env)
    assert "hv01" not in ansible.stdout and "pc01" in ansible.stdout  # Ansible skips lab.yml

    result = cli("validate", "inventory", env=env)
    assert result.exit_code == 2
    assert f"{settings / 'ansible.cfg'}:2:1: error:" in result.output
    assert "[inventory] ignore_extensions = .yml, .orig" in result.output


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[defaults]\nprecedence = groups_inventory, all_inventory\n", "VARIABLE_PRECEDENCE"),
        ("[defaults]\ninventory_ignore_patterns = ^lab\n", "INVENTORY_IGNORE_PATTERNS"),
        ("[defaults]\nyaml_valid_extensions = .yml\n", "YAML_FILENAME_EXTENSIONS"),
        ("[defaults]\nforce_valid_group_names = always\n", "TRANSFORM_INVALID_GROUP_CHARS"),
        ("[defaults]\nvars_plugins_enabled = host_group_vars, community.sops.sops\n", "VARIABLE_PLUGINS_ENABLED"),
        ("[defaults]\nvault_id_match = yes\n", "DEFAULT_VAULT_ID_MATCH"),
        ("[inventory]\nenable_plugins = ini, yaml\n", "INVENTORY_ENABLED"),
        ("[inventory]\nenable_plugins = yaml\n", "INVENTORY_ENABLED"),
        ("[inventory]\nenable_plugins = amazon.aws.aws_ec2, yaml, ini\n", "INVENTORY_ENABLED"),
    ],
)
def test_each_setting_that_changes_resolution_is_refused(admin: Path, text: str, named: str) -> None:
    write(admin / "ansible.cfg", text)
    inventory = load(write(admin / "inv.yaml", MERGING))
    errors = [f for f in inventory.findings if f.is_error]
    assert len(errors) == 1 and named in errors[0].message
    assert errors[0].location is not None and errors[0].location.line == 2
    assert inventory.hosts == {} and inventory.hostvars == {}


def test_home_config_is_read_when_the_project_has_none(admin: Path, tmp_path: Path) -> None:
    write(tmp_path / "home/.ansible.cfg", "[defaults]\nhash_behaviour=merge\n")
    inventory = load(write(admin / "inv.yaml", MERGING))
    assert [f.location.file for f in inventory.findings if f.is_error and f.location] == [
        str(tmp_path / "home/.ansible.cfg")
    ]


def test_a_world_writable_project_folder_is_skipped_as_ansible_skips_it(admin: Path) -> None:
    write(admin / "ansible.cfg", "[defaults]\nhash_behaviour = merge\n")
    inventory = write(admin / "inv.yaml", MERGING)
    admin.chmod(0o777)
    ansible = real_ansible_list(admin, "-i", str(inventory))
    assert json.loads(ansible.stdout)["_meta"]["hostvars"]["hv01"]["m"] == {"b": 2}  # not merged
    assert "world writable" in ansible.stderr

    result = cli("inventory", str(inventory), "--list")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["_meta"]["hostvars"]["hv01"]["m"] == {"b": 2}
    assert "world-writable" in result.stderr


def test_a_config_file_ansible_cannot_read_is_refused_too(admin: Path) -> None:
    write(admin / "ansible.cfg", "[defaults]\nforks = 5\nforks = 10\n")
    inventory = write(admin / "inv.yaml", MERGING)
    assert real_ansible_list(admin, "-i", str(inventory)).returncode != 0

    result = cli("validate", str(inventory))
    assert result.exit_code == 2
    assert f"{admin / 'ansible.cfg'}:3:1: error: Ansible cannot read its config file" in result.output


def test_vault_password_file_in_ansible_cfg_is_honoured_relative_to_the_file(
    admin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(admin / "ansible.cfg", "[defaults]\nvault_password_file = secrets/vault-pass.txt\n")
    write(admin / "secrets/vault-pass.txt", "s3cret vault\n")
    plain = "[hyperv]\nhv01 ansible_connection=winrm multipoint_vms=[]\n"
    inventory = write(admin / "hosts.ini", encrypt(plain, "s3cret vault"))
    elsewhere = admin.parent / "home"  # run from another folder: the path is the config file's, not the cwd's
    env = {"ANSIBLE_CONFIG": str(admin / "ansible.cfg")}

    ansible = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=elsewhere,
        env={**ansible_env(admin.parent), **env},
    )
    assert "hv01" in json.loads(ansible.stdout)["hyperv"]["hosts"], ansible.stderr

    monkeypatch.chdir(elsewhere)
    result = cli("inventory", str(inventory), "--list", env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["hyperv"]["hosts"] == ["hv01"]


def test_a_missing_vault_password_file_from_ansible_cfg_names_the_setting(admin: Path) -> None:
    write(admin / "ansible.cfg", "[defaults]\n\nvault_password_file = ~/.vault-pass\n")
    result = cli("validate", str(write(admin / "inv.yaml", MERGING)))
    assert result.exit_code == 2
    assert "was not found (from [defaults] vault_password_file in" in result.output
    assert f"{admin / 'ansible.cfg'}:3" in result.output
