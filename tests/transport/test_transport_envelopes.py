"""The pre-built WS-Man envelopes are byte for byte what pywinrm sends, and replies are read as pywinrm reads them.

Given the same MessageID and values, every request of WireProtocol equals pywinrm 0.5.0's own (its xmltodict
serialisation), also for hostile values a host could hand back as a ShellId or CommandId; and each reply
parser gives pywinrm's answer or fails with pywinrm's exception class.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from winrm.protocol import Protocol

from orchestrator.transport import envelopes
from orchestrator.transport.protocol import WireProtocol

MESSAGE_ID = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
REPLY = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header>'
    f"<a:RelatesTo>uuid:{MESSAGE_ID}</a:RelatesTo></s:Header><s:Body>"
    '<w:SelectorSet><w:Selector Name="ShellId">SHELL-1</w:Selector></w:SelectorSet>'
    "<rsp:CommandResponse><rsp:CommandId>CMD-1</rsp:CommandId></rsp:CommandResponse>"
    '<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="CMD-1">aGk=</rsp:Stream>'
    '<rsp:CommandState CommandId="CMD-1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/'
    'CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>'
    "</s:Body></s:Envelope>"
).encode()

# Text a host could send back as an id: XML specials, quotes of both kinds, whitespace, non-ASCII.
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from(list("&<>\"'\t\n\r ]]>")),
    min_size=1,
    max_size=40,
)


def sent(protocol: Protocol, call: Any, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The bytes `call(protocol)` hands to pywinrm's HTTP transport."""
    messages: list[bytes] = []

    def send_message(message: str | bytes) -> bytes:
        messages.append(message.encode("utf-8") if isinstance(message, str) else message)
        return REPLY

    monkeypatch.setattr(uuid, "uuid4", lambda: MESSAGE_ID)
    monkeypatch.setattr(protocol.transport, "send_message", send_message)
    call(protocol)
    assert len(messages) == 1
    return messages[0]


def both(call: Any, monkeypatch: pytest.MonkeyPatch, timeout: int = 20) -> tuple[bytes, bytes]:
    settings_ = {
        "transport": "basic",
        "username": "u",
        "password": "p",
        "operation_timeout_sec": timeout,
        "read_timeout_sec": timeout + 10,
    }
    theirs = sent(Protocol("http://127.0.0.1:1/wsman", **settings_), call, monkeypatch)  # type: ignore[arg-type]
    ours = sent(WireProtocol("http://127.0.0.1:1/wsman", **settings_), call, monkeypatch)  # type: ignore[arg-type]
    return ours, theirs


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.open_shell(codepage=65001, noprofile=True),
        lambda p: p.open_shell(),
        lambda p: p.run_command(
            "S",
            "powershell.exe",
            ("-NoProfile", "-EncodedCommand", "QQ=="),
            console_mode_stdin=False,
            skip_cmd_shell=False,
        ),
        lambda p: p.run_command("S", "ipconfig"),
        lambda p: p.run_command("S", "cmd", ("",), skip_cmd_shell=True),
        lambda p: p.send_command_input("S", "C", b"\x00\xffscript", end=False),
        lambda p: p.send_command_input("S", "C", b"", end=True),
        lambda p: p.send_command_input("S", "C", "text as cp437", end=True),
        lambda p: p.get_command_output_raw("S", "C"),
        lambda p: p.cleanup_command("S", "C"),
        lambda p: p.close_shell("S", close_session=False),
    ],
    ids=[
        "create-utf8",
        "create-default",
        "command",
        "command-no-args",
        "command-empty-arg",
        "send",
        "send-end",
        "send-str",
        "receive",
        "signal",
        "delete",
    ],
)
@pytest.mark.parametrize("timeout", [1, 20, 3600])
def test_every_request_is_pywinrms_byte_for_byte(
    call: Any, timeout: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = both(call, monkeypatch, timeout)
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(shell=values, command=values, data=st.binary(max_size=300), codepage=st.integers(0, 70000))
def test_hostile_ids_are_escaped_as_pywinrm_escapes_them(
    shell: str, command: str, data: bytes, codepage: int
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for call in (
            lambda p: p.open_shell(codepage=codepage, noprofile=False),
            lambda p: p.run_command(shell, command, (command, shell)),
            lambda p: p.send_command_input(shell, command, data, end=True),
            lambda p: p.get_command_output_raw(shell, command),
            lambda p: p.cleanup_command(shell, command),
            lambda p: p.close_shell(shell, close_session=False),
        ):
            ours, theirs = both(call, monkeypatch)
            assert ours == theirs
            ET.fromstring(ours)  # and it is well-formed XML


def _receive_reply(
    streams: list[tuple[str | None, bytes]], states: list[str], exit_code: str | None
) -> bytes:
    parts = []
    for name, data in streams:
        attr = f' Name="{name}"' if name is not None else ""
        parts.append(f"<rsp:Stream{attr}>{base64.b64encode(data).decode()}</rsp:Stream>")
    for state in states:
        code = f"<rsp:ExitCode>{exit_code}</rsp:ExitCode>" if exit_code is not None else ""
        parts.append(f'<rsp:CommandState State="{state}">{code}</rsp:CommandState>')
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:rsp="{envelopes.SHELL_URI}"><s:Body><rsp:ReceiveResponse>{"".join(parts)}'
        "</rsp:ReceiveResponse></s:Body></s:Envelope>"
    ).encode()


DONE = f"{envelopes.SHELL_URI}/CommandState/Done"
RUNNING = f"{envelopes.SHELL_URI}/CommandState/Running"


@settings(max_examples=80, deadline=None)
@given(
    streams=st.lists(
        st.tuples(st.sampled_from(["stdout", "stderr", "other", None]), st.binary(max_size=40)), max_size=5
    ),
    states=st.lists(st.sampled_from([DONE, RUNNING]), max_size=2),
    exit_code=st.sampled_from([None, "0", "7", "", "-1", "x"]),
)
def test_receive_replies_read_as_pywinrm_reads_them(
    streams: list[tuple[str | None, bytes]], states: list[str], exit_code: str | None
) -> None:
    reply = _receive_reply(streams, states, exit_code)
    protocol = Protocol("http://127.0.0.1:1/wsman", transport="basic", username="u", password="p")
    protocol.transport.send_message = lambda _message: reply  # type: ignore[method-assign]

    def outcome(read: Any) -> Any:
        try:
            return ("ok", read())
        except Exception as exc:  # the class is what is compared
            return ("error", type(exc))

    theirs = outcome(lambda: protocol.get_command_output_raw("S", "C"))
    ours = outcome(lambda: envelopes.output(reply))
    assert ours == theirs


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (
            b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>",
            StopIteration,
        ),
        (b"not xml", ET.ParseError),
    ],
)
def test_unusable_replies_fail_as_in_pywinrm(reply: bytes, error: type[Exception]) -> None:
    """A reply without the element pywinrm looks for fails with pywinrm's exception (errors.classify reads it)."""
    with pytest.raises(error):
        envelopes.shell_id(reply)
    with pytest.raises(error):
        envelopes.command_id(reply)
    with pytest.raises(error):
        envelopes.check_relates_to(reply, MESSAGE_ID)


def test_a_reply_to_another_request_is_refused() -> None:
    with pytest.raises(AssertionError):
        envelopes.check_relates_to(REPLY, uuid.UUID(int=1))
    envelopes.check_relates_to(REPLY, MESSAGE_ID)
    assert envelopes.shell_id(REPLY) == "SHELL-1"
    assert envelopes.command_id(REPLY) == "CMD-1"
    assert envelopes.output(REPLY) == (b"hi", b"", 0, True)


@pytest.mark.parametrize(
    ("endpoint", "transport"),
    [
        ("http://127.0.0.1:5985/wsman/hv01", "basic"),
        ("https://hv01.school.example:5986/wsman", "basic"),
        ("https://hv01.school.example:5986/wsman", "certificate"),
        ("https://hv01.school.example:5986/wsman", "ntlm"),
    ],
)
def test_the_http_request_is_the_one_requests_prepares(endpoint: str, transport: str, tmp_path: Any) -> None:
    """The copied template carries what `Session.prepare_request` gives for every message: method, URL,
    every header in the same order (Content-Length rewritten), the body and the auth's hooks."""
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("not read before a TLS handshake\n")
    protocol = WireProtocol(
        endpoint,
        transport=transport,
        username="admin",
        password="Passw0rd!",  # type: ignore[arg-type]
        cert_pem=str(tmp_path / "cert.pem"),
        cert_key_pem=str(tmp_path / "key.pem"),
        message_encryption="never",
        ca_trust_path=None,
    )
    session = protocol.transport.build_session()
    for message in (b"<a/>", b"x" * 70000, b"", b"<b>second</b>"):
        theirs = session.prepare_request(requests.Request("POST", endpoint, data=message))
        ours = protocol.template.prepared(session, message)
        assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
        assert list(ours.headers.items()) == list(theirs.headers.items())
        assert {k: len(v) for k, v in ours.hooks.items()} == {k: len(v) for k, v in theirs.hooks.items()}
