"""Rules that need the host's facts: checked after the read-only facts script, before anything changes.

Pure functions over (HostSpec, HostFacts), like rules.py over the inventory alone. A host-level problem
(no Hyper-V role, a MultiPoint Standard host, not enough memory or CPUs) fails the whole host; a VM-level
problem (its image missing or not Premium) refuses that VM only, and the other VMs go on.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.facts import SKU_MULTIPOINT_PREMIUM, SKU_MULTIPOINT_STANDARD, HostFacts, VMFacts
from orchestrator.host_lock import LOCK_FOLDER, STATE_FOLDER_FIX, STATE_FOLDER_OWNERS
from orchestrator.model import HostSpec, VMSpec
from orchestrator.sizes import format_size
from orchestrator.windows_paths import drive_root


@dataclass(frozen=True, slots=True)
class HostProblem:
    """A reason not to touch a host (vm is None) or one VM of it."""

    message: str
    fix: str
    vm: str | None = None


def check_host(host: HostSpec, facts: HostFacts) -> list[HostProblem]:
    problems: list[HostProblem] = []
    if not facts.hyperv_installed or not facts.hyperv_module:
        problems.append(
            HostProblem(
                "the Hyper-V role (or its PowerShell module) is not installed on this host",
                "on the host, run: Install-WindowsFeature -Name Hyper-V -IncludeManagementTools -Restart",
            )
        )
    if facts.os_sku == SKU_MULTIPOINT_STANDARD:
        problems.append(
            HostProblem(
                "this host runs MultiPoint Server Standard (SKU 76), which cannot be a virtualization server",
                "use MultiPoint Server Premium (SKU 77) or Windows Server with Hyper-V as the host",
            )
        )
    problems.extend(_state_folder(facts))
    problems.extend(_capacity(host, facts))
    shared = {name.lower(): held for name, held in facts.vms.duplicates().items()}
    for vm in host.vms:
        if (held := shared.get(vm.name.lower())) is not None:
            problems.append(_name_shared(vm, held))
            continue
        if others := facts.vms.alike(vm.name):
            problems.append(_name_alike(vm, others))
            continue
        if (baseline := _baseline_alike(vm, facts)) is not None:
            problems.append(baseline)
            continue
        if (unsettled := _unsettled_state(vm, facts)) is not None:
            problems.append(unsettled)
            continue
        problems.extend(_vm_features(vm, facts))
        problems.extend(_vm_media(vm, facts))
        problems.extend(_vm_source_held(vm, facts))
        problems.extend(_vm_switch(host, vm, facts))
    return problems


def _state_folder(facts: HostFacts) -> list[HostProblem]:
    """The state folder every changing script checks first (lib/state_folder.ps1.j2): one whose owner is not
    Administrators, SYSTEM, Hyper-V Administrators or the account itself is not used there, so the host is
    refused here already, before any plan, with the same reason and what to do."""
    folder = facts.state_folder
    if folder is None:
        return []
    if folder.error:
        return [HostProblem(f"the folder {LOCK_FOLDER} could not be read: {folder.error}", STATE_FOLDER_FIX)]
    trusted = (*STATE_FOLDER_OWNERS, folder.account)
    if folder.owner in trusted:
        return []
    return [
        HostProblem(
            f"the folder {LOCK_FOLDER} is owned by {folder.owner}, not by Administrators, SYSTEM, Hyper-V "
            f"Administrators or this account ({folder.account}): its owner can change who may write there, so "
            "it is not used and nothing is changed on this host",
            STATE_FOLDER_FIX,
        )
    ]


def _name_alike(vm: VMSpec, others: tuple[VMFacts, ...]) -> HostProblem:
    """A host VM whose name is not this inventory VM's here, but may be on the host: the scripts' `-eq` is a
    linguistic comparison there (`Strasse` may equal `Straße`; orchestrator/vm_index.py), so the script could
    act on that VM, one the inventory never named. Neither is touched."""
    names = ", ".join(f"{other.name!r} {other.id}" for other in others)
    return HostProblem(
        f"the host has a VM whose name a real host's name comparison may take for {vm.name!r} ({names}); "
        "orchestrate could act on that VM instead, so it touches neither",
        "rename the inventory VM to a name that differs in more than case, accents or ligatures, or rename "
        "that VM on the host, by id: Rename-VM -VM (Get-VM -Id '<id>') -NewName '<another name>'",
        vm=vm.name,
    )


# The states a plan knows what to do with. Hyper-V's VMState has many more (Microsoft.HyperV.PowerShell.VMState:
# Other, Stopping, Paused, Starting, Reset, Saving, Pausing, Resuming, and a *Critical twin of each, as
# Microsoft's SdnDiagnostics module lists them), and no 2012 page says what Start-VM, Stop-VM or Set-VM do in
# those: a VM in one of them is left alone (fails safe), with the way out.
SETTLED_STATES = frozenset({"Running", "Off", "Saved"})


def _unsettled_state(vm: VMSpec, facts: HostFacts) -> HostProblem | None:
    observed = facts.vm(vm.name)
    if observed is None or observed.state in SETTLED_STATES:
        return None
    if observed.state == "Paused":
        # Resume-VM "resumes a suspended (paused) virtual machine" (2012: hh848525); Hyper-V itself pauses a
        # VM whose host volume ran out of space.
        return HostProblem(
            f"VM {vm.name!r} is Paused: orchestrate changes only a VM that is Running, Off or Saved, and leaves "
            "it as it is",
            "if the host's disk filled up, free space there first; then, on the host: "
            f"Resume-VM -VM (Get-VM -Id '{observed.id}')",  # by id: -Name takes wildcards (hh848525)
            vm=vm.name,
        )
    return HostProblem(
        f"VM {vm.name!r} is {observed.state} (a change of state in progress, or a critical state): orchestrate "
        "changes only a VM that is Running, Off or Saved, and leaves it as it is",
        "wait until it has settled and run again; a *Critical state usually means its storage is not "
        "reachable, so check the host's disks first",
        vm=vm.name,
    )


def _baseline_alike(vm: VMSpec, facts: HostFacts) -> HostProblem | None:
    """The VM has a checkpoint whose name a real host's `-eq` may take for the inventory's baseline: there the
    checkpoint fragment would find it, take no baseline and mark that checkpoint ours, which retention may
    later remove (facts.py `checkpoints_alike`). The VM is left alone until one of the names changes."""
    baseline = vm.checkpoints.baseline
    observed = facts.vm(vm.name)
    if not baseline or observed is None or vm.state == "absent":
        return None
    alike = observed.checkpoints_alike(baseline)
    if not alike:
        return None
    return HostProblem(
        f"VM {vm.name!r} has a checkpoint whose name a real host's name comparison may take for its baseline "
        f"{baseline!r} ({', '.join(repr(c.name) for c in alike)}); orchestrate could take that checkpoint for "
        "the baseline, so it leaves the VM alone",
        "give the baseline a name that differs in more than case, accents or ligatures, or rename that "
        "checkpoint on the host: Rename-VMSnapshot -VMName '<vm>' -Name '<checkpoint>' -NewName '<another name>'",
        vm=vm.name,
    )


def _name_shared(vm: VMSpec, held: tuple[VMFacts, ...]) -> HostProblem:
    """Two VMs on the host answer to this inventory VM's name (case aside): the scripts would act on the first
    Get-VM lists, which need not be the one the plan was made from, so neither is touched (orchestrator/
    vm_index.py). Every operation refuses it, `state: absent` included: removing the wrong one loses a VM."""
    ids = ", ".join(f"{other.name!r} {other.id}" for other in held)
    return HostProblem(
        f"{len(held)} VMs on the host are named {vm.name!r} ({ids}); orchestrate cannot tell which one the "
        "inventory means, so it touches neither",
        "on the host, rename or remove all but one of them, by id: "
        "Rename-VM -VM (Get-VM -Id '<id>') -NewName '<another name>'",
        vm=vm.name,
    )


def _vm_switch(host: HostSpec, vm: VMSpec, facts: HostFacts) -> list[HostProblem]:
    """A VM whose virtual switch the host lacks is refused before any script runs, naming the switches the
    host's facts list (Get-VMSwitch), instead of the apply failing halfway on Connect-VMNetworkAdapter or
    New-VM. Names match without regard to case, as the simulator's switch lookup does (Get-VMSwitch -Name
    takes wildcards, MicrosoftDocs windows-powershell-docs winserver2012-ps/hyper-v/Get-VMSwitch.md, and
    PowerShell's wildcards ignore case: "a* matches aA, ag, and Apple", MicrosoftDocs/PowerShell-Docs
    about_Wildcards.md): if a real host were stricter, the apply still fails there
    with the host's own error, so this check can only refuse earlier, never let more through."""
    if vm.state == "absent" or not vm.switch or not facts.observed:  # `render` judges no host's switches
        return []
    if any(vm.switch.lower() == name.lower() for name in facts.switches):
        return []
    have = ", ".join(repr(name) for name in facts.switches) or "none"
    if host.connection.kind == "simulator":
        fix = (
            f"set switch: to one of them for this VM, or add {vm.switch!r} to orchestrate_simulator.switches "
            "of this host in the inventory (a simulated host has the switches its seed lists)"
        )
    else:
        fix = f"set switch: to one of them for this VM, or create the switch on the host (New-VMSwitch -Name '{vm.switch}')"
    return [
        HostProblem(
            f"virtual switch {vm.switch!r} is not on this host (its switches: {have})",
            fix,
            vm=vm.name,
        )
    ]


def _vm_features(vm: VMSpec, facts: HostFacts) -> list[HostProblem]:
    """What the host's Windows version cannot do is said before any script runs, never as a cmdlet error."""
    if vm.state == "absent" or facts.vm(vm.name) is not None:
        return []
    if vm.generation == 2 and facts.version == "6.2":
        return [
            HostProblem(
                f"VM {vm.name!r} is generation 2, which needs Windows Server 2012 R2 or later as the host "
                f"(this host runs {facts.caption or 'Windows Server 2012'}, version {facts.os_version})",
                "set generation: 1 for this VM, or upgrade the host to Windows Server 2012 R2 or later",
                vm=vm.name,
            )
        ]
    return []


def _capacity(host: HostSpec, facts: HostFacts) -> list[HostProblem]:
    problems: list[HostProblem] = []
    if facts.logical_processors:
        for vm in host.vms:
            if vm.state != "absent" and vm.cpus > facts.logical_processors:
                problems.append(
                    HostProblem(
                        f"VM {vm.name!r} wants {vm.cpus} virtual processors but the host has only "
                        f"{facts.logical_processors} logical processors",
                        f"set cpus to at most {facts.logical_processors}",
                        vm=vm.name,
                    )
                )
    if facts.memory_total:
        to_run = [vm for vm in host.vms if vm.state == "running"]
        needed = sum(vm.memory for vm in to_run)
        # Memory the managed VMs already hold while running is available to them again.
        held = sum(
            observed.memory_startup
            for vm in to_run
            if (observed := facts.vm(vm.name)) is not None and observed.running
        )
        available = facts.memory_free + held
        if needed > available:
            problems.append(
                HostProblem(
                    f"the VMs that must run need {format_size(needed)} of memory but only "
                    f"{format_size(available)} is available on the host "
                    f"({format_size(facts.memory_total)} in all)",
                    "lower the VMs' memory, set some VMs to state: off, or move a classroom to another host",
                )
            )
    return problems


def _vm_media(vm: VMSpec, facts: HostFacts) -> list[HostProblem]:
    """Only a VM that must still be created needs its media: an existing VM is never rebuilt."""
    if vm.state == "absent" or facts.vm(vm.name) is not None or vm.disk is None:
        return []
    problems: list[HostProblem] = []
    root = drive_root(vm.path)
    if root and facts.path_exists(root) is False:
        # Join-Path and New-Item fail on a drive that does not exist ("Cannot find drive. A drive with the name
        # 'E' does not exist.": PowerShell/PowerShell#4386, osisoft/PI-Security-Audit-Tools#82, 2016), and
        # Directory.CreateDirectory on "an unmapped drive" (its .NET page): the create would fail half-way.
        problems.append(
            HostProblem(
                f"the host has no drive {root[:2]} for the VM's path {vm.path}",
                "give the VM a path on one of the host's drives, or remove `path` to use the host's default",
                vm=vm.name,
            )
        )
    image = vm.disk.image
    for path in (vm.disk.source, vm.disk.iso):
        if path and facts.path_exists(path) is False:
            problems.append(
                HostProblem(
                    f"{path} does not exist on the host",
                    "copy the image there or correct the path in the inventory",
                    vm=vm.name,
                )
            )
    if image and facts.path_exists(image):
        skus = facts.image_skus(image)
        if skus is not None and SKU_MULTIPOINT_PREMIUM not in skus:
            found = ", ".join(str(s) for s in skus) or "no MultiPoint edition"
            problems.append(
                HostProblem(
                    f"{image} does not contain MultiPoint Server Premium (SKU 77; found: {found}); "
                    "only Premium runs as a Hyper-V guest",
                    "build the VM from a sysprepped MultiPoint Server 2012 Premium image",
                    vm=vm.name,
                )
            )
    return problems


def own_disk_files(observed: VMFacts) -> tuple[str, ...]:
    """The disk files of a VM the facts show as its own: each drive's file, and the parent of a drive that is a
    checkpoint's .avhdx (or .avhd; Get-VHD.md, 2012, Example 5), which is its checkpoint file or its base disk.
    The facts read one level of each chain, so deeper files are not here: the scripts walk the whole chains
    (Find-OrchestrateChainHolder and Get-OrchestrateOwnDisks in lib/functions.ps1.j2) and refuse what this misses."""
    files: list[str] = []
    for disk in observed.disks:
        files.append(disk.path)
        if disk.parent and disk.path.lower().endswith((".avhdx", ".avhd")):
            files.append(disk.parent)
    return tuple(files)


def chain_dependents(facts: HostFacts, observed: VMFacts) -> tuple[tuple[str, str], ...]:
    """(VM name, file) for each other VM whose drive is, or stands directly on, one of `observed`'s own disk files
    (own_disk_files): removing that VM with its disks would leave the other unable to start (a differencing
    disk is read through its parents). One level of the chains, as the facts read them."""
    own = {path.lower() for path in own_disk_files(observed)}
    found: list[tuple[str, str]] = []
    for other in facts.vms.all:
        if other.id.lower() == observed.id.lower():
            continue
        for disk in other.disks:
            for path in (disk.path, disk.parent):
                if path and path.lower() in own:
                    found.append((other.name, path))
    return tuple(found)


def _vm_source_held(vm: VMSpec, facts: HostFacts) -> list[HostProblem]:
    """A new VM's `parent` or `copy_from` that is a disk of a VM on the host (its drive's file, running or not,
    or the file under its checkpoint's .avhdx): a differencing disk on it breaks the first time that VM writes,
    and a copy of it is that VM's used system. Refused before any script runs, as actions/create_vm.ps1.j2
    refuses it on the host (where the whole chains are walked; audit L M1). A shared image that is only the
    parent of other VMs' differencing disks is no VM's own, and stays allowed."""
    if vm.state == "absent" or facts.vm(vm.name) is not None or vm.disk is None or vm.disk.kind == "new":
        return []
    source = (vm.disk.source or "").lower()
    for other in facts.vms.all:
        if source and source in {path.lower() for path in own_disk_files(other)}:
            what = "parent" if vm.disk.kind == "parent" else "copy_from"
            return [
                HostProblem(
                    f"the {what} image {vm.disk.source} is a disk of VM {other.name!r} on this host (it is "
                    f"{other.state}): a VM writes to it, so a new disk made from it would break or be that "
                    "VM's used system; nothing is created",
                    "use a sysprepped image that no VM runs on as the parent or copy_from",
                    vm=vm.name,
                )
            ]
    return []
