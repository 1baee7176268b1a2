"""open_transport picks the transport from ansible_connection, and contacts nothing while doing so."""

from __future__ import annotations

import pytest

from orchestrator.model import Connection, HostSpec
from orchestrator.transport.factory import open_transport
from orchestrator.transport.winrm import WinRMTransport


def test_winrm_hosts_get_the_winrm_transport_without_connecting(tmp_path):
    host = HostSpec(name="hv01", connection=Connection(address="192.0.2.1", transport="ntlm"))
    transport = open_transport(host, tmp_path)
    assert isinstance(transport, WinRMTransport)
    transport.close()  # nothing was opened: closing contacts nothing either


def test_simulator_hosts_get_the_simulated_transport(tmp_path):
    simulated = pytest.importorskip("orchestrator.transport.simulated")
    host = HostSpec(name="sim01", connection=Connection(kind="simulator"), simulator={"memory": "64GB"})
    assert isinstance(open_transport(host, tmp_path), simulated.SimulatedTransport)


def test_unknown_connection_kind_is_an_error(tmp_path):
    host = HostSpec(name="x", connection=Connection(kind="ssh"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown connection kind"):
        open_transport(host, tmp_path)
