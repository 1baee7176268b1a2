"""The fake WinRM server in a process of its own, for the fleet benchmark.

    python -m benchmarks.fleet_server --latency 0.02

Every route /wsman/<name> is a fresh simulated host (benchmarks.common.SEED), created on first use. Prints
one JSON line `{"port": ...}`, then answers each line read on stdin: `stats` prints the fake's counters plus
this process's CPU seconds as one JSON line; end of stdin stops the server.

Why a separate process: the simulated hosts' PowerShell runs inside the fake. In the benchmark's own process
it would compete with the orchestrator for the same interpreter lock, which a real fleet (every host its own
machine) never does.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys


def main(argv: list[str] | None = None) -> int:
    from benchmarks.common import PASSWORD, SEED, USER, use_fakes

    use_fakes()
    from fakes.server import FakeWinRMServer

    from orchestrator.simulator import Simulator

    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet_server")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = parser.parse_args(argv)
    server = FakeWinRMServer(users={USER: PASSWORD}, simulator_factory=lambda _route: Simulator(seed=SEED))
    server.latency = args.latency
    with server:
        print(json.dumps({"port": server.port}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                stats = {**server.stats(), "cpu_s": usage.ru_utime + usage.ru_stime}
                print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
