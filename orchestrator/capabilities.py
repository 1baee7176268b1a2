"""What the target host's cmdlets accept, so a template emits only parameters that exist there.

Templates ask `caps.has('Export-VM', 'CaptureLiveState')`. The answer comes from the host's own cmdlets
when its facts recorded them (`(Get-Command X).Parameters.Keys`), else from the shipped signatures data
for its Windows version (Windows Server 2012 R2, signatures.DEFAULT_VERSION, when nothing is known). That
default is not the floor: this product targets Windows Server 2012 (6.2) and later, and 2012's cmdlets lack
some of 2012 R2's parameters (New-VM -Generation: docset/winserver2012-ps/hyper-v/New-VM.md lists none). An
apply always knows the host's version and cmdlets from its facts; `orchestrate render` without a version
warns that it used the default (cli/render_cmd.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

from orchestrator import signatures


@cache
def _known_cmdlets() -> frozenset[str]:
    return frozenset(name.lower() for name in signatures.cmdlet_names())


@cache
def _parameters_lower(cmdlet: str, version: str) -> frozenset[str]:
    """A cmdlet's parameter names in lower case (empty when unknown), built once per cmdlet and version:
    every rendered script asks this for each parameter it binds."""
    try:
        return frozenset(n.lower() for n in signatures.parameters(cmdlet, version))
    except KeyError:
        return frozenset()


class Capabilities:
    """The parameters each cmdlet has on one host."""

    def __init__(self, version: str | None = None, cmdlets: Mapping[str, Iterable[str]] | None = None) -> None:
        self.version = signatures.normalize_version(version)
        self._observed = {
            name.lower(): frozenset(p.lower() for p in params) for name, params in (cmdlets or {}).items()
        }

    def knows(self, cmdlet: str) -> bool:
        """True when the host's facts or the signatures data describe this cmdlet."""
        return cmdlet.lower() in self._observed or cmdlet.lower() in _known_cmdlets()

    def has(self, cmdlet: str, parameter: str) -> bool:
        """True when `cmdlet` takes `-parameter` (exact name, no alias) on this host."""
        observed = self._observed.get(cmdlet.lower())
        if observed is not None:
            return parameter.lower() in observed
        return parameter.lower() in _parameters_lower(cmdlet.lower(), self.version)

    def __repr__(self) -> str:
        source = "host facts" if self._observed else "signatures data"
        return f"Capabilities(version={self.version!r}, from {source})"
