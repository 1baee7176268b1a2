"""pywinrm's `Protocol` with its six shell requests built from fixed text (orchestrator.transport.envelopes).

Everything else is pywinrm's own: the HTTP session, authentication and message encryption (`transport`),
and `send_message`, which turns HTTP errors and SOAP faults into the exceptions `errors.classify` sorts
(WSManFaultError, WinRMOperationTimeoutError, WinRMTransportError, InvalidCredentialsError). The requests on
the wire are byte for byte those pywinrm 0.5.0 sends (tests/transport/test_transport_envelopes.py); only
building them no longer goes through xmltodict. Shell options this project never uses (a working
directory, environment variables, an idle timeout, other streams) are left to pywinrm's own code.

The HTTP request around each envelope is prepared once per session and copied (`PreparedTemplate`):
requests' `Session.prepare_request` merged the session's headers, cookies and auth anew for every message
(about 0.3 ms each, more than building the envelope did), although for one endpoint they never change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import requests
from winrm.protocol import Protocol

from orchestrator.transport import envelopes, exchange
from orchestrator.transport.envelopes import SIGNAL_TERMINATE, Envelopes


class WireProtocol(Protocol):
    """`winrm.protocol.Protocol` whose requests are pre-built envelopes and whose replies are parsed once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.envelopes = Envelopes(self.operation_timeout_sec)
        self.template = PreparedTemplate(self.transport)
        self.transport.send_message = self.template.send_message  # type: ignore[method-assign]

    def open_shell(
        self,
        i_stream: str = "stdin",
        o_stream: str = "stdout stderr",
        working_directory: str | None = None,
        env_vars: dict[str, str] | None = None,
        noprofile: bool = False,
        codepage: int = 437,
        lifetime: None = None,
        idle_timeout: str | int | None = None,
    ) -> str:
        if (
            (i_stream, o_stream) != ("stdin", "stdout stderr")
            or working_directory
            or env_vars
            or idle_timeout
        ):
            return super().open_shell(
                i_stream, o_stream, working_directory, env_vars, noprofile, codepage, lifetime, idle_timeout
            )
        reply = self.send_message(self.envelopes.create(uuid.uuid4(), noprofile=noprofile, codepage=codepage))  # type: ignore[arg-type]
        return envelopes.shell_id(reply)

    def run_command(
        self,
        shell_id: str,
        command: str,
        arguments: Iterable[str | bytes] = (),
        console_mode_stdin: bool = True,
        skip_cmd_shell: bool = False,
    ) -> str:
        args = None
        if arguments:
            args = " ".join(a if isinstance(a, str) else a.decode("utf-8") for a in arguments)
        message = self.envelopes.command(
            uuid.uuid4(),
            shell_id,
            command,
            args,
            console_mode_stdin=console_mode_stdin,
            skip_cmd_shell=skip_cmd_shell,
        )
        return envelopes.command_id(self.send_message(message))  # type: ignore[arg-type]

    def send_command_input(
        self, shell_id: str, command_id: str, stdin_input: str | bytes, end: bool = False
    ) -> None:
        if isinstance(stdin_input, str):
            stdin_input = stdin_input.encode("437")  # as pywinrm does; we always send bytes
        self.send_message(self.envelopes.send(uuid.uuid4(), shell_id, command_id, stdin_input, end=end))  # type: ignore[arg-type]

    def get_command_output_raw(self, shell_id: str, command_id: str) -> tuple[bytes, bytes, int, bool]:
        return envelopes.output(self.send_message(self.envelopes.receive(uuid.uuid4(), shell_id, command_id)))  # type: ignore[arg-type]

    _raw_get_command_output = get_command_output_raw

    def cleanup_command(self, shell_id: str, command_id: str) -> None:
        self.signal(shell_id, command_id, SIGNAL_TERMINATE)

    def signal(self, shell_id: str, command_id: str, code: str) -> None:
        """Send one Signal (MS-WSMV 3.1.4.12) to a command; its reply must answer this request."""
        message_id = uuid.uuid4()
        reply = self.send_message(self.envelopes.signal(message_id, shell_id, command_id, code))  # type: ignore[arg-type]
        envelopes.check_relates_to(reply, message_id)

    def close_shell(self, shell_id: str, close_session: bool = True) -> None:
        try:
            message_id = uuid.uuid4()
            reply = self.send_message(self.envelopes.delete(message_id, shell_id))  # type: ignore[arg-type]
            envelopes.check_relates_to(reply, message_id)
        finally:
            if close_session:
                self.transport.close_session()


class PreparedTemplate:
    """pywinrm's `Transport.send_message` with the request prepared once per session and copied per message.

    Same bytes on the wire: `Session.prepare_request` (requests/sessions.py) yields the method, the URL, the
    session's headers, the cookies, the body with its Content-Length, then the auth (Basic sets its header;
    requests_ntlm's HttpNtlmAuth sets Connection: Keep-Alive and registers its response hook, which answers
    the 401 handshake by resending a copy of the request). Preparing an empty request once and replacing
    only its body (`PreparedRequest.prepare_body`, which also rewrites Content-Length in place) gives the
    same request. Whenever the template could differ, pywinrm's own path is taken: with message encryption
    (pywinrm's Encryption prepares each sealed request itself), and when the session holds cookies (a
    reply could have set one since the template was made). A session whose authentication needs no reply
    hook (Basic, certificate) sends through transport/exchange.py, without `Session.send` around the adapter.
    """

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self._original = transport.send_message
        self._session: requests.Session | None = None
        self._template: requests.PreparedRequest | None = None

    def prepared(self, session: requests.Session, message: bytes) -> requests.PreparedRequest:
        if self._template is None or self._session is not session:
            self._template = session.prepare_request(
                requests.Request("POST", self.transport.endpoint, data=b"")
            )
            self._session = session
        prepared = self._template.copy()
        prepared.prepare_body(message, None)
        return prepared

    def send_message(self, message: str | bytes) -> bytes:
        transport = self.transport
        session = transport.build_session()
        if transport.encryption is not None or len(session.cookies):
            return self._original(message)  # type: ignore[no-any-return]
        if isinstance(message, str):
            message = message.encode("utf-8")
        prepared = self.prepared(session, message)
        adapter = exchange.takes(session, prepared)
        if adapter is not None:
            return exchange.send(session, adapter, prepared, transport.read_timeout_sec)
        response = transport._send_message_request(session, prepared)
        return transport._get_message_response_text(response)  # type: ignore[no-any-return]
