"""The admin edits a VM's Notes by hand, in Hyper-V Manager, and leaves our guest line odd: two spaces, a tab,
another case, a second guest line. The plan (Python, on the admin box) and the host's scripts (PowerShell,
templates/lib/guest_notes.ps1.j2) must read the same token and state from it, or PrepareGuest's `writing`
test and the wait's token would disagree with what the plan assumed (audit K, L5)."""

from __future__ import annotations

import json
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_support import HEADER, run_ok, simulator

from orchestrator.facts import guest_line
from orchestrator.render import Renderer
from orchestrator.simulator import Simulator


@cache
def _reader() -> str:
    """A script that reads lab-01's Notes with the templates' read() and prints what it found."""
    env = Renderer().env
    functions = env.get_template("lib/functions.ps1.j2").render()
    read = env.get_template("lib/guest_notes.ps1.j2").module.read()  # type: ignore[attr-defined]
    return (HEADER + functions + "\n$vmName = 'lab-01'\n" + str(read) + "\n"
            "ConvertTo-Json -InputObject ([ordered]@{ token = $guestNotedToken; state = $guestState; "
            "lines = $guestLineCount }) -Compress\n")


@cache
def _host() -> Simulator:
    sim = simulator()
    run_ok(sim, "New-VM -Name 'lab-01' -MemoryStartupBytes 2GB -NoVHD -Confirm:$false | Out-Null")
    return sim


def host_reads(notes: str) -> tuple[str | None, str | None, int]:
    """(token, state, guest lines) as the host's scripts read the VM's Notes."""
    sim = _host()
    sim.host.vm_by_name("lab-01")[0].notes = notes
    result = sim.run(_reader())
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout.rstrip("\r\n").split("\n")[-1])  # splitlines() would split at U+2028
    return found["token"], found["state"], found["lines"]


def test_one_clean_line_and_hand_edited_forms_read_alike() -> None:
    token = "ready" + "0" * 32
    assert host_reads(f"Room 12\norchestrate-guest: {token} ready LAB-01") == (token, "ready", 1)
    assert guest_line(f"Room 12\norchestrate-guest: {token} ready LAB-01") == (token, "ready")
    # two spaces and a tab: the same token and state on both sides (the host used to read an empty state)
    odd = f"  Orchestrate-Guest:\t{token}  writing \t LAB-01  "
    assert host_reads(odd) == (token, "writing", 1) and guest_line(odd) == (token, "writing")
    # a state in another case is no state we know: "setup" on both sides (never written again, never off)
    assert host_reads(f"orchestrate-guest: {token} WRITING") == (token, "setup", 1)
    assert guest_line(f"orchestrate-guest: {token} WRITING") == (token, "setup")


def test_two_guest_lines_are_setup_with_no_token_on_both_sides() -> None:
    notes = "orchestrate-guest: readyaaa ready LAB-01\norchestrate-guest: readybbb writing LAB-01"
    assert guest_line(notes) == ("", "setup")
    token, state, lines = host_reads(notes)
    assert (token or "", state, lines) == ("", "setup", 2)


def test_the_wait_refuses_a_vm_whose_notes_hold_two_guest_lines() -> None:
    from orchestrator.actions import GuestWait, WaitGuestsReady
    from orchestrator.model import Connection, HostSpec

    sim = _host()
    sim.host.vm_by_name("lab-01")[0].notes = "orchestrate-guest: readyaaa setup\norchestrate-guest: readybbb setup"
    script = Renderer().render_apply(HostSpec("hv01", Connection(kind="simulator")),
                                     [WaitGuestsReady(waits=(GuestWait("lab-01", "LAB-01", 60, None),))], "6.3")
    result = sim.run(script)
    assert result.exit_code != 0
    assert "VM lab-01 has 2 orchestrate-guest lines in its Notes" in result.stdout + result.stderr


PIECES = st.sampled_from([
    "orchestrate-guest:", "ORCHESTRATE-GUEST:", "Orchestrate-Guest:", "orchestrate-gueſt:", "orches\u00adtrate-guest:",
    " ", "  ", "\t", "\r", "\n", "\r\n", "\u00a0", "\u2028", "\x85", "\x1c", "\u3000", "\u00ad",
    "writing", "setup", "ready", "WRITING", "Ready", "readyabc123", "LAB-01", "\u0130", "\u212a", "\U0001f600", "",
])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=14).map("".join))
def test_python_and_powershell_read_any_notes_text_alike(notes: str) -> None:
    token, state, lines = host_reads(notes)
    expected = guest_line(notes)
    if expected is None:
        assert (token, state, lines) == (None, None, 0)
    else:
        assert (token or "", state) == expected
