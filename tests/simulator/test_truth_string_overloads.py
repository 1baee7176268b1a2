"""String methods as .NET Framework 4.5 has them (audit F, L1 and M2): a call with an overload that only later
.NET versions have fails as PowerShell fails it, and the ordinal comparisons the templates pass are modelled
(Test-OrchestrateJoined compares a guest's FQDN so, whatever the host's culture)."""

from __future__ import annotations

import pytest
from simulator_support import HEADER, fails, lines, ok, simulator


@pytest.mark.parametrize("call", ["'abc'.Contains('B', [System.StringComparison]::OrdinalIgnoreCase)",
                                  "'a,b'.Split(',', 1)", "'abc'.Replace('a', 'b', 'c')", "'abc'.IndexOf('b', 1)"])
def test_an_overload_dot_net_4_5_lacks_is_refused(call: str) -> None:
    assert "Cannot find an overload" in fails(simulator(os_version="6.2"), HEADER + call).stderr


def test_ordinal_comparisons_ignore_case_only_when_asked() -> None:
    result = ok(simulator(), HEADER + "\n".join([
        "'lab.LISE.local'.EndsWith('.lise.LOCAL', [System.StringComparison]::OrdinalIgnoreCase)",
        "'lab.LISE.local'.EndsWith('.lise.LOCAL', [System.StringComparison]::Ordinal)",
        "'Orchestrate'.StartsWith('orch', [StringComparison]::OrdinalIgnoreCase)",
    ]))
    assert lines(result) == ["True", "False", "True"]


def test_a_culture_comparison_is_not_guessed() -> None:
    refused = fails(simulator(), HEADER + "'a'.EndsWith('A', [System.StringComparison]::CurrentCultureIgnoreCase)")
    assert "does not model the string comparison 'CurrentCultureIgnoreCase'" in refused.stderr
