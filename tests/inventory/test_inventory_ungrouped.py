"""`ungrouped` given children, or nested under a group other than `all`: refused at its line, never a crash.

Given an inventory that writes `[ungrouped:children]`, `ungrouped: {children: ...}` or puts `ungrouped`
under another group, when the admin validates it, then there is one error at the line that nests it,
saying to use a group of their own name; no traceback, no hosts or variables that differ silently from
Ansible's (whose reconcile treats `ungrouped` specially and drops or re-parents hosts). `ungrouped` used as
Ansible means it (directly under `all`, holding hosts) still resolves exactly as ansible-core resolves it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inventory_support import ansible_view, cli, load, ours, write

NESTED = {
    "ini, [ungrouped:children]": ("hosts.ini", "[ungrouped:children]\nx\n[x]\nh\n", 2),
    "ini, ungrouped under a group, a host before any section": (
        "hosts.ini",
        "h0\n[site:children]\nungrouped\nweb\n[web]\nw1\n",
        3,
    ),
    "yaml, ungrouped with children": ("inv.yaml", "all:\n  children:\n    ungrouped:\n      children:\n        x: {hosts: {h: }}\n", 5),
    "yaml, ungrouped under a group": (
        "inv.yaml",
        "all:\n  hosts: {h1: {x: 1}}\n  children:\n    site:\n      vars: {site: yes}\n      children:\n"
        "        ungrouped:\n        web: {hosts: {w1: }}\n",
        7,
    ),
}


@pytest.mark.parametrize(("name", "text", "line"), list(NESTED.values()), ids=list(NESTED))
def test_nesting_ungrouped_is_refused_at_its_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    path = write(tmp_path / name, text)
    result = cli("validate", str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}:" in result.stdout and "Ansible treats 'ungrouped' specially" in result.stdout
    assert "use a group of your own name" in result.stdout
    listed = cli("inventory", str(path), "--list")  # it resolves (as a listing), with the error on stderr
    assert "Traceback" not in listed.output and "'ungrouped'" in listed.stderr


def test_ungrouped_as_ansible_means_it_resolves_like_ansible(tmp_path: Path) -> None:
    path = write(
        tmp_path / "inv.yaml",
        "all:\n  hosts: {solo: {a: 1}}\n  children:\n    ungrouped:\n      hosts: {spare: }\n"
        "    lab: {hosts: {hv01: }, vars: {who: lab}}\n",
    )
    assert not load(path).errors
    assert ours(path) == ansible_view(path)


GROUPS = ["ungrouped", "site", "lab"]
HOSTS = ["h1", "h2", "h3"]


@st.composite
def trees(draw: Any) -> tuple[dict[str, Any], bool]:
    """A YAML inventory whose groups include `ungrouped`, and whether it nests `ungrouped`."""
    names = draw(st.permutations(GROUPS))
    parents = {
        group: draw(st.lists(st.sampled_from(["all", *names[:index]]), min_size=1, max_size=2, unique=True))
        for index, group in enumerate(names)
    }
    document: dict[str, Any] = {"all": {"vars": {"who": "all"}}}
    top_hosts = draw(st.lists(st.sampled_from(HOSTS), max_size=2, unique=True))
    if top_hosts:
        document["all"]["hosts"] = {h: None for h in top_hosts}
    under_all = [g for g in names if "all" in parents[g]]
    if under_all:
        document["all"]["children"] = {g: None for g in under_all}
    for group in names:
        body: dict[str, Any] = {"vars": {"who": group, f"in_{group}": True}}
        hosts = draw(st.lists(st.sampled_from(HOSTS), max_size=2, unique=True))
        if hosts:
            body["hosts"] = {h: None for h in hosts}
        kids = [g for g in names if group in parents[g]]
        if kids:
            body["children"] = {g: None for g in kids}
        document[group] = body
    nested = any(p != "all" for p in parents["ungrouped"]) or any("ungrouped" in parents[g] for g in names)
    return document, nested


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees())
def test_any_tree_with_ungrouped_is_refused_when_nested_and_else_resolves_like_ansible(
    tree: tuple[dict[str, Any], bool],
) -> None:
    document, nested = tree
    with tempfile.TemporaryDirectory() as folder:  # a fresh folder per example: ansible caches vars paths
        path = Path(folder) / "inv.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        errors = [f.message for f in load(path).errors]
        if nested:
            assert any("Ansible treats 'ungrouped' specially" in message for message in errors), errors
        else:
            assert not any("ungrouped" in message for message in errors), errors
            assert ours(path) == ansible_view(path)
