"""A small stand-in for `orchestrator.simulator.Simulator` with the same `run(script, stdin)` interface.

It understands just enough PowerShell for transport tests: the stdin bootstrap
(`$s = [Console]::In.ReadToEnd(); & ([ScriptBlock]::Create($s))` runs stdin as the script), `#` comments,
`Write-Output '<text>'`, `Write-Error '<text>'` and `exit <n>`. Anything else fails the way PowerShell reports
an unknown command. Canned replies (`reply_to`) let a test answer a bigger script, such as ping's, with a
fixed document. Every run is recorded, so a test can check exactly what reached the "host".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Result:
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


_QUOTED = re.compile(r"^'((?:[^']|'')*)'$")


def _literal(text: str) -> str | None:
    match = _QUOTED.match(text.strip())
    return match.group(1).replace("''", "'") if match else None


@dataclass
class ScriptDouble:
    runs: list[tuple[str, str]] = field(default_factory=list)
    canned: list[tuple[str, Result]] = field(default_factory=list)

    def reply_to(self, marker: str, stdout: str = "", stderr: str = "", exit_code: int = 0) -> None:
        """Answer any script containing `marker` with this result."""
        self.canned.append((marker, Result(stdout, stderr, exit_code)))

    @property
    def scripts(self) -> list[str]:
        """The scripts as PowerShell ended up running them (stdin, when run through the bootstrap)."""
        return [self._effective(script, stdin) for script, stdin in self.runs]

    @staticmethod
    def _effective(script: str, stdin: str) -> str:
        if "[Console]::In.ReadToEnd()" in script and "[ScriptBlock]::Create(" in script:
            return stdin
        return script

    def run(self, script: str, stdin: str = "", *, codepage: int = 65001) -> Result:
        self.runs.append((script, stdin))
        body = self._effective(script, stdin)
        for marker, result in self.canned:
            if marker in body:
                return result
        out: list[str] = []
        err: list[str] = []
        for raw in body.splitlines():
            line = raw.strip()
            if (
                not line
                or line.startswith("#")
                or line.startswith("$ErrorActionPreference")
                or line.startswith("$ProgressPreference")
            ):
                continue
            verb, _, rest = line.partition(" ")
            if verb == "Write-Output" and _literal(rest) is not None:
                out.append(_literal(rest) or "")
            elif verb == "Write-Error" and _literal(rest) is not None:
                err.append(_literal(rest) or "")
            elif verb == "exit" and rest.strip().lstrip("-").isdigit():
                return Result(_lines(out), _lines(err), int(rest))
            else:
                err.append(f"The term '{verb}' is not recognized by the test double.")
                return Result(_lines(out), _lines(err), 1)
        return Result(_lines(out), _lines(err), 1 if err else 0)


def _lines(lines: list[str]) -> str:
    return "".join(f"{line}\r\n" for line in lines)
