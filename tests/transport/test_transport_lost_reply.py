"""A reply lost after the script started on the host: the admin's apply must never run twice, nor be killed
by the clean-up of its own shell. The transport goes on reading the same command on a new connection; if a
reply was lost on the way, the run says its output is incomplete instead of running the script again."""

from __future__ import annotations

import pytest
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.model import RetryPolicy
from orchestrator.transport.errors import OutputLost, ResumeFailed
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

FAST = Backoff(initial=0.01, maximum=0.05)


def slow_host(server, **kw):
    """Operation timeout 1 s, read timeout 2 s: a Receive held back 3 s is lost to the client."""
    return fake_host(server, allow_unencrypted=True, operation_timeout_sec=1, read_timeout_sec=2, **kw)


def run(host, script="Write-Output 'applied'"):
    transport = WinRMTransport(host, backoff=FAST)
    try:
        return transport.run(script, idempotent=True), transport
    finally:
        transport.close()


def test_a_receive_lost_during_a_long_apply_does_not_run_it_again(fake_winrm):
    """The apply runs 4 s; one of its Receives is answered after the client's read timeout. The apply goes
    on to its end in the same shell, is run once, and the run says a reply (maybe output) was lost."""
    double = ScriptDouble()
    server = fake_winrm(double)
    server.command_duration = lambda host, n: 4.0 if n == 1 else 0.0
    server.delay(3.0, action="Receive", after=1, processed=True)

    with pytest.raises(OutputLost) as caught:
        run(slow_host(server))

    assert server.stats()["commands"] == 1 and len(double.runs) == 1  # ran exactly once
    assert server.stats()["shells_created"] == 1
    assert server.stats().get("shells_deleted_under_a_command", 0) == 0
    error = caught.value
    assert error.command_started and not error.transient
    assert "ran to its end" in error.message and "not run again" in error.message
    assert "re-reads the host" in error.fix


def test_the_reply_that_carried_the_output_is_lost_and_the_run_says_so(fake_winrm):
    """The host ran the whole script and its answer was lost with a dropped connection: the same command is
    asked again on a new connection, the host says it is Done, and the run fails as "output lost"."""
    double = ScriptDouble()
    server = fake_winrm(double, users={"LAB\\hvadmin": "S3cret!"})
    server.drop(action="Receive", processed=True)
    host = fake_host(server, user="LAB\\hvadmin", transport="ntlm")

    with pytest.raises(OutputLost) as caught:
        run(host)

    assert server.stats()["commands"] == 1 and len(double.runs) == 1
    assert "exit code 0" in caught.value.message
    assert server.stats()["connections"] >= 2  # a fresh, newly authenticated connection resumed it


def test_a_host_that_stays_unreachable_is_not_run_again_and_its_shell_is_signalled_before_delete(fake_winrm):
    """Every Receive after the first is lost: after the host's retry attempts the run fails, says the script
    may still be running, and close() stops the command with a Signal before it deletes the shell."""
    double = ScriptDouble()
    server = fake_winrm(double)
    server.command_duration = lambda host, n: 30.0
    server.drop(action="Receive", after=1, times=100)
    host = slow_host(server, retry=RetryPolicy(attempts=3, deadline=30.0))

    with pytest.raises(ResumeFailed) as caught:
        run(host)

    error = caught.value
    assert error.command_started and not error.transient
    assert "may still be running" in error.message and "not run again" in error.message
    assert server.stats()["commands"] == 1
    assert server.stats()["action:Receive"] == 1 + 1 + 3  # the first, the lost one, three resumes
    assert server.stats().get("shells_deleted_under_a_command", 0) == 0
    (shell,) = server.created_shells
    assert shell in server.deleted_shells
    assert [code.rsplit("/", 1)[-1] for s, _, code in server.signals if s == shell][-1] == "terminate"


def test_a_timed_out_last_send_that_the_host_processed_runs_the_script_once(fake_winrm):
    """Ansible's winrm plugin: "On manual testing the input is still processed and it's safe to continue"."""
    double = ScriptDouble()
    server = fake_winrm(double)
    server.timeout(action="Send", processed=True)

    result, transport = run(fake_host(server, allow_unencrypted=True), "Write-Output 'once'")

    assert result.stdout == "once\r\n" and transport.retries == []
    assert server.stats()["commands"] == 1 and len(double.runs) == 1


def test_a_read_only_script_whose_reply_was_lost_is_simply_run_again(fake_winrm):
    """The facts script (it changes nothing) loses the reply that carried its output: unlike an apply it is
    run again, and the run gets its whole document, as before the lost-reply rule existed."""
    double = ScriptDouble()
    server = fake_winrm(double)
    server.drop(action="Receive", processed=True)
    transport = WinRMTransport(fake_host(server, allow_unencrypted=True), backoff=FAST)
    try:
        result = transport.run("Write-Output 'the facts'", idempotent=True, read_only=True)
    finally:
        transport.close()

    assert result.ok and result.stdout.strip() == "the facts"
    assert len(double.runs) == 2 and server.stats()["commands"] == 2  # read, lost, read again
    assert [type(error).__name__ for error in transport.retries][-1] == "OutputLost"
