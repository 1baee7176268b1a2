"""What a host's powershell.exe reads on stdin (the script, then the run's secrets), and the command line
that checks it arrived whole before running any of it (issue 15; the integrity check: audit E, F3/F4).

The command line is a short bootstrap made for each script (`channel`). It reads all of stdin and checks
it against what was sent, before anything runs:

- the whole stdin's length, in UTF-16 code units (.NET's String.Length), and, when secrets follow, that the
  boundary line stands exactly where the script ends;
- the SHA-256 of the script part's UTF-8 bytes.

Why: nothing else would notice a host whose powershell.exe reads stdin differently from what the WinRM
service was sent. PowerShell 2.0's console host read redirected stdin itself for `-Command` (the hang that
psake/psake#72 and StackStorm/st2#1695 report), no page says which later console host stopped doing so,
and MS-WSMV 3.1.4.5.2 says only that WINRS_CODEPAGE "is set as input and output code page". A script cut at
a statement boundary, or a VM name decoded in the wrong code page, would otherwise run as a prefix of the
plan, or make a VM under a garbled name, while the journal records the script that was sent. A mismatch
prints STDIN_CHECK_FAILED on stderr and exits STDIN_CHECK_EXIT having run nothing; the transports turn that
into `ScriptNotReceived`, never retried (orchestrator.transport.errors).

Once stdin is read, the bootstrap sets [Console]::InputEncoding to UTF-8 without a byte order mark. In a
shell of code page 65001 it starts as UTF-8 *with* one, and Start-Job, which writes to the job's process in
that encoding, then fails on every host ("Cannot process an element with node type "Text""): Export-VM and
Import-VM run as jobs (ansible/ansible#15770 and #22934, which does the same; the sources and the model are in
orchestrator/simulator/language/console_encoding.py). It comes after the read because .NET's setter drops the
Console.In reader, and it sits in a try: a host where the setter fails still runs the script, and only a job
would fail then, as before.

The bootstrap never searches for the boundary: it is told where the script ends. .NET's
String.IndexOf(String) is culture-sensitive ("This overload performs a culture-sensitive search",
CompareInfo.IndexOf on learn.microsoft.com), so a soft hyphen inside the boundary text of a VM name would
have matched there on a host while the ordinal check here let it through. The digest covers the script only:
the command line may be recorded on the host (process-creation auditing), and a hash of a known script with
a password in it could be guessed from. The secrets part is checked by its length and its boundary.

Only PowerShell 3.0 / .NET 4.5 members are used: [Console]::In.ReadToEnd, String.Length / Substring,
[Text.Encoding]::UTF8.GetBytes, SHA256CryptoServiceProvider.ComputeHash (.NET 3.5 and later; not
[SHA256]::Create(), whose SHA256Managed throws on a host with the FIPS policy on: ebekker/ACMESharp#126, a
2012 R2 host), [BitConverter]::ToString, [Console]::Error.WriteLine, and `exit N`, which powershell.exe gives
back as its exit code for -EncodedCommand as for -Command (about_PowerShell_exe). The numbers stand in single-quoted
strings so that every bootstrap has one shape (orchestrator.simulator.language.shapes parses it once).

A script block made with [ScriptBlock]::Create and invoked with `&` runs in a child scope and reads its
parent's variables (PowerShell's dynamic scoping: about_Scopes, "An item you create in a scope... is visible
in the scope in which it was created and in any child scope"), so the script finds `$OrchestrateSecrets`
(a string of `name base64` lines) without it ever being written into the script. The helper that reads one
secret is `Get-OrchestrateSecret` (templates/lib/functions.ps1.j2). The simulator runs this same bootstrap.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import NamedTuple

SECRETS_BOUNDARY = "##orchestrate-secrets##"
STDIN_CHECK_EXIT = 97
STDIN_CHECK_FAILED = "orchestrate: the script did not arrive whole on stdin; nothing of it was run"
_BOOTSTRAP = (
    "$s = [Console]::In.ReadToEnd(); "
    "try {{ [Console]::InputEncoding = New-Object System.Text.UTF8Encoding $false }} catch {{ }}; "
    "$OrchestrateSecrets = $null; $n = [int]'{script}'; $k = ''; "
    "if ($s.Length -eq [int]'{total}') {{ $k = $s.Substring(0, $n); if ($s.Length -gt $n) {{ "
    "$c = $n + {width}; if ($s.Substring($n, {width}) -ceq '{boundary}') {{ $OrchestrateSecrets = $s.Substring($c) }} "
    "else {{ $k = '' }} }} }}; "
    "$d = (New-Object System.Security.Cryptography.SHA256CryptoServiceProvider).ComputeHash("
    "[System.Text.Encoding]::UTF8.GetBytes($k)); "
    "if ([System.BitConverter]::ToString($d).Replace('-', '') -ne '{digest}') "
    "{{ [Console]::Error.WriteLine('{failed}'); exit {exit} }}; "
    "& ([ScriptBlock]::Create($k))"
)
_NAME = re.compile(r"^[A-Za-z0-9._:-]+$")


class SecretChannelError(ValueError):
    """A secret's name cannot go through the channel (a bug or a hostile template)."""


class Channel(NamedTuple):
    """One script as powershell.exe gets it: the bootstrap for its command line, and its stdin."""

    command: str
    stdin: str


def secret_name(kind: str, key: str) -> str:
    """A channel-safe name for one secret: `kind.` plus a digest of `key` (a VM name may hold anything)."""
    return f"{kind}.{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"


def channel(script: str, secrets: Mapping[str, str] | None = None) -> Channel:
    """The bootstrap and the stdin for `script` and its secrets (a leading BOM is not sent: a host would not
    read it back as part of the text)."""
    script, stdin = _compose(script.removeprefix("\ufeff"), secrets)
    bootstrap = _BOOTSTRAP.format(
        width=len(SECRETS_BOUNDARY),
        boundary=SECRETS_BOUNDARY,
        failed=STDIN_CHECK_FAILED,
        exit=STDIN_CHECK_EXIT,
        script=_utf16_length(script),
        total=_utf16_length(stdin),
        digest=hashlib.sha256(script.encode("utf-8")).hexdigest().upper(),
    )
    return Channel(bootstrap, stdin)


def received_whole(exit_code: int, stderr: str) -> bool:
    """False when the bootstrap refused its stdin (then it ran nothing of the script). A leading byte order
    mark is not whitespace to str.lstrip, and a console of code page 65001 may write one (dotnet/corefx#35950;
    transport/winrm.py ClixmlStream), so it is stripped too."""
    return exit_code != STDIN_CHECK_EXIT or not stderr.lstrip("\ufeff \t\r\n").startswith(STDIN_CHECK_FAILED)


def _compose(script: str, secrets: Mapping[str, str] | None) -> tuple[str, str]:
    """The script part and the whole stdin: the script, then (with secrets) the boundary line and one
    `name base64` line each. The script may hold the boundary's text: the bootstrap does not look for it."""
    if not secrets:
        return script, script
    lines = []
    for name, value in secrets.items():
        if not _NAME.match(name):
            raise SecretChannelError(f"a secret's name may hold only letters, digits and ._:- ({name!r})")
        lines.append(f"{name} {base64.b64encode(value.encode('utf-8')).decode('ascii')}")
    script = script.rstrip("\n") + "\n"
    return script, script + SECRETS_BOUNDARY + "\n" + "\n".join(lines) + "\n"


def _utf16_length(text: str) -> int:
    """String.Length on .NET: UTF-16 code units, so a character outside the BMP counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
