"""--vm and a schedule's vms: an exact VM name selects that VM only; a glob applies only when no name is exact.

The story: VM names may hold `[ ]` (legal in Hyper-V and in the inventory). `rollback --vm 'lab[1]'` must
restore the VM called `lab[1]`, never `lab1`, whose state a glob reading would discard.
"""

from __future__ import annotations

import fnmatch

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.names import escape, is_exact, matches_name, select_names

CLASSROOM = ["lab1", "lab[1]", "lab2", "lab-a-01", "lab-a-02", "Exam*"]


def test_an_exact_name_with_brackets_selects_itself_not_the_glob_match():
    assert select_names("lab[1]", CLASSROOM) == ["lab[1]"]


def test_the_same_pattern_is_a_glob_when_no_vm_has_that_name():
    assert select_names("lab[12]", CLASSROOM) == ["lab1", "lab2"]
    assert select_names("lab-a-*", CLASSROOM) == ["lab-a-01", "lab-a-02"]


def test_a_name_with_a_star_selects_itself_and_not_everything_after_it():
    assert select_names("Exam*", CLASSROOM) == ["Exam*"]
    assert select_names("exam*", CLASSROOM) == ["Exam*"]  # Hyper-V names ignore case


def test_known_names_from_other_hosts_keep_an_exact_name_exact_on_every_host():
    """hv01 holds lab[1], hv02 holds lab1: --vm 'lab[1]' must select nothing on hv02."""
    everywhere = ["lab[1]", "lab1"]
    assert select_names("lab[1]", ["lab1"], known=everywhere) == []
    assert select_names("lab[1]", ["lab[1]"], known=everywhere) == ["lab[1]"]
    assert not matches_name("lab1", "lab[1]", known=everywhere)
    assert matches_name("lab[1]", "lab[1]", known=everywhere)
    assert matches_name("lab[1]", "lab[1]", known=())  # a VM's own name is always exact


def test_escaping_in_a_glob_matches_glob_characters_literally():
    assert select_names("lab[[]*", CLASSROOM) == ["lab[1]"]
    assert select_names(escape("lab[1]") + "*", ["lab[1]", "lab[1]-b", "lab1"]) == ["lab[1]", "lab[1]-b"]


def test_no_pattern_selects_every_vm_and_several_patterns_unite_in_inventory_order():
    assert select_names(None, CLASSROOM) == CLASSROOM
    assert select_names(["lab2", "lab[1]"], CLASSROOM) == ["lab[1]", "lab2"]
    assert matches_name("anything", None, known=[])


names = st.text(alphabet="ab1[]*?-!", min_size=1, max_size=8)


@given(st.lists(names, min_size=1, max_size=8, unique_by=str.casefold), st.data())
def test_every_exact_name_selects_exactly_the_vms_of_that_name(vms: list[str], data):
    target = data.draw(st.sampled_from(vms))
    assert is_exact(target, vms)
    assert select_names(target, vms) == [target]


@given(st.lists(names, min_size=1, max_size=8, unique_by=str.casefold), names)
def test_a_pattern_that_names_no_vm_means_what_fnmatch_means(vms: list[str], pattern: str):
    if is_exact(pattern, vms):
        return
    expected = [v for v in vms if fnmatch.fnmatchcase(v.casefold(), pattern.casefold())]
    assert select_names(pattern, vms) == expected


@given(st.lists(names, min_size=1, max_size=8, unique_by=str.casefold), st.data())
def test_an_escaped_name_selects_exactly_that_name_as_a_glob(vms: list[str], data):
    target = data.draw(st.sampled_from(vms))
    # escape() gives a pure glob; read against no known names it is matched as a glob, never exactly.
    assert select_names(escape(target), vms, known=()) == [target]
