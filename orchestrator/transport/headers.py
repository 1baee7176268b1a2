"""HTTP reply headers read without the e-mail parser, for the plain header blocks a WinRM listener sends.

Why: http.client reads every reply's headers with `email.parser` (http/client.py `parse_headers`), a general
RFC 5322 message parser: a feed parser, a line buffer, a policy object and a content-type walk, for the
six or seven `Name: value` lines an HTTP.sys reply carries. In the fleet benchmark that was about a seventh
of the orchestrator's CPU per converge (py-spy, 300 hosts at forks 1: `parse_headers` 17.9% of the worker
threads' samples, 14.4% of it inside email.parser), the largest single item of the HTTP stack.

How, without changing what any reader sees:
- `parse_plain_headers` builds the same `http.client.HTTPMessage` the e-mail parser builds (compat32
  policy: the name as written, the value with leading spaces and tabs and the line end stripped, in
  order, duplicates kept; an empty payload) for a block whose every line is a plain `name:value` line
  (`_PLAIN_LINE`), and whose Content-Type, if any, is neither multipart/* nor message/* (the e-mail parser
  walks those as MIME bodies and records defects, which urllib3's `assert_header_parsing` reads). Any
  other block (folded lines, a line without a colon, an envelope `From ` line, a bare CR, a multipart
  reply such as pywinrm's encrypted messages) goes to http.client's own `parse_headers` unchanged. A
  hypothesis test compares the two over generated blocks (tests/transport/test_transport_headers.py).
- `PlainHeadersResponse` is http.client's HTTPResponse whose `begin` is the running interpreter's own
  `HTTPResponse.begin`, its code unchanged, bound to a copy of http.client's globals in which only
  `parse_headers` is ours. Status line, 100 Continue, chunking, Content-Length and keep-alive handling stay
  the standard library's, whatever its version; nothing global is patched (other code in the process
  keeps the stock parser). Were a later Python to stop calling `parse_headers` from `begin`, the response
  would simply parse as before.
- The connection and pool classes below only name that response class; transport/adapter.py makes the
  requests adapter's pool manager use them. Proxied connections (requests' ProxyManager) keep urllib3's
  stock classes; the orchestrator never uses a proxy (transport/winrm.py passes `proxy=None`).
"""

from __future__ import annotations

import http.client
import re
import types
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# A header line the e-mail parser reads as exactly one header with no defect: a non-empty name of the
# characters email.feedparser's headerRE allows in a name (printable ASCII but ':'), a colon, then a value
# without CR or LF (the e-mail parser splits lines at a bare CR too), then the line end. A name may not
# contain a space, so an envelope `From ` line never matches.
_PLAIN_LINE = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n\Z")
_MIME_CONTAINER = ("multipart/", "message/")


def parse_plain_headers(fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage) -> Any:
    """http.client's `parse_headers(fp)`, without the e-mail parser when every line is a plain header."""
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]
    pairs: list[tuple[str, str]] = []
    for raw in lines[:-1]:  # the last is the blank line, or b"" where the stream ended (the same to both)
        match = _PLAIN_LINE.match(raw.decode("iso-8859-1"))
        if match is None:
            return _email_parse(lines, _class)
        name, value = match.groups()
        if name.lower() == "content-type" and value.strip().lower().startswith(_MIME_CONTAINER):
            return _email_parse(lines, _class)
        pairs.append((name, value))
    message = _class()
    for name, value in pairs:
        message.set_raw(name, value)
    message.set_payload("")
    return message


def _email_parse(lines: list[bytes], _class: type[http.client.HTTPMessage]) -> Any:
    """What http.client's parse_headers does with the lines it read (http/client.py)."""
    import email.parser

    return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))


def _begin_with_plain_headers() -> types.FunctionType:
    """The standard library's `HTTPResponse.begin`, its own code, with `parse_headers` resolved to ours."""
    stock = http.client.HTTPResponse.begin
    namespace = dict(vars(http.client))
    namespace["parse_headers"] = parse_plain_headers
    begin = types.FunctionType(stock.__code__, namespace, stock.__name__, stock.__defaults__, stock.__closure__)
    begin.__kwdefaults__ = stock.__kwdefaults__
    begin.__qualname__ = stock.__qualname__
    begin.__doc__ = stock.__doc__
    return begin


class PlainHeadersResponse(http.client.HTTPResponse):
    """http.client's HTTPResponse that reads plain header blocks without the e-mail parser."""

    begin = _begin_with_plain_headers()  # type: ignore[assignment]


class PlainHeadersHTTPConnection(HTTPConnection):
    response_class = PlainHeadersResponse


class PlainHeadersHTTPSConnection(HTTPSConnection):
    response_class = PlainHeadersResponse


class PlainHeadersHTTPPool(HTTPConnectionPool):
    ConnectionCls = PlainHeadersHTTPConnection


class PlainHeadersHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = PlainHeadersHTTPSConnection
