"""The admin's stories: a classroom VM that should join the school's domain comes up in a workgroup (the join
account was wrong, or no domain controller answered): Windows setup still finishes, so the wait must see
the missing domain and take no baseline. And a MAK read from a file with a newline and in lower case goes
into the answer file as the 29 characters the ProductKey page shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import events, failed_apply, guest, inventory, orchestrate, seed, simulated

import orchestrator.simulator.host.guest as guest_model
from orchestrator.simulator.host.model import norm_path

JOINED = guest(domain={"name": "school.example", "user": "joiner",
                       "password": "{{ lookup('env', 'JOIN_PASSWORD') }}", "ou": "OU=Labs,DC=school,DC=example"})


def test_a_guest_that_did_not_join_its_domain_gets_no_baseline(tmp_path: Path) -> None:
    # the simulated network has no domain controller for school.example: the join fails, setup finishes
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": JOINED}, host_seed=seed(guest_domains=[]))
    state = tmp_path / "state"

    applied, error = failed_apply(inv, state)

    assert "VM lab-01: the guest is set up as LAB-01 but did not join the domain school.example" in error
    assert "No baseline was taken" in error
    assert not [e for e in events(applied) if e["event"] == "guest_ready"]
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert vm.snapshots == {}


def test_a_guest_that_joined_its_domain_is_ready_with_its_baseline(tmp_path: Path) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": JOINED},
                    host_seed=seed(guest_domains=["school.example"]))
    state = tmp_path / "state"

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 0, applied.output
    (ready,) = [e for e in events(applied) if e["event"] == "guest_ready"]
    assert ready["computer_name"].lower() == "lab-01.school.example"
    assert [s.name for s in simulated(state).host.vm_by_name("lab-01")[0].snapshots.values()] == ["clean"]


@pytest.mark.parametrize("user", ["SCHOOL\\joiner", "joiner@school.example"])
def test_a_join_account_written_with_its_domain_joins_the_domain(tmp_path: Path, user: str) -> None:
    """The school's join account is written as SCHOOL\\joiner (or its UPN): the answer file then leaves out
    Credentials/Domain, as the page says for such a name; the simulated setup, which takes a qualified name
    together with Domain to fail the join (no page says otherwise), joins, and the baseline is taken."""
    joined = guest(domain={"name": "school.example", "user": user,
                           "password": "{{ lookup('env', 'JOIN_PASSWORD') }}"})
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": joined},
                    host_seed=seed(guest_domains=["school.example"]))
    state = tmp_path / "state"

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 0, applied.output
    host = simulated(state).host
    vm = host.vm_by_name("lab-01")[0]
    volume = guest_model.volume_of(host, vm.disks[0].path)
    assert volume is not None and volume["os"]["domain"] == "school.example"
    assert [s.name for s in vm.snapshots.values()] == ["clean"]


def test_a_mak_from_a_file_goes_into_the_answer_file_as_its_29_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "mak.txt"
    key_file.write_text(" xnh6w-2v9gx-rgj4k-y8x6f-qgj2g \n", encoding="utf-8")
    key_file.chmod(0o600)
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(product_key={"file": str(key_file)})})
    state = tmp_path / "state"
    answers: list[str] = []
    stock = guest_model.read_answer_file
    monkeypatch.setattr(guest_model, "read_answer_file", lambda text: answers.append(text) or stock(text))

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 0, applied.output
    (answer,) = answers  # what the guest's setup read from its disk
    assert "<ProductKey>XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G</ProductKey>" in answer
    host = simulated(state).host
    volume = guest_model.volume_of(host, host.vm_by_name("lab-01")[0].disks[0].path)
    assert volume is not None and norm_path(guest_model.ANSWER_FILE) not in volume["files"]  # deleted when done


@pytest.mark.parametrize("ou", ["OU=Labs", "OU=Labs,DC=other,DC=example"])
def test_an_ou_that_is_not_a_full_path_in_the_domain_is_invalid_input(tmp_path: Path, ou: str) -> None:
    joined = guest(domain={"name": "school.example", "user": "joiner",
                           "password": "{{ lookup('env', 'JOIN_PASSWORD') }}", "ou": ou})
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": joined})

    checked = orchestrate("validate", inv)

    assert checked.exit_code == 2
    assert f"domain ou '{ou}' is not the full path of an OU in 'school.example'" in checked.output
    assert "write 'OU=Labs,DC=school,DC=example'" in checked.output


def test_an_ou_with_a_netbios_domain_name_asks_for_the_dns_name(tmp_path: Path) -> None:
    # JoinDomain takes a NetBIOS name, but an OU's DC= parts are the DNS name, which SCHOOL does not say: the
    # fix used to read "write 'OU=Labs,DC=SCHOOL'", a path no domain has.
    joined = guest(domain={"name": "SCHOOL", "user": "joiner", "password": "{{ lookup('env', 'JOIN_PASSWORD') }}",
                           "ou": "OU=Labs,DC=school,DC=example"})
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": joined})

    checked = orchestrate("validate", inv)

    assert checked.exit_code == 2
    assert "domain 'SCHOOL' is a NetBIOS name" in checked.output and "DC=SCHOOL" not in checked.output
    assert "give the domain's DNS name, like school.example, with the OU" in checked.output


@pytest.mark.parametrize(("password", "warned"), [("Pa55-w0rd!", False), ("longbutlowercase", True),
                                                   ("Ab1!", True), ("MyAdministrator1!", True)])
def test_an_administrator_password_a_domain_member_would_refuse_is_warned_about(
    tmp_path: Path, password: str, warned: bool
) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}])

    checked = orchestrate("validate", inv, env={"MP_ADMIN_PASSWORD": password, "JOIN_PASSWORD": "x"})

    assert checked.exit_code == 0, checked.output
    assert ("admin_password does not meet Windows' password complexity rules" in checked.output) is warned
    assert password not in checked.output


def test_a_secret_key_that_is_the_standard_editions_kms_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    # The admin pasted the KMS client key of MultiPoint Standard into the key file: a secret, but a published
    # key of the wrong edition, which would license the Premium image as Standard.
    key_file = tmp_path / "mak.txt"
    key_file.write_text("hm7dn-yvmh3-46jc3-xytg7-cyqjj\n", encoding="utf-8")
    key_file.chmod(0o600)
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(product_key={"file": str(key_file)})})

    checked = orchestrate("validate", inv)

    assert checked.exit_code == 2
    assert "the published KMS client key of Windows Server 2012 MultiPoint Standard" in checked.output
    assert "HM7DN" not in checked.output.upper()
