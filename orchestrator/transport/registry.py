"""The transports a run has open now, so that an interrupt (Ctrl-C, SIGTERM) can reach their remote commands.

The runner opens one transport per host through `OpenTransports.tracking(factory)`; each stays listed until
its `close()`. On an interrupt the runner calls `interrupt_all` (signal every running command) and then
`abort_all` (delete every shell). Both work on all hosts at once, each host on a thread of its own, because
the admin is waiting and a dead host must not hold up the others: they return after `deadline` seconds at
the latest, with what was done by then. Transports without `interrupt`/`abort` (the simulator, which runs a
script in-process and quickly) are left to finish.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.model import HostSpec
from orchestrator.transport.base import CommandResult, OutputCallback, Transport

TransportFactory = Callable[[HostSpec, Path], Transport]


@dataclass
class Sweep:
    """What one interrupt_all / abort_all did: per host, the count its transport returned."""

    done: dict[str, int] = field(default_factory=dict)  # host -> commands signalled / shells deleted
    unanswered: list[str] = field(default_factory=list)  # hosts still busy when the deadline came

    @property
    def total(self) -> int:
        return sum(self.done.values())


class _Tracked:
    """A transport as the host pipeline sees it; listed in the registry until closed."""

    def __init__(self, name: str, inner: Transport, registry: OpenTransports) -> None:
        self._name = name
        self._inner = inner
        self._registry = registry

    def run(
        self,
        script: str,
        *,
        idempotent: bool,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
        secrets: Mapping[str, str] | None = None,
        read_only: bool = False,
    ) -> CommandResult:
        return self._inner.run(
            script, idempotent=idempotent, timeout=timeout, on_output=on_output, secrets=secrets, read_only=read_only
        )

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._registry._forget(self)

    def __getattr__(self, name: str) -> Any:  # warnings, retries, interrupt, abort, ...
        return getattr(self._inner, name)


class OpenTransports:
    """Thread-safe list of the run's open transports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, _Tracked] = {}

    def tracking(self, factory: TransportFactory) -> TransportFactory:
        def open_tracked(host: HostSpec, state_dir: Path) -> Transport:
            tracked = _Tracked(host.name, factory(host, state_dir), self)
            with self._lock:
                self._open[id(tracked)] = tracked
            return tracked

        return open_tracked

    def _forget(self, tracked: _Tracked) -> None:
        with self._lock:
            self._open.pop(id(tracked), None)

    def hosts(self) -> list[str]:
        with self._lock:
            return [t._name for t in self._open.values()]

    def interrupt_all(self, deadline: float) -> Sweep:
        """Every open transport's `interrupt()` at once; at most `deadline` seconds. A Ctrl-C meanwhile is
        raised (the caller goes on to abort_all at once)."""
        return self._sweep("interrupt", deadline, patient=False)

    def abort_all(self, deadline: float) -> Sweep:
        """Every open transport's `abort()` (interrupt, then delete its shells) at once; at most `deadline` s."""
        return self._sweep("abort", deadline, patient=True)

    def _sweep(self, method: str, deadline: float, *, patient: bool) -> Sweep:
        with self._lock:
            targets = [(t._name, getattr(t._inner, method, None)) for t in self._open.values()]
        sweep = Sweep()
        lock = threading.Lock()

        def call(name: str, action: Callable[[], Any]) -> None:
            result = action()  # interrupt()/abort() never raise: they report what they could do
            with lock:
                sweep.done[name] = int(result)

        threads = [
            threading.Thread(target=call, args=(name, action), name=f"{method}-{name}", daemon=True)
            for name, action in targets
            if action is not None
        ]
        for thread in threads:
            thread.start()
        end = time.monotonic() + deadline
        for thread in threads:
            _join_until(thread, end, patient)
        with lock:
            sweep.unanswered = [
                name for name, action in targets if action is not None and name not in sweep.done
            ]
            return Sweep(dict(sweep.done), list(sweep.unanswered))


def _join_until(thread: threading.Thread, end: float, patient: bool) -> None:
    """Wait for `thread` until `end`. `patient`: a further Ctrl-C while the shells are being deleted does not
    cut the wait short (the deadline bounds it anyway) and never surfaces as a traceback."""
    while thread.is_alive():
        remaining = end - time.monotonic()
        if remaining <= 0:
            return
        try:
            thread.join(min(remaining, 0.5))
        except KeyboardInterrupt:
            if not patient:
                raise
