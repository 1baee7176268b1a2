"""The transport for `ansible_connection: simulator`: runs scripts on a simulated Hyper-V host.

It runs a script exactly as the WinRM transport has a real host run it: the stdin bootstrap
(`$s = [Console]::In.ReadToEnd(); & ([ScriptBlock]::Create($s))`) with the script on stdin. Each host keeps its
state in `<state dir>/simulator/<host>.json`; UNC shares are shared by all simulated hosts of the state dir.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.simulator import BOOTSTRAP, Simulator
from orchestrator.transport.base import CommandResult, OutputCallback

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def state_file(state_dir: Path, host_name: str) -> Path:
    """The one state file of a simulated host (host names are made file-name safe)."""
    safe = _UNSAFE.sub("_", host_name) or "_"
    return Path(state_dir) / "simulator" / f"{safe}.json"


class SimulatedTransport:
    def __init__(self, host_name: str, state_dir: Path, seed: Mapping[str, Any] | None) -> None:
        self.host_name = host_name
        self.path = state_file(state_dir, host_name)
        self.simulator = Simulator(state_path=self.path, seed=seed, host_name=host_name)
        self.closed = False

    def run(
        self,
        script: str,
        *,
        idempotent: bool,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        """Run one script; `idempotent` and `timeout` do not matter to an in-process host that cannot hang up."""
        result = self.simulator.run(BOOTSTRAP, stdin=script)
        if on_output is not None:
            if result.stdout:
                on_output("stdout", result.stdout)
            if result.stderr:
                on_output("stderr", result.stderr)
        return CommandResult(result.stdout, result.stderr, result.exit_code)

    def close(self) -> None:
        self.closed = True
