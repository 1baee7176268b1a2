"""The facts' VM index answers as the scripts' lookup does (each VM of Get-VM whose `.Name -eq $Name`, then
the first: case-insensitive, the first in the host's order), and it loses no VM. Its `alike_key` is never
finer than that case rule, and joins what a linguistic comparison may join (accents composed or not, ß and
ss, ignorable characters)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.vm_index import VMIndex, alike_key


@dataclass(frozen=True)
class FakeVM:
    name: str
    id: int


NAMES = st.lists(st.sampled_from(["lab-01", "LAB-01", "Lab-01", "lab-02", "staff", "Staff"]), max_size=8)


@given(NAMES)
def test_lookup_is_the_scripts_first_case_insensitive_match_and_nothing_is_lost(names: list[str]) -> None:
    vms = [FakeVM(name, i) for i, name in enumerate(names)]
    index = VMIndex(vms)

    assert index.all == tuple(vms)
    for probe in {*names, "absent"}:
        first = next((vm for vm in vms if vm.name.lower() == probe.lower()), None)
        assert index.get(probe) == first
        assert (probe in index) == (first is not None)
    assert [name.lower() for name in index] == list(dict.fromkeys(name.lower() for name in names))
    groups = {key: [vm for vm in vms if vm.name.lower() == key] for key in {n.lower() for n in names}}
    assert {name.lower(): list(held) for name, held in index.duplicates().items()} == {
        key: held for key, held in groups.items() if len(held) > 1
    }


@given(st.text(max_size=12), st.text(max_size=12))
def test_the_alike_key_is_never_finer_than_the_case_rule(first: str, second: str) -> None:
    """Two names the scripts' case rule already joins always share the key (ASCII: the key is the case fold)."""
    for a, b in ((first, second), (first, first.upper()), (first, first.lower())):
        if a.lower() == b.lower():
            assert alike_key(a) == alike_key(b)
    if first.isascii() and first.isprintable():
        assert alike_key(first) == first.lower()


SOFT_HYPHEN_AND_FRIENDS = st.sampled_from(["\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\ufeff"])


@given(st.text(min_size=1, max_size=12), SOFT_HYPHEN_AND_FRIENDS, st.integers(min_value=0, max_value=12))
def test_an_ignorable_character_anywhere_keeps_the_key(name: str, ignorable: str, at: int) -> None:
    at = min(at, len(name))
    assert alike_key(name[:at] + ignorable + name[at:]) == alike_key(name)


def test_what_a_linguistic_comparison_may_join_shares_a_key() -> None:
    import unicodedata

    for a, b in [("Straße", "STRASSE"), ("Café", unicodedata.normalize("NFD", "Café")), ("Æther", "aether"),
                 ("ﬁle", "file"), ("Ｌab-01", "lab-01")]:
        assert alike_key(a) == alike_key(b), (a, b)
    assert alike_key("lab-01") != alike_key("lab-02")
