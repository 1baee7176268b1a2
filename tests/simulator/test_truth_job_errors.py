"""A background job's non-terminating errors come back with its output: Receive-Job writes them as its own
non-terminating errors, so the caller's $ErrorActionPreference / -ErrorAction decides (Azure/azure-powershell#6615
shows `Receive-Job -Job $job -Keep` printing the job's error in Windows PowerShell; about_Preference_Variables
makes an error written under Stop terminating). A job block without `$ErrorActionPreference = 'Stop'` of its own
must not hide what went wrong in it from a script that runs under Stop."""

from __future__ import annotations

from simulator_support import HEADER, NO_BOM_INPUT, lines, ok, simulator

JOB = "$j = Start-Job -ScriptBlock { Write-Error 'bad thing'; 'after' }\nWait-Job -Job $j | Out-Null\n"


def test_under_stop_receiving_a_job_that_wrote_an_error_throws_it() -> None:
    result = ok(simulator(), NO_BOM_INPUT + HEADER + JOB + "[string]$j.State\n"
                "try { Receive-Job -Job $j | Out-Null; 'no error' } catch { 'threw: ' + $_.Exception.Message }")

    assert lines(result) == ["Completed", "threw: bad thing"]


def test_a_cmdlet_error_in_the_job_comes_back_too() -> None:
    result = simulator().run(NO_BOM_INPUT + HEADER + "$j = Start-Job -ScriptBlock { Remove-Item -LiteralPath 'C:\\nothere'; 'after' }\n"
                             "Wait-Job -Job $j | Out-Null\n$r = @(Receive-Job -Job $j)\n'received ' + $r.Count")

    assert result.exit_code == 1
    assert "Cannot find path 'C:\\nothere' because it does not exist." in result.stderr
    assert "received" not in result.stdout


def test_under_continue_the_caller_gets_the_output_and_sees_the_error() -> None:
    result = ok(simulator(), NO_BOM_INPUT + JOB + "$r = @(Receive-Job -Job $j)\n'received ' + $r.Count\n'errors ' + $Error.Count")

    assert lines(result) == ["received 1", "errors 1"]
    assert "bad thing" in result.stderr


def test_error_action_on_receive_job_decides_for_the_caller() -> None:
    result = ok(simulator(), NO_BOM_INPUT + HEADER + JOB + "$r = @(Receive-Job -Job $j -ErrorAction SilentlyContinue)\n"
                "'received ' + $r.Count")

    assert lines(result) == ["received 1"]


def test_keep_keeps_the_errors_and_a_plain_receive_takes_them() -> None:
    script = HEADER + JOB + ("foreach ($n in @(1, 2, 3)) { try { $null = Receive-Job -Job $j" + "{keep}"
                             + "; 'clean' } catch { 'threw' } }")
    kept = ok(simulator(), NO_BOM_INPUT + script.replace("{keep}", " -Keep"))
    taken = ok(simulator(), NO_BOM_INPUT + script.replace("{keep}", ""))

    assert lines(kept) == ["threw", "threw", "threw"]
    assert lines(taken) == ["threw", "clean", "clean"]


def test_an_error_the_job_silences_is_not_written_back() -> None:
    result = ok(simulator(), NO_BOM_INPUT + HEADER + "$j = Start-Job -ScriptBlock { Remove-Item -LiteralPath 'C:\\nothere' "
                "-ErrorAction SilentlyContinue; try { throw 'handled' } catch { }; 'after' }\n"
                "Wait-Job -Job $j | Out-Null\nReceive-Job -Job $j")

    assert lines(result) == ["after"]


def test_every_error_of_the_job_is_written_under_continue() -> None:
    result = ok(simulator(), NO_BOM_INPUT + "$j = Start-Job -ScriptBlock { Write-Error 'one'; Write-Error 'two'; 'after' }\n"
                "Wait-Job -Job $j | Out-Null\n$r = Receive-Job -Job $j\n$r\n$Error.Count")

    assert lines(result) == ["after", "2"]
    assert result.stderr.index("one") < result.stderr.index("two")


def test_a_using_variable_in_a_job_is_refused_as_not_modelled_not_read_as_null() -> None:
    result = simulator().run(NO_BOM_INPUT + HEADER + "$x = 'v'\n$j = Start-Job -ScriptBlock { \"got $using:x\" }\n"
                             "Wait-Job -Job $j | Out-Null\nReceive-Job -Job $j")

    assert result.exit_code == 1
    assert "does not model the Using scope" in result.stderr
    assert "got" not in result.stdout
