"""A script reads its stdin to the end, and the end comes only with End="true" (audit O, L1).

The product's bootstrap begins with [Console]::In.ReadToEnd(), which returns at the end of stdin only. A
client that forgot to end stdin would get nothing back from a Windows host but w:TimedOut, and the fake
used to run the script anyway with the stdin it had. Now it holds such a command like a running one, and
refuses a Send after the end (tests/fakes/server.py, _reads_stdin_to_end and _op_Send)."""

from __future__ import annotations

import pytest
import winrm
import winrm.exceptions
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.transport.stdin import channel
from orchestrator.transport.winrm import COMMAND, WinRMTransport, arguments

# Stock pywinrm reads REQUESTS_CA_BUNDLE and says so with a DeprecationWarning; that is pywinrm's default.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def raw_protocol(server) -> winrm.protocol.Protocol:
    return winrm.protocol.Protocol(
        endpoint=server.url(), transport="basic", username="admin", password="Passw0rd!",
        read_timeout_sec=10, operation_timeout_sec=5,
    )


def started_bootstrap(fake_winrm):
    """A fake host, a raw pywinrm Protocol to it, and the product's bootstrap command started in a new
    shell, its stdin not sent yet: (double, server, protocol, channel, shell id, command id)."""
    double = ScriptDouble()
    server = fake_winrm(double)
    protocol = raw_protocol(server)
    sent = channel("Write-Output 'ran'")
    shell = protocol.open_shell(codepage=65001, noprofile=True)
    command = protocol.run_command(shell, COMMAND, arguments(sent.command), console_mode_stdin=False)
    return double, server, protocol, sent, shell, command


def test_a_command_whose_stdin_was_never_ended_runs_nothing_and_times_out(fake_winrm):
    """pywinrm's raw calls with end=False on the only Send: the bootstrap still waits for the end of
    stdin, so each Receive is answered w:TimedOut and nothing of the script ran on the host."""
    double, server, protocol, sent, shell, command = started_bootstrap(fake_winrm)
    protocol.send_command_input(shell, command, sent.stdin.encode(), end=False)

    for _ in range(2):  # asking again does not help: stdin is still open
        with pytest.raises(winrm.exceptions.WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell, command)

    assert double.runs == [] and server.hosts[""].commands_run == 0
    assert server.stats()["receives_before_stdin_end"] == 2
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)


def test_ending_stdin_later_runs_the_script_once_with_all_of_it(fake_winrm):
    """The script sent in two chunks, the first with end=False and a Receive in between (w:TimedOut): once
    the last chunk ends stdin, the script runs, once, with the whole of it."""
    double, server, protocol, sent, shell, command = started_bootstrap(fake_winrm)
    data = sent.stdin.encode()
    protocol.send_command_input(shell, command, data[:10], end=False)
    with pytest.raises(winrm.exceptions.WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)

    protocol.send_command_input(shell, command, data[10:], end=True)
    stdout, _, code, done = protocol.get_command_output_raw(shell, command)

    assert (stdout, code, done) == (b"ran\r\n", 0, True)
    assert server.hosts[""].commands_run == 1 and len(double.runs) == 1
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)


def test_a_send_after_the_end_of_stdin_is_refused_and_not_read(fake_winrm):
    _, server, protocol, sent, shell, command = started_bootstrap(fake_winrm)
    protocol.send_command_input(shell, command, sent.stdin.encode(), end=True)

    with pytest.raises(winrm.exceptions.WSManFaultError) as caught:
        protocol.send_command_input(shell, command, b"Write-Output 'late'\n", end=True)
    # The fake's schema fault; the code Windows answers is unverified.
    assert (caught.value.wsman_fault_code, caught.value.fault_subcode) == (2150858817, "w:SchemaValidationError")
    assert server.stats()["sends_after_stdin_end"] == 1

    stdout, _, code, done = protocol.get_command_output_raw(shell, command)
    assert (stdout, code, done) == (b"ran\r\n", 0, True)  # the late line was not appended to the script
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)


def test_a_script_that_does_not_read_stdin_runs_without_its_end(fake_winrm):
    """pywinrm's run_ps never sends stdin: its script does not read it and runs, as on Windows."""
    double = ScriptDouble()
    server = fake_winrm(double)

    response = winrm.Session(server.url(), auth=("admin", "Passw0rd!"), transport="basic").run_ps(
        "Write-Output 'no stdin'"
    )

    assert (response.std_out, response.status_code) == (b"no stdin\r\n", 0)
    assert server.stats().get("receives_before_stdin_end", 0) == 0


def test_the_product_transport_always_ends_stdin(fake_winrm):
    """The admin's run, a script in several Sends: the last one ends stdin, so no Receive ever waits on
    it and no Send comes after it."""
    double = ScriptDouble()
    server = fake_winrm(double)
    script = "#" * 200_000 + "\nWrite-Output 'applied'"
    transport = WinRMTransport(fake_host(server, allow_unencrypted=True))
    try:
        result = transport.run(script, idempotent=False)
    finally:
        transport.close()

    assert result.stdout == "applied\r\n" and double.scripts == [script]
    stats = server.stats()
    assert stats["action:Send"] > 1
    assert stats.get("receives_before_stdin_end", 0) == 0 and stats.get("sends_after_stdin_end", 0) == 0
