"""Parameters a cmdlet binds (its signature lists them: orchestrator/data/extra-cmdlets.json) but the
simulator does not apply: refused as not modelled, as Get-Content without -Raw and Set-Content -Encoding Byte
are, rather than bound and ignored.

On a real host each of these changes what the cmdlet lists, tests, copies or deletes. The 3.0 pages
(MicrosoftDocs/PowerShell-Docs reference/3.0/Microsoft.PowerShell.Management/): Get-ChildItem -Include "Gets
only the specified items", -Exclude "Omits the specified items"; Remove-Item, Copy-Item and Test-Path list
-Filter, -Include and -Exclude likewise, and Test-Path -NewerThan/-OlderThan (Test-Path.md 3.0 SYNTAX) test a
file's time; Remove-Item's page warns that with -Recurse "the Recurse parameter in this cmdlet is faulty". A
simulator that ignored them would return more than a host does, or delete what it keeps (audit N M3): the
dry run would pass a script that does something else on the host. Get-ChildItem -Filter is modelled (the
move records are listed with it, lib/facts_body.ps1.j2), so it is not in the table.
"""

from __future__ import annotations

from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host.registry import CmdletError

_FILTERS = ("Filter", "Include", "Exclude")

UNMODELLED: dict[str, tuple[str, ...]] = {
    "Test-Path": (*_FILTERS, "NewerThan", "OlderThan", "Credential"),
    "Remove-Item": (*_FILTERS, "Stream", "Credential"),
    "Copy-Item": (*_FILTERS, "Credential", "FromSession", "ToSession"),
    "Get-ChildItem": ("Include", "Exclude", "Attributes", "Hidden", "ReadOnly", "System"),
    "Set-Content": (*_FILTERS, "Stream", "Credential", "UseTransaction"),
}


def refuse_unmodelled(cmdlet: str, call: BoundCall) -> None:
    """Refuse the first parameter of `cmdlet`'s UNMODELLED entry that the call binds (terminating, as the other
    NotImplemented refusals are: the script stops where the simulator would have guessed)."""
    for name in UNMODELLED[cmdlet]:
        if call.has(name):
            raise CmdletError(f"The simulator does not model {cmdlet} -{name}: a real host applies it to what the "
                              "cmdlet lists, tests, copies or deletes; leave it out or filter with Where-Object.",
                              "NotSupported", "NotImplemented", terminating=True)
