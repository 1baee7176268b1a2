"""Get-VHD, Mount-VHD, Dismount-VHD, Set-VMDvdDrive and Export-VM read -Path as a wildcard pattern on their
2012 pages, so a script must escape a path with [ ] in it: the simulator refuses the bare pattern (a real host
would match other files, or none) and reads the escaped path as the one file it names."""

from __future__ import annotations

import pytest

from orchestrator.simulator import Simulator

DISK = "C:\\VMs\\room [a].vhdx"


def host() -> Simulator:
    sim = Simulator(seed={"os_version": "6.2", "folders": ["C:\\VMs"]})
    made = sim.run(f"New-VHD -Path '{DISK}' -SizeBytes 1GB -Dynamic -Confirm:$false | Out-Null")
    assert made.exit_code == 0, made.stderr
    return sim


def test_a_bare_pattern_is_refused_with_what_to_do() -> None:
    result = host().run(f"$ErrorActionPreference = 'Stop'; Get-VHD -Path '{DISK}'")

    assert result.exit_code == 1
    assert "does not expand wildcards in Get-VHD -Path" in result.stderr
    assert "Escape [ ] * ? with a backtick" in result.stderr


@pytest.mark.parametrize("cmdlet", ["Get-VHD", "Mount-VHD"])
def test_the_escaped_path_names_the_file(cmdlet: str) -> None:
    escaped = DISK.replace("[", "`[").replace("]", "`]")
    result = host().run(f"$ErrorActionPreference = 'Stop'; ({cmdlet} -Path '{escaped}' -Passthru:$true).Path"
                        if cmdlet == "Mount-VHD" else
                        f"$ErrorActionPreference = 'Stop'; ({cmdlet} -Path '{escaped}').Path")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == DISK


def test_the_templates_helper_escapes_exactly_the_wildcard_characters() -> None:
    from orchestrator.render import Renderer

    functions = Renderer().env.get_template("lib/functions.ps1.j2").render()
    result = host().run(functions + "\nConvertTo-OrchestrateWildcardLiteral -Path 'C:\\a [b]\\c*d?e`f.vhdx'\n"
                        "ConvertTo-OrchestrateWildcardLiteral -Path 'C:\\plain\\lab-01.vhdx'")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["C:\\a `[b`]\\c`*d`?e``f.vhdx", "C:\\plain\\lab-01.vhdx"]


def test_new_item_refuses_a_path_with_wildcard_characters_and_create_directory_makes_it_literally() -> None:
    sim = host()
    # export_vm's way: the parent escaped as -Path, the leaf as -Name (-Path is a wildcard only with -Name)
    escaped = sim.run("$ErrorActionPreference = 'Stop'\n"
                      "[System.IO.Directory]::CreateDirectory('C:\\VMs\\esc [a]') | Out-Null\n"
                      "New-Item -Path 'C:\\VMs\\esc `[a`]' -Name '2026' -ItemType Directory | Out-Null\n"
                      "Test-Path -LiteralPath 'C:\\VMs\\esc [a]\\2026'")
    assert escaped.exit_code == 0 and escaped.stdout.strip() == "True", escaped.stderr

    refused = sim.run("$ErrorActionPreference = 'Stop'; New-Item -Path 'C:\\VMs\\room [a]\\2026' -ItemType Directory")
    made = sim.run("$ErrorActionPreference = 'Stop'\n"
                   "([System.IO.Directory]::CreateDirectory('C:\\VMs\\room [a]\\2026')).FullName\n"
                   "[System.IO.Directory]::CreateDirectory('C:\\VMs\\room [a]\\2026') | Out-Null\n"  # there: no error
                   "Test-Path -LiteralPath 'C:\\VMs\\room [a]'")
    on_a_file = sim.run(f"$ErrorActionPreference = 'Stop'; [System.IO.Directory]::CreateDirectory('{DISK}')")

    assert refused.exit_code == 1 and "[ ] * ? are not modelled there" in refused.stderr
    assert made.exit_code == 0, made.stderr
    assert made.stdout.splitlines() == ["C:\\VMs\\room [a]\\2026", "True"]
    assert on_a_file.exit_code == 1 and "because a file or directory with the same name already exists" in on_a_file.stderr


def test_new_item_without_name_takes_the_path_literally_so_an_escaped_path_is_refused() -> None:
    # PowerShell/PowerShell#17106: "with only a -Path argument, the path is taken *literally*"; a real host
    # would make a folder whose name holds the backticks, and Test-Path -LiteralPath of the meant one says False
    sim = host()
    result = sim.run("$ErrorActionPreference = 'Stop'; New-Item -ItemType Directory -Path 'C:\\VMs\\e`[1`]'")

    assert result.exit_code == 1
    assert "New-Item -Path without -Name takes the path literally" in result.stderr
    assert not any(key.startswith("c:\\vms\\e") for key in sim.host.files)


def test_test_path_reads_path_as_a_pattern_so_a_bare_one_is_refused_and_an_escaped_one_names_the_file() -> None:
    # Test-Path -Path: "Wildcards are permitted" (its 3.0 page); `room [a].vhdx` is a pattern for `room a.vhdx`
    sim = host()
    escaped = DISK.replace("[", "`[").replace("]", "`]")
    bare = sim.run(f"$ErrorActionPreference = 'Stop'; Test-Path -Path '{DISK}'")
    star = sim.run("$ErrorActionPreference = 'Stop'; Test-Path -Path 'C:\\V*'")
    found = sim.run(f"$ErrorActionPreference = 'Stop'; Test-Path -Path '{escaped}'")

    assert bare.exit_code == 1 and "does not expand wildcards in Test-Path -Path" in bare.stderr
    assert star.exit_code == 1
    assert found.exit_code == 0 and found.stdout.strip() == "True", found.stderr
