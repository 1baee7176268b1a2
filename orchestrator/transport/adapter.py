"""The requests adapter every WinRM session of the orchestrator sends through, with less work per request.

A session talks to one endpoint for its whole life (one host, one URL), yet requests' HTTPAdapter finds the
connection pool anew for every request (requests/adapters.py `get_connection_with_tls_context`: the URL
parsed, the pool key built and normalised, the pool manager's lock taken), about 3% of the orchestrator's
CPU per converge in the fleet benchmark. `LeanAdapter`:
- keeps the pool it found last, and hands it out again while the request goes to the same URL with the
  same certificate settings and no proxy, and the pool manager still holds pools: `PoolManager.clear`
  (which closing the adapter calls) empties it, and the next request looks its pool up as requests would.
  The pool manager's own lookup would return that same pool object (closed or not) while it holds it; one
  it evicted for an eleventh endpoint would still be handed out here, open and working (urllib3 2 drops
  evicted pools without closing them); an orchestrator session has one endpoint;
- has its pool manager make connections that read reply headers without the e-mail parser
  (transport/headers.py);
- hands back urllib3's own response, not a requests `Response`, for a request marked `RAW_REPLY`
  (the lean exchange of transport/exchange.py, which reads it as `Response.content` would).
Proxied requests take requests' own path unchanged (the orchestrator never uses a proxy).
"""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from requests.utils import select_proxy

from orchestrator.transport.headers import PlainHeadersHTTPPool, PlainHeadersHTTPSPool

# The attribute that marks a PreparedRequest whose sender wants urllib3's response itself.
RAW_REPLY = "orchestrate_raw_reply"


class LeanAdapter(HTTPAdapter):
    """HTTPAdapter that reuses its last connection pool and reads plain reply headers cheaply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # (key, pool), replaced as one tuple: a reader sees an old pair or a new one, never half of each.
        self._last_pool: tuple[tuple[Any, ...], Any] | None = None
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": PlainHeadersHTTPPool, "https": PlainHeadersHTTPSPool}
        self._last_pool = None

    def get_connection_with_tls_context(
        self, request: Any, verify: Any, proxies: dict[str, str] | None = None, cert: Any = None
    ) -> Any:
        if select_proxy(request.url, proxies):
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        key = (request.url, verify, cert)
        last = self._last_pool
        if last is not None and last[0] == key and len(self.poolmanager.pools):
            return last[1]
        pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
        self._last_pool = (key, pool)
        return pool

    def build_response(self, req: Any, resp: Any) -> Any:
        if getattr(req, RAW_REPLY, False):
            return resp
        return super().build_response(req, resp)

    def close(self) -> None:
        self._last_pool = None
        super().close()
