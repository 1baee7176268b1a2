"""Path parameters that read wildcards, as a real host's cmdlet may: taken literally only when escaped.

The 2012 pages (MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/hyper-v/) mark these `-Path`
parameters "Accept wildcard characters: True": Get-VHD, Mount-VHD, Dismount-VHD, Set-VMDvdDrive and
Export-VM (also Test-VHD, Merge-VHD, Resize-VHD, Set-VHD, which no template calls). The 2012 R2 pages mark
no parameter of any Hyper-V cmdlet so, not even Get-VM -Name, whose own examples use `Test*`: their marking
is missing, not a statement, so the 2012 one is taken for both (about_Wildcards, 3.0: "The Help topic for each
cmdlet describes which parameters, if any, permit wildcard characters"). On such a parameter a real host
would read `lab[1].vhdx` as a pattern (`lab1.vhdx`), and find no disk, or another VM's. A backtick in the
value the parameter receives makes the next character literal: about_Wildcards (PowerShell-Docs reference/
5.1, "Escaping wildcard characters in file and directory names": `Get-Item -Path 'file`[1`].txt'` gets
file[1].txt, as the value bound to a Path that supports wildcards), and WildcardPattern.Escape, which
prefixes `* ? [ ]` and the backtick with a backtick (PowerShell's test_WildcardPattern.cs).

New-Item -Path is taken the same way only when -Name is given: its 3.0 page says "Wildcards are permitted" (of
"the location of the new item") and 3.0's New-Item has no -LiteralPath, but "with only a -Path argument, the
path is taken *literally*", and "with -Name also present, the -Path argument is interpreted as a *wildcard
expression*" (PowerShell/PowerShell#17106, mklement0; #7404/#9259: `New-Item -Path './`[file`]2'` "will create
a file named "`[file`]2""). Those reports are of PowerShell 6.x/7.2; that 3.0 does the same is reasoned (the
engine's old behaviour, which those changes set out to change). So without -Name a backtick would stay in the
name on a real host, and New-Item refuses it (`literal_only`, stricter); `[ ] * ?` stay refused there too.

The simulator does not expand these patterns: a path with an unescaped `[ ] * ?` is refused, whatever it
would match (stricter), and an escaped one is read as the literal path. The templates escape every path
they pass there (lib/functions.ps1.j2, ConvertTo-OrchestrateWildcardLiteral). Unverified on a real host:
whether these cmdlets expand at all (the escaped path is right either way only if they do; if they read
-Path literally, a path with a bracket or a backtick fails there with "not found", which fails safe).
"""

from __future__ import annotations

from orchestrator.simulator.host.registry import CmdletError

WILDCARD_CHARACTERS = "[]*?"


def literal_path(cmdlet: str, value: str) -> str:
    """The file `value` names, read as a wildcard parameter reads it; refused if it holds a pattern."""
    if "`" not in value and not any(ch in value for ch in WILDCARD_CHARACTERS):
        return value
    out: list[str] = []
    index = 0
    while index < len(value):
        ch = value[index]
        if ch == "`" and index + 1 < len(value):
            out.append(value[index + 1])
            index += 2
            continue
        if ch in WILDCARD_CHARACTERS:
            raise CmdletError(
                f"The simulator does not expand wildcards in {cmdlet} -Path, which reads them on a real host "
                f"(its page): '{value}' is a pattern there, not this file. Escape [ ] * ? with a backtick.",
                "WildcardPathNotSupported", "NotImplemented", value)
        out.append(ch)
        index += 1
    return "".join(out)


def literal_only(cmdlet: str, value: str, why: str) -> str:
    """A path a parameter reads literally (`why` says which and where from): a backtick would stay in the name
    on a real host, so it is refused, as are `[ ] * ?`, which the simulator keeps out of every path parameter
    that may read them as a pattern (stricter)."""
    if "`" in value or any(ch in value for ch in WILDCARD_CHARACTERS):
        raise CmdletError(
            f"The simulator refuses '{value}' for {cmdlet}: {why}; a backtick would stay in the name on a real "
            "host, and [ ] * ? are not modelled there. Pass the folder escaped as -Path and the leaf as -Name, or "
            "use [System.IO.Directory]::CreateDirectory.", "WildcardPathNotSupported", "NotImplemented", value)
    return value
