"""Audit L, L5: `orchestrate render` of a real host whose Windows version nothing gives (no --facts, no
--os-version) renders for the default, 2012 R2, which is not the product's floor: a 2012 host refuses
New-VM -Generation (docset/winserver2012-ps/hyper-v/New-VM.md lists none). The admin now reads that on
stderr, while stdout keeps the files written (or the JSON lines); told the version, render says nothing."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from orchestrator.cli import main


def _school(tmp_path: Path) -> Path:
    path = tmp_path / "school.yaml"
    host = {"ansible_host": "10.20.0.11", "multipoint_vms": [
        {"name": "lab-01", "generation": 1, "cpus": 2, "memory": "4GB", "switch": "School LAN",
         "disk": {"parent": "D:\\Images\\MultiPoint-2012-Premium-sysprep.vhdx"}}]}
    document = {"all": {
        "vars": {"ansible_connection": "winrm", "ansible_user": "SCHOOL\\hyperv-admin", "ansible_password": "{{ lookup('env', 'SCHOOL_WINRM_PASSWORD') }}"},
        "hosts": {"hv01.school.local": host, "hv02.school.local": {**host, "ansible_host": "10.20.0.12"}},
    }}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_a_render_without_a_version_says_on_stderr_that_it_took_2012_r2(tmp_path: Path) -> None:
    out = tmp_path / "review"

    result = CliRunner(env={"SCHOOL_WINRM_PASSWORD": "pw"}).invoke(main, ["render", str(_school(tmp_path)), "--out", str(out), "-o", "json"])

    assert result.exit_code == 0, result.output
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()][-1] == "recap"
    assert "warning: no Windows version known for hv01.school.local, hv02.school.local" in result.stderr
    assert "rendered for Windows Server 2012 R2 (6.3)" in result.stderr and "--os-version 6.2" in result.stderr
    assert "-Generation 1" in (out / "hv01.school.local" / "apply.ps1").read_text(encoding="utf-8-sig")


def test_a_render_told_the_version_says_nothing_more(tmp_path: Path) -> None:
    out = tmp_path / "review"

    result = CliRunner(env={"SCHOOL_WINRM_PASSWORD": "pw"}).invoke(main, ["render", str(_school(tmp_path)), "--out", str(out), "--os-version", "6.2"])

    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert "-Generation" not in (out / "hv01.school.local" / "apply.ps1").read_text(encoding="utf-8-sig")
