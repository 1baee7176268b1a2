"""Rules for how a host is reached and how hard we try: Ansible's WinRM variables and ours.

Secure by default: HTTPS with certificate validation; unencrypted traffic (Basic or certificate auth over
HTTP, or message_encryption never over HTTP) must be asked for by name with orchestrate_allow_unencrypted.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Iterable, Iterator

from orchestrator.model import Connection, Finding, HostSpec
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


# pywinrm's older transport names, which Ansible inventories still carry (winrm/transport.py build_session:
# "'ssl' was overloaded for HTTPS with optional certificate auth, fall back to basic auth if no cert
# specified"; 'plaintext' is Basic): named here for what they are, never taken as one or the other silently.
_PYWINRM_ALIASES = {
    "ssl": "write basic (Basic over HTTPS), or certificate with ansible_winrm_cert_pem and "
    "ansible_winrm_cert_key_pem: pywinrm's 'ssl' means either, depending on whether a certificate is given",
    "plaintext": "write basic: pywinrm's 'plaintext' is Basic authentication",
}


def check_connection(host: HostSpec) -> Iterator[Finding]:
    conn, loc = host.connection, host.locations
    bad_choice = False
    for attribute, variable, choices in _CHOICES:
        value = getattr(conn, attribute)
        if value not in choices:
            bad_choice = True
            alias = _PYWINRM_ALIASES.get(str(value).lower()) if attribute == "transport" else None
            if alias is not None:
                yield finding(
                    "error",
                    f"host {host.name}: ansible_winrm_transport {value!r} is an old pywinrm name",
                    alias,
                    at(loc, variable, host.location),
                )
                continue
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
    if conn.scheme == "https" and conn.cert_validation == "ignore":
        # The run says so on every connection (transport/winrm.py); validate says it before the first one.
        yield finding(
            "warning",
            f"host {host.name}: the host's TLS certificate is not validated, so anyone between this box and the "
            "host can pose as it and receive the scripts and the logon (with basic, the password itself)",
            "trust the host's certificate authority instead: ansible_winrm_ca_trust_path: /path/to/ca.pem",
            at(loc, "ansible_winrm_server_cert_validation", host.location),
        )
    if conn.kerberos_delegation and conn.transport != "kerberos":
        yield finding(
            "warning",
            f"host {host.name}: ansible_winrm_kerberos_delegation has no effect with {conn.transport}",
            "use ansible_winrm_transport: kerberos, or remove it",
            at(loc, "ansible_winrm_kerberos_delegation", host.location),
        )


DEFAULT_MAX_TIMEOUT_MS = 60000


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
    if conn.operation_timeout_sec * 1000 > DEFAULT_MAX_TIMEOUT_MS and conn.kind == "winrm":
        # Every WS-Man request asks for this OperationTimeout, and a host refuses one above its MaxTimeoutms,
        # whose value a stock host shows as 60000 (MicrosoftDocs/windows-powershell-docs Set-WSManInstance,
        # Example 2 output; audit E, F6): each command would fail there with a generic fault.
        yield finding(
            "warning",
            f"host {host.name}: ansible_winrm_operation_timeout_sec ({conn.operation_timeout_sec}) is above the "
            f"{DEFAULT_MAX_TIMEOUT_MS // 1000} s a WinRM host allows by default (MaxTimeoutms), so the host may "
            "refuse every request",
            "keep it at 60 or less (the default is 20), or raise MaxTimeoutms on the host: "
            "winrm set winrm/config @{MaxTimeoutms=\"120000\"}",
            at(loc, "ansible_winrm_operation_timeout_sec", host.location),
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


def check_endpoints(hosts: Iterable[HostSpec]) -> Iterator[Finding]:
    """Two inventory names for one WinRM endpoint (same ansible_host, port and path) are an error at the second.

    Why: locks, the journal and a host's scheduled tasks are keyed by the inventory name, so `hv01` and
    `hv01-exams` pointing at one Hyper-V host would run unlocked at the same time and each apply would delete
    the other's scheduled tasks. Addresses compare without case and without a trailing dot (DNS names), and
    IP addresses by value (`::1` and `0:0:0:0:0:0:0:1` are one). Two different DNS names that resolve to the
    same machine cannot be told apart without asking DNS (a limit, SECURITY.md); simulated hosts have no
    address and are not compared.
    """
    first: dict[tuple[str, int, str], HostSpec] = {}
    for host in hosts:
        conn = host.connection
        if conn.kind != "winrm" or not conn.address:
            continue
        key = endpoint_key(conn)
        earlier = first.setdefault(key, host)
        if earlier is host:
            continue
        where = at(earlier.locations, "ansible_host", earlier.location)
        yield finding(
            "error",
            f"host {host.name}: {conn.address}:{key[1]} is the same WinRM endpoint as host {earlier.name}"
            + (f" ({where})" if where is not None else ""),
            f"keep one inventory name per Hyper-V host: put {host.name}'s VMs and schedules under "
            f"{earlier.name} (or use groups to share settings), and remove {host.name}",
            at(host.locations, "ansible_host", host.location),
        )


def endpoint_key(conn: Connection) -> tuple[str, int, str]:
    """(normalised address, port, path) of a WinRM host: what makes two inventory names one machine.

    The path counts because one listener may serve several hosts by path (a reverse proxy, or the fake
    WinRM server of the tests); a Windows listener itself answers on one URLPrefix only (/wsman), so two
    names that differ only in the path cannot both reach one real host."""
    address = conn.address.strip().rstrip(".").lower()
    bare = address[1:-1] if address.startswith("[") and address.endswith("]") else address
    with contextlib.suppress(ValueError):  # a DNS name, not an IP address
        address = ipaddress.ip_address(bare).compressed
    return address, conn.effective_port, conn.path.rstrip("/").lower()


def check_extras(hosts: Iterable[HostSpec], missing: Callable[[str], str | None]) -> list[Finding]:
    """One warning per logon this machine cannot make, naming the hosts that use it (at the first's line).
    `missing(transport)` says what to install, or None (orchestrator/logon_extras.py asks the machine; the rule
    itself stays pure)."""
    users: dict[str, list[HostSpec]] = {}
    for host in hosts:
        if host.connection.kind == "winrm":
            users.setdefault(host.connection.transport, []).append(host)
    findings = []
    for transport, using in users.items():
        fix = missing(transport)
        if fix is None:
            continue
        names = ", ".join(h.name for h in using[:3]) + (f" and {len(using) - 3} more" if len(using) > 3 else "")
        first = using[0]
        findings.append(
            finding(
                "warning",
                f"host(s) {names} log on with {transport}, which this machine cannot do yet: its library is "
                "not installed, so every connection to them would fail",
                fix,
                at(first.locations, "ansible_winrm_transport", first.location),
            )
        )
    return findings
