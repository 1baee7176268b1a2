"""Hyper-V's per-VM maximums on Windows Server 2012 and 2012 R2: what validation refuses before a host does,
and what the simulator's host refuses as a real one would (audit H).

Sources (MicrosoftDocs/windowsserverdocs):
- "Hyper-V Dynamic Memory Overview" (the 2012 / 2012 R2 page): Minimum RAM "can be set as low as 32 MB to a
  maximum value equal to the Startup RAM value"; Maximum RAM "from as low as the value for Startup RAM to as
  high as 1 TB".
- "Plan for Hyper-V scalability in Windows Server 2016": "Maximums for Windows Server 2012 R2 were the same as
  Windows Server 2012", and of the others "Other numbers are similar to those that apply to Windows Server
  2012": "Checkpoints | 50", "Virtual hard disk capacity | 64 TB for VHDX format", "Virtual processors ... 64
  for generation 1". The 64 virtual processors and 1 TB of memory per VM of generation 2 on 2012 R2 rest on
  the comparison page of the 2012 era ("Maximum virtual CPUs supported per virtual machine | 64", "Maximum
  RAM supported per virtual machine | 1 TB", caps-export Virtualization-Platform-Comparison.md) and the 2012 R2
  VM specification ("Supports 1 TB of RAM per virtual machine", generation 1 and 2).

The host's error texts for these refusals are not on any page; the simulator's are its own (unverified,
docs/real-hosts.md).
"""

from __future__ import annotations

MB = 1024**2
GB = 1024**3
TB = 1024**4

MAX_VM_PROCESSORS = 64
MIN_VM_MEMORY = 32 * MB  # startup and dynamic minimum
MAX_VM_MEMORY = 1 * TB  # startup and dynamic maximum
MAX_CHECKPOINTS = 50  # per VM; "the actual number may be lower, depending on the available storage"
MAX_VHDX_SIZE = 64 * TB
