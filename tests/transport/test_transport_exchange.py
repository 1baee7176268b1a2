"""The lean exchange (transport/exchange.py) against pywinrm's own request path, reply by reply.

The admin's story: a Basic or certificate session no longer goes through requests' `Session.send`, and
nothing the admin sees may change for it. A scripted loopback endpoint gives both paths the same reply
(well-formed, compressed, chunked, an error status, a fault halfway through the body, a stall, a dropped
connection) and each test asserts the same bytes, or the same exception and the same classified error
(message, fix, retry verdict) from both.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests_ntlm import HttpNtlmAuth

from orchestrator.model import Connection, HostSpec, RetryPolicy, Secret
from orchestrator.transport import exchange
from orchestrator.transport.errors import ReplyTooLarge, TransportError, classify
from orchestrator.transport.winrm import WinRMTransport

Reply = Callable[[socket.socket], bool]  # writes one reply; False closes the connection afterwards
MESSAGE = b"<s:Envelope>" + b"m" * 700 + b"</s:Envelope>"
# A stall test waits out this read timeout; every other test reads with a steady one, so that a loaded machine
# (the suite runs with -n 8 on 2 cores) never turns a slow reply into a timeout on one path only.
READ_TIMEOUT = 0.4
STEADY_TIMEOUT = 10.0


def http(status: int, body: bytes = b"", *, headers: tuple[str, ...] = (), chunked: bool = False,
         compressed: bool = False, reason: str = "R") -> Reply:
    def write(sock: socket.socket) -> bool:
        payload = gzip.compress(body) if compressed else body
        lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/soap+xml;charset=UTF-8", *headers]
        if compressed:
            lines.append("Content-Encoding: gzip")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            half = len(payload) // 2
            parts = [p for p in (payload[:half], payload[half:]) if p]
            framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(payload)}")
            framed = payload
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + framed)
        return True

    return write


def raw(data: bytes, *, pause: float = 0.0, then: bytes = b"") -> Reply:
    """Bytes as they are, optionally more after a pause; then the connection is closed."""

    def write(sock: socket.socket) -> bool:
        sock.sendall(data)
        if pause:
            time.sleep(pause)
            with contextlib.suppress(OSError):  # the client may have given up already
                sock.sendall(then)
        return False

    return write


class ScriptedEndpoint:
    """HTTP/1.1 on 127.0.0.1 that answers each request with the next scripted reply (200 once they run out)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.replies: list[Reply] = []
        self.requests: list[bytes] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the client gave up on this connection (a refused reply, a timeout)
            self._exchange(sock)

    def _exchange(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as stream:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = stream.readline()
                    if not line:
                        return
                    head += line
                length = next(
                    (int(h.split(b":", 1)[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")),
                    0,
                )
                stream.read(length)
                self.requests.append(head)
                reply = self.replies.pop(0) if self.replies else http(200, b"<ok/>")
                if not reply(sock):
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def endpoint():
    server = ScriptedEndpoint()
    yield server
    server.close()


def connection(port: int) -> Connection:
    return Connection(
        kind="winrm", address="127.0.0.1", port=port, scheme="http", path="/wsman", user="admin",
        password=Secret("S3cret!"), transport="basic", allow_unencrypted=True,
        operation_timeout_sec=5, read_timeout_sec=10,
    )


def protocol_for(conn: Connection, read_timeout: float = STEADY_TIMEOUT):
    """The protocol an orchestrator run sets up for this host, with `read_timeout` (short for the stalls)."""
    transport = WinRMTransport(HostSpec(name="hv01", connection=conn, retry=RetryPolicy(attempts=1, deadline=5.0)))
    protocol = transport._ensure_protocol()
    protocol.transport.read_timeout_sec = read_timeout
    return protocol


def outcome(send: Callable[[bytes], bytes], conn: Connection) -> tuple:
    """What one send ends in, as the admin would see it: the bytes, or the classified error and its type."""
    try:
        return ("reply", send(MESSAGE))
    except Exception as exc:  # each outcome is compared whole with the other path's
        error = classify(exc, conn, stage="run the command")
        return ("error", type(exc), type(error), str(error), error.transient)


def both(endpoint: ScriptedEndpoint, replies: list[Reply], sends: int = 1,
         read_timeout: float = STEADY_TIMEOUT) -> tuple[list, list]:
    """Each path on a fresh session of its own, given the same replies."""
    conn = connection(endpoint.port)
    results = []
    for lean in (False, True):
        protocol = protocol_for(conn, read_timeout)
        send = protocol.template.send_message if lean else protocol.template._original
        endpoint.replies = list(replies)
        results.append([outcome(send, conn) for _ in range(sends)])
        protocol.transport.close_session()
    return results[0], results[1]


def test_a_basic_session_takes_the_lean_path_and_an_ntlm_session_does_not(endpoint):
    protocol = protocol_for(connection(endpoint.port))
    session = protocol.transport.build_session()
    assert exchange.takes(session, protocol.template.prepared(session, MESSAGE)) is not None

    ntlm = requests.Session()
    ntlm.trust_env = False
    ntlm.auth = HttpNtlmAuth("LAB\\hvadmin", "S3cret!")
    ntlm.mount("http://", session.get_adapter("http://127.0.0.1/"))
    prepared = ntlm.prepare_request(requests.Request("POST", f"http://127.0.0.1:{endpoint.port}/wsman", data=b""))
    assert exchange.takes(ntlm, prepared) is None  # its handshake answers 401s from a response hook


@pytest.mark.parametrize(
    "replies",
    [
        [http(200, b"<ok/>")],
        [http(200, b"<r>" + b"x" * 50_000 + b"</r>", chunked=True)],
        [http(200, b"<r>" + b"z" * 30_000 + b"</r>", compressed=True)],
        [http(401)],
        [http(401, b"<html>Access is denied</html>")],
        [http(500, b"<s:Envelope><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code>"
                   b"<s:Reason><s:Text>boom</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>")],
        [http(503)],
        [http(404, b"<html>Not Found</html>")],
        [http(200, b"", headers=("Content-Length: 99999999999",))],
        [raw(b"")],  # closed before any reply
        [raw(b"HELLO\r\n\r\n")],  # not HTTP
        [raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<partial")],  # closed halfway through the body
        [raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n0123456789")],
        [raw(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnot gzip")],
    ],
    ids=[
        "200", "200-chunked", "200-gzip", "401", "401-body", "500-fault", "503-empty", "404", "too-large",
        "closed", "not-http", "short-body", "short-chunk", "bad-gzip",
    ],
)
def test_every_reply_and_fault_ends_the_same_on_both_paths(endpoint, replies):
    stock, lean = both(endpoint, replies)

    assert lean == stock


@pytest.mark.parametrize(
    "replies",
    [
        [raw(b"", pause=READ_TIMEOUT * 3)],  # no reply within the read timeout
        [raw(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n<half", pause=READ_TIMEOUT * 3, then=b"...")],
    ],
    ids=["read-timeout", "stall-in-body"],
)
def test_a_host_that_stalls_past_the_read_timeout_ends_the_same_on_both_paths(endpoint, replies):
    stock, lean = both(endpoint, replies, read_timeout=READ_TIMEOUT)

    assert lean == stock and stock[0][0] == "error"


def test_a_reply_over_the_size_cap_is_refused_on_both_paths_while_streaming(endpoint):
    conn = connection(endpoint.port)
    results = []
    for lean in (False, True):
        protocol = protocol_for(conn)
        session = protocol.transport.build_session()
        session.get_adapter(conn.endpoint).limit = 4096
        endpoint.replies = [http(200, b"<r>" + b"y" * 20_000 + b"</r>", chunked=True)]
        send = protocol.template.send_message if lean else protocol.template._original
        results.append(outcome(send, conn))
        protocol.transport.close_session()

    assert results[0] == results[1]
    assert results[0][:3] == ("error", ReplyTooLarge, ReplyTooLarge)


def test_a_cookie_set_by_the_host_is_sent_back_on_the_next_request_on_both_paths(endpoint):
    stock, lean = both(endpoint, [http(200, b"<one/>", headers=("Set-Cookie: affinity=n1; Path=/wsman",))], sends=2)

    assert lean == stock == [("reply", b"<one/>"), ("reply", b"<ok/>")]
    assert [b"affinity=n1" in head for head in endpoint.requests] == [False, True, False, True]


def test_a_dropped_keep_alive_connection_is_replaced_before_the_next_request(endpoint):
    stock, lean = both(endpoint, [http(200, b"<one/>", headers=("Connection: close",))], sends=2)

    assert lean == stock == [("reply", b"<one/>"), ("reply", b"<ok/>")]
    assert endpoint.connections == 4  # two per path: the host closed the first after its reply


def test_the_lean_path_keeps_one_connection_for_many_requests(endpoint):
    conn = connection(endpoint.port)
    protocol = protocol_for(conn)

    replies = [protocol.template.send_message(MESSAGE) for _ in range(5)]

    assert replies == [b"<ok/>"] * 5 and endpoint.connections == 1
    protocol.transport.close_session()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_on_both_paths_and_nothing_is_sent_there(endpoint, status):
    elsewhere = f"http://127.0.0.1:{endpoint.port}/elsewhere"
    stock, lean = both(endpoint, [http(status, headers=(f"Location: {elsewhere}",))])

    # The exceptions differ (requests' TooManyRedirects, the lean path's WinRMTransportError); what the
    # admin is told is the same.
    assert lean[0][2:] == stock[0][2:]
    kind, _, _, message, transient = lean[0]
    assert kind == "error" and f"HTTP {status}" in message and elsewhere in message and not transient
    assert "not followed" in message and "nothing was sent there" in message
    assert len(endpoint.requests) == 2 and not any(b"/elsewhere" in head for head in endpoint.requests)


def test_an_ntlm_session_refuses_a_redirect_too_before_its_handshake(endpoint):
    # NTLM keeps requests' full path (its handshake answers 401s from a response hook); that path follows
    # no redirect either: the session allows none (transport/winrm.py `_no_environment`).
    conn = replace(connection(endpoint.port), transport="ntlm", user="LAB\\hvadmin")
    elsewhere = f"http://127.0.0.1:{endpoint.port}/elsewhere"
    endpoint.replies = [http(307, headers=(f"Location: {elsewhere}",))] * 3
    transport = WinRMTransport(HostSpec(name="hv01", connection=conn, retry=RetryPolicy(attempts=1, deadline=5.0)))

    with pytest.raises(TransportError) as refused:
        transport.run("Write-Output 'ok'", idempotent=False)
    transport.close()

    assert "HTTP 307" in str(refused.value) and "not followed" in str(refused.value)
    assert endpoint.requests and not any(b"/elsewhere" in head for head in endpoint.requests)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from([200, 201, 204, 400, 401, 403, 404, 405, 500, 502, 503]),
    body=st.binary(max_size=400),
    chunked=st.booleans(),
    compressed=st.booleans(),
)
def test_any_status_and_body_read_the_same_on_both_paths(endpoint, status, body, chunked, compressed):
    stock, lean = both(endpoint, [http(status, body, chunked=chunked, compressed=compressed)])

    assert lean == stock
