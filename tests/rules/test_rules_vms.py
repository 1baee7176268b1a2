"""The MultiPoint rules over hand-built models: pure functions, no file and no host needed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from orchestrator.model import (
    CheckpointPolicy,
    Connection,
    DiskSpec,
    DynamicMemory,
    HostSpec,
    Inventory,
    Location,
    Stations,
    VMSpec,
)
from orchestrator.rules import check_host, check_inventory
from orchestrator.rules.names import name_problem, printable_problem
from orchestrator.rules.sizing import floor_for

GB = 1024**3
MB = 1024**2
DISK = DiskSpec(kind="parent", source="D:\\base.vhdx")
SIM = Connection(kind="simulator")


def vm(**changes: object) -> VMSpec:
    base = VMSpec(
        name="vm1", cpus=2, memory=2 * GB, disk=DISK, location=Location("inv.yaml", 10, 5, ("vms", 0))
    )
    return replace(base, **changes)


def host(*vms: VMSpec, **changes: object) -> HostSpec:
    return replace(HostSpec(name="hv01", connection=SIM, vms=tuple(vms)), **changes)


def problems(*vms: VMSpec, severity: str = "error") -> list[str]:
    return [f.message for f in check_host(host(*vms)) if f.severity == severity]


def test_a_sound_vm_has_no_finding() -> None:
    assert check_host(host(vm(stations=Stations(rdp=4, usb_over_ethernet=0)))) == []


def test_standard_edition_is_refused_as_guest() -> None:
    assert problems(vm(edition="standard")) == [
        "VM 'vm1' on hv01: MultiPoint Server Standard cannot run as a Hyper-V guest"
    ]


@pytest.mark.parametrize(
    ("field", "value", "choices"),
    [
        ("edition", "gold", "premium, standard"),
        ("generation", 3, "1, 2"),
        ("state", "paused", "running, off, absent"),
    ],
)
def test_values_outside_their_choices_list_them(field: str, value: object, choices: str) -> None:
    (message,) = problems(vm(**{field: value}))
    assert message.endswith(f"is not one of: {choices}")


@pytest.mark.parametrize("station", ["direct_video", "usb_zero_client", "ps2", "split_screen"])
def test_non_vm_station_types_are_refused(station: str) -> None:
    (message,) = problems(vm(stations=Stations(**{station: 1})))
    assert f"{station} stations are not supported in a VM" in message


def test_more_than_twenty_seats_suggests_a_classroom() -> None:
    assert problems(vm(cpus=6, memory=8 * GB, stations=Stations(rdp=20))) == []
    findings = [f for f in check_host(host(vm(stations=Stations(rdp=15, usb_over_ethernet=6))))]
    (error,) = [f for f in findings if f.is_error]
    assert "21 seats exceed the 20 stations" in error.message and "multipoint_classrooms" in error.fix


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"cpus": 0}, "cpus must be at least 1, not 0"),
        ({"memory": 0}, "memory must be positive"),
        ({"stations": Stations(rdp=-1)}, "station count rdp must be 0 or more"),
        ({"checkpoints": CheckpointPolicy(keep=0)}, "keep must be at least 1"),
        ({"dynamic_memory": DynamicMemory(3 * GB, 8 * GB)}, "min <= memory <= max"),
        ({"dynamic_memory": DynamicMemory(1 * GB, GB + 2 * MB)}, "min <= memory <= max"),
        ({"dynamic_memory": DynamicMemory(0, GB)}, "min and max must be positive"),
        ({"disk": None}, "no disk given"),
        ({"disk": DiskSpec(kind="new", size=0, iso="D:\\x.iso")}, "disk size must be positive"),
        ({"switch": "LAN\x07"}, "switch name contains a control"),
        ({"switch": ""}, "switch name is empty"),
        (
            {"checkpoints": CheckpointPolicy(baseline="clean\n")},
            "baseline checkpoint name contains a control",
        ),
    ],
)
def test_value_rules(changes: dict[str, object], fragment: str) -> None:
    found = problems(vm(**changes))
    assert len(found) == 1 and fragment in found[0], found


def test_dynamic_memory_bounds_are_inclusive_and_absent_vm_needs_no_disk() -> None:
    assert problems(vm(dynamic_memory=DynamicMemory(2 * GB, 2 * GB))) == []
    assert problems(vm(disk=None, state="absent")) == []


@given(st.integers(min_value=1, max_value=64 * 1024))
def test_memory_in_whole_megabytes_is_refused_exactly_when_the_count_is_odd(megabytes: int) -> None:
    found = [f for f in problems(vm(memory=megabytes * MB)) if "multiple of 2 MB" in f]
    assert bool(found) == (megabytes % 2 == 1), found


def test_an_odd_size_names_the_field_and_the_next_size_that_passes() -> None:
    where = Location("host_vars/hv01.yml", 4, 13, ("multipoint_vms", 0, "memory"))
    (finding,) = [f for f in check_host(host(vm(memory=3001 * MB, locations={"memory": where})))
                  if f.severity == "error"]
    assert finding.message == "VM 'vm1' on hv01: memory is 3001MB, not a whole multiple of 2 MB"
    assert finding.fix == "write 3002MB or another multiple of 2 MB" and finding.location == where
    dynamic = problems(vm(memory=4 * GB, dynamic_memory=DynamicMemory(GB + 1, 8 * GB)))
    assert [p for p in dynamic if "dynamic_memory min is" in p] == [
        "VM 'vm1' on hv01: dynamic_memory min is 1073741825, not a whole multiple of 2 MB"]


def test_findings_point_at_the_field_that_was_written() -> None:
    where = Location("group_vars/lab.yml", 7, 9, ("multipoint_vm_defaults", "cpus"))
    (finding,) = check_host(host(vm(cpus=0, locations={"cpus": where})))
    assert finding.location == where and finding.path == ("multipoint_vm_defaults", "cpus")
    assert finding.format().startswith("group_vars/lab.yml:7:9: error: multipoint_vm_defaults.cpus: ")
    (finding,) = check_host(host(vm(generation=7)))
    assert finding.location == Location("inv.yaml", 10, 5)  # no field location: the VM itself


def test_names_unique_per_host_ignoring_case() -> None:
    assert problems(vm(name="Lab"), vm(name="lab")) == [
        "host hv01: two VMs are named 'lab' (first at line 10)"
    ]


# -- the sizing floor ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seats", "cpus", "memory_gb"),
    [
        (0, 2, 2),
        (4, 2, 2),
        (5, 2, 4),
        (6, 2, 4),
        (7, 4, 6),
        (10, 4, 6),
        (11, 4, 8),
        (14, 4, 8),
        (15, 6, 8),
        (20, 6, 8),
    ],
)
def test_floor_table(seats: int, cpus: int, memory_gb: int) -> None:
    floor = floor_for(seats)
    assert (floor.cpus, floor.memory) == (cpus, memory_gb * GB)


def test_below_floor_is_a_warning_never_an_error() -> None:
    low = vm(cpus=4, memory=6 * GB, stations=Stations(rdp=15))
    assert problems(low) == []
    assert problems(low, severity="warning") == [
        "VM 'vm1' on hv01: 4 cpus is below the MultiPoint floor of 6 for 15 seats",
        "VM 'vm1' on hv01: memory 6GB is below the MultiPoint floor of 8GB for 15 seats",
    ]
    assert problems(vm(cpus=6, memory=8 * GB, stations=Stations(rdp=15)), severity="warning") == []


# -- names -----------------------------------------------------------------------------------------------

LEGAL_CHARS = st.sampled_from(list("abcXYZ019-_ .,'‘’‚‛“”„$;()#`&%!@+=[]{}~^éàçøßÅΩЖ中文"))


@given(st.lists(LEGAL_CHARS, min_size=1, max_size=100).map("".join))
@example(". .")  # once drawn under load: one pass of trimming left '.', which ends with a dot
def test_legal_names_are_never_refused(text: str) -> None:
    name = text
    while (trimmed := name.strip(" ").rstrip(".")) != name:  # until no edge space or trailing dot is left:
        name = trimmed  # '. .' loses its dot, then its space, then the dot that was inside
    name = name or "x"
    assert name_problem(name) is None
    assert printable_problem(name) is None


@given(st.text(min_size=0, max_size=20), st.sampled_from(list('\\/:*?"<>|')), st.text(max_size=20))
def test_forbidden_characters_are_refused(before: str, bad: str, after: str) -> None:
    assert name_problem(f"x{before}{bad}{after}x") is not None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "is empty"),
        ("x" * 101, "101 characters long"),
        ("tab\there", "control character"),
        ("new\nline", "control character"),
        (" lead", "starts or ends with a space"),
        ("trail ", "starts or ends with a space"),
        ("dot.", "ends with a dot"),
        ('say "hi"', 'contains "'),
        ("CON", "Windows device name CON"),
        ("nul.lab", "Windows device name NUL"),
        ("Com1", "Windows device name COM1"),
        ("lpt9", "Windows device name LPT9"),
    ],
)
def test_name_refusals(name: str, fragment: str) -> None:
    problem = name_problem(name)
    assert problem is not None and fragment in problem


def test_names_that_only_begin_like_a_device_are_legal() -> None:
    assert [name_problem(n) for n in ("con-01", "console", "COM10", "lpt-lab", "aux2")] == [None] * 5


def test_name_with_every_kind_of_quote_and_shell_character_is_legal() -> None:
    name = "Mme Dupré's `class` ($1; #2) ‘a’ “b” 中文"
    assert problems(vm(name=name)) == []


def test_empty_inventory_defines_no_host() -> None:
    empty = Inventory(path="inv.yaml", hosts={}, groups={}, hostvars={})
    (finding,) = check_inventory(empty)
    assert finding.message == "the inventory defines no host" and finding.location == Location(
        "inv.yaml", 1, 1
    )


@pytest.mark.parametrize("path", ["VMs\\lab", "D:VMs", "\\VMs", ".\\VMs", "\\\\nas"])
def test_a_vm_folder_that_is_not_a_full_path_is_refused(path: str) -> None:
    # WinRM's session starts in the account's profile folder, .NET methods resolve against the process's own
    # directory, and Hyper-V's service against its own: one relative path names three folders on the host.
    (problem,) = problems(vm(path=path))
    assert f"path '{path}' is not a full path" in problem


@pytest.mark.parametrize(
    "disk", [DiskSpec(kind="parent", source="images\\base.vhdx"), DiskSpec(kind="copy", source="base.vhdx"),
             DiskSpec(kind="new", size=60 * GB, iso="mps.iso")])
def test_an_image_or_iso_that_is_not_a_full_path_is_refused(disk: DiskSpec) -> None:
    (problem,) = problems(vm(disk=disk))
    assert f"disk '{disk.source or disk.iso}' is not a full path" in problem


@pytest.mark.parametrize("path", ["D:\\VMs", "d:\\", "\\\\nas\\vms\\lab", "\\\\nas.school\\vms"])
def test_full_paths_on_a_drive_or_a_share_pass(path: str) -> None:
    assert problems(vm(path=path)) == []
    assert problems(vm(disk=DiskSpec(kind="parent", source=path + "\\base.vhdx"))) == []
