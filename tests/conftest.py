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
from hypothesis import HealthCheck, settings

# Every property test runs under load too (`-n 8` on two cores, CI beside other jobs): a slow machine is no
# failure of the property, so no test has a deadline and none fails for drawing its inputs slowly. Tests
# that set their own settings inherit these for what they leave out.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


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


# -- no test writes into the admin's real state directory -------------------------------------------------------
# Every test passes --state-dir or sets ORCHESTRATE_STATE_DIR to its tmp_path. The default state directory
# (orchestrator.cli.options.default_state_dir: /var/lib/orchestrate for root, else the XDG state folder) is
# the admin's real journal and locks: the session fails if any test created or changed a file there.


def _default_state_dirs() -> list[Path]:
    import os

    from orchestrator.cli.options import SYSTEM_STATE_DIR, default_state_dir

    environ = {k: v for k, v in os.environ.items() if k != "ORCHESTRATE_STATE_DIR"}
    candidates = [default_state_dir(environ), SYSTEM_STATE_DIR, Path.home() / ".local" / "state" / "orchestrate"]
    return list(dict.fromkeys(candidates))


def _snapshot(folders: list[Path]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for folder in folders:
        if folder.exists():
            found[str(folder)] = (0, 0)
            for path in folder.rglob("*"):
                stat = path.stat()
                found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STATE_SNAPSHOT] = _snapshot(_default_state_dirs())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_STATE_SNAPSHOT, None)
    if before is None:
        return
    after = _snapshot(_default_state_dirs())
    changed = sorted(path for path in after.keys() | before.keys() if after.get(path) != before.get(path))
    if changed:
        session.config.get_terminal_writer().line(
            "tests wrote into the real default state directory (pass --state-dir or set "
            f"ORCHESTRATE_STATE_DIR to tmp_path): {changed[:10]}",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_STATE_SNAPSHOT = pytest.StashKey[dict[str, tuple[int, int]]]()
