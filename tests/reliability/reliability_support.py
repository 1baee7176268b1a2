"""What the reliability and security tests share: a classroom host, a fault plan for the fake WinRM server,
fast transports, the journal as rows, the CLI in a subprocess, and a scanner for leaked secrets.

The fault plan is seeded per host, so the faults a host sees depend only on the seed and on that host's own
sequence of requests (one runner thread per host), never on how threads interleave: a failure replays.
"""

from __future__ import annotations

import base64
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from fakes import FakeWinRMServer, Rule
from fakes.hosts import fake_host

from orchestrator import events as ev
from orchestrator.model import CheckpointPolicy, DiskSpec, HostSpec, Inventory, RetryPolicy, VMSpec
from orchestrator.runner import Runner, RunOptions, RunResult
from orchestrator.simulator import Simulator
from orchestrator.transport.retry import Backoff
from orchestrator.transport.winrm import WinRMTransport

GB = 1024**3
REPO = Path(__file__).resolve().parents[2]
PREMIUM_IMAGE = "D:\\images\\mps2012-premium.vhdx"
SWITCH = "Classroom LAN"
HOST_SEED: dict[str, Any] = {
    "os_sku": 8,
    "os_version": "6.3.9600",
    "logical_processors": 16,
    "memory": "64GB",
    "switches": [SWITCH],
    "images": {PREMIUM_IMAGE: {"edition_sku": 77}},
}
# The CLI as an admin box runs it, in a child process we may SIGKILL (`python -m orchestrator.cli` may not exist).
CLI = [sys.executable, "-c", "from orchestrator.cli import main; main()"]


def classroom_vm(name: str, baseline: str = "clean") -> VMSpec:
    """A Premium MultiPoint VM on a differencing disk, with a baseline checkpoint."""
    return VMSpec(
        name=name,
        cpus=2,
        memory=4 * GB,
        disk=DiskSpec("parent", source=PREMIUM_IMAGE),
        switch=SWITCH,
        checkpoints=CheckpointPolicy(baseline=baseline),
    )


# ---- faults -----------------------------------------------------------------------------------------------

FAULTS = ("reset", "lost_reply", "503", "wsman_timeout", "slow")


@dataclass
class HostFaults:
    """One host's fault plan: a seeded stream of per-request draws, an optional reboot, or down for good."""

    rng: random.Random
    rate: float
    reboot_at: int | None = None  # the request number that triggers the reboot
    # How many requests the reboot drops, the one that triggers it included. Counted in requests, not seconds:
    # how many requests a host sends in a second depends on the backoff's jitter (unseeded) and on the load,
    # so an outage in seconds could swallow any number of the host's attempts and then not replay by seed.
    reboot_requests: int = 0
    down_forever: bool = False
    lose_apply_reply: bool = False  # the first answer to the apply script is lost once
    stall_apply: float = 0.0  # the first answer to the apply script comes this late (past the read timeout)
    requests: int = 0
    down_for: int = 0  # requests the reboot still drops
    injected: Counter[str] = field(default_factory=Counter)


class ChaosServer(FakeWinRMServer):
    """The fake WinRM server with about `rate` of the requests of each host failing, as networks and hosts do.

    Per request (seeded per host): a connection reset before the host sees the request, a reply lost after the
    host handled it (the script ran, its output is gone), HTTP 503, the WS-Man TimedOut fault, or a slow reply.
    A rebooting host drops its shells and its next `reboot_requests` requests; a host down for good drops all.
    No fault that may leave a shell is injected on Create: a reset, a lost reply and the TimedOut fault there
    may each have made a shell the client cannot name (it fails the host as ShellOpenUncertain, by design:
    transport/errors.py), so such a draw on Create becomes a 503, which proves nothing was made.
    A down or rebooting host refuses the TCP connection (what FakeWinRMServer.reboot does); one listener
    serves all 50 hosts here, so a Create to a down host cannot be refused for that host alone and is answered
    503 instead, the stand-in that, like the refusal, tells the client no shell was made and is retried
    (reasoned); its other requests are dropped, as a host going down resets its open connections.
    """

    def __init__(self, *, seed: int, rate: float, slow_seconds: float = 0.15, **options: Any) -> None:
        super().__init__(simulator_factory=lambda name: Simulator(seed=HOST_SEED, host_name=name), **options)
        self.seed = seed
        self.rate = rate
        self.slow_seconds = slow_seconds
        self.plans: dict[str, HostFaults] = {}
        self._current = threading.local()
        self.enabled = True

    def plan(
        self,
        host: str,
        *,
        reboot_at: int | None = None,
        reboot_requests: int = 0,
        down_forever: bool = False,
        lose_apply_reply: bool = False,
        stall_apply: float = 0.0,
    ) -> HostFaults:
        plan = HostFaults(
            random.Random(f"{self.seed}:{host}"),
            self.rate,
            reboot_at,
            reboot_requests,
            down_forever,
            lose_apply_reply,
            stall_apply,
        )
        self.plans[host] = plan
        return plan

    def handle(self, host: Any, req: Any, user: str, address: str) -> tuple[int, bytes]:
        self._current.host = host.name
        self._current.apply_output = False
        if req.action == "Receive":
            shell = self._shell(host, req)
            element = req.find("rsp:Receive/rsp:DesiredStream")
            command = self._command(shell, element) if shell is not None else None
            # Not yet run, and it takes checkpoints: this Receive runs the apply script.
            self._current.apply_output = bool(
                command and command.pending is None and b"Checkpoint-VM -VM" in command.stdin
            )
        return super().handle(host, req, user, address)

    def _match_rules(self, action: str) -> list[Rule]:
        return super()._match_rules(action) + self._chaos(action)

    def _chaos(self, action: str) -> list[Rule]:
        plan = self.plans.get(getattr(self._current, "host", ""))
        if plan is None or not self.enabled:
            return []
        plan.requests += 1
        if plan.down_forever:
            plan.injected["down"] += 1
            return [self._down(action)]
        if plan.reboot_at is not None and plan.requests == plan.reboot_at:
            plan.down_for = plan.reboot_requests
            plan.injected["reboot"] += 1
            self._forget_shells(self._current.host)
        if plan.down_for > 0:
            plan.down_for -= 1
            plan.injected["down"] += 1
            return [self._down(action)]
        if plan.lose_apply_reply and self._current.apply_output:
            plan.lose_apply_reply = False
            plan.injected["lost_apply_reply"] += 1
            return [Rule("drop", processed=True)]
        if plan.stall_apply and self._current.apply_output:
            stall, plan.stall_apply = plan.stall_apply, 0.0
            plan.injected["stalled_apply"] += 1
            return [Rule("delay", delay=stall)]
        if plan.rng.random() >= plan.rate:
            return []
        fault = plan.rng.choice(FAULTS)
        if action == "Create" and fault in ("reset", "lost_reply", "wsman_timeout"):
            fault = "503"
        plan.injected[fault] += 1
        return [
            {
                "reset": Rule("drop"),
                "lost_reply": Rule("drop", processed=True),
                "503": Rule("status", status=503),
                # A Send that times out under load was still processed ("On manual testing the input is
                # still processed", Ansible's winrm plugin, _winrm_write_stdin); elsewhere nothing happened.
                "wsman_timeout": Rule("timeout", processed=action == "Send"),
                "slow": Rule("delay", delay=self.slow_seconds),
            }[fault]
        ]

    @staticmethod
    def _down(action: str) -> Rule:
        """A request to a host that is down (see the class docstring for the 503 on Create)."""
        return Rule("status", status=503) if action == "Create" else Rule("drop")

    def _forget_shells(self, host: str) -> None:
        """A reboot: the host's shells (and the commands in them) are gone."""
        with self._lock:
            for shell_id in [s for s, shell in self._shells.items() if shell.host == host]:
                del self._shells[shell_id]

    def injected(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for plan in self.plans.values():
            total.update(plan.injected)
        return total

    def simulator(self, host: str) -> Simulator:
        return self.hosts[host].simulator  # type: ignore[return-value]


TEST_BACKOFF = Backoff(initial=0.02, maximum=0.4)


def fast_transports(backoff: Backoff = TEST_BACKOFF) -> Callable[[HostSpec, Path], Any]:
    """The real WinRM transport with a test-sized backoff (the schedule of waits, not what is retried)."""
    return lambda host, _state: WinRMTransport(host, backoff=backoff)


def winrm_fleet(
    server: FakeWinRMServer, names: Sequence[str], vms_per_host: int, path: Path, retry: RetryPolicy,
    *, read_timeout_sec: int = 3,
) -> Inventory:
    """One Hyper-V host per name behind `server` (routed by /wsman/<name>), each wanting a small classroom.
    `read_timeout_sec` is the client's wait for each reply (ansible_winrm_read_timeout_sec)."""
    hosts = {}
    for name in names:
        host = fake_host(
            server,
            name,
            route=name,
            allow_unencrypted=True,
            retry=retry,
            operation_timeout_sec=1,
            read_timeout_sec=read_timeout_sec,
        )
        vms = tuple(classroom_vm(f"{name}-lab-{i:02d}") for i in range(1, vms_per_host + 1))
        hosts[name] = replace(host, vms=vms, operation_timeout=60.0)
    return Inventory(str(path), hosts, {}, {})


def run_inventory(
    inventory: Inventory,
    state: Path,
    transports: Callable[[HostSpec, Path], Any] | None = None,
    **options: Any,
) -> tuple[RunResult, list[ev.Event]]:
    seen: list[ev.Event] = []
    result = Runner(inventory, RunOptions(state_dir=state, **options), seen.append, transports).apply(
        list(inventory.hosts)
    )
    return result, seen


# ---- the journal as rows ----------------------------------------------------------------------------------


def journal_rows(state_dir: Path, table: str) -> list[dict[str, Any]]:
    """Every row of one journal table, read with plain sqlite3 (what an admin's own tooling would see)."""
    db = sqlite3.connect(f"file:{state_dir / 'journal.sqlite3'}?mode=ro", uri=True)
    try:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid")]
    finally:
        db.close()


# ---- the CLI in a child process ---------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATE_", "WINRM_"))}
    env.update({"PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1"})
    env.update(extra)
    return env


def start_cli(
    args: Iterable[str], cwd: Path, env: dict[str, str] | None = None, ignore: Sequence[int] = ()
) -> subprocess.Popen[str]:
    """The CLI in its own session; `ignore`: signals the child starts with ignored, as `nohup` (SIGHUP) or a
    shell's background job (SIGINT) starts it."""

    def ignoring() -> None:
        for signum in ignore:
            signal.signal(signum, signal.SIG_IGN)

    return subprocess.Popen(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=env or cli_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=ignoring if ignore else None,
    )


def run_cli(
    args: Iterable[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=env or cli_env(),
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def sigkill(process: subprocess.Popen[str], timeout: float = 10) -> None:
    """Kill the child (and anything it started) the way the OOM killer or a power cut would."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=timeout)


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def write_yaml(path: Path, document: Any, mode: int = 0o600) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    path.chmod(mode)
    return path


# ---- secrets ------------------------------------------------------------------------------------------------


def secret_forms(password: str) -> dict[str, bytes]:
    """Every way a password could leak: as text, UTF-16LE (PowerShell strings, -EncodedCommand), base64 of
    both (Basic headers, encoded commands), and `user:password` base64 as a Basic header carries it."""
    forms = {
        "utf-8": password.encode("utf-8"),
        "utf-16-le": password.encode("utf-16-le"),
        "base64": base64.b64encode(password.encode("utf-8")),
        "base64 utf-16": base64.b64encode(password.encode("utf-16-le")),
        "basic header": base64.b64encode(f"admin:{password}".encode()),
    }
    return forms


def leaks(data: bytes, password: str) -> list[str]:
    """Which forms of `password` occur in `data` (empty when none)."""
    return [name for name, form in secret_forms(password).items() if form in data]


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())
