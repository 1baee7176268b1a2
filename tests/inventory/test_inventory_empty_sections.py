"""Empty and falsy `hosts:`, `children:` and host entries are read as Ansible reads them, or refused as it does.

Given a YAML inventory where a group's `hosts:` or `children:`, a host's entry or a child group's entry is
empty in one of the ways YAML allows (nothing, `null`, `{}`, `[]`, `''`, `0`, `false`), when the admin
validates or lists it, then what ansible-inventory accepts resolves to exactly its groups, hosts and
variables, and what makes ansible-inventory drop the file is refused with an error at the line, saying what
to write instead. A child entry that is no group definition still names a child: a group defined before,
or a host (which then joins the group), as in Ansible.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory_support import ansible_view, load, messages, ours, write

FALSY = ["", "null", "{}", "[]", "''", "0", "false"]
PLACES = {
    "a group's hosts:": "all:\n  hosts: {h0: }\n  children:\n    lab:\n      hosts: {value}\n",
    "a group's children:": "all:\n  hosts: {h0: }\n  children:\n    lab:\n      children: {value}\n",
    "a host's entry": "all:\n  hosts: {h0: }\n  children:\n    lab:\n      hosts:\n        h1: {value}\n",
    "a child group's entry": "all:\n  hosts: {h0: }\n  children:\n    lab: {value}\n",
    "a child naming a group defined before": "web: {hosts: {w1: }}\nall:\n  hosts: {h0: }\n  children:\n    web: {value}\n",
    "a child naming a host": "all:\n  hosts: {h0: }\n  children:\n    lab:\n      children:\n        h0: {value}\n",
}


@pytest.mark.parametrize("value", FALSY)
@pytest.mark.parametrize("place", PLACES)
def test_falsy_sections_as_ansible(tmp_path: Path, place: str, value: str) -> None:
    inventory = write(tmp_path / "inventory.yml", PLACES[place].replace("{value}", value))
    theirs = ansible_view(inventory)
    errors = messages(load(inventory), "error")
    if "h0" not in theirs.get("all", {}).get("hosts", []) and "h0" not in str(theirs):
        # ansible-inventory could not parse the file (it warns and goes on without it): we refuse it
        assert errors, theirs
        assert errors[0].startswith(f"{inventory}:"), errors
        return
    errors = [e for e in errors if "defines no host" not in e]
    if place == "a child naming a host" and value in ("", "null", "{}"):
        # an empty group named like the host: Ansible warns and mixes the two up; we refuse that on purpose
        # (test_inventory_name_clash)
        assert len(errors) == 1 and "'h0' is both a host and a group" in errors[0], errors
        return
    assert not errors
    assert ours(inventory) == theirs
