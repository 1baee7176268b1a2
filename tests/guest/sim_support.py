"""A simulated Hyper-V host with MultiPoint images, and the host-side script that prepares a guest's disk.

PREPARE is what a plan step will do on a real host (issue 15): create the VM on a differencing disk, mount
the disk, find the partition that holds Windows, write the answer file and SetupComplete.cmd into it, and
always dismount. The files' text arrives as $answer and $setupComplete (the tests define them in the script;
the real template receives them apart from the script text, docs/real-hosts.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestrator import pwsh
from orchestrator.simulator import RunResult, Simulator

PREMIUM = "D:\\images\\mps-premium.vhdx"
STANDARD = "D:\\images\\mps-standard.vhdx"
NOW = datetime(2026, 11, 25, 1, 0, 0, tzinfo=UTC)
SEED: dict[str, Any] = {
    "os_sku": 8, "os_version": "6.3", "logical_processors": 16, "memory": "32GB", "switches": ["LAN"],
    "images": {PREMIUM: {"edition_sku": 77}, STANDARD: {"edition_sku": 76}}, "free_disk": "1TB",
}
HEADER = "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
VHD_FOLDER = "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks"


def simulator(**overrides: Any) -> Simulator:
    return Simulator(seed={**SEED, **overrides}, now=lambda: NOW)


def run_ok(sim: Simulator, script: str) -> RunResult:
    result = sim.run(HEADER + script)
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def prepare(name: str, answer: str | None, setup_complete: str | None, *, image: str = PREMIUM,
            confirm: bool = True, create: bool = True, generation: int = 2) -> str:
    """The host-side script: (create the VM,) mount its disk, write the files, dismount in `finally`."""
    vhd = f"{VHD_FOLDER}\\{name}.vhdx"
    no = " -Confirm:$false" if confirm else ""
    lines = [f"$vhd = {pwsh.quote(vhd)}"]
    if create:
        lines += [
            f"New-VHD -Path $vhd -ParentPath {pwsh.quote(image)} -Differencing -Confirm:$false | Out-Null",
            f"New-VM -Name {pwsh.quote(name)}{' -Generation 2' if generation == 2 else ''} -MemoryStartupBytes"
            " 2147483648 -VHDPath $vhd"
            " -Confirm:$false | Out-Null",
        ]
    lines += [
        f"$answer = {pwsh.quote(answer) if answer is not None else '$null'}",
        f"$setupComplete = {pwsh.quote(setup_complete) if setup_complete is not None else '$null'}",
        f"$disk = Mount-VHD -Path $vhd -Passthru{no}",
        "try {",
        "    $windows = $null",
        "    foreach ($partition in @(Get-Partition -DiskNumber $disk.DiskNumber -ErrorAction Stop)) {",
        "        if ($partition.DriveLetter -and (Test-Path -LiteralPath ([string]$partition.DriveLetter + ':\\Windows\\System32'))) {",
        "            $windows = [string]$partition.DriveLetter + ':'",
        "        }",
        "    }",
        "    if (-not $windows) { throw 'the disk holds no Windows partition' }",
        "    if ($answer -ne $null) {",
        "        Set-Content -LiteralPath ($windows + '\\Windows\\Panther\\unattend.xml') -Value $answer -Encoding UTF8 -Confirm:$false",
        "    }",
        "    if ($setupComplete -ne $null) {",
        "        New-Item -ItemType Directory -Path ($windows + '\\Windows\\Setup\\Scripts') -Force -Confirm:$false | Out-Null",
        "        Set-Content -LiteralPath ($windows + '\\Windows\\Setup\\Scripts\\SetupComplete.cmd') -Value $setupComplete -Encoding Ascii -Confirm:$false",
        "    }",
        "} finally {",
        f"    Dismount-VHD -Path $vhd{' -Confirm:$false'}",
        "}",
    ]
    return "\n".join(lines) + "\n"


KVP_READ = """
$vmId = (Get-VM -Name {name}).Id.ToString().ToUpper()
$kvp = Get-CimInstance -Namespace 'root\\virtualization\\v2' -ClassName 'Msvm_KvpExchangeComponent' -Filter ("SystemName = '" + $vmId + "'")
@{{ intrinsic = @($kvp.GuestIntrinsicExchangeItems); guest = @($kvp.GuestExchangeItems) }} | ConvertTo-Json -Depth 4 -Compress
"""
