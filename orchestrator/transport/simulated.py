"""The transport for `ansible_connection: simulator`: runs scripts on a simulated Hyper-V host.

It runs a script exactly as the WinRM transport has a real host run it: the stdin bootstrap made for it
(orchestrator.transport.stdin: read stdin, check it arrived whole, run it as a script block), the script on
stdin. Each host keeps its
state in `<state dir>/simulator/<host>.json`; UNC shares are shared by all simulated hosts of the state dir.
The session is the one the inventory's connection would open on a real host (`session_for`), so a share is
out of reach exactly when it would be: the double hop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.model import HostSpec
from orchestrator.simulator import Session, Simulator
from orchestrator.statedir import StateDirError, storage_error
from orchestrator.transport.base import CommandResult, OutputCallback
from orchestrator.transport.errors import ScriptNotReceived
from orchestrator.transport.stdin import channel, received_whole

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def state_file(state_dir: Path, host_name: str) -> Path:
    """The one state file of a simulated host (host names are made file-name safe)."""
    safe = _UNSAFE.sub("_", host_name) or "_"
    return Path(state_dir) / "simulator" / f"{safe}.json"


def session_for(host: HostSpec) -> Session:
    """The logon a WinRM session with this host's connection settings gets, for the simulated host.

    It can reach a share with CredSSP, with Kerberos whose ticket is delegated (ansible_winrm_kerberos_delegation,
    pywinrm's forwardable ticket), or when the host's computer account is trusted for delegation to the file
    server, which only Active Directory knows: `orchestrate_simulator: {delegation: true}` stands for that
    (MicrosoftDocs/PowerShell-Docs reference/docs-conceptual/security/remoting/PS-remoting-second-hop.md,
    "CredSSP", "Kerberos constrained delegation"). Anything else (NTLM, the default) is a double hop.
    """
    conn = host.connection
    transport = str(conn.transport or "ntlm").lower()
    delegated = transport == "kerberos" and bool(conn.kerberos_delegation)
    knob = bool((host.simulator or {}).get("delegation", False))
    return Session(transport=transport, delegation=delegated or knob)


class SimulatedTransport:
    def __init__(self, host_name: str, state_dir: Path, seed: Mapping[str, Any] | None,
                 session: Session | None = None) -> None:
        """`session` None is someone at the host's console (tests that drive a host directly)."""
        self.host_name = host_name
        self.path = state_file(state_dir, host_name)
        try:
            self.simulator = Simulator(state_path=self.path, seed=seed, host_name=host_name, session=session)
        except OSError as exc:
            raise _storage_fault(self.path, exc, "load the simulated host's state") from None
        self.closed = False

    def run(
        self,
        script: str,
        *,
        idempotent: bool,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
        secrets: Mapping[str, str] | None = None,
        read_only: bool = False,
    ) -> CommandResult:
        """Run one script; `idempotent` and `timeout` do not matter to an in-process host that cannot hang up.
        The secrets follow the script on stdin, exactly as the WinRM transport sends them."""
        try:
            result = self.simulator.run(*channel(script, secrets))
        except OSError as exc:  # its state files under the state dir: disk full, read-only, ...
            raise _storage_fault(self.path, exc, "save the simulated host's state") from None
        if not received_whole(result.exit_code, result.stderr):
            raise ScriptNotReceived.on(self.host_name)
        if on_output is not None:
            if result.stdout:
                on_output("stdout", result.stdout)
            if result.stderr:
                on_output("stderr", result.stderr)
        return CommandResult(result.stdout, result.stderr, result.exit_code)

    def close(self) -> None:
        self.closed = True


def _storage_fault(path: Path, exc: OSError, doing: str) -> StateDirError:
    """A simulated host's state file could not be read or written: the state directory's own storage
    error (disk full, read-only, ...), named with the file and the fix, as the journal's and the locks'
    are; the runner reports it as the host's failure. A real host keeps no state on the admin box."""
    return storage_error(Path(exc.filename) if exc.filename else path, exc, doing)
