"""A stop the signal handler asked for, kept where the runner's wait can see it even if the
KeyboardInterrupt that carried it was lost.

Python runs a signal handler in the main thread between two bytecodes, wherever that thread is, and an
exception raised while it runs a `__del__` method, a weakref callback or a garbage collector callback is
printed as "Exception ignored in ..." and dropped (Python's reference, "3.3.1 Basic customization",
`object.__del__`: "Exceptions that occur during their execution are ignored"; `gc.callbacks` and
`weakref.finalize` are called the same way). The suite saw it once: a Ctrl-C raised inside hypothesis's gc
callback vanished. A run that lost its only SIGTERM would go on until systemd's SIGKILL, which leaves the
hosts' shells and half-run scripts behind. So the handler (cli/interrupts.py) also notes the request here,
and the runner's wait (runner/run.py `_outcome_of`), which wakes every second, raises the
KeyboardInterrupt itself when one was noted and none reached it.

Only the standard library: the console script imports the handler, and with it this module, before
anything heavy.
"""

from __future__ import annotations

import threading

_requested = threading.Event()


def note() -> None:
    """A stopping signal arrived (called by the handler, just before it raises)."""
    _requested.set()


def forget() -> None:
    """The request was seen (its KeyboardInterrupt reached the runner), or a new command starts."""
    _requested.clear()


def pending() -> bool:
    """Whether a stop was asked for and not yet seen."""
    return _requested.is_set()
