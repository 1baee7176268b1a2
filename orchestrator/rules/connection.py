"""Rules for how a host is reached and how hard we try: Ansible's WinRM variables and ours.

Secure by default: HTTPS with certificate validation; unencrypted traffic (Basic or certificate auth over
HTTP, or message_encryption never over HTTP) must be asked for by name with orchestrate_allow_unencrypted.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.model import Finding, HostSpec
from orchestrator.rules.findings import at, finding, not_a_choice

KINDS = ("winrm", "simulator")
TRANSPORTS = ("basic", "ntlm", "kerberos", "credssp", "certificate")
SCHEMES = ("https", "http")
CERT_VALIDATION = ("validate", "ignore")
MESSAGE_ENCRYPTION = ("auto", "always", "never")
ENCRYPTING_TRANSPORTS = ("ntlm", "kerberos", "credssp")

_CHOICES = (
    ("kind", "ansible_connection", KINDS),
    ("transport", "ansible_winrm_transport", TRANSPORTS),
    ("scheme", "ansible_winrm_scheme", SCHEMES),
    ("cert_validation", "ansible_winrm_server_cert_validation", CERT_VALIDATION),
    ("message_encryption", "ansible_winrm_message_encryption", MESSAGE_ENCRYPTION),
)


def check_connection(host: HostSpec) -> Iterator[Finding]:
    conn, loc = host.connection, host.locations
    bad_choice = False
    for attribute, variable, choices in _CHOICES:
        value = getattr(conn, attribute)
        if value not in choices:
            bad_choice = True
            yield not_a_choice(
                f"host {host.name}", variable, value, choices, at(loc, variable, host.location)
            )
    if conn.kind == "simulator":
        return
    if not conn.address:
        yield finding(
            "error",
            f"host {host.name}: ansible_host is empty",
            "give the host's DNS name or address",
            at(loc, "ansible_host", host.location),
        )
    if conn.port is not None and not 1 <= conn.port <= 65535:
        yield finding(
            "error",
            f"host {host.name}: ansible_port {conn.port} is not a TCP port (1-65535)",
            "use 5986 for HTTPS or 5985 for HTTP",
            at(loc, "ansible_port", host.location),
        )
    if not conn.path.startswith("/"):
        yield finding(
            "error",
            f"host {host.name}: ansible_winrm_path must start with /",
            "use /wsman",
            at(loc, "ansible_winrm_path", host.location),
        )
    yield from _check_timeouts(host)
    if bad_choice:
        return
    if conn.transport == "certificate" and not (conn.cert_pem and conn.cert_key_pem):
        yield finding(
            "error",
            f"host {host.name}: certificate transport needs ansible_winrm_cert_pem and "
            "ansible_winrm_cert_key_pem",
            "set both paths, or use another transport",
            at(loc, "ansible_winrm_transport", host.location),
        )
    if conn.transport in ("basic", "ntlm", "credssp") and not conn.user:
        yield finding(
            "error",
            f"host {host.name}: {conn.transport} authentication needs ansible_user",
            "set ansible_user (for a domain account: DOMAIN\\user or user@domain)",
            at(loc, "ansible_winrm_transport", host.location),
        )
    if conn.message_encryption == "always" and conn.transport not in ENCRYPTING_TRANSPORTS:
        yield finding(
            "error",
            f"host {host.name}: message encryption needs ntlm, kerberos or credssp, not {conn.transport}",
            "use HTTPS with message_encryption auto",
            at(loc, "ansible_winrm_message_encryption", host.location),
        )
    unencrypted = conn.scheme == "http" and (
        conn.transport not in ENCRYPTING_TRANSPORTS or conn.message_encryption == "never"
    )
    if unencrypted and not conn.allow_unencrypted:
        yield finding(
            "error",
            f"host {host.name}: {conn.transport} over plain HTTP sends credentials and scripts unencrypted",
            "use ansible_winrm_scheme: https, or set orchestrate_allow_unencrypted: true to accept the risk",
            at(loc, "ansible_winrm_scheme", host.location),
        )
    if conn.kerberos_delegation and conn.transport != "kerberos":
        yield finding(
            "warning",
            f"host {host.name}: ansible_winrm_kerberos_delegation has no effect with {conn.transport}",
            "use ansible_winrm_transport: kerberos, or remove it",
            at(loc, "ansible_winrm_kerberos_delegation", host.location),
        )


def _check_timeouts(host: HostSpec) -> Iterator[Finding]:
    conn, loc = host.connection, host.locations
    if conn.operation_timeout_sec < 1:
        yield finding(
            "error",
            f"host {host.name}: ansible_winrm_operation_timeout_sec must be at least 1",
            "use 20 or more",
            at(loc, "ansible_winrm_operation_timeout_sec", host.location),
        )
    elif conn.read_timeout_sec <= conn.operation_timeout_sec:
        yield finding(
            "error",
            f"host {host.name}: ansible_winrm_read_timeout_sec ({conn.read_timeout_sec}) must "
            f"be larger than ansible_winrm_operation_timeout_sec ({conn.operation_timeout_sec})",
            "make the read timeout at least 10 seconds longer",
            at(loc, "ansible_winrm_read_timeout_sec", host.location),
        )
    if host.retry.attempts < 1:
        yield finding(
            "error",
            f"host {host.name}: orchestrate_retry attempts must be at least 1",
            "attempts: 1 means no retry",
            at(loc, "orchestrate_retry", host.location),
        )
    if host.retry.deadline <= 0:
        yield finding(
            "error",
            f"host {host.name}: orchestrate_retry deadline must be positive (seconds)",
            "deadline: 300",
            at(loc, "orchestrate_retry", host.location),
        )
    if host.operation_timeout <= 0:
        yield finding(
            "error",
            f"host {host.name}: orchestrate_operation_timeout must be positive (seconds)",
            "orchestrate_operation_timeout: 3600",
            at(loc, "orchestrate_operation_timeout", host.location),
        )
