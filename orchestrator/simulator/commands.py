"""The command layer between the language and the host: find the cmdlet, bind its arguments against the
signature of the host's Windows version, run it per pipeline object, and apply -ErrorAction.

This is where PowerShell's error semantics for cmdlets live: binding errors stop the statement, cmdlet errors
are non-terminating (written to the error stream, added to $Error) unless -ErrorAction / $ErrorActionPreference
says Stop, and -WhatIf skips a change with a "What if:" line.

CDXML modules are the exception to the preference part. Their commands are functions generated in a script
module, and a script module's functions see the *global* preference variables, never the caller's local ones
(PowerShell/PowerShell#4568, "A script module's functions do not see the preference-variable values set in the
caller's context (except if that context happens to be the global one)"; #24389, the CDXML Get-NetIPAddress
ignoring a script's `$ErrorActionPreference = "Stop"`, answered "-ErrorAction Stop" and closed as external). The
bootstrap runs the script as `& ([ScriptBlock]::Create($k))` (orchestrator.transport.stdin), a child
scope of the global one, so the script's own `$ErrorActionPreference = 'Stop'` never reaches them: only
`-ErrorAction` on the call does. A script run directly (a task's -EncodedCommand) sets the global one itself.
"""

from __future__ import annotations

from typing import Any

from orchestrator.signatures import CmdletSignature, available
from orchestrator.simulator import host as _host_package  # noqa: F401 - registers the cmdlets
from orchestrator.simulator.binder import BoundCall, bind, binding_index
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.registry import CMDLETS, Cmdlet, CmdletError, host_signature
from orchestrator.simulator.language.interpreter import Argument, Interpreter, format_error
from orchestrator.simulator.language.values import PSRuntimeError, to_string


def not_recognized(name: str, line: int) -> PSRuntimeError:
    return PSRuntimeError(f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or "
                          "operable program. Check the spelling of the name, or if a path was included, verify that "
                          "the path is correct and try again.", "CommandNotFoundException", "ObjectNotFound",
                          target=name, line=line)


CDXML_MODULES = frozenset({"ScheduledTasks", "Storage"})
"""Modules whose commands are CDXML functions. ScheduledTasks: its cmdlets return CimInstance objects of the
Root/Microsoft/Windows/TaskScheduler classes (MicrosoftDocs/windows-powershell-docs
docset/winserver2012-ps/scheduledtasks/Get-ScheduledTask.md, Outputs) and take -CimSession, -ThrottleLimit and
-AsJob (same page, Syntax), the marks of a cmdletization (CDXML) module; Storage (Get-Disk, Get-Partition)
bears the same marks (docset/winserver2012-ps/storage/Get-Disk.md and Get-Partition.md: CimInstance#ROOT/
Microsoft/Windows/Storage outputs, -CimSession, -ThrottleLimit, -AsJob);
the simulator's Hyper-V, ServerManager, Dism and core cmdlets are compiled cmdlets and see the caller's scope."""

_LOWER: dict[str, str] = {}  # command names as scripts spell them, lower-cased once
_RESOLVED: dict[tuple[str, str, str, bool, frozenset[str]], tuple[Cmdlet, CmdletSignature] | None] = {}
_UNRESOLVED = object()


class HostCommands:
    """Commands as one simulated host has them (its Windows version decides the parameters)."""

    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    def exists(self, name: str) -> bool:
        return self._lookup(name) is not None

    def _lookup(self, name: str) -> Cmdlet | None:
        lowered = _LOWER.get(name)
        if lowered is None:
            lowered = name.lower()
            if len(_LOWER) < 4096:
                _LOWER[name] = lowered
        entry = CMDLETS.get(lowered)
        if entry is None:
            return None
        if entry.module == "Hyper-V" and not self.ctx.host.hyperv_installed:
            return None
        return entry

    def _resolve(self, name: str) -> tuple[Cmdlet, CmdletSignature, Any] | None:
        """The cmdlet a name calls on this host, its signature there and that signature's binding index; None
        when the host has no such command. By (name, the Windows version whose page gives the host's parameters
        of it, the parameters it lacks there, Hyper-V installed), the only parts of the host it depends on
        (Host.cmdlet_version, Host.cmdlet_lacks)."""
        host = self.ctx.host
        version = host.cmdlet_version(name)
        lacking = host.cmdlet_lacks(name)
        key = (name, version, host.os_version, host.hyperv_installed, lacking)
        found = _RESOLVED.get(key, _UNRESOLVED)
        if found is _UNRESOLVED:
            entry = self._lookup(name)
            found = None
            if entry is not None and available(entry.name, version):
                sig = host_signature(entry.name, version, host.os_version, lacking)
                found = (entry, sig, binding_index(sig))
            if len(_RESOLVED) < 4096:
                _RESOLVED[key] = found
        return found  # type: ignore[return-value]

    def invoke(self, name: str, args: list[Argument], pipeline_input: list[Any] | None, interp: Interpreter,
               line: int, shapes: tuple[tuple[Any, ...], tuple[Any, ...]] | None = None) -> list[Any]:
        """`shapes`: the call's binding shapes, when its call site knows them (binder.bind)."""
        found = self._resolve(name)
        if found is None:
            raise not_recognized(name, line)
        entry, sig, index = found
        self.ctx.interp = interp
        try:
            if entry.collect or pipeline_input is None:
                if pipeline_input is not None:
                    first = pipeline_input[0] if pipeline_input else None
                    try:
                        call = bind(sig, args, first, True, shapes, index)
                    except PSRuntimeError:
                        if pipeline_input:
                            raise
                        return []
                else:
                    call = bind(sig, args, None, False, shapes, index)
                return self._run(entry, call, pipeline_input if entry.collect else None, interp, line)
            out: list[Any] = []
            for item in pipeline_input:
                call = bind(sig, args, item, True, shapes, index)
                out.extend(self._run(entry, call, None, interp, line))
            return out
        except PSRuntimeError as err:
            if err.command is None:
                err.command = entry.name
            if err.line is None:
                err.line = line
            raise

    def _run(self, entry: Cmdlet, call: BoundCall, items: list[Any] | None, interp: Interpreter,
             line: int) -> list[Any]:
        if entry.mutating and call.get("WhatIf"):
            interp.console.append(f'What if: Performing the operation "{entry.name}" on target '
                                  f'"{_target(call)}".\r\n')
            return []
        try:
            return entry.fn(self.ctx, call, items)
        except CmdletError as err:
            err.command = entry.name
            err.line = line
            if err.terminating:
                raise
            action = to_string(call.get("ErrorAction") or _preference(entry, interp) or "Continue").lower()
            if call.has("ErrorVariable"):
                interp.set_var(to_string(call.get("ErrorVariable")).lstrip("+").lower(), [err.record()])
            if action == "stop":
                raise
            if action == "ignore":
                return list(err.output)
            for written in (err, *err.followed_by):
                written.command, written.line = entry.name, line
                interp.errors.insert(0, written.record())
                if action not in ("silentlycontinue",):
                    interp.stderr.append(format_error(written))
                    interp.error_stream.append(written)
            interp.last_failed = True
            return list(err.output)


def _preference(entry: Cmdlet, interp: Interpreter) -> Any:
    """The $ErrorActionPreference the command sees: the caller's, or for a CDXML function the global one."""
    if entry.module in CDXML_MODULES:
        return interp.root.vars.get("erroractionpreference")
    return interp.lookup("erroractionpreference")


def _target(call: BoundCall) -> str:
    for key in ("Name", "VMName", "Path", "TaskName"):
        if call.has(key):
            value = call.get(key)
            return ", ".join(to_string(v) for v in value) if isinstance(value, list) else to_string(value)
    return ""
