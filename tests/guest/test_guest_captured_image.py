"""The admin's story: lab-01 was set up, customised, sysprepped and captured as the classroom's new parent
image; now lab-01 is built again from that image. The image still holds the ready value its guest once wrote
under HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest: "Once created, key-value pairs remain until they're
deleted", and no page says sysprep deletes them.

Before, a guest's ready token was one per VM name, so the new lab-01 reported the old lab-01's token as soon
as its specialize pass had named it, while its oobeSystem pass still ran with the answer file (passwords
and all) on its disk. The wait said ready and took the baseline of a half-set-up server, which every
nightly rollback then restored. Now each setup gets a token of its own."""

from __future__ import annotations

import hashlib
from pathlib import Path

from apply_support import (
    PREMIUM,
    events,
    guest_line_of,
    guest_of,
    has_answer_file,
    inventory,
    orchestrate,
    seed,
    simulated,
)

GOLDEN = "D:\\images\\lab-golden.vhdx"
# The token the old lab-01's SetupComplete.cmd wrote, as versions before this one made it.
OLD_TOKEN = "ready" + hashlib.sha256(b"lab-01").hexdigest()[:20]


def test_a_vm_rebuilt_from_an_image_of_its_finished_self_waits_for_its_own_setup(tmp_path: Path) -> None:
    images = {PREMIUM: {"edition_sku": 77},
              GOLDEN: {"edition_sku": 77, "guest_values": {"OrchestrateReady": OLD_TOKEN}}}
    host_seed = seed(images=images)
    inv = inventory(tmp_path, [{"name": "lab-01"}], host_seed=host_seed, defaults={"disk": {"parent": GOLDEN}})
    state = tmp_path / "state"

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 0, applied.output
    (ready,) = [e for e in events(applied) if e["event"] == "guest_ready"]
    assert ready["seconds"] >= 30 * 60  # the whole setup, not the specialize pass only
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    (baseline,) = vm.snapshots.values()
    assert baseline.config["guest_run"] == {"phase": "ready"}  # a finished setup, not one in oobeSystem
    assert not has_answer_file(sim, "lab-01")
    _state, _name, token = guest_line_of(sim, "lab-01")
    assert token != OLD_TOKEN
    _run, os_state = guest_of(sim, "lab-01")
    assert os_state["kvp_guest"] == {"OrchestrateReady": token}  # this setup's SetupComplete.cmd wrote it
