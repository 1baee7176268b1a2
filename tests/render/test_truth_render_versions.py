"""Issue 13, finding 6: `orchestrate render` renders each host for its own Windows version (the facts a real
host printed, --os-version, or the simulator's declared os_version), never as 2012 R2 regardless; a VM the
version cannot run is an error naming the host, not a broken script."""

from __future__ import annotations

import codecs
import json
from dataclasses import replace
from pathlib import Path

import pytest
from render_support import host_with
from test_render_cli import VM, _fake_loader, _run

from orchestrator.model import Connection, HostSpec
from orchestrator.render import Renderer
from orchestrator.simulator import Simulator

GEN1 = replace(VM, generation=1)
GEN2 = replace(VM, generation=2)


def simulator_host(os_version: str, *vms) -> HostSpec:
    return replace(host_with(tuple(vms)), connection=Connection(kind="simulator"), simulator={"os_version": os_version})


def apply_script(out: Path, host: str = "hv01") -> str:
    return (out / host / "apply.ps1").read_bytes()[len(codecs.BOM_UTF8) :].decode("utf-8")


def new_vm_line(script: str) -> str:
    return next(line for line in script.splitlines() if "New-VM -Name" in line)


@pytest.mark.parametrize(("os_version", "generation_passed"), [("6.2.9200", False), ("6.3.9600", True)])
def test_a_simulator_host_is_rendered_for_its_declared_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, os_version: str, generation_passed: bool
) -> None:
    _fake_loader(monkeypatch, {"hv01": simulator_host(os_version, GEN1)})

    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "out"))

    assert code == 0, stderr
    assert ("-Generation 1" in new_vm_line(apply_script(tmp_path / "out"))) is generation_passed


@pytest.mark.parametrize(("os_version", "generation_passed"), [("6.2", False), ("6.3", True)])
def test_os_version_renders_a_real_host_for_that_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, os_version: str, generation_passed: bool
) -> None:
    _fake_loader(monkeypatch, {"hv01": host_with((GEN1,))})

    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "out"), "--os-version", os_version)

    assert code == 0, stderr
    assert ("-Generation 1" in new_vm_line(apply_script(tmp_path / "out"))) is generation_passed


def test_a_generation_2_vm_for_a_2012_host_is_an_error_naming_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_loader(monkeypatch, {"hv01": simulator_host("6.2", GEN2), "hv02": simulator_host("6.3", GEN2)})

    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "out"))

    assert code == 2
    assert "host hv01: VM 'lab-01' is generation 2, which needs Windows Server 2012 R2" in stderr
    assert "hv02" not in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("os_version", "generation_passed"), [("6.2", False), ("6.3", True)])
def test_facts_saved_from_a_host_render_for_that_hosts_version_and_cmdlets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, os_version: str, generation_passed: bool
) -> None:
    host = host_with((GEN1,))
    printed = Simulator(None, {"os_version": os_version}).run(Renderer().render_facts(host))
    assert printed.exit_code == 0, printed.stderr
    facts_file = tmp_path / "hv01-facts.json"
    facts_file.write_text(printed.stdout, encoding="utf-8")
    _fake_loader(monkeypatch, {"hv01": host})

    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "out"), "--facts", str(facts_file))

    assert code == 0, stderr
    assert ("-Generation 1" in new_vm_line(apply_script(tmp_path / "out"))) is generation_passed


def test_facts_of_one_host_are_refused_for_several(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text("{}", encoding="utf-8")
    _fake_loader(monkeypatch, {"hv01": host_with((GEN1,)), "hv02": host_with(())})

    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "out"), "--facts", str(facts_file))

    assert code == 2 and "--facts describes one host, but 2 are selected" in stderr
    assert not (tmp_path / "out").exists()


def test_the_facts_an_apply_printed_are_refused_with_what_to_save_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin saves the `facts` of an apply's JSON reply: it lacks the cmdlets the render needs, and the error
    says which document to save instead."""
    host = host_with((GEN1,))
    printed = Simulator(None, {"os_version": "6.3"}).run(Renderer().render_facts(host))
    document = json.loads(printed.stdout)
    apply_facts = {k: v for k, v in document.items() if k not in ("cmdlets", "images")}
    facts_file = tmp_path / "from-apply.json"
    facts_file.write_text(json.dumps(apply_facts), encoding="utf-8")
    _fake_loader(monkeypatch, {"hv01": host})

    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "out"), "--facts", str(facts_file))

    assert code == 2
    assert "has no 'cmdlets' section" in stderr and "save the output of the host's facts.ps1 instead" in stderr
    assert not (tmp_path / "out").exists()
