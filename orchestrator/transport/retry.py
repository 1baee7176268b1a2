"""Retrying transient transport failures: exponential backoff with jitter, bounded attempts and total time.

What is retried is decided by the error itself (`TransportError.transient`, sorted once in errors.py) and by the
script: a failure after the script may have started is repeated only when the caller says the script is
idempotent (safe to run again from the start). Everything else is raised at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from orchestrator.model import RetryPolicy
from orchestrator.transport.errors import TransportError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait between attempts: random in [0, min(maximum, initial * 2**n)] seconds ("full jitter")."""

    initial: float = 1.0
    maximum: float = 30.0


def should_retry(error: BaseException, *, idempotent: bool) -> bool:
    """Transient, and either the script never started or it is safe to repeat."""
    return isinstance(error, TransportError) and error.transient and (idempotent or not error.command_started)


def call_with_retry(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    idempotent: bool,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, TransportError], None] | None = None,
) -> T:
    """Run `attempt` until it succeeds, fails permanently, or the policy's attempts or deadline run out.

    The last error is raised as it is (a TransportError carrying its fix). `on_retry(n, error)` is called
    before each wait, so callers can report "retrying after ...".
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            error = state.outcome.exception()
            if isinstance(error, TransportError):
                on_retry(state.attempt_number, error)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, policy.attempts))
        | tenacity.stop_before_delay(policy.deadline),
        wait=tenacity.wait_random_exponential(multiplier=backoff.initial, max=backoff.maximum),
        retry=tenacity.retry_if_exception(lambda exc: should_retry(exc, idempotent=idempotent)),
        reraise=True,
        sleep=sleep,
        before_sleep=before_sleep,
    )
    return retrying(attempt)
