"""The `orchestrate` click group; each subcommand module registers itself on it (see orchestrator.cli)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from orchestrator import __version__, exit_codes, stop_request
from orchestrator.cli.closed_output import ended_by_output, output_went_away, stdout_is_devnull
from orchestrator.cli.interrupts import (
    STOPPING_SIGNALS,
    InterruptHandler,
    install_handlers,
    interrupted_exit,
    sniffed_command,
    sniffed_output,
)

__all__ = ["CONTACTED", "STOPPING_SIGNALS", "Command", "Group", "InterruptHandler", "main"]

CONTACTED = "orchestrate.contacted"  # ctx.meta key: a run of this command has contacted a host


class Command(click.Command):
    """Every subcommand: an interrupt that no run turned into its recap (while the inventory loads, the
    vault is decrypted, the state directory is checked, or between a move's runs) ends the command with
    exit 130 and one line, never click's "Aborted!" and exit 1 (which says "a host failed")."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        """A bad value that click's own checks or an option's callback refuse (`--vm ''`, `--revert-after
        10`, `--state-dir relative/`) is invalid input like any other: with --output json it gets the
        `invalid_input` line and the recap (docs/output.md, rule 5); click then prints its usage error."""
        given = list(args)  # click's parser consumes the list it parses
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.BadParameter as exc:
            if sniffed_output(given) == "json":
                invalid_input_json(info_name or "orchestrate", exc.format_message())
            raise

    def invoke(self, ctx: click.Context) -> Any:
        was_devnull = stdout_is_devnull()
        try:
            return super().invoke(ctx)
        except SystemExit as exc:
            # rich's own answer to a closed pipe (Console.on_broken_pipe): stdout onto os.devnull, exit 1.
            # Exit as for any closed pipe instead: 1 says a host failed.
            if exc.code == 1 and not was_devnull and stdout_is_devnull():
                sys.exit(exit_codes.OUTPUT_CLOSED)
            raise
        except KeyboardInterrupt:
            interrupted_exit(
                str(ctx.params.get("output") or "text"), ctx.info_name or "orchestrate", contacted=bool(ctx.meta.get(CONTACTED))
            )
        except click.ClickException as exc:  # raised in the command's body: a usage error, exit 2
            if exc.exit_code == 2 and ctx.params.get("output") == "json":
                invalid_input_json(ctx.info_name or "orchestrate", exc.format_message())
            raise
        except OSError as exc:
            if not output_went_away(exc):
                raise
            ended_by_output(exc)


def invalid_input_json(command: str, message: str) -> None:
    """The `invalid_input` line and the recap of output.invalid_input, for an error click itself reports."""
    import json

    # output.json_line's form, written here: output imports from this module, so this one cannot import it
    for line in ({"event": "invalid_input", "errors": [message]},
                 {"event": "recap", "command": command, "exit_code": exit_codes.INVALID_INPUT}):
        click.echo(json.dumps(line, ensure_ascii=False))


class Group(click.Group):
    """The `orchestrate` group: its subcommands are `Command`s, and an interrupt while click parses their
    command line ends the same way."""

    command_class = Command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            args = sys.argv[1:]
            interrupted_exit(sniffed_output(args), sniffed_command(args), contacted=bool(ctx.meta.get(CONTACTED)))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    them, every remote shell is deleted; a second Ctrl-C deletes the shells at once). An interrupt before any host
    was contacted also exits 130; one that stopped no host (each had finished) leaves the run's own code.
    """
    # SIGTERM (systemd stopping a timer's unit, kill) and SIGHUP (the SSH session of the admin dropped) as
    # Ctrl-C: the run stops new work and ends with its recap instead of dying mid-change, which SIGHUP's
    # default action (terminate) would do. Restored when the command ends (tests run many in one process).
    if threading.current_thread() is threading.main_thread():
        previous = install_handlers()

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)
            stop_request.forget()  # the next command in this process (tests run many) starts without it

        click.get_current_context().call_on_close(restore)
