"""Offline stand-ins for Windows hosts: a fake WinRM server (WS-Management on 127.0.0.1) and a test double.

In tests (tests/ is on sys.path through tests/conftest.py), use the `fake_winrm` fixture, which stops every
server afterwards and fails the test if a shell was left open:

    server = fake_winrm(Simulator(seed={...}))                # one host at /wsman, HTTP, Basic + NTLM
    server = fake_winrm(sim, tls=True)                        # HTTPS, certificate from the `test_ca` fixture
    host = fake_host(server, transport="ntlm")                # fakes.hosts: a HostSpec pointing at it

Many hosts behind one server (benchmarks), routed by path /wsman/<name>:

    server = FakeWinRMServer(simulator_factory=lambda name: Simulator(seed=...)).start()
    hosts = [fake_host(server, name, route=name, transport="ntlm") for name in names]
    ...; server.stats(); server.stop()

or from a shell: `python -m tests.fakes --hosts 200 [--tls] [--latency 0.005]`.
"""

from .doubles import Result, ScriptDouble
from .server import FakeWinRMServer, Rule

__all__ = ["FakeWinRMServer", "Result", "Rule", "ScriptDouble"]
