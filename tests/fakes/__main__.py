"""Run the fake WinRM server by itself, e.g. for benchmarks or trying `orchestrate ping` by hand.

    python -m tests.fakes --hosts 200 [--tls] [--latency 0.005] [--user admin --password Passw0rd!]

Hosts hv001..hvNNN are served at /wsman/hv001 ...; each is a fresh `orchestrator.simulator.Simulator`
(the ScriptDouble if the simulator cannot be imported). Prints one JSON line with the base URL, the hosts and,
with --tls, the CA file to trust; prints the counters as JSON when stopped (Ctrl-C or end of stdin).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from .doubles import ScriptDouble
from .server import FakeWinRMServer


def _simulator_factory(use_double: bool) -> Any:
    if not use_double:
        try:
            from orchestrator.simulator import Simulator
        except ImportError:
            pass
        else:
            return lambda _name: Simulator()
    return lambda _name: ScriptDouble()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1, help="how many simulated hosts (hv001 ...)")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a fresh test CA")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="Passw0rd!")
    parser.add_argument("--double", action="store_true", help="use the test double instead of the simulator")
    args = parser.parse_args(argv)

    ca = None
    ca_file = None
    if args.tls:
        import trustme

        ca = trustme.CA()
        ca_file = Path(tempfile.mkdtemp(prefix="fake-winrm-ca-")) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
    server = FakeWinRMServer(
        users={args.user: args.password}, tls=ca, simulator_factory=_simulator_factory(args.double)
    )
    server.latency = args.latency
    names = [f"hv{i:03d}" for i in range(1, args.hosts + 1)]
    with server:
        print(
            json.dumps(
                {
                    "url": server.url(),
                    "port": server.port,
                    "hosts": {name: server.url(name) for name in names},
                    "ca_file": str(ca_file) if ca_file else None,
                }
            ),
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()
        print(json.dumps(server.stats()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
