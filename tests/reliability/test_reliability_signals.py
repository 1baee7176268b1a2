"""Signals (issue 17): the admin presses Ctrl-C, or systemd sends SIGTERM, while the apply scripts run.

The first signal stops new work, signals the running remote commands (WS-Man Signal ctrl_c and terminate),
waits a bounded time with a countdown on screen, deletes every shell, journals the run as aborted and
prints the recap, exit 130. A second signal deletes the shells at once. No traceback, whatever arrives.

The hosts are the fake WinRM server on 127.0.0.1, whose apply command (each host's second command) runs for
an hour unless it is stopped; a stopped script never ran, so the simulated hosts keep no VM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakes import FakeWinRMServer
from reliability_support import (
    HOST_SEED,
    PREMIUM_IMAGE,
    SWITCH,
    cli_env,
    start_cli,
    wait_for,
    write_yaml,
)

from orchestrator import exit_codes
from orchestrator.cli import main
from orchestrator.simulator import Simulator
from orchestrator.transport.envelopes import SIGNAL_CTRL_C, SIGNAL_TERMINATE
from orchestrator.transport.errors import CommandInterrupted
from orchestrator.transport.winrm import WinRMTransport

PASSWORD_ENV = "ORCHESTRATE_SIGNALS_TEST_PASSWORD"
REPO_PATH = os.pathsep.join(
    filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")])
)
HOUR = 3600.0


def hour_long_apply(_host: str, ordinal: int) -> float:
    """The facts script (a host's first command) answers at once; the apply script would take an hour."""
    return HOUR if ordinal >= 2 else 0.0


def school(server: FakeWinRMServer, folder: Path, names: list[str]) -> Path:
    """An inventory of Hyper-V hosts behind the fake, one classroom VM each, Basic over loopback HTTP."""
    hosts = {
        name: {
            "ansible_host": "127.0.0.1",
            "ansible_port": server.port,
            "ansible_winrm_scheme": "http",
            "ansible_winrm_transport": "basic",
            "ansible_winrm_path": f"/wsman/{name}",
            "ansible_user": "admin",
            "ansible_password": "{{ lookup('env', '" + PASSWORD_ENV + "') }}",
            "orchestrate_allow_unencrypted": True,
            "ansible_winrm_operation_timeout_sec": 20,
            "ansible_winrm_read_timeout_sec": 30,
            "multipoint_vms": [
                {
                    "name": f"{name}-lab-01",
                    "cpus": 2,
                    "memory": "4GB",
                    "switch": SWITCH,
                    "disk": {"parent": PREMIUM_IMAGE},
                    "stations": {"rdp": 4},
                }
            ],
        }
        for name in names
    }
    return write_yaml(folder / "school.yaml", {"all": {"hosts": hosts}})


@pytest.fixture
def fake(fake_winrm: Callable[..., FakeWinRMServer]) -> FakeWinRMServer:
    server = fake_winrm()
    server.simulator_factory = lambda _name: Simulator(seed=HOST_SEED)
    server.command_duration = hour_long_apply
    return server


def applying(server: FakeWinRMServer, count: int) -> Callable[[], bool]:
    """True once `count` apply scripts are running on the fake (their stdin is complete, output awaited)."""
    return lambda: sum(1 for c in server.commands() if c.duration and c.ready_at is not None) >= count


def interrupt_when(
    condition: Callable[[], bool], *, times: int = 1, then: Callable[[], bool] | None = None
) -> threading.Thread:
    """Ctrl-C (a real SIGINT, to this process's main thread, where the CLI runs and where a terminal's Ctrl-C
    lands) once `condition` holds; a second one when `then` holds."""
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def press() -> None:
        if wait_for(condition, timeout=60):
            signal.pthread_kill(main_thread, signal.SIGINT)
            if times > 1 and then is not None and wait_for(then, timeout=60):
                signal.pthread_kill(main_thread, signal.SIGINT)

    thread = threading.Thread(target=press, daemon=True)
    thread.start()
    return thread


def journal_run(state: Path) -> tuple[str, int, dict[str, tuple[str, str]]]:
    with sqlite3.connect(state / "journal.sqlite3") as db:
        status, code = db.execute("SELECT status, exit_code FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        hosts = {h: (s, e or "") for h, s, e in db.execute("SELECT host, status, error FROM host_results")}
    return status, code, hosts


def assert_every_shell_deleted(server: FakeWinRMServer) -> None:
    assert server.created_shells, "the run opened shells"
    assert set(server.created_shells) <= set(server.deleted_shells)
    assert server.open_shells() == 0


def invoke(inventory: Path, state: Path, *extra: str) -> Any:
    env = {PASSWORD_ENV: "Passw0rd!"}
    return CliRunner().invoke(
        main, ["apply", str(inventory), "--state-dir", str(state), "--forks", "4", *extra], env=env
    )


def test_ctrl_c_during_long_scripts_stops_them_deletes_every_shell_and_prints_the_recap(
    fake: FakeWinRMServer, tmp_path: Path
) -> None:
    inventory = school(fake, tmp_path, ["hv01", "hv02"])
    state = tmp_path / "state"
    interrupt_when(applying(fake, 2))

    result = invoke(inventory, state)

    assert result.exit_code == exit_codes.INTERRUPTED, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "s left before every shell is deleted" in result.output  # the countdown was shown
    assert "recap" in result.output and "exit 130" in result.output
    # Every running apply command was told to stop (ctrl_c, then terminate), and every shell deleted.
    applies = {c for c in fake.signals if c[2] == SIGNAL_TERMINATE}
    assert len({shell for shell, _cmd, _code in applies}) >= 2
    assert {code for _s, _c, code in fake.signals} >= {SIGNAL_CTRL_C, SIGNAL_TERMINATE}
    assert_every_shell_deleted(fake)
    status, code, hosts = journal_run(state)
    assert (status, code) == ("aborted", exit_codes.INTERRUPTED)
    assert set(hosts) == {"hv01", "hv02"}
    assert all(s == "failed" and "interrupted" in e for s, e in hosts.values())
    for name in ("hv01", "hv02"):  # the hour-long script never ran: the hosts are as they were
        assert fake.hosts[name].commands_run == 1


def test_a_ctrl_c_whose_keyboardinterrupt_is_lost_still_stops_the_run(fake: FakeWinRMServer, tmp_path: Path) -> None:
    """Python drops an exception raised in a `__del__` or a gc callback ("Exception ignored in ..."), and a
    signal handler runs wherever the main thread is: the suite once saw a Ctrl-C vanish inside hypothesis's
    gc callback. Here the handler runs and its KeyboardInterrupt goes nowhere, as it would there: the run
    still stops as after any Ctrl-C (its wait sees the request the handler noted)."""
    inventory = school(fake, tmp_path, ["hv01", "hv02"])
    state = tmp_path / "state"

    def press_and_lose() -> None:
        if wait_for(applying(fake, 2), timeout=60):
            handler = signal.getsignal(signal.SIGINT)
            assert callable(handler)
            with contextlib.suppress(KeyboardInterrupt):  # raised here, in this thread: lost for the run
                handler(signal.SIGINT, None)

    rescued = threading.Event()
    finished = threading.Event()

    def rescue() -> None:  # were the lost Ctrl-C ignored, the hour-long scripts would hold the test for an hour
        if not finished.wait(120):
            rescued.set()
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    threading.Thread(target=press_and_lose, daemon=True).start()
    threading.Thread(target=rescue, daemon=True).start()

    result = invoke(inventory, state)
    finished.set()

    assert not rescued.is_set(), "the run went on after the lost Ctrl-C until a second one stopped it"
    assert result.exit_code == exit_codes.INTERRUPTED, result.output
    assert "Traceback" not in result.output and "exit 130" in result.output
    assert_every_shell_deleted(fake)
    status, code, hosts = journal_run(state)
    assert (status, code) == ("aborted", exit_codes.INTERRUPTED)
    assert all(s == "failed" and "interrupted" in e for s, e in hosts.values())
    for name in ("hv01", "hv02"):  # the hour-long script never ran
        assert fake.hosts[name].commands_run == 1


def test_a_second_ctrl_c_deletes_the_shells_at_once(fake: FakeWinRMServer, tmp_path: Path) -> None:
    """The hosts do not answer the Signal (it hangs on the host): a second Ctrl-C stops waiting for it and
    deletes the shells, which ends the scripts."""
    inventory = school(fake, tmp_path, ["hv01", "hv02"])
    state = tmp_path / "state"
    # Past the interrupt's own read timeout: no answer at all. The first two Signals are the facts
    # scripts' ordinary end (each host's first command), which are answered.
    hang = fake.delay(8.0, action="Signal", times=10, after=2)
    interrupt_when(applying(fake, 2), times=2, then=lambda: hang.fired >= 1)

    result = invoke(inventory, state)

    assert result.exit_code == exit_codes.INTERRUPTED, result.output
    assert "Traceback" not in result.output
    assert "interrupted again: deleting every shell now" in result.output
    assert "exit 130" in result.output
    assert_every_shell_deleted(fake)
    status, _code, hosts = journal_run(state)
    assert status == "aborted"
    assert all("interrupted" in e for _s, e in hosts.values())


@contextlib.contextmanager
def applying_cli(
    inventory: Path, folder: Path, *extra: str, ignore: tuple[int, ...] = ()
) -> Iterator[subprocess.Popen[str]]:
    """`orchestrate apply` of `inventory` in its own process (state in folder/state); killed if a test leaves it."""
    child = start_cli(
        ["apply", inventory, "--state-dir", folder / "state", *extra],
        folder,
        cli_env(**{PASSWORD_ENV: "Passw0rd!", "PYTHONPATH": REPO_PATH}),
        ignore=ignore,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=["SIGTERM", "SIGINT", "SIGHUP"]
)
def test_a_real_signal_to_orchestrate_apply_ends_it_cleanly(
    fake: FakeWinRMServer, tmp_path: Path, signum: int
) -> None:
    """`orchestrate apply` in its own process, stopped by systemd (SIGTERM), Ctrl-C (SIGINT), or the admin's
    SSH session dropping (SIGHUP, whose default action would end the process mid-change)."""
    inventory = school(fake, tmp_path, ["hv01", "hv02", "hv03"])
    with applying_cli(inventory, tmp_path, "--forks", "3") as child:
        assert wait_for(applying(fake, 3), timeout=60), "the apply scripts started"
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    assert child.returncode == exit_codes.INTERRUPTED, out + err
    assert "Traceback" not in out + err
    assert "s left before every shell is deleted" in out
    assert "exit 130" in out
    assert_every_shell_deleted(fake)
    status, _code, _hosts = journal_run(tmp_path / "state")
    assert status == "aborted"


def test_under_nohup_a_hangup_does_not_stop_the_run(fake: FakeWinRMServer, tmp_path: Path) -> None:
    """`nohup orchestrate apply ...` and the admin logs out: nohup started the run with SIGHUP ignored, and the
    run keeps it so (it would otherwise stop, as a hangup does without nohup). SIGTERM still stops it."""
    inventory = school(fake, tmp_path, ["hv01"])
    with applying_cli(inventory, tmp_path, ignore=(signal.SIGHUP,)) as child:
        assert wait_for(applying(fake, 1), timeout=60), "the apply script started"
        child.send_signal(signal.SIGHUP)
        # Had the hangup been caught, the run would now signal its command (Ctrl-C) within a moment.
        assert not wait_for(lambda: len(fake.signals) > 1, timeout=2.0)
        assert child.poll() is None
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    assert child.returncode == exit_codes.INTERRUPTED, out + err
    assert {code for _s, _c, code in fake.signals} >= {SIGNAL_CTRL_C}
    assert_every_shell_deleted(fake)


# ---- the transport's side of it ---------------------------------------------------------------------------


def start_hour_long_apply(
    server: FakeWinRMServer, transport: Any
) -> tuple[threading.Thread, dict[str, BaseException]]:
    """The host's facts script (quick), then its hour-long apply script on a thread of its own, as the
    runner thread runs it; returns that thread and what it raised (under "error"), once it is running."""
    assert transport.run("Write-Output 'facts'", idempotent=True).ok
    outcome: dict[str, BaseException] = {}

    def apply() -> None:
        try:
            transport.run("Write-Output 'apply'", idempotent=True, timeout=HOUR)
        except BaseException as exc:  # the runner thread's view
            outcome["error"] = exc

    worker = threading.Thread(target=apply)
    worker.start()
    assert wait_for(applying(server, 1), timeout=30)
    return worker, outcome


def test_interrupt_and_abort_from_another_thread_stop_the_command_and_delete_the_shell(
    fake: FakeWinRMServer,
) -> None:
    from fakes.hosts import fake_host

    host = fake_host(
        fake, "hv09", route="hv09", allow_unencrypted=True, operation_timeout_sec=20, read_timeout_sec=30
    )
    transport = WinRMTransport(host)
    worker, outcome = start_hour_long_apply(fake, transport)

    before = len(fake.signals)
    results = []
    callers = [threading.Thread(target=lambda: results.append(transport.interrupt())) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(30)
    assert sorted(results) == [False, False, True]  # idempotent: exactly one call signalled the command
    worker.join(30)
    assert not worker.is_alive()
    error = outcome["error"]
    assert isinstance(error, CommandInterrupted) and error.command_started and not error.transient
    assert [code for _s, _c, code in fake.signals[before : before + 2]] == [SIGNAL_CTRL_C, SIGNAL_TERMINATE]
    assert fake.hosts["hv09"].commands_run == 1  # the apply script never ran

    assert transport.abort() == 1 and transport.abort() == 0  # its shell, once
    transport.close()
    assert_every_shell_deleted(fake)
    with pytest.raises(CommandInterrupted) as refused:
        transport.run("Write-Output 'more'", idempotent=True)  # nothing new starts after an interrupt
    assert not refused.value.command_started
    assert fake.open_shells() == 0


def test_a_shell_is_deleted_within_the_abort_deadline_when_its_host_never_got_the_first_signals(
    fake: FakeWinRMServer,
) -> None:
    """The second Ctrl-C can come before the first one's Signals reached a host (the signaller thread of
    that host has not started yet, or the first Ctrl-C found no command running). Its abort then sends
    the Signals itself; a host that does not answer them must still have its shell deleted before
    ABORT_DEADLINE, the bound the admin was promised ("deleting every shell now (at most 10 s)")."""
    import time

    from fakes.hosts import fake_host

    from orchestrator.runner.run import ABORT_DEADLINE
    from orchestrator.transport.registry import OpenTransports

    host = fake_host(
        fake, "hv09", route="hv09", allow_unencrypted=True, operation_timeout_sec=20, read_timeout_sec=30
    )
    registry = OpenTransports()
    transport = registry.tracking(lambda spec, _state: WinRMTransport(spec))(host, Path("."))
    worker, outcome = start_hour_long_apply(fake, transport)
    fake.delay(8.0, action="Signal", times=2)  # longer than a Signal's read timeout: no answer at all

    started = time.monotonic()
    sweep = registry.abort_all(ABORT_DEADLINE)
    took = time.monotonic() - started

    assert sweep.unanswered == [] and sweep.total == 1, f"abort took {took:.1f} s"
    assert_every_shell_deleted(fake)
    worker.join(30)
    assert not worker.is_alive() and isinstance(outcome.get("error"), CommandInterrupted)
    transport.close()
