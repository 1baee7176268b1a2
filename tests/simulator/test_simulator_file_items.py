"""What the FileSystem provider hands back and where a copy may go, as .NET's FileInfo, DirectoryInfo and
File.Copy have it: a folder has no Length to sum, and a file copied into a folder that is not there fails."""

from __future__ import annotations

from orchestrator.simulator import Simulator

SETUP = """$ErrorActionPreference = 'Stop'
$null = New-Item -ItemType Directory -Path 'C:\\t\\sub' -Force
$null = New-Item -ItemType File -Path 'C:\\t\\a.txt' -Value 'abc'
"""


def host() -> Simulator:
    return Simulator(seed={"os_version": "6.2", "folders": ["C:\\VMs"]})


def test_summing_length_over_folders_fails_as_directoryinfo_has_no_length() -> None:
    sim = host()
    folders = sim.run(SETUP + "(Get-ChildItem -LiteralPath 'C:\\t' -Directory | Measure-Object -Property Length -Sum).Sum")
    files = sim.run("(Get-ChildItem -LiteralPath 'C:\\t' -File | Measure-Object -Property Length -Sum).Sum")

    assert folders.exit_code == 1
    assert 'The property "Length" cannot be found in the input for any objects.' in folders.stderr
    assert files.exit_code == 0 and files.stdout.strip() == "3", files.stderr


def test_copying_a_file_into_a_missing_folder_fails_and_copies_nothing() -> None:
    sim = host()
    result = sim.run(SETUP + "Copy-Item -LiteralPath 'C:\\t\\a.txt' -Destination 'C:\\nodir\\b.txt'")

    assert result.exit_code == 1
    assert "Could not find a part of the path 'C:\\nodir\\b.txt'." in result.stderr
    assert "c:\\nodir\\b.txt" not in sim.host.files


def test_a_file_member_the_simulator_does_not_model_is_refused_not_read_as_null() -> None:
    # FileInfo has LastWriteTime on a real host; read as $null here, `$_.LastWriteTime -lt $cutoff` would be True
    sim = host()
    result = sim.run(SETUP + "$old = @(Get-ChildItem -LiteralPath 'C:\\t' -File | Where-Object -FilterScript "
                     "{ $_.LastWriteTime -lt (Get-Date) })\n'old ' + $old.Count")
    known = sim.run("$ErrorActionPreference = 'Stop'\n$f = @(Get-ChildItem -LiteralPath 'C:\\t' -File)[0]\n"
                    "$f.Name; $f.FullName; $f.Length; $f.Extension; $f.DirectoryName; [string]$f.PSIsContainer")

    assert result.exit_code == 1
    assert "does not model the member 'LastWriteTime' of System.IO.FileInfo" in result.stderr
    assert known.exit_code == 0, known.stderr
    assert known.stdout.split() == ["a.txt", "C:\\t\\a.txt", "3", ".txt", "C:\\t", "False"]
