"""One WinRM request through requests' own adapter, without requests' `Session.send` around it.

Why: for a session whose authentication is a header (Basic, or the certificate profile's), everything
`Session.send` and `Response` add to `HTTPAdapter.send` is bookkeeping this orchestrator never uses: a
`Response` with its own cookie jar and header copy, the hook dispatch, the redirect generator, timing. That
bookkeeping, with pywinrm's `raise_for_status` around it, was about a tenth of the client's instructions
per WinRM run (callgrind, 6 requests per run: 10.54 M -> 9.42 M; README Performance).

What is kept, step by step, from `Session.send` (requests/sessions.py) and pywinrm's
`Transport._send_message_request` (winrm/transport.py), and why each step is the same here:
- The request goes through `HTTPAdapter.send` itself: connection pool, TLS settings (`cert_verify`), the
  timeout as `TimeoutSauce(connect=t, read=t)`, urllib3's `urlopen` with requests' retries, and requests'
  mapping of urllib3's errors to its own (ConnectionError, ConnectTimeout, ReadTimeout, SSLError), which
  `errors.classify` sorts. Only its last step differs: `build_response` hands back urllib3's response for a
  request marked `RAW_REPLY` (transport/adapter.py); the size caps are applied before that (limits.py).
- `send`'s defaults: stream is the session's (False), verify and cert the session's, and the proxies
  `resolve_proxies(request, session.proxies, trust_env)`, which with `trust_env` off returns a copy of
  `session.proxies` (requests/utils.py). So this path is taken only when `trust_env` is off (every
  orchestrator session: winrm.py `_no_environment`).
- Response hooks: `Session.send` dispatches the request's. This path is taken only when there are none:
  Basic and certificate authentication register no hook; NTLM (requests_ntlm), Kerberos and CredSSP answer
  their handshakes from a response hook and keep requests' full path (`takes`).
- Cookies: `extract_cookies_to_jar(session.cookies, request, raw)` runs when the reply carries Set-Cookie
  or Set-Cookie2, the only headers `CookieJar.make_cookies` reads (http/cookiejar.py: without them it
  returns at once, "no relevant cookie headers: quick exit").
- The body: as `Response.content` reads it, `raw.stream(CONTENT_CHUNK_SIZE, decode_content=True)` joined,
  with `iter_content`'s error mapping (requests/models.py: ProtocolError -> ChunkedEncodingError,
  DecodeError -> ContentDecodingError, ReadTimeoutError -> ConnectionError, SSLError -> SSLError).
- The status, as pywinrm handles `raise_for_status`'s HTTPError (400-599): 401 is InvalidCredentialsError,
  any other is WinRMTransportError("http", status, body decoded).
- Redirects: `resolve_redirects` would follow a 301/302/303 (as a GET) or a 307/308 (the same POST again)
  to its Location. No page says a WinRM listener redirects, and sending a command on to another address
  could run it there as well; here such a reply is refused as HTTP 3xx with the Location named, and nothing
  is sent there. requests' full path refuses it too, before sending anything: the orchestrator's sessions
  allow no redirect (winrm.py `_no_environment`), and errors.classify words both alike.
  Windows' own client does the same unless told otherwise: PowerShell remoting follows a redirect only with
  -AllowRedirection ("Determines whether to allow redirection by the remote computer. The default is
  false.", PSAllowRedirection in the PowerShell SDK reference), and WinRM has an error of its own for it,
  ERROR_WSMAN_UNSUPPORTED_HTTP_STATUS_REDIRECT (0x80338110).
tests/transport/test_transport_exchange.py compares this path with pywinrm's own reply by reply and fault
by fault (same bytes, same exception, same classification).
"""

from __future__ import annotations

from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar
from requests.models import CONTENT_CHUNK_SIZE, REDIRECT_STATI
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError

from orchestrator.transport.adapter import RAW_REPLY, LeanAdapter

# pywinrm's text for a 401 (winrm/transport.py _send_message_request), so a message reads the same either way.
REJECTED = "the specified credentials were rejected by the server"


def takes(session: requests.Session, prepared: requests.PreparedRequest) -> LeanAdapter | None:
    """The adapter to send `prepared` through on this path, or None where requests' full path is needed."""
    if session.trust_env or prepared.hooks.get("response") or prepared.url is None:
        return None
    adapter = session.get_adapter(prepared.url)
    return adapter if isinstance(adapter, LeanAdapter) else None


def send(
    session: requests.Session, adapter: LeanAdapter, prepared: requests.PreparedRequest, timeout: Any
) -> bytes:
    """POST `prepared` and return the reply's body, raising what requests and pywinrm would (module doc)."""
    setattr(prepared, RAW_REPLY, True)
    raw = adapter.send(
        prepared,
        stream=session.stream,
        timeout=timeout,
        verify=session.verify,
        cert=session.cert,
        proxies=dict(session.proxies),
    )
    headers = raw.headers
    if "Set-Cookie" in headers or "Set-Cookie2" in headers:
        extract_cookies_to_jar(session.cookies, prepared, raw)
    body = _read_body(raw)
    status = raw.status
    if status in REDIRECT_STATI and "Location" in headers:
        # Its Location as the text: errors.classify words the refusal (the same as for the full path).
        raise WinRMTransportError("http", status, str(headers["Location"]))
    if 400 <= status < 600:
        if status == 401:
            raise InvalidCredentialsError(REJECTED)
        raise WinRMTransportError("http", status, body.decode())
    return body


def _read_body(raw: Any) -> bytes:
    """The body as `Response.content` reads it, with the same exceptions (requests/models.py iter_content)."""
    try:
        return b"".join(raw.stream(CONTENT_CHUNK_SIZE, decode_content=True))
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
