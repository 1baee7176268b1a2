"""The one place errors are sorted: what is transient, what is permanent, and what each tells the admin."""

from __future__ import annotations

import itertools

import pytest
import requests
import winrm.exceptions as wexc
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.model import Connection, HostSpec, RetryPolicy, Secret
from orchestrator.transport import errors
from orchestrator.transport.retry import Backoff, call_with_retry, should_retry
from orchestrator.transport.winrm import ClixmlStream, connection_policy

CONN = Connection(address="hv01.school.lan", user="LAB\\admin", password=Secret("Hunter2!"), transport="ntlm")


def fault(code: int, reason: str = "reason") -> wexc.WSManFaultError:
    return wexc.WSManFaultError(500, "fault", "<xml/>", reason, wsman_fault_code=code)


@pytest.mark.parametrize(
    ("exc", "kind", "transient"),
    [
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), errors.HostUnreachable, True),
        # Dropped after the Create may have been sent: a shell may exist that we cannot name, not retried.
        (requests.exceptions.ConnectionError("RemoteDisconnected('closed')"), errors.ShellOpenUncertain, False),
        (
            requests.exceptions.ConnectionError("NameResolutionError: Name or service not known"),
            errors.HostUnreachable,
            False,
        ),
        (requests.exceptions.ConnectTimeout("timed out"), errors.HostUnreachable, True),
        # A Create answered after the read timeout may have opened a shell we cannot name: not retried.
        (requests.exceptions.ReadTimeout("read timed out"), errors.ShellOpenUncertain, False),
        (requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), errors.TLSFailure, False),
        (wexc.WinRMOperationTimeoutError(), errors.ShellOpenUncertain, False),  # w:TimedOut on Create
        (wexc.WinRMTransportError("http", 503, "busy"), errors.ServiceUnavailable, True),
        (wexc.WinRMTransportError("http", 502, "bad gateway"), errors.ServiceUnavailable, True),
        (wexc.WinRMTransportError("http", 500, "oops"), errors.RemoteFault, False),
        (wexc.WinRMTransportError("http", 404, ""), errors.RemoteFault, False),
        (fault(errors.FAULT_MAX_SHELLS), errors.ShellQuotaExceeded, True),
        (fault(errors.FAULT_MAX_OPERATIONS), errors.ShellQuotaExceeded, True),
        (fault(errors.FAULT_SHELL_NOT_FOUND), errors.ShellLost, True),
        (fault(2150858817, "schema"), errors.RemoteFault, False),
        (wexc.InvalidCredentialsError("rejected"), errors.AuthenticationFailed, False),
        (
            wexc.WinRMError("requested auth method is kerberos, but pykerberos is not installed"),
            errors.ConfigurationError,
            False,
        ),
        (StopIteration(), errors.ProtocolError, False),
        (AssertionError(), errors.ProtocolError, False),
    ],
)
def test_every_failure_is_sorted_with_a_fix(exc, kind, transient):
    error = errors.classify(exc, CONN, stage="open a shell")
    assert type(error) is kind
    assert error.transient is transient
    assert error.message and error.fix


def test_a_create_lost_after_sending_is_uncertain_but_one_never_sent_is_retried():
    """urllib3 raises NewConnectionError while connecting (nothing sent) and ProtocolError after sending
    (requests/adapters.py HTTPAdapter.send): only the second may have left a shell on the host."""
    import urllib3.exceptions as u3

    never_sent = requests.exceptions.ConnectionError(
        u3.MaxRetryError(None, "/wsman", u3.NewConnectionError(None, "[Errno 101] Network is unreachable"))
    )
    assert type(errors.classify(never_sent, CONN, stage="open a shell")) is errors.HostUnreachable
    aborted = requests.exceptions.ConnectionError(
        u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    )
    uncertain = errors.classify(aborted, CONN, stage="open a shell")
    assert type(uncertain) is errors.ShellOpenUncertain and not uncertain.transient
    assert "dropped" in uncertain.message and "Restart-Service WinRM" in uncertain.fix
    # Elsewhere than Create, the same drop and w:TimedOut stay transient (retried where nothing ran yet).
    assert type(errors.classify(aborted, CONN, stage="run the command")) is errors.HostUnreachable
    timed_out = errors.classify(wexc.WinRMOperationTimeoutError(), CONN, stage="run the command")
    assert type(timed_out) is errors.OperationTimedOut and timed_out.transient


def test_fixes_name_the_setting_to_change():
    tls = errors.classify(requests.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER]"), CONN, stage="x")
    assert "winrm quickconfig -transport:https" in tls.fix
    refused = errors.classify(requests.exceptions.ConnectionError("Connection refused"), CONN, stage="x")
    assert "winrm quickconfig" in refused.fix and "firewall" in refused.fix
    kerberos = errors.classify(wexc.WinRMError("kerberos is not installed"), CONN, stage="x")
    assert "pywinrm[kerberos]" in kerberos.fix


def test_a_reply_missing_a_header_says_which_one_and_never_the_password():
    # requests_ntlm reads the challenge as response.headers["www-authenticate"]: a 401 without it is a KeyError.
    missing = errors.classify(KeyError("www-authenticate"), CONN, stage="connect")
    assert type(missing) is errors.ProtocolError
    assert "(KeyError: 'www-authenticate')" in missing.message
    leaky = errors.classify(ValueError("bad token for Hunter2!"), CONN, stage="connect", secrets=("Hunter2!",))
    assert "Hunter2!" not in leaky.message and "ValueError: bad token for" in leaky.message
    bare = errors.classify(StopIteration(), CONN, stage="connect")
    assert bare.message.endswith("(StopIteration)")


@pytest.mark.parametrize(
    ("transport", "scheme", "expected"),
    [
        ("basic", "https", "ansible_winrm_transport: ntlm"),
        ("basic", "http", "AllowUnencrypted"),
        ("ntlm", "http", "LocalAccountTokenFilterPolicy"),
        ("kerberos", "https", "kinit"),
        ("credssp", "https", "Enable-WSManCredSSP"),
        ("certificate", "https", "certmapping"),
    ],
)
def test_authentication_fix_depends_on_the_transport(transport, scheme, expected):
    conn = Connection(address="hv01", transport=transport, scheme=scheme)
    error = errors.classify(wexc.InvalidCredentialsError("rejected"), conn, stage="open a shell")
    assert expected in error.fix


def test_passwords_never_reach_a_message():
    exc = wexc.WinRMTransportError("http", 500, "invalid password Hunter2! for LAB\\admin")
    error = errors.classify(exc, CONN, stage="x", secrets=("Hunter2!",))
    assert "Hunter2!" not in str(error) and "********" in error.message


@given(transient=st.booleans(), started=st.booleans(), idempotent=st.booleans())
def test_retry_only_transient_and_never_a_started_non_idempotent_script(transient, started, idempotent):
    error = errors.TransportError("x", transient=transient, command_started=started)
    assert should_retry(error, idempotent=idempotent) == (transient and (idempotent or not started))


def test_retries_are_bounded_by_attempts_and_back_off_with_jitter():
    waits: list[float] = []
    calls = []

    def attempt():
        calls.append(1)
        raise errors.ServiceUnavailable("busy")

    with pytest.raises(errors.ServiceUnavailable):
        call_with_retry(
            attempt,
            RetryPolicy(attempts=4, deadline=60),
            idempotent=False,
            backoff=Backoff(initial=1, maximum=3),
            sleep=waits.append,
        )
    assert len(calls) == 4 and len(waits) == 3
    assert all(0 <= w <= cap for w, cap in zip(waits, (2, 3, 3), strict=True))


def test_retries_stop_before_the_total_deadline():
    calls = []

    def attempt():
        calls.append(1)
        raise errors.ServiceUnavailable("busy")

    with pytest.raises(errors.ServiceUnavailable):
        call_with_retry(
            attempt, RetryPolicy(attempts=100, deadline=0.0), idempotent=True, sleep=lambda _s: None
        )
    assert len(calls) == 1


def test_permanent_errors_are_raised_at_once():
    calls = []

    def attempt():
        calls.append(1)
        raise errors.AuthenticationFailed("401")

    with pytest.raises(errors.AuthenticationFailed):
        call_with_retry(attempt, RetryPolicy(attempts=5, deadline=60), idempotent=True, sleep=lambda _s: None)
    assert len(calls) == 1


CLIXML = (
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>'
    '<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules</AV></PR></MS></Obj>'
    '<S S="Error">Get-VM : Hyper-V was unable to find a virtual machine with name "lab-Ω".'
    '_x000D__x000A_</S><S S="warning">low memory_x000D__x000A_</S></Objs>'
)
CLIXML_TEXT = (
    'Get-VM : Hyper-V was unable to find a virtual machine with name "lab-Ω".\nWARNING: low memory\n'
)


def feed_all(pieces: list[bytes]) -> str:
    stream = ClixmlStream()
    return "".join(stream.feed(p) for p in pieces) + stream.finish()


@given(st.lists(st.integers(min_value=0, max_value=len(CLIXML.encode())), max_size=8))
def test_clixml_split_anywhere_reads_the_same(cuts):
    data = CLIXML.encode()
    bounds = [0, *sorted(cuts), len(data)]
    assert feed_all([data[a:b] for a, b in itertools.pairwise(bounds)]) == CLIXML_TEXT


def test_progress_only_clixml_is_not_shown_raw():
    only_progress = CLIXML.split('<S S="Error">')[0] + "</Objs>"
    assert feed_all([only_progress.encode()]) == ""


def test_plain_stderr_passes_through():
    assert feed_all([b"The command line is too long.\r\n"]) == "The command line is too long.\r\n"
    assert feed_all([b"#", b"< not clixml"]) == "#< not clixml"


def test_several_clixml_documents_in_one_stream():
    one = '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    data = (one + '<S S="Error">a_x000D__x000A_</S></Objs>' + '<Objs><S S="Error">b</S></Objs>').encode()
    assert feed_all([data]) == "a\nb"
    assert feed_all([data[:60], data[60:]]) == "a\nb"


def host(**conn) -> HostSpec:
    return HostSpec(name="hv01", connection=Connection(address="hv01", **conn))


@pytest.mark.parametrize(
    ("conn", "refused", "warned"),
    [
        ({"transport": "basic", "scheme": "https"}, None, False),
        ({"transport": "basic", "scheme": "http"}, errors.InsecureTransportRefused, False),
        ({"transport": "basic", "scheme": "http", "allow_unencrypted": True}, None, True),
        ({"transport": "certificate", "scheme": "http"}, errors.InsecureTransportRefused, False),
        ({"transport": "ntlm", "scheme": "http"}, None, False),
        (
            {"transport": "ntlm", "scheme": "http", "message_encryption": "never"},
            errors.InsecureTransportRefused,
            False,
        ),
        (
            {"transport": "basic", "scheme": "https", "message_encryption": "always"},
            errors.ConfigurationError,
            False,
        ),
        (
            {"transport": "ntlm", "operation_timeout_sec": 30, "read_timeout_sec": 30},
            errors.ConfigurationError,
            False,
        ),
        ({"transport": "certificate"}, errors.ConfigurationError, False),
        ({"transport": "ntlm", "cert_validation": "ignore"}, None, True),
    ],
)
def test_connection_policy(conn, refused, warned):
    refusal, warnings = connection_policy(host(**conn))
    assert (type(refusal) if refusal else None) is refused
    assert bool(warnings) is warned


@pytest.mark.parametrize(
    ("text", "says", "fix_has", "no_ignore"),
    [
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid "
         "for '127.0.0.1'. (_ssl.c:1006)", "is not issued for the address", "ansible_host", True),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid "
         "for 'hv01'. (_ssl.c:1006)", "is not issued for the name", "ansible_host", True),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
         "is out of its validity period (certificate has expired)", "renew the host's certificate", True),
        ("[SSL: UNSUPPORTED_PROTOCOL] unsupported protocol (_ssl.c:1006)", "share no TLS version or cipher",
         "TLS 1.2", True),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)",
         "is not trusted (self-signed certificate)", "ansible_winrm_ca_trust_path", False),
    ],
)
def test_a_tls_failure_names_its_reason_and_suggests_ignoring_validation_only_for_an_untrusted_issuer(
    text: str, says: str, fix_has: str, no_ignore: bool
) -> None:
    """An admin whose host certificate names another address, or has expired, must not be told to turn
    validation off: only a certificate whose issuer this machine does not know may be ignored on a lab host."""
    failure = errors.tls_failure(text, CONN)
    assert says in failure.message
    assert fix_has in failure.fix
    assert ("server_cert_validation: ignore" not in failure.fix) is no_ignore


def test_a_busy_host_during_the_sends_before_the_last_is_retried_and_after_it_is_not():
    # Ansible's plugin waits and tries again on fault 170 (ERROR_BUSY) during a Send; before the last chunk
    # nothing runs, so a new attempt is safe. After it the script may be running: not a blind retry.
    before = errors.classify(fault(errors.ERROR_BUSY), CONN, stage=errors.SEND, command_started=False)
    after = errors.classify(fault(errors.ERROR_BUSY), CONN, stage=errors.SEND, command_started=True)
    assert type(before) is errors.ServiceUnavailable and before.transient and "nothing ran yet" in before.message
    assert type(after) is errors.RemoteFault and not after.transient


def test_an_operation_timeout_once_the_script_went_says_it_may_still_run():
    timed_out = errors.classify(wexc.WinRMOperationTimeoutError(), CONN, stage=errors.SEND, command_started=True)
    assert "The script may still be running on the host." in timed_out.message


def test_the_shell_quota_fix_does_not_suggest_the_default_value():
    """30 is already MaxShellsPerUser's default on 2012 / 2012 R2 ("The default is 30", winrm/quotas):
    setting it changes nothing. The fix points at leaked shells and a higher value instead (audit O L5)."""
    import winrm.exceptions as wexc

    from orchestrator.transport.errors import FAULT_MAX_SHELLS, classify

    fault = wexc.WSManFaultError(500, "quota", "<x/>", "shell quota", wsman_fault_code=FAULT_MAX_SHELLS)
    error = classify(fault, _conn_for_quota_test(), stage="open a shell")
    assert 'MaxShellsPerUser="30"' not in error.fix
    assert "Restart-Service WinRM" in error.fix and "MaxShellsPerUser" in error.fix


def _conn_for_quota_test():
    from orchestrator.model import Connection

    return Connection(kind="winrm", address="hv01", port=5985, scheme="http", transport="ntlm")


@pytest.mark.parametrize("code", [0x803381AB, 0x803381A7, 0x803381A8, 0x803381E4, 0x803381EA])
def test_other_wsman_quota_faults_are_retried_only_before_the_script_started(code):
    """PowerShell's own client sleeps and retries on these (CimChildJobBase.IsWsManQuotaReached)."""
    import winrm.exceptions as wexc

    from orchestrator.transport.errors import ShellQuotaExceeded, classify

    fault = wexc.WSManFaultError(500, "quota", "<x/>", "Retry later.", wsman_fault_code=code)
    before = classify(fault, _conn_for_quota_test(), stage="open a shell")
    after = classify(fault, _conn_for_quota_test(), stage="read the output", command_started=True)
    assert isinstance(before, ShellQuotaExceeded) and before.transient
    assert not after.transient
