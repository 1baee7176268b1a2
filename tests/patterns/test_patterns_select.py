"""--limit patterns select the hosts Ansible would select, in inventory order; no match is an error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from patterns_layouts import Layout, oracle_hosts, random_layout

from orchestrator.patterns import PatternError, select_hosts, select_names, split_pattern, unmatched_terms

SCHOOL = Layout(
    hosts=("hv1", "hv2", "hv10", "lab-a", "lab-b", "web.school.local", "spare"),
    groups={
        "classrooms": ((), ("room_a", "room_b")),
        "room_a": (("hv1", "hv2"), ()),
        "room_b": (("hv10",), ("labs",)),
        "labs": (("lab-a", "lab-b"), ()),
        "web": (("web.school.local",), ()),
    },
)


@pytest.fixture(params=[False, True], ids=["implicit-all", "explicit-all"])
def school(request):
    return SCHOOL.to_model("school.yaml", with_all_group=request.param)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (None, ["hv1", "hv2", "hv10", "lab-a", "lab-b", "web.school.local", "spare"]),
        ("all", ["hv1", "hv2", "hv10", "lab-a", "lab-b", "web.school.local", "spare"]),
        ("*", ["hv1", "hv2", "hv10", "lab-a", "lab-b", "web.school.local", "spare"]),
        ("hv2", ["hv2"]),
        ("classrooms", ["hv1", "hv2", "hv10", "lab-a", "lab-b"]),  # children, recursively
        ("room_b", ["hv10", "lab-a", "lab-b"]),
        ("hv?", ["hv1", "hv2"]),
        ("hv*", ["hv1", "hv2", "hv10"]),
        ("lab-?", ["lab-a", "lab-b"]),
        ("web,hv1", ["hv1", "web.school.local"]),  # inventory order, not pattern order
        ("web:hv1", ["hv1", "web.school.local"]),
        ("classrooms,!labs", ["hv1", "hv2", "hv10"]),
        ("!labs,classrooms", ["hv1", "hv2", "hv10"]),  # exclusions apply last wherever written
        ("classrooms:&hv*", ["hv1", "hv2", "hv10"]),
        ("!classrooms", ["web.school.local", "spare"]),  # only exclusions start from all
        ("~hv[0-9]+$", ["hv1", "hv2", "hv10"]),
        ("~lab", ["lab-a", "lab-b"]),  # regexes match from the start of the name
        ("ungrouped", ["spare"]),
        ("classrooms[0]", ["hv1"]),
        ("classrooms[1:2]", ["hv2", "hv10"]),
        ("classrooms[-1]", ["lab-b"]),
        ("classrooms[3:]", ["lab-a", "lab-b"]),
        ("  hv1 , hv2  ", ["hv1", "hv2"]),
    ],
)
def test_admin_limits_a_run_to_the_hosts_a_pattern_names(school, pattern, expected):
    assert select_hosts(school, pattern) == expected


@pytest.mark.parametrize("pattern", ["nope", "hv9*", "web,!web", "room_a:&labs", "~^zz"])
def test_a_pattern_that_selects_nothing_is_an_error_naming_it(school, pattern):
    with pytest.raises(PatternError, match="matches no host") as caught:
        select_hosts(school, pattern)
    assert repr(pattern) in str(caught.value)


@pytest.mark.parametrize("pattern", ["~hv[", "classrooms[9]"])
def test_malformed_terms_are_errors(school, pattern):
    with pytest.raises(PatternError, match="pattern"):
        select_hosts(school, pattern)


def test_unmatched_terms_point_at_the_typo(school):
    assert unmatched_terms(school, "hv1,hvv2,!nothing,labs") == ["hvv2", "!nothing"]
    assert unmatched_terms(school, "all") == []


def test_colon_is_not_a_separator_inside_addresses():
    assert split_pattern("hv1:5986") == ["hv1:5986"]
    assert split_pattern("fe80::1") == ["fe80::1"]
    assert split_pattern("a:b:!c") == ["a", "b", "!c"]
    assert split_pattern("web[1:3]:db") == ["web[1:3]", "db"]


def test_history_matches_bare_names_without_groups():
    names = ["hv1", "hv2", "lab-a"]
    assert select_names(names, "hv*,!hv2") == ["hv1"]
    with pytest.raises(PatternError, match="the journal"):
        select_names(names, "zz")


def test_a_host_and_a_group_with_the_same_name_match_ansible(tmp_path):
    # Ansible: the plain term picks the host; `!name` and globs resolve the group first.
    layout = Layout(hosts=("hv1", "hv2", "hv3"), groups={"hv1": (("hv2", "hv3"), ())})
    model = layout.to_model("same-name.yaml")
    for pattern in ("hv1", "!hv1", "hv*,!hv1", "hv1*", "hv1,&hv1"):
        oracle = oracle_hosts("same-name", layout, pattern)
        if oracle:
            assert set(select_hosts(model, pattern)) == oracle, pattern
        else:
            with pytest.raises(PatternError):
                select_hosts(model, pattern)


LAYOUTS = {f"seed{seed}": random_layout(seed) for seed in (1, 2, 3, 4)}


@st.composite
def patterns_for(draw, layout: Layout) -> str:
    names = list(layout.hosts) + list(layout.groups)
    name = st.sampled_from(names)
    term = st.one_of(
        name,
        st.sampled_from(["all", "*", "ungrouped", "nomatch", "al*", "u*"]),
        name.map(lambda n: n[: max(1, len(n) // 2)] + "*"),
        name.map(lambda n: n[:-1] + "?"),
        name.map(lambda n: "~" + n[: max(1, len(n) // 2)]),
        name.map(lambda n: n[0] + "[a-l]*"),
    )
    terms = draw(st.lists(st.tuples(st.sampled_from(["", "", "!", "&"]), term), min_size=1, max_size=4))
    separator = draw(st.sampled_from([",", ":", ", "]))
    return separator.join(prefix + t for prefix, t in terms)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), key=st.sampled_from(sorted(LAYOUTS)), with_all=st.booleans())
def test_selection_agrees_with_ansible_core(data, key, with_all):
    layout = LAYOUTS[key]
    pattern = data.draw(patterns_for(layout), label="pattern")
    model = layout.to_model(f"{key}.yaml", with_all_group=with_all)
    expected = oracle_hosts(key, layout, pattern)
    if not expected:
        with pytest.raises(PatternError):
            select_hosts(model, pattern)
        return
    got = select_hosts(model, pattern)
    assert set(got) == expected
    assert got == [h for h in layout.hosts if h in expected]  # inventory order, no duplicates


@pytest.mark.parametrize(
    "pattern",
    [
        "classrooms",
        "room_b",
        "classrooms,!labs",
        "!classrooms",
        "classrooms[1:2]",
        "classrooms[-1]",
        "classrooms[3:]",
        "~lab",
        "ungrouped",
        "web:hv1",
    ],
)
def test_the_school_table_agrees_with_ansible_core(school, pattern):
    assert set(select_hosts(school, pattern)) == oracle_hosts("school", SCHOOL, pattern)
