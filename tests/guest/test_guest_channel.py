"""The secrets channel and the demo's made-up password, as the admin meets them: a script reads its secrets
from after itself on stdin, over WinRM exactly as on the simulator; the shown script never holds them; and a
`{simulated: ...}` password is refused for every host that is not a simulator."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fakes.hosts import fake_host
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.inventory import load_inventory
from orchestrator.model import SimulatedSecret
from orchestrator.simulator import Simulator
from orchestrator.transport.stdin import SECRETS_BOUNDARY, SecretChannelError, channel
from orchestrator.transport.winrm import WinRMTransport

READ = "Write-Output (Get-OrchestrateSecret -Name 'answer.x')\n"
FUNCTIONS = (Path(__file__).resolve().parents[2] / "templates" / "lib" / "functions.ps1.j2").read_text()


def helper() -> str:
    """Get-OrchestrateSecret as the templates define it (rendered by Jinja2 as the renderer does)."""
    import jinja2

    return jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(FUNCTIONS).render()


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=60))
def test_a_secret_arrives_whole_and_never_in_the_script(secret: str) -> None:
    script = helper() + READ
    sent = channel(script, {"answer.x": secret})
    assert sent.stdin.startswith(script.rstrip("\n"))
    result = Simulator().run(*sent)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == secret + "\r\n"


def test_a_missing_secret_fails_by_name() -> None:
    result = Simulator().run(*channel(helper() + "$ErrorActionPreference = 'Stop'\n" + READ))
    assert result.exit_code == 1 and "the secret answer.x did not arrive" in result.stderr


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="'\r\n\x00"), max_size=30))
def test_a_vm_name_holding_the_boundary_text_runs_whole(noise: str) -> None:
    # The bootstrap is told where the script ends; it never searches for the boundary, so neither the
    # boundary's own text nor a near copy of it (a soft hyphen inside: a culture-sensitive IndexOf on .NET
    # would match it) cuts the script. Characters outside the BMP count twice, as .NET's String.Length does.
    name = f"{noise}##orchestrate\u00ad-secrets##{SECRETS_BOUNDARY}\U0001f600"
    result = Simulator().run(*channel(helper() + f"Write-Output '{name}'\n" + READ, {"answer.x": "pw"}))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{name}\r\npw\r\n"


def test_a_secret_name_outside_the_channel_alphabet_is_refused() -> None:
    with pytest.raises(SecretChannelError):
        channel("Write-Output 'x'\n", {"answer x": "pw"})


def test_secrets_travel_after_the_script_over_winrm(fake_winrm) -> None:
    sim = Simulator()
    server = fake_winrm(sim)
    transport = WinRMTransport(fake_host(server, transport="ntlm", message_encryption="auto"))
    try:
        result = transport.run(helper() + READ, idempotent=True, secrets={"answer.x": "<unattend>pw é</unattend>"})
    finally:
        transport.close()
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "<unattend>pw é</unattend>\r\n"


def inventory(tmp_path: Path, connection: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(textwrap.dedent(f"""\
        all:
          hosts:
            hv01:
              ansible_connection: {connection}
              ansible_user: admin
              ansible_password: "{{{{ lookup('env', 'HV_PASSWORD') }}}}"
              multipoint_vms:
                - name: lab-01
                  cpus: 2
                  memory: 4GB
                  disk: {{parent: 'D:\\images\\premium.vhdx'}}
                  guest:
                    admin_password: {{simulated: demo}}
        """), encoding="utf-8")
    return path


def test_a_made_up_password_serves_a_simulated_guest(tmp_path: Path) -> None:
    loaded = load_inventory(inventory(tmp_path, "simulator"), environ={"HV_PASSWORD": "x"})
    assert [f.format() for f in loaded.findings if f.is_error] == []
    secret = loaded.hosts["hv01"].vms[0].guest.admin_password  # type: ignore[union-attr]
    assert isinstance(secret, SimulatedSecret) and str(secret) == "********" and len(secret.reveal()) > 20


def test_a_made_up_password_is_refused_for_a_real_host(tmp_path: Path) -> None:
    path = inventory(tmp_path, "winrm")
    loaded = load_inventory(path, environ={"HV_PASSWORD": "x"})
    errors = [f.format() for f in loaded.findings if f.is_error]
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:13:")  # the admin_password line
    assert "a made-up password only a simulated host may use" in errors[0]
