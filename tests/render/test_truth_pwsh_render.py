"""Issue 13, findings 1 and 9, at render time: what the host's Windows PowerShell (3.0 on 2012, 4.0 on
2012 R2) refuses, a site's template override cannot pass here; and no shipped template call would stop at a
confirmation prompt under -NonInteractive on either version."""

from __future__ import annotations

from pathlib import Path

import pytest
from render_support import Hostile, host_with, iter_scripts_hostile

from orchestrator import actions as A
from orchestrator import pwsh
from orchestrator.model import DiskSpec, VMSpec
from orchestrator.render import Renderer, RenderError
from orchestrator.simulator.host import should_process
from orchestrator.simulator.host.registry import CMDLETS

HOST = host_with((VMSpec("lab-01", 2, 4 * 2**30, DiskSpec("parent", source="D:\\images\\p.vhdx"), switch="LAN"),))


def _override(folder: Path, body: str) -> Renderer:
    """A site's override of the StopVM action template, as an admin would drop it into their folder."""
    path = folder / "actions" / "stop_vm.ps1.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return Renderer(folder)


@pytest.mark.parametrize(
    ("body", "passes_on"),
    [
        ("$vms = @(Get-VM).Where({ $_.Name -eq {{ action.vm_name }} })\n", {"6.3", "10.0"}),
        ("@(Get-VM).ForEach({ $_.Name }) | Out-Null\n", {"6.3", "10.0"}),
        ("$sb = [System.Text.StringBuilder]::new()\n", {"10.0"}),
        ("enum Mode { Off }\n", {"10.0"}),
        ("Get-VM -PipelineVariable vm | Out-Null\n", {"6.3", "10.0"}),
        ("Get-VM | Select-Object -SkipLast 1 | Out-Null\n", {"10.0"}),
        ("Get-ChildItem -Path 'D:\\VMs' -Recurse -Depth 1 | Out-Null\n", {"10.0"}),
        ("Get-VM -InformationAction SilentlyContinue | Out-Null\n", {"10.0"}),
    ],
    ids=["where-method", "foreach-method", "new", "enum", "pipelinevariable", "skiplast", "depth", "information"],
)
def test_an_override_with_a_newer_feature_renders_only_where_powershell_has_it(
    tmp_path: Path, body: str, passes_on: set[str]
) -> None:
    renderer = _override(tmp_path, body)
    for version in ("6.2", "6.3", "10.0"):
        if version in passes_on:
            assert renderer.render_apply(HOST, [A.StopVM("lab-01")], version)
        else:
            with pytest.raises(RenderError, match=r"needs Windows PowerShell|does not have on Windows"):
                renderer.render_apply(HOST, [A.StopVM("lab-01")], version)


def test_the_refusal_names_the_feature_and_both_versions(tmp_path: Path) -> None:
    renderer = _override(tmp_path, "@(Get-VM).Where({ $true }) | Out-Null\n")
    with pytest.raises(RenderError) as refused:
        renderer.render_apply(HOST, [A.StopVM("lab-01")], "6.2")
    assert "the .Where() method, which needs Windows PowerShell 4.0" in str(refused.value)
    assert "Windows 6.2 runs Windows PowerShell 3.0" in str(refused.value)


def _prompting_calls(version: str) -> list[str]:
    """Every shipped-template call of a mutating cmdlet that would prompt at $ConfirmPreference = 'High'."""
    found = []
    for label, script in iter_scripts_hostile(Renderer(), Hostile(), versions=(version,)):
        for call in pwsh.command_calls(pwsh.parse(script)):
            entry = CMDLETS.get(call.name.lower())
            if entry is None or not entry.mutating:
                continue
            bound = {p: p != "Confirm" for p in call.parameters}
            if should_process.would_prompt(call.name, _Call(bound), "High", version):
                found.append(f"{label} line {call.line}: {call.name}")
    return found


class _Call:
    """The named parameters of a rendered call, as `would_prompt` reads them (-Confirm written :$false)."""

    def __init__(self, params: dict[str, bool]) -> None:
        self.params = params

    def get(self, name: str, default: object = None) -> object:
        return self.params.get(name, default)


@pytest.mark.parametrize("version", ["6.2", "6.3"], ids=["2012", "2012-R2"])
def test_no_template_call_would_stop_at_a_confirmation_prompt(version: str) -> None:
    assert _prompting_calls(version) == []
