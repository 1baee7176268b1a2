"""ShouldProcess as PowerShell applies it: which mutating cmdlet asks "Are you sure?", and when.

A cmdlet that supports ShouldProcess asks for confirmation when the caller passes `-Confirm`, or when its
ConfirmImpact is at least `$ConfirmPreference` (default High); `-Confirm:$false` and `-WhatIf` suppress it
(MicrosoftDocs/PowerShell-Docs reference/5.1/Microsoft.PowerShell.Core/About/about_Preference_Variables.md,
$ConfirmPreference; about_CommonParameters, -Confirm). Orchestrate's scripts run under `powershell.exe
-NonInteractive` (tasks) or WinRM (apply), where a prompt cannot be answered: it is the terminating error
"Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."

A cmdlet supports ShouldProcess when its page lists -Confirm on that Windows version (signatures data; the
2012 pages omit it from SYNTAX on several cmdlets whose examples still show the prompt, hence the corrected
hyperv-cmdlets.json). Its ConfirmImpact comes from its page:
- High, seen prompting at the default preference: Remove-VM (winserver2012-ps/hyper-v/Remove-VM.md, Example
  1 shows the prompt, Example 2: -Force "suppressing the confirmation prompt") and Restore-VMSnapshot
  (winserver2012-ps/hyper-v/Restore-VMSnapshot.md, Example 1 shows the prompt, Example 2 -Confirm:$false).
- Below High, their pages' plain calls run without a prompt: Start-VM (Start-VM.md Examples 1-2), Stop-VM
  (Stop-VM.md Examples 1-3), Checkpoint-VM (Checkpoint-VM.md Examples 1-2).
- Microsoft.PowerShell.Management's New-Item, Remove-Item, Copy-Item and Set-Content: Medium. Their pages say
  nothing, but PowerShell's own source declares each with `SupportsShouldProcess = true` and no ConfirmImpact
  (src/Microsoft.PowerShell.Commands.Management/commands/management/Navigation.cs, NewItemCommand,
  RemoveItemCommand, CopyItemCommand; SetContentCommand.cs), and an unset ConfirmImpact is Medium
  (src/System.Management.Automation/engine/Attributes.cs, CmdletCommonMetadataAttribute:
  `_confirmImpact = ConfirmImpact.Medium`). The 3.0 about_Preference_Variables agrees: "most cmdlets and
  functions use the default risk value (ConfirmImpact) of Medium", and its $ConfirmPreference example shows
  `remove-item temp1.txt` "Deleted without confirmation". The open source is PowerShell 6+, the same
  attributes as Windows PowerShell's (whose source is not public): listed in docs/real-hosts.md as sourced
  from the open engine, as the ForEach-Object scope rule is.
- Every other cmdlet with -Confirm (the other Hyper-V cmdlets, Unregister-ScheduledTask): unknown, so High,
  which fails safe: a template must say -Confirm:$false, which is harmless where no prompt would come.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.signatures import has_parameter

if TYPE_CHECKING:
    from orchestrator.simulator.binder import BoundCall
    from orchestrator.simulator.host.context import HostContext

PROMPT_REFUSED = "Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."

_IMPACT_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}
_CONFIRM_IMPACT = {
    "start-vm": "Medium",
    "stop-vm": "Medium",
    "checkpoint-vm": "Medium",
    "new-item": "Medium",
    "remove-item": "Medium",
    "copy-item": "Medium",
    "set-content": "Medium",
}
# Cmdlets whose page says -Force skips the confirmation prompt (Remove-VM.md, -Force and Example 2).
_FORCE_SKIPS_PROMPT = frozenset({"remove-vm"})


def confirm_impact(cmdlet: str) -> str:
    """The cmdlet's ConfirmImpact as documented, High where the pages are silent."""
    return _CONFIRM_IMPACT.get(cmdlet.lower(), "High")


def would_prompt(cmdlet: str, call: BoundCall, confirm_preference: Any, os_version: str,
                 lacking: frozenset[str] = frozenset()) -> bool:
    """True when this call of `cmdlet` would ask for confirmation on a host of `os_version` whose `cmdlet`
    lacks the parameters in `lacking` (lower case; Host.cmdlet_lacks)."""
    if "confirm" in lacking or not has_parameter(cmdlet, "Confirm", os_version):
        return False  # no ShouldProcess: nothing to ask
    if call.get("WhatIf"):
        return False
    confirm = call.get("Confirm")
    if confirm is not None:
        return bool(confirm)
    if cmdlet.lower() in _FORCE_SKIPS_PROMPT and call.get("Force"):
        return False
    preference = _IMPACT_RANK.get(str(confirm_preference or "High").lower(), 3)
    if preference == 0:
        return False  # $ConfirmPreference = 'None' turns automatic confirmation off
    return _IMPACT_RANK[confirm_impact(cmdlet).lower()] >= preference


def confirm_preference(ctx: HostContext) -> Any:
    """$ConfirmPreference as the running script sees it (the default High when no script runs)."""
    return ctx.interp.lookup("confirmpreference") if ctx.interp is not None else "High"
