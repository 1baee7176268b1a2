"""The admin's story: the classroom's image was made by another team, and its Windows partition still holds
files of its own: an answer file under \\Windows\\Panther\\Unattend\\, which Windows Setup reads before the
one orchestrate writes to \\Windows\\Panther ("Windows Setup Automation Overview", the implicit search
order), or a SetupComplete.cmd that installs the school's agents. Before, the first made orchestrate's answer
file be ignored (the guest failed its 45-minute wait, or came up as someone else's server), and the second
was replaced without a word, as was an answer file Setup had cached in \\Windows\\Panther itself (an image
sysprepped with /unattend keeps it there: audit K L2). Now the answer-file step refuses them all before it
writes anything, and takes only files it wrote itself, in a run cut off halfway, for its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import PREMIUM, has_answer_file, host_failure, inventory, orchestrate, seed, simulated

from orchestrator.actions import GUEST_MOUNT_FOLDER
from orchestrator.simulator.host.guest import ANSWER_FILE, SETUP_COMPLETE, volume_of
from orchestrator.simulator.host.model import norm_path


@pytest.mark.parametrize(("own_file", "refusal"), [
    ("\\Windows\\Panther\\Unattend\\Unattend.xml", "holds its own answer file \\Windows\\Panther\\Unattend\\Unattend.xml"),
    ("\\Windows\\Panther\\Unattend\\Autounattend.xml", "holds its own answer file"),
    # Setup's cached copy, which an image sysprepped with /unattend keeps (audit K L2): it was replaced silently.
    ("\\Windows\\Panther\\unattend.xml", "holds its own answer file \\Windows\\Panther\\unattend.xml"),
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
    assert vm.state == "Off"
    assert own_file.lower() == ANSWER_FILE.lower() or not has_answer_file(sim, "lab-01")
    volume = volume_of(sim.host, vm.disks[0].path)
    assert volume is not None and volume["files"][norm_path(own_file)]["text"] == "the image's own"  # untouched


def test_a_rerun_after_a_cut_off_write_takes_its_own_setup_script_for_its_own(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    state = tmp_path / "state"
    simulated(state, seed()).kill_after_changes(named="Dismount-VHD")  # both files written, the line says writing
    assert orchestrate("apply", inv, "--state-dir", state, "-o", "json").exit_code == 1

    again = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert again.exit_code == 0, again.output


def test_a_rerun_after_a_run_cut_off_right_after_the_answer_file_takes_it_for_its_own(tmp_path: Path) -> None:
    """Cut off after \\Windows\\Panther\\unattend.xml was written and before SetupComplete.cmd: the file carries
    orchestrate's mark (render.ANSWER_FILE_MARK_LINE), so the next run writes again instead of refusing it."""
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    state = tmp_path / "state"
    simulated(state, seed()).kill_after_changes(named=f"Set-Content {GUEST_MOUNT_FOLDER}")
    assert orchestrate("apply", inv, "--state-dir", state, "-o", "json").exit_code == 1
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert any(k.endswith("\\windows\\panther\\unattend.xml") for k in sim.host.files)  # written, still mounted
    assert not any(k.endswith("\\setupcomplete.cmd") for k in sim.host.files)
    assert vm.state == "Off"

    again = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert again.exit_code == 0, again.output
