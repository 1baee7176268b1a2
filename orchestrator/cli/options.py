"""Options every subcommand shares, declared once: --output, -v, --limit, --state-dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

EXIT_OK = 0
EXIT_HOST_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_LOCKED = 3


def default_state_dir() -> Path:
    """--state-dir, else ORCHESTRATE_STATE_DIR, else ./.orchestrate."""
    return Path(os.environ.get("ORCHESTRATE_STATE_DIR") or ".orchestrate")


def common_options(func: F) -> F:
    """Decorate a subcommand with the shared options (in a stable order for --help)."""
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the journal, locks and simulated hosts live "
        "[default: $ORCHESTRATE_STATE_DIR, else ./.orchestrate].",
    )(func)
    func = click.option(
        "--limit",
        "-l",
        metavar="PATTERN",
        default=None,
        help="Only these hosts, in Ansible's pattern syntax: names, groups, globs, 'a,b', '!excluded'.",
    )(func)
    func = click.option(
        "-v", "--verbose", "verbosity", count=True, help="More detail (-vv for even more). Never secrets."
    )(func)
    func = click.option(
        "--output",
        "-o",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people; json for scripts (JSON lines on stdout, text on stderr).",
    )(func)
    return func


def inventory_options(func: F) -> F:
    """-i/--inventory (repeatable, beside the positional INVENTORY) and Ansible's vault password options.

    Put it directly above `@click.argument("inventory", ...)`: the positional then becomes optional, so
    `orchestrate validate -i hosts.ini -i inventory/` works as `ansible-inventory -i ... -i ...` does.
    load_inventory_or_exit reads these options from the click context (`inventory_inputs`).
    """
    for param in getattr(func, "__click_params__", []):
        if isinstance(param, click.Argument) and param.name == "inventory":
            param.required = False
    func = click.option(
        "--vault-id",
        "vault_ids",
        multiple=True,
        metavar="[LABEL@]SOURCE",
        help="A vault password: SOURCE is a file, an executable script, or 'prompt' (repeatable).",
    )(func)
    func = click.option(
        "--ask-vault-pass",
        "--ask-vault-password",
        "ask_vault_pass",
        is_flag=True,
        help="Prompt for the vault password.",
    )(func)
    func = click.option(
        "--vault-password-file",
        "--vault-pass-file",
        "vault_password_files",
        multiple=True,
        metavar="FILE",
        help="A file holding the vault password, or a script printing it "
        "[default: $ANSIBLE_VAULT_PASSWORD_FILE].",
    )(func)
    func = click.option(
        "-i",
        "--inventory",
        "inventories",
        multiple=True,
        metavar="INVENTORY",
        help="An inventory file (YAML or INI) or directory; repeat to merge several, as Ansible does.",
    )(func)
    return func


def inventory_inputs(positional: str | None) -> tuple[list[str], orchestrator.inventory.vault.Vault]:  # noqa: F821
    """The inventory sources (positional first, then each -i) and the Vault from the current command's
    options (absent options count as not given). Raises click.UsageError for no source or a vault password
    source that cannot be used."""
    import sys

    from orchestrator.inventory.vault_secrets import VaultSetupError, build_vault

    context = click.get_current_context(silent=True)
    params = context.params if context is not None else {}
    sources = [*([positional] if positional else []), *(params.get("inventories") or ())]
    if not sources:
        raise click.UsageError("give the inventory: INVENTORY or -i INVENTORY")

    def prompt(question: str) -> str:
        if sys.stdin is not None and sys.stdin.isatty():
            import getpass

            return getpass.getpass(question)
        click.echo(question, err=True, nl=False)
        return sys.stdin.readline().rstrip("\r\n") if sys.stdin is not None else ""

    try:
        vault = build_vault(
            password_files=params.get("vault_password_files") or (),
            vault_ids=params.get("vault_ids") or (),
            ask_vault_pass=bool(params.get("ask_vault_pass")),
            prompt=prompt,
        )
    except VaultSetupError as exc:
        raise click.UsageError(str(exc)) from exc
    return sources, vault
