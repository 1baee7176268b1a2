"""NTLM for the fake host: pyspnego's acceptor plus MS-WSMV message encryption (2.2.9.1.1).

pyspnego's NTLM acceptor reads its users from the file named by the NTLM_USER_FILE environment variable, both
when the context is created and when it checks the client's AUTHENTICATE message. The variable is set once, when
this module is imported, to a file of this process's own, and never changed again: changing os.environ while
another thread iterates it (requests' proxy lookup in the client under test does, on every request) raises
KeyError in that thread, which once failed a CI run. Each fake server keeps its own user file; for the duration
of those two calls, under one process-wide lock, its users are copied into the process's file, so several
servers (and pytest-xdist workers, which are separate processes with files of their own) never see each
other's users.
"""

from __future__ import annotations

import atexit
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import spnego
import spnego.exceptions

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'

_ENV_LOCK = threading.Lock()
_PROCESS_FOLDER = Path(tempfile.mkdtemp(prefix="orchestrate-fake-ntlm-"))
_PROCESS_USER_FILE = _PROCESS_FOLDER / "users"
_PROCESS_USER_FILE.write_text("", encoding="utf-8")
os.environ["NTLM_USER_FILE"] = str(_PROCESS_USER_FILE)
atexit.register(shutil.rmtree, _PROCESS_FOLDER, ignore_errors=True)


class NTLMFailure(Exception):
    """The client's NTLM messages were rejected (wrong password, unknown user, tampering)."""


@contextmanager
def _user_file(path: Path) -> Iterator[None]:
    with _ENV_LOCK:
        _PROCESS_USER_FILE.write_bytes(path.read_bytes())
        try:
            yield
        finally:
            _PROCESS_USER_FILE.write_text("", encoding="utf-8")


def write_user_file(path: Path, users: dict[str, str]) -> None:
    """`DOMAIN\\user` or `user` -> password, as `DOMAIN:USER:PASSWORD` lines (local accounts: empty domain)."""
    lines = []
    for name, password in users.items():
        domain, _, user = name.rpartition("\\")
        lines.append(f"{domain}:{user}:{password}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class Acceptor:
    """One connection's NTLM server context (NTLM authenticates the TCP connection, not the request)."""

    def __init__(self, user_file: Path) -> None:
        self._user_file = user_file
        with _user_file(user_file):
            self._ctx = spnego.server(protocol="ntlm")

    @property
    def complete(self) -> bool:
        return self._ctx.complete

    @property
    def user(self) -> str | None:
        return self._ctx.client_principal if self._ctx.complete else None

    def step(self, token: bytes) -> bytes | None:
        try:
            with _user_file(self._user_file):
                return self._ctx.step(token)
        except spnego.exceptions.SpnegoError as exc:
            raise NTLMFailure(str(exc)) from exc

    def decrypt(self, body: bytes) -> bytes:
        """A `multipart/encrypted` request body -> the SOAP envelope it carries."""
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        message = b""
        for header, payload in zip(parts[0::2], parts[1::2], strict=False):
            expected = int(header.strip().split(b"Length=")[1])
            if payload.endswith(BOUNDARY + b"--\r\n"):
                payload = payload[: -len(BOUNDARY + b"--\r\n")]
            data = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            sig_len = struct.unpack("<i", data[:4])[0]
            try:
                plain = self._ctx.unwrap_winrm(data[4 : 4 + sig_len], data[4 + sig_len :])
            except spnego.exceptions.SpnegoError as exc:
                raise NTLMFailure(f"cannot decrypt the message: {exc}") from exc
            if len(plain) != expected:
                raise NTLMFailure("decrypted length does not match OriginalContent")
            message += plain
        return message

    def encrypt(self, message: bytes) -> bytes:
        wrapped = self._ctx.wrap_winrm(message)
        return (
            BOUNDARY
            + b"\r\n\tContent-Type: "
            + PROTOCOL.encode()
            + b"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(message)).encode()
            + b"\r\n"
            + BOUNDARY
            + b"\r\n\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<i", len(wrapped.header))
            + wrapped.header
            + wrapped.data
            + BOUNDARY
            + b"--\r\n"
        )
