"""WS-Management envelopes as a Windows host reads and writes them (MS-WSMV, the cmd shell resource).

The fake server parses requests with this module and answers with the shapes real hosts send, which are also
the shapes pywinrm's parser depends on: a `Name="ShellId"` selector in the Create reply, an element ending in
`CommandId`, `Stream` elements that always carry a `Name`, exactly one `CommandState/Done` with an `ExitCode`, and
`a:RelatesTo` echoing the request's MessageID on every reply (Signal and Delete assert it).
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
}

SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTIONS = {
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create": "Create",
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete": "Delete",
    f"{SHELL}/Command": "Command",
    f"{SHELL}/Send": "Send",
    f"{SHELL}/Receive": "Receive",
    f"{SHELL}/Signal": "Signal",
}
REPLY_ACTIONS = {
    "Create": "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
    "Delete": "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
    "Command": f"{SHELL}/CommandResponse",
    "Send": f"{SHELL}/SendResponse",
    "Receive": f"{SHELL}/ReceiveResponse",
    "Signal": f"{SHELL}/SignalResponse",
}
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
STATE_DONE = f"{SHELL}/CommandState/Done"
STATE_RUNNING = f"{SHELL}/CommandState/Running"

# WS-Management fault codes a Windows host sends (the ones clients act on).
CODE_TIMED_OUT = 2150858793  # 0x80338029 w:TimedOut: no output within OperationTimeout
CODE_SHELL_NOT_FOUND = 2150858843  # the ShellId is unknown or the shell was closed
CODE_MAX_SHELLS = 2150859173  # MaxShellsPerUser quota reached
CODE_SCHEMA = 2150858817  # the request does not match the schema
# A request over the host's limits (MS-WSMV 2.2.4.10: MaxEnvelopeSizekb also "limit[s] the size of client
# request packets that are processed"; MaxTimeoutms bounds OperationTimeout). Unverified: the exact codes and
# words a 2012 host sends; no client may act on them beyond "the request was refused, do not retry it".
CODE_ENCODING_LIMIT = 2150858862
CODE_INVALID_TIMEOUT = 2150858806


class RequestError(Exception):
    """A request the fake cannot understand; answered with a schema fault."""


@dataclass
class Request:
    """The parts of one WS-Man request the server acts on."""

    action: str  # short name: Create, Command, Send, Receive, Signal, Delete (or the raw URI if unknown)
    message_id: str
    shell_id: str | None
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None
    operation_timeout: float | None = None

    def find(self, path: str) -> ET.Element | None:
        return None if self.body is None else self.body.find(path, NS)

    def findall(self, path: str) -> list[ET.Element]:
        return [] if self.body is None else self.body.findall(path, NS)


def parse_request(xml: bytes) -> Request:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise RequestError(f"not XML: {exc}") from exc
    header = root.find("s:Header", NS)
    if header is None:
        raise RequestError("no s:Header")
    action_uri = (header.findtext("a:Action", default="", namespaces=NS) or "").strip()
    selector = header.find("w:SelectorSet/w:Selector[@Name='ShellId']", NS)
    options = {
        opt.get("Name", ""): (opt.text or "").strip() for opt in header.findall("w:OptionSet/w:Option", NS)
    }
    timeout_text = header.findtext("w:OperationTimeout", default="", namespaces=NS)
    return Request(
        action=ACTIONS.get(action_uri, action_uri),
        message_id=(header.findtext("a:MessageID", default="", namespaces=NS) or "").strip(),
        shell_id=(selector.text or "").strip() if selector is not None else None,
        options=options,
        body=root.find("s:Body", NS),
        operation_timeout=_parse_duration(timeout_text),
    )


def _parse_duration(text: str | None) -> float | None:
    """`PT20S` / `PT1.5S` -> seconds (the only form WS-Man clients send)."""
    if not text or not text.startswith("PT") or not text.endswith("S"):
        return None
    try:
        return float(text[2:-1])
    except ValueError:
        return None


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    ns = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())
    return (
        f'<s:Envelope xml:lang="en-US" {ns}><s:Header>'
        f"<a:Action>{action}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def create_response(req: Request, shell_id: str, address: str) -> bytes:
    body = (
        f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{SHELL}/cmd</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        f"</a:ReferenceParameters></x:ResourceCreated>"
        f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{SHELL}/cmd</rsp:ResourceUri>"
        f"<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
        f"</rsp:Shell>"
    )
    return _envelope(REPLY_ACTIONS["Create"], req.message_id, body)


def command_response(req: Request, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return _envelope(REPLY_ACTIONS["Command"], req.message_id, body)


def empty_response(req: Request, element: str = "") -> bytes:
    """Send, Signal and Delete replies: nothing but the header (RelatesTo) and an optional empty element."""
    return _envelope(REPLY_ACTIONS.get(req.action, FAULT_ACTION), req.message_id, element)


def receive_response(
    req: Request, command_id: str, chunks: list[tuple[str, bytes]], exit_code: int | None
) -> bytes:
    """Output chunks in order; when `exit_code` is not None the command is Done (streams end, state Done)."""
    parts = [
        f'<rsp:Stream Name="{name}" CommandId="{command_id}">{base64.b64encode(data).decode()}</rsp:Stream>'
        for name, data in chunks
        if data
    ]
    if exit_code is None:
        parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{STATE_RUNNING}"/>')
    else:
        parts.append(f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"></rsp:Stream>')
        parts.append(f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"></rsp:Stream>')
        parts.append(
            f'<rsp:CommandState CommandId="{command_id}" State="{STATE_DONE}">'
            f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>"
        )
    body = f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>"
    return _envelope(REPLY_ACTIONS["Receive"], req.message_id, body)


def fault(
    relates_to: str,
    wsman_code: int,
    message: str,
    *,
    subcode: str = "w:InternalError",
    code: str = "s:Receiver",
    machine: str = "localhost",
) -> bytes:
    """A SOAP fault as Windows sends it (HTTP 500): s:Code/s:Subcode, s:Reason, f:WSManFault[@Code]."""
    text = escape(message)
    body = (
        f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode>"
        f'</s:Code><s:Reason><s:Text xml:lang="en-US">{text}</s:Text></s:Reason><s:Detail>'
        f'<f:WSManFault Code="{wsman_code}" Machine="{escape(machine)}"><f:Message>{text}</f:Message>'
        f"</f:WSManFault></s:Detail></s:Fault>"
    )
    return _envelope(FAULT_ACTION, relates_to, body)


def timed_out_fault(relates_to: str) -> bytes:
    return fault(
        relates_to,
        CODE_TIMED_OUT,
        "The WS-Management service cannot complete the operation within the time specified in "
        "OperationTimeout.",
        subcode="w:TimedOut",
    )


def shell_not_found_fault(relates_to: str) -> bytes:
    return fault(
        relates_to,
        CODE_SHELL_NOT_FOUND,
        "The request for the Windows Remote Shell with ShellId failed because the shell was not found on "
        "the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists "
        "on the server.",
        subcode="w:InvalidSelectors",
        code="s:Sender",
    )


def max_shells_fault(relates_to: str) -> bytes:
    return fault(
        relates_to,
        CODE_MAX_SHELLS,
        "The WS-Management service cannot process the request. This user is allowed a maximum number of "
        "concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.",
        subcode="w:QuotaLimit",
    )


def envelope_limit_fault(relates_to: str, limit_kb: int) -> bytes:
    return fault(
        relates_to,
        CODE_ENCODING_LIMIT,
        "The WS-Management service cannot process the request because the request packet is larger than "
        f"the MaxEnvelopeSizekb of {limit_kb} KB.",
        subcode="w:EncodingLimit",
        code="s:Sender",
    )


def timeout_limit_fault(relates_to: str, limit_ms: int) -> bytes:
    return fault(
        relates_to,
        CODE_INVALID_TIMEOUT,
        "The WS-Management service cannot process the request because the OperationTimeout is larger than "
        f"the MaxTimeoutms of {limit_ms} ms.",
        subcode="w:InvalidOptions",
        code="s:Sender",
    )


def schema_fault(relates_to: str, detail: str) -> bytes:
    return fault(
        relates_to,
        CODE_SCHEMA,
        f"The WS-Management service cannot process the request because the XML is invalid: {detail}",
        subcode="w:SchemaValidationError",
        code="s:Sender",
    )


def clixml_errors(text: str) -> str:
    """stderr text -> what powershell.exe writes when its error stream is redirected: `#< CLIXML` records.

    Each line becomes an `<S S="Error">` string with CR LF escaped as `_x000D__x000A_`, as PowerShell does.
    """
    records = []
    for line in text.splitlines():
        encoded = escape(line).replace("_x", "_x005F_x")
        records.append(f'<S S="Error">{encoded}_x000D__x000A_</S>')
    return (
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        + "".join(records)
        + "</Objs>"
    )
