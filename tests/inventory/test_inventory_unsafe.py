"""`!unsafe` values are literal text, as in Ansible: never templated, never a reference, never an env lookup.

Given a WinRM password with braces written as Ansible's documentation says (`ansible_password: !unsafe
"pa{{ss"`), or a value that looks like a template or like `{{ other }}`, when the admin validates and runs,
then the host gets exactly the text as written. The types are Ansible's: `!unsafe 5986` is an int, `!unsafe
true` a bool, `!unsafe ''` null, and `!unsafe` on a mapping or list marks the text inside. ansible-core is
the oracle twice: its resolution (`ansible-inventory --list`) and its own Templar on the resolved value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inventory_support import ansible_view, load, ours, write

TYPED = """
    all:
      hosts:
        hv01:
          other: zzz
          text: !unsafe "{{ other }}"
          env: !unsafe "{{ lookup('env', 'HOME') }}"
          braces: !unsafe "pa{{ss"
          jinja_block: !unsafe "a{%b"
          port_text: !unsafe 5986
          quoted_int: !unsafe "42"
          flag: !unsafe true
          nothing: !unsafe ''
          ratio: !unsafe 1.5
          mapping: !unsafe {a: "{{ other }}", b: 1}
          listing: !unsafe ["{{ other }}", 2]
"""


def ansible_templated(inventory: Path, host: str) -> dict[str, Any]:
    """The host's variables after ansible-core's own Templar has templated each one (what a play sees)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(inventory)])
    variables = VariableManager(loader=loader, inventory=manager).get_vars(host=manager.get_host(host))
    templar = Templar(loader=loader, variables=variables)
    return {name: templar.template(variables[name]) for name in ("other", "text", "braces", "port_text")}


def test_unsafe_scalars_of_every_type_resolve_like_ansible(tmp_path: Path) -> None:
    path = write(tmp_path / "inv.yaml", TYPED)
    assert ours(path) == ansible_view(path)
    hostvars = ours(path)["_meta"]["hostvars"]["hv01"]
    assert (hostvars["port_text"], hostvars["quoted_int"], hostvars["flag"], hostvars["nothing"]) == (
        5986,
        42,
        True,
        None,
    )


def test_ansible_never_templates_an_unsafe_value(tmp_path: Path) -> None:
    path = write(tmp_path / "inv.yaml", TYPED)
    templated = ansible_templated(path, "hv01")
    assert templated == {"other": "zzz", "text": "{{ other }}", "braces": "pa{{ss", "port_text": 5986}
    resolved = load(path).hostvars["hv01"]
    assert {name: resolved[name] for name in templated} == templated  # what a play would see


WINRM_HOST = """
    all:
      hosts:
        hv01:
          ansible_connection: winrm
          ansible_host: 127.0.0.1
          ansible_user: !unsafe "{{ other }}"
          orchestrate_retry: {}
          other: zzz
          ansible_password: !unsafe PASSWORD
"""


@pytest.mark.parametrize(
    "password",
    ['"{{ other }}"', '"pa{{ss"', "\"{{ lookup('env', 'WINRM_SECRET') }}\"", '"a{%b%}c"', '"{# x #}"'],
)
def test_an_unsafe_password_is_the_text_as_written(tmp_path: Path, password: str) -> None:
    path = write(tmp_path / "inv.yaml", WINRM_HOST.replace("PASSWORD", password))
    inventory = load(path, environ={"WINRM_SECRET": "from-the-environment"})
    assert not inventory.errors, [f.format() for f in inventory.errors]
    connection = inventory.hosts["hv01"].connection
    assert connection.password is not None and connection.password.reveal() == password.strip('"')
    assert connection.user == "{{ other }}"
    assert not any("other:" in f.format() or "templating" in f.message for f in inventory.findings)


@settings(max_examples=60, deadline=None)
@given(password=st.text(alphabet="ab{}%#'() ", min_size=1, max_size=14).filter(lambda p: p.strip() == p))
def test_any_unsafe_password_is_taken_literally(password: str) -> None:
    import tempfile

    quoted = '"' + password.replace("\\", "\\\\").replace('"', '\\"') + '"'
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "inv.yaml", WINRM_HOST.replace("PASSWORD", quoted))
        inventory = load(path, environ={})
        assert not inventory.errors, [f.format() for f in inventory.errors]
        assert inventory.hosts["hv01"].connection.password.reveal() == password
