"""Whatever an admin wrote in a VM's Notes, taking a managed checkpoint keeps every line of it as written and
rewrites only our marker line: the ids of checkpoints the VM still has, in the order they were listed, then
the new one. The expected Notes come from a model of templates/lib/checkpoint_notes.ps1.j2 in Python; the
actual ones from a facts run on the simulated host after the apply script ran."""

from __future__ import annotations

import copy

from checkpoint_support import SimHost, lab_host, lab_vm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.facts import CHECKPOINT_NOTES_PREFIX
from orchestrator.operations.checkpoint import plan_checkpoint
from orchestrator.pwsh import quote

_PROVISIONED: list[SimHost] = []


def _provisioned() -> SimHost:
    """One host with lab-01 applied (and its baseline checkpoint taken), copied for each example."""
    if not _PROVISIONED:
        host = SimHost(lab_host(lab_vm("lab-01")))
        host.apply()
        _PROVISIONED.append(host)
    return copy.deepcopy(_PROVISIONED[0])


_WORDS = st.text(alphabet="ab ,:-#\t", max_size=12)
# A marker line as a user (or an older run) may have left it: in any case, with stale ids, the id of the
# VM's baseline checkpoint (the placeholder BASELINE, swapped for it) and repeats.
_IDS = st.lists(st.sampled_from(["BASELINE", "baseline-upper", "stale-1", "stale-2", ""]), max_size=4)
_MARKER = st.tuples(
    st.sampled_from(["orchestrate-checkpoints:", "ORCHESTRATE-CHECKPOINTS:", "  Orchestrate-Checkpoints: "]), _IDS
)
_LINES = st.lists(st.one_of(_WORDS, _MARKER), max_size=6)


def _notes(lines: list[str | tuple[str, list[str]]], baseline: str, newline: str) -> str:
    def line(item: str | tuple[str, list[str]]) -> str:
        if isinstance(item, str):
            return item
        prefix, ids = item
        spelled = {"BASELINE": baseline, "baseline-upper": baseline.upper()}
        return prefix + ",".join(spelled.get(i, i) for i in ids)

    return newline.join(line(item) for item in lines)


def _expected(notes: str, live: set[str], new_id: str) -> str:
    """The macros' rule: user lines kept (CR dropped), trailing newlines trimmed, then the marker line of the
    listed ids still live (first spelling of each, compared case-insensitively), then the new id."""
    lines = notes.replace("\r", "").split("\n")
    user = [text for text in lines if not text.strip().lower().startswith(CHECKPOINT_NOTES_PREFIX)]
    ids: list[str] = []
    for text in lines:
        stripped = text.strip()
        if stripped.lower().startswith(CHECKPOINT_NOTES_PREFIX):
            for part in stripped[len(CHECKPOINT_NOTES_PREFIX) :].split(","):
                part = part.strip()
                if part and part.lower() not in {i.lower() for i in ids}:
                    ids.append(part)
    kept = [i for i in ids if i.lower() in live] + [new_id]
    text = "\n".join(user).rstrip("\n")
    return text + ("\n" if text else "") + CHECKPOINT_NOTES_PREFIX + " " + ",".join(kept)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES, newline=st.sampled_from(["\n", "\r\n"]), trailing=st.sampled_from(["", "\n", "\n\n"]))
def test_a_checkpoint_keeps_the_admins_notes_line_for_line(
    lines: list[str | tuple[str, list[str]]], newline: str, trailing: str
) -> None:
    host = _provisioned()
    vm = host.facts().vm("lab-01")
    assert vm is not None and vm.checkpoint("clean") is not None
    baseline = vm.checkpoint("clean").id  # type: ignore[union-attr]
    notes = _notes(lines, baseline, newline) + trailing
    host.powershell(f"Set-VM -Confirm:$false -Name 'lab-01' -Notes {quote(notes)}")

    outcome = host.run(plan_checkpoint(host.spec, host.facts(), "before the exam"))

    assert outcome.exit_code == 0, outcome.error
    after = host.facts().vm("lab-01")
    assert after is not None
    taken = after.checkpoint("before the exam")
    assert taken is not None
    live = {c.id.lower() for c in after.checkpoints}
    assert after.notes == _expected(notes, live, taken.id)
