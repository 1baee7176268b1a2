"""A facts document of the wrong shape is refused by name, never read as a different host.

The story: a broken proxy, a hand-edited facts file for `render`, or a host whose script went wrong prints
something that is almost a facts document. Read leniently, `"dynamic_memory": "false"` became True
(`bool("false")`), a document without `vms` became a host without VMs (so apply would create them all
again), and a deeply nested reply crashed with RecursionError. Each is a FactsError naming the field.
"""

from __future__ import annotations

import copy
import json

import pytest

from orchestrator.facts import MAX_DEPTH, FactsError, load_document, parse_facts


def document() -> dict:
    return {
        "host": {
            "os_version": "6.3.9600",
            "os_sku": 8,
            "caption": "Microsoft Windows Server 2012 R2 Datacenter",
            "computer_name": "HV01",
            "hyperv_installed": True,
            "hyperv_module": True,
            "logical_processors": 16,
            "memory_total": 64 * 1024**3,
            "memory_free": 60 * 1024**3,
        },
        "cmdlets": {"Export-VM": ["Name", "Path"]},
        "switches": ["LAN"],
        "vms": [
            {
                "name": "lab-01",
                "id": "ABC",
                "state": "Running",
                "generation": 2,
                "cpus": 4,
                "memory_startup": 8 * 1024**3,
                "dynamic_memory": False,
                "memory_minimum": 0,
                "memory_maximum": 0,
                "notes": None,
                "path": "C:\\VMs",
                "parent_checkpoint": None,
                "disks": [{"path": "C:\\VMs\\lab-01.vhdx", "parent": None}],
                "adapters": [{"name": "Network Adapter", "switch": None}],
                "checkpoints": [
                    {"name": "clean", "id": "c1", "parent": None, "created": "2026-11-25T02:00:00.1234567Z"}
                ],
            }
        ],
        "kvp": [],
        "paths": {"D:\\images\\p.vhdx": True},
        "images": {},
        "tasks": [{"name": "t", "path": "\\MultiPoint\\", "state": "Ready", "last_result": 0}],
        "moves": [],
    }


def changed(path: tuple, value) -> dict:
    doc = copy.deepcopy(document())
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def test_the_reference_document_parses():
    facts = parse_facts(document())
    vm = facts.vm("lab-01")
    assert vm is not None and vm.dynamic_memory is False and vm.switches == () and vm.notes == ""


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("vms", 0, "dynamic_memory"), "false", "vms[0] ('lab-01').dynamic_memory must be true or false"),
        (("vms", 0, "cpus"), "4", "vms[0] ('lab-01').cpus must be a number, not a string"),
        (("vms", 0, "cpus"), True, "vms[0] ('lab-01').cpus must be a number, not a boolean"),
        (("vms", 0, "memory_startup"), 1.5, "vms[0] ('lab-01').memory_startup must be a whole number"),
        (("host", "hyperv_installed"), "false", "host.hyperv_installed must be true or false"),
        (("host", "logical_processors"), "16", "host.logical_processors must be a number"),
        (("host", "os_version"), 6.3, "host.os_version must be a string"),
        (("paths", "D:\\images\\p.vhdx"), "True", "paths['D:\\\\images\\\\p.vhdx'] must be true or false"),
        (("vms", 0, "name"), ["a"], "vms[0].name must be a string, not an array"),
        (("vms", 0, "checkpoints", 0, "created"), "yesterday", "checkpoints[0].created is not a timestamp"),
        (("tasks", 0, "last_result"), "0", "tasks[0].last_result must be a number"),
        (("host",), [], "host must be an object, not an array"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_facts_error_naming_the_field(path, value, named):
    with pytest.raises(FactsError) as caught:
        parse_facts(changed(path, value))
    assert named in str(caught.value)


@pytest.mark.parametrize(
    "section", ["host", "vms", "switches", "tasks", "cmdlets", "paths", "images", "kvp", "moves"]
)
def test_a_document_without_a_section_is_refused_never_read_as_an_empty_host(section: str):
    doc = document()
    del doc[section]
    with pytest.raises(FactsError, match=f"no '{section}' section"):
        parse_facts(doc)


@pytest.mark.parametrize("field", ["cpus", "state", "memory_startup", "dynamic_memory"])
def test_a_vm_without_a_field_is_refused_by_name(field: str):
    doc = document()
    del doc["vms"][0][field]
    with pytest.raises(FactsError, match=rf"vms\[0\] \('lab-01'\)\.{field} is missing"):
        parse_facts(doc)


def test_powershell_json_quirks_are_still_undone():
    """ConvertTo-Json: a one-element array prints as the element, an empty one as null; 2012 has no
    Generation (null reads as generation 1)."""
    doc = document()
    doc["vms"] = doc["vms"][0]
    doc["vms"]["generation"] = None
    doc["switches"] = "LAN"
    doc["tasks"] = None
    facts = parse_facts(doc)
    assert facts.vm("lab-01").generation == 1 and facts.switches == ("LAN",) and facts.tasks == ()


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_a_deeply_nested_reply_is_a_named_facts_error_not_a_recursion_error(depth: int):
    text = json.dumps({"host": {}}).replace("{}", "[" * depth + "]" * depth)
    with pytest.raises(FactsError, match="nested deeper than"):
        load_document(text)


def test_brackets_inside_strings_do_not_count_as_nesting():
    doc = document()
    doc["vms"][0]["notes"] = "[" * (MAX_DEPTH * 4) + '\\"{'
    assert parse_facts(load_document(json.dumps(doc))).vm("lab-01").notes.startswith("[[[")


def test_a_wrong_value_is_never_quoted_whole_in_the_message():
    with pytest.raises(FactsError) as caught:
        parse_facts(changed(("vms", 0, "cpus"), "x" * 100_000))
    assert len(str(caught.value)) < 200
