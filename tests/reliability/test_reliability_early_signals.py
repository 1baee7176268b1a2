"""Signals outside a run's own handling (audit I M3, L6).

systemd stops the nightly unit, or the admin presses Ctrl-C, while `orchestrate` is still starting: loading
its code, the inventory, the vault password. No host has been contacted, so the exit must say "interrupted"
(130), never "a host failed" (click's "Aborted!" and exit 1), and never a traceback; with `--output json`
the stream still ends with its recap. And a signal that cut no host short (every host finished its work
anyway) leaves the run's own exit code: the recap said 0 failed, the exit says so too.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from reliability_support import REPO, cli_env, wait_for

from orchestrator import exit_codes
from orchestrator.cli import main

DEMO = REPO / "inventories" / "demo.yaml"
# What the `orchestrate` console script runs (pyproject.toml [project.scripts]).
CONSOLE_SCRIPT = [sys.executable, "-c", "from orchestrator.cli.entry import run; run()"]


def slow_vault_script(folder: Path) -> tuple[Path, Path]:
    """A vault password script that takes its time (a password manager waiting for its own unlock)."""
    marker = folder / "asked"
    script = folder / "vault-pass.sh"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep 60\necho secret\n", encoding="utf-8")
    script.chmod(0o700)
    return script, marker


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("output", ["text", "json"])
def test_a_signal_while_the_inventory_loads_exits_130_with_one_line_and_no_host_touched(
    tmp_path: Path, signum: int, output: str
) -> None:
    script, marker = slow_vault_script(tmp_path)
    state = tmp_path / "state"
    child = subprocess.Popen(
        [*CONSOLE_SCRIPT, "apply", str(DEMO), "--vault-password-file", str(script), "-o", output],
        cwd=tmp_path,
        env=cli_env(ORCHESTRATE_STATE_DIR=str(state)),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert wait_for(marker.exists, timeout=60), "the vault password script was started"
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == exit_codes.INTERRUPTED, out + err
    assert err == "interrupted before any host was contacted\n"
    assert "Aborted" not in out + err and "Traceback" not in out + err
    if output == "json":
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines[-1] == {"event": "recap", "command": "apply", "exit_code": exit_codes.INTERRUPTED}
        assert [line["event"] for line in lines] == ["interrupted", "recap"]
    else:
        assert out == ""
    assert not (state / "simulator").exists()  # no simulated host was touched


def test_an_interrupt_while_click_would_say_aborted_is_130_in_process(tmp_path: Path, monkeypatch) -> None:
    """The same, as the click command sees it: the interrupt escapes the inventory loader."""

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("orchestrator.inventory.load_inventory", interrupted)
    result = CliRunner().invoke(
        main, ["rollback", str(DEMO), "--to", "clean", "--state-dir", str(tmp_path / "s"), "-o", "json"]
    )
    assert result.exit_code == exit_codes.INTERRUPTED, result.output
    assert result.stderr == "interrupted before any host was contacted\n"
    assert json.loads(result.stdout.splitlines()[-1]) == {"event": "recap", "command": "rollback", "exit_code": 130}


def test_a_signal_that_cut_no_host_short_keeps_the_runs_own_exit_code(tmp_path: Path, monkeypatch) -> None:
    """SIGTERM arrives while the host runs its apply script; the (simulated) host finishes it anyway. Every
    host is `changed`, the recap says 0 failed, and the exit is 0, not 130 ("a host was stopped")."""
    from orchestrator.transport import factory

    real_open = factory.open_transport
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def signalled_during_apply(host: Any, state_dir: Path) -> Any:
        transport = real_open(host, state_dir)
        run = transport.run
        calls: list[str] = []

        def run_after_a_signal(script: str, **kwargs: Any) -> Any:
            calls.append(script)
            if len(calls) == 2:  # the facts script, then the apply script: the signal comes now
                signal.pthread_kill(main_thread, signal.SIGINT)
                time.sleep(0.5)  # the main thread takes it (the run's first interrupt) and starts to wait
            return run(script, **kwargs)

        transport.run = run_after_a_signal
        return transport

    monkeypatch.setattr(factory, "open_transport", signalled_during_apply)
    state = tmp_path / "s"
    result = CliRunner().invoke(main, ["apply", str(DEMO), "--limit", "hv01.demo.local", "--state-dir", str(state), "-o", "json"])
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any("interrupted" in (e.get("message") or "") for e in events if e["event"] == "warning"), result.output
    recap = events[-1]
    assert recap["event"] == "recap" and recap["failed"] == 0 and recap["changed"] > 0
    assert recap["exit_code"] == result.exit_code == exit_codes.OK, result.output
    history = CliRunner().invoke(main, ["history", "--state-dir", str(state), "-o", "json"])
    (run,) = [json.loads(line) for line in history.stdout.splitlines() if '"event": "run"' in line]
    assert run["status"] == "changed" and run["exit_code"] == 0
