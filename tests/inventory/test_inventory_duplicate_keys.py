"""A YAML key written twice is read as Ansible reads it: the last value wins, with a warning at its line.

Given an inventory (or a group_vars file) where a key is written twice in one mapping (a host listed twice
under `hosts:`, a variable set twice, a variable written again over one merged in with `<<: *defaults`),
when the admin validates or lists it, then the hosts and variables are exactly ansible-inventory's (the last
value wins) and each duplicate is a warning naming the file, the key and both lines, as Ansible warns. With
Ansible's DUPLICATE_YAML_DICT_KEY set to `error` the file is refused, as Ansible refuses it; with `ignore`
no word is said; a value Ansible does not accept is refused.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from inventory_support import ANSIBLE_INVENTORY, ansible_env, ansible_view, cli, load, messages, ours, write

INVENTORY = """\
all:
  vars:
    defaults: &defaults {ansible_connection: simulator, room: none, seats: 10}
  children:
    lab:
      hosts:
        hv01:
          <<: *defaults
          room: science
        hv02:
          seats: 12
          seats: 14
        hv01:
          <<: *defaults
          room: physics
"""


def test_duplicates_resolve_as_in_ansible_with_a_warning_at_each_line(tmp_path: Path) -> None:
    inventory = write(tmp_path / "inventory.yml", INVENTORY)
    write(tmp_path / "group_vars" / "lab.yml", "teacher: smith\nteacher: jones\n")
    assert ours(inventory) == ansible_view(inventory)
    assert ours(inventory)["_meta"]["hostvars"]["hv01"]["room"] == "physics"
    warnings = messages(load(inventory), "warning")
    shown = str(inventory)
    expected = [
        f"{shown}:12:11: warning: all.children.lab.hosts.hv02.seats: duplicate key 'seats': first at line 11, "
        "again at line 12; the last value is used, as in Ansible",
        f"{shown}:13:9: warning: all.children.lab.hosts.hv01: duplicate key 'hv01': first at line 7, again at "
        "line 13; the last value is used, as in Ansible",
        f"{shown}:15:11: warning: all.children.lab.hosts.hv01.room: duplicate key 'room': merged from '<<' at "
        "line 14, written again at line 15; the last value is used, as in Ansible",
        f"{tmp_path / 'group_vars' / 'lab.yml'}:2:1: warning: teacher: duplicate key 'teacher': first at line 1, "
        "again at line 2; the last value is used, as in Ansible",
    ]
    for line in expected:
        assert any(w.startswith(line) for w in warnings), (line, warnings)
    result = cli("validate", str(inventory))
    assert result.exit_code == 0, result.output


def ansible_refuses(tmp_path: Path, inventory: Path, mode: str) -> bool:
    completed = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**ansible_env(tmp_path), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true", "ANSIBLE_DUPLICATE_YAML_DICT_KEY": mode},
    )
    return completed.returncode != 0


@pytest.mark.parametrize(("mode", "refused", "warned"), [("error", True, False), ("ignore", False, False)])
def test_duplicate_yaml_dict_key_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, refused: bool, warned: bool
) -> None:
    inventory = write(tmp_path / "inventory.yml", INVENTORY)
    assert ansible_refuses(tmp_path, inventory, mode) is refused
    monkeypatch.setenv("ANSIBLE_DUPLICATE_YAML_DICT_KEY", mode)
    loaded = load(inventory)
    errors = messages(loaded, "error")
    assert bool(errors) is refused
    if refused:
        assert f"{inventory}:9:11: error:" in errors[0] and "DUPLICATE_YAML_DICT_KEY is error" in errors[0]
    assert not any("duplicate key" in w for w in messages(loaded, "warning"))


def test_a_value_ansible_refuses_for_duplicate_yaml_dict_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = write(tmp_path / "inventory.yml", INVENTORY)
    assert ansible_refuses(tmp_path, inventory, "Error")
    monkeypatch.setenv("ANSIBLE_DUPLICATE_YAML_DICT_KEY", "Error")
    errors = messages(load(inventory), "error")
    assert errors and "ANSIBLE_DUPLICATE_YAML_DICT_KEY=Error" in errors[0] and "error, warn, ignore" in errors[0]
