"""Hosts connecting at the same moment (one runner thread each) build their HTTP sessions one at a time.

Building one writes os.environ: pywinrm's build_session hands `proxies={"no_proxy": "*"}` to requests'
`merge_environment_settings`, which sets and then deletes os.environ["no_proxy"] without a lock
(requests/utils.py `set_environ`; psf/requests#4997). Two threads in there at once failed a connect with
KeyError('no_proxy') or left `no_proxy=*` in the process environment (WinRMTransport._cap_replies).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import requests
import winrm.transport
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

FAST = Backoff(initial=0.01, maximum=0.05)


def at_once(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Run the jobs on threads of their own, released together; the exceptions they raised."""
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        start.wait()
        try:
            job()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_two_hosts_connecting_at_once_never_touch_the_environment_together(fake_winrm, monkeypatch):
    server = fake_winrm(ScriptDouble())
    host = fake_host(server, allow_unencrypted=True)
    merge = requests.Session.merge_environment_settings
    guard = threading.Lock()
    inside = [0, 0]  # now, at most
    second = threading.Event()

    def watched(self, *args, **kwargs):
        with guard:
            inside[0] += 1
            inside[1] = max(inside)
            if inside[0] > 1:
                second.set()
        try:
            second.wait(0.5)  # time for the other thread to come in here too, were it let in
            return merge(self, *args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(requests.Session, "merge_environment_settings", watched)
    environment = dict(os.environ)
    transports = [WinRMTransport(host, backoff=FAST) for _ in range(2)]
    try:
        errors = at_once([lambda t=t: t.run("Write-Output 'ok'", idempotent=False) for t in transports])
    finally:
        for transport in transports:
            transport.close()

    assert errors == []
    assert inside[1] == 1 and not second.is_set()
    assert dict(os.environ) == environment


def test_a_host_slow_in_its_ntlm_handshake_does_not_hold_up_another_hosts_connect(fake_winrm, monkeypatch):
    """The build is serialised only up to the set-up exchange, which waits on the network."""
    server = fake_winrm(ScriptDouble(), users={"LAB\\hvadmin": "S3cret!"})
    slow = fake_host(server, "hv01", user="LAB\\hvadmin", transport="ntlm")
    other = fake_host(server, "hv02", user="LAB\\hvadmin", transport="ntlm")
    setup = winrm.transport.Transport.setup_encryption
    in_handshake = threading.Event()
    other_connected = threading.Event()
    waited: list[bool] = []

    def handshake(self, session):
        if not in_handshake.is_set():
            in_handshake.set()
            waited.append(other_connected.wait(10))  # the slow host's answer comes after the other connected
        return setup(self, session)

    monkeypatch.setattr(winrm.transport.Transport, "setup_encryption", handshake)
    first, second = WinRMTransport(slow, backoff=FAST), WinRMTransport(other, backoff=FAST)

    def connect_other() -> None:
        assert in_handshake.wait(10)
        second.run("Write-Output 'ok'", idempotent=False)
        other_connected.set()

    try:
        errors = at_once([lambda: first.run("Write-Output 'ok'", idempotent=False), connect_other])
    finally:
        first.close()
        second.close()

    assert errors == []
    assert waited == [True]
