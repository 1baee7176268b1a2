"""The line-tracking safe YAML loader: every value knows its file, line, column and key path."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.inventory.yaml_source import TList, TMap, YamlProblem, load_yaml

TEXT = """\
all:
  vars:
    base: &base {a: 1, b: [x, y]}
  hosts:
    hv01:
      <<: *base
      b: override
      port: 5986
      on: yes
      raw: !unsafe "{{ not templated }}"
"""


def test_values_and_their_origins() -> None:
    data = load_yaml(TEXT, "inv.yaml")
    host = data["all"]["hosts"]["hv01"]
    assert isinstance(host, TMap) and isinstance(data["all"]["vars"]["base"]["b"], TList)
    assert host == {"b": "override", "port": 5986, True: True, "raw": "{{ not templated }}", "a": 1}
    origin = host.origin_of("port")
    assert (origin.file, origin.line, origin.column) == ("inv.yaml", 8, 13)
    assert origin.path == ("all", "hosts", "hv01", "port")
    key = host.key_origins["port"]
    assert (key.line, key.column, key.path) == (8, 7, ("all", "hosts", "hv01", "port"))
    items = data["all"]["vars"]["base"]["b"]
    assert [(o.line, o.column, o.path[-1]) for o in items.item_origins] == [(3, 28, 0), (3, 31, 1)]


def test_merged_keys_keep_their_own_origin() -> None:
    host = load_yaml(TEXT, "inv.yaml")["all"]["hosts"]["hv01"]
    assert host.origin_of("a").line == 3  # written in the anchor, merged into the host


def test_a_duplicate_key_takes_the_last_value_in_the_first_place() -> None:
    """As PyYAML's constructor (so Ansible's loader) builds the dict; the warning is the caller's."""
    data = load_yaml("a: 1\nb: 2\na: 3\n", "f")
    assert list(data.items()) == [("a", 3), ("b", 2)]
    assert data.origin_of("a").line == 3


def test_anchors_are_shared_not_copied() -> None:
    data = load_yaml("a: &x [1, 2]\nb: *x\nc: *x\n", "f")
    assert data["b"] is data["a"] is data["c"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: *nope\n", 1, "unknown alias *nope"),
        ("? [1, 2]\n: x\n", 1, "a mapping key must be a plain value"),
        ("a: !!set {x}\n", 1, "unsupported YAML tag"),
        ("a: !custom x\n", 1, "unsupported YAML tag !custom"),
        ("a:\n  <<: [1, 2]\n", 2, "a merge key '<<' needs a mapping"),
    ],
)
def test_refusals(text: str, line: int, fragment: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        load_yaml(text, "f.yaml")
    assert caught.value.origin.line == line and fragment in caught.value.message


def test_empty_and_scalar_documents() -> None:
    assert load_yaml("", "f") is None
    assert load_yaml("# only a comment\n", "f") is None
    assert load_yaml("--- 42\n", "f") == 42


def test_a_repeated_scalar_keeps_its_meaning_and_its_own_place() -> None:
    # The builder reads each distinct scalar once (issue 18); where it stands still decides what it is.
    text = (
        "2024-01-02: 2024-01-02\n"  # a date as a key stays its text; as a value it is a date
        "a: 2024-01-02\n"
        "b: !unsafe '{{ x }}'\n"
        "c: !unsafe '{{ x }}'\n"
        "d: [yes, 'yes', yes]\n"
    )
    data = load_yaml(text, "f.yaml")
    assert list(data) == ["2024-01-02", "a", "b", "c", "d"]
    assert str(data["2024-01-02"]) == "2024-01-02" and not isinstance(data["2024-01-02"], str)
    assert data["a"] == data["2024-01-02"]
    assert data["b"] == data["c"] == "{{ x }}"
    assert data["d"] == [True, "yes", True]
    assert [(o.line, o.column) for o in data["d"].item_origins] == [(5, 5), (5, 10), (5, 17)]
    assert [data.origin_of(k).line for k in ("a", "b", "c")] == [2, 3, 4]


def test_a_merge_key_text_as_a_value_is_refused_after_a_merge() -> None:
    # `<<` is a merge only as a key: as a value it is refused each time, never taken from an earlier read.
    with pytest.raises(YamlProblem) as caught:
        load_yaml("base: &b {x: 1}\nhost:\n  <<: *b\n  y: <<\n", "f.yaml")
    assert caught.value.origin.line == 4 and "unsupported YAML tag" in caught.value.message


_SAFE_TAGS = ("str", "int", "float", "bool", "null", "timestamp", "binary")


@settings(max_examples=300, deadline=None)
@given(tag=st.sampled_from(_SAFE_TAGS), text=st.text(st.characters(codec="ascii", exclude_categories=("Cc",))))
def test_any_text_under_any_safe_tag_is_a_value_or_a_finding_never_a_crash(tag: str, text: str) -> None:
    """An admin who tags a value (`x: !!bool maybe`) gets what PyYAML's SafeLoader reads, or a YamlProblem
    at the value's line: PyYAML itself answers some of these with a KeyError or AttributeError."""
    document = f"x: !!{tag} {json.dumps(text)}\n"
    try:
        expected = yaml.load(document, Loader=yaml.SafeLoader)["x"]
    except Exception:  # any refusal of PyYAML's must be ours too, as a finding
        with pytest.raises(YamlProblem) as refused:
            load_yaml(document, "inv.yaml")
        assert refused.value.origin.line == 1
        assert "cannot read the value" in str(refused.value)
        return
    made = load_yaml(document, "inv.yaml")["x"]
    assert made == expected or (made != made and expected != expected)  # !!float .nan is nan both ways
