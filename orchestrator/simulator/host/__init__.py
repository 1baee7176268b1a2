"""The host layer: a typed model of a Hyper-V host and its cmdlets, grouped by noun. Importing it registers them."""

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
