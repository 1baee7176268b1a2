"""Ctrl-C, SIGTERM and SIGHUP for the CLI: the counting handler, and how a command ends when an interrupt
reaches it before (or outside) a run, which turns its own interrupts into a recap (runner/run.py).

Loading the CLI (click, rich, every subcommand, then the inventory and its vault) takes a noticeable part of
a second, more on a busy admin box. A Ctrl-C, or systemd's SIGTERM, in that window used to show a Python
traceback (the default SIGINT handler raising in the middle of an import) or click's "Aborted!" with exit 1,
"a host failed", although no host had been contacted. Now the console script (cli/entry.py) installs these handlers
first; an interrupt that arrives before any host is contacted ends the command with exit 130 and one line
on stderr, and with `--output json` the recap every command ends with (docs/output.md).

Only the standard library: the console script imports this before anything heavy.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from orchestrator import stop_request

INTERRUPTED = 130  # orchestrator.exit_codes.INTERRUPTED, without importing anything on the way
BEFORE_CONTACT = "interrupted before any host was contacted"
AFTER_CONTACT = "interrupted: the command stopped before its end; `orchestrate history` shows how far its runs got"

# SIGHUP does not exist on Windows, where the CLI also runs (an admin box may be one).
STOPPING_SIGNALS = tuple(
    sig for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig is not None
)


def ignored_on_purpose(sig: int) -> bool:
    """Whether the process was started with this signal ignored, and should stay so: `nohup` ignores SIGHUP so
    that a run outlives the admin's logout (POSIX nohup: "the SIGHUP signal shall be set to be ignored"),
    and a non-interactive shell starts a background job (`cmd &`) with SIGINT ignored so that Ctrl-C at the
    terminal does not reach it (POSIX Shell Command Language, 2.11 "Signals and Error Handling"); an ignored
    signal stays ignored across exec (POSIX execve: "Signals set to be ignored (SIG_IGN) by the calling
    process image shall be set to be ignored by the new process image"), which is what getsignal shows here.
    SIGTERM is always caught: it is how systemd and kill stop a run."""
    return sig != signal.SIGTERM and signal.getsignal(sig) is signal.SIG_IGN


class InterruptHandler:
    """Ctrl-C, SIGTERM and SIGHUP, counted together: the first two raise KeyboardInterrupt in the main
    thread (the runner stops new work and signals the running commands on the first, deletes the shells at
    once on the second, runner/run.py `_stop`); later ones are ignored, because the run is already deleting
    the shells under a short deadline and a KeyboardInterrupt there would only leave them behind (and show a
    traceback)."""

    RAISED = 2

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count <= self.RAISED:
            stop_request.note()  # seen by the run's wait even if this KeyboardInterrupt is lost on the way
            raise KeyboardInterrupt


def install_handlers() -> dict[int, object]:
    """A fresh InterruptHandler on every stopping signal the process was not told to ignore; returns the
    handlers it replaced."""
    handler = InterruptHandler()
    stop_request.forget()  # a request of an earlier command in this process (tests run many) is not ours
    return {sig: signal.signal(sig, handler) for sig in STOPPING_SIGNALS if not ignored_on_purpose(sig)}


def interrupted_exit(output: str, command: str, *, contacted: bool = False) -> NoReturn:
    """End the command after an interrupt that no run turned into its recap: exit 130, one line on stderr,
    and with --output json an `interrupted` line and the recap (the last line, as for every command).

    Further signals are ignored from here on (a handler that does nothing, not SIG_IGN, which a child
    would inherit): the command is already ending, and a KeyboardInterrupt while saying so would be a
    traceback."""
    for sig in STOPPING_SIGNALS:
        with contextlib.suppress(ValueError, OSError):  # ValueError: not the main thread (a test's runner)
            signal.signal(sig, _ignore)
    message = AFTER_CONTACT if contacted else BEFORE_CONTACT
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if output == "json":
            import json  # here, not at the top: the console script imports this module before its handlers

            for line in (
                {"event": "interrupted", "message": message},
                {"event": "recap", "command": command, "exit_code": INTERRUPTED},
            ):
                sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    sys.exit(INTERRUPTED)


def ignore_from_now_on() -> None:
    """Every stopping signal ignored (SIG_IGN), for the end of the console script."""
    for sig in STOPPING_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_IGN)


def _ignore(signum: int, frame: object) -> None:
    return None


def sniffed_output(args: Sequence[str]) -> str:
    """--output as the command line gives it, for an interrupt before click has parsed it (or while it does)."""
    output = "text"
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-o", "--output") and index + 1 < len(args):
            output = args[index + 1]
        elif arg.startswith("--output="):
            output = arg.partition("=")[2]
        elif arg.startswith("-o") and len(arg) > 2 and not arg.startswith("--"):
            output = arg[2:]
    return output


def sniffed_command(args: Sequence[str]) -> str:
    """The subcommand's name as typed (the first word that is not an option), for the same early recap."""
    return next((arg for arg in args if not arg.startswith("-")), "orchestrate")


