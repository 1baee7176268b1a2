"""Inventory directories and several -i sources resolve as Ansible resolves them.

Given an Ansible `inventory/` directory (several INI and YAML sources, group_vars/ and host_vars/ beside them,
files Ansible skips) or several `-i` sources, when we read them, then the groups, hosts and variables equal
what ansible-core resolves, in Ansible's order (sorted names; a later source and its vars folders win).
"""

from __future__ import annotations

import json
from pathlib import Path

from inventory_support import ansible_list_of, ansible_view_many, cli, load, messages, ours_many, write

DIRECTORY = {
    "inventory/01-hosts.ini": """
        [labs]
        hv01 a=ini
        hv02
        [labs:vars]
        b=ini-labs
    """,
    "inventory/02-more.yml": """
        all:
          children:
            labs:
              hosts:
                hv03: {a: yaml}
              vars: {b: yaml-labs, c: yaml}
            hyperv:
              children: {labs: }
    """,
    "inventory/03-extra": "[extra]\nhv09 a=no-extension\n",  # no extension: YAML first, then INI
    "inventory/sub/10-nested.yaml": "all:\n  hosts:\n    nested01: {n: 1}\n",
    "inventory/README.md": "# notes: Ansible skips .md\n[ignored]\nnope\n",
    "inventory/old.cfg": "[ignored]\nnope\n",
    "inventory/backup.ini~": "[ignored]\nnope\n",
    "inventory/.hidden.yml": "all:\n  hosts: {nope: }\n",
    "inventory/group_vars/labs.yml": "c: gv-labs\nd: gv-labs\n",
    "inventory/group_vars/all/main.yml": "e: gv-all\n",
    "inventory/host_vars/hv02.yml": "a: host-vars\n",
}


def _files(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)


def test_directory_resolves_like_ansible(tmp_path: Path) -> None:
    _files(tmp_path, DIRECTORY)
    folder = tmp_path / "inventory"
    assert ours_many([folder]) == ansible_view_many([folder])
    listed = ours_many([folder])
    assert "nope" not in listed["_meta"]["hostvars"]
    assert listed["_meta"]["hostvars"]["hv02"]["a"] == "host-vars"


def test_inventory_list_of_a_directory_equals_ansible_inventory(tmp_path: Path) -> None:
    _files(tmp_path, DIRECTORY)
    folder = str(tmp_path / "inventory")
    result = cli("inventory", "-i", folder, "--list")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ansible_list_of(tmp_path, "-i", folder)


def test_several_sources_merge_like_ansible(tmp_path: Path) -> None:
    """`-i site-a/hosts.ini -i site-b/inv.yaml`: each source's group_vars apply, the later one winning."""
    _files(
        tmp_path,
        {
            "site-a/hosts.ini": "[labs]\nhv01\nhv02 x=a-host\n[labs:vars]\nx=a-labs\ny=a-labs\n",
            "site-a/group_vars/labs.yml": "z: a-gv\nw: a-gv\n",
            "site-a/group_vars/all.yml": "all_a: 1\nboth: a\n",
            "site-b/inv.yaml": "all:\n  children:\n    labs:\n      hosts: {hv02: , hv03: {x: b-host}}\n"
            "      vars: {y: b-labs}\n",
            "site-b/group_vars/labs.yml": "z: b-gv\n",
            "site-b/group_vars/all.yml": "both: b\n",
            "site-b/host_vars/hv01.yml": "w: b-host-vars\n",
        },
    )
    sources = [tmp_path / "site-a/hosts.ini", tmp_path / "site-b/inv.yaml"]
    assert ours_many(sources) == ansible_view_many(sources)
    result = cli("inventory", str(sources[0]), "-i", str(sources[1]), "--list")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ansible_list_of(
        tmp_path, "-i", str(sources[0]), "-i", str(sources[1])
    )


def test_validate_accepts_i_instead_of_the_positional(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hosts.ini",
        "[hv]\nhv01 ansible_connection=simulator\n[hv:vars]\nmultipoint_vms=[]\n",
    )
    result = cli("validate", "-i", str(path))
    assert result.exit_code == 0, result.output
    assert cli("validate").exit_code == 2  # no inventory at all: a usage error


def test_a_broken_file_in_a_directory_names_that_file(tmp_path: Path) -> None:
    _files(tmp_path, {"inventory/a.yml": "all:\n  hosts: {hv01: }\n", "inventory/b.yml": "all: [\n"})
    inventory = load(tmp_path / "inventory")
    assert any(f"{tmp_path}/inventory/b.yml:2:1: error: YAML syntax error" in m for m in messages(inventory))
    assert "hv01" in inventory.hostvars  # the readable source still counts


def test_toml_inventory_is_refused_clearly(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.toml", "[all.hosts]\nhv01 = {}\n")
    assert any("TOML inventories are not supported" in m for m in messages(load(path)))
