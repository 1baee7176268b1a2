"""The `orchestrate` click group; each subcommand module registers itself on it (see orchestrator.cli)."""

from __future__ import annotations

import signal
import threading

import click

from orchestrator import __version__

# SIGHUP does not exist on Windows, where the CLI also runs (an admin box may be one).
STOPPING_SIGNALS = tuple(
    sig for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig is not None
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="orchestrate")
def main() -> None:
    """Provision Windows MultiPoint Server 2012 Premium VMs on Hyper-V hosts from an Ansible-style inventory.

    \b
    Start here:
      orchestrate validate inventories/demo.yaml     check the inventory, contact nothing
      orchestrate apply inventories/demo.yaml --dry-run   preview the changes
      orchestrate apply inventories/demo.yaml        converge every host

    Exit codes: 0 success, 1 some host failed (even if another was locked), 2 invalid input (nothing
    contacted), 3 a host is locked by another run and none failed, 130 interrupted (Ctrl-C, SIGTERM, or SIGHUP when the terminal or SSH session goes
    away, unless started with nohup: no new host starts, the running scripts are stopped on their hosts, at most 30 s are waited for
    them, every remote shell is deleted; a second Ctrl-C deletes the shells at once).
    """
    # SIGTERM (systemd stopping a timer's unit, kill) and SIGHUP (the SSH session of the admin dropped) as
    # Ctrl-C: the run stops new work and ends with its recap instead of dying mid-change, which SIGHUP's
    # default action (terminate) would do. Restored when the command ends (tests run many in one process).
    if threading.current_thread() is threading.main_thread():
        handler = InterruptHandler()
        previous = {sig: signal.signal(sig, handler) for sig in STOPPING_SIGNALS if not _ignored_on_purpose(sig)}

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        click.get_current_context().call_on_close(restore)


def _ignored_on_purpose(sig: int) -> bool:
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
            raise KeyboardInterrupt
