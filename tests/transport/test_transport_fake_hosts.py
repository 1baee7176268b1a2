"""The fake as the benchmarks use it: many hosts behind one server, each with its own simulator, and
counters that say exactly what crossed the wire."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.transport.winrm import WinRMTransport


def test_one_server_many_hosts_routed_by_path(fake_winrm):
    doubles: dict[str, ScriptDouble] = {}
    server = fake_winrm(simulator_factory=lambda name: doubles.setdefault(name, ScriptDouble()))
    names = [f"hv{i:03d}" for i in range(20)]

    def run(name: str) -> str:
        transport = WinRMTransport(fake_host(server, name, route=name, transport="ntlm"))
        try:
            return transport.run(f"Write-Output '{name}'", idempotent=True).stdout
        finally:
            transport.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        outputs = list(pool.map(run, names))

    assert outputs == [f"{name}\r\n" for name in names]
    assert {name: d.scripts for name, d in doubles.items()} == {
        name: [f"Write-Output '{name}'"] for name in names
    }
    stats = server.stats()
    assert (stats["connections"], stats["commands"], stats["shells_created"]) == (20, 20, 20)
    assert (
        stats["requests"] == 20 * 9
    )  # 3 NTLM handshake POSTs + Create, Command, Send, Receive, Signal, Delete
    assert stats["shells_open"] == 0


def test_latency_is_added_to_every_request(fake_winrm):
    server = fake_winrm(ScriptDouble())
    server.latency = 0.02
    transport = WinRMTransport(fake_host(server, allow_unencrypted=True))
    started = time.monotonic()
    try:
        transport.run("exit 0", idempotent=True)
    finally:
        transport.close()
    assert time.monotonic() - started >= 6 * 0.02  # Create, Command, Send, Receive, Signal, Delete
