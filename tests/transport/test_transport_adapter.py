"""The session's adapter finds its connection pool once, and hands out no pool requests itself would not.

The story: a converge sends ten requests to one host's WinRM URL; finding the same connection pool ten
times cost a few per cent of the orchestrator's CPU. The adapter keeps the last pool, but once the pool
manager has let its pools go (closing the adapter clears it) the pool is looked up again, another URL
gets its own pool, and a proxied request is left entirely to requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from requests.adapters import HTTPAdapter

from orchestrator.transport.adapter import LeanAdapter
from orchestrator.transport.headers import PlainHeadersResponse


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_urls() -> Iterator[list[str]]:
    """Two loopback endpoints that answer a POST with its own body."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Echo) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{server.server_address[1]}/wsman" for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs for which requests' own pool lookup ran."""
    seen: list[str] = []
    stock = HTTPAdapter.get_connection_with_tls_context

    def counted(self, request, verify, proxies=None, cert=None):  # type: ignore[no-untyped-def]
        seen.append(request.url)
        return stock(self, request, verify, proxies, cert)

    monkeypatch.setattr(HTTPAdapter, "get_connection_with_tls_context", counted)
    return seen


def _session() -> tuple[requests.Session, LeanAdapter]:
    session = requests.Session()
    session.trust_env = False
    adapter = LeanAdapter()
    session.mount("http://", adapter)
    return session, adapter


def test_ten_requests_to_one_host_look_its_pool_up_once_and_all_are_answered(echo_urls, lookups):
    session, _ = _session()
    replies = [session.post(echo_urls[0], data=f"message {n}".encode()) for n in range(10)]
    assert [reply.content for reply in replies] == [f"message {n}".encode() for n in range(10)]
    assert lookups == [echo_urls[0]]


def test_replies_are_read_by_the_plain_header_reader(echo_urls):
    session, _ = _session()
    reply = session.post(echo_urls[0], data=b"x")
    assert isinstance(reply.raw._original_response, PlainHeadersResponse)
    assert reply.headers["Content-Type"] == "application/soap+xml;charset=UTF-8"


def test_a_pool_the_pool_manager_let_go_is_looked_up_again(echo_urls, lookups):
    session, adapter = _session()
    session.post(echo_urls[0], data=b"before")
    adapter.poolmanager.clear()  # what closing the adapter does: the manager forgets every pool
    reply = session.post(echo_urls[0], data=b"after")
    assert reply.content == b"after"
    assert lookups == [echo_urls[0], echo_urls[0]]


def test_another_url_gets_its_own_pool(echo_urls, lookups):
    session, _ = _session()
    first = session.post(echo_urls[0], data=b"one")
    second = session.post(echo_urls[1], data=b"two")
    assert (first.content, second.content) == (b"one", b"two")
    assert first.connection is second.connection  # the same adapter ...
    assert lookups == echo_urls  # ... but a lookup for each URL


def test_a_proxied_request_is_left_to_requests(echo_urls, lookups):
    _, adapter = _session()
    request = requests.Request("POST", echo_urls[0], data=b"x").prepare()
    direct = adapter.get_connection_with_tls_context(request, True)
    proxied = adapter.get_connection_with_tls_context(request, True, proxies={"http": "http://127.0.0.1:9"})
    assert proxied is not direct
    assert proxied.proxy is not None
    assert adapter.get_connection_with_tls_context(request, True) is direct
    assert lookups == [echo_urls[0], echo_urls[0]]
