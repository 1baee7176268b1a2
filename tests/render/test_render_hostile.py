"""Given an inventory full of hostile strings, every rendered script still parses, and each hostile value is
exactly the content of one PowerShell string literal: nothing an admin writes can become code."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from render_support import (
    HOSTILE_PAYLOADS,
    Hostile,
    assert_values_only_in_literals,
    build,
    host_with,
    iter_scripts_hostile,
    marker,
)

from orchestrator import model
from orchestrator.actions import CreateVM, TakeCheckpoint
from orchestrator.render import Renderer


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_every_template_keeps_every_hostile_value_inside_one_literal(renderer: Renderer) -> None:
    hostile = Hostile()
    seen: set[str] = set()
    labels = []
    for label, script in iter_scripts_hostile(renderer, hostile):
        labels.append(label)
        seen |= assert_values_only_in_literals(script, hostile.values)
    # The fields that do reach a template really did (the assertion above is not vacuous).
    reached = {path for path, value in hostile.by_field.items() if value in seen}
    for path in ("VMSpec.name", "VMSpec.path", "VMSpec.switch", "DiskSpec.source", "DiskSpec.iso",
                 "CheckpointPolicy.baseline", "Schedule.name", "operation.checkpoint"):
        assert path in reached, f"{path} never reached a template"
    assert len(labels) == 18  # per version: facts, apply(plan), task, all actions, enums, 1 op


def test_the_model_fields_enumerated_are_the_schema(renderer: Renderer) -> None:
    """Every string field of the inventory schema got a hostile value (a new field would too)."""
    hostile = Hostile()
    list(iter_scripts_hostile(renderer, hostile, versions=("6.3",)))
    for cls in (model.VMSpec, model.DiskSpec, model.Schedule, model.CheckpointPolicy):
        for field in dataclasses.fields(cls):
            if field.type in ("str", "str | None") or field.type.startswith("tuple[str"):
                assert f"{cls.__name__}.{field.name}" in hostile.by_field, (cls.__name__, field.name)


def test_each_payload_alone_in_a_vm_name_is_one_literal(renderer: Renderer) -> None:
    for index, payload in enumerate(HOSTILE_PAYLOADS):
        name = marker(index) + payload
        vm = model.VMSpec(name=name, cpus=2, memory=2**31, disk=model.DiskSpec("parent", source=name),
                          switch=name, path=name)
        host = host_with((vm,))
        script = renderer.render_apply(host, [CreateVM(vm), TakeCheckpoint(name, name)], "6.3")
        assert name in assert_values_only_in_literals(script, {name})


_ALPHABET = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="\ue000\ue001" + "".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32)])),
)
_TRICKY = st.sampled_from(list("'\u2018\u2019\u201a\u201b\"\u201c\u201d$`#<>@(){};|&\n\r\t -"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(st.one_of(_ALPHABET, _TRICKY), max_size=40), min_size=5, max_size=5))
def test_generated_strings_stay_literals(texts: list[str]) -> None:
    renderer = Renderer()
    name, switch, path, source, checkpoint = (marker(i) + t for i, t in enumerate(texts))
    vm = model.VMSpec(name=name, cpus=2, memory=2**31, disk=model.DiskSpec("parent", source=source),
                      switch=switch, path=path, checkpoints=model.CheckpointPolicy(baseline=checkpoint))
    host = host_with((vm,))
    values = {name, switch, path, source, checkpoint}
    script = renderer.render_apply(host, [CreateVM(vm), TakeCheckpoint(name, checkpoint)], "6.3")
    assert assert_values_only_in_literals(script, values) == values
    assert_values_only_in_literals(renderer.render_facts(host), values)


def test_hostile_builder_sees_new_fields() -> None:
    """The builder is schema-driven: a dataclass it has never seen gets hostile strings too."""

    @dataclasses.dataclass(frozen=True)
    class Future:
        label: str
        note: str | None = None

    hostile = Hostile()
    future = build(Future, hostile)
    assert future.label in hostile.values and future.note in hostile.values
