"""The admin's classroom runs on differencing disks of one base image. Every nightly run reads the host's facts;
nothing says how DISM opens a VHDX that running VMs have as their parent (docs/real-hosts.md, "Base images
read for their edition"), so the facts open a base image with Get-WindowsImage only while the inventory
still needs its edition: for a VM still to be created from it, or one whose guest is still in setup (audit K,
M2). The edition rule for a new VM keeps working."""

from __future__ import annotations

from pathlib import Path

from apply_support import ENV, PREMIUM, STANDARD, host_failure, inventory, orchestrate, read_facts, simulated

from orchestrator.inventory import load_inventory

CLASSROOM = [{"name": "lab-01"}, {"name": "lab-02"}]


def _facts(inv: Path, state: Path):  # type: ignore[no-untyped-def]
    return read_facts(state, load_inventory(inv, environ=ENV).hosts["hv01"])


def test_a_ready_classroom_leaves_its_base_image_unopened(tmp_path: Path) -> None:
    inv = inventory(tmp_path, CLASSROOM)
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code == 0

    facts = _facts(inv, state)
    assert facts.path_exists(PREMIUM) is True
    assert facts.image_skus(PREMIUM) is None  # not opened: both VMs exist and their guests are ready
    assert orchestrate("apply", inv, "--state-dir", state).exit_code == 0  # and nothing needs it


def test_a_new_vm_of_the_classroom_still_gets_its_media_checked(tmp_path: Path) -> None:
    inv = inventory(tmp_path, CLASSROOM)
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code == 0

    # lab-03 is added from the Standard image by mistake: its image is read, and the rule refuses it
    wrong = inventory(tmp_path, [*CLASSROOM, {"name": "lab-03", "disk": {"parent": STANDARD}}])
    facts = _facts(wrong, state)
    assert facts.image_skus(STANDARD) == (76,) and facts.image_skus(PREMIUM) is None
    refused = orchestrate("apply", wrong, "--state-dir", state, "-o", "json")
    assert refused.exit_code != 0 and "does not contain MultiPoint Server Premium" in host_failure(refused)
    assert simulated(state).host.vm_by_name("lab-03") == []

    # from the classroom's own image: the image is read again for it, and lab-03 is built
    right = inventory(tmp_path, [*CLASSROOM, {"name": "lab-03"}])
    assert _facts(right, state).image_skus(PREMIUM) == (77,)
    assert orchestrate("apply", right, "--state-dir", state).exit_code == 0
    assert _facts(right, state).image_skus(PREMIUM) is None


def test_a_guest_still_in_setup_keeps_its_image_read(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": {
        "admin_password": "{{ lookup('env', 'MP_ADMIN_PASSWORD') }}", "ready_timeout": "5m"}})
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code != 0  # still in setup after 5 minutes
    assert _facts(inv, state).image_skus(PREMIUM) == (77,)  # a dry run's copy assumes this edition for it
