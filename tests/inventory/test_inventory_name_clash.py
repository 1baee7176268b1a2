"""A host and a group with the same name: refused at the host's line, naming where the group is.

Given an inventory where `web` is a host and also a group (in YAML, the host only under `all.hosts`; in INI,
a group `[web]` holding a host `web`), when the admin validates it, then there is one error at the host's
line that names the group's line and says to rename one of them. ansible-core only warns ("Found both group
and host with same name") and, for the YAML form, gives hv01 the variables of a different group than the
inventory suggests: the oracle shows both, so the refusal is not a difference we hide.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory_support import ansible_env, ansible_view, cli, write

CLASH_YAML = """
    all:
      hosts:
        web:
      children:
        web:
          vars: {role: web}
          hosts: {hv01: }
        zzz:
          vars: {role: zzz}
          hosts: {hv01: }
"""
CLASH_INI = "[web]\nweb ansible_connection=simulator orchestrate_retry={}\n"


def ansible_warnings(tmp_path: Path, inventory: Path) -> str:
    """stderr of the real `ansible-inventory --list` (its config and home under tmp_path)."""
    import subprocess
    import sys

    command = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=ansible_env(tmp_path), check=True
    )
    return completed.stderr


@pytest.mark.parametrize(
    ("name", "text", "host_line", "group_line"),
    [("inv.yaml", CLASH_YAML, 4, 6), ("hosts.ini", CLASH_INI, 2, 1)],
    ids=["yaml", "ini"],
)
def test_a_host_named_like_a_group_is_refused_where_ansible_warns(
    tmp_path: Path, name: str, text: str, host_line: int, group_line: int
) -> None:
    path = write(tmp_path / name, text)
    assert "Found both group and host with same name: web" in ansible_warnings(tmp_path, path)
    result = cli("validate", str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}:{host_line}:" in result.stdout
    assert f"'web' is both a host and a group (the group is at {path}:{group_line}:" in result.stdout
    assert "rename the host or the group" in result.stdout


def test_ansible_resolves_the_yaml_clash_unlike_what_it_says(tmp_path: Path) -> None:
    """Why a refusal: hv01 is in web and zzz (same depth, z sorts last, so role should be zzz), yet
    ansible-core gives role: web, because it put the group web under ungrouped."""
    path = write(tmp_path / "inv.yaml", CLASH_YAML)
    assert ansible_view(path)["_meta"]["hostvars"]["hv01"]["role"] == "web"
    assert ansible_view(path)["ungrouped"]["children"] == ["web"]
    listed = cli("inventory", str(path), "--list")
    assert "'web' is both a host and a group" in listed.stderr
