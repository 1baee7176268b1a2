"""The `orchestrate` click group; each subcommand module registers itself on it (see orchestrator.cli)."""

from __future__ import annotations

import signal
import threading

import click

from orchestrator import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="orchestrate")
def main() -> None:
    """Provision Windows MultiPoint Server 2012 Premium VMs on Hyper-V hosts from an Ansible-style inventory.

    \b
    Start here:
      orchestrate validate inventories/demo.yaml     check the inventory, contact nothing
      orchestrate apply inventories/demo.yaml --dry-run   preview the changes
      orchestrate apply inventories/demo.yaml        converge every host

    Exit codes: 0 success, 1 some host failed, 2 invalid input (nothing contacted), 3 a host is locked
    by another run, 130 interrupted (Ctrl-C or SIGTERM: no new host starts, running ones finish).
    """
    # SIGTERM (systemd stopping a timer's unit, kill) as Ctrl-C: the run stops new work and ends with its
    # recap instead of dying mid-change. Restored when the command ends (tests run many in one process).
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        click.get_current_context().call_on_close(lambda: signal.signal(signal.SIGTERM, previous))
