"""The WinRM transport: runs PowerShell scripts of any size on a Hyper-V host through pywinrm's `Protocol`.

Why not `winrm.Session.run_ps`: it puts the script on the command line (cmd.exe cuts it at about 3,000
characters), leaks the remote shell when anything fails, reconnects for every call, and decodes output as
codepage 437. Here instead (see the WinRM notes in the design):

- one shell per host per run (codepage 65001, UTF-8), opened on the first `run()` and reused, over one
  HTTP connection (and one NTLM handshake); `close()` deletes it;
- the command line is always the same short bootstrap, `powershell.exe -NoProfile -NonInteractive
  -EncodedCommand <base64 of UTF-16LE>`, which reads the script from stdin; the script goes in as UTF-8
  without BOM over as many Send messages as needed, the last one marked End=true;
- output is read with our own Receive loop under a wall-clock deadline, handed to `on_output` as it comes;
- the command is signalled when it ends or fails, and a shell that may be broken is deleted, never leaked;
- CLIXML on stderr (how powershell.exe serialises its error stream) becomes readable text;
- every exception is sorted by `errors.classify`; transient ones are retried by `retry.call_with_retry`;
- another thread may `interrupt()` the running command and `abort()` (delete) the shells, on a connection of
  their own with short timeouts, when the run is stopped by Ctrl-C or SIGTERM (see `interrupt`).
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import logging
import random
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import winrm.exceptions as wexc
from winrm.protocol import Protocol

from orchestrator.model import Connection, HostSpec
from orchestrator.transport.base import CommandResult, OutputCallback
from orchestrator.transport.envelopes import SIGNAL_CTRL_C, SIGNAL_TERMINATE
from orchestrator.transport.errors import (
    SEND,
    SHELL_OPEN,
    AuthenticationFailed,
    CommandInterrupted,
    CommandTimeout,
    ConfigurationError,
    HostUnreachable,
    InsecureTransportRefused,
    OutputLost,
    ReplyTooLarge,
    ResumeFailed,
    ScriptNotReceived,
    TransportError,
    classify,
    secret_forms,
)
from orchestrator.transport.limits import MAX_OUTPUT_BYTES, cap_session
from orchestrator.transport.protocol import WireProtocol
from orchestrator.transport.retry import Backoff, call_with_retry
from orchestrator.transport.stdin import Channel, channel, received_whole

log = logging.getLogger(__name__)

# The contract bootstrap (docs/templates.md; orchestrator.transport.stdin): read the whole script from stdin,
# check it arrived whole, run it as a script block; the run's secrets, if any, follow the script.
COMMAND = "powershell.exe"


def arguments(bootstrap: str) -> tuple[str, ...]:
    """powershell.exe's arguments for one script: its bootstrap as -EncodedCommand, "a base-64-encoded string
    version of a command" (about_PowerShell_exe; UTF-16LE), so no quoting of cmd.exe's can touch it."""
    encoded = base64.b64encode(bootstrap.encode("utf-16-le")).decode("ascii")
    return ("-NoProfile", "-NonInteractive", "-EncodedCommand", encoded)


CODEPAGE_UTF8 = 65001
# Bytes of script per Send: base64 makes it 4/3 larger (about 132 KB with the envelope) and the envelope must
# stay under MaxEnvelopeSizekb, whose "default value SHOULD be 500 but MAY be 150" (MS-WSMV 2.2.4.10): under
# the smaller one, so that any host takes it.
STDIN_CHUNK = 96 * 1024
# Deleting the shell at the end: tries in all, on a new connection each time.
CLOSE_ATTEMPTS = 3
# An interrupt's own connection (interrupt/abort): the WS-Man OperationTimeout it asks for and the HTTP
# connect/read timeout, in seconds. Short: the admin is waiting, and a host that does not answer Signal or
# Delete within this is reported as such, not waited for.
INTERRUPT_OPERATION_TIMEOUT = 4
INTERRUPT_READ_TIMEOUT = 6
# The Signals an `abort` sends itself, when no interrupt reached the command before (a second Ctrl-C that
# came before the first one's Signals went out): shorter still, so that both Signals and the Delete that
# follows them fit the runner's ABORT_DEADLINE (10 s) even when the host answers no Signal.
ABORT_SIGNAL_OPERATION_TIMEOUT = 1
ABORT_SIGNAL_READ_TIMEOUT = 2

_PYWINRM_TRANSPORT = {
    "basic": "basic",
    "ntlm": "ntlm",
    "kerberos": "kerberos",
    "credssp": "credssp",
    "certificate": "certificate",
}
_CLEAR_TEXT_CREDENTIALS = ("basic", "certificate")
# Authenticate the TCP connection once (not every request): a lost connection turns into a 401 on the next one.
_PER_CONNECTION = ("ntlm", "kerberos", "credssp")
# Held while pywinrm builds a session (up to its NTLM/encryption exchange, which goes out without it): that
# build writes os.environ, which is one for all the runner's threads (see `_cap_replies`).
_SESSION_BUILD = threading.Lock()


def connection_policy(host: HostSpec) -> tuple[TransportError | None, list[str]]:
    """Check a host's connection settings before anything is sent: (refusal or None, warnings).

    Basic or certificate authentication over plain HTTP sends credentials in clear text, and NTLM/Kerberos/
    CredSSP over HTTP without message encryption sends every script in clear text: both are refused unless
    the host sets `orchestrate_allow_unencrypted: true`, and then they are warned about on every run.
    """
    conn = host.connection
    warnings: list[str] = []
    if conn.scheme == "http":
        clear = None
        if conn.transport in _CLEAR_TEXT_CREDENTIALS:
            clear = f"{conn.transport} authentication over HTTP sends the credentials in clear text"
        elif conn.message_encryption == "never":
            clear = (
                f"{conn.transport} over HTTP with message encryption 'never' sends every script in clear text"
            )
        if clear is not None:
            if not conn.allow_unencrypted:
                return InsecureTransportRefused(
                    f"{host.name}: refused: {clear}",
                    "use HTTPS (ansible_winrm_scheme: https, port 5986; on the host: winrm quickconfig "
                    "-transport:https), or ntlm/kerberos with message encryption over HTTP; to accept the "
                    "risk on a lab host, set orchestrate_allow_unencrypted: true for it",
                ), warnings
            warnings.append(f"{host.name}: {clear} (allowed by orchestrate_allow_unencrypted)")
    if conn.message_encryption == "always" and conn.transport in _CLEAR_TEXT_CREDENTIALS:
        return ConfigurationError(
            f"{host.name}: message encryption 'always' is not available with {conn.transport} authentication",
            "use ansible_winrm_transport ntlm, kerberos or credssp, or HTTPS with message encryption 'auto'",
        ), warnings
    if conn.read_timeout_sec <= conn.operation_timeout_sec or conn.operation_timeout_sec < 1:
        return ConfigurationError(
            f"{host.name}: ansible_winrm_read_timeout_sec ({conn.read_timeout_sec}) must be greater than "
            f"ansible_winrm_operation_timeout_sec ({conn.operation_timeout_sec}), which must be at least 1",
            "for example operation 20 and read 30, or operation 60 and read 70 for slow hosts",
        ), warnings
    if conn.transport == "basic":
        refusal = _basic_latin1_refusal(host)
        if refusal is not None:
            return refusal, warnings
    if conn.transport == "certificate" and not (conn.cert_pem and conn.cert_key_pem):
        return ConfigurationError(
            f"{host.name}: certificate authentication needs a client certificate and key",
            "set ansible_winrm_cert_pem and ansible_winrm_cert_key_pem",
        ), warnings
    if conn.scheme == "https" and conn.cert_validation == "ignore":
        warnings.append(
            f"{host.name}: the host's TLS certificate is not validated (server_cert_validation: ignore)"
        )
    return None, warnings


def _basic_latin1_refusal(host: HostSpec) -> ConfigurationError | None:
    """Basic credentials outside Latin-1 cannot be sent: refuse by name before anything goes out.

    requests builds the Basic header from `user:password` encoded as Latin-1 (requests/auth.py,
    _basic_auth_str: `password.encode("latin1")`), so any other character raised UnicodeEncodeError deep in
    the first request, which used to be reported as "not valid WS-Management". RFC 7617 leaves the charset
    to the server, and WinRM documents none for Basic, so sending UTF-8 instead would be a guess; NTLM
    carries any password (it hashes the UTF-16LE form, MS-NLMP 3.3.1).
    """
    conn = host.connection
    for label, value in (("ansible_user", conn.user or ""), ("ansible_password", _reveal(conn))):
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return ConfigurationError(
                f"{host.name}: refused: {label} holds characters outside Latin-1 (ISO-8859-1), which Basic "
                "authentication cannot carry; nothing was sent",
                "use ansible_winrm_transport: ntlm (or kerberos), which carry any Unicode password, or a "
                "password of Latin-1 characters for this local account",
            )
    return None


def _reveal(conn: Connection) -> str:
    return conn.password.reveal() if conn.password is not None else ""


@dataclass
class _Progress:
    """How far one attempt got: decides whether a retry could run the script twice."""

    stage: str = "connect"
    started: bool = False
    lost: int = 0  # Receive replies lost after the script started, each of which may have carried output
    resuming: bool = False  # a Receive failed after the script started: it is read again, never re-run


class WinRMTransport:
    """`Transport` over WinRM for one host. One runner thread runs its scripts; `interrupt` and `abort` may
    be called from any other thread at any time (they take `_lock` for the ids they read and use a connection
    of their own), any number of times."""

    def __init__(self, host: HostSpec, *, backoff: Backoff | None = None) -> None:
        self.host = host
        self.conn: Connection = host.connection
        self.backoff = backoff or Backoff()
        # Warnings (clear-text allowed, certificate not validated) for the caller to show on every run: a
        # transport never prints.
        self.refusal, self.warnings = connection_policy(host)
        self.retries: list[TransportError] = []  # transient failures that were retried, for the report
        self._secrets = secret_forms(
            self.conn.user, self.conn.password.reveal() if self.conn.password else ""
        )
        self._protocol: Protocol | None = None
        self._shell_id: str | None = None
        # Shells a failed attempt left, each with the command that may still run in it (None: none may):
        # such a command is signalled before its shell is deleted (`_retire`).
        self._stale_shells: list[tuple[str, str | None]] = []
        self._proven = False  # the current connection has authenticated and opened a shell
        # Shared with interrupt()/abort() on other threads: the shells, the running command, the stop flag.
        self._lock = threading.Lock()
        self._running: tuple[str, str] | None = None  # (shell id, command id) of the command now running
        self._stopped = threading.Event()  # set by interrupt(): no new command, no retry, no more Receive
        self._read_only = False  # the script run now changes nothing on the host (run's read_only)

    # ---- Transport protocol ------------------------------------------------------------------------------
    def run(
        self,
        script: str,
        *,
        idempotent: bool,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
        secrets: Mapping[str, str] | None = None,
        read_only: bool = False,
    ) -> CommandResult:
        """Run `script` in this run's shell (opened on first use), retrying transient failures.

        A failure before PowerShell received the whole script is always retried; after that only when
        `idempotent`. If an attempt is retried, `on_output` hears the new attempt's output from the start.
        """
        if self.refusal is not None:
            raise self.refusal
        self._refuse_if_stopped(started=False)
        limit = timeout if timeout is not None else self.host.operation_timeout
        sent = channel(script, secrets)  # the secrets after the script, never in its text
        # A read-only script whose output was lost is run again (OutputLost and ResumeFailed are transient then).
        self._read_only = read_only
        return call_with_retry(
            lambda: self._attempt(sent, limit, on_output),
            self.host.retry,
            idempotent=idempotent or read_only,
            backoff=self.backoff,
            sleep=self._stopped.wait,  # an interrupt ends the wait between attempts at once
            on_retry=lambda _n, error: self.retries.append(error),
        )

    # ---- interrupt, from another thread --------------------------------------------------------------------
    def interrupt(self) -> bool:
        """Stop the command this transport runs now, if any; from then on no command starts. Never raises.

        Returns whether a running command was signalled (False when none ran, or on a second call). On a
        connection of its own (the runner thread's is blocked in a Receive), with short timeouts
        (INTERRUPT_OPERATION_TIMEOUT / INTERRUPT_READ_TIMEOUT), two Signals go to the command:

        - `signal/ctrl_c`: MS-WSMV 2.2.4.38 (Signal): "the Shell MUST attempt to terminate any currently
          running command or commands and return to an idle state and represents the behavior of
          Control-C"; powershell.exe stops its pipeline as on Ctrl-C;
        - `signal/terminate` (http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate, what
          pywinrm's cleanup_command sends): per MS-WSMV 2.2.4.38 the client sends it "to acknowledge receipt of
          the end of the command output from the service and to clean up any resources associated with
          command execution"; WSManSignalShell (learn.microsoft.com/windows/win32/api/wsman/
          nf-wsman-wsmansignalshell) describes WSMAN_SIGNAL_SHELL_CODE_TERMINATE as "The shell or Command
          Prompt window was closed".

        Neither page says in so many words that terminate alone kills a process that is still running, so
        both are sent (fail-safe), and `abort` then deletes the shell itself, which ends what runs in it.
        The runner thread sees the flag: its Receive loop stops, a retry is not attempted, and its run()
        raises CommandInterrupted, unless the command had already finished with exit code 0.
        """
        return self._interrupt(INTERRUPT_READ_TIMEOUT, INTERRUPT_OPERATION_TIMEOUT)

    def _interrupt(self, read_timeout: int, operation_timeout: int) -> bool:
        with self._lock:
            if self._stopped.is_set():
                return False
            self._stopped.set()
            running = self._running
        if running is None:
            return False
        shell_id, command_id = running
        try:
            protocol = self._side_protocol(read_timeout, operation_timeout)
        except Exception as exc:
            log.debug("interrupting the command on %s: no connection: %s", self.host.name, type(exc).__name__)
            return False
        signalled = False
        try:
            for code in (SIGNAL_CTRL_C, SIGNAL_TERMINATE):
                try:
                    protocol.signal(shell_id, command_id, code)
                    signalled = True
                except Exception as exc:
                    log.debug("signalling %s on %s failed: %s", code, self.host.name, type(exc).__name__)
        finally:
            _quietly_close(protocol)
        return signalled

    def abort(self) -> int:
        """Interrupt (if not done yet), then delete every shell of this transport. Never raises.

        Returns how many shells the host confirmed deleted (or already gone). Each shell is taken out of the
        transport's own lists first, so `close()` on the runner thread and another `abort()` never delete
        it a second time. WS-Man Delete of the shell (MS-WSMV 3.1.4.4.1, pywinrm's close_shell) frees its
        place in MaxShellsPerUser; MS-PSRP 3.1.5.3.11 says of the same Delete that it "can be sent
        asynchronously to any outstanding messages" and the shell "will be forcibly closed". That the
        processes of a cmd shell end with it no page states outright (fail-safe: the Signals go first).
        When no interrupt came before, the Signals sent here wait at most ABORT_SIGNAL_READ_TIMEOUT each, so
        that a host that answers no Signal still gets its Delete within the abort's deadline.
        """
        self._interrupt(ABORT_SIGNAL_READ_TIMEOUT, ABORT_SIGNAL_OPERATION_TIMEOUT)
        with self._lock:
            shells = ([(self._shell_id, None)] if self._shell_id is not None else []) + self._stale_shells
            self._shell_id = None
            self._stale_shells = []
        if not shells:
            return 0
        deleted = 0
        try:
            protocol = self._side_protocol()
        except Exception as exc:
            log.debug("deleting the shells on %s: no connection: %s", self.host.name, type(exc).__name__)
            return 0
        try:
            for shell_id, command_id in shells:
                try:
                    self._retire(protocol, shell_id, command_id)
                    deleted += 1
                except Exception as exc:
                    log.debug("deleting a shell on %s failed: %s", self.host.name, type(exc).__name__)
        finally:
            _quietly_close(protocol)
        return deleted

    def _refuse_if_stopped(self, *, started: bool) -> None:
        if self._stopped.is_set():
            raise self._interrupted_error(started)

    def _interrupted_error(self, started: bool) -> CommandInterrupted:
        return CommandInterrupted(
            f"{self.host.name}: interrupted: "
            + (
                "the script was stopped on the host before it finished (WS-Man Signal; its shell is "
                "deleted); what it changed before that stays on the host"
                if started
                else "the run was stopped before this script started; nothing more was sent to the host"
            ),
            "run the same command again: it plans from the host as it is now",
            command_started=started,
        )

    def close(self) -> None:
        """Delete the shell (and any left by failed attempts) and close the connection. Never raises.

        A Delete lost to a reset, a timeout or a 503 is tried again on a new connection (CLOSE_ATTEMPTS in
        all): a leaked shell counts against MaxShellsPerUser until the host's idle timeout, hours later.
        """
        with self._lock:
            if self._shell_id is not None:
                self._stale_shells.append((self._shell_id, None))
                self._shell_id = None
        try:
            for attempt in range(CLOSE_ATTEMPTS):
                if not self._stale_shells:
                    break
                if attempt:
                    self._drop_connection()
                    time.sleep(
                        random.uniform(0, min(self.backoff.maximum, self.backoff.initial * 2**attempt))
                    )
                try:
                    self._reap(self._ensure_protocol())
                except Exception as exc:  # we run in finally blocks: a dead host must not mask the cause
                    log.debug("closing the WinRM shell on %s failed: %s", self.host.name, type(exc).__name__)
        finally:
            self._drop_connection()
            with self._lock:
                self._stale_shells.clear()

    # ---- one attempt -------------------------------------------------------------------------------------
    def _attempt(self, sent: Channel, limit: float, on_output: OutputCallback | None) -> CommandResult:
        progress = _Progress()
        command_id: str | None = None
        try:
            protocol = self._ensure_protocol()
            progress.stage = SHELL_OPEN
            shell_id = self._ensure_shell(protocol)
            self._proven = True
            progress.stage = "start PowerShell"
            command_id = protocol.run_command(
                shell_id, COMMAND, arguments(sent.command), console_mode_stdin=False, skip_cmd_shell=False
            )
            with self._lock:
                self._running = (shell_id, command_id)
            self._refuse_if_stopped(started=False)  # interrupted while it started: abort() deletes the shell
            progress.stage = SEND
            self._send_script(protocol, shell_id, command_id, sent.stdin, progress)
            progress.stage = "read the output"
            result = self._receive(protocol, shell_id, command_id, time.monotonic() + limit, on_output, progress)
        except CommandTimeout:
            raise
        except CommandInterrupted:
            self._abandon_shell(command_id if progress.started else None)
            raise
        except Exception as exc:
            if self._stopped.is_set():
                # What the interrupt did to the command (a fault for a signalled command, a dropped reply)
                # is not a host failure to retry or to report as such.
                self._abandon_shell(command_id if progress.started else None)
                raise self._interrupted_error(progress.started) from exc
            error = classify(
                exc, self.conn, stage=progress.stage, command_started=progress.started, secrets=self._secrets
            )
            if (
                isinstance(error, AuthenticationFailed)
                and self._proven
                and self.conn.transport in _PER_CONNECTION
            ):
                # These credentials were accepted on this connection before: the host dropped the connection
                # (and with it the NTLM/Kerberos context), so the client's next message is refused. A fresh
                # connection authenticates again; a real credential problem then fails there, permanently.
                error = HostUnreachable(
                    f"{self.host.name}: the authenticated connection was lost while trying to {progress.stage}"
                    + (". The script may still be running on the host." if progress.started else ""),
                    "check the network and the host (it may have rebooted or restarted WinRM)",
                    command_started=progress.started,
                )
            if progress.resuming and error.transient:
                error = self._resume_failed(error)
            self._abandon_shell(command_id if progress.started else None)
            raise error from exc
        finally:
            with self._lock:
                self._running = None
        self._end_command(self._protocol or protocol, shell_id, command_id)
        if self._stopped.is_set() and not result.ok:
            raise self._interrupted_error(True)  # it ended because it was signalled (Ctrl-C's exit code)
        if progress.lost:
            raise self._output_lost(progress.lost, result.exit_code)
        if not received_whole(result.exit_code, result.stderr):
            raise ScriptNotReceived.on(self.host.name)
        return result

    def _ensure_protocol(self) -> Protocol:
        if self._protocol is None:
            protocol = self._new_protocol(self.conn.read_timeout_sec, self.conn.operation_timeout_sec)
            self._cap_replies(protocol)
            self._protocol = protocol
        return self._protocol

    def _side_protocol(
        self, read_timeout: int = INTERRUPT_READ_TIMEOUT, operation_timeout: int = INTERRUPT_OPERATION_TIMEOUT
    ) -> WireProtocol:
        """A connection of its own for interrupt/abort, with short timeouts (the runner thread's connection
        is busy with its Receive, and requests' sessions are not shared between threads)."""
        protocol = self._new_protocol(read_timeout, operation_timeout)
        self._cap_replies(protocol)
        return protocol

    def _new_protocol(self, read_timeout: int, operation_timeout: int) -> WireProtocol:
        conn = self.conn
        try:
            return WireProtocol(
                endpoint=conn.endpoint,
                transport=_PYWINRM_TRANSPORT[conn.transport],  # type: ignore[arg-type]
                username=conn.user,
                password=conn.password.reveal() if conn.password is not None else None,
                server_cert_validation=conn.cert_validation,
                ca_trust_path=conn.ca_trust_path,  # type: ignore[arg-type]
                cert_pem=conn.cert_pem,
                cert_key_pem=conn.cert_key_pem,
                kerberos_delegation=conn.kerberos_delegation,
                read_timeout_sec=read_timeout,
                operation_timeout_sec=operation_timeout,
                message_encryption=conn.message_encryption,
                proxy=None,  # never pick up proxies from the environment for a host
            )
        except wexc.InvalidCredentialsError as exc:
            # Raised before any request: a missing user, password or certificate file, not a 401.
            raise ConfigurationError(
                f"{self.host.name}: {exc}",
                "set ansible_user and ansible_password (or ansible_winrm_cert_pem and "
                "ansible_winrm_cert_key_pem for certificate authentication)",
            ) from exc
        except Exception as exc:
            raise classify(exc, conn, stage="connect", secrets=self._secrets) from exc

    def _cap_replies(self, protocol: Protocol) -> None:
        """Every reply of this connection goes through limits.CappedAdapter, the NTLM/encryption set-up
        exchange included (pywinrm sends it from build_session via setup_encryption, before returning the
        session to us, so the adapter is mounted inside that call). The session also stops reading the
        environment on every request (`_no_environment`).

        One thread at a time builds a session (`_SESSION_BUILD`), because building one writes the process
        environment: pywinrm's build_session (winrm/transport.py, 0.5.0) passes `proxies={"no_proxy": "*"}`
        (we give `proxy=None`) to requests' `Session.merge_environment_settings`, whose
        `should_bypass_proxies` sets os.environ["no_proxy"] for the length of one urllib call and then
        deletes or restores it (requests/utils.py `set_environ`, 2.34.2), with no lock. Two runner threads
        connecting at once then race: the second reads the first's value as the one to restore, or deletes
        a key the first already deleted, so a connect failed with KeyError('no_proxy') (sorted as "not
        valid WS-Management while trying to connect", not retried: seen once in 32 soak runs under load)
        or left no_proxy=* in the environment of the process and of every child it starts. The race is
        psf/requests#4997 ("should_bypass_proxies not thread-safe", open). The lock is let go before the
        set-up exchange (`capped_setup`, called after the environment was read), so a host slow to answer
        its handshake never holds up the other hosts' connects. Other threads that read os.environ while
        a session is built (none of this package's; a subprocess started meanwhile would copy it) can
        still see the key for that moment: only requests could stop writing it."""
        transport = protocol.transport
        where = f"{self.conn.address}:{self.conn.effective_port}"
        setup = transport.setup_encryption
        held = [True]

        def let_go() -> None:
            if held[0]:
                held[0] = False
                _SESSION_BUILD.release()

        def capped_setup(session: Any) -> None:
            let_go()  # the environment has been read (merge_environment_settings comes first)
            cap_session(session, where)
            _no_environment(session)
            setup(session)

        transport.setup_encryption = capped_setup  # type: ignore[method-assign]
        _SESSION_BUILD.acquire()
        try:
            session = transport.build_session()
            cap_session(session, where)
            _no_environment(session)
        except Exception as exc:
            raise classify(exc, self.conn, stage="connect", secrets=self._secrets) from exc
        finally:
            let_go()
        self._refuse_silent_clear_text(transport)

    def _refuse_silent_clear_text(self, transport: Any) -> None:
        """Over HTTP, message encryption 'auto' is pywinrm's wish, not its promise: build_session sets it up
        only when the auth library can (winrm/transport.py: for Kerberos, `winrm_encryption_available`, which
        requests_kerberos sets from `hasattr(kerberos, 'authGSSWinRMEncryptMessage')`; for NTLM, a
        `session_security`), and otherwise goes on in clear text without a word. A host that allows
        unencrypted traffic would then get every script, the answer file's passwords among them, as written.
        Refused before anything is sent, as connection_policy refuses 'never' (and allowed the same way)."""
        conn = self.conn
        if (conn.scheme != "http" or conn.transport not in _PER_CONNECTION or conn.message_encryption == "never"
                or getattr(transport, "encryption", None) is not None):
            return
        clear = (f"{conn.transport} over HTTP could not set up message encryption (the installed "
                 f"{conn.transport} library cannot encrypt WinRM messages), so every script would go in clear text")
        if not conn.allow_unencrypted:
            raise InsecureTransportRefused(
                f"{self.host.name}: refused: {clear}",
                "install pywinrm's own client library (pip install 'pywinrm[kerberos]' gives pykerberos>=1.2.1 "
                "with authGSSWinRMEncryptMessage; 'pywinrm[credssp]' for CredSSP), or use HTTPS; to accept "
                "the risk on a lab host, set orchestrate_allow_unencrypted: true for it",
            )
        warning = f"{self.host.name}: {clear} (allowed by orchestrate_allow_unencrypted)"
        if warning not in self.warnings:
            self.warnings.append(warning)

    def _ensure_shell(self, protocol: Protocol) -> str:
        self._reap(protocol)
        with self._lock:
            shell_id = self._shell_id
        if shell_id is None:
            shell_id = protocol.open_shell(codepage=CODEPAGE_UTF8, noprofile=True)
            with self._lock:
                self._shell_id = shell_id  # now abort() on another thread knows it too
        return shell_id

    def _reap(self, protocol: Protocol) -> None:
        """Delete shells a failed attempt left behind, so they never count against the host's quota."""
        while True:
            with self._lock:
                if not self._stale_shells:
                    return
                entry = self._stale_shells[0]
            try:
                self._retire(protocol, *entry)
            except Exception:
                return  # the host is unreachable again; try on the next attempt or in close()
            with self._lock:
                if entry in self._stale_shells:  # abort() may have taken it meanwhile
                    self._stale_shells.remove(entry)

    @staticmethod
    def _retire(protocol: Protocol, shell_id: str, command_id: str | None) -> None:
        """Delete one stale shell; a command that may still run in it is signalled first (ctrl_c, then
        terminate, as `interrupt` does), so that no Delete kills a script mid-change unannounced: if the
        Signal cannot be sent, neither is the Delete (the exception goes to the caller, which tries again
        later or leaves the shell to the host's idle timeout). A fault means the command or shell is gone
        already (the host rebooted, WinRM restarted, or it ended and was terminated)."""
        if command_id is not None:
            for code in (SIGNAL_CTRL_C, SIGNAL_TERMINATE):
                try:
                    protocol.signal(shell_id, command_id, code)  # type: ignore[attr-defined]
                except wexc.WSManFaultError:
                    break
        with contextlib.suppress(wexc.WSManFaultError):  # already gone (the host rebooted, WinRM restarted)
            protocol.close_shell(shell_id, close_session=False)

    def _abandon_shell(self, command_id: str | None = None) -> None:
        """After a failure the connection (and NTLM context) may be broken: start over on a new one.
        `command_id`: the command that may still run in the shell, signalled before the shell is deleted."""
        with self._lock:
            if self._shell_id is not None:
                self._stale_shells.append((self._shell_id, command_id))
                self._shell_id = None
        self._drop_connection()

    def _drop_connection(self) -> None:
        self._proven = False
        if self._protocol is not None:
            transport = self._protocol.transport
            try:
                transport.close_session()
            except Exception as exc:
                log.debug("closing the HTTP session to %s failed: %s", self.host.name, type(exc).__name__)
            _release(transport)
            self._protocol = None

    def _send_script(
        self, protocol: Protocol, shell_id: str, command_id: str, script: str, progress: _Progress
    ) -> None:
        data = script.encode("utf-8")
        chunks = [data[i : i + STDIN_CHUNK] for i in range(0, len(data), STDIN_CHUNK)] or [b""]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            if last:
                # From here on the script may run: PowerShell starts it as soon as stdin ends.
                progress.started = True
            try:
                protocol.send_command_input(shell_id, command_id, chunk, end=last)
            except wexc.WinRMOperationTimeoutError:
                if not last:
                    raise  # nothing runs yet: a new attempt is safe (and faults of a lost chunk are not)
                # "A WSMan OperationTimeout can be received for a Send operation when the server is under
                # severe load. On manual testing the input is still processed and it's safe to continue"
                # (ansible/ansible lib/ansible/plugins/connection/winrm.py, _winrm_write_stdin, which goes on
                # to Receive). Failing here would delete the shell under a script that may be running and
                # start it again. Had the host not processed it, stdin never ends: the Receives answer
                # w:TimedOut until the command's deadline stops it (CommandTimeout, not retried).
                log.debug("WS-Man OperationTimeout on the last Send to %s: reading the output", self.host.name)

    def _receive(
        self,
        protocol: Protocol,
        shell_id: str,
        command_id: str,
        deadline: float,
        on_output: OutputCallback | None,
        progress: _Progress,
    ) -> CommandResult:
        """Read the command's output until Done, under `deadline` and the stop flag.

        A Receive whose reply is lost after the script started (`_lost_reply`) is asked again of the same
        shell and command on a new connection (`_resume`); the script is never run again from here.
        """
        # "utf-8-sig": one leading byte order mark is dropped, however the Receives split it (see ClixmlStream).
        stdout = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        stderr = ClixmlStream()
        out_parts: list[str] = []
        err_parts: list[str] = []
        resumed = 0  # Receives asked again after a 502/503
        failures = 0  # Receives lost or refused, each asked again on a new connection
        received = 0
        current: Protocol | None = protocol

        def emit(stream: Any, text: str, parts: list[str]) -> None:
            if text:
                parts.append(text)
                if on_output is not None:
                    on_output(stream, text)

        while True:
            self._refuse_if_stopped(started=True)
            if time.monotonic() >= deadline:
                self._end_command(current, shell_id, command_id)
                raise CommandTimeout(
                    f"{self.host.name}: the script did not finish within its time limit; it was stopped",
                    "raise orchestrate_operation_timeout for this host if the operation is legitimately slow",
                    command_started=True,
                )
            try:
                if current is None:
                    current = self._ensure_protocol()
                out, err, exit_code, done = current.get_command_output_raw(shell_id, command_id)
            except wexc.WinRMOperationTimeoutError:
                continue  # no output within OperationTimeout: the normal heartbeat of a long command
            except wexc.WinRMTransportError as exc:
                # 502/503: the host refused this Receive, so it consumed no output: ask again (the script
                # is not run twice).
                if exc.code not in (502, 503) or resumed >= self.host.retry.attempts:
                    raise
                resumed += 1
                self.retries.append(
                    classify(
                        exc, self.conn, stage="read the output", command_started=True, secrets=self._secrets
                    )
                )
                self._stopped.wait(
                    random.uniform(0, min(self.backoff.maximum, self.backoff.initial * 2**resumed))
                )
                continue
            except Exception as exc:
                lost = self._lost_reply(exc)
                if lost is None:
                    raise
                progress.resuming = True
                progress.lost += lost
                failures += 1
                current = None
                self._resume(exc, failures)
                continue
            received += len(out) + len(err)
            if received > MAX_OUTPUT_BYTES:
                self._end_command(current, shell_id, command_id)
                raise ReplyTooLarge(
                    f"{self.host.name}: the script printed more than {MAX_OUTPUT_BYTES // (1024 * 1024)} MiB; "
                    "it was stopped and its output dropped",
                    "no script of ours prints that much: look for a template override or a stray "
                    "Write-Output in a loop",
                    command_started=True,
                )
            emit("stdout", stdout.decode(out), out_parts)
            emit("stderr", stderr.feed(err), err_parts)
            if done:
                emit("stdout", stdout.decode(b"", final=True), out_parts)
                emit("stderr", stderr.finish(), err_parts)
                return CommandResult("".join(out_parts), "".join(err_parts), exit_code)

    def _lost_reply(self, exc: BaseException) -> int | None:
        """How a failed Receive (or the new connection for one) is resumed: 1 when its reply may have carried
        output that is now lost (a read timeout, or a connection dropped after the request may have reached
        the host), 0 when nothing was consumed (a new connection that failed, or a 401 on a connection that
        had authenticated: the host refused the request), None when the failure is not about the connection.

        The shell and command outlive the TCP connection: WS-Man addresses them by the ShellId selector and
        the CommandId attribute in each request (MS-WSMV 3.1.4.14 Receive: DesiredStream's CommandId), not
        by connection, and this transport's `interrupt`/`abort`/`close` already Signal and Delete them over
        connections of their own, as Ansible's winrm plugin does for its cleanup Signal ("the cleanup msg is
        sent over a new socket", lib/ansible/plugins/connection/winrm.py, _winrm_exec)."""
        if isinstance(exc, requests.exceptions.ReadTimeout | requests.exceptions.ConnectionError):
            return 1
        if isinstance(exc, wexc.InvalidCredentialsError) and self._proven and self.conn.transport in _PER_CONNECTION:
            return 0
        if isinstance(exc, TransportError) and exc.transient:  # from _ensure_protocol: no Receive went out
            return 0
        return None

    def _resume(self, exc: BaseException, failures: int) -> None:
        """Drop the broken connection and wait (backoff, ended by an interrupt) before reading the same
        command again on a new one; after the host's retry attempts, fail without running it again."""
        self._drop_connection()
        error = classify(exc, self.conn, stage="read the output", command_started=True, secrets=self._secrets)
        if failures > self.host.retry.attempts:
            raise self._resume_failed(error)
        self.retries.append(error)
        self._stopped.wait(random.uniform(0, min(self.backoff.maximum, self.backoff.initial * 2**failures)))

    def _resume_failed(self, cause: TransportError) -> ResumeFailed:
        return ResumeFailed(
            f"{self.host.name}: the output of the script was lost after it started, and reading it again failed "
            f"({cause.message}). The script may still be running on the host; "
            + ("it changes nothing, so it was run again while the retry policy allowed" if self._read_only
               else "it is not run again, so that it cannot run twice at once"),
            "wait for the host to answer again (check its network and WinRM service) and run the same command: "
            "it re-reads the host as it is now. The script's shell is stopped with a Signal and deleted when the "
            "host answers before this run ends; otherwise WinRM removes it after its idle timeout",
            transient=self._read_only,  # a read-only script may run twice at once: it changes nothing
            command_started=True,
        )

    def _output_lost(self, lost: int, exit_code: int) -> OutputLost:
        return OutputLost(
            f"{self.host.name}: the script ran to its end on the host (exit code {exit_code}), but "
            f"{'a reply' if lost == 1 else f'{lost} replies'} of the host on the way back "
            f"{'was' if lost == 1 else 'were'} lost (a read "
            "timeout or a dropped connection), with whatever part of its output they carried. "
            + ("It changes nothing, so it was run again while the retry policy allowed" if self._read_only
               else "Its outcome is unknown and it is not run again"),
            "run the same command again: it re-reads the host as it is now and plans only what is left; check "
            "the network and raise ansible_winrm_read_timeout_sec if the host is slow to answer",
            transient=self._read_only,  # a read-only script is simply run again
            command_started=True,
        )

    def _end_command(self, protocol: Protocol | None, shell_id: str, command_id: str) -> None:
        """Signal terminate (frees the command on the host). If that fails, the shell is replaced (and the
        command is signalled again before its shell is deleted)."""
        try:
            (protocol or self._ensure_protocol()).cleanup_command(shell_id, command_id)
        except Exception as exc:
            log.debug("signalling the command on %s failed: %s", self.host.name, type(exc).__name__)
            self._abandon_shell(command_id)


def _quietly_close(protocol: Protocol) -> None:
    try:
        protocol.transport.close_session()
    except Exception as exc:  # an interrupt's own connection: nothing left to do with it
        log.debug("closing an interrupt connection failed: %s", type(exc).__name__)


def _release(transport: Any) -> None:
    """Break the reference cycles of a closed connection, so that its objects (the session, its adapters and
    pools) go when the last reference does, not at the next full run of the cyclic garbage collector, which
    walks every object alive. The methods put on this one transport (PreparedTemplate's send_message,
    capped_setup) hold it; pywinrm's message Encryption keeps bound methods of itself as attributes
    (winrm/encryption.py: `self._build_message = self._build_ntlm_message`) and holds the session."""
    for name in ("send_message", "setup_encryption"):
        vars(transport).pop(name, None)
    encryption = getattr(transport, "encryption", None)
    if encryption is not None and hasattr(encryption, "__dict__"):
        for name, value in list(vars(encryption).items()):
            if getattr(value, "__self__", None) is encryption:
                del vars(encryption)[name]


def _no_environment(session: requests.Session) -> None:
    """No proxy, netrc or CA-bundle lookups in the environment on each request (`trust_env = False`), and no
    redirect followed (`max_redirects = 0`).

    pywinrm builds the session once (winrm/transport.py build_session): it reads the environment there, once,
    and we pass `proxy=None`, so it sets `proxies = {"no_proxy": "*"}` (no proxy for any host). With
    `trust_env` left on, requests still asked the environment on every `Session.send` (requests/sessions.py:
    `resolve_proxies` -> `should_bypass_proxies` -> urllib's `getproxies_environment`, which scans all of
    os.environ), about a tenth of the orchestrator's CPU per request in the fleet benchmark, to reach the
    same answer; and for certificate authentication (no `session.auth`) `prepare_request` would read
    ~/.netrc and could add a Basic header from it. The certificate check settings pywinrm chose
    (`session.verify`) are kept as they are.
    """
    session.trust_env = False
    # And no redirect followed: requests would re-send the POST (307/308) or turn it into a GET (301-303)
    # at the Location; with no redirect allowed it raises TooManyRedirects before sending anything there,
    # which errors.classify reports as the refused redirect (as transport/exchange.py does for Basic).
    # Windows' own client follows one only with PowerShell's -AllowRedirection (default off).
    session.max_redirects = 0


_CLIXML_HEADER = "#< CLIXML"
_OBJS = re.compile(r"<Objs\b.*?</Objs>", re.DOTALL)
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PREFIX = {"warning": "WARNING: ", "verbose": "VERBOSE: ", "debug": "DEBUG: "}


def clixml_to_text(document: str) -> str:
    """One `<Objs>` CLIXML document -> the text of its error/warning/verbose strings.

    Progress records (`<Obj S="progress">`) carry no text for the admin and are dropped; `_xHHHH_` escapes
    (PowerShell's encoding of CR, LF and other characters) are decoded.
    """
    root = ET.fromstring(document)
    lines: list[str] = []
    for element in root:
        if element.tag.rsplit("}", 1)[-1] != "S" or element.text is None:
            continue
        text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), element.text)
        lines.append(_PREFIX.get((element.get("S") or "").lower(), "") + text)
    return "".join(lines).replace("\r\n", "\n")


class ClixmlStream:
    """Turns powershell.exe's stderr, which may be CLIXML split over several Receives, into readable text.

    One leading UTF-8 byte order mark is dropped before the CLIXML header is looked for ("utf-8-sig"): in a
    shell of code page 65001 .NET's console encoding is UTF-8 *with* BOM ("System.Console unexpectedly uses a
    UTF-8 encoding with BOM on Windows", dotnet/corefx#35950), and pywinrm's own header test misses CLIXML
    behind one ("The correct test is: msg.startswith(codecs.BOM_UTF8+"#< CLIXML")", diyan/pywinrm#111).
    Whether powershell.exe 3.0/4.0 writes it on a real 2012 host is unverified (docs/real-hosts.md)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._buffer = ""
        self._clixml: bool | None = None

    def feed(self, data: bytes) -> str:
        self._buffer += self._decoder.decode(data)
        if self._clixml is None:
            if len(self._buffer) < len(_CLIXML_HEADER) and _CLIXML_HEADER.startswith(self._buffer):
                return ""
            self._clixml = self._buffer.startswith(_CLIXML_HEADER)
        if not self._clixml:
            text, self._buffer = self._buffer, ""
            return text
        return self._complete_documents()

    def _complete_documents(self) -> str:
        texts: list[str] = []
        end = 0
        for match in _OBJS.finditer(self._buffer):
            try:
                texts.append(clixml_to_text(match.group(0)))
            except ET.ParseError:
                texts.append(match.group(0))
            end = match.end()
        if end:
            self._buffer = self._buffer[end:]
        return "".join(texts)

    def finish(self) -> str:
        self._buffer += self._decoder.decode(b"", final=True)
        text = self._complete_documents() if self._clixml else ""
        rest = self._buffer.replace(_CLIXML_HEADER, "", 1).strip() if self._clixml else self._buffer
        self._buffer = ""
        return text + rest
