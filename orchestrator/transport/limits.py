"""Size limits on what a host sends back, so a broken or hostile endpoint cannot exhaust the admin box.

Why these numbers: a WinRM reply is one SOAP envelope no larger than the MaxEnvelopeSize the client asks for
(pywinrm asks for 153600 bytes in its wsman:MaxEnvelopeSize header, winrm/protocol.py build_wsman_header),
so a 16 MiB reply is never a working host's; and a script of ours prints one JSON document
(facts of a large host are a few MiB), so 64 MiB of output is far past any real run. Without a cap requests
buffers the whole body (`Response.content`), then pywinrm parses and base64-decodes it: 50 MB cost 300 MB.

How: every HTTP response of the session goes through `CappedAdapter` (a requests HTTPAdapter), also those of
the NTLM handshake, which requests_ntlm sends through `response.connection`, i.e. the adapter. A body is
refused as soon as its Content-Length, or the bytes actually read (after any Content-Encoding is undone, so
a gzip bomb is counted as what it inflates to), pass the cap.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import requests

from orchestrator.transport.adapter import LeanAdapter
from orchestrator.transport.errors import ReplyTooLarge

MAX_REPLY_BYTES = 16 * 1024 * 1024
MAX_OUTPUT_BYTES = 64 * 1024 * 1024


def reply_too_large(where: str, size: int | str, limit: int) -> ReplyTooLarge:
    return ReplyTooLarge(
        f"{where} sent a reply of {size} bytes, more than the {limit // (1024 * 1024)} MiB any WinRM reply "
        "can be; it was not read",
        "check that the endpoint is a WinRM listener and that no proxy or other service answers in its place",
    )


def _cap_body(raw: Any, limit: int, where: str) -> None:
    """Make `raw` (urllib3's HTTPResponse) refuse to stream more than `limit` bytes.

    The response object itself stays a urllib3 HTTPResponse: requests_ntlm reads the TLS certificate for
    channel binding from it (`isinstance(response.raw, HTTPResponse)`), and a wrapper would silently turn
    channel binding off. Only `stream`, which requests' Response.content reads through, is replaced on this
    one instance (urllib3's own `stream` calls `read`, so counting there too would count twice).

    The replacement reaches the response through a weak reference and its class's own `stream`: one that held
    the response (or its bound `stream`) would be held by it, a reference cycle of the response, its headers
    and buffers that only the cyclic garbage collector frees, ten of them per host and run.
    """
    response = weakref.ref(raw)
    original = type(raw).stream
    taken = 0

    def stream(amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        nonlocal taken
        target = response()
        if target is None:
            return
        for chunk in original(target, amt, decode_content=decode_content):
            taken += len(chunk)
            if taken > limit:
                target.close()
                raise reply_too_large(where, f"more than {limit}", limit)
            yield chunk

    raw.stream = stream


class CappedAdapter(LeanAdapter):
    """An HTTPAdapter whose responses refuse bodies larger than `limit` bytes (ReplyTooLarge).

    It is also the session's only adapter, so it does less per request (transport/adapter.py)."""

    def __init__(self, where: str, limit: int = MAX_REPLY_BYTES, **kwargs: Any) -> None:
        self.where = where
        self.limit = limit
        super().__init__(**kwargs)

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> Any:
        # Checked on urllib3's response itself, before requests wraps it (its `Response.raw` is this object,
        # and its headers a case-insensitive copy of these), so the lean exchange is capped the same way.
        declared = resp.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > self.limit:
            resp.close()
            raise reply_too_large(self.where, int(declared), self.limit)
        _cap_body(resp, self.limit, self.where)
        return super().build_response(req, resp)


def cap_session(session: requests.Session, where: str, limit: int = MAX_REPLY_BYTES) -> None:
    """Mount CappedAdapter for http and https on `session` (idempotent)."""
    for prefix in ("https://", "http://"):
        adapter = session.adapters.get(prefix)
        if not isinstance(adapter, CappedAdapter):
            session.mount(prefix, CappedAdapter(where, limit))
