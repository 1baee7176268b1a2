"""`orchestrate ping`: a new admin's first command. Each check passes against a good host, and each broken
thing fails the right check with its fix."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.cli import main
from orchestrator.runner.ping import CHECKS, PING_SCRIPT, ping_host
from orchestrator.simulator import Simulator
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

HOST_DOC = {
    "ok": True,
    "computer_name": "HV01",
    "caption": "Microsoft Windows Server 2012 R2 Datacenter",
    "os_version": "6.3.9600",
    "os_sku": 8,
    "hyperv_module": True,
    "hyperv_rights": True,
    "rights_error": None,
}


def windows_host(**changes) -> ScriptDouble:
    """A double that answers the ping script as a Windows host with these facts would."""
    double = ScriptDouble()
    double.reply_to("Get-VMHost", json.dumps({**HOST_DOC, **changes}) + "\r\n")
    return double


def transports(host):
    return WinRMTransport(host, backoff=Backoff(0.01, 0.05))


def statuses(report) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def test_ping_script_follows_the_script_contract():
    lines = PING_SCRIPT.splitlines()
    assert lines[:2] == ["$ErrorActionPreference = 'Stop'", "$ProgressPreference = 'SilentlyContinue'"]
    assert "ConvertTo-Json -Depth 8 -Compress" in PING_SCRIPT and "exit 1" in PING_SCRIPT


def test_healthy_host_passes_every_check(fake_winrm, ca_pem):
    double = windows_host()
    server = fake_winrm(double, tls=True)

    report = ping_host(fake_host(server, ca_trust_path=ca_pem), transports)

    assert report.ok and statuses(report) == dict.fromkeys(CHECKS, "ok")
    assert "Windows Server 2012 R2 Datacenter 6.3.9600, SKU 8" in report.check("os").detail
    assert double.scripts == [PING_SCRIPT]


def test_wrong_password_fails_authentication_with_its_fix(fake_winrm, ca_pem):
    server = fake_winrm(windows_host(), tls=True)

    report = ping_host(fake_host(server, password="not-it", ca_trust_path=ca_pem), transports)

    assert statuses(report)["reachable"] == "ok" and statuses(report)["tls"] == "ok"
    failed = report.check("authenticated")
    assert failed.status == "failed" and "ansible_password" in failed.fix
    assert statuses(report)["admin"] == "skipped"


def test_basic_over_http_is_refused_without_contacting_the_host(fake_winrm):
    server = fake_winrm(windows_host())

    report = ping_host(fake_host(server), transports)

    assert report.check("settings").status == "failed"
    assert "orchestrate_allow_unencrypted" in report.check("settings").fix
    assert server.stats()["connections"] == 0


def test_untrusted_certificate_fails_tls(fake_winrm):
    server = fake_winrm(windows_host(), tls=True)

    report = ping_host(fake_host(server), transports)

    assert report.check("tls").status == "failed"
    assert "ansible_winrm_ca_trust_path" in report.check("tls").fix
    assert server.stats()["requests"] == 0


def test_nothing_listening_fails_reachable(fake_winrm):
    server = fake_winrm(windows_host())
    host = fake_host(server, transport="ntlm")
    server.stop()

    report = ping_host(host, transports)

    assert report.check("reachable").status == "failed"
    assert "winrm quickconfig" in report.check("reachable").fix


def test_missing_hyperv_module(fake_winrm):
    server = fake_winrm(windows_host(hyperv_module=False, hyperv_rights=None))
    report = ping_host(fake_host(server, transport="ntlm"), transports)
    assert (
        report.check("hyperv").status == "failed" and "Install-WindowsFeature" in report.check("hyperv").fix
    )
    assert report.check("admin").status == "skipped"


def test_account_without_hyperv_rights(fake_winrm):
    server = fake_winrm(
        windows_host(hyperv_rights=False, rights_error="You do not have the required permission")
    )
    report = ping_host(fake_host(server, transport="ntlm"), transports)
    assert report.check("admin").status == "failed"
    assert "Hyper-V Administrators" in report.check("admin").fix


# ---- the command line, against simulated Hyper-V hosts --------------------------------------------------------


def simulated_host() -> Simulator:
    return Simulator(seed={"memory": "64GB"})


def inventory(tmp_path, server, hosts: dict[str, dict], name: str = "school.yaml", **group_vars) -> str:
    """An Ansible-style inventory whose hosts are routes on the fake server (password from the environment)."""
    data = {
        "all": {
            "vars": {
                "ansible_host": "127.0.0.1",
                "ansible_port": server.port,
                "ansible_user": "admin",
                "ansible_password": "{{ lookup('env', 'FAKE_WINRM_PASSWORD') }}",
                "orchestrate_retry": {"attempts": 2, "deadline": 5},
                **group_vars,
            },
            "hosts": {host: {"ansible_winrm_path": f"/wsman/{host}", **v} for host, v in hosts.items()},
        }
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return str(path)


@pytest.fixture
def good_password(monkeypatch):
    monkeypatch.setenv("FAKE_WINRM_PASSWORD", "Passw0rd!")


def test_cli_ping_basic_over_https(fake_winrm, ca_pem, tmp_path, good_password):
    server = fake_winrm(tls=True)
    server.add_host("hv01", simulated_host())
    path = inventory(
        tmp_path,
        server,
        {"hv01": {"ansible_winrm_transport": "basic", "ansible_winrm_ca_trust_path": ca_pem}},
    )

    result = CliRunner().invoke(main, ["ping", path])

    assert result.exit_code == 0, result.output
    assert "hv01 | SUCCESS" in result.output and "Hyper-V module" in result.output


def test_cli_ping_ntlm_over_http_and_limit(fake_winrm, tmp_path, good_password):
    server = fake_winrm(simulator_factory=lambda _name: simulated_host())
    path = inventory(tmp_path, server, {"hv01": {}, "hv02": {}}, ansible_winrm_scheme="http")

    result = CliRunner().invoke(main, ["ping", path, "--limit", "hv02", "-o", "json"])

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(doc["host"], doc["ok"]) for doc in lines if doc["event"] == "ping"] == [("hv02", True)]
    assert lines[-1]["event"] == "recap" and lines[-1]["exit_code"] == 0
    assert server.stats()["encrypted_requests"] > 0


def test_cli_ping_basic_over_http_needs_the_allowance(fake_winrm, tmp_path, good_password):
    server = fake_winrm(simulator_factory=lambda _name: simulated_host())
    clear = {"ansible_winrm_scheme": "http", "ansible_winrm_transport": "basic"}
    path = inventory(tmp_path, server, {"hv01": {}}, **clear)
    path_allowed = inventory(
        tmp_path, server, {"hv01": {"orchestrate_allow_unencrypted": True}}, name="allowed.yaml", **clear
    )

    refused = CliRunner().invoke(main, ["ping", path])
    # The inventory check already refuses it (exit 2: invalid input); the transport would refuse it too.
    assert refused.exit_code == 2
    assert "orchestrate_allow_unencrypted" in refused.output and server.stats()["connections"] == 0

    allowed = CliRunner().invoke(main, ["ping", path_allowed])
    assert allowed.exit_code == 0, allowed.output
    assert "[WARNING]: hv01: basic authentication over HTTP" in allowed.output


def test_cli_ping_wrong_password_exits_1_with_a_clear_message(fake_winrm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_WINRM_PASSWORD", "definitely-wrong")
    server = fake_winrm(simulator_factory=lambda _name: simulated_host())
    path = inventory(tmp_path, server, {"hv01": {}}, ansible_winrm_scheme="http")

    result = CliRunner().invoke(main, ["ping", path])

    assert result.exit_code == 1
    assert "hv01 | FAILED" in result.output
    assert "rejected the credentials" in result.output and "fix:" in result.output
    assert "definitely-wrong" not in result.output


def test_cli_ping_simulated_hosts(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {"ansible_connection": "simulator"},
                    "hosts": {
                        "sim01": {"orchestrate_simulator": {"memory": "64GB"}},
                        "sim02": {"orchestrate_simulator": {"memory": "64GB", "hyperv_installed": False}},
                    },
                }
            }
        ),
        encoding="utf-8",
    )

    result = CliRunner().invoke(main, ["ping", str(path), "--state-dir", str(tmp_path / "state")])

    assert result.exit_code == 1, result.output
    assert "sim01 | SUCCESS" in result.output and "sim02 | FAILED" in result.output
    assert "Install-WindowsFeature -Name Hyper-V" in result.output


def test_a_2012_host_without_the_winrm_memory_hotfix_is_warned_about(fake_winrm, tmp_path, good_password):
    """The admin pings two 2012 hosts (Windows PowerShell 3.0): one lacks KB2842230, whose absence makes
    WinRM run out of memory in larger runs (Ansible's "WinRM Memory Hotfix"). It still passes, with a
    warning naming the fix; the patched host and a 2012 R2 host (PowerShell 4.0) get none."""
    seeds = {
        "old": {"os_version": "6.2", "memory": "64GB"},
        "patched": {"os_version": "6.2", "memory": "64GB", "hotfixes": ["KB2842230"]},
        "r2": {"os_version": "6.3", "memory": "64GB"},
    }
    server = fake_winrm(simulator_factory=lambda name: Simulator(seed=seeds[name]))
    path = inventory(tmp_path, server, {name: {} for name in seeds}, ansible_winrm_scheme="http")

    result = CliRunner().invoke(main, ["ping", path, "-o", "json"])

    assert result.exit_code == 0, result.output
    reports = {doc["host"]: doc for doc in map(json.loads, result.stdout.splitlines()) if doc["event"] == "ping"}
    assert all(report["ok"] for report in reports.values())
    assert [w for w in reports["old"]["warnings"] if "KB2842230" in w] != []
    assert reports["old"]["facts"]["winrm_memory_hotfix"] is False
    assert not any("KB2842230" in w for w in reports["patched"]["warnings"] + reports["r2"]["warnings"])
    assert reports["patched"]["facts"]["winrm_memory_hotfix"] is True
    assert reports["r2"]["facts"]["winrm_memory_hotfix"] is None
