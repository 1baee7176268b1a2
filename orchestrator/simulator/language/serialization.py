"""What an object becomes when it crosses PowerShell remoting: a background job's output on its way back.

A background job (Start-Job) runs in a process of its own and its results come back through PowerShell
remoting (the job is a PSRemotingJob; MicrosoftDocs/PowerShell-Docs
reference/3.0/Microsoft.PowerShell.Core/About/about_Jobs.md shows a local job failing with "Connecting to remote
server failed"). Microsoft's about_Remote_Output (MicrosoftDocs/PowerShell-Docs
reference/3.0/Microsoft.PowerShell.Core/About/about_Remote_Output.md, "Deserialized objects") says what arrives: live .NET
objects "cannot be transmitted", so each is serialized to XML and rebuilt as "a snapshot of the object at the
time that it was serialized, and it includes properties but no methods"; "some object types, such as
DirectoryInfo objects and GUIDs, are converted back into live objects".

So here a typed object (a VM, a checkpoint, a drive...) from a job becomes a `Deserialized.<type>` snapshot:
the same properties and ToString() text, no methods, no link to the host's model (`ref`), so a cmdlet that
wants the live object (`Start-VM -VM $fromJob`) refuses it, as a real host's binder does. Strings, numbers,
GUIDs, dates and [pscustomobject]s (already property bags) pass as they are; objects inside a snapshot's
properties are snapshots too.

Unverified, chosen to fail safe (docs/real-hosts.md): the serialization depth (remoting's default keeps
nested objects only to a depth, then writes their ToString() text; here they stay snapshots, which bind to
nothing live either way), and enum values (kept as the enum here).
"""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.language.members import is_property_bag
from orchestrator.simulator.language.values import PSHashtable, PSObject

PREFIX = "Deserialized."


def deserialized(value: Any) -> Any:
    """`value` as it arrives from a job: typed objects as method-less snapshots, containers walked."""
    if isinstance(value, PSObject):
        props = {name: deserialized(item) for name, item in value.props.items() if name != "__methods__"}
        if is_property_bag(value) or value.type_name.startswith(PREFIX):
            return PSObject(props, value.type_name, value.ref, value.text)
        return PSObject(props, PREFIX + value.type_name, None, value.text)
    if type(value) is list:
        return [deserialized(item) for item in value]
    if isinstance(value, PSHashtable):
        table = value.copy()
        for key, item in value.items():
            table[key] = deserialized(item)
        return table
    return value


def is_deserialized(value: Any) -> bool:
    return isinstance(value, PSObject) and value.type_name.startswith(PREFIX)
