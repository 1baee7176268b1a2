"""powershell.exe's [Console]::InputEncoding in a WinRM shell, and why Start-Job cares (audit O H1).

The transport opens every shell with WINRS_CODEPAGE 65001, which MS-WSMV 3.1.4.5.2 says "is set as input and
output code page". .NET Framework's Console then reads and writes UTF-8 *with* a byte order mark: "The PowerShell
task starts in a console whose `InputEncoding` is UTF8 with BOM" (microsoft/azure-pipelines-tasks#9766, on
Windows Server 2012 R2 6.3.9600), "System.Console unexpectedly uses a UTF-8 encoding *with BOM* on Windows"
(dotnet/corefx#35950). Start-Job talks to the `powershell -s` process it starts over that process's stdin, which
it writes in the parent's InputEncoding, so the child first reads a BOM where it expects an XML element, and
the job fails: "The background process reported an error with the following message: Cannot process an element
with node type "Text". Only Element and EndElement node types are supported." (azure-pipelines-tasks#10332,
2012 R2), "Job has failed: The background process reported an error ..." over WinRM (ansible/ansible#15770).
Ansible's fix, for the same shell (codepage 65001, stdin fed): "When running under the UTF-8 codepage,
Powershell subprocesses will fail (eg, Start-Job, others) if the input encoding is using the default BOM
preamble. This fix forces it to use no preamble" (ansible/ansible#22934). The bootstrap does the same
(orchestrator.transport.stdin), after it has read its stdin: .NET's setter drops the Console.In reader.

What is modelled: the shell's code page decides whether InputEncoding starts with a preamble (65001: yes;
another code page: an OEM encoding without one), a script may set it to `New-Object System.Text.UTF8Encoding
$false` (or `$true`, or `[Text.Encoding]::UTF8`, both with a preamble), and Start-Job fails as above while it
has one. Not modelled (unverified, docs/real-hosts.md): which code page the job's own process reads in, so
whether a non-ASCII argument reaches the job unchanged.
"""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.language.netobject import NetObject
from orchestrator.simulator.language.values import PSRuntimeError

UTF8_CODEPAGE = 65001
# A console's code page where no WinRM client set one: the system's OEM page, 437 on an en-US host (and the
# fake WinRM server's default for a shell opened without WINRS_CODEPAGE); any of them writes no preamble.
OEM_CODEPAGE = 437
JOB_PREAMBLE_FAILURE = (
    "[localhost] The background process reported an error with the following message: Cannot process an element "
    'with node type "Text". Only Element and EndElement node types are supported.'
)


class Utf8Encoding(NetObject):
    """System.Text.UTF8Encoding: `New-Object System.Text.UTF8Encoding $false` has no preamble ("Initializes a
    new instance of the UTF8Encoding class. A parameter specifies whether to provide a Unicode byte order mark",
    UTF8Encoding(Boolean)); the parameterless constructor has none either, Encoding.UTF8 has one."""

    type_name = "System.Text.UTF8Encoding"

    def __init__(self, emits_preamble: bool) -> None:
        self.emits_preamble = emits_preamble

    def member(self, lname: str) -> Any:
        if lname == "codepage":
            return UTF8_CODEPAGE
        if lname in ("webname", "bodyname", "headername"):
            return "utf-8"
        return None

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname == "getpreamble" and not args:
            return b"\xef\xbb\xbf" if self.emits_preamble else b""
        return super().call(lname, name, args)


class OemEncoding(NetObject):
    """The InputEncoding of a shell opened with another code page (437 when the client names none): an OEM
    single-byte encoding, which writes no preamble."""

    type_name = "System.Text.SBCSCodePageEncoding"

    def __init__(self, codepage: int) -> None:
        self.codepage = codepage

    def member(self, lname: str) -> Any:
        return self.codepage if lname == "codepage" else None

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname == "getpreamble" and not args:
            return b""
        return super().call(lname, name, args)


def input_encoding_of_shell(codepage: int) -> NetObject:
    """[Console]::InputEncoding as a process in a shell of that code page starts with."""
    return Utf8Encoding(True) if codepage == UTF8_CODEPAGE else OemEncoding(codepage)


def as_input_encoding(value: Any) -> NetObject:
    """What `[Console]::InputEncoding = value` stores; an encoding the simulator does not model is refused
    rather than guessed (its preamble decides whether Start-Job works)."""
    from orchestrator.simulator.language.dotnet import _Static

    if isinstance(value, (Utf8Encoding, OemEncoding)):
        return value
    if isinstance(value, _Static) and value.key == "encoding.utf8":
        return Utf8Encoding(True)  # Encoding.UTF8: its GetPreamble() gives the BOM (the Encoding.UTF8 page)
    if value is None:
        raise PSRuntimeError('Exception setting "InputEncoding": "Value cannot be null. Parameter name: value"',
                             "ExceptionWhenSetting", "NotSpecified")
    raise PSRuntimeError("The simulator supports [Console]::InputEncoding only as a System.Text.UTF8Encoding.",
                         "NotSupported", "NotImplemented")


def writes_preamble(encoding: NetObject) -> bool:
    return isinstance(encoding, Utf8Encoding) and encoding.emits_preamble
