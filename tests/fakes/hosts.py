"""HostSpecs that point at a running fake server, for tests of anything that takes a host."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from orchestrator.model import Connection, HostSpec, RetryPolicy, Secret

from .server import FakeWinRMServer


def fake_host(
    server: FakeWinRMServer,
    name: str = "hv01",
    *,
    route: str = "",
    user: str = "admin",
    password: str | None = None,
    transport: str = "basic",
    ca_trust_path: str | None = None,
    retry: RetryPolicy | None = None,
    **connection: Any,
) -> HostSpec:
    """A host reached through `server` at `/wsman[/route]`. The password defaults to the user's on the fake.

    Over HTTPS pass `ca_trust_path` (the fake's CA as PEM); over HTTP Basic needs `allow_unencrypted=True`.
    """
    secret = password if password is not None else server.users.get(user, "")
    conn = Connection(
        kind="winrm",
        address="127.0.0.1",
        port=server.port,
        scheme=server.scheme,  # type: ignore[arg-type]
        path="/wsman" + (f"/{route}" if route else ""),
        user=user,
        password=Secret(secret),
        transport=transport,  # type: ignore[arg-type]
        ca_trust_path=ca_trust_path,
        operation_timeout_sec=connection.pop("operation_timeout_sec", 5),
        read_timeout_sec=connection.pop("read_timeout_sec", 10),
    )
    conn = replace(conn, **connection)
    return HostSpec(name=name, connection=conn, retry=retry or RetryPolicy(attempts=5, deadline=30.0))
