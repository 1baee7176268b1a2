"""Start-Job in a WinRM shell of code page 65001 (audit O H1).

The admin's story: `orchestrate export` and `orchestrate move` run Export-VM and Import-VM as background jobs.
Every shell the transport opens has code page 65001, where powershell.exe's [Console]::InputEncoding is UTF-8
with a byte order mark, and Start-Job writes to the job's process in that encoding: the job fails at once
("Cannot process an element with node type "Text"", microsoft/azure-pipelines-tasks#10332, on 2012 R2;
ansible/ansible#15770). Ansible's fix, which the product's bootstrap now makes too, sets a UTF-8 encoding
without one (ansible/ansible#22934). Before, the simulator knew nothing of code pages, so every export passed
here and would have failed on every real host.
"""

from __future__ import annotations

import pytest
from simulator_support import HEADER, NO_BOM_INPUT, lines, simulator

from orchestrator.simulator.language.console_encoding import JOB_PREAMBLE_FAILURE
from orchestrator.transport.stdin import channel

VERSIONS = pytest.mark.parametrize("os_version", ["6.2", "6.3"], ids=["2012", "2012R2"])

A_JOB = HEADER + (
    "$job = Start-Job -ScriptBlock { 'the job ran' }\n"
    "Wait-Job -Job $job | Out-Null\n"
    "Write-Output ([string]$job.State)\n"
    "try { Receive-Job -Job $job } catch { Write-Output ('refused: ' + $_) }\n"
)


@VERSIONS
def test_a_job_fails_in_a_utf8_shell_whose_input_encoding_writes_a_bom(os_version: str) -> None:
    result = simulator(os_version=os_version).run(A_JOB)

    assert lines(result) == ["Failed", f"refused: {JOB_PREAMBLE_FAILURE}"]


@VERSIONS
def test_the_products_bootstrap_sets_an_encoding_without_one_so_the_job_runs(os_version: str) -> None:
    result = simulator(os_version=os_version).run(*channel(A_JOB))

    assert result.exit_code == 0, result.stderr
    assert lines(result) == ["Completed", "the job ran"]


def test_a_script_that_sets_it_itself_runs_its_job_too() -> None:
    assert lines(simulator().run(NO_BOM_INPUT + A_JOB)) == ["Completed", "the job ran"]


def test_encoding_utf8_and_utf8encoding_true_keep_the_bom_and_the_failure() -> None:
    for setting in ("[Text.Encoding]::UTF8", "(New-Object System.Text.UTF8Encoding $true)"):
        script = f"[Console]::InputEncoding = {setting}\n" + A_JOB
        assert lines(simulator().run(script))[0] == "Failed", setting


def test_a_shell_of_another_code_page_has_no_bom_to_write() -> None:
    sim = simulator()

    assert lines(sim.run(A_JOB, codepage=437)) == ["Completed", "the job ran"]
    assert lines(sim.run("([Console]::InputEncoding).GetPreamble().Length", codepage=437)) == ["0"]
    assert lines(sim.run("([Console]::InputEncoding).GetPreamble().Length")) == ["3"]


def test_an_encoding_the_simulator_does_not_model_is_refused_not_guessed() -> None:
    result = simulator().run(HEADER + "[Console]::InputEncoding = [Text.Encoding]::Unicode")

    assert result.exit_code != 0
    assert "only as a System.Text.UTF8Encoding" in result.stderr
