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

A new disk's size (audit L, M3): no 2012 New-VHD page states a granularity or a minimum for -SizeBytes, but a
real New-VHD refuses an unaligned size: PowerShell/PowerShell#25761 ("-SizeBytes 2000000000 ... cmdlet fails",
"Failed to create the virtual hard disk.", InvalidParameter; it worked once the size was aligned to 4096).
Microsoft's WMI page for a .vhd ("CreateDynamicVirtualHardDisk method of the Msvm_ImageManagementService
class", learn.microsoft.com previous-versions) says the size "must be a multiple of 512 or this method will
fail" and that 0 means "the default size of 3 MB"; the Windows Virtual PC page of the same call
(IVMVirtualPC::CreateDynamicVirtualHardDisk) says an unformatted image "must be at least 3 MB". So a size is
refused unless it is a whole multiple of 1 MB (stricter than both; every size written in MB or GB passes) and
at least 3 MB, the smallest virtual hard disk a Microsoft page names. Unverified for VHDX on 2012
(docs/real-hosts.md).

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
DISK_SIZE_STEP = 1 * MB  # a new disk's size is a whole multiple of this (audit L, M3)
MIN_DISK_SIZE = 3 * MB  # and at least this
