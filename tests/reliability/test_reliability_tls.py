"""TLS and clear text: the safe choice is the default, and the unsafe one must be asked for by name.

Given a Hyper-V host whose WinRM HTTPS listener has a certificate the admin box does not trust (a self-signed
or private-CA certificate), when the admin applies an inventory that only says "HTTPS", then the host is
refused before any credential is sent, with the fix (ansible_winrm_ca_trust_path) in the message; trusting
the CA makes it work. Given a host that only has the HTTP listener, Basic authentication (clear-text
credentials) is refused before anything is sent unless `orchestrate_allow_unencrypted: true` is set for it,
and then every run warns.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from fakes.hosts import fake_host
from reliability_support import HOST_SEED, PREMIUM_IMAGE, SWITCH, run_inventory, write_yaml

from orchestrator.cli import main
from orchestrator.model import Inventory
from orchestrator.simulator import Simulator

PASSWORD = "Passw0rd!"


def inventory(folder: Path, server: Any, **connection: Any) -> Path:
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": "admin",
        "ansible_password": "{{ lookup('env', 'WINRM_PASSWORD') }}",
        "ansible_winrm_transport": "basic",
        "orchestrate_retry": {"attempts": 2, "deadline": 5},
        "multipoint_vms": [
            {
                "name": "lab-01",
                "cpus": 2,
                "memory": "4GB",
                "switch": SWITCH,
                "disk": {"parent": PREMIUM_IMAGE},
            }
        ],
    }
    host.update(connection)
    return write_yaml(folder / "inventory.yaml", {"all": {"hosts": {"hv01": host}}})


def apply(path: Path, state: Path) -> Result:
    return CliRunner().invoke(
        main, ["apply", str(path), "--state-dir", str(state), "-vv"], env={"WINRM_PASSWORD": PASSWORD}
    )


def test_an_untrusted_certificate_is_refused_by_default_with_the_fix(fake_winrm: Any, tmp_path: Path) -> None:
    server = fake_winrm(Simulator(seed=HOST_SEED), tls=True)
    path = inventory(tmp_path, server)  # no scheme, no validation setting: the defaults

    refused = apply(path, tmp_path / "state")

    assert refused.exit_code == 1
    assert "certificate" in refused.output and "not trusted" in refused.output
    assert "ansible_winrm_ca_trust_path" in refused.output  # the fix, in the message
    assert server.stats()["requests"] == 0  # the handshake failed: no request, no credential was sent
    # The server's thread counts the failed handshake after the client has already given up: under load
    # that can come a moment later, so wait for it (bounded) instead of reading it once.
    deadline = time.monotonic() + 10
    while server.stats().get("connection_errors", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stats()["connection_errors"] >= 1


def test_trusting_the_hosts_ca_makes_it_work(fake_winrm: Any, ca_pem: str, tmp_path: Path) -> None:
    server = fake_winrm(Simulator(seed=HOST_SEED), tls=True)
    path = inventory(tmp_path, server, ansible_winrm_ca_trust_path=ca_pem)

    done = apply(path, tmp_path / "state")

    assert done.exit_code == 0, done.output
    assert "not validated" not in done.output


def test_ignoring_validation_must_be_asked_for_and_is_warned_about(fake_winrm: Any, tmp_path: Path) -> None:
    server = fake_winrm(Simulator(seed=HOST_SEED), tls=True)
    path = inventory(tmp_path, server, ansible_winrm_server_cert_validation="ignore")

    done = apply(path, tmp_path / "state")

    assert done.exit_code == 0, done.output
    assert "not validated" in done.output


def test_basic_over_http_is_refused_before_sending_anything(fake_winrm: Any, tmp_path: Path) -> None:
    server = fake_winrm(Simulator(seed=HOST_SEED))  # the HTTP listener, AllowUnencrypted on the host
    path = inventory(tmp_path, server, ansible_winrm_scheme="http")

    refused = apply(path, tmp_path / "state")

    assert refused.exit_code == 2  # refused by the inventory rules: nothing was contacted
    assert "unencrypted" in refused.output and "orchestrate_allow_unencrypted: true" in refused.output
    assert "ansible_winrm_scheme: https" in refused.output
    assert server.stats()["requests"] == 0  # the credentials never left the admin box


def test_the_transport_refuses_clear_text_by_itself_too(fake_winrm: Any, tmp_path: Path) -> None:
    """Defence in depth: a HostSpec built without the inventory rules (a library user, a future command)."""
    server = fake_winrm(Simulator(seed=HOST_SEED))
    host = replace(fake_host(server, "hv01"), vms=())  # Basic over HTTP, allow_unencrypted not set

    result, _ = run_inventory(Inventory("inline", {"hv01": host}, {}, {}), tmp_path / "state")

    assert result.exit_code == 1
    assert "clear text" in (result.outcomes["hv01"].error or "")
    assert "orchestrate_allow_unencrypted" in (result.outcomes["hv01"].fix or "")
    assert server.stats()["requests"] == 0


def test_ntlm_over_http_without_message_encryption_is_refused_too(fake_winrm: Any, tmp_path: Path) -> None:
    server = fake_winrm(Simulator(seed=HOST_SEED))
    path = inventory(
        tmp_path,
        server,
        ansible_winrm_scheme="http",
        ansible_winrm_transport="ntlm",
        ansible_winrm_message_encryption="never",
    )

    refused = apply(path, tmp_path / "state")

    assert refused.exit_code == 2
    assert "unencrypted" in refused.output
    assert server.stats()["requests"] == 0


def test_clear_text_works_only_when_allowed_by_name_and_then_warns(fake_winrm: Any, tmp_path: Path) -> None:
    server = fake_winrm(Simulator(seed=HOST_SEED))
    path = inventory(tmp_path, server, ansible_winrm_scheme="http", orchestrate_allow_unencrypted=True)

    done = apply(path, tmp_path / "state")

    assert done.exit_code == 0, done.output
    assert "clear text" in done.output and "allowed by orchestrate_allow_unencrypted" in done.output


def test_ntlm_over_http_with_message_encryption_is_fine_without_any_exception(
    fake_winrm: Any, tmp_path: Path
) -> None:
    server = fake_winrm(Simulator(seed=HOST_SEED), allow_unencrypted=False)  # the host's default
    path = inventory(tmp_path, server, ansible_winrm_scheme="http", ansible_winrm_transport="ntlm")

    done = apply(path, tmp_path / "state")

    assert done.exit_code == 0, done.output
    assert server.stats()["encrypted_requests"] > 0
    assert "clear text" not in done.output
