"""What a host's powershell.exe reads on stdin: the script, and after it the run's secrets (issue 15).

The command line is always the same short bootstrap (winrm.py); it reads all of stdin, and when stdin holds
the boundary line it keeps what follows as `$OrchestrateSecrets` (a string of `name base64` lines) and runs
only what comes before as the script. So a secret (a guest's answer file with its passwords) travels inside
the WinRM channel, encrypted like the script, but is never part of the script text that is shown, logged,
hashed and journalled. A script block made with [ScriptBlock]::Create and invoked with `&` runs in a child
scope and reads its parent's variables (PowerShell's dynamic scoping: about_Scopes, "An item you create in a
scope... is visible in the scope in which it was created and in any child scope"), so the script finds
`$OrchestrateSecrets` without it ever being written into the script. The helper that reads one secret is
`Get-OrchestrateSecret` (templates/lib/functions.ps1.j2).

Only PowerShell 3.0 methods are used ([string].IndexOf / Substring), and the simulator runs this same
bootstrap (orchestrator.simulator.BOOTSTRAP is this text).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

SECRETS_BOUNDARY = "##orchestrate-secrets##"
BOOTSTRAP = (
    "$s = [Console]::In.ReadToEnd(); $OrchestrateSecrets = $null; "
    f"$b = $s.IndexOf('{SECRETS_BOUNDARY}'); "
    f"if ($b -ge 0) {{ $c = $b + {len(SECRETS_BOUNDARY)}; $OrchestrateSecrets = $s.Substring($c); "
    "$s = $s.Substring(0, $b) }; & ([ScriptBlock]::Create($s))"
)
_NAME = re.compile(r"^[A-Za-z0-9._:-]+$")


class SecretChannelError(ValueError):
    """The script or a secret name cannot go through the channel (a bug or a hostile template)."""


def secret_name(kind: str, key: str) -> str:
    """A channel-safe name for one secret: `kind.` plus a digest of `key` (a VM name may hold anything)."""
    import hashlib

    return f"{kind}.{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"


def compose(script: str, secrets: Mapping[str, str] | None) -> str:
    """The whole stdin: the script, then (with secrets) the boundary line and one `name base64` line each.

    A script that holds the boundary itself is refused: the bootstrap would cut it there."""
    if SECRETS_BOUNDARY in script:
        raise SecretChannelError(f"the script contains the line {SECRETS_BOUNDARY!r}, which the bootstrap "
                                 "reserves for the secrets that follow the script")
    if not secrets:
        return script
    lines = []
    for name, value in secrets.items():
        if not _NAME.match(name):
            raise SecretChannelError(f"a secret's name may hold only letters, digits and ._:- ({name!r})")
        lines.append(f"{name} {base64.b64encode(value.encode('utf-8')).decode('ascii')}")
    return script.rstrip("\n") + "\n" + SECRETS_BOUNDARY + "\n" + "\n".join(lines) + "\n"
