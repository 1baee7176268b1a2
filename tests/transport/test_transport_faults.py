"""Faults a Windows host produces, injected by the fake: transient ones are retried to success (only where
running the script twice cannot happen or is safe), permanent ones fail once with a message that says what to
fix, and no fault leaves a shell open on the host (the fixture checks that after every test)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.model import RetryPolicy
from orchestrator.transport.errors import (
    AuthenticationFailed,
    CommandTimeout,
    ConfigurationError,
    HostUnreachable,
    OperationTimedOut,
    OutputLost,
    ProtocolError,
    RemoteFault,
    ResumeFailed,
    ShellOpenUncertain,
    ShellQuotaExceeded,
)
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import STDIN_CHUNK, WinRMTransport

FAST = Backoff(initial=0.01, maximum=0.05)
PATIENT = RetryPolicy(attempts=1000, deadline=20.0)  # bounded by time, for faults that last a while


@pytest.fixture
def host_and_server(fake_winrm):
    """An NTLM host with message encryption: reconnecting after a fault needs a fresh handshake, too."""
    double = ScriptDouble()
    server = fake_winrm(double, users={"LAB\\hvadmin": "S3cret!"})
    return fake_host(server, user="LAB\\hvadmin", transport="ntlm"), server, double


def run(host, script="Write-Output 'ok'", *, idempotent=True, **kw):
    transport = WinRMTransport(host, backoff=FAST)
    try:
        return transport.run(script, idempotent=idempotent, **kw), transport
    finally:
        transport.close()


@pytest.mark.parametrize(
    ("inject", "action"),
    [
        (lambda s: s.fail(503, action="Create"), "Create"),
        (lambda s: s.fail(502, action="Command"), "Command"),
        (lambda s: s.fail(503, action="Receive"), "Receive"),
        (lambda s: s.drop(action="Command"), "Command"),
        (lambda s: s.quota(), "Create"),
        (lambda s: s.fail(503, after=3), "Receive"),  # the 4th WS-Man request: Create, Command, Send, Receive
    ],
    ids=[
        "503-create",
        "502-command",
        "503-receive",
        "drop-command",
        "quota",
        "503-4th-request",
    ],
)
def test_transient_fault_is_retried_to_success(host_and_server, inject, action):
    host, server, _ = host_and_server
    inject(server)

    result, transport = run(host, "Write-Output 'ok'", idempotent=False)

    assert result.stdout == "ok\r\n"
    assert len(transport.retries) == 1 and transport.retries[0].transient
    assert server.stats()[f"action:{action}"] == 2


@pytest.mark.parametrize("processed", [True, False], ids=["shell-made", "never-read"])
@pytest.mark.parametrize(
    "inject",
    [lambda s, p: s.drop(action="Create", processed=p), lambda s, p: s.timeout(action="Create", processed=p)],
    ids=["drop", "wsman-timeout"],
)
def test_a_create_whose_answer_is_lost_is_not_retried(host_and_server, inject, processed):
    """WS-Man Create is not idempotent: a Create whose reply was lost to a dropped connection (or answered
    w:TimedOut) may have made a shell whose id we never learnt. Retrying would leave one more per attempt,
    each counting against MaxShellsPerUser (30) until the idle timeout. The client cannot tell a drop before
    the host read the request (processed=False) from one after it made the shell, so both fail safe."""
    host, server, double = host_and_server
    inject(server, processed)

    with pytest.raises(ShellOpenUncertain) as caught:
        run(host, idempotent=True)

    error = caught.value
    assert not error.transient and not error.command_started
    assert "may have opened one anyway" in error.message and "idle timeout" in error.message
    assert "Restart-Service WinRM" in error.fix
    assert server.stats()["action:Create"] == 1 and double.runs == []  # not retried, nothing ran
    assert server.open_shells() == (1 if processed else 0)  # at most the one shell the host made
    server.expire_shells()  # the host's idle timeout (the fixture asserts no shell is left open)


def test_a_create_refused_by_a_rebooting_host_is_retried(host_and_server):
    """A refused connection provably sent nothing (urllib3 NewConnectionError): waited out, no shell left."""
    host, server, _ = host_and_server
    host = replace(host, retry=PATIENT)
    server.reboot(0.3)

    result, transport = run(host, idempotent=False)

    assert result.stdout == "ok\r\n"
    assert transport.retries and all("refused" in e.message for e in transport.retries)
    assert server.stats()["shells_created"] == 1


def test_timeouts_before_output_are_waited_out_without_a_retry(host_and_server):
    host, server, _ = host_and_server
    server.timeouts_before_output = 3

    result, transport = run(host, idempotent=False)

    assert result.stdout == "ok\r\n" and transport.retries == []
    assert server.stats()["action:Receive"] == 4 and server.stats()["commands"] == 1


@pytest.mark.parametrize("idempotent", [True, False])
def test_dropped_connection_during_output_is_never_rerun(host_and_server, idempotent):
    """The script ran; its output was lost on the way. Running it again could repeat a half-done change on a
    real host, so even an idempotent script is not: the same command is read again, and the run says its
    output was lost (test_transport_lost_reply.py)."""
    host, server, double = host_and_server
    server.drop(action="Receive", processed=True)

    with pytest.raises(OutputLost) as caught:
        run(host, idempotent=idempotent)

    assert caught.value.command_started and not caught.value.transient
    assert len(double.runs) == 1


def test_failure_while_sending_the_script_is_retried_even_when_not_idempotent(host_and_server):
    """PowerShell starts the script only when stdin ends, so a fault before the last Send is always safe."""
    host, server, double = host_and_server
    server.drop(action="Send")  # the first of three Sends
    script = "#" * (2 * STDIN_CHUNK + 10) + "\nWrite-Output 'big'"

    result, transport = run(host, script, idempotent=False)

    assert result.stdout == "big\r\n"
    assert not transport.retries[0].command_started
    assert double.scripts == [script]


def test_failure_on_the_last_send_is_not_retried_when_not_idempotent(host_and_server):
    host, server, _ = host_and_server
    server.drop(action="Send", processed=True)  # the only Send is the last one: stdin ended, the script runs

    with pytest.raises(HostUnreachable) as caught:
        run(host, idempotent=False)
    assert caught.value.command_started


def test_host_reboot_is_waited_out(host_and_server):
    host, server, _ = host_and_server
    host = replace(host, retry=PATIENT)
    server.reboot(0.3)

    result, transport = run(host, idempotent=False)

    assert result.stdout == "ok\r\n"
    assert transport.retries and all(isinstance(e, HostUnreachable) for e in transport.retries)


def test_reboot_between_two_runs_of_one_transport_opens_a_new_shell(host_and_server):
    host, server, _ = host_and_server
    transport = WinRMTransport(host, backoff=FAST)
    try:
        assert transport.run("Write-Output 'before'", idempotent=False).stdout == "before\r\n"
        server.reboot(0.0)  # shells and connections vanish; the host is back at once
        assert transport.run("Write-Output 'after'", idempotent=False).stdout == "after\r\n"
    finally:
        transport.close()
    assert server.stats()["shells_created"] == 2


def test_read_timeout_before_the_command_started_is_retried(fake_winrm):
    server = fake_winrm(ScriptDouble())
    host = fake_host(server, allow_unencrypted=True, operation_timeout_sec=1, read_timeout_sec=2)
    # Command, not Create: a Command lost this way lives in our shell and goes with it (a lost Create is
    # not retried at all, see test_transport_shell_open.py).
    server.delay(2.5, action="Command")

    result, transport = run(host, idempotent=False)

    assert result.stdout == "ok\r\n"
    assert isinstance(transport.retries[0], OperationTimedOut)


def test_command_deadline_stops_the_script(host_and_server):
    host, server, _ = host_and_server
    server.timeouts_before_output = 10**6  # the script never produces output
    server.timeout_wait = 0.02

    with pytest.raises(CommandTimeout) as caught:
        run(host, idempotent=True, timeout=0.3)

    assert "time limit" in caught.value.message and "orchestrate_operation_timeout" in caught.value.fix
    assert server.stats()["commands"] == 1  # a timeout is not retried
    assert server.stats()["action:Signal"] == 1  # the command was told to stop


def test_internal_server_error_is_permanent(host_and_server):
    host, server, _ = host_and_server
    server.fail(500, action="Create")
    with pytest.raises(RemoteFault) as caught:
        run(host)
    assert "HTTP 500" in caught.value.message and "event log" in caught.value.fix
    assert server.stats()["action:Create"] == 1


def test_401_in_the_middle_of_a_run_is_permanent(fake_winrm):
    server = fake_winrm(ScriptDouble())
    server.unauthorized(action="Command")
    with pytest.raises(AuthenticationFailed):
        run(fake_host(server, allow_unencrypted=True))
    assert server.stats()["commands"] == 0 and server.stats()["action:Command"] == 1


def test_unknown_endpoint_path_is_permanent(fake_winrm):
    server = fake_winrm(ScriptDouble())
    host = fake_host(server, allow_unencrypted=True, path="/wrong")
    with pytest.raises(RemoteFault) as caught:
        run(host)
    assert "ansible_winrm_path" in caught.value.fix


def test_refused_connection_names_the_listener_fix(fake_winrm):
    server = fake_winrm(ScriptDouble())
    host = fake_host(server, allow_unencrypted=True, retry=RetryPolicy(attempts=2, deadline=5))
    server.stop()  # nothing listens on the port any more
    with pytest.raises(HostUnreachable) as caught:
        run(host)
    assert "refused" in caught.value.message and "winrm quickconfig" in caught.value.fix


def test_slow_receive_after_the_script_started_is_not_repeated(fake_winrm):
    double = ScriptDouble()
    server = fake_winrm(double)
    server.slow_receive = 2.5  # longer than the client's read timeout, on every Receive
    host = fake_host(server, allow_unencrypted=True, operation_timeout_sec=1, read_timeout_sec=2,
                     retry=RetryPolicy(attempts=1, deadline=30.0))

    with pytest.raises(ResumeFailed) as caught:
        run(host, idempotent=True)

    assert caught.value.command_started and not caught.value.transient
    assert "may still be running" in caught.value.message
    assert server.stats()["commands"] == 1 and server.stats()["action:Receive"] == 2  # read again once


def test_shell_quota_reached_until_another_run_closes_its_shell(fake_winrm):
    server = fake_winrm(ScriptDouble())
    server.max_shells = 1
    first = WinRMTransport(fake_host(server, allow_unencrypted=True), backoff=FAST)
    second = WinRMTransport(
        fake_host(server, allow_unencrypted=True, retry=RetryPolicy(attempts=3, deadline=5)), backoff=FAST
    )
    try:
        first.run("exit 0", idempotent=True)
        with pytest.raises(ShellQuotaExceeded) as caught:
            second.run("exit 0", idempotent=True)
        assert "MaxShellsPerUser" in caught.value.fix
        assert server.stats()["action:Create"] == 1 + 3
        first.close()
        assert second.run("Write-Output 'now'", idempotent=True).stdout == "now\r\n"
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("transport", ["kerberos", "credssp"])
def test_missing_client_library_says_what_to_install(fake_winrm, transport):
    server = fake_winrm(ScriptDouble())
    with pytest.raises(ConfigurationError) as caught:
        run(fake_host(server, transport=transport))
    assert f"pywinrm[{transport}]" in caught.value.fix
    assert server.stats()["requests"] == 0


def test_malformed_reply_is_a_protocol_error_not_retried(host_and_server):
    host, server, _ = host_and_server
    server.malformed(action="Create")
    with pytest.raises(ProtocolError) as caught:
        run(host)
    assert "not valid WS-Management" in caught.value.message and "ansible_winrm_path" in caught.value.fix
    assert server.stats()["action:Create"] == 1
