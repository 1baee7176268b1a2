r"""The guest inside a simulated VM: its Windows volume, first-boot setup, and what it tells the host.

A virtual disk's guest volume lives on its FileEntry (`volume`): the files in its Windows partition and the
state of the Windows on it (`os`). A disk nobody wrote to reads through to its parent; install media with an
edition (a sysprepped image) holds a generalized Windows. A write (Mount-VHD's write-back, setup) copies the
view into the disk first, so a checkpoint's file keeps the volume as it was, and a restore's new child reads it
back (chains.py moves a merged file's volume into its child).

What a started VM does (power_on), per Microsoft's unattend documentation for Windows Server 2012
(learn.microsoft.com/windows-hardware/customize/desktop/unattend/, the components' pages, and "Windows Setup
Configuration Passes"):
- A generalized Windows with \Windows\Panther\unattend.xml runs setup: the specialize pass (computer name,
  product key, time zone, domain join), then oobeSystem (locale, Administrator password), then
  %WINDIR%\Setup\Scripts\SetupComplete.cmd ("Add a Custom Script to Windows Setup": it runs after setup,
  before the logon screen). It takes `Host.guest_setup_seconds` of simulated time (about 30 minutes,
  multipoint-facts.md), passed by Start-Sleep and Wait-Job (clock.tick), never by real waiting.
- The answer file is read with a real XML parser. A file that does not parse, or a specialize setting
  Windows refuses, stops setup with SETUP_PARSE_ERROR and the guest never becomes ready (this failure is
  kept on the disk: every later boot shows it again).
- Without an answer file the specialize pass names the computer WIN-<11 random characters> ("If
  ComputerName is not specified, a random computer name is generated": unattend reference, ComputerName)
  and Windows Welcome (OOBE) waits for someone at the console, for ever.
- Powered off during setup, Windows cannot finish: SETUP_INTERRUPTED, for good.
- Setup's passes: specialize takes the first OOBE_SHARE of the time and leaves the computer named (and joined,
  if it can be); the oobeSystem pass takes the rest and ends with SetupComplete.cmd ("Windows Setup
  Configuration Passes": specialize, a restart, then oobeSystem). While oobeSystem runs, the Windows of the
  new name is up, so the host sees its items (below) before the guest is ready. No page says when the Data
  Exchange service starts in setup; showing them early is the stricter choice: a wait must then tell a ready
  guest by the value SetupComplete.cmd writes, not by its name. The split of the time is unverified.
- The Data Exchange service shows the host the intrinsic items (FullyQualifiedDomainName, OSEditionId of the
  image's own edition: a Standard image reports 76 whatever key it was given) and the values under
  HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest as GuestExchangeItems (MicrosoftDocs/windowsserverdocs
  virtualization/hyper-v/integration-services-data-exchange.md), those an image was captured with included:
  "Once created, key-value pairs remain until they're deleted" (the same page), and no page says sysprep
  deletes them. During specialize the host sees no items.

A checkpoint of a running VM keeps `VM.guest_run` (its memory) and the disk: a restored baseline of a ready
server is that ready server. Names of the message texts and the WIN- prefix are unverified (listed in
docs/real-hosts.md); the simulator is strict where Windows might be lenient (a SetupComplete.cmd line it
cannot model stops the script).
"""

from __future__ import annotations

import copy
import hashlib
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from orchestrator.simulator.host.model import Host, norm_path

if TYPE_CHECKING:
    from orchestrator.simulator.host.model import VM, FileEntry

ANSWER_FILE = "\\Windows\\Panther\\unattend.xml"
SETUP_COMPLETE = "\\Windows\\Setup\\Scripts\\SetupComplete.cmd"
KVP_GUEST_KEY = "HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest"
UNATTEND_NS = "{urn:schemas-microsoft-com:unattend}"
SETUP_PARSE_ERROR = ("Windows could not parse or process unattend answer file [C:\\Windows\\Panther\\unattend.xml] "
                     "for pass [specialize].")
SETUP_INTERRUPTED = ("The computer restarted unexpectedly or encountered an unexpected error. Windows installation "
                     "cannot proceed.")
DEFAULT_SETUP_SECONDS = 30 * 60
OOBE_SHARE = 0.25  # the oobeSystem pass's share of a setup's time (unverified: see the module's docstring)
_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_FORBIDDEN_NAME = set(" {|}~[\\]^':;<=>?@!\"#$%`()+/.,*&")
# Exactly the 29 characters, upper case, nothing around them: the form the ProductKey page shows (stricter
# than a real setup may be about case; a key with spaces around it is not "a 29-character string").
_KEY = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")


# -- volumes ----------------------------------------------------------------------------------------------


def sysprepped_volume(edition_sku: int, partition_style: str | None = None) -> dict[str, Any]:
    """A generalized Windows Server 2012 volume, as a sysprepped image holds it; `partition_style` (GPT or MBR)
    when the seed names it, else the host's default (partition_style)."""
    dirs = ("\\Windows", "\\Windows\\System32", "\\Windows\\Panther", "\\Windows\\Setup")
    return {"files": {norm_path(d): {"path": d, "kind": "dir", "text": None} for d in dirs},
            "partition_style": partition_style,
            "os": {"windows": True, "generalized": True, "edition_sku": edition_sku, "computer_name": None,
                   "domain": None, "oobe_pending": False, "setup_error": None, "kvp_guest": {}}}


def add_volume_file(volume: dict[str, Any], path: str, text: str) -> None:
    """A file (and its folders) in a volume's Windows partition, `path` from its root (\\Windows\\...)."""
    parts = path.strip("\\").split("\\")
    for depth in range(1, len(parts)):
        folder = "\\" + "\\".join(parts[:depth])
        volume["files"].setdefault(norm_path(folder), {"path": folder, "kind": "dir", "text": None})
    full = "\\" + "\\".join(parts)
    volume["files"][norm_path(full)] = {"path": full, "kind": "file", "text": text}


def volume_of(host: Host, path: str) -> dict[str, Any] | None:
    """The guest volume a disk file shows: its own, else its parent's, else the image's; None for no Windows.
    What it returns is the disk's (or a parent's) own volume, or a new image volume: read it, never change it
    (writable_volume gives a disk its own copy)."""
    return _volume_view(host, path)[0]


def _volume_view(host: Host, path: str) -> tuple[dict[str, Any] | None, bool]:
    """volume_of, and whether the volume is a new one made here (nobody else holds it)."""
    seen: set[str] = set()
    current: str | None = path
    while current and norm_path(current) not in seen:
        seen.add(norm_path(current))
        entry = host.files.get(norm_path(current))
        if entry is None:
            return None, False
        if entry.volume is not None:
            return entry.volume, False
        if entry.edition_sku is not None and (entry.vhd or {}).get("parent") is None:
            return sysprepped_volume(entry.edition_sku), True
        current = (entry.vhd or {}).get("parent")
    return None, False


def writable_volume(host: Host, entry: FileEntry) -> dict[str, Any] | None:
    """The disk's own volume, copied from what it reads through to on its first write (a new image volume
    is already its own: no copy)."""
    if entry.volume is None:
        view, new = _volume_view(host, entry.path)
        if view is None:
            return None
        entry.volume = view if new else copy.deepcopy(view)
    return entry.volume


# A dry run's copy of a real host (Simulator.from_facts) does not know an image's partitions (the facts never
# open an image): it boots either generation, and its Get-Disk says "Unknown", which no check refuses.
UNKNOWN_STYLE = "Unknown"


def partition_style(host: Host, volume: dict[str, Any]) -> str:
    """GPT or MBR: how the disk holding `volume` is partitioned. An image seeded without one has the style a
    VM of the host's default generation boots: MBR on 2012, whose VMs are all generation 1 (generation 2 is
    new in 2012 R2), else GPT (the firmware rule: boots_from)."""
    return volume.get("partition_style") or ("MBR" if host.os_version == "6.2" else "GPT")


def boots_from(host: Host, vm: VM, volume: dict[str, Any]) -> bool:
    """Whether the VM's firmware boots the Windows on `volume`. A generation 2 VM has UEFI firmware and boots
    a GPT disk; a generation 1 VM has BIOS and boots MBR: "if the virtual hard drive is a bootable VHDX file
    [of a generation 2 VM], the generation 1 virtual machine fails to boot", and an existing VHD "which
    isn't compatible with UEFI" calls for generation 1 (MicrosoftDocs/windowsserverdocs WindowsServerDocs/
    virtualization/hyper-v/plan/Should-I-create-a-generation-1-or-2-virtual-machine-in-Hyper-V.md). The
    firmware finds nothing to start otherwise, as on a disk with no Windows."""
    style = partition_style(host, volume)
    return style == UNKNOWN_STYLE or style == ("GPT" if vm.generation == 2 else "MBR")


def system_disk(host: Host, vm: VM) -> FileEntry | None:
    """The VM's first hard disk: the one its firmware boots Windows from."""
    if not vm.disks:
        return None
    return host.files.get(norm_path(vm.disks[0].path))


# -- power ------------------------------------------------------------------------------------------------


def power_on(host: Host, vm: VM) -> None:
    """Start-VM: a Saved guest resumes where it was; an Off one boots from its system disk."""
    if vm.guest_run is not None:
        return
    entry = system_disk(host, vm)
    volume = writable_volume(host, entry) if entry is not None else None
    if volume is None or not volume["os"].get("windows") or not boots_from(host, vm, volume):
        vm.guest_run = {"phase": "no_os"}
        return
    os_state = volume["os"]
    if os_state.get("setup_error"):
        vm.guest_run = {"phase": "failed", "error": os_state["setup_error"]}
    elif os_state.get("generalized"):
        answer = volume["files"].get(norm_path(ANSWER_FILE))
        if answer is None or answer.get("kind") != "file":
            os_state.update(generalized=False, oobe_pending=True, computer_name=_random_name(host))
            vm.guest_run = {"phase": "oobe"}
            return
        settings = read_answer_file(answer.get("text") or "")
        if isinstance(settings, str):
            os_state["setup_error"] = settings
            vm.guest_run = {"phase": "failed", "error": settings}
            return
        seconds = float(getattr(host, "guest_setup_seconds", DEFAULT_SETUP_SECONDS))
        vm.guest_run = {"phase": "specialize", "left": seconds, "total": seconds, "settings": settings,
                        "oobe_at": seconds * OOBE_SHARE}
    elif os_state.get("oobe_pending"):
        vm.guest_run = {"phase": "oobe"}
    else:
        vm.guest_run = {"phase": "ready"}


# Phases of a setup that is still running (cut off there, Windows cannot finish), and those in which no
# Windows answers the host's shutdown request (see shuts_down).
_SETUP_PHASES = ("specialize", "oobesystem")
_NO_SHUTDOWN_PHASES = ("no_os", "failed", *_SETUP_PHASES)


def shuts_down(vm: VM) -> bool:
    """Whether a running guest shuts down when Stop-VM (without -TurnOff) asks it to. Stop-VM "Shuts down
    virtual machine TestVM through the guest operating system" (docset/winserver2012-ps/hyper-v/Stop-VM.md,
    Example 1; -TurnOff alone is "equivalent to disconnecting the power"), and the request travels through the
    guest's shutdown integration service: "When disabled, the host can't trigger a friendly shutdown inside
    the virtual machine" (MicrosoftDocs/Virtualization-Documentation virtualization/hyper-v-on-windows/
    reference/integration-services.md, Hyper-V Guest Shutdown Service). A disk with no Windows has no such
    service. A setup stopped by an error, and the specialize and oobeSystem passes, are unverified: no page says
    whether Windows answers the request there, so the simulator fails safe and says no. Windows Welcome (OOBE) and a ready
    server run the service. A VM whose guest the simulator does not model (seeded from facts) shuts down."""
    run = vm.guest_run
    return run is None or run.get("phase") not in _NO_SHUTDOWN_PHASES


def power_off(host: Host, vm: VM) -> None:
    """Stop-VM (or a discarded saved state): the guest's memory is gone; cut off in setup, Windows is broken."""
    run = vm.guest_run
    vm.guest_run = None
    if run is not None and run.get("phase") in _SETUP_PHASES:
        entry = system_disk(host, vm)
        volume = writable_volume(host, entry) if entry is not None else None
        if volume is not None:
            volume["os"]["setup_error"] = SETUP_INTERRUPTED


def advance(host: Host, seconds: float) -> bool:
    """Simulated time passes for every guest in setup; one that is done finishes its setup. True when any
    guest was in setup (its progress is part of the host's state, to be saved)."""
    moved = False
    for vm in host.vms.values():
        run = vm.guest_run
        if vm.state != "Running" or run is None or run.get("phase") not in _SETUP_PHASES:
            continue
        run["left"] = max(0.0, float(run["left"]) - seconds)
        moved = moved or seconds > 0
        if run["phase"] == "specialize" and run["left"] <= float(run.get("oobe_at", 0.0)):
            _end_specialize(host, vm, run)
        if vm.guest_run is run and run["left"] <= 0:
            _finish_setup(host, vm, run)
    return moved


def _setup_volume(host: Host, vm: VM) -> dict[str, Any] | None:
    """The volume a guest in setup writes to; None (and the guest has no OS) when its disk is gone."""
    entry = system_disk(host, vm)
    volume = writable_volume(host, entry) if entry is not None else None
    if volume is None:
        vm.guest_run = {"phase": "no_os"}
    return volume


def _end_specialize(host: Host, vm: VM, run: dict[str, Any]) -> None:
    """The specialize pass is done: the computer has its name and, if it could, joined its domain."""
    volume = _setup_volume(host, vm)
    if volume is None:
        return
    settings = run.get("settings") or {}
    os_state = volume["os"]
    name = settings.get("computer_name")
    os_state["computer_name"] = name if name else _random_name(host)
    os_state["generalized"] = False
    domain = settings.get("domain")
    # MultiPoint Premium joins a domain, Standard never (multipoint-facts.md); the simulated network knows
    # the domains the host's seed lists. A failed join does not stop setup (UnattendedJoin logs it), so the
    # guest comes up in a workgroup: the host sees it in FullyQualifiedDomainName.
    edition = vm.booted_from if vm.booted_from is not None else os_state.get("edition_sku")
    joinable = edition == 77 and domain and settings.get("join_account", True) and domain.lower() in {
        d.lower() for d in getattr(host, "guest_domains", []) or []}
    os_state["domain"] = domain if joinable else None
    run["phase"] = "oobesystem"


def _finish_setup(host: Host, vm: VM, run: dict[str, Any]) -> None:
    """The oobeSystem pass is done: SetupComplete.cmd runs, unless Windows Welcome waits for a password."""
    volume = _setup_volume(host, vm)
    if volume is None:
        return
    settings = run.get("settings") or {}
    os_state = volume["os"]
    if not settings.get("admin_password"):
        os_state["oobe_pending"] = True  # Windows Welcome asks for the Administrator's password
        vm.guest_run = {"phase": "oobe"}
        return
    script = volume["files"].get(norm_path(SETUP_COMPLETE))
    if script is not None and script.get("kind") == "file":
        problem = run_setup_complete(volume, script.get("text") or "")
        if problem:
            os_state["setup_complete_error"] = problem
    vm.guest_run = {"phase": "ready"}


def _random_name(host: Host) -> str:
    """Deterministic per host and moment: 11 characters drawn from a hash of both (a random.Random seeded
    with the string hashed it with SHA-512 first: about a quarter of a Start-VM's CPU)."""
    host.guid_counter += 1
    digest = hashlib.blake2b(f"{host.name}/{host.guid_counter}".encode(), digest_size=11).digest()
    return "WIN-" + "".join(_NAME_CHARS[byte % len(_NAME_CHARS)] for byte in digest)


# -- the answer file ---------------------------------------------------------------------------------------


def read_answer_file(text: str) -> dict[str, Any] | str:
    """The settings setup takes from the answer file, or the error that stops setup (a str).

    Only components for amd64 apply (a 2012 guest is 64-bit; other architectures' components are skipped, as
    Windows Setup processes only the components of its own architecture). No DTD is read."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return f"{SETUP_PARSE_ERROR} The answer file is invalid."
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError:
        return f"{SETUP_PARSE_ERROR} The answer file is invalid."
    if root.tag != UNATTEND_NS + "unattend":
        return f"{SETUP_PARSE_ERROR} The answer file is invalid."
    found: dict[str, Any] = {}

    def component(pass_name: str, name: str) -> ET.Element | None:
        for settings in root.findall(f"{UNATTEND_NS}settings"):
            if settings.get("pass") != pass_name:
                continue
            for comp in settings.findall(f"{UNATTEND_NS}component"):
                if comp.get("name") == name and comp.get("processorArchitecture") == "amd64":
                    return comp
        return None

    def text_of(comp: ET.Element | None, path: str) -> str | None:
        if comp is None:
            return None
        node = comp.find("/".join(UNATTEND_NS + part for part in path.split("/")))
        return None if node is None else (node.text or "")

    shell = component("specialize", "Microsoft-Windows-Shell-Setup")
    name = text_of(shell, "ComputerName")
    if name is not None and name not in ("", "*"):
        if len(name.encode("utf-8")) > 15 or any(ch in _FORBIDDEN_NAME for ch in name) or name.isdigit():
            return _component_error("Microsoft-Windows-Shell-Setup")
        found["computer_name"] = name
    key = text_of(shell, "ProductKey")
    if key is not None and not _KEY.match(key):
        return _component_error("Microsoft-Windows-Shell-Setup")
    zone = text_of(shell, "TimeZone")
    if zone is not None:
        from orchestrator.rules.guest import WINDOWS_TIME_ZONES

        if zone not in WINDOWS_TIME_ZONES:
            return _component_error("Microsoft-Windows-Shell-Setup")
        found["time_zone"] = zone
    join = component("specialize", "Microsoft-Windows-UnattendedJoin")
    found["domain"] = text_of(join, "Identification/JoinDomain") or None
    found["join_account"] = _join_account_form_ok(text_of(join, "Identification/Credentials/Domain"),
                                                  text_of(join, "Identification/Credentials/Username"))
    oobe_shell = component("oobeSystem", "Microsoft-Windows-Shell-Setup")
    found["admin_password"] = text_of(oobe_shell, "UserAccounts/AdministratorPassword/Value") is not None
    return found


def _join_account_form_ok(domain: str | None, user: str | None) -> bool:
    """Whether the join account is written in a form Credentials/Domain's page describes (unattend reference,
    Applies To: Windows Server 2012): Domain with a bare Username (its example), or no Domain and a Username
    "in the user principal name (UPN) format (user@fully-qualified-DNS-domain), NetBIOS-domain\\username
    format, or the fully-qualified-DNS-domain\\username format". Any other pairing, a qualified Username with
    Domain too included, is taken to fail the join (stricter: no page says what setup does with it)."""
    if not user:
        return False
    qualified = ("\\" in user) != ("@" in user)
    bare = "\\" not in user and "@" not in user
    return (bool(domain) and bare) or (domain is None and qualified)


def _component_error(component: str) -> str:
    return (f"{SETUP_PARSE_ERROR} The settings specified in the answer file cannot be applied. The error was "
            f"detected while processing settings for component [{component}].")


# -- SetupComplete.cmd -------------------------------------------------------------------------------------

_DEL = re.compile(r'^del\s+(?:/[fq]\s+)*"?(?P<path>[^"]+?)"?(?:\s+2>nul)?$', re.IGNORECASE)
_IF_EXIST_EXIT = re.compile(r'^if\s+exist\s+"?(?P<path>[^"]+?)"?\s+exit\s+/b\s+(?P<code>\d+)$', re.IGNORECASE)
_REG_ADD = re.compile(r'^reg\s+add\s+"(?P<key>[^"]+)"\s+/v\s+(?P<name>\S+)\s+/t\s+REG_SZ\s+/d\s+(?P<data>\S+)\s+/f$',
                      re.IGNORECASE)


def _guest_path(path: str) -> str | None:
    r"""A path as the guest's cmd.exe reads it -> the volume's key (C: is the Windows partition)."""
    expanded = re.sub("%windir%", "C:\\\\Windows", path, flags=re.IGNORECASE)
    if "%" in expanded or not expanded.lower().startswith("c:\\"):
        return None
    return norm_path(expanded[2:])


def run_setup_complete(volume: dict[str, Any], text: str) -> str | None:
    """The effects of SetupComplete.cmd on the guest: the subset of cmd our template uses (`@echo off`, `rem`,
    `del`, `if exist ... exit /b`, `reg add ... REG_SZ`). A line outside it stops the script (strict: the
    simulator cannot know its effect). Returns why the script stopped early, or None."""
    files = volume["files"]
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line or line.lower() in ("@echo off",) or line.lower().startswith(("rem ", "rem\t")) or line == "rem":
            continue
        if match := _DEL.match(line):
            key = _guest_path(match["path"])
            if key is None:
                return f"SetupComplete.cmd: the simulator cannot resolve the path in: {line}"
            if files.get(key, {}).get("kind") == "file":
                del files[key]
            continue
        if match := _IF_EXIST_EXIT.match(line):
            key = _guest_path(match["path"])
            if key is None:
                return f"SetupComplete.cmd: the simulator cannot resolve the path in: {line}"
            if key in files:
                return f"SetupComplete.cmd exited with {match['code']} ({line})"
            continue
        if match := _REG_ADD.match(line):
            if match["key"].lower() != KVP_GUEST_KEY.lower():
                return f"SetupComplete.cmd: the simulator models no registry key but {KVP_GUEST_KEY}: {line}"
            volume["os"].setdefault("kvp_guest", {})[match["name"]] = match["data"]
            continue
        return f"SetupComplete.cmd: the simulator cannot model this line: {line}"
    return None


# -- what the host sees -------------------------------------------------------------------------------------


def exchange_items(host: Host, vm: VM) -> tuple[dict[str, str], dict[str, str]] | None:
    """(intrinsic items, guest items) the VM's Data Exchange shows the host; None when the simulator has no
    guest model for the VM (a VM rebuilt from facts for a dry run), so the caller falls back."""
    run = vm.guest_run
    if run is None:
        return None if vm.state == "Running" else ({}, {})
    if vm.state != "Running" or run.get("phase") not in ("oobesystem", "oobe", "ready"):
        return {}, {}
    entry = system_disk(host, vm)
    volume = volume_of(host, entry.path) if entry is not None else None
    if volume is None:
        return {}, {}
    os_state = volume["os"]
    name = str(os_state.get("computer_name") or "")
    fqdn = f"{name}.{os_state['domain']}" if os_state.get("domain") else name
    # The edition is the image's (the media the disk chain descends from, Start-VM's booted_from), not a
    # copy's: a disk moved onto another host's parent image boots what that image holds.
    edition = vm.booted_from if vm.booted_from is not None else os_state.get("edition_sku")
    intrinsic = {"FullyQualifiedDomainName": fqdn, "OSEditionId": str(edition or ""),
                 "OSVersion": "6.2.9200", "OSBuildNumber": "9200", "ProductType": "3"}
    return intrinsic, dict(os_state.get("kvp_guest") or {})
