"""The one interface between the pipeline and a host: run a script, get stdout, stderr and an exit code.

A transport is opened once per host per run and may run several scripts (the facts script, then the apply
script) over the same connection and shell. It never prints; errors it cannot recover from are raised as
`orchestrator.transport.errors.TransportError` subclasses, which carry the fix to show the admin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

Stream = Literal["stdout", "stderr"]
# Called with each chunk of output as it arrives, so long operations can show progress while they run.
OutputCallback = Callable[[Stream, str], None]


@dataclass(frozen=True, slots=True)
class CommandResult:
    stdout: str
    stderr: str
    exit_code: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Transport(Protocol):
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
        """Run one PowerShell script on the host and wait for it (at most `timeout` seconds).

        `idempotent` says the script is safe to run again from the start: only then may a transient failure
        after the command started be retried. `read_only` says it changes nothing on the host: a run whose
        output was lost on the way back is then simply run again, where a script that changes things is not
        (it may have changed them; WinRM: OutputLost, ResumeFailed). `secrets` (name -> text) go after the script on stdin, never
        into its text (orchestrator.transport.stdin); the script reads them with Get-OrchestrateSecret.
        """
        ...

    def close(self) -> None:
        """Release the shell and the connection. Safe to call twice."""
        ...
