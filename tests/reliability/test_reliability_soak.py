"""Fault soak: a school's 50 Hyper-V hosts on a bad network day.

Given 50 hosts behind the fake WinRM server, where about one request in ten fails (connection reset, a reply
lost after the host ran the script, HTTP 503, the WS-Man timeout fault, a slow answer), a few hosts run the
apply script but their answer is lost or comes after the client's read timeout, two hosts reboot in the
middle of the run and one host stays down, when the admin applies the inventory, then no script is run twice
after it started: a host whose answer was lost after its script started fails saying so ("not run again"),
every other host that answers converges, the journal holds one row per planned action (changed where the host
answered) and none for the host that never answered, that host is reported failed (exit 1), and once the
network heals a second apply converges every answering host to exactly its classroom (no duplicate VM, every
baseline checkpoint exactly once) and a third changes nothing. The faults are seeded: set RELIABILITY_SEED to replay a failure.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from reliability_support import ChaosServer, fast_transports, journal_rows, run_inventory, winrm_fleet

from orchestrator import events as ev
from orchestrator.model import RetryPolicy

SEED = int(os.environ.get("RELIABILITY_SEED", "20261125"))
HOSTS = [f"hv{i:02d}" for i in range(1, 51)]
VMS_PER_HOST = 1
DOWN = "hv50"
REBOOTING = ("hv07", "hv23")
# A reboot drops this many of the host's requests (several attempts: each reconnects and opens a new shell).
# Counted in requests: a reboot of 1.0 s swallowed as many attempts as the backoff's (unseeded) jitter fitted
# into that second, and once in a while that was all 12 of RETRY's (2026-12: hv23 failed "dropped while
# trying to open a shell" under -n 8; with the jitter drawn at 0, both rebooting hosts failed every time).
REBOOT_REQUESTS = 10
LOST_APPLY_REPLY = ("hv10", "hv20", "hv30")  # the host ran the apply, its answer never came: run again
# The client's wait for a reply. One in-process fake answers all 50 hosts (25 at a time) while the suite runs
# 8 workers on 2 cores, so this process gets about a quarter of a core: at 3 s, a burst of hosts once waited
# longer than that for the reply that opens their shell, which is (rightly) never retried, and failed; at 8 s
# it failed once in four full runs (2026-12-03). 15 s is still a wait the stalled applies outlast.
READ_TIMEOUT = 15
STALLED_APPLY = ("hv15", "hv35")  # the host answers the apply after the client's read timeout
# An admin facing a flaky network raises orchestrate_retry; the deadline bounds the whole run per host.
RETRY = RetryPolicy(attempts=12, deadline=45.0)
RUN_BUDGET = 100.0  # seconds for the faulty apply of 50 hosts, on a loaded 2-core CI runner


@pytest.mark.slow
def test_apply_converges_on_every_host_that_answers_despite_faults(tmp_path: Path) -> None:
    with ChaosServer(seed=SEED, rate=0.10) as server:
        for name in HOSTS:
            server.plan(
                name,
                down_forever=name == DOWN,
                lose_apply_reply=name in LOST_APPLY_REPLY,
                stall_apply=READ_TIMEOUT + 0.5 if name in STALLED_APPLY else 0.0,
            )
        for name in REBOOTING:
            server.plan(name, reboot_at=6, reboot_requests=REBOOT_REQUESTS)
        inventory = winrm_fleet(server, HOSTS, VMS_PER_HOST, tmp_path / "school.yaml", RETRY,
                                read_timeout_sec=READ_TIMEOUT)
        state = tmp_path / "state"

        started = time.monotonic()
        result, first_events = run_inventory(inventory, state, fast_transports(), forks=25)
        elapsed = time.monotonic() - started
        injected = server.injected()
        replay = f"(replay with RELIABILITY_SEED={SEED}; injected {dict(injected)})"

        # The faults really happened, of every kind, at about the rate asked for.
        kinds = {"reset", "lost_reply", "503", "wsman_timeout", "slow", "reboot", "down"}
        kinds |= {"lost_apply_reply", "stalled_apply"}
        assert set(injected) >= kinds, replay
        for name in REBOOTING:
            assert server.plans[name].injected["down"] == REBOOT_REQUESTS, (name, replay)
        assert elapsed < RUN_BUDGET, replay

        # The host that never came back failed, with a message about the network; a host whose answer was lost
        # after its script started failed saying it was not run again (the apply hosts among them); every other
        # one converged.
        outcomes = result.outcomes
        assert result.exit_code == 1, replay
        assert outcomes[DOWN].status == "failed"
        # Its Creates are answered 503, the stand-in for a refused connection (reliability_support.ChaosServer).
        assert any(word in (outcomes[DOWN].error or "") for word in ("dropped", "refused", "503")), replay
        unsure = {n for n, o in outcomes.items() if n != DOWN and "not run again" in (o.error or "")}
        assert unsure >= set(LOST_APPLY_REPLY + STALLED_APPLY), (unsure, replay)
        failed = {n: o.error for n, o in outcomes.items() if n != DOWN and n not in unsure and o.status != "changed"}
        assert not failed, f"{failed} {replay}"
        assert server.open_shells() == 0, replay

        # The network heals (the down host stays down): a second apply converges every answering host.
        server.enabled = False
        healed = {n: h for n, h in inventory.hosts.items() if n != DOWN}
        healed_inventory = type(inventory)(inventory.path, healed, {}, {})
        again, events = run_inventory(healed_inventory, state, fast_transports(), forks=25)
        assert again.exit_code == 0, replay

        # Each answering host holds exactly its classroom: no duplicate VM, each baseline checkpoint once.
        for name in HOSTS[:-1]:
            vms = server.simulator(name).snapshot()["host"]["vms"]
            names = [vm["name"] for vm in vms]
            assert sorted(names) == [f"{name}-lab-{i:02d}" for i in range(1, VMS_PER_HOST + 1)], (
                name,
                replay,
            )
            for vm in vms:
                assert vm["state"] == "Running", (vm["name"], replay)
                checkpoints = Counter(s["name"] for s in vm["snapshots"])
                assert checkpoints == Counter({"clean": 1}), (vm["name"], checkpoints, replay)
        assert server.simulator(DOWN).snapshot()["host"]["vms"] == []

        # The journal of the first run: one row per planned action of each host that answered throughout; the
        # down host has none, nor has a host whose answer was lost (its outcome is unknown: the host result
        # says why). Every planned action was needed (the facts were read under the host lock): "changed".
        planned = Counter(e.host for e in first_events if isinstance(e, ev.PlannedAction) and e.host not in unsure)
        actions = [a for a in journal_rows(state, "actions") if a["run_id"] == result.run_id]
        by_host = Counter(a["host"] for a in actions)
        assert by_host == planned, replay
        assert DOWN not in by_host
        assert {a["status"] for a in actions} == {"changed"}, replay
        hosts = {h["host"]: h for h in journal_rows(state, "host_results") if h["run_id"] == result.run_id}
        assert hosts[DOWN]["status"] == "failed" and hosts[DOWN]["error"]
        assert Counter(h["status"] for h in hosts.values()) == Counter(
            {"changed": 49 - len(unsure), "failed": 1 + len(unsure)}
        )
        run = next(r for r in journal_rows(state, "runs") if r["id"] == result.run_id)
        assert (run["status"], run["exit_code"]) == ("failed", 1)

        # Every shell the orchestrator opened was deleted again, faults or not; a third apply plans nothing.
        assert server.open_shells() == 0, replay
        third, events = run_inventory(healed_inventory, state, fast_transports(), forks=25)
        assert third.exit_code == 0
        assert [e.changed for e in events if isinstance(e, ev.Recap)] == [0]


def test_a_reply_lost_after_the_apply_ran_is_not_rerun_and_the_next_run_finds_it_done(
    tmp_path: Path,
) -> None:
    """The host ran the whole apply script but its answer was lost: the transport reads the same command again
    instead of running it twice (a real host could be mid-change), the run says the output was lost, and the
    next run re-reads the host and finds the classroom there, once."""
    with ChaosServer(seed=SEED, rate=0.0) as server:
        inventory = winrm_fleet(server, ["hv01"], 2, tmp_path / "school.yaml", RETRY)
        server.drop(action="Receive", after=1, processed=True)  # the second command's output: the apply's

        result, events = run_inventory(inventory, tmp_path / "state", fast_transports())

        assert result.exit_code == 1
        assert "not run again" in (result.outcomes["hv01"].error or "")
        assert server.stats()["commands"] == 2  # facts, the apply whose reply was lost: no rerun
        vms = server.simulator("hv01").snapshot()["host"]["vms"]
        assert sorted(vm["name"] for vm in vms) == ["hv01-lab-01", "hv01-lab-02"]
        assert all([s["name"] for s in vm["snapshots"]] == ["clean"] for vm in vms)
        assert server.open_shells() == 0

        again, events = run_inventory(inventory, tmp_path / "state", fast_transports())
        assert again.exit_code == 0
        assert [e.changed for e in events if isinstance(e, ev.Recap)] == [0]


@pytest.mark.parametrize("fault", ["drop", "timeout", "503"])
def test_the_shell_is_deleted_even_when_the_first_delete_fails(tmp_path: Path, fault: str) -> None:
    """One lost Delete must not leak a shell: leaked shells count against MaxShellsPerUser until the host's
    idle timeout (hours), so a cron job on a flaky network would lock itself out of the host."""
    with ChaosServer(seed=SEED, rate=0.0) as server:
        inventory = winrm_fleet(server, ["hv01"], 1, tmp_path / "school.yaml", RETRY)
        {"drop": server.drop, "timeout": server.timeout, "503": server.fail}[fault](action="Delete")

        result, _ = run_inventory(inventory, tmp_path / "state", fast_transports())

        assert result.exit_code == 0
        assert server.stats()["action:Delete"] >= 2
        assert server.open_shells() == 0
