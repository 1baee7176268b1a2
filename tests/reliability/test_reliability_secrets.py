"""Secrets: the WinRM password never leaves the process except in the WinRM authentication itself.

Given a known password (from the environment), a school with a healthy host over HTTPS, a host that refuses
the password, a host whose WinRM service keeps answering 503, and a simulated host, when the admin runs every
command at the highest verbosity, in text and in JSON, failures included, then the password, in UTF-8,
UTF-16, base64 of either, or as the Basic header, appears in no output, no log record, no file of the state
directory (journal, locks, simulated hosts), no rendered script and no dry-run. The credential rules are
tested through the CLI too: environment, an owner-only password file, the --ask-pass prompt; a password file
others can read, and a literal password in an inventory others can read, are refused without echoing it.
"""

from __future__ import annotations

import base64
import http.server
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from reliability_support import HOST_SEED, PREMIUM_IMAGE, SWITCH, files_under, journal_rows, leaks, write_yaml

from orchestrator.cli import main
from orchestrator.simulator import Simulator

PASSWORD = "Tr0ub4dor&3-Sekret'$x"
FROM_ENV = "{{ lookup('env', 'WINRM_PASSWORD') }}"


def winrm_vars(server: Any, ca_pem: str | None = None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": "admin",
        "ansible_password": FROM_ENV,
        "ansible_winrm_transport": "basic",
        "ansible_winrm_scheme": server.scheme,
        "ansible_winrm_operation_timeout_sec": 5,
        "ansible_winrm_read_timeout_sec": 10,
        "orchestrate_retry": {"attempts": 2, "deadline": 5},
    }
    if ca_pem:
        values["ansible_winrm_ca_trust_path"] = ca_pem
    else:
        values["orchestrate_allow_unencrypted"] = True
    values.update(extra)
    return values


def classroom(vm: str = "lab-01") -> dict[str, Any]:
    return {
        "multipoint_vms": [
            {
                "name": vm,
                "cpus": 2,
                "memory": "4GB",
                "switch": SWITCH,
                "disk": {"parent": PREMIUM_IMAGE},
                "checkpoints": {"baseline": "clean"},
                "stations": {"rdp": 4},
            }
        ],
        "multipoint_schedules": [
            {"name": "nightly", "action": "rollback", "checkpoint": "clean", "at": "02:30"}
        ],
    }


@pytest.fixture
def school(fake_winrm: Any, ca_pem: str, tmp_path: Path) -> Path:
    healthy = fake_winrm(Simulator(seed=HOST_SEED), tls=True, users={"admin": PASSWORD})
    refusing = fake_winrm(Simulator(seed=HOST_SEED), users={"admin": "not-the-password"})
    busy = fake_winrm(Simulator(seed=HOST_SEED), users={"admin": PASSWORD})
    busy.fail(503, times=10_000)
    hosts = {
        "hv01": winrm_vars(healthy, ca_pem) | classroom(),
        "hv02": winrm_vars(refusing) | classroom(),
        "hv03": winrm_vars(busy) | classroom(),
        "hv04": {
            "ansible_connection": "simulator",
            "orchestrate_simulator": HOST_SEED,
            "ansible_password": FROM_ENV,
        }
        | classroom("lab-04"),
    }
    return write_yaml(tmp_path / "school.yaml", {"all": {"hosts": hosts}}, mode=0o644)


def every_command(inventory: Path, state: Path, out: Path) -> list[list[str]]:
    inv, st = str(inventory), ["--state-dir", str(state)]
    commands = [
        ["validate", inv],
        ["inventory", inv, "--list"],
        ["inventory", inv, "--host", "hv01"],
        ["ping", inv],
        ["render", inv, "--out", str(out)],
        ["plan", inv, "--show-scripts"],
        ["apply", inv, "--dry-run", "--show-scripts"],
        ["apply", inv, "--show-scripts"],
        ["apply", inv, "--show-scripts", "--revert-after", "30m"],
        ["confirm", inv],
        ["checkpoint", inv, "--name", "before-exams"],
        ["rollback", inv, "--to", "clean"],
        ["schedules", inv],
        ["export", inv, "--to", "D:\\exports"],
        ["import", inv, "--host", "hv01", "--from", "D:\\exports\\lab-01"],
        ["move", inv, "--vm", "lab-04", "--to", "hv01", "--via", "\\\\nas\\exports"],
        ["history", "--last", "50"],
    ]
    return [
        [*c, *st, *verbosity, *output]
        for c in commands
        for verbosity in (["-vv"],)
        for output in ([], ["-o", "json"])
    ]


def invoke(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_the_password_appears_in_no_output_log_journal_or_script(
    school: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state, out = tmp_path / "state", tmp_path / "rendered"
    env = {"WINRM_PASSWORD": PASSWORD}
    exit_codes: dict[str, int] = {}
    for args in every_command(school, state, out):
        result = invoke(args, env)
        exit_codes[" ".join(args[:2])] = result.exit_code
        assert not leaks(result.stdout.encode() + result.stderr.encode(), PASSWORD), (args, result.output)

    # The runs really happened, with their failures: the healthy hosts converged, the others failed.
    assert exit_codes["apply " + str(school)] == 1
    assert set(exit_codes.values()) <= {0, 1}, {k: v for k, v in exit_codes.items() if v > 1}
    errors = {h["host"]: h["error"] or "" for h in journal_rows(state, "host_results")}
    assert "rejected the credentials" in errors["hv02"] and "503" in errors["hv03"]
    rendered = files_under(out)
    assert rendered and any(b"New-VM" in p.read_bytes() for p in rendered)

    for path in [*files_under(state), *rendered]:
        assert not leaks(path.read_bytes(), PASSWORD), path
    assert not leaks(caplog.text.encode(), PASSWORD)
    for record in caplog.records:
        assert not leaks(repr(record.args).encode() + str(record.msg).encode(), PASSWORD)


# ---- where the password may come from ---------------------------------------------------------------------


def one_host(fake_winrm: Any, ca_pem: str, folder: Path, mode: int = 0o600, **password: Any) -> Path:
    server = fake_winrm(Simulator(seed=HOST_SEED), tls=True, users={"admin": PASSWORD})
    host = winrm_vars(server, ca_pem)
    del host["ansible_password"]
    host.update(password)
    return write_yaml(folder / "inventory.yaml", {"all": {"hosts": {"hv01": host}}}, mode=mode)


def test_the_password_from_the_environment_works(fake_winrm: Any, ca_pem: str, tmp_path: Path) -> None:
    inventory = one_host(fake_winrm, ca_pem, tmp_path, ansible_password=FROM_ENV)
    result = invoke(["ping", str(inventory), "-vv"], {"WINRM_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert not leaks(result.output.encode(), PASSWORD)


def test_an_owner_only_password_file_works_and_a_readable_one_is_refused(
    fake_winrm: Any, ca_pem: str, tmp_path: Path
) -> None:
    secret = tmp_path / "winrm.pw"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    inventory = one_host(fake_winrm, ca_pem, tmp_path, orchestrate_password_file=str(secret))
    works = invoke(["ping", str(inventory), "-vv"], {})
    assert works.exit_code == 0, works.output

    secret.chmod(0o640)
    refused = invoke(["ping", str(inventory), "-vv"], {})
    assert refused.exit_code == 2
    assert "chmod 600" in refused.output
    assert not leaks(works.output.encode() + refused.output.encode(), PASSWORD)


def test_ask_pass_prompts_once_and_never_echoes(
    fake_winrm: Any, ca_pem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or PASSWORD)
    monkeypatch.setattr("orchestrator.cli.output.has_terminal", lambda: True)  # the admin at a console
    inventory = one_host(fake_winrm, ca_pem, tmp_path)
    result = invoke(["ping", str(inventory), "--ask-pass", "-vv"], {})
    assert result.exit_code == 0, result.output
    assert len(prompts) == 1 and "admin" in prompts[0]
    assert not leaks(result.output.encode(), PASSWORD)


def test_a_literal_password_in_a_readable_inventory_is_refused_without_echoing_it(
    fake_winrm: Any, ca_pem: str, tmp_path: Path
) -> None:
    inventory = one_host(fake_winrm, ca_pem, tmp_path, mode=0o644, ansible_password=PASSWORD)
    refused = invoke(["apply", str(inventory), "-vv", "--state-dir", str(tmp_path / "state")], {})
    assert refused.exit_code == 2
    assert "group or others can read" in refused.output and "nothing was contacted" in refused.output
    assert not (tmp_path / "state").exists()

    inventory.chmod(0o600)  # owner-only: accepted, with a warning to prefer the environment
    warned = invoke(["ping", str(inventory), "-vv"], {})
    assert warned.exit_code == 0, warned.output
    assert "literal ansible_password" in warned.output
    assert not leaks(refused.output.encode() + warned.output.encode(), PASSWORD)


def test_a_literal_or_file_password_is_masked_wherever_the_inventory_is_shown(
    fake_winrm: Any, ca_pem: str, tmp_path: Path
) -> None:
    """`inventory --list/--host` show variables as written: an env lookup stays a lookup, but a literal (in an
    owner-only file) or a password file's content is the value itself, and must come out as ********."""
    secret = tmp_path / "winrm.pw"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    for variant, password in (
        ("literal", {"ansible_password": PASSWORD}),
        ("file", {"orchestrate_password_file": str(secret)}),
    ):
        folder = tmp_path / variant
        folder.mkdir()
        inventory = one_host(fake_winrm, ca_pem, folder, **password)
        state = ["--state-dir", str(folder / "state")]
        for args in (
            ["inventory", str(inventory), "--list"],
            ["inventory", str(inventory), "--host", "hv01"],
            ["validate", str(inventory)],
            ["ping", str(inventory)],
            ["apply", str(inventory), "--dry-run", "--show-scripts", *state],
            ["history", *state],
        ):
            for output in ("text", "json"):
                result = invoke([*args, "-vv", "-o", output], {})
                assert result.exit_code == 0, (variant, args, result.output)
                assert not leaks(result.output.encode(), PASSWORD), (variant, args, result.output)
        for path in files_under(folder / "state"):
            assert not leaks(path.read_bytes(), PASSWORD), path


class EchoingProxy(http.server.BaseHTTPRequestHandler):
    """A misconfigured reverse proxy's error page: HTTP 500 quoting the request's Authorization header and the
    credentials it decodes from it."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        header = self.headers.get("Authorization", "")
        decoded = base64.b64decode(header.partition(" ")[2] or b"").decode("utf-8", "replace")
        body = f"upstream error; request: Authorization: {header}; credentials {decoded}".encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def echoing_proxy() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoingProxy)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_an_error_page_that_echoes_the_credentials_does_not_leak_them(
    echoing_proxy: int, tmp_path: Path
) -> None:
    """The transport quotes the start of an unexpected HTTP error page in its message (it helps with proxies);
    the password must not come along in any form, including the base64 of the Basic header."""
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": echoing_proxy,
        "ansible_user": "admin",
        "ansible_password": FROM_ENV,
        "ansible_winrm_transport": "basic",
        "ansible_winrm_scheme": "http",
        "orchestrate_allow_unencrypted": True,
        "orchestrate_retry": {"attempts": 1, "deadline": 5},
    }
    inventory = write_yaml(tmp_path / "inventory.yaml", {"all": {"hosts": {"hv01": host}}})
    state = tmp_path / "state"
    for args in (["ping", str(inventory)], ["apply", str(inventory), "--state-dir", str(state)]):
        for output in ("text", "json"):
            result = invoke([*args, "-vv", "-o", output], {"WINRM_PASSWORD": PASSWORD})
            assert result.exit_code == 1, result.output
            assert "HTTP 500" in result.output and "upstream error" in result.output
            assert not leaks(result.output.encode(), PASSWORD), result.output
    for path in files_under(state):
        assert not leaks(path.read_bytes(), PASSWORD), path
