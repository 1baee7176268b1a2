"""The admin's story: a host allows unencrypted WinRM (common on lab hosts) and the inventory asks for
Kerberos over HTTP with message encryption 'auto'. pywinrm sets up encryption only when the installed
kerberos module can (requests_kerberos: `hasattr(kerberos, 'authGSSWinRMEncryptMessage')`) and otherwise
goes on in clear text, answer-file passwords and all. The product refuses before it sends anything."""

from __future__ import annotations

from typing import Any

import pytest
import winrm.transport as pywinrm_transport
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.transport.errors import InsecureTransportRefused
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

FAST = Backoff(initial=0.01, maximum=0.05)


class KerberosWithoutEncryption:
    """A kerberos auth whose library lacks WinRM message encryption (winrm_encryption_available False)."""

    winrm_encryption_available = False

    def __init__(self, **_settings: Any) -> None:
        pass

    def __call__(self, request: Any) -> Any:  # requests' AuthBase protocol: never reached here
        raise AssertionError("no request may be sent")


@pytest.fixture
def kerberos_that_cannot_encrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pywinrm_transport, "HAVE_KERBEROS", True)
    monkeypatch.setattr(pywinrm_transport, "HTTPKerberosAuth", KerberosWithoutEncryption, raising=False)
    monkeypatch.setattr(pywinrm_transport, "REQUIRED", 1, raising=False)  # requests_kerberos' constant


def test_kerberos_over_http_without_encryption_is_refused_before_anything_is_sent(
    fake_winrm: Any, kerberos_that_cannot_encrypt: None
) -> None:
    server = fake_winrm(ScriptDouble())
    transport = WinRMTransport(fake_host(server, transport="kerberos", message_encryption="auto"), backoff=FAST)
    try:
        with pytest.raises(InsecureTransportRefused) as caught:
            transport.run("Write-Output 'secret'", idempotent=True)
    finally:
        transport.close()
    assert "could not set up message encryption" in caught.value.message
    assert "pywinrm[kerberos]" in caught.value.fix and "orchestrate_allow_unencrypted" in caught.value.fix
    assert server.stats()["requests"] == 0


def test_a_lab_host_that_allows_clear_text_gets_a_warning_instead(
    fake_winrm: Any, kerberos_that_cannot_encrypt: None
) -> None:
    server = fake_winrm(ScriptDouble())
    transport = WinRMTransport(fake_host(server, transport="kerberos", message_encryption="auto",
                                         allow_unencrypted=True), backoff=FAST)
    try:
        with pytest.raises(Exception) as caught:  # the fake speaks no Kerberos: the refusal is what matters
            transport.run("Write-Output 'lab'", idempotent=True)
    finally:
        transport.close()
    assert not isinstance(caught.value, InsecureTransportRefused)
    assert any("could not set up message encryption" in w and "allowed by orchestrate_allow_unencrypted" in w
               for w in transport.warnings)
