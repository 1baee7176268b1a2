"""The host layer: a typed model of a Hyper-V host and its cmdlets, grouped by noun. Importing it registers them.

This file models no behaviour itself: each cmdlets_* module cites, beside the code, the Microsoft page (e.g.
MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/hyper-v/) or PowerShell issue it follows."""

from orchestrator.simulator.host import (  # noqa: F401 - imported for their @cmdlet registrations
    cmdlets_checkpoint,
    cmdlets_content,
    cmdlets_disk,
    cmdlets_general,
    cmdlets_tasks,
    cmdlets_vm,
    cmdlets_windows,
    guest_disks,
)
