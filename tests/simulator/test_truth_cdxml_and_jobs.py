"""What a real 2012 / 2012 R2 host does that the templates must survive (issue 13, findings 4 and 5):

- the ScheduledTasks cmdlets are CDXML functions, so a script run through the WinRM bootstrap (a child scope of
  the global one) cannot make their errors stop it with its own `$ErrorActionPreference = 'Stop'`; only
  `-ErrorAction Stop` on the call does (PowerShell/PowerShell#4568, #24389);
- what Receive-Job hands back carries PSComputerName, RunspaceId and PSShowComputerName, and ConvertTo-Json in
  Windows PowerShell 3.0-5.1 writes such a string as an object (PowerShell/PowerShell#5797).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from simulator_support import HEADER, last_json, lines, ok, simulator

from orchestrator.transport.stdin import channel

VERSIONS = pytest.mark.parametrize("os_version", ["6.2", "6.3"], ids=["2012", "2012R2"])

MISSING_TASK = "Get-ScheduledTask -TaskName 'no such task' -TaskPath '\\MultiPoint\\'"


def through_bootstrap(os_version: str, script: str):
    """The script as the WinRM transport sends it: read from stdin, run as a script block by the bootstrap."""
    sim = simulator(os_version=os_version)
    return sim, sim.run(*channel(script))


@VERSIONS
def test_a_task_cmdlet_error_does_not_stop_a_script_whose_own_preference_is_stop(os_version: str) -> None:
    script = HEADER + f"{MISSING_TASK}\nWrite-Output 'went on'\nWrite-Output $Error.Count\n"

    _, result = through_bootstrap(os_version, script)

    assert result.exit_code == 0
    assert lines(result) == ["went on", "1"]
    assert "No MSFT_ScheduledTask objects found" in result.stderr


@VERSIONS
def test_a_hyperv_cmdlet_error_does_stop_the_same_script(os_version: str) -> None:
    script = HEADER + "Get-VM -Name 'no such vm'\nWrite-Output 'went on'\n"

    _, result = through_bootstrap(os_version, script)

    assert result.exit_code == 1
    assert "went on" not in result.stdout


@VERSIONS
def test_error_action_stop_on_the_call_makes_the_task_cmdlet_error_catchable(os_version: str) -> None:
    script = HEADER + (
        f"try {{ {MISSING_TASK} -ErrorAction Stop; Write-Output 'not here' }}\n"
        "catch { Write-Output ('caught: ' + $_.Exception.Message) }\n"
    )

    _, result = through_bootstrap(os_version, script)

    assert result.exit_code == 0
    assert lines(result) == [
        "caught: No MSFT_ScheduledTask objects found with property 'TaskName' equal to 'no such task'.  Verify "
        "the value of the property and retry."
    ]


@VERSIONS
def test_a_script_run_at_global_scope_sets_the_preference_the_task_cmdlets_see(os_version: str) -> None:
    """A task's -EncodedCommand runs at global scope: there the script's own preference does reach them."""
    sim = simulator(os_version=os_version)

    result = sim.run(HEADER + f"{MISSING_TASK}\nWrite-Output 'went on'\n")

    assert result.exit_code == 1
    assert "went on" not in result.stdout


@VERSIONS
def test_a_session_that_is_not_an_administrator_cannot_register_a_task_and_nothing_stops(os_version: str) -> None:
    sim = simulator(os_version=os_version, session_admin=False)
    script = HEADER + (
        "$a = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile'\n"
        "$t = New-ScheduledTaskTrigger -Once -At (Get-Date)\n"
        "Register-ScheduledTask -TaskName 'nightly' -TaskPath '\\MultiPoint\\' -Action $a -Trigger $t | Out-Null\n"
        "Write-Output 'reported changed'\n"
    )

    result = sim.run(*channel(script))

    assert result.exit_code == 0 and lines(result) == ["reported changed"]  # what the old template believed
    assert "Access is denied." in result.stderr
    assert sim.host.tasks == {}


@VERSIONS
def test_a_string_received_from_a_job_serialises_as_an_object_until_it_is_cast(os_version: str) -> None:
    sim = simulator(os_version=os_version)
    script = HEADER + (
        "$job = Start-Job -ScriptBlock { 'lab-01' }\n"
        "Wait-Job -Job $job | Out-Null\n"
        "$received = @(Receive-Job -Job $job) | Select-Object -Last 1\n"
        "Remove-Job -Job $job\n"
        "Write-Output ($received -eq 'lab-01')\n"
        "Write-Output (ConvertTo-Json -InputObject ([ordered]@{ name = $received }) -Compress)\n"
        "Write-Output (ConvertTo-Json -InputObject ([ordered]@{ name = [string]$received }) -Compress)\n"
    )

    result = lines(ok(sim, *channel(script)))  # through the bootstrap, whose encoding lets jobs run

    assert result[0] == "True"  # to every operator it is still the string
    raw = json.loads(result[1])["name"]
    assert raw["value"] == "lab-01"
    assert raw["PSComputerName"] == "localhost" and raw["PSShowComputerName"] is False
    assert len(raw["RunspaceId"]) == 36
    assert list(raw) == ["value", "PSComputerName", "RunspaceId", "PSShowComputerName"]
    assert json.loads(result[2]) == {"name": "lab-01"}


@VERSIONS
def test_numbers_and_objects_from_a_job_carry_the_members_too(os_version: str) -> None:
    sim = simulator(os_version=os_version)
    script = HEADER + (
        "$job = Start-Job -ScriptBlock { 40 + 2; [pscustomobject]@{ Name = 'lab-01' } }\n"
        "Wait-Job -Job $job | Out-Null\n"
        "$received = @(Receive-Job -Job $job)\n"
        "$number = $received[0]\n"
        "$vm = $received[1]\n"
        "Remove-Job -Job $job\n"
        "ConvertTo-Json -InputObject ([ordered]@{ n = $number; cast = [int]$number; vm = $vm }) -Compress\n"
    )

    document = last_json(ok(sim, *channel(script)))

    assert document["n"]["value"] == 42 and document["n"]["PSComputerName"] == "localhost"
    assert document["cast"] == 42
    assert document["vm"]["Name"] == "lab-01" and document["vm"]["PSComputerName"] == "localhost"


def test_job_output_the_simulator_cannot_decorate_is_refused_not_passed_on_bare() -> None:
    sim = simulator()
    script = HEADER + "$job = Start-Job -ScriptBlock { $true }\nWait-Job -Job $job | Out-Null\nReceive-Job -Job $job\n"

    result = sim.run(*channel(script))

    assert result.exit_code == 1
    assert "PSComputerName" in result.stderr and "System.Boolean" in result.stderr


def test_every_scheduled_task_call_in_the_shipped_templates_says_how_its_errors_are_handled() -> None:
    """The guard behind the stories above: a new template line cannot forget -ErrorAction on a CDXML call."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    call = re.compile(r"\b(?:Register|Unregister|Get|Start|Stop|Set|Enable|Disable|New)-ScheduledTask\w*\b[^|;\r\n]*")
    jinja_comment = re.compile(r"\{#.*?#\}", re.S)
    calls = [
        (path.name, match.group(0))
        for path in sorted(templates.rglob("*.j2"))
        for line in jinja_comment.sub("", path.read_text(encoding="utf-8")).splitlines()
        if not line.lstrip().startswith("#")
        for match in call.finditer(line)
    ]

    assert len(calls) >= 8  # schedule, remove_schedule and facts all call them
    assert [c for c in calls if "-ErrorAction" not in c[1]] == []
