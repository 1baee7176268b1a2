"""Transport errors, and the one place where pywinrm's and requests' exceptions are sorted.

pywinrm raises a mix of its own exceptions, requests' exceptions (never wrapped) and, on malformed replies,
StopIteration/AttributeError/AssertionError. `classify` turns any of them into a `TransportError` that says
whether it is transient (worth retrying with backoff) and what the admin should do about it. Messages never
contain a password: the caller passes its secrets and `classify` removes them from any text it quotes.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, ClassVar

from orchestrator.masking import mask
from orchestrator.model import Connection

if TYPE_CHECKING:
    import winrm.exceptions as wexc

# WS-Management fault codes that decide what to do (MS-WSMV; the codes WinRb/winrm4j/Ansible act on).
FAULT_TIMED_OUT = 2150858793
FAULT_SHELL_NOT_FOUND = 2150858843
FAULT_MAX_SHELLS = 2150859173
FAULT_MAX_OPERATIONS = 2150859174
FAULT_REGISTRY_READ = 2147943418
# The other quota faults PowerShell's own client sleeps and retries on ("error codes that should result in
# sleep-and-retry", PowerShell/PowerShell CimChildJobBase.IsWsManQuotaReached, codes from wsmerror.h):
# QUOTA_USER 0x803381A7, QUOTA_SYSTEM 0x803381A8, QUOTA_MAX_SHELLUSERS 0x803381AB, and the *_PPQ codes
# 0x803381E4-0x803381EA. MS-WSMV 3.1.4.5.2.1 (wsman:QuotaLimit) ends MaxConcurrentUsers' text "Retry later".
FAULTS_QUOTA_RETRY = frozenset({0x803381A7, 0x803381A8, 0x803381AB, *range(0x803381E4, 0x803381EA + 1)})
ERROR_BUSY = 170  # "The requested resource is in use" (ms-erref 2.2 Win32 error codes), a fault on Send
# The stage name under which the transport opens a shell (WS-Man Create): its lost replies are special.
SHELL_OPEN = "open a shell"
SEND = "send the script"  # the stage of the Sends of stdin (winrm.py)


class TransportError(Exception):
    """A failure to run a script on a host: `message` says what happened, `fix` what to do about it.

    `transient` failures may succeed when tried again (after backoff); `command_started` says the script may
    have begun running on the host, so repeating it is only safe for idempotent scripts.
    """

    transient_default: ClassVar[bool] = False

    def __init__(
        self, message: str, fix: str = "", *, transient: bool | None = None, command_started: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.transient = self.transient_default if transient is None else transient
        self.command_started = command_started

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message


class AuthenticationFailed(TransportError):
    """The host rejected the credentials (HTTP 401). Never retried: it would only lock the account out."""


class TLSFailure(TransportError):
    """The TLS handshake failed: untrusted or mismatched certificate, or HTTPS spoken to an HTTP listener."""


class HostUnreachable(TransportError):
    """No connection: refused, reset, timed out (the host may be rebooting). Transient unless unresolvable."""

    transient_default = True


class ServiceUnavailable(TransportError):
    """HTTP 502/503: the WinRM service or a proxy is overloaded or restarting."""

    transient_default = True


class OperationTimedOut(TransportError):
    """No answer in time (read timeout, or the WS-Man w:TimedOut fault outside a Receive)."""

    transient_default = True


class ShellQuotaExceeded(TransportError):
    """MaxShellsPerUser or MaxConcurrentOperationsPerUser reached; frees up when other shells close."""

    transient_default = True


class ShellLost(TransportError):
    """The host no longer knows our shell (WinRM restarted, host rebooted): open a new one."""

    transient_default = True


class CommandTimeout(TransportError):
    """The script ran longer than its deadline; it was signalled to stop."""


class CommandInterrupted(TransportError):
    """The run was interrupted (Ctrl-C or SIGTERM): the script was stopped on the host, or never started.
    Never retried: the admin asked the run to stop."""


class InsecureTransportRefused(TransportError):
    """The connection settings would send credentials or scripts in clear text and nobody allowed that."""


class ConfigurationError(TransportError):
    """The connection settings cannot work as written (timeouts, encryption, missing client libraries)."""


class ScriptNotReceived(TransportError):
    """powershell.exe on the host read a different stdin from the one sent (its length or its SHA-256 differs:
    orchestrator.transport.stdin), so the bootstrap ran nothing. Not retried: the same host reads the same way.
    """

    @classmethod
    def on(cls, host: str) -> ScriptNotReceived:
        return cls(
            f"{host}: PowerShell on the host read a different script from the one sent (its length or its SHA-256 "
            "differs), so nothing of it was run",
            "check the host's code page and PowerShell version, and report this with the output of "
            "`$PSVersionTable; [Console]::InputEncoding` from a WinRM session to the host (docs/real-hosts.md)",
        )


class ProtocolError(TransportError):
    """The host answered something that is not valid WS-Management."""


class RemoteFault(TransportError):
    """Any other WS-Management fault or HTTP error from the host."""


class ShellOpenUncertain(TransportError):
    """The request to open a shell got no answer (a read timeout, a connection dropped after the request may
    have been sent, or the w:TimedOut fault): the host may have opened one whose id we never learnt, so we
    cannot delete it. Not retried, so that retries cannot pile up shells (see `_sort`).

    Such a shell lives until the host's idle timeout: "If the maximum duration is exceeded, the shell is
    automatically deleted" (WSMAN_SHELL_STARTUP_INFO_V10.idleTimeoutMs, learn.microsoft.com/windows/win32/
    api/wsman/ns-wsman-wsman_shell_startup_info_v10)."""


class OutputLost(TransportError):
    """The script ran to its end on the host, but a Receive reply was lost on the way (a read timeout or a
    dropped connection) and may have carried part of its output: the run's outcome is unknown. Never retried:
    running the script again would repeat what it changed; the next run re-reads the host instead.

    The reply cannot be asked for again: pywinrm's Receive carries no SequenceId (winrm/protocol.py
    get_command_output_raw), and what the service would answer to one asked again is not documented for
    a cmd shell, so completeness cannot be proven from the stream (docs/real-hosts.md, WinRM (transport))."""


class ResumeFailed(TransportError):
    """A Receive reply was lost after the script started, and reading the same command again on new
    connections failed as well: the script may still be running on the host. Never retried: running it
    again could run it twice at once. Its shell is deleted only after a Signal reached the command."""


class ReplyTooLarge(TransportError):
    """A reply (or a command's output) is larger than any reply of a working host: refused, not buffered."""


def secret_forms(user: str | None, password: str) -> tuple[str, ...]:
    """The password and the encodings that carry it on the wire: base64 of its UTF-8 and UTF-16LE bytes, and
    the Basic header's base64 of `user:password` (latin-1, as requests sends it, and UTF-8). A reply that
    quotes the request (an error page of a proxy) must not bring any of them into a message."""
    if not password:
        return ()
    forms = [password]
    for raw in (password.encode("utf-8"), password.encode("utf-16-le")):
        forms.append(base64.b64encode(raw).decode("ascii"))
    for codec in ("latin-1", "utf-8"):
        try:
            forms.append(base64.b64encode(f"{user or ''}:{password}".encode(codec)).decode("ascii"))
        except UnicodeEncodeError:
            continue
    return tuple(dict.fromkeys(forms))


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret replaced by the mask, so no password reaches a message or a log."""
    return mask(text, secrets)  # whole values, never inside other words (orchestrator/masking.py)


def _chain(exc: BaseException) -> str:
    """The text of an exception and its causes (requests nests urllib3's reason several levels deep)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " | ".join(parts)


def auth_fix(conn: Connection) -> str:
    """What to check when the host answers 401, by transport."""
    if conn.transport == "basic":
        fix = (
            "check ansible_user and ansible_password. Basic works only for local accounts and must be enabled "
            "on the host (winrm set winrm/config/service/auth '@{Basic=\"true\"}'); for a domain account use "
            "ansible_winrm_transport: ntlm (or kerberos)"
        )
        if conn.scheme == "http":
            fix += (
                ". Over HTTP the host also needs AllowUnencrypted=true "
                "(winrm set winrm/config/service '@{AllowUnencrypted=\"true\"}'); HTTPS is better"
            )
        return fix
    if conn.transport == "ntlm":
        return (
            "check ansible_user (DOMAIN\\user, user@domain, or a local user) and ansible_password. For a local "
            "administrator other than the built-in one, set LocalAccountTokenFilterPolicy=1 on the host"
        )
    if conn.transport == "kerberos":
        return (
            "run kinit for ansible_user and check that the host's SPN (HTTP/<fqdn>) exists; use the host's "
            "FQDN, not its IP address, as ansible_host"
        )
    if conn.transport == "credssp":
        return (
            "enable CredSSP on the host (Enable-WSManCredSSP -Role Server) and check ansible_user and "
            "ansible_password"
        )
    return (
        "map the client certificate to a local account on the host (winrm create "
        "winrm/config/service/certmapping ...) and enable Auth/Certificate; check ansible_winrm_cert_pem and "
        "ansible_winrm_cert_key_pem"
    )


def _verify_reason(text: str) -> str:
    """OpenSSL's own words after "certificate verify failed: " (e.g. "self-signed certificate"), as
    " (...)" for a message, or "" when the text has none."""
    marker = "certificate verify failed: "
    start = text.lower().find(marker)
    if start < 0:
        return ""
    words = text[start + len(marker):].split("(_ssl")[0].strip().rstrip(".)").strip()
    return f" ({words[:160]})" if words else ""


def tls_failure(text: str, conn: Connection) -> TLSFailure:
    """A TLS handshake failure (its error text) -> what is wrong with the certificate or listener."""
    where = f"{conn.address}:{conn.effective_port}"
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return TLSFailure(
            f"{where} does not speak HTTPS (probably the HTTP listener)",
            "use ansible_winrm_scheme: http with port 5985, or create the HTTPS listener on the host: "
            "winrm quickconfig -transport:https (it needs a certificate for the host name) and open port 5986",
        )
    lowered = text.lower()
    reason = _verify_reason(text)
    if ("hostname" in lowered or "ip address" in lowered) and "match" in lowered:
        what = "address" if "ip address" in lowered else "name"
        return TLSFailure(
            f"the certificate of {where} is not issued for the {what} '{conn.address}'{reason}",
            "set ansible_host to a name the certificate lists (or reissue the certificate for this "
            f"{what}); a certificate that is trusted but names another host is never to be ignored",
        )
    # OpenSSL's verify reasons (X509_V_ERR_CERT_HAS_EXPIRED / _NOT_YET_VALID): renewing is the fix, and not
    # validating would hide a certificate that may no longer be the host's.
    if "has expired" in lowered or "not yet valid" in lowered:
        return TLSFailure(
            f"the certificate of {where} is out of its validity period{reason}",
            "renew the host's certificate and bind it to the HTTPS listener (winrm set "
            "winrm/config/Listener?Address=*+Transport=HTTPS @{CertificateThumbprint=\"...\"}), and check "
            "both clocks",
        )
    if any(mark in lowered for mark in ("unsupported_protocol", "unsupported protocol", "protocol_version",
                                        "no protocols available", "handshake_failure", "handshake failure",
                                        "no shared cipher", "no_shared_cipher")):
        return TLSFailure(
            f"{where} and this machine share no TLS version or cipher{reason or ' (' + text[:200] + ')'}",
            "enable TLS 1.2 and its cipher suites on the host (SChannel), or run orchestrate with a Python "
            "whose OpenSSL still allows what the host offers; turning certificate validation off does not help",
        )
    return TLSFailure(
        f"the certificate of {where} is not trusted{reason}",
        "set ansible_winrm_ca_trust_path to the PEM file of the CA that issued the host's certificate "
        "(for a self-signed certificate, that certificate itself); only on a lab host: "
        "ansible_winrm_server_cert_validation: ignore",
    )


def classify(
    exc: BaseException,
    conn: Connection,
    *,
    stage: str,
    command_started: bool = False,
    secrets: tuple[str, ...] = (),
) -> TransportError:
    """Any exception from pywinrm/requests during `stage` -> a TransportError that says whether to retry."""
    if isinstance(exc, TransportError):
        return exc
    error = _sort(exc, conn, stage, command_started)
    error.command_started = command_started
    error.message = scrub(error.message, secrets)
    error.fix = scrub(error.fix, secrets)
    error.args = (error.message,)
    return error


def _sort(exc: BaseException, conn: Connection, stage: str, started: bool) -> TransportError:
    # Imported here, not with the module: every command imports these error classes (the runner does),
    # but only a run that reached a WinRM host has an exception of theirs to sort, and by then they are
    # loaded. `validate`, `render` and a simulated run no longer load requests, pywinrm and pyspnego
    # (about 0.2 CPU s at every start, README Performance).
    import requests
    import winrm.exceptions as wexc

    where = f"{conn.address}:{conn.effective_port}"
    text = _chain(exc)
    during = f" while trying to {stage}"
    maybe_running = " The script may still be running on the host." if started else ""

    if isinstance(exc, wexc.InvalidCredentialsError):
        return AuthenticationFailed(f"{where} rejected the credentials{during} (HTTP 401)", auth_fix(conn))
    if isinstance(exc, requests.exceptions.SSLError):
        return tls_failure(text, conn)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return HostUnreachable(
            f"no answer from {where}{during} (connection timed out)",
            "check that the host is up and that the firewall allows the WinRM port",
        )
    if isinstance(exc, requests.exceptions.ReadTimeout) and stage == SHELL_OPEN:
        # WS-Man Create is not idempotent (WS-Transfer Create as DSP0226 uses it: each Create makes a new
        # resource, named only in its CreateResponse), and pywinrm's open_shell sends no id of ours (winrm/protocol.py open_shell), so a
        # Create answered after our read timeout leaves a shell we cannot name. Retrying would leave one
        # more per attempt, each counting against MaxShellsPerUser until the host's idle timeout removes it.
        return _shell_open_uncertain(
            f"{where} did not answer the request to open a shell within {conn.read_timeout_sec} s",
            "check the host's load and WinRM service, raise ansible_winrm_read_timeout_sec for slow hosts",
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return OperationTimedOut(
            f"{where} did not answer within {conn.read_timeout_sec} s{during}.{maybe_running}",
            "raise ansible_winrm_read_timeout_sec (and ansible_winrm_operation_timeout_sec) for slow hosts",
        )
    if isinstance(exc, requests.exceptions.TooManyRedirects) and exc.response is not None:
        return _redirect(where, during, exc.response.status_code, exc.response.headers.get("Location", ""))
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = text.lower()
        if "name or service not known" in lowered or "nameresolution" in lowered or "getaddrinfo" in lowered:
            return HostUnreachable(
                f"cannot resolve the host name '{conn.address}'",
                "check ansible_host (or the inventory name) and DNS",
                transient=False,
            )
        if "refused" in lowered:
            return HostUnreachable(
                f"{where} refused the connection{during}",
                "start WinRM on the host and create a listener: winrm quickconfig (HTTP, 5985) or "
                "winrm quickconfig -transport:https (HTTPS, 5986); allow the port in the firewall. "
                "A host that is rebooting also refuses for a while",
            )
        if stage == SHELL_OPEN and not _before_sending(exc):
            # Dropped after the Create may have been sent ("Connection aborted", RemoteDisconnected, a reset):
            # the host may have made the shell and lost only its reply, as after a read timeout above. The
            # client cannot tell a drop before the host read the request from one after it made the shell, so
            # both fail safe. Only a connection that never opened (urllib3's NewConnectionError, refused,
            # unresolvable, a connect timeout: requests/adapters.py send) proves nothing was sent.
            return _shell_open_uncertain(
                f"the connection to {where} was dropped before the host answered the request to open a shell",
                "check the network and the host (it may be rebooting or WinRM restarting)",
            )
        return HostUnreachable(
            f"the connection to {where} was dropped{during}.{maybe_running}",
            "check the network and the host (it may be rebooting or WinRM restarting)",
        )
    if isinstance(exc, wexc.WinRMOperationTimeoutError) and stage == SHELL_OPEN:
        # w:TimedOut says the service gave up waiting within the OperationTimeout, not that the Create was
        # undone: whether a shell can still be made after it is documented nowhere (reasoned, unverified on a
        # real host), so it fails safe like the read timeout above.
        return _shell_open_uncertain(
            f"{where} answered the request to open a shell with a WS-Management operation timeout (w:TimedOut)",
            "check the host's load and WinRM service, raise ansible_winrm_operation_timeout_sec for slow hosts",
        )
    if isinstance(exc, wexc.WinRMOperationTimeoutError):
        return OperationTimedOut(
            f"{where} reported a WS-Management operation timeout{during}.{maybe_running}",
            "raise ansible_winrm_operation_timeout_sec if the host is slow to respond",
        )
    if isinstance(exc, wexc.WSManFaultError) and exc.wsman_fault_code == ERROR_BUSY and stage == SEND and not started:
        # "Error 170 == ERROR_BUSY. This could be the result of a timed out Send from above still being
        # processed on the server" (Ansible's winrm connection plugin, _winrm_write_stdin, which waits and
        # tries again). Before the last chunk nothing runs yet: a new attempt on a new shell is safe.
        return ServiceUnavailable(
            f"{where} was busy (WS-Management fault 170, ERROR_BUSY){during}; nothing ran yet",
            "retried automatically; a host that stays busy needs a look at its load and WinRM service",
        )
    if isinstance(exc, wexc.WSManFaultError):
        return _fault(exc, conn, where, during, started)
    if isinstance(exc, wexc.WinRMTransportError):
        if exc.code in (502, 503):
            return ServiceUnavailable(
                f"{where} answered HTTP {exc.code}{during} (service unavailable)",
                "the WinRM service is busy or restarting; it is retried automatically",
            )
        if isinstance(exc.code, int) and 300 <= exc.code < 400:
            return _redirect(where, during, exc.code, exc.response_text or "")
        if exc.code == 404:
            return RemoteFault(
                f"{where} has no WinRM endpoint at '{conn.path}' (HTTP 404)",
                "check ansible_winrm_path (normally /wsman) and the port",
            )
        body = " ".join((exc.response_text or "").split())[:200]
        return RemoteFault(
            f"{where} answered HTTP {exc.code}{during}: {body}".rstrip(": "),
            "look at the WinRM event log on the host (Microsoft-Windows-WinRM/Operational)",
        )
    if isinstance(exc, wexc.WinRMError):
        message = str(exc)
        fix = "check the connection variables of this host"
        if "kerberos" in message:
            fix = "install the Kerberos extra: pip install 'pywinrm[kerberos]' (and a kinit ticket)"
        elif "credssp" in message:
            fix = "install the CredSSP extra: pip install 'pywinrm[credssp]'"
        elif "encryption" in message:
            fix = "message encryption needs ansible_winrm_transport ntlm, kerberos or credssp; use HTTPS otherwise"
        return ConfigurationError(f"cannot connect to {where}: {message}", fix)
    if isinstance(exc, UnicodeEncodeError):
        # requests encodes Basic credentials as Latin-1 (requests/auth.py _basic_auth_str); connection_policy
        # refuses such credentials before sending, so this is the last line of defence, never "not WS-Man".
        return ConfigurationError(
            f"cannot send the request to {where}{during}: a value holds characters its encoding cannot carry "
            f"({exc.encoding})",
            "for a password outside Latin-1 use ansible_winrm_transport: ntlm (or kerberos)",
        )
    if isinstance(
        exc, StopIteration | AttributeError | AssertionError | ET.ParseError | KeyError | ValueError
    ):
        detail = " ".join(str(exc).split())[:200]  # which header or element was missing says what the host sent
        return ProtocolError(
            f"{where} sent a reply that is not valid WS-Management{during} "
            f"({type(exc).__name__}{': ' + detail if detail else ''})",
            "check that the endpoint is a WinRM listener (ansible_winrm_path, port) and no proxy rewrites it",
        )
    return RemoteFault(f"unexpected error talking to {where}{during}: {type(exc).__name__}: {exc}")


def _before_sending(exc: BaseException) -> bool:
    """Whether a requests ConnectionError proves the request never left: the connection itself could not be
    made. urllib3 raises NewConnectionError (refused, unreachable, and its subclass NameResolutionError) and
    ConnectTimeoutError while connecting, before anything is sent, and requests passes them on inside a
    MaxRetryError; an error after sending is a ProtocolError ("Connection aborted.") or an OSError instead
    (requests/adapters.py HTTPAdapter.send, urllib3/connectionpool.py urlopen)."""
    import urllib3.exceptions as u3

    for arg in exc.args[:1]:
        reason = getattr(arg, "reason", arg)
        if isinstance(reason, u3.ConnectTimeoutError):  # NewConnectionError and NameResolutionError too
            return True
    return False


def _shell_open_uncertain(what: str, check: str) -> ShellOpenUncertain:
    """A Create that may have made a shell whose id never reached us: not retried, and the admin is told."""
    return ShellOpenUncertain(
        f"{what}; the host may have opened one anyway, which WinRM deletes after its idle timeout (winrs "
        "IdleTimeout). Not retried, so that retries cannot leave more shells behind",
        f"{check}, and run again; until its idle timeout the host may hold that one shell of this user "
        "(on a host at its shell quota: Restart-Service WinRM frees every shell)",
    )


def _redirect(where: str, during: str, code: int, location: str) -> TransportError:
    """A 3xx with a Location: refused, never followed (transport/exchange.py; the full path's sessions have
    `max_redirects = 0`, transport/winrm.py). Sending a command on could run it at another address too."""
    target = " ".join(str(location).split())[:200] or "another address"
    return RemoteFault(
        f"{where} answered HTTP {code}{during}: a redirect to {target}, which is not followed (a command sent "
        "on could run a second time, elsewhere); nothing was sent there",
        "point ansible_host, ansible_port and ansible_winrm_path at the WinRM listener itself; a proxy or load "
        "balancer in front of it may be answering in its place",
    )


def _fault(
    exc: wexc.WSManFaultError, conn: Connection, where: str, during: str, started: bool = False
) -> TransportError:
    code = exc.wsman_fault_code
    reason = " ".join(str(exc.reason or "").split())
    if code in FAULTS_QUOTA_RETRY:
        # Retried only where nothing ran yet: after the script started, a new attempt would run it again.
        return ShellQuotaExceeded(
            f"{where} refused the request: a WS-Management quota is reached{during} ({reason}, code {code})",
            "retried automatically; if it persists, look at the host's WinRM quotas (winrm get "
            "winrm/config) and at other tools or users holding shells on it",
            transient=not started,
        )
    if code == FAULT_MAX_SHELLS:
        return ShellQuotaExceeded(
            f"{where} refused a new shell: the user's shell quota is reached{during}",
            # 30 is already the default on 2012 / 2012 R2 ("The default is 30", learn.microsoft.com/windows/
            # win32/winrm/quotas): leaked shells are the usual cause, so they come first.
            "shells left open (by other tools, or by runs whose Create was answered too late) count until "
            "WinRM's idle timeout: Restart-Service WinRM on the host frees them all; or raise MaxShellsPerUser "
            "above its default of 30 (winrm set winrm/config/winrs '@{MaxShellsPerUser=\"60\"}')",
        )
    if code == FAULT_MAX_OPERATIONS:
        return ShellQuotaExceeded(
            f"{where} refused the operation: MaxConcurrentOperationsPerUser reached{during}",
            "raise MaxConcurrentOperationsPerUser on the host; a new shell is opened automatically",
        )
    if code == FAULT_SHELL_NOT_FOUND:
        return ShellLost(
            f"{where} no longer has our shell{during} (WinRM restarted or the host rebooted)",
            "nothing to do: a new shell is opened when retried",
        )
    if code == FAULT_REGISTRY_READ:
        return ShellLost(f"{where} could not read its WinRM configuration{during}: {reason}", "retried")
    return RemoteFault(
        f"{where} answered a WS-Management fault{during}: {reason} (code {code})",
        "look at the WinRM event log on the host (Microsoft-Windows-WinRM/Operational)",
    )
