"""Parameter binding against the real signatures, with PowerShell's wording for every refusal."""

from __future__ import annotations

import pytest
from simulator_support import HEADER, create_vm, fails, lines, ok, simulator

from orchestrator.signatures import signature
from orchestrator.simulator.binder import BindingError, bind


def _bind(
    cmdlet: str, *args: tuple, version: str = "6.3", pipeline: object = None, has_pipeline: bool = False
):
    return bind(signature(cmdlet, version), list(args), pipeline, has_pipeline=has_pipeline)


def p(name: str, value: object = None, colon: bool = False) -> tuple:
    """A named argument as the interpreter hands it over: -Name value, -Switch, or -Switch:value."""
    return ("p", name, value, colon or value is not None, 1)


def test_full_names_prefixes_and_aliases() -> None:
    assert _bind("Get-VM", p("Name", "a")).params["Name"] == ["a"]
    assert _bind("Get-VM", p("Na", "a")).params["Name"] == ["a"]
    assert _bind("Export-VM", p("VMName", "a"), p("Path", "x")).params["Name"] == ["a"]
    assert (
        _bind("Restore-VMSnapshot", p("VMName", "v"), p("Name", "c"), p("cf", False, colon=True)).params[
            "Confirm"
        ]
        is False
    )
    call = _bind("Get-VM", p("ea", "SilentlyContinue"))
    assert call.params["ErrorAction"] == "SilentlyContinue"


def test_misspelled_parameter_uses_powershell_wording() -> None:
    with pytest.raises(BindingError) as err:
        _bind("Get-VM", p("Nmae", "a"))
    assert err.value.message == "A parameter cannot be found that matches parameter name 'Nmae'."


def test_ambiguous_prefix() -> None:
    with pytest.raises(BindingError) as err:
        _bind("New-VM", p("N", "x"))
    assert "is ambiguous. Possible matches include:" in err.value.message
    assert "-Name" in err.value.message and "-NewVHDPath" in err.value.message


def test_switches_and_switch_false() -> None:
    assert _bind("Stop-VM", p("Name", "a"), ("p", "Force", None, False, 1)).params["Force"] is True
    assert _bind("Stop-VM", p("Name", "a"), ("p", "Force", False, True, 1)).params["Force"] is False


def test_positional_binding_and_default_set() -> None:
    call = _bind("Rename-VMSnapshot", ("a", "old"), ("a", "vm"), ("a", "new"))
    assert (call.parameter_set, call.params["Name"], call.params["VMName"], call.params["NewName"]) == (
        "SnapshotName",
        "old",
        "vm",
        "new",
    )
    assert _bind("Get-VM").parameter_set == "Name"
    with pytest.raises(BindingError) as err:
        _bind("Get-VMHost", ("a", "one"), ("a", "two"))
    assert err.value.message == "A positional parameter cannot be found that accepts argument 'two'."


def test_missing_mandatory_parameter() -> None:
    with pytest.raises(BindingError) as err:
        _bind("Checkpoint-VM", p("SnapshotName", "x"))
    assert err.value.message == (
        "Cannot process command because of one or more missing mandatory parameters: Name."
    )


def test_missing_argument() -> None:
    with pytest.raises(BindingError) as err:
        _bind("Get-VM", ("p", "Name", None, False, 1))
    assert err.value.message == (
        "Missing an argument for parameter 'Name'. Specify a parameter of type "
        "'System.String[]' and try again."
    )


def test_parameters_of_later_windows_versions_are_unknown_on_older_hosts() -> None:
    with pytest.raises(BindingError) as err:
        _bind(
            "Export-VM",
            p("Name", "a"),
            p("Path", "x"),
            p("CaptureLiveState", "CaptureSavedState"),
            version="6.3",
        )
    assert err.value.message == "A parameter cannot be found that matches parameter name 'CaptureLiveState'."
    call = _bind(
        "Export-VM",
        p("Name", "a"),
        p("Path", "x"),
        p("CaptureLiveState", "capturesavedstate"),
        version="10.0",
    )
    assert call.params["CaptureLiveState"] == "CaptureSavedState"
    with pytest.raises(BindingError):
        _bind("New-VM", p("Name", "a"), p("Generation", 2), version="6.2")
    assert _bind("New-VM", p("Name", "a"), p("Generation", 2), version="6.3").params["Generation"] == 2


def test_validate_set_wording() -> None:
    with pytest.raises(BindingError) as err:
        _bind("Export-VM", p("Name", "a"), p("Path", "x"), p("CaptureLiveState", "Nope"), version="10.0")
    assert "does not belong to the set" in err.value.message


def test_pipeline_binding_by_value_prefers_the_exact_type() -> None:
    sim = simulator()
    create_vm(sim, "lab-01")
    ok(sim, HEADER + "Start-VM -Name 'lab-01'")
    ok(sim, HEADER + "Get-VM -Name 'lab-01' | Stop-VM -TurnOff")
    assert sim.host.vm_by_name("lab-01")[0].state == "Off"
    ok(sim, HEADER + "'lab-01' | Start-VM")
    assert sim.host.vm_by_name("lab-01")[0].state == "Running"


def test_binding_errors_in_scripts_name_the_cmdlet() -> None:
    sim = simulator()
    result = fails(sim, HEADER + "Get-VM -Nmae 'x'")
    assert result.stderr.startswith(
        "Get-VM : A parameter cannot be found that matches parameter name 'Nmae'."
    )
    result = fails(sim, HEADER + "Export-VM -Confirm:$false -Name 'x' -Path 'C:\\e' -CaptureLiveState CaptureSavedState")
    assert "matches parameter name 'CaptureLiveState'" in result.stderr
    result = fails(sim, HEADER + "Set-VMProcessor -Confirm:$false -Count 2")
    assert "missing mandatory parameters: VMName." in result.stderr


def test_get_command_reports_the_parameters_of_the_hosts_version() -> None:
    old = simulator(os_version="6.2")
    new = simulator(os_version="10.0")
    script = "(Get-Command -Name 'Export-VM').Parameters.Keys -contains 'CaptureLiveState'"
    assert lines(ok(old, script)) == ["False"]
    assert lines(ok(new, script)) == ["True"]


def test_a_2016_parameter_that_opens_its_own_set_is_not_mandatory_everywhere() -> None:
    """Get-VMHost gained a CimSession set in 2016 (CimSession mandatory there): a plain call still binds."""
    assert _bind("Get-VMHost", version="10.0").parameter_set == "__AllParameterSets"
    sets = {s.name: s for s in signature("Get-VMHost", "10.0").parameter_sets}
    assert sets["CimSession"].get("CimSession").mandatory
    assert not any(p.mandatory for p in sets["__AllParameterSets"].parameters)
    sim = simulator(os_version="10.0")
    assert lines(ok(sim, "(Get-VMHost).LogicalProcessorCount")) == ["16"]


def test_a_call_with_no_arguments_binds_as_the_full_binder_decides_every_time() -> None:
    """`Get-VM` alone fits several sets; the planned answer is the one `_bind` gives, on every call."""
    from orchestrator.simulator import binder

    sig = signature("Get-VM", "6.3")
    full = binder._bind(sig, binder.binding_index(sig), [], None, False)
    calls = [_bind("Get-VM") for _ in range(3)]
    assert {(c.cmdlet, c.parameter_set, c.pipeline_parameter) for c in calls} == {
        (full.cmdlet, full.parameter_set, full.pipeline_parameter)
    }
    assert all(c.params == {} for c in calls)
    calls[0].params["Name"] = ["changed"]
    assert _bind("Get-VM").params == {}  # each call's parameters are its own


def test_a_call_with_no_arguments_that_cannot_bind_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(BindingError) as err:
            _bind("Checkpoint-VM")
        assert err.value.error_id == "MissingMandatoryParameter"
        assert err.value.message == (
            "Cannot process command because of one or more missing mandatory parameters: Name."
        )
