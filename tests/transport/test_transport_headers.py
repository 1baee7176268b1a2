"""Reply headers read without the e-mail parser are exactly what http.client would have read.

The story: the orchestrator reads every WinRM reply's headers with its own plain-line reader
(orchestrator/transport/headers.py) because the standard library's e-mail parser cost a seventh of its CPU
per converge. Nothing that reads a reply may notice: not requests, not urllib3's header checks, not
pywinrm's encrypted (multipart) replies. So the reader is compared with http.client's own, over generated
header blocks and whole responses, and a real round trip shows which path each reply took.
"""

from __future__ import annotations

import http.client
import io

import pytest
from fakes import ScriptDouble
from fakes.hosts import fake_host
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.transport import headers
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

HTTP_SYS_REPLY = (
    b"Content-Type: application/soap+xml;charset=UTF-8\r\n"
    b"Server: Microsoft-HTTPAPI/2.0\r\n"
    b"Date: Sun, 06 Dec 2026 22:00:00 GMT\r\n"
    b"Content-Length: 1602\r\n"
    b"\r\n"
)
ENCRYPTED_REPLY = (
    b'Content-Type: multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
    b'boundary="Encrypted Boundary"\r\n'
    b"Content-Length: 1830\r\n"
    b"\r\n"
)


def snapshot(message: http.client.HTTPMessage) -> dict[str, object]:
    """Everything a reader of the parsed headers can see."""
    return {
        "items": message.items(),
        "unixfrom": message.get_unixfrom(),
        "defects": [type(defect).__name__ for defect in message.defects],
        "payload": _payload(message.get_payload()),
        "multipart": message.is_multipart(),
        "preamble": message.preamble,
        "epilogue": message.epilogue,
        "content_type": message.get_content_type(),
        "class": type(message),
    }


def _payload(payload: object) -> object:
    """A MIME container's payload is a list of messages: compare what they hold, not their identity."""
    if isinstance(payload, list):
        return [snapshot(part) for part in payload]
    return payload


def both(block: bytes) -> tuple[dict[str, object], dict[str, object], bytes, bytes]:
    """Parse `block` (then a body) with http.client's parser and with ours: what each saw and left unread."""
    stock_fp, plain_fp = io.BytesIO(block + b"BODY"), io.BytesIO(block + b"BODY")
    stock = http.client.parse_headers(stock_fp)
    plain = headers.parse_plain_headers(plain_fp)
    return snapshot(stock), snapshot(plain), stock_fp.read(), plain_fp.read()


NAME = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
PADDING = st.sampled_from(["", " ", "\t", " \t ", "  "])
VALUE = st.tuples(PADDING, st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=30), PADDING).map(
    "".join
)
ODD_LINE = st.sampled_from(
    [" folded continuation", "\tfolded", "no colon here", ": empty name", "From someone", "a b: spaced name"]
)
CONTENT_TYPE = st.sampled_from(
    [
        "application/soap+xml;charset=UTF-8",
        'multipart/encrypted;boundary="Encrypted Boundary"',
        "Multipart/Mixed",
        " message/rfc822",
        "text/plain",
        "multipart",
        "",
    ]
)
LINE = st.one_of(
    st.tuples(NAME, VALUE).map(lambda pair: f"{pair[0]}:{pair[1]}"),
    st.tuples(NAME, VALUE).map(lambda pair: f"{pair[0]}: {pair[1]}"),
    CONTENT_TYPE.map(lambda value: f"Content-Type: {value}"),
    ODD_LINE,
)


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(LINE, max_size=8), ending=st.sampled_from(["\r\n", "\n"]), last=st.sampled_from(["\r\n", "\n"]))
def test_any_header_block_parses_as_http_client_parses_it(lines, ending, last):
    block = "".join(line + ending for line in lines) + last
    stock, plain, stock_rest, plain_rest = both(block.encode("iso-8859-1"))
    assert plain == stock
    assert plain_rest == stock_rest  # a CR or LF inside a value can end the block early: for both


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.tuples(NAME, VALUE).map(lambda pair: f"{pair[0]}:{pair[1]}\r\n"), max_size=5))
def test_a_block_cut_off_by_the_end_of_the_stream_parses_as_http_client_parses_it(lines):
    stock_fp, plain_fp = io.BytesIO("".join(lines).encode("iso-8859-1")), io.BytesIO("".join(lines).encode("iso-8859-1"))
    assert snapshot(headers.parse_plain_headers(plain_fp)) == snapshot(http.client.parse_headers(stock_fp))


def test_a_listener_s_plain_reply_never_reaches_the_email_parser(monkeypatch):
    calls = []
    monkeypatch.setattr(headers, "_email_parse", lambda *args: calls.append(args))
    message = headers.parse_plain_headers(io.BytesIO(HTTP_SYS_REPLY))
    assert calls == []
    assert message["content-length"] == "1602"
    assert message.get_content_type() == "application/soap+xml"


def test_an_encrypted_multipart_reply_is_left_to_the_email_parser_and_reads_the_same():
    stock, plain, _, _ = both(ENCRYPTED_REPLY)
    assert plain == stock
    assert stock["defects"], "the e-mail parser records a defect for a multipart block without its body"


class _Socket:
    """What http.client.HTTPResponse needs of a socket: `makefile`."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))


def _read(response_class: type[http.client.HTTPResponse], data: bytes, method: str) -> dict[str, object]:
    response = response_class(_Socket(data), method=method)  # type: ignore[arg-type]
    response.begin()
    return {
        "status": response.status,
        "reason": response.reason,
        "version": response.version,
        "chunked": response.chunked,
        "length": response.length,
        "will_close": response.will_close,
        "headers": snapshot(response.msg),
        "body": response.read(),
    }


BODY_FRAMING = st.sampled_from(
    [
        "Content-Length: 4\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Connection: close\r\n",
        "Content-Length: -3\r\nConnection: close\r\n",
        "Content-Length: x\r\nConnection: close\r\n",
        "Connection: keep-alive\r\nContent-Length: 4\r\n",
        " folded\r\nContent-Length: 4\r\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    status=st.sampled_from(["HTTP/1.1 200 OK", "HTTP/1.1 500 Internal Server Error", "HTTP/1.0 200 OK",
                            "HTTP/1.1 204 No Content", "HTTP/1.1 401 Unauthorized"]),
    framing=BODY_FRAMING,
    extra=st.lists(st.tuples(NAME, VALUE).map(lambda pair: f"{pair[0]}: {pair[1]}\r\n"), max_size=3),
    method=st.sampled_from(["POST", "HEAD"]),
    continue_first=st.booleans(),
)
def test_a_whole_response_reads_as_http_client_reads_it(status, framing, extra, method, continue_first):
    body = "4\r\nBODY\r\n0\r\n\r\n" if "chunked" in framing else "BODY"
    head = "HTTP/1.1 100 Continue\r\n\r\n" if continue_first else ""
    data = (head + status + "\r\n" + "".join(extra) + framing + "\r\n" + body).encode("iso-8859-1")
    assert _read(headers.PlainHeadersResponse, data, method) == _read(http.client.HTTPResponse, data, method)


def run_once(host):
    """One small script over a transport of its own, closed afterwards (no shell left on the fake)."""
    winrm = WinRMTransport(host, backoff=Backoff(initial=0.01, maximum=0.05))
    try:
        return winrm.run("Write-Output 'ok'", idempotent=True)
    finally:
        winrm.close()


@pytest.mark.parametrize(
    ("transport", "encrypted"),
    [("basic", False), ("ntlm", True)],
    ids=["basic over http", "ntlm with message encryption"],
)
def test_a_run_reads_plain_replies_plainly_and_encrypted_ones_with_the_email_parser(
    fake_winrm, monkeypatch, transport, encrypted
):
    server = fake_winrm(ScriptDouble())
    host = fake_host(server, allow_unencrypted=not encrypted, transport=transport)
    stock_parse = headers._email_parse
    parsed_by_email: list[str] = []

    def spy(lines, _class):
        parsed_by_email.append(b"".join(lines).decode("iso-8859-1"))
        return stock_parse(lines, _class)

    monkeypatch.setattr(headers, "_email_parse", spy)
    result = run_once(host)

    assert result.stdout == "ok\r\n"
    if encrypted:
        assert parsed_by_email and all("multipart/encrypted" in block for block in parsed_by_email)
    else:
        assert parsed_by_email == []


def test_ntlm_over_https_still_binds_the_channel_to_the_server_s_certificate(fake_winrm, ca_pem, monkeypatch):
    """requests_ntlm reads the TLS certificate for channel binding through the reply's raw socket
    (`response.raw._fp.fp.raw._sock`): the plain-header response must keep that path."""
    from requests_ntlm import HttpNtlmAuth

    hashes: list[bytes | None] = []
    stock = HttpNtlmAuth._get_server_cert

    def recorded(self, response):  # type: ignore[no-untyped-def]
        hashes.append(stock(self, response))
        return hashes[-1]

    monkeypatch.setattr(HttpNtlmAuth, "_get_server_cert", recorded)
    server = fake_winrm(ScriptDouble(), tls=True, users={"hvadmin": "secret"})
    host = fake_host(server, user="hvadmin", transport="ntlm", ca_trust_path=ca_pem)
    result = run_once(host)

    assert result.stdout == "ok\r\n"
    assert hashes and all(isinstance(digest, bytes) and len(digest) >= 32 for digest in hashes)
