"""End to end without Windows: the real transport, the fake WinRM server and the real Simulator behind it.
The fake hands the bootstrap and stdin to `Simulator.run` unchanged, as a host runs them."""

from __future__ import annotations

import json

import pytest
from fakes.hosts import fake_host

from orchestrator.runner.ping import CHECKS, ping_host
from orchestrator.simulator import Simulator
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

SEED = {"memory": "64GB", "logical_processors": 16}
MODES = [
    pytest.param(True, {}, id="basic-https"),
    pytest.param(False, {"transport": "ntlm"}, id="ntlm-http-encrypted"),
    pytest.param(False, {"allow_unencrypted": True}, id="basic-http-allowed"),
]


def transports(host):
    return WinRMTransport(host, backoff=Backoff(0.01, 0.05))


@pytest.fixture
def simulated(fake_winrm, ca_pem):
    """(server, host factory) with a fresh simulated Hyper-V host at /wsman."""

    def make(tls: bool, **options):
        server = fake_winrm(Simulator(seed=SEED), tls=tls)
        return server, fake_host(server, ca_trust_path=ca_pem if tls else None, **options)

    return make


@pytest.mark.parametrize(("tls", "options"), MODES)
def test_ping_a_simulated_host(simulated, tls, options):
    _server, host = simulated(tls, **options)

    report = ping_host(host, transports)

    expected = dict.fromkeys(CHECKS, "ok")
    if not tls:
        expected["tls"] = "skipped"
    assert {c.name: c.status for c in report.checks} == expected
    assert report.facts["hyperv_module"] is True and report.facts["os_sku"] == 8


def test_ping_a_simulated_host_without_hyperv(fake_winrm):
    server = fake_winrm(Simulator(seed={**SEED, "hyperv_installed": False}))
    report = ping_host(fake_host(server, transport="ntlm"), transports)
    assert report.check("hyperv").status == "failed"


@pytest.mark.parametrize(("tls", "options"), MODES)
def test_200_kb_powershell_script(simulated, tls, options):
    server, host = simulated(tls, **options)
    names = ",".join(f"'lab-{i:05d}-xxxxxxxxxx'" for i in range(9000))
    script = (
        "$ErrorActionPreference = 'Stop'\n"
        "$ProgressPreference = 'SilentlyContinue'\n"
        f"$names = @({names})\n"
        "Write-Output ([ordered]@{ count = $names.Count; last = $names[-1] } | ConvertTo-Json -Compress)\n"
    )
    assert len(script.encode()) > 200_000
    transport = transports(host)
    try:
        result = transport.run(script, idempotent=True)
    finally:
        transport.close()

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"count": 9000, "last": "lab-08999-xxxxxxxxxx"}
    # Three Sends carry the script to each command; under load an idempotent script may be run once more
    # (a read timed out), and that run sends it in three again.
    stats = server.stats()
    assert stats["action:Send"] == 3 * stats["action:Command"], stats


def test_a_host_with_a_smaller_envelope_limit_refuses_the_script_and_nothing_runs(simulated):
    # A host whose MaxEnvelopeSizekb was lowered to 64: each 96 KiB chunk of stdin is too big. The run fails
    # once, without retrying a request the host will always refuse, and the script never ran.
    server, host = simulated(False, allow_unencrypted=True)
    server.max_envelope_kb = 64
    transport = transports(host)
    try:
        with pytest.raises(Exception) as failure:
            transport.run("$x = '" + "a" * 150_000 + "'\nWrite-Output 'ran'", idempotent=True)
    finally:
        transport.close()
    assert "MaxEnvelopeSizekb" in str(failure.value)
    stats = server.stats()
    assert stats["refused_envelopes"] == 1 and stats.get("commands", 0) <= 1
    assert server.hosts[""].commands_run == 0


def test_non_ascii_vm_names_round_trip_through_the_simulated_host(simulated):
    _server, host = simulated(False, transport="ntlm")
    name = "Klassenzimmer-Größe-Ωμέγα-教室-😀"
    create = (
        "$ErrorActionPreference = 'Stop'\n"
        f"New-VM -Confirm:$false -Name '{name}' -MemoryStartupBytes 1GB -Generation 2 -NoVHD | Out-Null\n"
        "Write-Output ([ordered]@{ names = @(Get-VM | ForEach-Object { $_.Name }) } | ConvertTo-Json -Compress)\n"
    )
    transport = transports(host)
    try:
        created = transport.run(create, idempotent=True)
        missing = transport.run("Get-VM -Name 'fehlt-Ω'", idempotent=True)
    finally:
        transport.close()

    assert json.loads(created.stdout) == {"names": [name]}
    assert missing.exit_code == 1
    assert 'Hyper-V was unable to find a virtual machine with name "fehlt-Ω".' in missing.stderr
    assert "CLIXML" not in missing.stderr and "_x000D_" not in missing.stderr
