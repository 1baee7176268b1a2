"""multipoint-orchestrator: provision Windows MultiPoint Server 2012 Premium VMs on Hyper-V hosts."""

__version__ = "0.1.0"
