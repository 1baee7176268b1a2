"""WinRMTransport against the fake WinRM server: every auth mode, big scripts, encodings, one shell per run."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import ScriptDouble
from fakes.hosts import fake_host

from orchestrator.model import RetryPolicy
from orchestrator.transport.errors import (
    AuthenticationFailed,
    ConfigurationError,
    InsecureTransportRefused,
    TLSFailure,
)
from orchestrator.transport.retry import Backoff
from orchestrator.transport.stdin import channel
from orchestrator.transport.winrm import WinRMTransport

FAST = Backoff(initial=0.01, maximum=0.05)


def run(host, script, **kw):
    transport = WinRMTransport(host, backoff=FAST)
    try:
        return transport.run(script, idempotent=kw.pop("idempotent", True), **kw)
    finally:
        transport.close()


def test_basic_over_https_with_trusted_ca(fake_winrm, ca_pem):
    double = ScriptDouble()
    server = fake_winrm(double, tls=True)

    result = run(fake_host(server, ca_trust_path=ca_pem), "Write-Output 'over tls'")

    assert (result.stdout, result.exit_code) == ("over tls\r\n", 0)
    # The host ran the contract bootstrap made for this script and got the script on stdin, exactly as written.
    assert double.runs == [channel("Write-Output 'over tls'")]


def test_ntlm_over_http_encrypts_every_message(fake_winrm):
    server = fake_winrm(ScriptDouble(), users={"LAB\\hvadmin": "S3cret!"})
    host = fake_host(server, user="LAB\\hvadmin", transport="ntlm", message_encryption="auto")

    result = run(host, "Write-Output 'sealed'")

    assert result.stdout == "sealed\r\n"
    stats = server.stats()
    # Create, Command, Send, Receive, Signal, Delete: all sealed with the NTLM session key.
    assert stats["encrypted_requests"] == stats["requests"] - 3  # minus the 3 handshake POSTs
    assert stats["encrypted_requests"] == 6


def test_ntlm_over_https(fake_winrm, ca_pem):
    server = fake_winrm(ScriptDouble(), tls=True, users={"hvadmin": "S3cret!"})
    host = fake_host(server, user="hvadmin", transport="ntlm", ca_trust_path=ca_pem)

    assert run(host, "Write-Output 'ntlm tls'").stdout == "ntlm tls\r\n"
    assert server.stats()["encrypted_requests"] == 0  # TLS protects it; no message encryption over HTTPS


def test_client_certificate_over_https(fake_winrm, test_ca, ca_pem, tmp_path):
    server = fake_winrm(ScriptDouble(), tls=True, auth=("certificate",))
    client = test_ca.issue_cert("hvadmin@lab.example")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    host = fake_host(
        server, transport="certificate", ca_trust_path=ca_pem, cert_pem=str(cert), cert_key_pem=str(key)
    )

    assert run(host, "Write-Output 'cert'").stdout == "cert\r\n"


def test_basic_over_http_when_explicitly_allowed_warns(fake_winrm):
    server = fake_winrm(ScriptDouble())
    transport = WinRMTransport(fake_host(server, allow_unencrypted=True), backoff=FAST)
    try:
        assert transport.run("Write-Output 'clear'", idempotent=True).stdout == "clear\r\n"
    finally:
        transport.close()
    assert transport.warnings == [
        "hv01: basic authentication over HTTP sends the credentials in clear text "
        "(allowed by orchestrate_allow_unencrypted)"
    ]


def test_basic_over_http_refused_before_any_request(fake_winrm):
    server = fake_winrm(ScriptDouble())
    transport = WinRMTransport(fake_host(server), backoff=FAST)

    with pytest.raises(InsecureTransportRefused) as caught:
        transport.run("Write-Output 'x'", idempotent=True)
    transport.close()

    assert "clear text" in caught.value.message
    assert "orchestrate_allow_unencrypted" in caught.value.fix
    assert server.stats()["connections"] == 0 and server.stats()["requests"] == 0


def test_ntlm_without_encryption_over_http_when_allowed(fake_winrm):
    server = fake_winrm(ScriptDouble())
    host = fake_host(server, transport="ntlm", message_encryption="never", allow_unencrypted=True)
    assert run(host, "Write-Output 'plain'").stdout == "plain\r\n"
    assert server.stats()["encrypted_requests"] == 0


def test_host_without_allow_unencrypted_refuses_plaintext_messages(fake_winrm):
    """The host side of the same rule (AllowUnencrypted=false): the client is told 401."""
    server = fake_winrm(ScriptDouble(), allow_unencrypted=False)
    host = fake_host(server, transport="ntlm", message_encryption="never", allow_unencrypted=True)
    with pytest.raises(AuthenticationFailed):
        run(host, "exit 0")
    assert run(fake_host(server, transport="ntlm"), "Write-Output 'sealed'").stdout == "sealed\r\n"


def test_ntlm_without_encryption_over_http_is_refused_too(fake_winrm):
    server = fake_winrm(ScriptDouble())
    transport = WinRMTransport(fake_host(server, transport="ntlm", message_encryption="never"))
    with pytest.raises(InsecureTransportRefused):
        transport.run("exit 0", idempotent=True)
    assert server.stats()["requests"] == 0


def test_wrong_password_fails_once_with_a_fix_and_no_password(fake_winrm, ca_pem):
    server = fake_winrm(ScriptDouble(), tls=True)
    host = fake_host(server, password="Wr0ng-Secret", ca_trust_path=ca_pem)

    with pytest.raises(AuthenticationFailed) as caught:
        run(host, "exit 0")

    error = caught.value
    assert not error.transient
    assert "rejected the credentials" in error.message and "ansible_password" in error.fix
    assert "Wr0ng-Secret" not in str(error) and "Passw0rd!" not in str(error)
    assert server.stats()["requests"] == 1  # not retried: retrying a 401 only locks the account out


def test_wrong_ntlm_password(fake_winrm):
    server = fake_winrm(ScriptDouble(), users={"LAB\\hvadmin": "S3cret!"})
    host = fake_host(server, user="LAB\\hvadmin", password="nope", transport="ntlm")
    with pytest.raises(AuthenticationFailed) as caught:
        run(host, "exit 0")
    assert "DOMAIN\\user" in caught.value.fix
    stats = server.stats()
    assert (stats["auth_required"], stats["auth_challenges"], stats["auth_failures"]) == (1, 1, 1)


def test_untrusted_self_signed_certificate_is_refused(fake_winrm):
    server = fake_winrm(ScriptDouble(), tls=True)

    with pytest.raises(TLSFailure) as caught:
        run(fake_host(server), "exit 0")  # no ca_trust_path: the system store does not know the test CA

    assert "not trusted" in caught.value.message
    assert "ansible_winrm_ca_trust_path" in caught.value.fix
    assert not caught.value.transient
    assert server.stats()["requests"] == 0


def test_ignoring_certificate_validation_works_but_warns(fake_winrm):
    server = fake_winrm(ScriptDouble(), tls=True)
    transport = WinRMTransport(fake_host(server, cert_validation="ignore"), backoff=FAST)
    try:
        assert transport.run("exit 0", idempotent=True).exit_code == 0
    finally:
        transport.close()
    assert any("not validated" in w for w in transport.warnings)


@pytest.mark.parametrize(
    ("mode", "tls", "options"),
    [
        ("basic-https", True, {}),
        ("ntlm-http-encrypted", False, {"transport": "ntlm"}),
        ("basic-http-allowed", False, {"allow_unencrypted": True}),
    ],
)
def test_200_kb_script_arrives_whole_over_one_shell(fake_winrm, ca_pem, mode, tls, options):
    double = ScriptDouble()
    server = fake_winrm(double, tls=tls)
    filler = "".join(f"# line {i:06d} {'x' * 60}\n" for i in range(3000))
    script = filler + "Write-Output 'done'\n"
    assert len(script.encode()) > 200_000

    result = run(fake_host(server, ca_trust_path=ca_pem if tls else None, **options), script)

    assert result.stdout == "done\r\n"
    assert double.scripts == [script]
    stats = server.stats()
    assert stats["action:Send"] == 3  # 96 KiB per Send, the last one End=true
    assert (stats["connections"], stats["shells_created"], stats["commands"]) == (1, 1, 1)


def test_non_ascii_vm_names_both_ways(fake_winrm):
    double = ScriptDouble()
    server = fake_winrm(double, users={"hvadmin": "S3cret!"})
    name = "Klassenzimmer-Größe-Ωμέγα-教室-😀"
    host = fake_host(server, user="hvadmin", transport="ntlm")

    result = run(host, f"Write-Output '{name}'\nWrite-Error 'no VM {name}'\nexit 1")

    assert double.scripts == [f"Write-Output '{name}'\nWrite-Error 'no VM {name}'\nexit 1"]
    assert result.stdout == f"{name}\r\n"
    assert result.stderr == f"no VM {name}\n"  # CLIXML from the host, turned back into text
    assert result.exit_code == 1


def test_one_shell_and_one_connection_per_run(fake_winrm):
    double = ScriptDouble()
    server = fake_winrm(double, users={"hvadmin": "S3cret!"})
    transport = WinRMTransport(fake_host(server, user="hvadmin", transport="ntlm"), backoff=FAST)
    try:
        outputs = [transport.run(f"Write-Output '{i}'", idempotent=True).stdout for i in range(3)]
        assert server.open_shells() == 1
    finally:
        transport.close()
        transport.close()  # safe twice

    assert outputs == ["0\r\n", "1\r\n", "2\r\n"]
    stats = server.stats()
    assert (stats["connections"], stats["shells_created"], stats["commands"]) == (1, 1, 3)
    assert stats["auth_challenges"] == 1  # one NTLM handshake for the whole run
    assert server.open_shells() == 0


def test_output_streams_to_the_callback_as_it_arrives(fake_winrm):
    server = fake_winrm(ScriptDouble())
    server.output_chunk = 8
    seen = []
    lines = [f"Write-Output '##progress {i}'" for i in range(5)]
    result = run(
        fake_host(server, allow_unencrypted=True),
        "\n".join(lines),
        on_output=lambda stream, text: seen.append((stream, text)),
    )

    assert len(seen) > 5 and {stream for stream, _ in seen} == {"stdout"}
    assert "".join(text for _, text in seen) == result.stdout
    assert result.stdout.splitlines() == [f"##progress {i}" for i in range(5)]
    assert server.stats()["action:Receive"] == len(seen)


def test_multibyte_characters_split_across_receives(fake_winrm):
    server = fake_winrm(ScriptDouble(), users={"hvadmin": "S3cret!"})
    server.output_chunk = 3  # cuts through the UTF-8 sequences
    host = fake_host(server, user="hvadmin", transport="ntlm")
    assert run(host, "Write-Output 'äöü-日本'").stdout == "äöü-日本\r\n"


def test_failed_script_is_a_result_not_retried(fake_winrm):
    server = fake_winrm(ScriptDouble())
    result = run(fake_host(server, allow_unencrypted=True), "Write-Error 'VM lab-01 not found'\nexit 1")
    assert (result.exit_code, result.stderr) == (1, "VM lab-01 not found\n")
    assert server.stats()["commands"] == 1


def test_retry_policy_from_the_host_bounds_attempts(fake_winrm):
    server = fake_winrm(ScriptDouble())
    server.fail(503, action="Create", times=100)
    host = fake_host(server, allow_unencrypted=True, retry=RetryPolicy(attempts=3, deadline=30))
    with pytest.raises(Exception, match="HTTP 503"):
        run(host, "exit 0")
    assert server.stats()["action:Create"] == 3


def test_missing_password_is_a_configuration_error_not_a_401(fake_winrm):
    server = fake_winrm(ScriptDouble())
    host = fake_host(server, transport="ntlm", password=None)
    host = replace(host, connection=replace(host.connection, password=None))
    with pytest.raises(ConfigurationError) as caught:
        run(host, "exit 0")
    assert "requires a password" in caught.value.message and "ansible_password" in caught.value.fix
    assert server.stats()["requests"] == 0
