"""Where a CPU-bound loop spends its time, by layer of the code: a sampling profiler on the CPU clock.

`setitimer(ITIMER_PROF)` sends SIGPROF every `interval` seconds of this process's CPU time; the handler
(run by the interpreter in the main thread, with the interrupted frame) charges the sample to the innermost
frame whose file belongs to a named layer, so a standard-library call (re, uuid, json) counts for the layer
that made it. Sampling, not tracing: cProfile's hook on every call costs more than the small functions it
measures and inflates them unevenly, and the simulator's profile is a flat one of many small calls.

POSIX only (setitimer); elsewhere `sample` answers None and the benchmark prints no breakdown.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

OTHER = "other"
T = TypeVar("T")


@dataclass(frozen=True)
class Sampled:
    shares: dict[str, float]  # each layer's share of the samples, 0..1; `OTHER` for frames of no layer
    samples: int


def sample(
    prepare: Callable[[], T],
    work: Callable[[T], None],
    layers: Sequence[tuple[str, str]],
    min_samples: int,
    max_rounds: int = 100,
    interval: float = 0.0005,
) -> Sampled | None:
    """Rounds of `work(prepare())` until `min_samples` were taken (at most `max_rounds`): each layer's share
    of the samples, and how many there were. The timer runs only during `work`, so what `prepare` builds
    (fresh simulated hosts) is not charged. Rounds, not one long run: SIGPROF comes at the kernel's tick
    (4 ms at 250 Hz), not at `interval`, and under load a process is on the CPU at fewer ticks, so the
    samples of a given amount of work vary; counting them is what keeps each share's error bounded.

    `layers` are (label, path fragment) pairs tried in order for each frame from the innermost outwards, so
    a narrower fragment listed first wins over a wider one that contains it."""
    if not hasattr(signal, "setitimer"):
        return None
    counts: Counter[str] = Counter()

    def on_sample(_signum: int, frame: object) -> None:
        current = frame
        while current is not None:
            filename = current.f_code.co_filename  # type: ignore[attr-defined]
            for label, fragment in layers:
                if fragment in filename:
                    counts[label] += 1
                    return
            current = current.f_back  # type: ignore[attr-defined]
        counts[OTHER] += 1

    previous = signal.signal(signal.SIGPROF, on_sample)
    try:
        for _ in range(max_rounds):
            batch = prepare()
            signal.setitimer(signal.ITIMER_PROF, interval, interval)
            try:
                work(batch)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0, 0)
            if sum(counts.values()) >= min_samples:
                break
    finally:
        signal.signal(signal.SIGPROF, previous)
    total = sum(counts.values())
    if not total:
        return None
    shares = {label: counts[label] / total for label in [*(label for label, _ in layers), OTHER]}
    return Sampled(shares, total)
