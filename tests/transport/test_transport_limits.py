"""The transport refuses plainly what it cannot do safely: Basic credentials outside Latin-1, replies larger
than any WinRM reply, and a second Create after one whose answer came too late (which would leak a shell).

The story: an admin types a password with a non-Latin-1 character, a proxy answers with a 50 MB error
page, or a loaded host answers the Create after our read timeout. Each ends in one named error; no shell is
left on the host by us (the fake_winrm fixture asserts zero open shells after every test).
"""

from __future__ import annotations

import threading

import pytest
import requests
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.model import RetryPolicy
from orchestrator.transport import winrm as winrm_module
from orchestrator.transport.errors import ConfigurationError, ReplyTooLarge, ShellOpenUncertain
from orchestrator.transport.limits import MAX_REPLY_BYTES
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

FAST = Backoff(initial=0.01, maximum=0.05)
UNICODE_PASSWORD = "Пароль-ø-2026"  # Cyrillic: outside Latin-1


def run(host, script="Write-Output 'ok'", *, idempotent=True):
    transport = WinRMTransport(host, backoff=FAST)
    try:
        return transport.run(script, idempotent=idempotent), transport
    finally:
        transport.close()


def test_a_basic_password_outside_latin1_is_refused_before_anything_is_sent(fake_winrm):
    server = fake_winrm(ScriptDouble(), users={"admin": UNICODE_PASSWORD})
    host = fake_host(server, allow_unencrypted=True, transport="basic")

    with pytest.raises(ConfigurationError) as caught:
        run(host)

    assert "ansible_password holds characters outside Latin-1" in caught.value.message
    assert "ntlm" in caught.value.fix
    assert UNICODE_PASSWORD not in str(caught.value)
    assert server.stats()["requests"] == 0


def test_the_same_password_works_over_ntlm(fake_winrm):
    server = fake_winrm(ScriptDouble(), users={"LAB\\hvadmin": UNICODE_PASSWORD})
    host = fake_host(server, user="LAB\\hvadmin", transport="ntlm")
    result, _ = run(host)
    assert result.stdout == "ok\r\n"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("action", ["Create", "Receive"])
def test_a_reply_larger_than_any_winrm_reply_is_a_named_error_not_buffered(fake_winrm, action, chunked):
    server = fake_winrm(ScriptDouble())
    size = 50 * 1024 * 1024
    server.oversize(size, action=action, chunked=chunked)
    host = fake_host(server, allow_unencrypted=True, retry=RetryPolicy(attempts=3, deadline=10))

    with pytest.raises(ReplyTooLarge) as caught:
        run(host)

    assert "16 MiB" in caught.value.message and "not read" in caught.value.message
    assert server.stats()[f"action:{action}"] == 1  # permanent: not retried
    # The client hung up near the cap; a buffering client would have taken all 50 MB.
    assert server.stats().get("oversize_bytes_sent", 0) < size  # 0: it hung up before the first block was taken


def test_large_but_real_output_passes_the_caps(fake_winrm):
    """A big facts document (2 MiB, many Receives) is far below both caps and arrives whole."""
    double = ScriptDouble()
    double.reply_to("facts", stdout="{" + "x" * (2 * 1024 * 1024) + "}")
    server = fake_winrm(double)
    host = fake_host(server, allow_unencrypted=True)
    result, _ = run(host, "# facts\nWrite-Output 'x'")
    assert len(result.stdout) == 2 * 1024 * 1024 + 2 and MAX_REPLY_BYTES > 100 * 153600


def test_output_beyond_the_output_cap_stops_the_command(fake_winrm, monkeypatch):
    monkeypatch.setattr(winrm_module, "MAX_OUTPUT_BYTES", 1000)
    double = ScriptDouble()
    double.reply_to("chatty", stdout="x" * 5000)
    server = fake_winrm(double)
    server.output_chunk = 500
    host = fake_host(server, allow_unencrypted=True)

    with pytest.raises(ReplyTooLarge) as caught:
        run(host, "# chatty\nWrite-Output 'x'", idempotent=True)

    assert "printed more than" in caught.value.message
    assert server.stats()["commands"] == 1 and server.stats()["action:Signal"] >= 1


def test_a_create_answered_after_the_read_timeout_is_not_retried_so_no_shell_piles_up(fake_winrm):
    server = fake_winrm(ScriptDouble())
    host = fake_host(
        server,
        allow_unencrypted=True,
        operation_timeout_sec=1,
        read_timeout_sec=2,
        retry=RetryPolicy(attempts=5, deadline=30),
    )
    server.delay(2.5, action="Create", times=5)  # every Create is answered too late

    with pytest.raises(ShellOpenUncertain) as caught:
        run(host)

    assert "may have opened one anyway" in caught.value.message and "read_timeout" in caught.value.fix
    assert server.stats()["action:Create"] == 1  # one Create, not one per retry
    # The host does finish that Create: exactly one shell, which only its idle timeout removes.
    created = threading.Event()
    for _ in range(200):
        if server.stats()["shells_created"]:
            created.set()
            break
        created.wait(0.05)
    assert server.stats()["shells_created"] == 1
    assert server.expire_shells() == 1


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_a_closed_connection_leaves_no_reference_cycle(fake_winrm, transport):
    """Every reply passes the size cap, and a connection's methods are wrapped for the prepared request:
    neither may hold the reply or the connection in a reference cycle, which would keep each host's HTTP
    objects until a full run of the cyclic garbage collector (ten replies per host and run, in a fleet).
    (The WinRMTransport object itself may still wait for it: tenacity's Retrying keeps a cycle of its own
    that holds the retry callback; once closed the transport holds no connection.)"""
    import gc

    import urllib3

    server = fake_winrm(ScriptDouble())
    host = fake_host(server, allow_unencrypted=True, transport=transport)
    run(host)  # the first connection loads and caches what stays
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result, transport_used = run(host)
        del transport_used
        gc.collect()
        kept = [o for o in gc.garbage if isinstance(o, (urllib3.HTTPResponse, requests.Session))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert result.stdout == "ok\r\n"
    assert kept == []
