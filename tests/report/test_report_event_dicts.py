"""Every JSON line is `{"event": name, **dataclasses.asdict(event)}`: Event.to_dict's fast walk of plain values
gives exactly what asdict gives, for any value an event may hold."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import events as ev


@dataclass(frozen=True)
class _Point:
    x: int
    tags: list[str]


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())
values = st.recursive(
    st.one_of(scalars, st.builds(_Point, st.integers(), st.lists(st.text(), max_size=3))),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_a_value_becomes_what_asdict_makes_of_it(value: Any) -> None:
    made = ev._plain(value)
    expected = asdict(ev._Wrapped(value))["value"]
    assert made == expected and type(made) is type(expected)


def _event_classes() -> list[type[ev.Event]]:
    found: list[type[ev.Event]] = []
    pending = list(ev.Event.__subclasses__())
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return sorted(found, key=lambda k: k.__name__)


def test_every_event_kind_is_covered() -> None:
    assert len(_event_classes()) >= 20


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_event_dict_is_its_name_and_asdict(data: st.DataObject) -> None:
    """Whatever its fields hold (any field, any value: the walk never looks at the declared types)."""
    kind = data.draw(st.sampled_from(_event_classes()))
    event = kind(**{f.name: data.draw(values) for f in fields(kind)})
    assert event.to_dict() == {"event": kind.name, **asdict(event)}
