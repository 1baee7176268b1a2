"""Malformed and hostile inventories: each gives one clear `file:line` finding and exit 2, never a traceback.

Given a broken inventory, when the admin runs `orchestrate validate`, then the command exits 2 and prints
a line `FILE:LINE:COL: error: ...` that names the problem, whatever the breakage: missing file, folder,
binary data, YAML syntax, wrong shapes and types, hostile YAML, unknown variables.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from inventory_support import cli, write

HOST = "all:\n  hosts:\n    hv01:\n      ansible_connection: simulator\n"


def vm_inventory(vm_lines: str) -> str:
    """A one-host inventory whose single VM has the given (already indented) extra lines."""
    return (
        "all:\n  hosts:\n    hv01:\n      ansible_connection: simulator\n      multipoint_vms:\n"
        "        - name: vm1\n          disk: {parent: 'D:\\base.vhdx'}\n" + vm_lines
    )


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)
)

# (id, files {name: text or bytes}, file the finding points at, line, message fragment)
CASES: list[tuple[str, dict[str, str | bytes], str, int, str]] = [
    ("empty file", {"inv.yaml": ""}, "inv.yaml", 1, "the inventory is empty"),
    ("only comments", {"inv.yaml": "# nothing here\n\n"}, "inv.yaml", 1, "the inventory is empty"),
    ("binary garbage", {"inv.yaml": b"all:\n  \xff\xfe\x00\x01garbage"}, "inv.yaml", 2, "not UTF-8 text"),
    ("NUL byte", {"inv.yaml": "all:\n  hosts: \x00\n"}, "inv.yaml", 2, "unacceptable character #x0000"),
    (
        "bad indentation",
        {"inv.yaml": "all:\n  hosts:\n    hv01:\n   bad: 1\n"},
        "inv.yaml",
        4,
        "YAML syntax error",
    ),
    ("unclosed flow", {"inv.yaml": "all:\n  hosts: {hv01: \n"}, "inv.yaml", 3, "YAML syntax error"),
    ("tab indentation", {"inv.yaml": "all:\n\thosts:\n"}, "inv.yaml", 2, "YAML does not allow a tab in indentation"),
    (
        "tab after spaces",
        {"inv.yaml": "all:\n  hosts:\n    hv01:\n  \t  x: 1\n"},
        "inv.yaml",
        4,
        "indent with spaces",
    ),
    ("top-level list", {"inv.yaml": "- hv01\n- hv02\n"}, "inv.yaml", 1, "top level must be a mapping"),
    ("top-level text", {"inv.yaml": "just some text\n"}, "inv.yaml", 1, "top level must be a mapping"),
    ("alias bomb", {"inv.yaml": BOMB}, "inv.yaml", 6, "alias bomb"),
    ("deep nesting", {"inv.yaml": "a: " + "[" * 500 + "]" * 500 + "\n"}, "inv.yaml", 1, "nested deeper than"),
    ("two documents", {"inv.yaml": HOST + "---\nall: {}\n"}, "inv.yaml", 5, "more than one YAML document"),
    ("vault value", {"inv.yaml": HOST + "      x: !vault |\n        abc\n"}, "inv.yaml", 5, "Vault"),
    (
        "python tag",
        {"inv.yaml": HOST + "      x: !!python/object:os.system ls\n"},
        "inv.yaml",
        5,
        "unsupported YAML tag",
    ),
    (
        "a bool tag on a word that is no bool",
        {"inv.yaml": HOST + "      x: !!bool maybe\n"},
        "inv.yaml",
        5,
        "!!bool needs true or false (or yes/no, on/off), not 'maybe'",
    ),
    (
        "a timestamp tag on text that is no date",
        {"inv.yaml": HOST + "      x: !!timestamp next week\n"},
        "inv.yaml",
        5,
        "!!timestamp needs a date like 2024-05-01",
    ),
    (
        "hosts as a list",
        {"inv.yaml": "all:\n  hosts:\n    - hv01\n"},
        "inv.yaml",
        3,
        "'hosts' of group 'all' must be a mapping",
    ),
    (
        "host vars as a list",
        {"inv.yaml": "all:\n  hosts:\n    hv01: [a, b]\n"},
        "inv.yaml",
        3,
        "variables of host 'hv01' must be a mapping",
    ),
    ("numeric host name", {"inv.yaml": "all:\n  hosts:\n    42:\n"}, "inv.yaml", 3, "must be a string"),
    (
        "bad host range",
        {"inv.yaml": "all:\n  hosts:\n    hv[1:]:\n"},
        "inv.yaml",
        3,
        "must give its end value",
    ),
    (
        "group loop",
        {
            "inv.yaml": "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n"
            "            a:\n"
        },
        "inv.yaml",
        5,
        "creates a loop",
    ),
    ("no host", {"inv.yaml": "all:\n  vars: {x: 1}\n"}, "inv.yaml", 1, "defines no host"),
    (
        "plugin config",
        {"inv.yaml": "plugin: aws_ec2\nregions: [eu-west-1]\n"},
        "inv.yaml",
        1,
        "inventory plugin configuration",
    ),
    (
        "misspelt product variable",
        {"inv.yaml": HOST + "      multipoint_vm: []\n"},
        "inv.yaml",
        5,
        "unknown variable 'multipoint_vm' (fix: did you mean 'multipoint_vms'?)",
    ),
    (
        "text where cpus belong",
        {"inv.yaml": vm_inventory("          cpus: four\n")},
        "inv.yaml",
        8,
        "cpus of VM 'vm1' must be a whole number, not 'four'",
    ),
    (
        "memory without unit",
        {"inv.yaml": vm_inventory("          memory: 8\n")},
        "inv.yaml",
        8,
        "must be a size with a unit like 8GB, not 8 (fix: write it with a unit, like 8GB)",
    ),
    (
        "memory not a size",
        {"inv.yaml": vm_inventory("          memory: 8 gigs\n")},
        "inv.yaml",
        8,
        "is not a size",
    ),
    (
        "vms as a mapping",
        {"inv.yaml": HOST + "      multipoint_vms: {name: vm1}\n"},
        "inv.yaml",
        5,
        "multipoint_vms must be a list",
    ),
    (
        "vm without name",
        {"inv.yaml": HOST + "      multipoint_vms:\n        - cpus: 2\n"},
        "inv.yaml",
        6,
        "a VM needs a name",
    ),
    (
        "misspelt vm key",
        {"inv.yaml": vm_inventory("          cpu: 2\n")},
        "inv.yaml",
        8,
        "unknown key 'cpu' in a VM of multipoint_vms",
    ),
    (
        "hyphenated station type",
        {"inv.yaml": vm_inventory("          stations: {usb-over-ethernet: 2}\n")},
        "inv.yaml",
        8,
        "did you mean 'usb_over_ethernet'?",
    ),
    (
        "unquoted schedule time",
        {"inv.yaml": HOST + "      multipoint_schedules:\n        - {name: n, checkpoint: c, at: 22:30}\n"},
        "inv.yaml",
        6,
        "YAML read it as a number",
    ),
    (
        "two disk sources",
        {
            "inv.yaml": HOST + "      multipoint_vms:\n        - name: vm1\n          disk: "
            "{parent: a.vhdx, copy_from: b.vhdx}\n"
        },
        "inv.yaml",
        7,
        "exactly one of parent",
    ),
    (
        "unset env variable",
        {"inv.yaml": HOST + "      ansible_host: \"{{ lookup('env', 'NO_SUCH_VAR_X1') }}\"\n"},
        "inv.yaml",
        5,
        "environment variable NO_SUCH_VAR_X1 is not set",
    ),
    (
        "other templating",
        {"inv.yaml": HOST + '      ansible_host: "{{ inventory_hostname }}.lan"\n'},
        "inv.yaml",
        5,
        "templating is not supported",
    ),
    (
        "port not a number",
        {
            "inv.yaml": "all:\n  hosts:\n    hv01:\n      ansible_port: https\n"
            "      ansible_winrm_transport: kerberos\n      multipoint_vms: []\n"
        },
        "inv.yaml",
        4,
        "ansible_port must be a whole number",
    ),
    (
        "unknown edition",
        {"inv.yaml": vm_inventory("          edition: gold\n")},
        "inv.yaml",
        8,
        "edition 'gold' is not one of: premium, standard",
    ),
    (
        "group priority not a number",
        {
            "inv.yaml": "all:\n  children:\n    g:\n      vars:\n"
            "        ansible_group_priority: high\n      hosts: {hv01: }\n"
        },
        "inv.yaml",
        5,
        "ansible_group_priority must be an integer",
    ),
    (
        "unknown simulator key",
        {"inv.yaml": HOST + "      orchestrate_simulator: {cpus: 4}\n"},
        "inv.yaml",
        5,
        "unknown key 'cpus' in orchestrate_simulator",
    ),
    (
        "misspelt connection",
        {"inv.yaml": "all:\n  hosts:\n    hv01: {ansible_connection: 7, multipoint_vms: []}\n"},
        "inv.yaml",
        3,
        "ansible_connection must be text",
    ),
    (
        "group_vars syntax error",
        {"inv.yaml": HOST, "group_vars/all.yml": "a: [1,\nb: 2\n"},
        "group_vars/all.yml",
        3,
        "YAML syntax error",
    ),
    (
        "group_vars not a mapping",
        {"inv.yaml": HOST, "group_vars/all.yml": "- 1\n- 2\n"},
        "group_vars/all.yml",
        1,
        "must hold a mapping of variables",
    ),
    (
        "host_vars binary",
        {"inv.yaml": HOST, "host_vars/hv01.yml": b"\x89PNG\r\n\x1a\n\xff"},
        "host_vars/hv01.yml",
        1,
        "not UTF-8 text",
    ),
]


@pytest.mark.parametrize(
    ("files", "where", "line", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_inventory_is_one_clear_finding(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str | bytes],
    where: str,
    line: int,
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # findings name files as the admin gave them: relative here
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        path.chmod(0o600)
    result = cli("validate", "inv.yaml")
    assert result.exit_code == 2, result.output
    lines = [text for text in result.stdout.splitlines() if text.startswith(f"{where}:{line}:")]
    assert any(fragment in text and ": error: " in text for text in lines), result.stdout
    assert "Traceback" not in result.output
    assert "invalid" in result.stderr.splitlines()[-1]


def test_missing_file(tmp_path: Path) -> None:
    result = cli("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{tmp_path / 'nope.yaml'}:1:1: error: no such file")


def test_empty_directory_is_no_host(tmp_path: Path) -> None:
    """A directory is an inventory (Ansible's -i inventory/); an empty one defines no host."""
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path}:1:1: error: the inventory defines no host" in result.stdout


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(b"all:\n  vars:\n    x: '")
        handle.truncate(11 * 1024 * 1024)
    started = time.monotonic()
    result = cli("validate", str(path))
    assert time.monotonic() - started < 2
    assert result.exit_code == 2
    assert "larger than the 10 MB limit" in result.stdout


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    write(tmp_path / "bomb.yaml", BOMB)
    started = time.monotonic()
    result = cli("validate", str(tmp_path / "bomb.yaml"))
    assert time.monotonic() - started < 2
    assert result.exit_code == 2


def test_deeply_nested_beyond_recursion_limit(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert "nest" in result.stdout  # libyaml's own depth limit, or ours


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinked_group_vars_loop(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        "all:\n  children:\n    lab:\n      hosts:\n        hv01: {ansible_connection: simulator}\n",
    )
    write(tmp_path / "group_vars/lab/a.yml", "x: 1\n")
    os.symlink(tmp_path / "group_vars/lab", tmp_path / "group_vars/lab/loop")
    result = cli("validate", str(tmp_path / "inv.yaml"))
    assert result.exit_code == 2
    assert "symlink loop" in result.stdout


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "inv.yaml", HOST, mode=0o000)
    if os.access(path, os.R_OK):
        # Running as root, permissions do not apply: make the open fail as it would for anyone else.
        real_open = Path.open

        def denied(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", denied)
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert "permission denied" in result.stdout


def test_host_ranges_are_bounded(tmp_path: Path) -> None:
    patterns = "".join(f"    g{i}-[0000:9999]:\n" for i in range(2))
    write(
        tmp_path / "inv.yaml",
        "all:\n  vars: {ansible_connection: simulator}\n  hosts:\n" + patterns + "    one-more:\n",
    )
    started = time.monotonic()
    result = cli("validate", str(tmp_path / "inv.yaml"))
    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert result.stdout == (
        f"{tmp_path / 'inv.yaml'}:6:5: error: all.hosts.one-more: the inventory defines more "
        "than 20000 hosts (fix: split the inventory)\n"
    )
    write(tmp_path / "one.yaml", "all:\n  hosts:\n    big-[0:99999]:\n")
    assert "more than 10000 hosts" in cli("validate", str(tmp_path / "one.yaml")).stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "inv.yaml"
    os.mkfifo(fifo)
    result = cli("validate", str(fifo))
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{fifo}:1:1: error: this path is not a regular file")
