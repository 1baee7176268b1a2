"""`ping`: can we manage this host? The first thing a new user runs, like `ansible -m win_ping`.

Checks, in order, each ok / failed / skipped with a detail and, when failed, the fix:
settings (nothing insecure or impossible), reachable (TCP), tls (the handshake with the configured trust),
authenticated, shell (PowerShell runs), admin (Hyper-V management rights), hyperv (the Hyper-V module),
os (caption, version and SKU). A failure makes the later checks `skipped`. Then, only for a host with shares
configured, one `share` check per share: can this session reach it (the double hop)? The result is pure data:
the CLI prints it. `ping_hosts` checks the selected hosts in parallel.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator.model import HostSpec, Inventory
from orchestrator.transport.base import Transport
from orchestrator.transport.errors import (
    AuthenticationFailed,
    ConfigurationError,
    HostUnreachable,
    InsecureTransportRefused,
    OperationTimedOut,
    ServiceUnavailable,
    TLSFailure,
    TransportError,
    tls_failure,
)

Status = Literal["ok", "failed", "skipped"]
CHECKS = ("settings", "reachable", "tls", "authenticated", "shell", "admin", "hyperv", "os")
TITLES = {
    "settings": "connection settings",
    "reachable": "reachable",
    "tls": "TLS",
    "authenticated": "authenticated",
    "shell": "PowerShell runs",
    "admin": "administrator rights",
    "hyperv": "Hyper-V module",
    "os": "host OS",
    "share": "share reachable",
}
# The fixes for a share a remoting session cannot reach; transfer's CheckShare names the same three.
DOUBLE_HOP_FIX = (
    "double hop: this WinRM session cannot pass your identity on to the file server. Connect with CredSSP "
    "(ansible_winrm_transport: credssp), give the Hyper-V host Kerberos constrained delegation to the file "
    "server (cifs/<file server> in the host's computer account, any authentication protocol), or use a share "
    "on the Hyper-V host itself by its local path"
)
PING_TIMEOUT = 120.0
# Windows Server 2012 ships Windows PowerShell 3.0, whose WinRM needs KB2842230, "Out of memory error on a
# computer that has a customized MaxMemoryPerShellMB quota set and has WMF 3.0 installed": Ansible's Windows
# setup guide ("WinRM Memory Hotfix": "When running on PowerShell v3.0, there is a bug with the WinRM service
# that limits the amount of memory available to WinRM. Without this hotfix installed, Ansible will fail to
# execute certain commands"), and jborean93/ansible-windows scripts/Install-WMF3Hotfix.ps1, which installs it
# for 6.2 only when PowerShell is 3.0 (2012 R2's 4.0 does not need it). An export or import runs Hyper-V
# cmdlets in a job's own powershell.exe, which counts against the shell's quota too. A warning, not a failure:
# small runs work without it. That Get-HotFix lists it (an .msu is a CBS package, which Win32_QuickFixEngineering
# lists: Get-HotFix.md's notes) is unverified (docs/real-hosts.md).
WINRM_MEMORY_HOTFIX = (
    "Windows PowerShell 3.0 without KB2842230: WinRM may run out of memory in larger runs (exports, imports, "
    "big facts). Install it: jborean93/ansible-windows scripts/Install-WMF3Hotfix.ps1, or KB2842230 for "
    "Windows Server 2012 (x64) from Microsoft's catalog, then restart the host"
)

# Read-only. Uses only constructs from docs/templates.md, so the simulator runs it too. Get-VMHost needs the
# rights every Hyper-V cmdlet needs (local Administrators or Hyper-V Administrators), so it is the test.
PING_SCRIPT = """\
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $module = @(Get-Module -ListAvailable | Where-Object { $_.Name -eq 'Hyper-V' }).Count -gt 0
    $rights = $null
    $rightsError = $null
    if ($module) {
        try {
            Get-VMHost | Out-Null
            $rights = $true
        } catch {
            $rights = $false
            $rightsError = $_.Exception.Message
        }
    }
    # Windows PowerShell 3.0 (2012) needs KB2842230 for WinRM's memory quota (WINRM_MEMORY_HOTFIX below).
    $memoryHotfix = $null
    if ($PSVersionTable.PSVersion.Major -eq 3) {
        $memoryHotfix = @(Get-HotFix -Id 'KB2842230' -ErrorAction SilentlyContinue).Count -gt 0
    }
    $result = [ordered]@{
        ok = $true
        computer_name = [string]$os.CSName
        caption = [string]$os.Caption
        os_version = [string]$os.Version
        os_sku = [int]$os.OperatingSystemSKU
        hyperv_module = $module
        hyperv_rights = $rights
        rights_error = $rightsError
        winrm_memory_hotfix = $memoryHotfix
    }
    Write-Output ($result | ConvertTo-Json -Depth 8 -Compress)
} catch {
    Write-Output ([ordered]@{ ok = $false; error = $_.Exception.Message } | ConvertTo-Json -Depth 8 -Compress)
    exit 1
}
"""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str = ""
    fix: str = ""

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name)


@dataclass(frozen=True, slots=True)
class PingReport:
    host: str
    checks: tuple[Check, ...]
    warnings: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.status != "failed" for check in self.checks)

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "ok": self.ok,
            "checks": [asdict(check) for check in self.checks],
            "warnings": list(self.warnings),
            "facts": self.facts,
        }


TransportFactory = Callable[[HostSpec], Transport]


class _Checks:
    """Collects results in CHECKS order; once one fails, the ones not yet decided are skipped."""

    def __init__(self) -> None:
        self.results: dict[str, Check] = {}

    def ok(self, name: str, detail: str = "") -> None:
        self.results[name] = Check(name, "ok", detail)

    def skip(self, name: str, detail: str) -> None:
        self.results[name] = Check(name, "skipped", detail)

    def fail(self, name: str, detail: str, fix: str = "") -> None:
        self.results[name] = Check(name, "failed", detail, fix)

    def done(self) -> tuple[Check, ...]:
        failed = next((c.name for c in self.results.values() if c.status == "failed"), None)
        reason = f"not checked: {TITLES[failed]} failed" if failed else "not checked"
        return tuple(self.results.get(name) or Check(name, "skipped", reason) for name in CHECKS)


def ping_host(host: HostSpec, transport_factory: TransportFactory) -> PingReport:
    """Run every check against `host`. Never raises for a host problem: failures are in the report."""
    checks = _Checks()
    conn = host.connection
    warnings: list[str] = []
    if conn.kind == "simulator":
        checks.ok("settings", "simulated host (ansible_connection: simulator)")
        checks.skip("reachable", "simulated host: nothing to reach")
        checks.skip("tls", "simulated host")
    else:
        from orchestrator.transport.winrm import connection_policy

        refusal, warnings = connection_policy(host)
        if refusal is not None:
            checks.fail("settings", refusal.message, refusal.fix)
            return PingReport(host.name, checks.done(), tuple(warnings))
        checks.ok("settings", _describe(host))
        if not _network_checks(host, checks):
            return PingReport(host.name, checks.done(), tuple(warnings))

    transport = transport_factory(host)
    try:
        result = transport.run(PING_SCRIPT, idempotent=True, timeout=PING_TIMEOUT, read_only=True)
    except TransportError as error:
        _sort_failure(error, checks)
        return PingReport(host.name, checks.done(), tuple(warnings))
    finally:
        transport.close()
    checks.ok("authenticated", "simulated host" if conn.kind == "simulator" else f"as {conn.user or '?'}")
    facts = _document(result.stdout)
    if result.exit_code != 0 or not facts.get("ok"):
        why = (
            facts.get("error") or result.stderr.strip() or result.stdout.strip() or f"exit {result.exit_code}"
        )
        checks.fail(
            "shell", f"the ping script failed: {why}", "run the script by hand on the host to see why"
        )
        return PingReport(host.name, checks.done(), tuple(warnings), facts)
    checks.ok("shell", f"PowerShell on {facts.get('computer_name') or host.name}")
    _host_checks(facts, checks)
    if facts.get("winrm_memory_hotfix") is False:
        warnings = [*warnings, f"{host.name}: {WINRM_MEMORY_HOTFIX}"]
    done = checks.done()
    shares = configured_shares(host)
    if shares and all(c.status != "failed" for c in done):
        done += share_checks(host, shares, transport_factory)
    return PingReport(host.name, done, tuple(warnings), facts)


def configured_shares(host: HostSpec) -> tuple[str, ...]:
    """The UNC shares the inventory names for `host`: a simulated host's `orchestrate_simulator: shares`. No
    inventory key names a real host's export share (export, import and move take it on the command line),
    so for a real host there is none and ping says nothing about shares."""
    shares = (host.simulator or {}).get("shares") or {}
    return tuple(str(root) for root in shares)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def share_checks(host: HostSpec, shares: tuple[str, ...], transport_factory: TransportFactory) -> tuple[Check, ...]:
    """One read-only Test-Path per share, from the session ping opened. A remoting session that cannot
    delegate sees $false for every share (Test-Path answers $false for a denied path, PowerShell/PowerShell
    #6474; the second hop is denied, MicrosoftDocs/PowerShell-Docs
    reference/docs-conceptual/security/remoting/PS-remoting-second-hop.md)."""
    script = "\n".join(
        f"Write-Output ([string](Test-Path -LiteralPath {_quote(share)}))" for share in shares
    )
    transport = transport_factory(host)
    try:
        result = transport.run(script, idempotent=True, timeout=PING_TIMEOUT, read_only=True)
    except TransportError as error:
        return tuple(Check("share", "failed", f"{share}: {error.message}", error.fix) for share in shares)
    finally:
        transport.close()
    answers = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    out = []
    for i, share in enumerate(shares):
        if i < len(answers) and answers[i] == "True":
            out.append(Check("share", "ok", share))
        else:
            out.append(Check("share", "failed", f"{share}: not reachable from this session (missing, or denied)",
                             DOUBLE_HOP_FIX))
    return tuple(out)


def _describe(host: HostSpec) -> str:
    conn = host.connection
    parts = [f"{conn.scheme}://{conn.address}:{conn.effective_port}{conn.path}", conn.transport]
    if conn.scheme == "http" and conn.transport in ("ntlm", "kerberos", "credssp"):
        parts.append("message encryption")
    return ", ".join(parts)


def _network_checks(host: HostSpec, checks: _Checks) -> bool:
    """TCP connect, then the TLS handshake with the host's trust settings. False when one failed."""
    conn = host.connection
    where = f"{conn.address}:{conn.effective_port}"
    timeout = float(min(conn.read_timeout_sec, 15))
    try:
        sock = socket.create_connection((conn.address, conn.effective_port), timeout=timeout)
    except socket.gaierror:
        checks.fail("reachable", f"cannot resolve '{conn.address}'", "check ansible_host and DNS")
        return False
    except ConnectionRefusedError:
        checks.fail(
            "reachable",
            f"{where} refused the connection",
            "start WinRM and create a listener on the host: winrm quickconfig (HTTP, 5985) or "
            "winrm quickconfig -transport:https (HTTPS, 5986); allow the port in the firewall",
        )
        return False
    except OSError as exc:
        checks.fail(
            "reachable",
            f"no connection to {where}: {exc.strerror or type(exc).__name__}",
            "check that the host is up and that the firewall allows the WinRM port",
        )
        return False
    with sock:
        checks.ok("reachable", where)
        if conn.scheme != "https":
            checks.skip(
                "tls",
                "HTTP: no TLS"
                + (
                    " (NTLM/Kerberos message encryption)"
                    if conn.transport in ("ntlm", "kerberos", "credssp")
                    else ""
                ),
            )
            return True
        context = ssl.create_default_context(cafile=conn.ca_trust_path or None)
        if conn.cert_validation == "ignore":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            with context.wrap_socket(sock, server_hostname=conn.address) as tls:
                version = tls.version() or "TLS"
        except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
            error = tls_failure(f"{type(exc).__name__}: {exc}", conn)
            checks.fail("tls", error.message, error.fix)
            return False
    note = "" if conn.cert_validation == "validate" else ", certificate NOT validated"
    checks.ok("tls", f"{version}{note}")
    return True


def _sort_failure(error: TransportError, checks: _Checks) -> None:
    if isinstance(error, InsecureTransportRefused | ConfigurationError):
        checks.fail("settings", error.message, error.fix)
    elif isinstance(error, TLSFailure):
        checks.fail("tls", error.message, error.fix)
    elif isinstance(error, HostUnreachable | ServiceUnavailable | OperationTimedOut) and (
        "reachable" not in checks.results
    ):
        checks.fail("reachable", error.message, error.fix)
    elif isinstance(error, AuthenticationFailed):
        checks.fail("authenticated", error.message, error.fix)
    else:
        checks.fail("shell", error.message, error.fix)


def _document(stdout: str) -> dict[str, Any]:
    """The last line of stdout that is a JSON object (the contract: one document, printed last)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def _host_checks(facts: dict[str, Any], checks: _Checks) -> None:
    if facts.get("hyperv_module"):
        checks.ok("hyperv", "Hyper-V PowerShell module installed")
    else:
        checks.fail(
            "hyperv",
            "the Hyper-V PowerShell module is not installed",
            "on the host: Install-WindowsFeature -Name Hyper-V -IncludeManagementTools -Restart",
        )
    rights = facts.get("hyperv_rights")
    if rights is True:
        checks.ok("admin", "Hyper-V cmdlets allowed")
    elif rights is False:
        checks.fail(
            "admin",
            f"this account may not manage Hyper-V: {facts.get('rights_error') or 'access denied'}",
            "add the account to the local Administrators or Hyper-V Administrators group; for a local "
            "administrator other than the built-in one, also set LocalAccountTokenFilterPolicy=1",
        )
    else:
        checks.skip("admin", "needs the Hyper-V module to check")
    caption = facts.get("caption") or "unknown OS"
    checks.ok("os", f"{caption} {facts.get('os_version', '')}, SKU {facts.get('os_sku')}".replace("  ", " "))


def ping_hosts(
    inventory: Inventory,
    names: Sequence[str],
    *,
    state_dir: Path,
    forks: int = 10,
    transport_factory: Callable[[HostSpec, Path], Transport] | None = None,
) -> list[PingReport]:
    """Every named host's report, in the order given, `forks` hosts at a time."""
    if transport_factory is None:
        from orchestrator.transport.factory import open_transport

        transport_factory = open_transport
    opener = transport_factory

    def one(name: str) -> PingReport:
        return ping_host(inventory.hosts[name], lambda host: opener(host, state_dir))

    with ThreadPoolExecutor(max_workers=max(1, min(forks, len(names) or 1)), thread_name_prefix="ping") as pool:
        return list(pool.map(one, names))
