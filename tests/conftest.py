"""Fixtures any test folder may use: a fake WinRM server on 127.0.0.1 (see tests/fakes) and a test CA.

    def test_x(fake_winrm):
        server = fake_winrm(ScriptDouble())            # HTTP, Basic + NTLM, user admin / Passw0rd!
        server = fake_winrm(sim, tls=True)             # HTTPS with the session's test CA
Every server is stopped after the test, and the test fails if a shell was left open on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from fakes import FakeWinRMServer


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    """One test CA per worker process: it issues the fake's server certificates and client certificates."""
    return trustme.CA()


@pytest.fixture
def ca_pem(test_ca: trustme.CA, tmp_path: Path) -> str:
    """The test CA as a PEM file, for ansible_winrm_ca_trust_path."""
    path = tmp_path / "test-ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def fake_winrm(test_ca: trustme.CA) -> Iterator[Callable[..., FakeWinRMServer]]:
    """A factory of started fake servers; `tls=True` uses the test CA. Asserts zero open shells afterwards."""
    servers: list[FakeWinRMServer] = []

    def start(simulator: Any = None, *, tls: bool = False, **options: Any) -> FakeWinRMServer:
        server = FakeWinRMServer(simulator, tls=test_ca if tls else None, **options).start()
        servers.append(server)
        return server

    yield start
    leaked = {server.url(): server.open_shells() for server in servers}
    for server in servers:
        server.stop()
    assert not any(leaked.values()), f"shells left open on the fake WinRM server: {leaked}"
