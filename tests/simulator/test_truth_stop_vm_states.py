"""Audit L, L1: the simulated host's Stop-VM acts only on a running VM, the only one its page covers
(docset/winserver2012-ps/hyper-v/Stop-VM.md, Examples 1-3: shut down through the guest, turn off, save a
running VM). It used to save an Off VM (Saved, with no memory to resume) and to shut down a Paused one, more
lenient than any page allows; both are refused now and leave the VM as it was."""

from __future__ import annotations

import pytest
from simulator_support import HEADER, create_vm, fails, ok, simulator


def test_an_off_vm_is_not_saved() -> None:
    sim = simulator()
    create_vm(sim)

    refused = fails(sim, HEADER + "Stop-VM -Name 'lab-01' -Save")

    assert "failed to change state" in refused.stderr
    assert sim.host.vm_by_name("lab-01")[0].state == "Off"


@pytest.mark.parametrize("how", ["-Force", "-TurnOff -Force", "-Save"], ids=["shut down", "turn off", "save"])
def test_a_paused_vm_is_neither_shut_down_nor_turned_off_nor_saved(how: str) -> None:
    sim = simulator()
    create_vm(sim)
    ok(sim, HEADER + "Start-VM -Name 'lab-01'")
    sim.host.vm_by_name("lab-01")[0].state = "Paused"  # as Hyper-V leaves a VM whose disk filled up

    refused = fails(sim, HEADER + f"Stop-VM -Name 'lab-01' {how}")

    assert "failed to change state" in refused.stderr
    assert sim.host.vm_by_name("lab-01")[0].state == "Paused"


def test_a_running_vm_still_stops_every_way_its_page_shows() -> None:
    sim = simulator()
    create_vm(sim)
    for how, state in (("-Save", "Saved"), ("-TurnOff -Force", "Off"), ("-Force", "Off")):
        ok(sim, HEADER + "Start-VM -Name 'lab-01'")
        ok(sim, HEADER + f"Stop-VM -Name 'lab-01' {how}")
        assert sim.host.vm_by_name("lab-01")[0].state == state
