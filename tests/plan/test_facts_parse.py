"""The facts document is parsed strictly and typed; PowerShell's JSON quirks are undone."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.facts import (
    CARRIED_OVER,
    SECTIONS,
    FactsError,
    HostFacts,
    facts_after_apply,
    load_document,
    parse_facts,
    parse_facts_json,
)

KVP_ITEM = (
    '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem">'
    '<PROPERTY NAME="Data" TYPE="string"><VALUE>77</VALUE></PROPERTY>'
    '<PROPERTY NAME="Name" TYPE="string"><VALUE>OSEditionId</VALUE></PROPERTY>'
    '<PROPERTY NAME="Source" TYPE="uint16"><VALUE>2</VALUE></PROPERTY></INSTANCE>'
)


def document(**overrides) -> dict:
    doc = {
        "host": {
            "os_version": "6.3.9600",
            "os_sku": 8,
            "caption": "Microsoft Windows Server 2012 R2 Datacenter",
            "hyperv_installed": True,
            "logical_processors": 16,
            "memory_total": 64 * 1024**3,
            "memory_free": 60 * 1024**3,
        },
        "cmdlets": {"Export-VM": ["Name", "Path"]},
        "switches": "LAN",  # ConvertTo-Json unrolls a one-element array
        "vms": {
            "name": "lab-01",
            "id": "ABC",
            "state": "Running",
            "generation": 2,
            "cpus": 4,
            "memory_startup": 8 * 1024**3,
            "dynamic_memory": False,
            "memory_minimum": 0,
            "memory_maximum": 0,
            "disks": [{"path": "C:\\VMs\\lab-01.vhdx", "parent": "D:\\images\\p.vhdx"}],
            "adapters": {"name": "Network Adapter", "switch": "LAN"},
            "checkpoints": [
                {"name": "clean", "id": "c1", "parent": None, "created": "2026-11-25T02:00:00.1234567Z"}
            ],
        },
        "kvp": [{"vm_id": "abc", "items": [KVP_ITEM]}],
        "paths": {"D:\\images\\p.vhdx": True},
        "images": {
            "D:\\images\\p.vhdx": {"index": 1, "name": "MPS", "edition_id": "ServerMultiPointPremium"}
        },
        "tasks": None,
        "moves": None,  # ConvertTo-Json prints an empty array as null
    }
    doc.update(overrides)
    return doc


def test_a_full_document_is_typed():
    facts = parse_facts(document())
    assert facts.version == "6.3" and facts.logical_processors == 16
    assert facts.switches == ("LAN",)
    vm = facts.vm("lab-01")
    assert vm is not None and vm.running and vm.switches == ("LAN",)
    assert vm.checkpoint("clean").created.year == 2026
    assert vm.guest_edition_sku == 77  # KVP matched by VM id, case-insensitively
    assert facts.image_skus("D:\\images\\p.vhdx") == (77,)
    assert facts.cmdlets["Export-VM"] == frozenset({"Name", "Path"})


def test_progress_lines_and_stray_output_before_the_document_are_ignored():
    text = '##progress {"vm": "a", "op": "export", "percent": 5}\nnoise\n' + json.dumps(document())
    assert parse_facts_json(text).vm("lab-01") is not None


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]"])
def test_output_that_is_not_a_document_is_an_error(text: str):
    with pytest.raises(FactsError):
        load_document(text)


def test_a_document_of_the_wrong_shape_is_an_error_not_an_empty_host():
    with pytest.raises(FactsError):
        parse_facts({"vms": []})
    with pytest.raises(FactsError):
        parse_facts(document(vms=[{"no_name": 1}]))


def test_after_an_apply_the_cmdlets_and_images_read_before_are_carried_over():
    before = document()
    printed = {k: v for k, v in document(vms=[]).items() if k not in ("cmdlets", "images")}
    facts = parse_facts(facts_after_apply(before, printed))
    assert facts.cmdlets["Export-VM"] == frozenset({"Name", "Path"})
    assert facts.image_skus("D:\\images\\p.vhdx") == (77,)
    assert facts.vm("lab-01") is None  # what the apply printed wins: the VM is gone


def test_after_an_apply_a_missing_vms_section_is_refused_not_taken_from_before():
    before = document()
    printed = {k: v for k, v in before.items() if k not in ("cmdlets", "images", "vms")}
    with pytest.raises(FactsError, match="no 'vms' section"):
        parse_facts(facts_after_apply(before, printed))
    assert facts_after_apply(before, None) is None  # not a document: parse_facts says so


@given(st.sets(st.sampled_from(SECTIONS), min_size=1))
def test_after_an_apply_only_the_carried_sections_may_be_missing(missing: set[str]) -> None:
    """Whatever else an apply document lacks is refused, naming a section it lacks; never read from before."""
    printed = {k: v for k, v in document(vms=[]).items() if k not in missing}
    if missing <= set(CARRIED_OVER):
        assert parse_facts(facts_after_apply(document(), printed)).vm("lab-01") is None
    else:
        with pytest.raises(FactsError, match=r"has no '(.+)' section") as refused:
            parse_facts(facts_after_apply(document(), printed))
        assert refused.match(f"no '({'|'.join(sorted(missing - set(CARRIED_OVER)))})' section")


def test_an_empty_host_for_offline_rendering_defaults_to_2012_r2():
    assert HostFacts.empty().version == "6.3"
    assert HostFacts.empty("10.0.17763").version == "10.0"
    assert not HostFacts.empty().observed


def test_kvp_items_that_do_not_parse_or_have_no_name_are_skipped_every_time() -> None:
    """The guest's exchange items as the host reports them: one per CIM-XML instance; a broken or nameless
    one is left out, each time it comes (the parse of an item's text is remembered)."""
    from orchestrator.facts import parse_kvp_items

    named = (
        '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Data" TYPE="string"><VALUE>6.2.9200'
        '</VALUE></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>OSVersion</VALUE></PROPERTY></INSTANCE>'
    )
    nameless = '<INSTANCE><PROPERTY NAME="Data" TYPE="string"><VALUE>x</VALUE></PROPERTY></INSTANCE>'
    for _ in range(2):
        assert parse_kvp_items([named, "<INSTANCE", nameless, None]) == {"OSVersion": "6.2.9200"}


@pytest.mark.parametrize(
    ("names", "culprit"),
    [(["Name", 42, "Path"], "[1]"), (["Name", None], "[1]"), ([["Name"]], "[0]"), ({"Name": 1}, "[0]")],
    ids=["a number", "a null", "a nested array", "an object"],
)
def test_a_cmdlet_parameter_that_is_not_a_string_is_named_with_its_index(names, culprit):
    with pytest.raises(FactsError) as caught:
        parse_facts(document(cmdlets={"Export-VM": names}))
    assert f"cmdlets['Export-VM']{culprit}" in str(caught.value)


def test_a_cmdlet_with_one_parameter_or_none_reads_as_powershell_prints_it():
    facts = parse_facts(document(cmdlets={"Export-VM": "Name", "Get-VM": None}))
    assert facts.cmdlets == {"Export-VM": frozenset({"Name"}), "Get-VM": frozenset()}
