"""The `orchestrate` console script: the stopping signals are caught before anything heavy is imported.

Loading the CLI (click, rich, every subcommand) takes a noticeable part of a second, more on a busy admin
box, and a Ctrl-C or systemd's SIGTERM in that window showed a Python traceback (the default SIGINT handler
raising in the middle of an import). Here the handlers of cli/interrupts.py come first, and an interrupt
while importing, or one that click would have turned into "Aborted!" and exit 1, ends the command with
exit 130 and one line (cli/interrupts.py `interrupted_exit`). The package's __init__ is lazy for the same
reason: importing this module imports nothing heavy.
"""

from __future__ import annotations

import sys

from orchestrator.cli.interrupts import (
    ignore_from_now_on,
    install_handlers,
    interrupted_exit,
    sniffed_command,
    sniffed_output,
)


def standard_streams_on_devnull() -> None:
    """A standard stream that was closed when the process started (`orchestrate ... >&-`) is opened on
    os.devnull: Python leaves sys.stdout None then (an AttributeError at the first event, after the run was
    journaled), and the descriptor would go to the next file opened (a lock, the journal), which a child
    process, such as a vault password script, would write into as its stdout."""
    import os

    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        devnull = os.open(os.devnull, os.O_RDWR)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, encoding="utf-8", errors="replace", closefd=False))  # noqa: SIM115


def run() -> None:
    """The console script: handlers first, then the CLI (which installs its own for the command's run)."""
    install_handlers()
    standard_streams_on_devnull()
    args = sys.argv[1:]
    try:
        from orchestrator.cli import main  # the package loads it with every subcommand (its __getattr__)

        main()
    except KeyboardInterrupt:  # while importing the CLI, or anywhere click would have said "Aborted!"
        interrupted_exit(sniffed_output(args), sniffed_command(args))
    finally:
        # The command has ended and said so: a signal from here on (while the interpreter shuts down,
        # which puts back the default action of every signal Python handles) must not turn its exit code
        # into a kill. SIG_IGN is kept through that shutdown; no program is started after it.
        ignore_from_now_on()
