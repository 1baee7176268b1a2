"""Windows-level cmdlets the facts script reads: features, install media, CIM classes, modules and commands.

A running VM whose disk descends from install media reports that media's edition through the KVP exchange
(Msvm_KvpExchangeComponent.GuestIntrinsicExchangeItems: OSName, OSEditionId), as a real guest does once it
has booted; an Off VM reports nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from orchestrator.signatures import available, cmdlet_names
from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host import guest
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import EDITION_NAMES, VM
from orchestrator.simulator.host.registry import CMDLETS, CmdletError, cmdlet, host_signature
from orchestrator.simulator.language.values import PSEnum, PSHashtable, PSObject, like, to_string

CIMV2 = "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/"
V2 = "Microsoft.Management.Infrastructure.CimInstance#root/virtualization/v2/"
HYPERV_MODULE_VERSIONS = {"6.2": "1.0", "6.3": "1.1", "10.0": "2.0.0.0"}


@cmdlet("Get-WindowsFeature", "ServerManager")
def get_windows_feature(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    features = {"Hyper-V": ("Hyper-V", ctx.host.hyperv_installed),
                "Hyper-V-PowerShell": ("Hyper-V Module for Windows PowerShell", ctx.host.hyperv_installed)}
    names = call.get("Name") or list(features)
    out = []
    for name in names:
        for key, (display, installed) in features.items():
            if like(key, name):
                out.append(PSObject({"Name": key, "DisplayName": display, "Installed": installed,
                                     "InstallState": PSEnum("Microsoft.Windows.ServerManager.Commands.InstallState",
                                                            "Installed" if installed else "Available",
                                                            1 if installed else 0),
                                     "FeatureType": "Role" if key == "Hyper-V" else "Feature"},
                                    "Microsoft.Windows.ServerManager.Commands.Feature"))
    return out


@cmdlet("Get-WindowsImage", "Dism")
def get_windows_image(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    path = call.get("ImagePath")
    entry = ctx.fs.get(path)
    if entry is None or entry.kind != "file":
        raise CmdletError("The system cannot find the file specified.", "Microsoft.Dism.Commands.GetWindowsImageCommand",
                          "NotSpecified", path)
    if not entry.path.lower().endswith((".wim", ".esd", ".vhd", ".vhdx", ".ffu")):
        # DISM reads WIM/ESD files and virtual disks, not ISOs: an ISO must be mounted first.
        raise CmdletError("An error occurred while attempting to open the image: the file is not a Windows image "
                          "(WIM, ESD, VHD or VHDX). Mount an ISO and read its sources\\install.wim instead.",
                          "Microsoft.Dism.Commands.GetWindowsImageCommand", "NotSpecified", path)
    if entry.edition_sku is None:
        raise CmdletError("An error occurred while attempting to open the image. The image does not contain a Windows "
                          "installation.", "Microsoft.Dism.Commands.GetWindowsImageCommand", "NotSpecified", path)
    edition_id, name = EDITION_NAMES.get(entry.edition_sku, (f"Sku{entry.edition_sku}", f"Edition {entry.edition_sku}"))
    props: dict[str, Any] = {"ImagePath": entry.path, "ImageIndex": 1, "ImageName": name,
                             "ImageDescription": name, "ImageSize": entry.size}
    if call.has("Index"):
        if int(call.get("Index")) != 1:
            raise CmdletError("The specified image index does not exist in the image file.",
                              "Microsoft.Dism.Commands.GetWindowsImageCommand", "NotSpecified", path)
        props.update({"EditionId": edition_id, "Version": "6.2.9200", "Architecture": 9, "InstallationType": "Server",
                      "ProductType": "ServerNT", "Languages": ["en-US"]})
    return [PSObject(props, "Microsoft.Dism.Commands.WimImageInfoObject" if call.has("Index") else
                     "Microsoft.Dism.Commands.BasicImageInfoObject")]


def kvp_items(ctx: HostContext, vm: VM, pool: str = "intrinsic") -> list[str]:
    r"""The VM's Data Exchange items as Msvm_KvpExchangeDataItem XML: the intrinsic pool, or (`pool="guest"`)
    the values the guest wrote under HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest (host/guest.py)."""
    modelled = guest.exchange_items(ctx.host, vm)
    if modelled is not None:
        intrinsic, written = modelled
        values = dict(written) if pool == "guest" else dict(intrinsic)
        sku = values.get("OSEditionId")
        if sku and sku.isdigit():
            values["OSName"] = EDITION_NAMES.get(int(sku), (f"Sku{sku}", f"Edition {sku}"))[1]
        return _kvp_xml(values, source=1 if pool == "guest" else 2)
    assumed = ctx.host.assumed_guests.get(vm.id.lower()) if vm.state == "Running" else None
    if assumed is not None:  # a preflight copy: the guest in setup reports as planned (model.Host)
        ready_name, token, computer_name, edition = assumed
        if pool == "guest":
            return _kvp_xml({ready_name: token}, source=1)
        return _kvp_xml({"FullyQualifiedDomainName": computer_name, "OSEditionId": edition}, source=2)
    if pool == "guest" or vm.state != "Running" or vm.booted_from is None:
        return []
    _edition_id, name = EDITION_NAMES.get(vm.booted_from, (f"Sku{vm.booted_from}", f"Edition {vm.booted_from}"))
    values = {"FullyQualifiedDomainName": vm.name.upper(), "OSName": name, "OSVersion": "6.2.9200",
              "OSEditionId": str(vm.booted_from), "ProductType": "3", "OSBuildNumber": "9200"}
    return _kvp_xml(values, source=2)


def _kvp_xml(values: dict[str, str], source: int) -> list[str]:
    """Msvm_KvpExchangeDataItem instances as the items' embedded-instance XML (MicrosoftDocs/win32
    desktop-src/Virtual/msvm-kvpexchangedataitem.md: Caption, Data, Description, ElementName, Name, Source)."""
    return [
        '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Caption" PROPAGATED="true" TYPE="string">'
        '</PROPERTY><PROPERTY NAME="Data" TYPE="string"><VALUE>' + _xml(value) + '</VALUE></PROPERTY>'
        '<PROPERTY NAME="Description" PROPAGATED="true" TYPE="string"></PROPERTY><PROPERTY NAME="ElementName" '
        'PROPAGATED="true" TYPE="string"></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>' + key +
        '</VALUE></PROPERTY><PROPERTY NAME="Source" TYPE="uint16"><VALUE>' + str(source) + '</VALUE></PROPERTY>'
        '</INSTANCE>'
        for key, value in values.items()
    ]


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@cmdlet("Get-CimInstance", "CimCmdlets")
def get_cim_instance(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.parameter_set != "ClassNameComputerSet":
        raise CmdletError("The simulator supports Get-CimInstance -ClassName [-Namespace] [-Filter] only.",
                          "NotSupported", "NotImplemented", terminating=True)
    cls = to_string(call.get("ClassName")).lower()
    namespace = to_string(call.get("Namespace") or "root\\cimv2").lower().replace("/", "\\")
    host = ctx.host
    if namespace == "root\\cimv2" and cls == "win32_operatingsystem":
        objs = [PSObject({
            "Caption": host.caption, "Version": host.os_build, "BuildNumber": host.os_build.rsplit(".", 1)[-1],
            "OperatingSystemSKU": host.os_sku, "CSName": host.name, "TotalVisibleMemorySize": host.memory // 1024,
            "FreePhysicalMemory": host.free_memory() // 1024, "ProductType": 3, "OSArchitecture": "64-bit",
        }, CIMV2 + "Win32_OperatingSystem")]
    elif namespace == "root\\cimv2" and cls == "win32_computersystem":
        objs = [PSObject({"Name": host.name, "NumberOfLogicalProcessors": host.logical_processors,
                          "TotalPhysicalMemory": host.memory, "Domain": "WORKGROUP", "Manufacturer": "Simulated",
                          "Model": "Hyper-V host"}, CIMV2 + "Win32_ComputerSystem")]
    elif namespace == "root\\virtualization\\v2" and cls == "msvm_kvpexchangecomponent":
        if not host.hyperv_installed:
            raise CmdletError("Invalid namespace ", "HRESULT 0x8004100e", "MetadataError", terminating=True)
        objs = [PSObject({"SystemName": vm.id.upper(), "ElementName": "Key-Value Pair Exchange",
                          "GuestIntrinsicExchangeItems": kvp_items(ctx, vm),
                          "GuestExchangeItems": kvp_items(ctx, vm, "guest")},
                         V2 + "Msvm_KvpExchangeComponent")
                for vm in sorted(host.vms.values(), key=lambda v: v.name.lower())]
    elif namespace == "root\\virtualization\\v2" and cls == "msvm_computersystem":
        objs = [PSObject({"Name": vm.id.upper(), "ElementName": vm.name, "EnabledState": 2 if vm.state == "Running"
                          else 3}, V2 + "Msvm_ComputerSystem") for vm in host.vms.values()]
    else:
        raise CmdletError("Invalid class ", "HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets."
                          "GetCimInstanceCommand", "MetadataError", terminating=True)
    if call.has("Filter"):
        objs = [o for o in objs if _wql_match(o, to_string(call.get("Filter")))]
    return objs


def _wql_match(obj: PSObject, flt: str) -> bool:
    """A WQL filter of the form `Prop = 'value'` (what the templates need); anything else is refused."""
    import re

    m = re.fullmatch(r"\s*(\w+)\s*=\s*'([^']*)'\s*", flt) or re.fullmatch(r'\s*(\w+)\s*=\s*"([^"]*)"\s*', flt)
    if not m:
        raise CmdletError(f"The simulator supports only `Property = 'value'` filters, not: {flt}", "NotSupported",
                          "NotImplemented", terminating=True)
    return to_string(obj.get(m.group(1))).lower() == m.group(2).lower()


def _module_of(name: str) -> str | None:
    entry = CMDLETS.get(name.lower())
    return entry.module if entry else None


@cmdlet("Get-HotFix", "Microsoft.PowerShell.Management")
def get_hotfix(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """The host's updates as Win32_QuickFixEngineering lists them (reference/3.0/Microsoft.PowerShell.Management/
    Get-HotFix.md: -Id "Filters the Get-HotFix results for specific hotfix Ids. Wildcards aren't accepted").
    An -Id the host lacks is a non-terminating error, whose text is unverified (the page's Example 3 only
    tests the output's absence), so a script asks with -ErrorAction SilentlyContinue and counts what came."""
    if call.has("ComputerName") or call.has("Credential") or call.has("Description"):
        raise CmdletError("The simulator supports Get-HotFix [-Id] on the local computer only.", "NotSupported",
                          "NotImplemented", terminating=True)
    installed = {h.upper(): h for h in ctx.host.hotfixes}
    wanted = [to_string(i) for i in (call.get("Id") or [])] if call.has("Id") else list(installed.values())
    out = [PSObject({"Source": ctx.host.name, "Description": "Hotfix", "HotFixID": installed[h.upper()],
                     "InstalledBy": "NT AUTHORITY\\SYSTEM", "InstalledOn": None},
                    "System.Management.ManagementObject#root\\cimv2\\Win32_QuickFixEngineering")
           for h in wanted if h.upper() in installed]
    missing = [h for h in wanted if h.upper() not in installed]
    if missing:
        raise CmdletError(f"Cannot find the requested hotfix on the '{ctx.host.name}' computer. Verify the input "
                          "and run the command again.", "GetHotFixNoEntriesFound", "ObjectNotFound", output=out)
    return out


@cmdlet("Get-Module", "Microsoft.PowerShell.Core")
def get_module(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    modules = {"ScheduledTasks": "1.0.0.0", "Dism": "3.0", "ServerManager": "2.0.0.0", "CimCmdlets": "1.0.0.0"}
    if ctx.host.hyperv_installed:
        modules["Hyper-V"] = HYPERV_MODULE_VERSIONS.get(ctx.host.os_version, "1.1")
    names = call.get("Name") or list(modules)
    out = []
    for name in names:
        for mod, version in modules.items():
            if like(mod, name):
                out.append(PSObject({"Name": mod, "Version": version, "ModuleType": "Manifest",
                                     "Path": f"C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules\\{mod}\\{mod}.psd1"},
                                    "System.Management.Automation.PSModuleInfo", text=mod))
    return out


@functools.cache
def _command_info(name: str, version: str, os_version: str,
                  without: frozenset[str] = frozenset()) -> tuple[PSHashtable, tuple[str, ...]]:
    """(Get-Command X).Parameters and its parameter set names on a host of `os_version` whose X is as on
    `version` (Host.cmdlet_version), less the parameters in `without` (Host.cmdlet_lacks); callers get a copy
    of the table."""
    sig = host_signature(name, version, os_version, without)
    names = sorted(sig.parameter_names(), key=str.lower)
    table = PSHashtable.from_unique_strings(
        (p, PSObject({"Name": p}, "System.Management.Automation.ParameterMetadata", text=p)) for p in names
    )
    return table, tuple(s.name for s in sig.parameter_sets)


@functools.cache
def _known_cmdlets() -> dict[str, str]:
    return {n.lower(): n for n in cmdlet_names() if n.lower() in CMDLETS}


@cmdlet("Get-Command", "Microsoft.PowerShell.Core")
def get_command(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """Each name in turn; a name that matches nothing writes the "not recognized" error and the others still
    come out. PowerShell's own source (PowerShell/PowerShell src/System.Management.Automation/engine/
    GetCommandCommand.cs, AccumulateMatchingCommands): a literal name without a match gets WriteError with a
    CommandNotFoundException (DiscoveryExceptions.resx words) and the loop goes on; the matches are only
    written in EndProcessing. So an -ErrorAction Stop ends the call before anything is written, and
    SilentlyContinue gives every match; a wildcard that matches nothing is no error. Only the first
    missing name's error is written here, where Windows writes one per name: what $Error holds differs, what
    the caller gets does not. The -Name parameter takes String[] (MicrosoftDocs/PowerShell-Docs
    reference/3.0/Microsoft.PowerShell.Core/Get-Command.md)."""
    names = call.get("Name") or []
    known = _known_cmdlets()
    out = []
    missing: CmdletError | None = None
    for name in names:
        if any(ch in name for ch in "*?["):
            matches = [n for k, n in known.items() if like(k, name)]
        else:
            exact = known.get(name.lower())
            matches = [exact] if exact else []
        matches = [n for n in matches if ctx.host.hyperv_installed or _module_of(n) != "Hyper-V"]
        matches = [n for n in matches if available(n, ctx.host.cmdlet_version(n))]
        if not matches:
            if any(ch in name for ch in "*?"):
                continue
            missing = missing or CmdletError(
                f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
                "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
                "and try again.", "CommandNotFoundException", "ObjectNotFound", name)
            continue
        for match in sorted(matches):
            table, set_names = _command_info(match, ctx.host.cmdlet_version(match), ctx.host.os_version,
                                             ctx.host.cmdlet_lacks(match))
            params = table.copy()
            out.append(PSObject({"Name": match, "CommandType": PSEnum("System.Management.Automation.CommandTypes",
                                                                        "Cmdlet", 8),
                                 "ModuleName": _module_of(match) or "", "Parameters": params,
                                 "ParameterSets": list(set_names)},
                                "System.Management.Automation.CmdletInfo", text=match))
    if missing is not None:
        missing.output = out
        raise missing
    return out
