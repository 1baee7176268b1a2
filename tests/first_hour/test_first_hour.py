"""The first hour of a new admin: each stumble seen when trying the product as a new user, now a clear path.

Given the shipped demo (two simulated hosts) and a state directory of the test's own, when the admin types
what a newcomer types (short host names, --ask-pass from cron, a switch the host lacks, a folder that is not
there), then the message says what to do, and the hosts hold exactly what they should.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.inventory import load_inventory
from orchestrator.simulator import Simulator
from orchestrator.sizes import unit_hint
from orchestrator.transport.simulated import state_file

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "inventories" / "demo.yaml"
SHIPPED = ["demo.yaml", "school.yaml", "annotated.yaml", "refusals.yaml"]


def orchestrate(state: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--state-dir", str(state)])
    return result.exit_code, result.output


def vms_on(state: Path, host: str) -> set[str]:
    sim = Simulator(state_path=state_file(state, host), host_name=host)
    out = sim.run("Get-VM | ForEach-Object -Process { Write-Output $_.Name }")
    assert out.exit_code == 0, out.stderr
    return {line for line in out.stdout.splitlines() if line}


def test_a_short_host_name_gets_did_you_mean_and_the_list_of_hosts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, output = orchestrate(state, "apply", str(DEMO), "--limit", "hv01")
    assert code == 2
    assert "did you mean 'hv01.demo.local'?" in output
    assert "hosts: hv01.demo.local, hv02.demo.local" in output
    assert not state.exists()  # nothing was contacted, nothing created

    code, output = orchestrate(state, "import", str(DEMO), "--host", "hv02", "--from", "D:\\exports\\x")
    assert code == 2 and "--host 'hv02' is not a host of the inventory" in output
    assert "did you mean 'hv02.demo.local'?" in output

    code, output = orchestrate(state, "move", str(DEMO), "--vm", "library", "--to", "hv-01", "--via", "\\\\nas\\x")
    assert code == 2 and "did you mean 'hv01.demo.local'?" in output


def test_a_pattern_with_a_group_typo_suggests_the_group(tmp_path: Path) -> None:
    code, output = orchestrate(tmp_path / "state", "plan", str(DEMO), "--limit", "hyperv_host")
    assert code == 2 and "did you mean 'hyperv_hosts'?" in output


def test_a_directory_or_missing_inventory_names_its_path_not_clicks_generic_error(tmp_path: Path) -> None:
    folder = tmp_path / "empty-folder"
    folder.mkdir()
    for command in ("apply", "validate", "checkpoint"):
        extra = ["--name", "x"] if command == "checkpoint" else []
        code, output = orchestrate(tmp_path / "state", command, str(folder), *extra)
        assert code == 2
        assert "Invalid value for 'INVENTORY'" not in output
        assert f"{folder}" in output
    code, output = orchestrate(tmp_path / "state", "apply", str(tmp_path / "missing.yaml"))
    assert code == 2 and re.search(r"missing\.yaml:1:1: error: no such file", output)


def test_ask_pass_without_a_terminal_is_a_clear_error_not_a_getpass_warning(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("orchestrator.cli.output.has_terminal", lambda: False)  # cron: no terminal
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a GetPassWarning would fail the test
        code, output = orchestrate(tmp_path / "state", "apply", str(DEMO), "--ask-pass")
    assert code == 2
    assert "--ask-pass needs a terminal" in output and "lookup('env'" in output
    assert not (tmp_path / "state").exists()


def test_a_missing_switch_refuses_that_vm_naming_the_hosts_switches_and_the_others_are_built(tmp_path: Path):
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    hv02 = document["all"]["children"]["hyperv_hosts"]["hosts"]["hv02.demo.local"]
    hv02["multipoint_vms"][1]["switch"] = "Staff WLAN"
    inventory = tmp_path / "demo.yaml"
    inventory.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    state = tmp_path / "state"

    code, output = orchestrate(state, "apply", str(inventory), "--limit", "hv02.demo.local")

    assert code == 1
    flat = " ".join(output.split())
    assert "virtual switch 'Staff WLAN' is not on this host (its switches: 'Classroom LAN', 'Staff LAN')" in flat
    assert "orchestrate_simulator.switches" in flat
    assert vms_on(state, "hv02.demo.local") == {"library", "exam-room"}  # the others were built


def test_a_folder_missing_on_a_simulated_host_says_what_to_add_to_the_inventory(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert orchestrate(state, "apply", str(DEMO), "--limit", "hv02.demo.local")[0] == 0
    code, output = orchestrate(state, "export", str(DEMO), "--to", "E:\\backup", "--vm", "library")
    flat = " ".join(output.split())
    assert code == 1
    assert "create it" not in flat
    assert "add 'E:\\backup' to orchestrate_simulator.folders of hv02.demo.local in the inventory" in flat
    assert f"delete the state file of hv02.demo.local in {state}" in flat  # and how to seed it afresh

    code, output = orchestrate(state, "export", str(DEMO), "--to", "\\\\nas\\backup", "--vm", "library")
    flat = " ".join(output.split())
    assert code == 1 and "add it to orchestrate_simulator.shares of hv02.demo.local" in flat


def test_the_demo_has_a_folder_and_a_share_to_export_import_and_move_with(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert orchestrate(state, "apply", str(DEMO))[0] == 0
    code, output = orchestrate(state, "export", str(DEMO), "--to", "D:\\exports", "--limit", "hv02.demo.local",
                               "--vm", "library")
    assert code == 0, output
    code, output = orchestrate(state, "move", str(DEMO), "--vm", "exam-room", "--to", "hv01.demo.local", "--via",
                               "\\\\demo-nas\\exports")
    assert code == 0, output
    assert "exam-room" in vms_on(state, "hv01.demo.local")
    assert "exam-room" not in vms_on(state, "hv02.demo.local")
    assert len(re.findall(r"^recap", output, re.M)) == 1  # one recap for the whole move


@pytest.mark.parametrize(
    ("number", "hint"),
    [
        (6144, "6144MB (= 6GB)"),
        (1536, "1536MB"),
        (8, "8GB"),
        (8 * 1024**3, "8GB (that many bytes)"),
    ],
)
def test_a_bare_size_suggests_what_the_admin_meant(number: int, hint: str) -> None:
    assert unit_hint(number) == f"write it with a unit, like {hint}"


def _commands() -> dict[str, click.Command]:
    return dict(main.commands)  # type: ignore[attr-defined]


def shipped_hosts() -> set[str]:
    hosts: set[str] = set()
    for name in SHIPPED:
        hosts.update(load_inventory(str(ROOT / "inventories" / name)).hostvars)
    return hosts


# a host name after --limit/--host/--to (not a metavar like PATTERN, not a path like 'D:\\exports')
HOST_OPTION = re.compile(r"--(?:limit|host|to)\s+'?([a-z0-9][\w.-]*)(?=['\s]|$)", re.M)
NOT_HOSTS = {"all", "hyperv", "hyperv_hosts", "clean", "before-lesson"}  # groups and checkpoint names


def _host_names_in(text: str) -> set[str]:
    """The names an example command line gives --limit, --host or --to."""
    examples = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("orchestrate "))
    return {m for m in HOST_OPTION.findall(examples) if m not in NOT_HOSTS and not m.startswith("before-exam")}


def test_every_help_page_has_examples_with_real_host_names_and_n_means_dry_run() -> None:
    hosts = shipped_hosts()
    for name, command in _commands().items():
        text = command.get_help(click.Context(command, info_name=name))
        assert "Example" in text, f"orchestrate {name} --help has no examples"
        unknown = _host_names_in(text) - hosts
        assert not unknown, f"orchestrate {name} --help uses host names no shipped inventory has: {unknown}"
        for param in command.params:
            if "-n" in getattr(param, "opts", []):
                assert param.name == "dry_run", f"orchestrate {name}: -n is {param.name}, not --dry-run"
        if any(p.name == "state_dir" for p in command.params):
            assert "~/.local/state/orchestrate" in " ".join(text.split())


def test_readme_examples_use_the_shipped_inventories_host_names() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = "\n".join(line for line in readme.splitlines() if line.lstrip().startswith(("orchestrate ", "30 2")))
    unknown = _host_names_in(examples) - shipped_hosts()
    assert not unknown, f"README uses host names no shipped inventory has: {unknown}"


def test_the_demo_inventory_is_what_readme_copies(tmp_path: Path) -> None:
    # the same file as README's walk-through uses, copied elsewhere, still loads (no relative paths in it)
    copy = tmp_path / "demo.yaml"
    shutil.copy(DEMO, copy)
    assert load_inventory(str(copy)).errors == ()


def test_an_empty_vm_pattern_or_import_name_is_refused_before_any_host(tmp_path: Path) -> None:
    """A cron line with an unset variable passes `--vm ""`: it selected no VM and ended as a quiet exit 0.
    And `import --name 'a:b'` would have imported first and failed after, on a name no VM folder can carry."""
    state = tmp_path / "state"
    code, output = orchestrate(state, "checkpoint", str(DEMO), "--name", "friday", "--vm", "")
    assert code == 2 and "Invalid value for '--vm': is empty" in output
    code, output = orchestrate(state, "import", str(DEMO), "--host", "hv02.demo.local", "--from", "D:\\exports\\x",
                               "--name", "a:b")
    assert code == 2 and "the VM name 'a:b' contains :" in output
    assert not state.exists()  # nothing was contacted, nothing created
