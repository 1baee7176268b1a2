"""Which properties of an object a script may assign (`$obj.Name = value`), and the error when it may not.

On Windows an assignment goes to the object's adapter, and only some properties have a setter:
- A [pscustomobject] (New-Object PSObject -Property, ConvertFrom-Json, [pscustomobject]@{}) and the objects
  Select-Object makes ("Selected.<type>") hold note properties, which a script may set.
- A CIM instance's properties are read-only to a script: Microsoft's "Selecting parts of objects
  (Select-Object)" page (MicrosoftDocs/PowerShell-Docs
  reference/docs-conceptual/samples/Selecting-Parts-of-Objects--Select-Object-.md) shows
  `Get-CimInstance -Class Win32_LogicalDisk | ForEach-Object -Process {$_.FreeSpace = ...}` failing with
  `"FreeSpace" is a ReadOnly property.` (SetValueException, FullyQualifiedErrorId ReadOnlyCIMProperty), and
  says to build a new object with Select-Object instead.
- A .NET object's property is settable only where its type has a public setter; the message is PowerShell's
  ExtendedTypeSystem.ReadOnlyProperty, `"{0}" is a ReadOnly property.` (PowerShell/PowerShell
  src/System.Management.Automation/resources/ExtendedTypeSystem.resx).

Unverified, chosen to fail safe: which properties of the Hyper-V module's objects (VirtualMachine,
VMSnapshot, HardDiskDrive, VMNetworkAdapter, VMHost, VHD...) have a setter is not in Microsoft's 2012 pages,
and some CIM classes mark properties writable (a script may set those locally before Set-CimInstance). The
simulator refuses every assignment to a typed object's property: stricter than Windows where a setter exists,
never more lenient (a script must change a VM through Set-VM and its siblings, as the templates do). Listed in
docs/real-hosts.md.
"""

from __future__ import annotations

from orchestrator.simulator.language.values import PSObject, PSRuntimeError

_PROPERTY_BAG = "System.Management.Automation.PSCustomObject"
_CIM = "Microsoft.Management.Infrastructure.CimInstance"


def is_property_bag(obj: PSObject) -> bool:
    """Whether a script may set this object's existing properties: a [pscustomobject] or Select-Object's copy."""
    return obj.type_name == _PROPERTY_BAG or obj.type_name.startswith("Selected.")


def read_only_property(obj: PSObject, name: str, line: int | None) -> PSRuntimeError:
    """The error of `$obj.Name = value` on a typed object (see the module's docstring for the sources)."""
    error_id = "ReadOnlyCIMProperty" if obj.type_name.startswith(_CIM) else "ReadOnlyProperty"
    return PSRuntimeError(f'"{name}" is a ReadOnly property.', error_id, "NotSpecified", line=line)
