"""The six WS-Management requests of a cmd shell, built from fixed text, and the parts of the replies we read.

Why: pywinrm builds every request as a dict and serialises it with `xmltodict.unparse` (a SAX XMLGenerator
driven by Python code, name validation and all), which was about half of the orchestrator's CPU per host in
the fleet benchmark (issue 18). The envelopes never change except in a few values, so here each one is the
exact text pywinrm 0.5.0 sends (winrm/protocol.py: `build_wsman_header`, `open_shell`, `run_command`,
`send_command_input`, `get_command_output_raw`, `cleanup_command`, `close_shell`), byte for byte, with the
values substituted into it escaped exactly as xmltodict's XMLGenerator escapes them: element text with
`xml.sax.saxutils.escape`, attribute values with `xml.sax.saxutils.quoteattr` (the functions XMLGenerator
itself calls). tests/transport/test_transport_envelopes.py holds every request against pywinrm's own output.

What every request carries (MS-WSMV 3.1.4 and pywinrm's `build_wsman_header`): the SOAP 1.2 envelope with
pywinrm's eleven namespace declarations; `a:To` (pywinrm's fixed `http://windows-host:5985/wsman`; the
listener routes by URL, not by this header), `a:ReplyTo/a:Address` anonymous (mustUnderstand), `w:MaxEnvelopeSize`
153600 (mustUnderstand), `a:MessageID` (`uuid:` + a random UUID), `w:Locale` and `p:DataLocale` en-US
(mustUnderstand false), `w:OperationTimeout` `PT<n>S`, `w:ResourceURI` of the cmd shell and `a:Action`
(both mustUnderstand), and `w:SelectorSet/w:Selector[@Name=ShellId]` on every request but Create. Bodies:
Create `rsp:Shell` with the streams and the WINRS_NOPROFILE / WINRS_CODEPAGE options (MS-WSMV 3.1.4.5.2);
Command `rsp:CommandLine` with WINRS_CONSOLEMODE_STDIN / WINRS_SKIP_CMD_SHELL (3.1.4.11); Send `rsp:Send/
rsp:Stream[@Name=stdin][@End]` base64 (3.1.4.13); Receive `rsp:Receive/rsp:DesiredStream` (3.1.4.14); Signal
`rsp:Signal[@CommandId]/rsp:Code` (3.1.4.12, codes in 2.2.4.38); Delete an empty body (3.1.4.4.1).

Replies are parsed with ElementTree (C) once each, reading the same elements pywinrm reads and failing in
the same ways (StopIteration, KeyError, AssertionError, ParseError), so `errors.classify` tells the admin the
same thing it did.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_RESOURCE = f"{SHELL_URI}/cmd"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = f"{SHELL_URI}/Command"
ACTION_SEND = f"{SHELL_URI}/Send"
ACTION_RECEIVE = f"{SHELL_URI}/Receive"
ACTION_SIGNAL = f"{SHELL_URI}/Signal"
# MS-WSMV 2.2.4.38: "terminate" is what the client sends to end a command and free everything the service
# keeps for it; "ctrl_c" asks the shell to stop a command that is still running (the behaviour of Control-C).
SIGNAL_TERMINATE = f"{SHELL_URI}/signal/terminate"
SIGNAL_CTRL_C = f"{SHELL_URI}/signal/ctrl_c"

_NAMESPACES = (
    ("xsd", "http://www.w3.org/2001/XMLSchema"),
    ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
    ("env", "http://www.w3.org/2003/05/soap-envelope"),
    ("a", "http://schemas.xmlsoap.org/ws/2004/08/addressing"),
    ("b", "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"),
    ("n", "http://schemas.xmlsoap.org/ws/2004/09/enumeration"),
    ("x", "http://schemas.xmlsoap.org/ws/2004/09/transfer"),
    ("w", "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"),
    ("p", "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"),
    ("rsp", SHELL_URI),
    ("cfg", "http://schemas.microsoft.com/wbem/wsman/1/config"),
)
_OPEN = (
    '<?xml version="1.0" encoding="utf-8"?>\n<env:Envelope '
    + " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NAMESPACES)
    + '><env:Header><a:To>http://windows-host:5985/wsman</a:To><a:ReplyTo><a:Address mustUnderstand="true">'
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"
    '<w:MaxEnvelopeSize mustUnderstand="true">153600</w:MaxEnvelopeSize><a:MessageID>uuid:'
)
_AFTER_ID = (
    '</a:MessageID><w:Locale mustUnderstand="false" xml:lang="en-US"></w:Locale>'
    '<p:DataLocale mustUnderstand="false" xml:lang="en-US"></p:DataLocale><w:OperationTimeout>'
)
_AFTER_TIMEOUT = (
    f'</w:OperationTimeout><w:ResourceURI mustUnderstand="true">{CMD_RESOURCE}</w:ResourceURI>'
    '<a:Action mustUnderstand="true">'
)
_CLOSE = "</env:Body></env:Envelope>"


class Envelopes:
    """Builds the requests for one connection's settings (the OperationTimeout is fixed per Protocol)."""

    def __init__(self, operation_timeout_sec: int) -> None:
        self._after_id = f"{_AFTER_ID}PT{int(operation_timeout_sec)}S{_AFTER_TIMEOUT}"

    def _head(self, action: str, message_id: uuid.UUID, shell_id: str | None) -> str:
        selector = (
            f'<w:SelectorSet><w:Selector Name="ShellId">{escape(shell_id)}</w:Selector></w:SelectorSet>'
            if shell_id
            else ""
        )
        return f"{_OPEN}{message_id}{self._after_id}{action}</a:Action>{selector}"

    def create(self, message_id: uuid.UUID, *, noprofile: bool, codepage: int) -> bytes:
        return (
            f"{self._head(ACTION_CREATE, message_id, None)}<w:OptionSet>"
            f'<w:Option Name="WINRS_NOPROFILE">{str(noprofile).upper()}</w:Option>'
            f'<w:Option Name="WINRS_CODEPAGE">{escape(str(codepage))}</w:Option></w:OptionSet></env:Header>'
            "<env:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
            f"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>{_CLOSE}"
        ).encode()

    def command(
        self,
        message_id: uuid.UUID,
        shell_id: str,
        command: str,
        arguments: str | None,
        *,
        console_mode_stdin: bool,
        skip_cmd_shell: bool,
    ) -> bytes:
        args = f"<rsp:Arguments>{escape(arguments)}</rsp:Arguments>" if arguments is not None else ""
        return (
            f"{self._head(ACTION_COMMAND, message_id, shell_id)}<w:OptionSet>"
            f'<w:Option Name="WINRS_CONSOLEMODE_STDIN">{str(console_mode_stdin).upper()}</w:Option>'
            f'<w:Option Name="WINRS_SKIP_CMD_SHELL">{str(skip_cmd_shell).upper()}</w:Option></w:OptionSet>'
            f"</env:Header><env:Body><rsp:CommandLine><rsp:Command>{escape(command)}</rsp:Command>{args}"
            f"</rsp:CommandLine>{_CLOSE}"
        ).encode()

    def send(self, message_id: uuid.UUID, shell_id: str, command_id: str, data: bytes, *, end: bool) -> bytes:
        return (
            (
                f"{self._head(ACTION_SEND, message_id, shell_id)}</env:Header><env:Body><rsp:Send>"
                f'<rsp:Stream CommandId={quoteattr(command_id)} Name="stdin" End="{"true" if end else "false"}" '
                f'xmlns:rsp="{SHELL_URI}">'
            ).encode()
            + base64.b64encode(data)
            + f"</rsp:Stream></rsp:Send>{_CLOSE}".encode("ascii")
        )

    def receive(self, message_id: uuid.UUID, shell_id: str, command_id: str) -> bytes:
        return (
            f"{self._head(ACTION_RECEIVE, message_id, shell_id)}</env:Header><env:Body><rsp:Receive>"
            f"<rsp:DesiredStream CommandId={quoteattr(command_id)}>stdout stderr</rsp:DesiredStream>"
            f"</rsp:Receive>{_CLOSE}"
        ).encode()

    def signal(
        self, message_id: uuid.UUID, shell_id: str, command_id: str, code: str = SIGNAL_TERMINATE
    ) -> bytes:
        return (
            f"{self._head(ACTION_SIGNAL, message_id, shell_id)}</env:Header><env:Body>"
            f"<rsp:Signal CommandId={quoteattr(command_id)}><rsp:Code>{escape(code)}</rsp:Code></rsp:Signal>"
            f"{_CLOSE}"
        ).encode()

    def delete(self, message_id: uuid.UUID, shell_id: str) -> bytes:
        return f"{self._head(ACTION_DELETE, message_id, shell_id)}</env:Header><env:Body>{_CLOSE}".encode()


# ---- replies: the elements pywinrm reads, found in one pass ----------------------------------------------
def shell_id(reply: bytes) -> str:
    """Create's reply -> the ShellId: the first element with Name="ShellId" (as pywinrm's open_shell)."""
    nodes = ET.fromstring(reply).findall(".//*")
    return str(next(node for node in nodes if node.get("Name") == "ShellId").text)


def command_id(reply: bytes) -> str:
    """Command's reply -> the CommandId: the first element whose tag ends in CommandId (pywinrm's run_command)."""
    nodes = ET.fromstring(reply).findall(".//*")
    return str(next(node for node in nodes if node.tag.endswith("CommandId")).text)


def check_relates_to(reply: bytes, message_id: uuid.UUID) -> None:
    """Signal's and Delete's reply must answer our request: its RelatesTo is our MessageID (pywinrm asserts
    the same in cleanup_command and close_shell; AssertionError like there)."""
    nodes = ET.fromstring(reply).findall(".//*")
    relates_to = str(next(node for node in nodes if node.tag.endswith("RelatesTo")).text)
    if uuid.UUID(relates_to.replace("uuid:", "")) != message_id:
        raise AssertionError("the reply's RelatesTo does not name the request's MessageID")


def output(reply: bytes) -> tuple[bytes, bytes, int, bool]:
    """Receive's reply -> (stdout, stderr, exit code, done), read as pywinrm's get_command_output_raw reads it:
    every element whose tag ends in Stream (each must carry a Name), base64 text in order; done when exactly
    one element's State ends in CommandState/Done, whose ExitCode is then the exit code (else -1)."""
    stdout: list[bytes] = []
    stderr: list[bytes] = []
    done = 0
    nodes = ET.fromstring(reply).findall(".//*")
    for node in nodes:
        tag = node.tag
        if tag.endswith("Stream"):
            if not node.text:
                continue
            name = node.attrib["Name"]
            if name == "stdout":
                stdout.append(base64.b64decode(node.text.encode("ascii")))
            elif name == "stderr":
                stderr.append(base64.b64decode(node.text.encode("ascii")))
        if node.get("State", "").endswith("CommandState/Done"):
            done += 1
    return_code = -1
    if done == 1:
        return_code = int(next(node for node in nodes if node.tag.endswith("ExitCode")).text or -1)
    return b"".join(stdout), b"".join(stderr), return_code, done == 1
