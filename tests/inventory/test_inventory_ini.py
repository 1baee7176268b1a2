"""INI inventories (`hosts.ini`) resolve exactly as Ansible resolves them, and their problems point at the line.

Given the INI inventory an Ansible shop already has, when we read it, then every host's variables (with the
types Ansible's ini plugin gives them) and every group's hosts and children equal ansible-core's. Hand-written
cases cover each rule of the plugin; hypothesis-generated INI trees cover their combinations.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inventory_support import (
    ansible_inventory,
    ansible_list_of,
    ansible_view_many,
    cli,
    load,
    messages,
    ours_many,
    write,
)

CASES: dict[str, dict[str, str]] = {
    "sections, vars, children, ungrouped, comments": {
        "hosts.ini": """
            # an Ansible shop's inventory
            ; both comment markers
            solo ansible_host=10.0.0.9
            [labs]
            hv01.school.local ansible_port=5986
            hv02.school.local  # a trailing comment
            [labs:vars]
            ansible_user=admin
            note=hello world
            [hyperv:children]
            labs
            [all:vars]
            site=school
        """,
    },
    "Python literals on host lines and in :vars (Ansible literal_evals both)": {
        "hosts.ini": """
            [g]
            h1 i=1 neg=-2 b=True n=None y=yes hex=0x10 f=1.5 l=[1,2] q="x y" s='single' e=... c=1j t=(1,2)
            h2 d={'k':1} quoted="[1,2]" empty= eq=a=b
            [g:vars]
            n=5
            t=True
            text=hello world
            quoted="quoted"
            lst=[1, 2]
            dct={'a': {'b': [1, 2]}}
            spaced = 7
        """,
    },
    "ranges, letters, steps, ports": {
        "hosts.ini": """
            [web]
            web[01:03].example
            lab-[a:c]:2222
            even[02:10:2]
            ten.[1:3].example:5986 x=1
        """,
    },
    "children named before their section, :vars before the group": {
        "hosts.ini": """
            [top:children]
            middle
            [middle:vars]
            level=middle
            [middle:children]
            leaf
            [leaf]
            hv01 level=host
            [top:vars]
            level=top
            only_top=1
        """,
    },
    "a host in several groups, a group under several parents, group priority": {
        "hosts.ini": """
            [zeta]
            hv01
            [alpha]
            hv01
            hv02
            [zeta:vars]
            who=zeta
            [alpha:vars]
            who=alpha
            ansible_group_priority=10
            [p1:children]
            alpha
            [p2:children]
            alpha
            zeta
            [ungrouped]
            hv03
            hv01
        """,
    },
    "group_vars and host_vars beside an INI file": {
        "hosts.ini": """
            [lab]
            hv01 a=inv-host
            hv02
            [lab:vars]
            a=inv-lab
            b=inv-lab
        """,
        "group_vars/lab.yml": "b: gv-lab\nc: [1, 2]\n",
        "host_vars/hv01.yml": "a: hv-file\n",
        "group_vars/all/10.yml": "d: all\n",
    },
    "a host defined twice: later values win, port kept from the first": {
        "hosts.ini": """
            hv01:5999 a=1 b=1
            [g]
            hv01:6000 b=2
        """,
    },
}


def _files(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)


@pytest.mark.parametrize("files", list(CASES.values()), ids=list(CASES))
def test_ini_resolution_equals_ansible(tmp_path: Path, files: dict[str, str]) -> None:
    _files(tmp_path, files)
    inventory = tmp_path / "hosts.ini"
    assert not [f for f in load(inventory).findings if "INI" in f.message or "section" in f.message]
    assert ours_many([inventory]) == ansible_view_many([inventory])


def test_inventory_list_of_an_ini_file_equals_ansible_inventory(tmp_path: Path) -> None:
    """The admin's `hosts.ini`, through the CLI, prints what the real `ansible-inventory --list` prints."""
    _files(tmp_path, CASES["sections, vars, children, ungrouped, comments"])
    result = cli("inventory", str(tmp_path / "hosts.ini"), "--list")
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout) == ansible_list_of(tmp_path, "-i", str(tmp_path / "hosts.ini"))


def test_graph_equals_ansible_inventory_graph(tmp_path: Path) -> None:
    _files(tmp_path, CASES["a host in several groups, a group under several parents, group priority"])
    path = str(tmp_path / "hosts.ini")
    result = cli("inventory", path, "--graph")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip("\n") == ansible_inventory(tmp_path, "-i", path, "--graph").rstrip("\n")
    sub = cli("inventory", path, "--graph", "p2")
    assert sub.stdout.rstrip("\n") == ansible_inventory(tmp_path, "-i", path, "--graph", "p2").rstrip("\n")


def test_ini_file_without_extension_is_read_as_ini_not_a_yaml_error(tmp_path: Path) -> None:
    """Ansible tries YAML, then INI: a plain `hosts` file in INI is an inventory, not a YAML syntax error."""
    path = write(tmp_path / "hosts", "[labs]\nhv01 ansible_connection=simulator multipoint_vms=[]\n")
    inventory = load(path)
    assert not inventory.errors, messages(inventory)
    assert inventory.groups["labs"].hosts == ("hv01",)
    assert ours_many([path]) == ansible_view_many([path])


def test_hosts_ini_is_valid_with_product_variables(tmp_path: Path) -> None:
    """A MultiPoint host written in INI: the product's variables are read from it like from YAML."""
    path = write(
        tmp_path / "hosts.ini",
        """
        [hyperv]
        hv01 ansible_connection=simulator
        [hyperv:vars]
        multipoint_vms=[{'name': 'lab', 'cpus': 2, 'memory': '4GB', 'disk': {'parent': 'D:\\\\base.vhdx'}}]
        """,
    )
    result = cli("validate", str(path))
    assert result.exit_code == 0, result.output
    assert "YAML" not in result.output
    vm = load(path).hosts["hv01"].vms[0]
    assert (vm.name, vm.cpus) == ("lab", 2)


BROKEN = [
    ("[labs\nhv01\n", 3, 1, "YAML"),  # neither INI nor YAML: said as YAML for a file without a section
    ("[labs:hostz]\nhv01\n", 1, 1, "unknown type 'hostz'"),
    ("[labs]\nhv01 novalue\n", 2, 6, "expected key=value after the host name, got 'novalue'"),
    ("[labs]\nhv01 a='open\n", 2, 1, "cannot read this host line"),
    ("[labs:vars]\njustaword\n", 2, 1, "expected key=value, got 'justaword'"),
    ("[labs:children]\nmissing\n", 2, 1, "includes group 'missing', which is never defined"),
    ("[ghost:vars]\nx=1\n", 1, 1, "section [ghost:vars] is for group 'ghost'"),
    ("[labs]\nhv01:\n", 2, 1, "a ':' at the end is kept for a port"),
    ("[labs]\n  hv[1:]\n", 2, 3, "must give its end value"),
    ("[la bs]\nhv01\n", 1, 1, "invalid section entry"),
]


@pytest.mark.parametrize(("text", "line", "column", "fragment"), BROKEN, ids=[b[3] for b in BROKEN])
def test_broken_ini_is_a_finding_at_its_line(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    name = "hosts" if fragment == "YAML" else "hosts.ini"
    path = write(tmp_path / name, text)
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert any(
        f.startswith(f"{path}:{line}:{column}: error: ") and fragment in f for f in result.stdout.splitlines()
    ), result.stdout


def test_every_problem_of_an_ini_file_in_one_run(tmp_path: Path) -> None:
    """Ansible stops at the first bad line; we report each, so one edit fixes them all."""
    path = write(tmp_path / "hosts.ini", "[a]\nh0\nh1 bad\n[b:nope]\n[c:children]\nghost\n")
    lines = [f.location.line for f in load(path).errors]
    assert lines == [3, 4, 6]


def test_column_of_a_host_variable(tmp_path: Path) -> None:
    """A finding about a variable on a host line points at that variable."""
    path = write(tmp_path / "hosts.ini", "[hv]\nhv01 ansible_connection=simulator multipoint_vms=7\n")
    error = next(f for f in load(path).errors if "multipoint_vms" in f.message)
    assert (error.location.line, error.location.column) == (2, 35)


# -- generated INI trees ---------------------------------------------------------------------------------

GROUPS = ["alpha", "beta", "gamma", "delta", "eps"]
HOSTS = ["hv1", "hv2", "hv3", "r[1:2]", "p:2222"]
HOST_VALUES = [
    "1",
    "-2",
    "True",
    "None",
    "yes",
    "0x1f",
    "1.5",
    "[1,2]",
    '"[1,2]"',
    "abc",
    "'q'",
    "...",
    "1j",
    '"a b"',
]
GROUP_VALUES = ["hello world", "[1, 2]", "{'a': 1}", "True", "'x'", "7", "yes", "{'a': [1, {'b': None}]}"]
VAR_NAMES = ["v1", "v2", "v3"]


@st.composite
def ini_trees(draw: Any) -> str:
    count = draw(st.integers(1, len(GROUPS)))
    groups = GROUPS[:count]
    # Edges only from an earlier group to a later one: no loops, as Ansible requires.
    children = {
        g: draw(st.lists(st.sampled_from(groups[i + 1 :]), unique=True, max_size=2)) if i + 1 < count else []
        for i, g in enumerate(groups)
    }
    sections: list[list[str]] = []

    def host_line() -> str:
        host = draw(st.sampled_from(HOSTS))
        assigned = draw(st.dictionaries(st.sampled_from(VAR_NAMES), st.sampled_from(HOST_VALUES), max_size=2))
        return " ".join([host, *(f"{k}={v}" for k, v in assigned.items())])

    for group in groups:
        hosts = draw(st.lists(st.just(None), max_size=3))
        sections.append([f"[{group}]", *(host_line() for _ in hosts)])
        if children[group]:
            sections.append([f"[{group}:children]", *children[group]])
        group_vars = draw(
            st.dictionaries(st.sampled_from(VAR_NAMES), st.sampled_from(GROUP_VALUES), max_size=2)
        )
        if draw(st.booleans()):
            group_vars["ansible_group_priority"] = str(draw(st.integers(1, 3)))
        if group_vars:
            sections.append([f"[{group}:vars]", *(f"{k}={v}" for k, v in group_vars.items())])
    order = draw(st.permutations(range(len(sections))))
    top = [host_line() for _ in draw(st.lists(st.just(None), max_size=2))]
    all_vars = draw(st.dictionaries(st.sampled_from(VAR_NAMES), st.sampled_from(GROUP_VALUES), max_size=2))
    text = [*top, *(line for index in order for line in sections[index])]
    if all_vars:
        text += ["[all:vars]", *(f"{k}={v}" for k, v in all_vars.items())]
    return "\n".join(text) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ini_trees(), seed=st.integers(0, 3))
def test_generated_ini_trees_resolve_like_ansible(text: str, seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:  # a fresh folder per example: ansible caches vars paths
        path = Path(folder) / "hosts.ini"
        path.write_text(text)
        if seed:  # sometimes group_vars beside it
            (Path(folder) / "group_vars").mkdir()
            group = random.Random(seed).choice(GROUPS)
            (Path(folder) / "group_vars" / f"{group}.yml").write_text("v1: from-group-vars\n")
        assert ours_many([path]) == ansible_view_many([path])


def test_ini_text_booleans_mean_what_they_mean_to_ansible(tmp_path: Path) -> None:
    """`ansible_winrm_kerberos_delegation=true` is the text 'true' in INI; Ansible's boolean() reads it as true."""
    path = write(
        tmp_path / "hosts.ini",
        """
        [hyperv]
        hv01.school.local ansible_winrm_transport=kerberos ansible_winrm_kerberos_delegation=true
        [hyperv:vars]
        multipoint_vms=[]
        """,
    )
    inventory = load(path)
    assert not inventory.errors, messages(inventory)
    assert inventory.hosts["hv01.school.local"].connection.kerberos_delegation is True
    assert (
        ours_many([path])["_meta"]["hostvars"]["hv01.school.local"]["ansible_winrm_kerberos_delegation"]
        == "true"
    )


def test_latin_1_bytes_in_an_ini_comment_are_read_past_as_ansible_does(tmp_path: Path) -> None:
    # A hosts.ini edited on an old Windows box: its comments hold Windows-1252 text. Ansible's INI plugin reads
    # the file with surrogateescape and skips comments first, so the inventory is good.
    path = tmp_path / "hosts.ini"
    path.write_bytes(b"# salle de classe \xe9t\xe9 2012\n[labs]\nhv01 ansible_connection=simulator\n  ; r\xe9serv\xe9\n")
    inventory = load(path)
    assert not inventory.errors, messages(inventory)
    assert inventory.groups["labs"].hosts == ("hv01",)
    assert ours_many([path]) == ansible_view_many([path])


def test_latin_1_bytes_in_a_value_are_refused_at_their_line(tmp_path: Path) -> None:
    # Ansible would keep 'caf\udce9' as the value: no host has a VM of that name, so the line is refused.
    path = tmp_path / "hosts.ini"
    path.write_bytes(b"# ok\n[labs]\nhv01 note=caf\xe9\n")
    (error,) = load(path).errors
    assert (error.location.line, error.location.column) == (3, 14)
    assert "not UTF-8 text (byte 0xe9" in error.message and "Latin-1" in error.message
    yaml = tmp_path / "hosts.yaml"
    yaml.write_bytes(b"# caf\xe9\nall: {}\n")
    assert [e.location.line for e in load(yaml).errors] == [1]  # Ansible's YAML plugin refuses the file too
