"""Our resolution equals ansible-core's, for inventories without the product's variables.

Given an Ansible YAML inventory (with group_vars/ and host_vars/ beside it), when we resolve it, then every
host's effective variables and every group's hosts and children are exactly what ansible-inventory --list
prints. ansible-core is the oracle: hand-written inventories cover each documented behaviour, and a
hypothesis-generated group tree covers their combinations.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inventory_support import ansible_list_of, ansible_view, ours, write

CASES: dict[str, dict[str, str]] = {
    "nested groups, all < parent < child < host": {
        "inv.yaml": """
            all:
              vars: {site: all, level: all, keep: from-all}
              children:
                school:
                  vars: {level: school, site: school}
                  children:
                    lab:
                      vars: {level: lab}
                      hosts:
                        hv01: {level: host}
                        hv02:
        """,
    },
    "host ranges, letters, steps, ports, ungrouped": {
        "inv.yaml": """
            all:
              hosts:
                solo:
                "web:2222": {role: web}
              children:
                hyperv:
                  hosts:
                    hv[01:12].school.local:
                    lab-[a:d]:
                    even[02:10:2]:
                    "ten.[1:3].example:5986": {x: 1}
        """,
    },
    "a group under several parents, a host in several groups, sibling order by name": {
        "inv.yaml": """
            all:
              children:
                zeta:
                  vars: {who: zeta, z: 1}
                  children:
                    shared:
                      vars: {who: shared-1, m: {a: 1}}
                      hosts: {hv01: {h: {p: 1}}}
                alpha:
                  vars: {who: alpha, a: 1}
                  children:
                    shared:
                      vars: {m: {b: 2}}
                      hosts: {hv01: {h: {q: 2}}, hv02: }
                beta:
                  vars: {who: beta}
                  hosts: {hv01: }
        """,
    },
    "ansible_group_priority beats the name at equal depth": {
        "inv.yaml": """
            all:
              children:
                aaa:
                  vars: {who: aaa, ansible_group_priority: 10}
                  hosts: {hv01: }
                zzz:
                  vars: {who: zzz}
                  hosts: {hv01: }
        """,
    },
    "group_vars and host_vars files and folders, host_vars beat the inventory": {
        "inv.yaml": """
            all:
              vars: {a: inv-all, b: inv-all, c: inv-all}
              children:
                lab:
                  vars: {a: inv-lab, d: inv-lab}
                  hosts:
                    hv01: {e: inv-host, f: inv-host}
                    hv02:
        """,
        "group_vars/all.yml": "b: gv-all\nlist: [1, 2]\n",
        "group_vars/lab/10-first.yml": "c: gv-lab-1\nlist: [3]\n",
        "group_vars/lab/20-second.yaml": "c: gv-lab-2\nnested: {x: 1}\n",
        "group_vars/lab/sub/30.json": '{"g": "json"}\n',
        "group_vars/lab/.hidden.yml": "c: hidden\n",
        "group_vars/lab/backup.yml~": "c: backup\n",
        "group_vars/lab/notes.txt": "c: txt\n",
        "host_vars/hv01.yml": "f: hv-file\n",
    },
    "top-level groups other than all, string sections, empty groups": {
        "inv.yaml": """
            web:
              hosts: w1
            db:
              hosts:
                d1: {port: 5432}
              children: web
            empty:
            all:
              vars: {x: 1}
        """,
    },
    "a host defined twice: each variable replaced whole": {
        "inv.yaml": """
            all:
              hosts:
                hv01: {m: {a: 1, deep: {x: 1}}, s: first, l: [1]}
              children:
                g:
                  hosts:
                    hv01: {m: {b: 2, deep: {y: 2}}, s: second, l: [2]}
        """,
    },
    "ungrouped listed explicitly, and a host that is also elsewhere": {
        "inv.yaml": """
            ungrouped:
              hosts: {u1: , u2: }
            lab:
              hosts: {u2: }
        """,
    },
    "yaml merge keys and anchors": {
        "inv.yaml": """
            all:
              vars:
                base: &base {a: 1, b: 2}
              hosts:
                hv01:
                  <<: *base
                  b: 3
                hv02: *base
        """,
    },
}


@pytest.mark.parametrize("files", list(CASES.values()), ids=list(CASES))
def test_resolution_equals_ansible(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    inventory = tmp_path / "inv.yaml"
    assert ours(inventory) == ansible_view(inventory)


def test_inventory_list_matches_ansible_inventory_command(tmp_path: Path) -> None:
    """The `orchestrate inventory --list` document equals the real `ansible-inventory --list` output."""
    files = CASES["group_vars and host_vars files and folders, host_vars beat the inventory"]
    for name, text in files.items():
        write(tmp_path / name, text)
    inventory = tmp_path / "inv.yaml"
    # The real command, with its config, home and caches in tmp_path.
    theirs = ansible_list_of(tmp_path, "-i", str(inventory))
    from inventory_support import cli

    result = cli("inventory", str(inventory), "--list")
    assert json.loads(result.stdout) == theirs


# -- a generated group tree ------------------------------------------------------------------------------

NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
HOSTS = ["hv1", "hv2", "hv3", "hv4", "r[1:2]"]
VARS = ["v1", "v2", "v3", "shared_map"]

values = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["a", "b", "yes", ""]),
    st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), st.integers(0, 3), max_size=2),
    st.lists(st.integers(0, 3), max_size=2),
)
var_maps = st.dictionaries(st.sampled_from(VARS), values, max_size=3)


@st.composite
def inventories(draw: Any) -> dict[str, Any]:
    count = draw(st.integers(1, len(NAMES)))
    groups = NAMES[:count]
    parents: dict[str, list[str]] = {}
    for index, group in enumerate(groups):
        options = ["all", *groups[:index]]
        parents[group] = draw(st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True))
    occurrences: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        occurrences[group] = []
        for _parent in parents[group]:
            occurrence: dict[str, Any] = {}
            group_vars = draw(var_maps)
            if draw(st.booleans()):
                group_vars["ansible_group_priority"] = draw(st.integers(1, 3))
            if group_vars:
                occurrence["vars"] = group_vars
            hosts = draw(st.dictionaries(st.sampled_from(HOSTS), st.one_of(st.none(), var_maps), max_size=3))
            if hosts:
                occurrence["hosts"] = hosts
            occurrences[group].append(occurrence)
    top_hosts = draw(st.dictionaries(st.sampled_from(HOSTS), st.one_of(st.none(), var_maps), max_size=2))
    files = {
        f"group_vars/{g}.yml": draw(var_maps)
        for g in draw(st.lists(st.sampled_from(["all", *groups]), max_size=3))
    }
    files.update(
        {f"host_vars/{h}.yml": draw(var_maps) for h in draw(st.lists(st.sampled_from(HOSTS[:4]), max_size=2))}
    )
    return {
        "groups": groups,
        "parents": parents,
        "occurrences": occurrences,
        "top": {"hosts": top_hosts, "vars": draw(var_maps)},
        "files": files,
    }


def render(spec: dict[str, Any]) -> dict[str, Any]:
    """The YAML document: each group is written once under each of its parents, its children the first time."""
    used: dict[str, int] = {}

    def body(group: str) -> dict[str, Any]:
        index = used.get(group, 0)
        used[group] = index + 1
        occurrence = dict(spec["occurrences"][group][index])
        kids = {child: None for child in spec["groups"] if group in spec["parents"][child]}
        if kids and index == 0:  # a group lists its children once; its other occurrences add vars and hosts
            occurrence["children"] = kids
        return occurrence

    def fill(group: str, node: dict[str, Any]) -> None:
        for child in list(node.get("children", {})):
            node["children"][child] = body(child)
            fill(child, node["children"][child])

    all_group: dict[str, Any] = {k: v for k, v in spec["top"].items() if v}
    top_children = {g: None for g in spec["groups"] if "all" in spec["parents"][g]}
    if top_children:
        all_group["children"] = top_children
    fill("all", all_group)
    return {"all": all_group}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=inventories())
def test_generated_group_trees_resolve_like_ansible(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:  # a fresh folder per example: ansible caches vars paths
        base = Path(folder)
        inventory = base / "inv.yaml"
        inventory.write_text(yaml.safe_dump(render(spec), sort_keys=False))
        for name, variables in spec["files"].items():
            (base / name).parent.mkdir(parents=True, exist_ok=True)
            (base / name).write_text(yaml.safe_dump(variables) if variables else "")
        assert ours(inventory) == ansible_view(inventory)


def test_tab_indented_json_vars_file_reads_like_ansible(tmp_path: Path) -> None:
    """Ansible reads vars files as JSON first; JSON indented with tabs is not YAML, yet must load."""
    write(tmp_path / "inv.yaml", "all:\n  children:\n    lab:\n      hosts: {hv01: }\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars/lab.json").write_text('{\n\t"a": 1,\n\t"b": {"c": [1, 2]}\n}\n')
    inventory = tmp_path / "inv.yaml"
    assert ours(inventory) == ansible_view(inventory)
    assert ours(inventory)["_meta"]["hostvars"]["hv01"] == {"a": 1, "b": {"c": [1, 2]}}
