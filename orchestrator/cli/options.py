"""Every option more than one subcommand takes, declared once, and the groups commands take them in.

A click option decorator makes a fresh Option each time it is applied, so one declaration serves every
command. `--dry-run` means something different per command (a preview, the host-side checks only), so its
help is the one thing a command passes; the flag itself is declared here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])
Decorator = Callable[[F], F]


SYSTEM_STATE_DIR = Path("/var/lib/orchestrate")
STATE_DIR_HELP = (
    "Where the journal, locks and simulated hosts live, as an absolute path (~ is expanded) "
    "[default: $ORCHESTRATE_STATE_DIR, else "
    "/var/lib/orchestrate for root or a service account without a home, else "
    "$XDG_STATE_HOME/orchestrate, else ~/.local/state/orchestrate]."
)


def _is_system_user() -> bool:
    """root runs as the system: one state for every root shell, sudo and root's cron. Windows has no euid;
    an admin there gets the per-user folder."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The state directory when --state-dir is not given: fixed per user, never the current directory.

    ORCHESTRATE_STATE_DIR wins. root, and a service account without a usable home (HOME unset, `/`, or
    missing), share SYSTEM_STATE_DIR, so a root shell, sudo and a root cron job or systemd unit all see the
    same journal, locks and simulated hosts. Anyone else gets the XDG Base Directory state folder
    (XDG_STATE_HOME when it is an absolute path, as the spec requires, else ~/.local/state), which cron
    reaches too: cron sets HOME for the user it runs as. On Windows: %LOCALAPPDATA%\\orchestrate.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("ORCHESTRATE_STATE_DIR")
    if explicit:
        return explicit_state_dir(explicit, "ORCHESTRATE_STATE_DIR")
    if _is_system_user():
        return SYSTEM_STATE_DIR
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "orchestrate"
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "orchestrate"
    home = env.get("HOME", "")
    if not home or home == "/" or not Path(home).is_dir():
        return SYSTEM_STATE_DIR
    return Path(home) / ".local" / "state" / "orchestrate"


class StateDirRefused(click.ClickException):
    """A state directory given as a relative path: exit 2 (invalid input), before anything is read."""

    exit_code = 2


def explicit_state_dir(value: str, source: str) -> Path:
    """--state-dir or ORCHESTRATE_STATE_DIR as given: a leading `~` is expanded (cron and systemd do not
    expand it in an environment line), and a relative path is refused. It would mean another folder for
    every working directory (cron starts jobs in the home folder, the admin's shell is anywhere), so a
    cron job and the admin would each get a journal and box locks of their own, and nobody would notice."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    try:
        meant = f" (from here it would have meant {Path.cwd() / path})"
    except OSError:  # the working directory was removed
        meant = ""
    raise StateDirRefused(
        f"{source}={value!r} is a relative path{meant}: give an absolute path, the same whichever folder "
        "the command runs from"
    )


def _state_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is None:
        return None
    try:
        return explicit_state_dir(str(value), "--state-dir")
    except StateDirRefused as exc:
        raise click.BadParameter(exc.message.removeprefix(f"--state-dir={str(value)!r} ")) from None


def inventory_argument(func: F) -> F:
    """INVENTORY (a file or a directory, as Ansible's -i takes), plus -i and the vault options
    (inventory_options, below); load_inventory_or_exit reads them all from the click context."""
    func = click.argument("inventory", metavar="INVENTORY", type=click.Path(path_type=str))(func)
    return inventory_options(func)

forks_option = click.option(
    "--forks",
    "-f",
    type=click.IntRange(1, 500),
    default=10,
    show_default=True,
    help="How many hosts to work on at once.",
)
ask_pass_option = click.option(
    "--ask-pass", "-k", is_flag=True, help="Prompt for the WinRM password of hosts that have none."
)
class WaitDuration(click.ParamType):
    """--wait-lock: seconds (`900`, `1.5`) or the durations --revert-after takes (`15m`, `1h30m`, `90s`)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            from orchestrator.operations.confirm import duration_seconds

            try:
                return float(duration_seconds(text))
            except ValueError as exc:
                self.fail(f"{exc}, or plain seconds such as 900", param, ctx)
        if not seconds >= 0 or seconds == float("inf"):  # NaN, a negative or an endless wait
            self.fail(f"{text!r} is not a wait: give seconds (0 or more) or a duration such as 15m", param, ctx)
        return seconds


wait_lock_option = click.option(
    "--wait-lock",
    type=WaitDuration(),
    default=0.0,
    metavar="DURATION",
    help="If another run holds a host, wait this long for it instead of exiting 3: seconds (900) or "
    "a duration (15m, 1h30m, 90s).",
)
templates_option = click.option(
    "--templates",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A folder of templates that override the packaged ones (same file names); every script of the "
    "run comes from it, scheduled-task scripts included.",
)
show_scripts_option = click.option(
    "--show-scripts", is_flag=True, help="Also print the exact PowerShell that runs (or would run)."
)


def _vm_pattern(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An empty --vm (an unset variable in a cron line) would select no VM and end as a quiet no-op."""
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: give a VM name or a glob (or leave --vm out for every VM)")
    return value


def vm_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A VM name given on the command line (import --name): refused as the inventory's VM names are
    (rules/names.py name_problem; a VM's folder carries its name), with exit 2 before any host."""
    from orchestrator.rules.names import name_problem

    if value is not None and (problem := name_problem(value)):
        raise click.BadParameter(f"the VM name {value!r} {problem}")
    return value


vm_option = click.option(
    "--vm",
    "vm_glob",
    metavar="NAME|GLOB",
    default=None,
    callback=_vm_pattern,
    help="Only this VM (an exact name wins, even one holding [ ]), else the VMs a glob matches "
    "(*, ?, [ab]; [[] is a literal [).",
)
timeout_option = click.option(
    "--timeout",
    type=click.IntRange(1),
    default=None,
    metavar="SECONDS",
    help="Deadline of each export/import job on the host, separate from the connection's timeouts "
    "[default: a minute under the host's orchestrate_operation_timeout].",
)


def checkpoint_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A checkpoint name given on the command line (--name, --to): refused as the inventory's are
    (rules/names.py checkpoint_name_problem), with exit 2 before any host is contacted."""
    from orchestrator.rules.names import checkpoint_name_problem

    problem = checkpoint_name_problem(value)
    if problem:
        raise click.BadParameter(f"the checkpoint name {value!r} {problem}")
    return value


def dry_run_option(help: str) -> Decorator[Any]:
    return click.option("--dry-run", "-n", is_flag=True, help=help)


def common_options(func: F) -> F:
    """Decorate a subcommand with the shared options (in a stable order for --help)."""
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        callback=_state_dir,
        help=STATE_DIR_HELP,
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


def _stack(decorators: Sequence[Decorator[Any]], func: F) -> F:
    for decorator in reversed(decorators):
        func = decorator(func)
    return common_options(func)


def operation_options(func: F) -> F:
    """--vm, --dry-run, --wait-lock, --forks, --ask-pass and the common options, for VM operations."""
    return _stack(
        [
            vm_option,
            dry_run_option("Show what would happen and preflight it on a simulated copy."),
            wait_lock_option,
            forks_option,
            ask_pass_option,
        ],
        func,
    )


def single_host_options(func: F) -> F:
    """--dry-run, --wait-lock, --ask-pass and the common options, for commands aimed at named hosts."""
    return _stack(
        [dry_run_option("Run only the read-only checks on the hosts."), wait_lock_option, ask_pass_option],
        func,
    )


def apply_options(func: F) -> F:
    """The options of `apply` and `plan`."""
    return _stack([forks_option, show_scripts_option, wait_lock_option, templates_option, ask_pass_option], func)


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
