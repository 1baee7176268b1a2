"""Which transport a host gets: WinRM for real hosts, the built-in simulator for `ansible_connection: simulator`."""

from __future__ import annotations

from pathlib import Path

from orchestrator.model import HostSpec
from orchestrator.transport.base import Transport


def open_transport(host: HostSpec, state_dir: Path) -> Transport:
    """A transport for `host`. Nothing is contacted yet: the first `run()` connects."""
    kind = host.connection.kind
    if kind == "winrm":
        from orchestrator.transport.winrm import WinRMTransport

        return WinRMTransport(host)
    if kind == "simulator":
        # Imported lazily: the simulator (and its parser) is only loaded when a simulated host is used.
        from orchestrator.transport.simulated import SimulatedTransport, session_for

        return SimulatedTransport(host.name, state_dir, host.simulator, session_for(host))
    raise ValueError(f"{host.name}: unknown connection kind {kind!r} (expected winrm or simulator)")
