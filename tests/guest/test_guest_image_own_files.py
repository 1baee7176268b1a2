"""The admin's story: the classroom's image was made by another team, and its Windows partition still holds
files of its own: an answer file under \\Windows\\Panther\\Unattend\\, which Windows Setup reads before the
one orchestrate writes to \\Windows\\Panther ("Windows Setup Automation Overview", the implicit search
order), or a SetupComplete.cmd that installs the school's agents. Before, the first made orchestrate's answer
file be ignored (the guest failed its 45-minute wait, or came up as someone else's server), and the second
was replaced without a word. Now the answer-file step refuses both before it writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import PREMIUM, has_answer_file, host_failure, inventory, orchestrate, seed, simulated

from orchestrator.simulator.host.guest import SETUP_COMPLETE, volume_of
from orchestrator.simulator.host.model import norm_path


@pytest.mark.parametrize(("own_file", "refusal"), [
    ("\\Windows\\Panther\\Unattend\\Unattend.xml", "holds its own answer file \\Windows\\Panther\\Unattend\\Unattend.xml"),
    ("\\Windows\\Panther\\Unattend\\Autounattend.xml", "holds its own answer file"),
    (SETUP_COMPLETE, "holds its own \\Windows\\Setup\\Scripts\\SetupComplete.cmd"),
])
def test_an_image_with_its_own_answer_file_or_setup_script_is_refused_before_anything_is_written(
    tmp_path: Path, own_file: str, refusal: str
) -> None:
    images = {PREMIUM: {"edition_sku": 77, "guest_files": {own_file: "the image's own"}}}
    inv = inventory(tmp_path, [{"name": "lab-01"}], host_seed=seed(images=images))
    state = tmp_path / "state"

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 1
    assert refusal in host_failure(applied) and "nothing was written" in host_failure(applied)
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.state == "Off" and not has_answer_file(sim, "lab-01")
    volume = volume_of(sim.host, vm.disks[0].path)
    assert volume is not None and volume["files"][norm_path(own_file)]["text"] == "the image's own"


def test_a_rerun_after_a_cut_off_write_takes_its_own_setup_script_for_its_own(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    state = tmp_path / "state"
    simulated(state, seed()).kill_after_changes(named="Dismount-VHD")  # both files written, the line says writing
    assert orchestrate("apply", inv, "--state-dir", state, "-o", "json").exit_code == 1

    again = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert again.exit_code == 0, again.output
