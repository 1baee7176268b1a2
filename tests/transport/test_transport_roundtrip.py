"""Properties of the stdin route: any script, of any size and any characters, reaches PowerShell exactly as
written, and any text the host prints comes back exactly, whatever the transport's chunking does."""

from __future__ import annotations

from fakes import FakeWinRMServer, ScriptDouble
from fakes.hosts import fake_host
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.transport.winrm import STDIN_CHUNK, WinRMTransport

# Any Unicode scalar value (no lone surrogates: they cannot be encoded, in Python or on Windows).
TEXT = st.characters(blacklist_categories=("Cs",))
LINE = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))


def scripts():
    small = st.text(TEXT, max_size=400)
    around_a_chunk = st.integers(STDIN_CHUNK - 3, STDIN_CHUNK + 3).map(
        lambda n: "é" * (n // 2) + "x" * (n % 2)
    )
    return st.one_of(small, around_a_chunk)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts())
def test_any_script_arrives_exactly(script):
    double = ScriptDouble()
    with FakeWinRMServer(double) as server:
        transport = WinRMTransport(fake_host(server, transport="ntlm"))
        try:
            transport.run(script, idempotent=True)
        finally:
            transport.close()
        assert server.open_shells() == 0
    assert double.scripts == [script.removeprefix("\ufeff")]  # a leading BOM is dropped: UTF-8 without BOM


@settings(max_examples=30, deadline=None)
@given(
    text=st.text(LINE, min_size=1, max_size=200).filter(lambda t: t.strip() == t), chunk=st.integers(1, 64)
)
def test_any_output_comes_back_exactly(text, chunk):
    with FakeWinRMServer(ScriptDouble()) as server:
        server.output_chunk = chunk
        transport = WinRMTransport(fake_host(server, allow_unencrypted=True))
        try:
            literal = text.replace("'", "''")
            result = transport.run(f"Write-Output '{literal}'", idempotent=True)
        finally:
            transport.close()
    assert result.stdout == f"{text}\r\n"
