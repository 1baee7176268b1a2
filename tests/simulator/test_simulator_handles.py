"""Open files with Windows share modes, as the host lock relies on them (orchestrator/simulator/host/handles.py
cites the .NET and Win32 pages): a share mode binds every later open, of this process or another, and a
process's handles close when it ends, however it ends."""

from __future__ import annotations

import pytest

from orchestrator.simulator import Simulator

FOLDER = "C:\\ProgramData\\MultiPointOrchestrator"
LOCK = FOLDER + "\\host.lock"
HOLD = f"""
$null = New-Item -ItemType Directory -Path '{FOLDER}' -Force
$s = [System.IO.File]::Open('{LOCK}', [System.IO.FileMode]::OpenOrCreate, [System.IO.FileAccess]::ReadWrite, [System.IO.FileShare]::Read)
$b = [System.Text.Encoding]::UTF8.GetBytes('holder A')
$s.SetLength(0)
$s.Write($b, 0, $b.Length)
$s.Flush()
"""


def try_open(mode: str, access: str, share: str) -> str:
    return f"""
try {{
    $t = [System.IO.File]::Open('{LOCK}', [System.IO.FileMode]::{mode}, [System.IO.FileAccess]::{access}, [System.IO.FileShare]::{share})
    Write-Output 'opened'
    $t.Dispose()
}} catch {{
    Write-Output $_.Exception.Message
}}
"""


@pytest.fixture
def held() -> tuple[Simulator, int]:
    sim = Simulator()
    result, pid = sim.hold(HOLD)
    assert result.exit_code == 0, result.stderr
    return sim, pid


@pytest.mark.parametrize(
    ("access", "share", "opens"),
    [
        ("Read", "ReadWrite", True),  # a reader that shares the holder's write access: the holder's record
        ("Read", "Read", False),  # File.ReadAllText's open: it does not share the write the holder has
        ("ReadWrite", "Read", False),  # a second would-be holder
        ("Write", "ReadWrite", False),  # the holder shares reading only
    ],
)
def test_while_a_process_holds_the_lock_only_a_fully_sharing_reader_gets_in(
    held: tuple[Simulator, int], access: str, share: str, opens: bool
) -> None:
    sim, _ = held
    out = sim.run(try_open("Open", access, share)).stdout.strip()
    if opens:
        assert out == "opened"
    else:
        assert "because it is being used by another process" in out
        assert out.startswith('Exception calling "Open" with "4" argument(s)')


def test_the_reader_sees_what_the_holder_wrote(held: tuple[Simulator, int]) -> None:
    sim, _ = held
    out = sim.run(f"""
$r = [System.IO.File]::Open('{LOCK}', [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::ReadWrite)
(New-Object -TypeName System.IO.StreamReader -ArgumentList $r).ReadToEnd()
$r.Dispose()
""").stdout.strip()
    assert out == "holder A"


def test_the_lock_goes_with_the_process_that_held_it(held: tuple[Simulator, int]) -> None:
    sim, pid = held
    assert sim.end_process(pid)
    assert sim.run(try_open("OpenOrCreate", "ReadWrite", "Read")).stdout.strip() == "opened"


def test_a_script_that_fails_while_holding_releases_the_lock_as_it_ends() -> None:
    sim = Simulator()
    failed = sim.run(HOLD + "\nthrow 'the script dies here'")
    assert failed.exit_code == 1
    assert sim.host.open_files == []
    assert sim.run(try_open("OpenOrCreate", "ReadWrite", "Read")).stdout.strip() == "opened"


def test_the_share_mode_binds_the_holding_process_too() -> None:
    sim = Simulator()
    out = sim.run(HOLD + try_open("OpenOrCreate", "ReadWrite", "Read")).stdout.strip()
    assert "because it is being used by another process" in out


def test_open_names_a_missing_file_or_folder_as_dotnet_does() -> None:
    sim = Simulator()
    assert f"Could not find file '{LOCK}'." in sim.run(try_open("Open", "Read", "ReadWrite")).stdout
    missing = "C:\\nowhere\\host.lock"
    out = sim.run(f"""
try {{ $null = [System.IO.File]::Open('{missing}', [System.IO.FileMode]::OpenOrCreate, [System.IO.FileAccess]::ReadWrite, [System.IO.FileShare]::Read) }}
catch {{ Write-Output $_.Exception.Message }}""").stdout
    assert f"Could not find a part of the path '{missing}'." in out


def test_a_stream_opened_for_writing_cannot_be_read() -> None:
    sim = Simulator()
    result = sim.run(f"""
$null = New-Item -ItemType Directory -Path '{FOLDER}' -Force
$w = [System.IO.File]::Open('{LOCK}', [System.IO.FileMode]::OpenOrCreate, [System.IO.FileAccess]::Write, [System.IO.FileShare]::None)
New-Object -TypeName System.IO.StreamReader -ArgumentList $w""")
    assert result.exit_code == 1
    assert "Stream was not readable." in result.stderr


def outcome(sim: Simulator, command: str) -> str:
    """What a script of this host's admin sees when it runs `command` under Stop: 'done' or the error's text."""
    return sim.run(f"""
$ErrorActionPreference = 'Stop'
try {{ {command}; Write-Output 'done' }} catch {{ Write-Output $_.Exception.Message }}
""").stdout.strip()


@pytest.mark.parametrize(
    "command",
    [
        f"Remove-Item -LiteralPath '{LOCK}' -Force",  # "tidy the lock file at the end" while another run holds it
        f"Remove-Item -LiteralPath '{FOLDER}' -Recurse -Force",  # every file under a removed folder is deleted too
        f"Set-Content -LiteralPath '{LOCK}' -Value 'holder B'",  # "write the holder record with Set-Content"
        f"New-Item -ItemType File -Path '{LOCK}' -Force | Out-Null",  # -Force over an existing file rewrites it
        f"Copy-Item -LiteralPath '{LOCK}' -Destination '{FOLDER}\\copy.lock'",  # the copy reads a file held for writing
    ],
)
def test_cmdlets_cannot_delete_rewrite_or_copy_the_lock_another_run_holds(
    held: tuple[Simulator, int], command: str
) -> None:
    sim, _ = held
    out = outcome(sim, command)
    assert f"The process cannot access the file '{LOCK}' because it is being used by another process." in out
    assert sim.host.files[LOCK.lower()].text == "holder A"
    assert FOLDER.lower() + "\\copy.lock" not in sim.host.files


def test_once_the_holder_ends_the_lock_file_can_be_removed(held: tuple[Simulator, int]) -> None:
    sim, pid = held
    assert sim.end_process(pid)
    assert outcome(sim, f"Remove-Item -LiteralPath '{LOCK}' -Force") == "done"
    assert LOCK.lower() not in sim.host.files


def test_a_reader_that_shares_reading_and_writing_still_keeps_the_file_from_being_deleted() -> None:
    sim = Simulator()
    result, _ = sim.hold(f"""
$null = New-Item -ItemType Directory -Path '{FOLDER}' -Force
Set-Content -LiteralPath '{LOCK}' -Value 'x'
$r = [System.IO.File]::Open('{LOCK}', [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::ReadWrite)
""")
    assert result.exit_code == 0, result.stderr
    assert outcome(sim, f"$null = Get-Content -LiteralPath '{LOCK}' -Raw") == "done"  # the reader shares reading
    # Set-Content's writer shares writing only, so it does not share the reading the open reader has
    assert "being used by another process" in outcome(sim, f"Set-Content -LiteralPath '{LOCK}' -Value 'y'")
    assert "being used by another process" in outcome(sim, f"Remove-Item -LiteralPath '{LOCK}' -Force")
    assert LOCK.lower() in sim.host.files
