"""The facts' VM index answers as the scripts' lookup does: `Get-VM | Where-Object -Property Name -EQ -Value
$Name`, then the first (case-insensitive, the first in the host's order), and it loses no VM."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.vm_index import VMIndex


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
