"""Site overrides, errors that name the file and line, version adaptation, and the template set itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from render_support import action_classes, host_with

from orchestrator import actions as A
from orchestrator.capabilities import Capabilities
from orchestrator.model import Connection, DiskSpec, DynamicMemory, HostSpec, VMSpec
from orchestrator.render import Renderer, RenderError, facts_targets
from orchestrator.resources import templates_dir

VM = VMSpec(
    name="lab-01",
    cpus=4,
    memory=4 * 2**30,
    disk=DiskSpec("parent", source="D:\\images\\mps.vhdx"),
    switch="LAN",
    path="C:\\VMs",
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_action_but_the_schedules_has_a_template() -> None:
    shipped = {cls.__name__ for cls in action_classes()}
    everything = {cls.__name__ for cls in A.Action.__subclasses__()}
    assert everything - shipped <= {"ApplySchedule", "RemoveSchedule"}
    assert {
        "CreateVM",
        "SetProcessor",
        "SetMemory",
        "ConnectSwitch",
        "StopVM",
        "StartVM",
        "TakeCheckpoint",
        "RemoveVM",
    } <= shipped


def test_a_site_override_wins(tmp_path: Path) -> None:
    original = (templates_dir() / "actions/start_vm.ps1.j2").read_text(encoding="utf-8")
    _write(
        tmp_path,
        "actions/start_vm.ps1.j2",
        original.replace("Start-VM -VM $vm", "Start-VM -VM $vm -Passthru | Out-Null"),
    )
    host = host_with((VM,))
    script = Renderer(tmp_path).render_apply(host, [A.StartVM("lab-01")], "6.3")
    assert "-Passthru | Out-Null" in script
    assert "-Passthru" not in Renderer().render_apply(host, [A.StartVM("lab-01")], "6.3")


def test_a_broken_override_names_its_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "actions/stop_vm.ps1.j2", "$vmName = {{ action.vm_name }}\n{% if %}\n")
    with pytest.raises(RenderError) as info:
        Renderer(tmp_path).render_apply(host_with((VM,)), [A.StopVM("lab-01")], "6.3")
    assert info.value.file == str(path) and info.value.line == 2


def test_an_undefined_variable_names_its_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "actions/stop_vm.ps1.j2", "$vmName = {{ action.vm_name }}\n$x = {{ no_such }}\n")
    with pytest.raises(RenderError) as info:
        Renderer(tmp_path).render_apply(host_with((VM,)), [A.StopVM("lab-01")], "6.3")
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert "no_such" in info.value.message


def test_an_override_that_does_not_parse_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "actions/stop_vm.ps1.j2", "if ($x {\n")
    with pytest.raises(RenderError, match="does not parse"):
        Renderer(tmp_path).render_apply(host_with((VM,)), [A.StopVM("lab-01")], "6.3")


def test_an_override_with_a_parameter_the_version_lacks_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "actions/stop_vm.ps1.j2",
        "Export-VM -Name 'x' -Path 'D:\\e' -CaptureLiveState 'CaptureSavedState'\n",
    )
    host = host_with((VM,))
    with pytest.raises(RenderError, match="CaptureLiveState"):
        Renderer(tmp_path).render_apply(host, [A.StopVM("lab-01")], "6.3")
    assert "-CaptureLiveState" in Renderer(tmp_path).render_apply(host, [A.StopVM("lab-01")], "10.0")


def test_a_missing_template_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as info:
        Renderer(tmp_path / "nope")
    assert info.value.file == str(tmp_path / "nope")


def test_a_missing_template_names_it() -> None:
    with pytest.raises(RenderError) as info:
        Renderer().render_operation("operations/no_such.ps1.j2", host_with((VM,)), "6.3")
    assert info.value.file == "operations/no_such.ps1.j2"


def test_a_nul_byte_is_refused_with_the_template_line() -> None:
    vm = VMSpec(name="bad\x00name", cpus=2, memory=2**31, disk=None)
    with pytest.raises(RenderError) as info:
        Renderer().render_apply(host_with((vm,)), [A.StartVM(vm.name)], "6.3")
    assert "U+0000" in info.value.message and info.value.file.endswith(".j2") and info.value.line


def test_generation_2_on_2012_is_refused() -> None:
    with pytest.raises(RenderError, match="generation 2"):
        Renderer().render_apply(host_with((VM,)), [A.CreateVM(VM)], "6.2")
    gen1 = VMSpec(name="g1", cpus=1, memory=2**30, disk=None, generation=1)
    script = Renderer().render_apply(host_with((gen1,)), [A.CreateVM(gen1)], "6.2")
    assert "-NoVHD" in script and "-Generation" not in script


def test_capabilities_prefer_the_host_facts() -> None:
    assert not Capabilities("6.3").has("Export-VM", "CaptureLiveState")
    assert Capabilities("10.0").has("Export-VM", "CaptureLiveState")
    assert Capabilities(None).version == "6.3"
    observed = Capabilities("6.3", {"Export-VM": {"Name", "Path", "CaptureLiveState"}})
    assert observed.has("export-vm", "capturelivestate") and not observed.has("Export-VM", "AsJob")
    assert not Capabilities("10.0").has("No-Such", "Name")


def test_templates_can_ask_for_capabilities(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "operations/probe.ps1.j2",
        "{% extends 'lib/script.ps1.j2' %}{% block body %}"
        "$result = [ordered]@{ live = {{ caps.has('Export-VM', 'CaptureLiveState') }} }\n{% endblock %}",
    )
    renderer = Renderer(tmp_path)
    host = host_with((VM,))
    assert "live = $false" in renderer.render_operation("operations/probe.ps1.j2", host, None)
    assert "live = $true" in renderer.render_operation("operations/probe.ps1.j2", host, "10.0.17763")
    assert "live = $true" in renderer.render_operation(
        "operations/probe.ps1.j2", host, "6.3", cmdlets={"Export-VM": ["CaptureLiveState"]}
    )


def test_facts_check_what_the_inventory_names_once() -> None:
    vms = (
        VMSpec(
            name="a", cpus=1, memory=2**30, path="C:\\VMs", disk=DiskSpec("parent", source="D:\\img.vhdx")
        ),
        VMSpec(
            name="b",
            cpus=1,
            memory=2**30,
            path="c:\\vms",
            disk=DiskSpec("new", size=2**35, iso="D:\\mps.iso"),
        ),
        VMSpec(
            name="c",
            cpus=1,
            memory=2**30,
            disk=DiskSpec("copy_from", source="D:\\IMG.vhdx"),
            dynamic_memory=DynamicMemory(2**29, 2**33),
        ),
    )
    host = HostSpec(name="h", connection=Connection(), vms=vms)
    paths, images = facts_targets(host)
    # A VM's own folder comes with its drive (the create makes a folder, never a drive).
    assert paths == ["C:\\VMs", "C:\\", "D:\\img.vhdx", "D:\\mps.iso"]
    assert images == ["D:\\img.vhdx", "D:\\mps.iso"]
    script = Renderer().render_facts(host)
    assert "@('C:\\VMs', 'C:\\', 'D:\\img.vhdx', 'D:\\mps.iso')" in script


def test_what_a_template_builds_is_code_and_what_it_is_given_is_a_value(tmp_path: Path) -> None:
    """The environment's rule, seen from a template author's side."""
    _write(tmp_path, "operations/rules.ps1.j2",
           "{% extends 'lib/script.ps1.j2' %}\n"
           "{% macro flag() %}-Force{% endmacro %}\n"
           "{% block body %}\n"
           "{% set switch %}-TurnOff{% endset %}\n"
           "Stop-VM -Name {{ name }} {{ flag() }} {{ switch }}\n"
           "$a = {{ '-Force' }}\n"
           "$b = {{ 'x' ~ name }}\n"
           "$c = {{ sizes }}\n"
           "$result = [ordered]@{ ok = $true }\n"
           "{% endblock %}\n")
    script = Renderer(tmp_path).render_operation(
        "operations/rules.ps1.j2", host_with((VM,)), "6.3", name="a'; b", sizes={"ram": 2**33, "on": True})
    assert "Stop-VM -Name 'a''; b' -Force -TurnOff\n" in script
    assert "$a = '-Force'\n" in script
    assert "$b = 'xa''; b'\n" in script
    assert "$c = @{'ram' = 8589934592; 'on' = $true}\n" in script


def test_a_secret_is_refused_even_if_a_template_asks_for_it(tmp_path: Path) -> None:
    _write(tmp_path, "operations/leak.ps1.j2", "$p = {{ host.connection.password }}\n")
    with pytest.raises(RenderError, match="secret") as info:
        Renderer(tmp_path).render_operation("operations/leak.ps1.j2", host_with((VM,)), "6.3")
    assert "S3cr3t-pw!" not in str(info.value)
    assert info.value.line == 1


def test_an_expression_python_cannot_evaluate_names_the_override_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "actions/stop_vm.ps1.j2", "$vmName = {{ action.vm_name }}\n\n$n = {{ 1 + 'x' }}\n")
    with pytest.raises(RenderError) as info:
        Renderer(tmp_path).render_apply(host_with((VM,)), [A.StopVM("lab-01")], "6.3")
    assert (info.value.file, info.value.line) == (str(path), 3) and "TypeError" in info.value.message


@pytest.mark.parametrize("confirm", [True, False])
def test_export_and_compare_vm_get_confirm_false_exactly_where_the_host_has_it(confirm: bool) -> None:
    # Audit J M1/M2: Export-VM's 2012 page lists no -Confirm (only the data's inference gives it one), and
    # Compare-VM's lists it with no ConfirmImpact: each call passes -Confirm:$false where the host's own
    # Get-Command shows -Confirm, and nothing where it does not (no ShouldProcess, so no prompt to answer).
    params = {"Export-VM": ["Name", "Path", "AsJob", "Passthru"], "Compare-VM": ["Path", "Copy", "GenerateNewId",
                                                                              "VirtualMachinePath", "VhdDestinationPath",
                                                                              "SnapshotFilePath", "SmartPagingFilePath",
                                                                              "CompatibilityReport"]}
    if confirm:
        params = {name: [*names, "Confirm", "WhatIf"] for name, names in params.items()}
    host = host_with((VM,))
    actions = [A.ExportVM(VM.name, "D:\\exports", "D:\\exports\\lab-01\\20261207T000000000Z"),
               A.ImportVM("D:\\exports\\lab-01\\20261207T000000000Z", "copy")]
    script = Renderer().render_apply(host, actions, "6.2.9200", cmdlets=params)
    calls = [line for line in script.splitlines() if "= Compare-VM -" in line or "| Export-VM -Path" in line]
    assert len(calls) == 8  # six Compare-VM -Path, the repaired report's second Compare-VM, one Export-VM
    assert all(line.rstrip().endswith("-Confirm:$false") == confirm for line in calls), calls
    # audit J L1: a copy's checkpoint and smart paging files go with the VM, not to the host's default drive
    copies = [line for line in script.splitlines() if "-Copy" in line and ("Import-VM" in line or "Compare-VM" in line)
              and "$VmFolder" in line]
    assert len(copies) == 4 and all("-SnapshotFilePath $VmFolder -SmartPagingFilePath $VmFolder" in c for c in copies)
