"""A fake WinRM server on 127.0.0.1 that speaks WS-Management as a Windows host does.

It runs whatever command line it is given the way a host would: `powershell.exe ... -EncodedCommand <b64>` is
decoded (UTF-16LE) and the decoded script plus the stdin the client sent are handed to a simulator's
`run(script, stdin)` unchanged. The server never looks inside the script, so the transport's stdin bootstrap
is exercised exactly as Windows would run it.

One server serves many hosts, routed by URL path: `/wsman` is the default host, `/wsman/<name>` another one
(the benchmarks put 200 simulated hosts behind one server). Every connection gets its own thread and stays
open (HTTP/1.1 keep-alive), as WinRM's HTTP.sys listener does; NTLM state lives on the connection.

Authentication: Basic, NTLM (pyspnego acceptor) with MS-WSMV message encryption, and client certificates over
TLS. TLS uses a trustme test CA. Counters and fault injection are described on `FakeWinRMServer`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.server
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote

from . import wsman
from .ntlm import CONTENT_TYPE as ENCRYPTED_CONTENT_TYPE
from .ntlm import PROTOCOL as ENCRYPTION_PROTOCOL
from .ntlm import Acceptor, NTLMFailure, write_user_file

AuthMethod = Literal["basic", "ntlm", "certificate"]
Effect = Literal["status", "drop", "delay", "timeout", "quota", "unauthorized", "malformed", "oversize"]
MUTUAL_AUTH = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
CMD_LINE_LIMIT = 8191  # cmd.exe's maximum command-line length
# The NTSTATUS a console process ends with when Ctrl-C ends it, STATUS_CONTROL_C_EXIT (0xC000013A, as the
# signed 32-bit exit code): learn.microsoft.com/openspecs/windows_protocols/ms-erref (2.3.1 NTSTATUS Values).
STATUS_CONTROL_C_EXIT = -1073741510


class SimulatorLike(Protocol):
    def run(self, script: str, stdin: str = "", *, codepage: int = 65001) -> Any: ...


@dataclass
class Rule:
    """One injected fault: applies to the next `times` matching requests after skipping `after` of them.

    Matching happens after authentication, on requests that carry a WS-Man envelope; `action` is the short
    name (Create, Command, Send, Receive, Signal, Delete) or None for any.
    """

    effect: Effect
    action: str | None = None
    times: int = 1
    after: int = 0
    status: int = 503
    delay: float = 0.0
    processed: bool = False  # for "drop", "delay", "timeout": handle the request first (see the methods)
    size: int = 0  # for "oversize": bytes of reply body
    chunked: bool = False  # for "oversize": no Content-Length, chunked transfer encoding
    seen: int = 0
    fired: int = 0

    def matches(self, action: str) -> bool:
        if self.fired >= self.times or (self.action is not None and self.action != action):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        self.fired += 1
        return True


@dataclass
class Command:
    id: str
    line: str
    skip_cmd_shell: bool
    stdin: bytearray = field(default_factory=bytearray)
    stdin_closed: bool = False
    pending: list[tuple[str, bytes]] | None = None  # None until the command has run
    exit_code: int = 0
    timeouts_left: int = 0
    script: str | None = None
    # How long it runs before its output is ready (FakeWinRMServer.command_duration), when it finishes (set
    # at the first Receive after its stdin ended), and whether Signal ctrl_c/terminate or Delete stopped it.
    duration: float = 0.0
    ready_at: float | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    # One Receive at a time takes its output: a client that gave up on a Receive may ask again on another
    # connection while the first is still being answered.
    output_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Shell:
    id: str
    host: str
    user: str
    codepage: int
    commands: dict[str, Command] = field(default_factory=dict)


@dataclass
class FakeHost:
    name: str
    simulator: SimulatorLike
    lock: threading.Lock = field(default_factory=threading.Lock)
    commands_run: int = 0
    commands_started: int = 0  # WS-Man Commands received for this host (the ordinal command_duration sees)


class _Dropped(Exception):
    """Raised inside a handler to close the connection without answering."""


class _Oversized(Exception):
    """Raised inside a handler to answer with a huge body (streamed, never held in memory)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule


class FakeWinRMServer:
    """The fake. Use as a context manager, or start()/stop().

    Hosts: `FakeWinRMServer(simulator)` serves it at `/wsman`; `add_host(name, sim)` serves `/wsman/<name>`;
    `simulator_factory(name)` creates hosts on first use (for benchmarks with many hosts).
    `url(name="")` gives the endpoint to pass to a client.

    Counters (`stats()`, a dict):
    - requests: HTTP POSTs (NTLM handshakes included); connections: TCP connections accepted
    - commands: WS-Man Commands; shells_created; shells_open (also `open_shells()`, asserted to be 0 after tests)
    - auth_failures: credentials refused; auth_required: 401 to a request without credentials (NTLM's normal
      first step); auth_challenges: NTLM challenges sent; encrypted_requests: NTLM-sealed messages
    - connection_errors: failed TLS handshakes and the like; `action:<Create|Command|...>`: per operation
    - per host: `hosts[name].commands_run`, the scripts run on it
    - receives_before_stdin_end: Receives answered w:TimedOut because the script reads stdin to its end and
      the client never sent End="true" (`_reads_stdin_to_end`); sends_after_stdin_end: Sends refused after it

    Fault knobs (attributes, change them at any time):
    - latency: seconds added before every request is answered
    - timeouts_before_output: each command answers its first N Receives with the w:TimedOut fault
    - timeout_wait: how long such a Receive waits first, and one on a command still waiting for the end of
      its stdin (None: the request's OperationTimeout, like Windows)
    - slow_receive: seconds every Receive waits before answering (to trip a client's read timeout)
    - output_chunk: at most this many bytes of output per Receive reply (streaming)
    - max_shells: MaxShellsPerUser; Create beyond it gets fault 2150859173
    - command_line_limit: cmd.exe's 8191 characters (None: no limit); too long -> "The command line is too
      long." on stderr, exit 1, as cmd.exe does
    - command_duration(host, n) -> seconds: the n-th command on that host (1 = the first) runs that long
      before its output is ready (a long apply script). Meanwhile each Receive waits up to the request's
      OperationTimeout and answers w:TimedOut, as Windows does; Signal ctrl_c ends it (Done, exit code
      STATUS_CONTROL_C_EXIT, the script never ran on the simulator), Signal terminate or Delete of its
      shell removes it; a Receive waiting on it is answered at once. `signals` lists every Signal as
      (shell id, command id, code), `deleted_shells` every shell deleted; the counter
      `shells_deleted_under_a_command` counts Deletes of a shell whose command was still running
    - allow_unencrypted: the host's AllowUnencrypted; False answers 401 to unencrypted messages over HTTP
    - max_envelope_kb: MaxEnvelopeSizekb, which also limits a request's SOAP envelope (MS-WSMV 2.2.4.10: "SHOULD
      be 500 but MAY be 150"; 150, the smaller, by default); a larger request gets the w:EncodingLimit fault.
      None: no limit
    - max_timeout_ms: MaxTimeoutms (60000 by default, MS-WSMV 2.2.4.10's schema); a request whose
      OperationTimeout is larger gets a fault, as a stock host answers it. None: no limit
    - stdin_reader(data, codepage) -> str: what powershell.exe ends up reading from the stdin bytes it was
      sent (None: all of them, decoded in the shell's code page, as MS-WSMV 3.1.4.5.2 says WINRS_CODEPAGE
      sets it). A test gives it a host that reads otherwise (another code page, a part of it), which no
      page rules out and the bootstrap's check must catch (orchestrator.transport.stdin)

    One-shot faults (each matches `times` requests of `action`, or any, after skipping `after` of them):
    fail(status) answers an HTTP error; drop() closes the connection without an answer (processed=True:
    after handling the request); delay(seconds); timeout() answers w:TimedOut; quota() the shell-quota
    fault; unauthorized() 401; malformed() an unusable envelope. reboot(seconds) drops every connection and
    shell and refuses new connections (no listener on the port) for that long.
    """

    def __init__(
        self,
        simulator: SimulatorLike | None = None,
        *,
        users: dict[str, str] | None = None,
        auth: tuple[AuthMethod, ...] = ("basic", "ntlm"),
        tls: Any = None,
        allow_unencrypted: bool = True,
        simulator_factory: Callable[[str], SimulatorLike] | None = None,
        machine: str = "HV-FAKE",
    ) -> None:
        self.users = dict(users or {"admin": "Passw0rd!"})
        self.auth = tuple(auth)
        self.ca = tls  # a trustme.CA, or None for plain HTTP
        self.allow_unencrypted = allow_unencrypted
        self.simulator_factory = simulator_factory
        self.machine = machine
        self.hosts: dict[str, FakeHost] = {}
        self._lock = threading.RLock()
        if simulator is not None:
            self.add_host("", simulator)

        self.latency = 0.0
        self.timeouts_before_output = 0
        self.timeout_wait: float | None = 0.0
        self.slow_receive = 0.0
        self.output_chunk = 32768
        self.max_shells: int | None = None
        self.command_line_limit: int | None = CMD_LINE_LIMIT
        self.max_envelope_kb: int | None = 150
        self.max_timeout_ms: int | None = 60_000
        self.stdin_reader: Callable[[bytes, int], str] | None = None
        self.command_duration: Callable[[str, int], float] | None = None
        self.signals: list[tuple[str, str, str]] = []
        self.deleted_shells: list[str] = []
        self.created_shells: list[str] = []
        self.rules: list[Rule] = []

        self._shells: dict[str, Shell] = {}
        self._counters: Counter[str] = Counter()
        self._clients: set[socket.socket] = set()
        self._down_until = 0.0
        self._placeholder: socket.socket | None = None  # holds the port while a reboot has no listener on it
        self._reopen: threading.Timer | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-winrm-")
        self.user_file = Path(self._tmp.name) / "ntlm-users"
        write_user_file(self.user_file, self.users)
        self._httpd: _HTTPServer | None = None
        self._port = 0
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> FakeWinRMServer:
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        if self.ca is not None:
            cert = self.ca.issue_cert("127.0.0.1", "localhost")
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(ctx)
            if "certificate" in self.auth:
                self.ca.configure_trust(ctx)
                ctx.verify_mode = ssl.CERT_OPTIONAL
            httpd.ssl_context = ctx
        self._httpd = httpd
        self._port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._reopen is not None:
                self._reopen.cancel()
            httpd, self._httpd = self._httpd, None
            holder, self._placeholder = self._placeholder, None
        if holder is not None:
            holder.close()  # stopped while "down": the accept loop has ended already
        elif httpd is not None:
            httpd.shutdown()
        if httpd is not None:
            httpd.server_close()
            self._close_clients()
        self._tmp.cleanup()

    def __enter__(self) -> FakeWinRMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._port, "start() the server first"
        return self._port

    @property
    def scheme(self) -> str:
        return "https" if self.ca is not None else "http"

    def url(self, host: str = "") -> str:
        path = "/wsman" + (f"/{host}" if host else "")
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def add_host(self, name: str, simulator: SimulatorLike) -> FakeHost:
        with self._lock:
            self.hosts[name] = FakeHost(name, simulator)
            return self.hosts[name]

    # ---- counters ----------------------------------------------------------------------------------------
    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counters[key] += n

    def stats(self) -> dict[str, int]:
        with self._lock:
            snapshot = dict(self._counters)
            snapshot["shells_open"] = len(self._shells)
        for key in (
            "requests",
            "connections",
            "commands",
            "shells_created",
            "auth_failures",
            "auth_required",
            "auth_challenges",
            "encrypted_requests",
        ):
            snapshot.setdefault(key, 0)
        return snapshot

    def open_shells(self) -> int:
        with self._lock:
            return len(self._shells)

    def commands(self) -> list[Command]:
        with self._lock:
            return [c for s in self._shells.values() for c in s.commands.values()]

    # ---- fault injection ---------------------------------------------------------------------------------
    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def fail(self, status: int = 503, action: str | None = None, times: int = 1, after: int = 0) -> Rule:
        return self._add(Rule("status", action, times, after, status=status))

    def drop(
        self, action: str | None = None, times: int = 1, after: int = 0, processed: bool = False
    ) -> Rule:
        """Close the connection without answering; `processed=True` handles the request first (the reply
        is lost on the way, e.g. output a Receive already took from the command)."""
        return self._add(Rule("drop", action, times, after, processed=processed))

    def delay(
        self, seconds: float, action: str | None = None, times: int = 1, after: int = 0, processed: bool = False
    ) -> Rule:
        """Wait `seconds` before handling the request; `processed=True` handles it first and holds its reply
        back that long (a Receive answered after the client's read timeout: the output it took from the
        command, if any, is lost with it, while the command itself goes on running)."""
        return self._add(Rule("delay", action, times, after, delay=seconds, processed=processed))

    def timeout(
        self, action: str | None = None, times: int = 1, after: int = 0, processed: bool = False
    ) -> Rule:
        """Answer the w:TimedOut fault; `processed=True` handles the request first (a Send under severe load:
        "On manual testing the input is still processed", Ansible's winrm plugin, _winrm_write_stdin)."""
        return self._add(Rule("timeout", action, times, after, processed=processed))

    def quota(self, times: int = 1, after: int = 0) -> Rule:
        return self._add(Rule("quota", "Create", times, after))

    def unauthorized(self, action: str | None = None, times: int = 1, after: int = 0) -> Rule:
        return self._add(Rule("unauthorized", action, times, after))

    def malformed(self, action: str | None = None, times: int = 1, after: int = 0) -> Rule:
        """Answer 200 with an envelope that lacks what the client needs (a broken proxy or a buggy server)."""
        return self._add(Rule("malformed", action, times, after))

    def oversize(
        self, size: int, action: str | None = None, *, chunked: bool = False, times: int = 1
    ) -> Rule:
        """Answer 200 with a `size`-byte body (a broken proxy or a hostile endpoint), with a Content-Length
        or, `chunked=True`, without one. Bytes written before the client hung up are counted in `oversize_bytes_sent`."""
        return self._add(Rule("oversize", action, times, size=size, chunked=chunked))

    def expire_shells(self) -> int:
        """The host's idle timeout passes: every shell is deleted (as WinRM does to idle shells). Returns how
        many there were."""
        with self._lock:
            count = len(self._shells)
            self._shells.clear()
        return count

    def reboot(self, seconds: float) -> None:
        """The host restarts: connections drop, shells vanish, new connections are refused for `seconds`.

        Refused at the TCP level, as a rebooting Windows host refuses them: while the port has no listener,
        the OS answers a SYN with RST ("If the connection does not exist (CLOSED) then a reset is sent in
        response to any incoming segment except another reset", RFC 9293 3.5.2), and the client's connect()
        fails with ECONNREFUSED before any byte of a request is sent (urllib3 NewConnectionError). So the
        listener is closed for `seconds` and listens again on the same port after; a socket bound to the port
        (SO_REUSEPORT, not listening) holds it meanwhile, so no other socket can take it. A host that is
        powered off or not yet on the network answers nothing at all instead (a connect timeout); the fake
        does not model that slower case (reasoned)."""
        with self._lock:
            self._down_until = time.monotonic() + seconds
            self._shells.clear()
        self._stop_listening()
        self._close_clients()
        if seconds <= 0:
            self._listen_again()
        else:
            timer = threading.Timer(seconds, self._listen_again)
            timer.daemon = True
            with self._lock:
                if self._reopen is not None:
                    self._reopen.cancel()
                self._reopen = timer
            timer.start()

    def _stop_listening(self) -> None:
        httpd = self._httpd
        if httpd is None:
            return
        with self._lock:
            if self._placeholder is not None:
                return  # down already: the timer of this reboot brings it back
            holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            holder.bind(("127.0.0.1", self._port))
            self._placeholder = holder
        httpd.shutdown()  # the accept loop ends (never called from its own thread: handlers run in others)
        if self._thread is not None:
            self._thread.join()
        httpd.socket.close()  # connections still in the backlog are reset, as by a host going down

    def _listen_again(self) -> None:
        with self._lock:
            holder, self._placeholder = self._placeholder, None
            self._reopen = None
            httpd = self._httpd
            if holder is None:
                return
            if httpd is None:  # stopped meanwhile
                holder.close()
                return
            holder.listen(httpd.request_queue_size)
            httpd.socket = holder
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()

    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _match_rules(self, action: str) -> list[Rule]:
        with self._lock:
            return [r for r in self.rules if r.matches(action)]

    def _close_clients(self) -> None:
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # ---- WS-Man operations -------------------------------------------------------------------------------
    def _host(self, name: str) -> FakeHost | None:
        with self._lock:
            host = self.hosts.get(name)
            if host is None and self.simulator_factory is not None:
                host = self.add_host(name, self.simulator_factory(name))
            return host

    def handle(self, host: FakeHost, req: wsman.Request, user: str, address: str) -> tuple[int, bytes]:
        """One authenticated WS-Man request -> (HTTP status, reply envelope)."""
        lose_reply = time_out = False
        hold = 0.0
        for rule in self._match_rules(req.action):
            if rule.effect == "delay" and rule.processed:
                hold += rule.delay
            elif rule.effect == "delay":
                time.sleep(rule.delay)
            elif rule.effect == "drop" and rule.processed:
                lose_reply = True
            elif rule.effect == "drop":
                raise _Dropped
            elif rule.effect == "status":
                return rule.status, b""
            elif rule.effect == "timeout" and rule.processed:
                time_out = True
            elif rule.effect == "timeout":
                return 500, wsman.timed_out_fault(req.message_id)
            elif rule.effect == "quota":
                return 500, wsman.max_shells_fault(req.message_id)
            elif rule.effect == "unauthorized":
                return 401, b""
            elif rule.effect == "oversize":
                raise _Oversized(rule)
            elif rule.effect == "malformed":
                # Well-formed XML, but not what a WS-Man client can use (no ShellId, CommandId or RelatesTo).
                return (
                    200,
                    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>',
                )
        op = getattr(self, f"_op_{req.action}", None)
        if op is None:
            return 500, wsman.schema_fault(req.message_id, f"unsupported action {req.action}")
        reply = op(host, req, user, address)
        if hold:
            time.sleep(hold)
        if lose_reply:
            raise _Dropped
        if time_out:
            return 500, wsman.timed_out_fault(req.message_id)
        return reply

    def _shell(self, host: FakeHost, req: wsman.Request) -> Shell | None:
        with self._lock:
            shell = self._shells.get(req.shell_id or "")
            return shell if shell is not None and shell.host == host.name else None

    def _op_Create(self, host: FakeHost, req: wsman.Request, user: str, address: str) -> tuple[int, bytes]:
        with self._lock:
            mine = sum(1 for s in self._shells.values() if s.user == user)
            if self.max_shells is not None and mine >= self.max_shells:
                return 500, wsman.max_shells_fault(req.message_id)
            shell_id = str(uuid.uuid4()).upper()
            codepage = int(req.options.get("WINRS_CODEPAGE", "437") or 437)
            self._shells[shell_id] = Shell(shell_id, host.name, user, codepage)
            self._counters["shells_created"] += 1
            self.created_shells.append(shell_id)
        return 200, wsman.create_response(req, shell_id, address)

    def _op_Delete(self, host: FakeHost, req: wsman.Request, user: str, address: str) -> tuple[int, bytes]:
        with self._lock:
            shell = self._shell(host, req)
            if shell is None:
                return 500, wsman.shell_not_found_fault(req.message_id)
            del self._shells[shell.id]
            self.deleted_shells.append(shell.id)
            # A command whose stdin ended and that is neither Done nor signalled is still running: deleting
            # its shell kills it mid-change (counted, so tests can assert it never happens).
            if any(c.stdin_closed and c.pending is None for c in shell.commands.values()):
                self._counters["shells_deleted_under_a_command"] += 1
        for cmd in list(shell.commands.values()):
            cmd.stopped.set()  # the shell's processes end with it
        return 200, wsman.empty_response(req)

    def _op_Command(self, host: FakeHost, req: wsman.Request, user: str, address: str) -> tuple[int, bytes]:
        shell = self._shell(host, req)
        if shell is None:
            return 500, wsman.shell_not_found_fault(req.message_id)
        element = req.find("rsp:CommandLine/rsp:Command")
        command = (element.text or "") if element is not None else ""
        arguments = [a.text or "" for a in req.findall("rsp:CommandLine/rsp:Arguments")]
        line = " ".join([command.strip(), *arguments]).strip()
        cmd = Command(
            id=str(uuid.uuid4()).upper(),
            line=line,
            skip_cmd_shell=req.options.get("WINRS_SKIP_CMD_SHELL", "FALSE").upper() == "TRUE",
            timeouts_left=self.timeouts_before_output,
        )
        with self._lock:
            host.commands_started += 1
            if self.command_duration is not None:
                cmd.duration = self.command_duration(host.name, host.commands_started)
            shell.commands[cmd.id] = cmd
            self._counters["commands"] += 1
        return 200, wsman.command_response(req, cmd.id)

    def _command(self, shell: Shell, element: wsman.ET.Element | None) -> Command | None:
        if element is None:
            return None
        return shell.commands.get(element.get("CommandId", ""))

    def _op_Send(self, host: FakeHost, req: wsman.Request, user: str, address: str) -> tuple[int, bytes]:
        shell = self._shell(host, req)
        if shell is None:
            return 500, wsman.shell_not_found_fault(req.message_id)
        stream = req.find("rsp:Send/rsp:Stream")
        cmd = self._command(shell, stream)
        if cmd is None or stream is None:
            return 500, wsman.schema_fault(req.message_id, "Send names no known CommandId")
        if cmd.stdin_closed:
            # The client ended this stdin already (End="true"): the pipe is closed, and no more can be
            # written to it. Refused with the fake's protocol-refusal fault; what code Windows answers is
            # unverified (reasoned: nothing is appended to a closed stdin).
            self._counters["sends_after_stdin_end"] += 1
            return 500, wsman.schema_fault(req.message_id, "Send after the command's stdin ended (End=true)")
        try:
            cmd.stdin += base64.b64decode(stream.text or "", validate=True)
        except binascii.Error:
            return 500, wsman.schema_fault(req.message_id, "stdin is not base64")
        if stream.get("End", "false").lower() == "true":
            cmd.stdin_closed = True
        return 200, wsman.empty_response(req, "<rsp:SendResponse/>")

    def _op_Receive(self, host: FakeHost, req: wsman.Request, user: str, address: str) -> tuple[int, bytes]:
        shell = self._shell(host, req)
        if shell is None:
            return 500, wsman.shell_not_found_fault(req.message_id)
        cmd = self._command(shell, req.find("rsp:Receive/rsp:DesiredStream"))
        if cmd is None:
            return 500, wsman.schema_fault(req.message_id, "Receive names no known CommandId")
        if self.slow_receive:
            time.sleep(self.slow_receive)
        if cmd.pending is None and not cmd.stdin_closed and self._reads_stdin_to_end(cmd):
            # Still reading stdin, which the client never ended (_reads_stdin_to_end): nothing ran, and the
            # Receive is held like one on a running command, then answered w:TimedOut (reasoned).
            wait = req.operation_timeout if self.timeout_wait is None else self.timeout_wait
            if wait:
                cmd.stopped.wait(wait)
            gone = self._command(shell, req.find("rsp:Receive/rsp:DesiredStream")) is None
            if gone or self._shell(host, req) is None:  # terminated, or its shell deleted, meanwhile
                return 500, wsman.shell_not_found_fault(req.message_id)
            if cmd.pending is None:
                self._counters["receives_before_stdin_end"] += 1
                return 500, wsman.timed_out_fault(req.message_id)
        if cmd.timeouts_left > 0:
            cmd.timeouts_left -= 1
            wait = req.operation_timeout if self.timeout_wait is None else self.timeout_wait
            if wait:
                time.sleep(wait)
            return 500, wsman.timed_out_fault(req.message_id)
        if cmd.pending is None and cmd.duration > 0 and cmd.stdin_closed:
            if cmd.ready_at is None:
                cmd.ready_at = time.monotonic() + cmd.duration
            remaining = cmd.ready_at - time.monotonic()
            if remaining > 0:
                # Still running: Windows holds the Receive up to OperationTimeout, then answers w:TimedOut.
                cmd.stopped.wait(min(remaining, req.operation_timeout or 20.0))
                gone = self._command(shell, req.find("rsp:Receive/rsp:DesiredStream")) is None
                if gone or self._shell(host, req) is None:  # terminated, or its shell deleted, meanwhile
                    return 500, wsman.shell_not_found_fault(req.message_id)
                if cmd.pending is None and cmd.ready_at - time.monotonic() > 0:
                    return 500, wsman.timed_out_fault(req.message_id)
        with cmd.output_lock:
            if cmd.pending is None:
                self._execute(host, shell, cmd)
            assert cmd.pending is not None
            budget = max(1, self.output_chunk)
            chunks: list[tuple[str, bytes]] = []
            while cmd.pending and budget > 0:
                name, data = cmd.pending[0]
                take, rest = data[:budget], data[budget:]
                chunks.append((name, take))
                budget -= len(take)
                if rest:
                    cmd.pending[0] = (name, rest)
                else:
                    cmd.pending.pop(0)
            done = not cmd.pending
        return 200, wsman.receive_response(req, cmd.id, chunks, cmd.exit_code if done else None)

    def _op_Signal(self, host: FakeHost, req: wsman.Request, user: str, address: str) -> tuple[int, bytes]:
        shell = self._shell(host, req)
        if shell is None:
            return 500, wsman.shell_not_found_fault(req.message_id)
        signal = req.find("rsp:Signal")
        if signal is not None:
            code = (signal.findtext("rsp:Code", default="", namespaces=wsman.NS) or "").strip()
            command_id = signal.get("CommandId", "")
            with self._lock:
                self.signals.append((shell.id, command_id, code))
                self._counters[f"signal:{code.rsplit('/', 1)[-1]}"] += 1
                if code.endswith("/signal/ctrl_c"):
                    cmd = shell.commands.get(command_id)
                    if cmd is not None and cmd.pending is None:
                        # Ctrl-C ends the running process: no output, STATUS_CONTROL_C_EXIT.
                        cmd.pending, cmd.exit_code = [], STATUS_CONTROL_C_EXIT
                        cmd.stopped.set()
                else:  # terminate: the command and what the service keeps for it are gone (MS-WSMV 2.2.4.38)
                    cmd = shell.commands.pop(command_id, None)
                    if cmd is not None:
                        cmd.stopped.set()
        return 200, wsman.empty_response(req, "<rsp:SignalResponse/>")

    # ---- running a command line as Windows would ---------------------------------------------------------
    def _execute(self, host: FakeHost, shell: Shell, cmd: Command) -> None:
        """Run the command line: cmd.exe's limit, then powershell.exe's -EncodedCommand, then the simulator.

        The script runs at the first Receive with the stdin it was sent. A script that reads stdin to its end
        runs only once the client ended it (End=true); until then _op_Receive answers w:TimedOut.
        """
        codec = "utf-8" if shell.codepage == 65001 else f"cp{shell.codepage}"
        data = bytes(cmd.stdin)
        stdin = self.stdin_reader(data, shell.codepage) if self.stdin_reader else data.decode(codec, errors="replace")
        stdout, stderr, code = self._run_line(host, shell, cmd, stdin)
        cmd.exit_code = code
        cmd.pending = [
            ("stdout", stdout.encode(codec, errors="replace")),
            ("stderr", stderr.encode(codec, errors="replace")),
        ]

    def _script(self, cmd: Command) -> str | tuple[str, str, int]:
        """The script powershell.exe would run for the command line, or cmd.exe's or powershell.exe's
        refusal as (stdout, stderr, exit code), which comes before anything reads stdin."""
        limit = self.command_line_limit
        if not cmd.skip_cmd_shell and limit is not None and len(cmd.line) > limit:
            return "", "The command line is too long.\r\n", 1
        tokens = cmd.line.split()
        exe = tokens[0].strip('"').lower().rsplit("\\", 1)[-1] if tokens else ""
        if exe not in {"powershell", "powershell.exe", "pwsh", "pwsh.exe"}:
            name = tokens[0] if tokens else ""
            return (
                "",
                (
                    f"'{name}' is not recognized as an internal or external command,\r\n"
                    "operable program or batch file.\r\n"
                ),
                9009,
            )
        script = None
        for index, token in enumerate(tokens[1:], start=1):
            flag = token.lower().lstrip("-/")
            if token.startswith(("-", "/")) and flag and "encodedcommand".startswith(flag):
                encoded = tokens[index + 1] if index + 1 < len(tokens) else ""
                try:
                    script = base64.b64decode(encoded, validate=True).decode("utf-16-le")
                except (binascii.Error, UnicodeDecodeError):
                    return (
                        "",
                        "Cannot process the command because the value of -EncodedCommand is invalid.\r\n",
                        1,
                    )
                break
            if token.startswith(("-", "/")) and flag and "command".startswith(flag) and len(flag) > 1:
                script = " ".join(tokens[index + 1 :])
                break
        if script is None:
            return "", "powershell.exe: this fake host needs -EncodedCommand or -Command.\r\n", 1
        return script

    def _reads_stdin_to_end(self, cmd: Command) -> bool:
        """Whether the command's process reads its stdin to the end before it writes anything: a script
        that calls [Console]::In.ReadToEnd(), as the product's bootstrap does (orchestrator.transport.stdin).

        TextReader.ReadToEnd "Reads all characters from the current position to the end of the text
        reader" (learn.microsoft.com, System.IO.TextReader.ReadToEnd), and a pipe's end comes only when the
        client sends End="true" (MS-WSMV 3.1.4.13 Send, rsp:Stream's End). jborean93 on diyan/pywinrm#271: without
        end=True "I cannot run a command like `powershell.exe -` as it's forever waiting for the stdin to
        finish sending it's input"; masterzen/winrm#82: commands "hang after consuming all data from
        standard input if they block waiting for standard input to be closed". A script that never reads
        stdin runs without it, as pywinrm's run_ps (which never sends any) does on Windows. PowerShell 2.0's
        console host, which read redirected stdin itself for -Command (psake/psake#72), is not modelled: no
        page says whether a later one still does (orchestrator.transport.stdin).
        """
        script = self._script(cmd)
        return isinstance(script, str) and "[console]::in.readtoend()" in script.lower()

    def _run_line(self, host: FakeHost, shell: Shell, cmd: Command, stdin: str) -> tuple[str, str, int]:
        script = self._script(cmd)
        if not isinstance(script, str):
            return script
        with host.lock:
            host.commands_run += 1
            cmd.script = script
            result = host.simulator.run(script, stdin, codepage=shell.codepage)
        stderr = str(result.stderr or "")
        if stderr and not stderr.startswith("#< CLIXML"):
            stderr = wsman.clixml_errors(stderr)
        return str(result.stdout or ""), stderr, int(result.exit_code)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_port = True  # so that reboot() can hold the port with a second, non-listening socket
    request_queue_size = 512  # listen backlog: the benchmarks open hundreds of connections at once
    fake: FakeWinRMServer
    ssl_context: ssl.SSLContext | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failed TLS handshake or a vanished client is counted, not printed."""
        self.fake.count("connection_errors")

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # A connection accepted in the instant a reboot begins is closed (reboot() stops listening).
        return not self.fake.is_down()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.request.close()
                raise
            self.request.settimeout(None)
        # Headers and body go out in separate writes; without NODELAY, Nagle plus delayed ACKs add ~40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
        self.fake = self.server.fake
        self.acceptor: Acceptor | None = None
        self.ntlm_user: str | None = None
        self.fake.count("connections")
        with self.fake._lock:
            self.fake._clients.add(self.request)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._clients.discard(self.request)
        with contextlib.suppress(OSError):
            super().finish()

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, OSError, _Dropped):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; the counters say what happened."""

    # ---- HTTP plumbing -----------------------------------------------------------------------------------
    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        if body and "Content-Type" not in headers:
            headers["Content-Type"] = (
                "application/soap+xml;charset=UTF-8" if body.startswith(b"<") else "text/plain; charset=utf-8"
            )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _challenge(self, token: str | None = None) -> None:
        if token is not None:
            self.fake.count("auth_challenges")
        elif self.headers.get("Authorization") or self.ntlm_user is not None:
            self.fake.count("auth_failures")  # credentials (or an NTLM session) were presented and refused
        else:
            self.fake.count("auth_required")  # the usual first 401 that tells a client which schemes to use
        self.send_response(401)
        if token is not None:
            self.send_header("WWW-Authenticate", f"Negotiate {token}")
        else:
            if "ntlm" in self.fake.auth:
                self.send_header("WWW-Authenticate", "Negotiate")
            if "basic" in self.fake.auth:
                self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.fake
        fake.count("requests")
        if fake.latency:
            time.sleep(fake.latency)
        path = unquote(self.path.split("?", 1)[0]).rstrip("/")
        if path != "/wsman" and not path.startswith("/wsman/"):
            self._reply(404, b"Not Found")
            return
        host = fake._host(path[len("/wsman/") :] if path.startswith("/wsman/") else "")
        if host is None:
            self._reply(404, b"Not Found")
            return

        encrypted = ENCRYPTION_PROTOCOL in (self.headers.get("Content-Type") or "")
        user = self._authenticate(raw, encrypted)
        if user is None:
            return
        if encrypted:
            fake.count("encrypted_requests")
            assert self.acceptor is not None
            try:
                raw = self.acceptor.decrypt(raw)
            except NTLMFailure:
                self._challenge()
                return
        elif not raw:
            # NTLM's empty POST that sets up the security context for message encryption.
            self._reply(200)
            return
        elif not isinstance(self.request, ssl.SSLSocket) and not fake.allow_unencrypted:
            self._challenge()
            return

        try:
            req = wsman.parse_request(raw)
        except wsman.RequestError as exc:
            self._send(500, wsman.schema_fault("", str(exc)), encrypted)
            return
        fake.count(f"action:{req.action}")
        if fake.max_envelope_kb is not None and len(raw) > fake.max_envelope_kb * 1024:
            fake.count("refused_envelopes")
            self._send(500, wsman.envelope_limit_fault(req.message_id, fake.max_envelope_kb), encrypted)
            return
        if (fake.max_timeout_ms is not None and req.operation_timeout is not None
                and req.operation_timeout * 1000 > fake.max_timeout_ms):
            fake.count("refused_timeouts")
            self._send(500, wsman.timeout_limit_fault(req.message_id, fake.max_timeout_ms), encrypted)
            return
        try:
            status, body = fake.handle(host, req, user, f"{fake.scheme}://127.0.0.1:{fake.port}{path}")
        except _Dropped:
            self._drop()
            return
        except _Oversized as big:
            self._stream_oversized(big.rule)
            return
        if status == 401:
            self._challenge()
            return
        if not body and status >= 400:
            self._reply(status, f"HTTP Error {status}. The service is unavailable.".encode())
            return
        self._send(status, body, encrypted)

    def _stream_oversized(self, rule: Rule) -> None:
        head = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        block = b"<x>" + b"A" * (65536 - 7) + b"</x>"
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        if rule.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(rule.size))
        self.end_headers()
        remaining = rule.size
        try:
            first = True
            while remaining > 0:
                data = (head if first else b"") + block
                data = data[:remaining]
                first = False
                if rule.chunked:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                else:
                    self.wfile.write(data)
                remaining -= len(data)
                self.fake.count("oversize_bytes_sent", len(data))
            if rule.chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass  # the client stopped reading and closed the connection

    def _send(self, status: int, body: bytes, encrypted: bool) -> None:
        if encrypted and self.acceptor is not None:
            self._reply(status, self.acceptor.encrypt(body), {"Content-Type": ENCRYPTED_CONTENT_TYPE})
        else:
            self._reply(status, body)

    def _authenticate(self, raw: bytes, encrypted: bool) -> str | None:
        """The user this request acts as, or None after answering 401 (or a challenge) to it."""
        fake = self.fake
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if header == MUTUAL_AUTH and "certificate" in fake.auth and isinstance(self.request, ssl.SSLSocket):
            cert = self.request.getpeercert()
            names = [v for k, v in (cert or {}).get("subjectAltName", ()) if k in ("email", "DNS")]
            if names:
                return names[0]
            self._challenge()
            return None
        if scheme == "basic" and "basic" in fake.auth:
            try:
                name, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                name, password = "", None
            secure = isinstance(self.request, ssl.SSLSocket) or fake.allow_unencrypted
            if password is not None and fake.users.get(name) == password and secure:
                return name
            self._challenge()
            return None
        if scheme in ("negotiate", "ntlm") and "ntlm" in fake.auth:
            try:
                token = base64.b64decode(value)
                if self.acceptor is None or self.acceptor.complete:
                    self.acceptor = Acceptor(fake.user_file)
                out = self.acceptor.step(token)
            except (NTLMFailure, binascii.Error):
                self.acceptor = None
                self._challenge()
                return None
            if not self.acceptor.complete:
                self._challenge(base64.b64encode(out or b"").decode())
                return None
            self.ntlm_user = self.acceptor.user or "ntlm"
            return self.ntlm_user
        if not header and self.ntlm_user is not None:
            return self.ntlm_user  # an NTLM-authenticated connection; do_POST enforces AllowUnencrypted
        self._challenge()
        return None
