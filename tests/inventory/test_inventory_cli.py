"""`orchestrate validate` and `orchestrate inventory` as the admin and CI use them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from inventory_support import cli, write

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^.+:\d+:\d+: (error|warning): .+$")


def test_demo_inventory_validates() -> None:
    result = cli("validate", str(REPO / "inventories/demo.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert re.search(r"valid: 0 error\(s\), 0 warning\(s\), 2 host\(s\), 6 VM\(s\)", result.stderr)


def test_demo_fits_its_simulated_hosts() -> None:
    """Every demo VM can run at once: per host, memory and vCPUs fit the simulated host's description."""
    from orchestrator.inventory import load_inventory
    from orchestrator.sizes import parse_size

    inventory = load_inventory(REPO / "inventories/demo.yaml")
    for host in inventory.hosts.values():
        running = [vm for vm in host.vms if vm.state == "running"]
        assert sum(vm.memory for vm in running) <= parse_size(host.simulator["memory"]) - parse_size("8GB")
        assert sum(vm.cpus for vm in running) <= host.simulator["logical_processors"]
        images = host.simulator["images"]
        assert all(
            vm.disk.source in images and images[vm.disk.source]["edition_sku"] == 77 for vm in host.vms
        )
        switches = set(host.simulator["switches"])
        assert all(vm.switch in switches for vm in host.vms)


def test_refusals_inventory_reports_exactly_its_marked_lines() -> None:
    """Every line of refusals.yaml marked `# error:` / `# warning:` gets that finding, and nothing else does."""
    path = REPO / "inventories/refusals.yaml"
    marked = {
        (number, match.group(1))
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if (match := re.search(r"^\s*[^#\s].*# (error|warning):", text))
    }
    result = cli("validate", str(path))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert all(LINE.match(line) for line in lines)
    found = {(int(line.split(":")[1]), line.split(": ")[1]) for line in lines}
    assert found == marked


def test_annotated_inventory_validates_with_its_environment() -> None:
    result = cli("validate", str(REPO / "inventories/annotated.yaml"), env={"HV_PASSWORD": "x-example"})
    assert result.exit_code == 0, result.output


def test_school_inventory_needs_its_password_variable() -> None:
    result = cli(
        "validate", str(REPO / "inventories/school.yaml"), env={"SCHOOL_WINRM_PASSWORD": "x-example"}
    )
    assert result.exit_code == 0, result.output
    missing = cli("validate", str(REPO / "inventories/school.yaml"), env={"SCHOOL_WINRM_PASSWORD": None})  # type: ignore[dict-item]
    assert missing.exit_code == 2
    assert "environment variable SCHOOL_WINRM_PASSWORD is not set" in missing.stdout


def test_findings_are_single_lines_with_a_summary_on_stderr(tmp_path: Path) -> None:
    path = write(
        tmp_path / "inv.yaml",
        """
        all:
          hosts:
            hv01:
              ansible_connection: simulator
              multipoint_vms:
                - name: "a very long name that goes on and on and on with words and more words until it wraps twice"
                  cpus: 1
                  edition: standard
                  disk: {parent: 'D:\\b.vhdx'}
                  stations: {rdp: 25}
    """,
    )
    result = cli("validate", str(path))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(LINE.match(line) for line in lines)
    assert lines[0].startswith(f"{path}:9:")  # sorted by line: edition first, then stations at line 11
    assert "Standard cannot run as a Hyper-V guest" in lines[0]
    assert lines[1].startswith(f"{path}:11:") and "25 seats exceed the 20 stations" in lines[1]
    assert result.stderr.count("\n") == 1 and "2 error(s), 0 warning(s)" in result.stderr


def test_json_output_document(tmp_path: Path) -> None:
    path = write(
        tmp_path / "inv.yaml",
        """
        all:
          hosts:
            hv01:
              ansible_connection: simulator
              multipoint_vms: [{name: x, cpus: 1, disk: {parent: 'D:\\b.vhdx'}}]
            hv02: {ansible_connection: simulator, multipoint_vms: [{name: y, edition: gold, disk: {parent: 'D:\\b.vhdx'}}]}
    """,
    )
    result = cli("validate", str(path), "--output", "json")
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]  # JSON lines, docs/output.md
    recap = lines[-1]
    assert (recap["event"], recap["errors"], recap["warnings"], recap["hosts"]) == ("recap", 1, 1, 2)
    error = next(f for f in lines if f["event"] == "finding" and f["severity"] == "error")
    assert (error["file"], error["line"], error["path"][-1]) == (str(path), 7, "edition")
    assert "premium, standard" in error["message"] and error["fix"] == "use one of: premium, standard"


def test_warnings_alone_exit_zero(tmp_path: Path) -> None:
    path = write(
        tmp_path / "inv.yaml",
        """
        all:
          hosts:
            hv01: {ansible_connection: simulator, multipoint_vms: [{name: x, cpus: 1, disk: {parent: 'D:\\b.vhdx'}}]}
          hostz: {}
    """,
    )
    result = cli("validate", str(path))
    assert result.exit_code == 0
    assert "warning" in result.stdout


def test_inventory_host_and_list(tmp_path: Path) -> None:
    path = write(
        tmp_path / "inv.yaml",
        """
        all:
          vars: {ansible_connection: simulator, note: from-all}
          children:
            lab:
              vars: {note: from-lab}
              hosts: {hv01: , hv02: {note: mine}}
    """,
    )
    listed = cli("inventory", str(path), "--list")
    assert listed.exit_code == 0, listed.output
    document = json.loads(listed.stdout)
    assert document["lab"] == {"hosts": ["hv01", "hv02"]}
    assert document["all"] == {"children": ["ungrouped", "lab"]}
    assert document["_meta"]["hostvars"]["hv01"] == {"ansible_connection": "simulator", "note": "from-lab"}
    host = cli("inventory", str(path), "--host", "hv02")
    assert json.loads(host.stdout) == {"ansible_connection": "simulator", "note": "mine"}
    unknown = cli("inventory", str(path), "--host", "nope")
    assert unknown.exit_code == 2 and "--host 'nope' is not a host of the inventory" in unknown.stderr


@pytest.mark.parametrize("args", [[], ["--list", "--host", "hv01"]])
def test_inventory_needs_exactly_one_mode(tmp_path: Path, args: list[str]) -> None:
    path = write(tmp_path / "inv.yaml", "all:\n  hosts: {hv01: {ansible_connection: simulator}}\n")
    assert cli("inventory", str(path), *args).exit_code == 2


def test_inventory_of_unparseable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "inv.yaml", "all: [\n")
    result = cli("inventory", str(path), "--list")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{path}:2:1: error: YAML syntax error" in result.stderr


def test_verbose_shows_the_sizes_each_vm_gets() -> None:
    result = cli("validate", str(REPO / "inventories/demo.yaml"), "-v")
    assert result.exit_code == 0
    assert "  lab-a-02: running, 6 cpus, 8GB, 15 seat(s), classroom lab-a" in result.stderr.splitlines()
    assert result.stdout == ""


def test_inventory_list_takes_limit_like_ansible_inventory() -> None:
    from pathlib import Path

    from click.testing import CliRunner

    from orchestrator.cli import main

    demo = Path(__file__).resolve().parents[2] / "inventories" / "demo.yaml"
    result = CliRunner().invoke(main, ["inventory", str(demo), "--list", "--limit", "hv02*", "-o", "json"])
    assert result.exit_code == 0, result.output
    (line, recap) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (line["event"], recap["event"], recap["exit_code"]) == ("inventory", "recap", 0)
    document = line["inventory"]
    assert list(document["_meta"]["hostvars"]) == ["hv02.demo.local"]
    assert document["hyperv_hosts"]["hosts"] == ["hv02.demo.local"]
    refused = CliRunner().invoke(main, ["inventory", str(demo), "--list", "--limit", "nope"])
    assert refused.exit_code == 2 and "nope" in refused.output
