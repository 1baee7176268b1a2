"""The host's cmdlets: a table from a cmdlet name to the method that runs it, filled by the cmdlets_* modules.

A cmdlet function gets the host context, the bound call (parameter set and converted parameters, from the
binder) and, for cmdlets that consume a whole pipeline (ConvertTo-Json, Sort-Object...), the list of input
objects. It returns its output objects. Cmdlet errors are `CmdletError`s; the command layer applies
-ErrorAction / $ErrorActionPreference to them, as PowerShell does for non-terminating errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from orchestrator.signatures import CmdletSignature, common_parameters, signature
from orchestrator.simulator.language.values import PSRuntimeError

if TYPE_CHECKING:
    from orchestrator.simulator.binder import BoundCall
    from orchestrator.simulator.host.context import HostContext

CmdletFn = Callable[["HostContext", "BoundCall", "list[Any] | None"], list[Any]]


class CmdletError(PSRuntimeError):
    """An error a cmdlet writes. Non-terminating unless `terminating` (ThrowTerminatingError in .NET terms).

    `output`: what the cmdlet wrote besides the error. A cmdlet that takes several names writes an error for
    the one it cannot find and goes on with the others (Get-Command -Name A,B,C: cmdlets_windows.get_command
    cites PowerShell's source), so the caller still gets their output; a non-terminating error that is not
    stopped passes it on (commands.HostCommands._run); one that is stopped lets none of it out (Get-Command
    writes its matches only at the end)."""

    def __init__(self, message: str, error_id: str = "", category: str = "NotSpecified", target: Any = None,
                 terminating: bool = False, output: list[Any] | None = None,
                 followed_by: list[CmdletError] | None = None) -> None:
        super().__init__(message, error_id or "CmdletError", category, target)
        self.terminating = terminating
        self.output: list[Any] = output or []
        # Further non-terminating errors the same call writes after this one (Receive-Job writes each error
        # record of a job): written too unless this one stops the script.
        self.followed_by: list[CmdletError] = followed_by or []


@dataclass(frozen=True, slots=True)
class Cmdlet:
    name: str
    fn: CmdletFn
    module: str
    collect: bool = False  # receives the whole pipeline input at once
    mutating: bool = False


CMDLETS: dict[str, Cmdlet] = {}


def cmdlet(name: str, module: str, *, collect: bool = False, mutating: bool = False) -> Callable[[CmdletFn], CmdletFn]:
    """Register a cmdlet. A mutating one first goes through ShouldProcess, as a real cmdlet does before it
    changes anything: a prompt it would raise is the NonInteractive error (`should_process`; the prompt and
    `-Confirm:$false` are shown in MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/hyper-v/
    Restore-VMSnapshot.md, Examples 1 and 2)."""

    def register(fn: CmdletFn) -> CmdletFn:
        CMDLETS[name.lower()] = Cmdlet(name, _confirmed(name, fn) if mutating else fn, module, collect, mutating)
        return fn

    return register


@cache
def host_signature(cmdlet: str, version: str, os_version: str,
                   without: frozenset[str] = frozenset()) -> CmdletSignature:
    """A cmdlet's signature on a host of Windows `os_version` whose parameters of it are those the page of
    Windows `version` lists (Host.cmdlet_version; the same version but for a test's host that differs from
    its pages): that page's parameter sets, with the common parameters of the host's own Windows PowerShell,
    less the parameters (lower case) in `without` (Host.cmdlet_lacks: a host whose Get-Command lists fewer).
    Raises KeyError as signatures.signature does."""
    found = signature(cmdlet, version)
    if version != os_version:
        found = replace(found, common=common_parameters(os_version))
    if without:
        found = replace(found, parameter_sets=tuple(
            replace(s, parameters=tuple(p for p in s.parameters if p.name.lower() not in without))
            for s in found.parameter_sets
        ), common=tuple(p for p in found.common if p.name.lower() not in without))
    return found


def _confirmed(name: str, fn: CmdletFn) -> CmdletFn:
    def run(ctx: HostContext, call: BoundCall, items: list[Any] | None) -> list[Any]:
        from orchestrator.simulator.host import should_process

        # The version whose page gives this host's parameters of the cmdlet (Host.cmdlet_version).
        version = ctx.host.cmdlet_version(name)
        if should_process.would_prompt(name, call, should_process.confirm_preference(ctx), version,
                                       ctx.host.cmdlet_lacks(name)):
            raise CmdletError(should_process.PROMPT_REFUSED, "PromptingFailed", "InvalidOperation", terminating=True)
        return fn(ctx, call, items)

    run.__doc__ = fn.__doc__
    return run
