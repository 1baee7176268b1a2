"""Mixed fleets: the inventory also holds hosts that are not MultiPoint hosts, and that is fine.

Given the Ansible shop's real inventory (Linux servers over ssh, a Windows file server without any of our
variables, and the Hyper-V hosts), when the admin validates or runs orchestrate, then the other hosts are
left alone (no error, listed at -v), and `--limit` narrows the checks to the hosts it selects, so a broken
host outside the limit does not stop a run on the others. `inventory --list` exits 0 whenever the
inventory resolves, as ansible-inventory does.
"""

from __future__ import annotations

import json
from pathlib import Path

from inventory_support import cli, load, messages, write

FLEET = """
    [linux]
    web01 ansible_connection=ssh ansible_user=deploy
    db01
    [windows]
    files01 ansible_connection=winrm ansible_user=admin
    [hyperv]
    hv01.demo.local ansible_connection=simulator
    [hyperv:vars]
    multipoint_vms=[{'name': 'lab', 'cpus': 2, 'memory': '4GB', 'disk': {'parent': 'D:\\\\base.vhdx'}}]
    [linux:vars]
    ansible_connection=ssh
"""


def test_hosts_that_are_not_ours_are_left_alone(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.ini", FLEET)
    inventory = load(path)
    assert not inventory.findings, messages(inventory)
    assert list(inventory.hosts) == ["hv01.demo.local"]
    assert set(inventory.hostvars) == {"web01", "db01", "files01", "hv01.demo.local"}  # still listed


def test_verbose_validate_lists_the_hosts_left_alone(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.ini", FLEET)
    result = cli("validate", str(path), "-v")
    assert result.exit_code == 0, result.output
    assert "web01: left alone, not a MultiPoint host (ansible_connection is 'ssh')" in result.stderr
    assert (
        "files01: left alone, not a MultiPoint host (it has no multipoint_* or orchestrate_* variable)"
        in (result.stderr)
    )
    quiet = cli("validate", str(path))
    assert "left alone" not in quiet.output


def test_our_variables_on_an_ssh_host_are_a_warning(tmp_path: Path) -> None:
    """multipoint_vms on a Linux host will not happen; say so instead of ignoring it silently."""
    path = write(tmp_path / "hosts.ini", "[linux]\nweb01 ansible_connection=ssh multipoint_vms=[]\n")
    (warning,) = load(path).findings
    assert warning.severity == "warning" and (warning.location.line, warning.location.column) == (2, 30)
    assert "ansible_connection is 'ssh', so its multipoint_vms are left alone" in warning.message


def test_limit_narrows_the_checks_to_the_selected_hosts(tmp_path: Path) -> None:
    """A MultiPoint host whose password is not set blocks only a run that includes it."""
    path = write(
        tmp_path / "inv.yaml",
        """
        all:
          children:
            hyperv:
              hosts:
                hv01.demo.local:
                  ansible_connection: simulator
                  multipoint_vms: []
            broken:
              hosts:
                hv09.school.local:
                  ansible_user: admin
                  ansible_password: "{{ lookup('env', 'UNSET_FOR_THIS_TEST') }}"
                  multipoint_vms: []
        """,
    )
    assert any("UNSET_FOR_THIS_TEST is not set" in m for m in messages(load(path, environ={})))
    limited = load(path, environ={}, limit="hyperv")
    assert not limited.errors, messages(limited)
    assert list(limited.hosts) == ["hv01.demo.local"]
    state = tmp_path / "state"
    run = cli("apply", str(path), "--limit", "hyperv", "--dry-run", "--state-dir", str(state))
    assert run.exit_code == 0, run.output
    everything = cli("apply", str(path), "--dry-run", "--state-dir", str(state))
    assert everything.exit_code == 2 and "UNSET_FOR_THIS_TEST" in everything.output


def test_inventory_list_exits_0_when_the_inventory_resolves(tmp_path: Path) -> None:
    """`orchestrate inventory x --list > out.json && ...` works, with findings on stderr as warnings."""
    path = write(
        tmp_path / "inv.yaml",
        """
        all:
          hosts:
            hv09.school.local:
              ansible_user: admin
              ansible_password: "{{ lookup('env', 'UNSET_FOR_THIS_TEST') }}"
              multipoint_vms: []
        """,
    )
    assert cli("validate", str(path)).exit_code == 2
    result = cli("inventory", str(path), "--list")
    assert result.exit_code == 0, result.output
    assert (
        ": warning: " in result.stderr
        and "environment variable UNSET_FOR_THIS_TEST is not set" in result.stderr
    )
    assert ": error: " not in result.stderr
    assert list(json.loads(result.stdout)["_meta"]["hostvars"]) == ["hv09.school.local"]
    host = cli("inventory", str(path), "--host", "hv09.school.local")
    assert host.exit_code == 0 and json.loads(host.stdout)["ansible_user"] == "admin"
