"""The fake server against stock pywinrm, with no product code: proves the fake speaks WS-Management as
pywinrm expects from a Windows host (so the transport tests that use it test something real)."""

from __future__ import annotations

import base64

import pytest
import winrm
from fakes import ScriptDouble

# Stock pywinrm reads REQUESTS_CA_BUNDLE and says so with a DeprecationWarning; that is pywinrm's default.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_stock_run_ps_basic_over_http(fake_winrm):
    double = ScriptDouble()
    server = fake_winrm(double)
    session = winrm.Session(server.url(), auth=("admin", "Passw0rd!"), transport="basic")

    response = session.run_ps("Write-Output 'hello'\nWrite-Error 'VM not found'\nexit 3")

    assert response.std_out == b"hello\r\n"
    assert response.std_err == b"VM not found"  # pywinrm's own CLIXML cleaning read the fake's stderr
    assert response.status_code == 3
    # run_ps sends the script as -encodedcommand; the fake handed exactly that script to the simulator.
    assert double.runs == [("Write-Output 'hello'\nWrite-Error 'VM not found'\nexit 3", "")]
    stats = server.stats()
    assert [stats[f"action:{a}"] for a in ("Create", "Command", "Receive", "Signal", "Delete")] == [1] * 5


def test_stock_run_ps_ntlm_with_message_encryption(fake_winrm):
    server = fake_winrm(ScriptDouble(), users={"LAB\\hvadmin": "S3cret!"})
    session = winrm.Session(server.url(), auth=("LAB\\hvadmin", "S3cret!"), transport="ntlm")

    response = session.run_ps("Write-Output 'over ntlm'")

    assert (response.std_out, response.status_code) == (b"over ntlm\r\n", 0)
    assert server.stats()["encrypted_requests"] == 5


def test_stock_run_ps_hits_cmd_line_limit(fake_winrm):
    """The limit the stdin bootstrap exists for: run_ps of ~3,100 characters is cut by cmd.exe."""
    server = fake_winrm(ScriptDouble())
    session = winrm.Session(server.url(), auth=("admin", "Passw0rd!"), transport="basic")
    fits = "#" * 3061
    too_long = "#" * 3062

    assert session.run_ps(fits).status_code == 0
    response = session.run_cmd(
        "powershell -encodedcommand " + base64.b64encode(too_long.encode("utf-16-le")).decode()
    )
    assert (response.status_code, response.std_err) == (1, b"The command line is too long.\r\n")


def test_stock_client_rejected_with_wrong_password(fake_winrm):
    server = fake_winrm(ScriptDouble())
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        winrm.Session(server.url(), auth=("admin", "wrong"), transport="basic").run_ps("exit 0")
    assert server.stats()["commands"] == 0


def test_stock_client_gets_codepage_437_like_from_windows(fake_winrm):
    """Session cannot choose the codepage: non-ASCII comes back as cp437 bytes, as from a real host. Our
    transport opens its shell with codepage 65001 instead (tested in test_transport_winrm.py)."""
    server = fake_winrm(ScriptDouble())
    session = winrm.Session(server.url(), auth=("admin", "Passw0rd!"), transport="basic")
    assert session.run_ps("Write-Output 'Größe'").std_out == "Größe\r\n".encode("cp437")
