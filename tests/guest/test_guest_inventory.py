"""The admin writes a VM's `guest` settings; each mistake is a finding at its file and line, no secret shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from guest_support import ENV, PASSWORD, errors, inventory_file, load, model_host, model_vm
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.model import DEFAULT_READY_TIMEOUT, MULTIPOINT_PREMIUM_KMS_KEY, Secret
from orchestrator.rules import check_host
from orchestrator.rules.guest import WINDOWS_TIME_ZONES, netbios_problem

ENV_PASSWORD = "admin_password: \"{{ lookup('env', 'MP_ADMIN_PASSWORD') }}\""


def test_a_guest_with_only_a_password_gets_every_default(tmp_path: Path) -> None:
    inventory = load(inventory_file(tmp_path, ENV_PASSWORD))
    assert errors(inventory) == []
    lab = inventory.hosts["hv01"].vm("lab-01")
    assert lab is not None and lab.guest is not None
    guest = lab.guest
    assert guest.name_for(lab.name) == "LAB-01"
    assert guest.admin_password == Secret(PASSWORD)
    assert guest.product_key == MULTIPOINT_PREMIUM_KMS_KEY == "XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G"
    assert (guest.time_zone, guest.locale, guest.ready_timeout) == ("UTC", "en-US", DEFAULT_READY_TIMEOUT)
    assert DEFAULT_READY_TIMEOUT == 45 * 60


def test_every_key_is_read(tmp_path: Path) -> None:
    inventory = load(inventory_file(tmp_path, f"""
        {ENV_PASSWORD}
        time_zone: W. Europe Standard Time
        locale: de-DE
        organization: Gymnasium Süd & Co
        owner: IT <Büro>
        ready_timeout: 1h30m
        domain:
          name: school.example
          ou: OU=Classrooms,DC=school,DC=example
          user: joiner
          password: "{{{{ lookup('env', 'JOIN_PASSWORD') }}}}"
    """, vms="multipoint_vms:\n  - name: lab-01\n    guest: {computer_name: MPS-01, " + ENV_PASSWORD + "}\n"))
    assert errors(inventory) == []
    # the VM's own guest replaces the defaults' guest whole (Ansible's replace behaviour)
    only = inventory.hosts["hv01"].vm("lab-01")
    assert only is not None and only.guest is not None
    assert only.guest.computer_name == "MPS-01" and only.guest.time_zone == "UTC" and only.guest.domain is None


def test_a_domain_join_is_read_with_its_password_as_a_secret(tmp_path: Path) -> None:
    inventory = load(inventory_file(tmp_path, f"""
        {ENV_PASSWORD}
        time_zone: W. Europe Standard Time
        ready_timeout: 1h30m
        domain:
          name: school.example
          ou: OU=Classrooms,DC=school,DC=example
          user: joiner
          password: "{{{{ lookup('env', 'JOIN_PASSWORD') }}}}"
    """))
    assert errors(inventory) == []
    guest = inventory.hosts["hv01"].vms[0].guest
    assert guest is not None and guest.domain is not None
    assert guest.domain.password == Secret(ENV["JOIN_PASSWORD"]) and guest.ready_timeout == 5400
    assert guest.domain.ou == "OU=Classrooms,DC=school,DC=example"


def test_a_password_written_in_the_inventory_is_refused_and_never_echoed(tmp_path: Path) -> None:
    path = inventory_file(tmp_path, "admin_password: Sup3r-Secret-Pw\n")
    inventory = load(path)
    text = "\n".join(errors(inventory))
    assert f"{path}:10:" in text and "admin_password is a secret" in text
    assert "Sup3r-Secret-Pw" not in text and "hv01" not in inventory.hosts


def test_a_password_file_must_be_the_owners_alone(tmp_path: Path) -> None:
    secret = tmp_path / "admin.txt"
    secret.write_text("fr0m-a-file\n", encoding="utf-8")
    secret.chmod(0o644)
    path = inventory_file(tmp_path, f"admin_password: {{file: {secret}}}\n")
    assert any("admin_password is refused: group or others can access it" in e for e in errors(load(path)))
    secret.chmod(0o600)
    inventory = load(path)
    assert errors(inventory) == []
    assert inventory.hosts["hv01"].vms[0].guest.admin_password == Secret("fr0m-a-file")  # type: ignore[union-attr]


def test_an_unset_environment_variable_is_a_finding(tmp_path: Path) -> None:
    inventory = load(inventory_file(tmp_path, ENV_PASSWORD), environ={})
    assert any("environment variable MP_ADMIN_PASSWORD is not set" in e for e in errors(inventory))


def test_a_missing_password_is_required_at_the_guests_line(tmp_path: Path) -> None:
    path = inventory_file(tmp_path, "time_zone: UTC\n")
    found = errors(load(path))
    assert found and all(f"{path}:10:11" in e for e in found)
    assert "admin_password is required" in found[0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("computer_name: THIS-NAME-IS-TOO-LONG", "at most 15"),
        ("computer_name: 'LAB 01'", "only letters A-Z, digits and hyphens"),
        ("computer_name: '12345'", "all digits"),
        ("computer_name: -LAB", "starts or ends with a hyphen"),
        ("computer_name: LÄB", "only letters A-Z"),
        ("time_zone: Europe/Berlin", "did you mean 'W. Europe Standard Time'?"),
        ("time_zone: w. europe standard time", "did you mean 'W. Europe Standard Time'?"),
        ("time_zone: Mars Standard Time", "is not a Windows time zone id"),
        ("locale: english", "is not a culture name"),
        ("product_key: HM7DN-YVMH3-46JC3-XYTG7-CYQJJ", "MultiPoint Standard"),
        ("ready_timeout: 45", "needs a unit"),
        ("ready_timeout: soon", "a duration like 45m"),
        ("ready_timeout: 0m", "more than zero"),
        ("domain: {name: school.example, user: joiner}", "domain needs password"),
        ("domain: {name: 'bad domain', user: j, password: \"{{ lookup('env', 'JOIN_PASSWORD') }}\"}",
         "is not a DNS domain name"),
        ("domain: {name: s.example, ou: Classrooms, user: j, password: \"{{ lookup('env', 'JOIN_PASSWORD') }}\"}",
         "is not a distinguished name"),
        ("colour: blue", "unknown key 'colour'"),
        ("organization: \"tab\\there\"", "control or unprintable"),
    ],
)
def test_each_wrong_value_is_an_error_on_its_own_line(tmp_path: Path, line: str, expected: str) -> None:
    path = inventory_file(tmp_path, f"{ENV_PASSWORD}\n{line}\n")
    found = errors(load(path))
    assert any(expected in e for e in found), found
    assert all(f"{path}:11:" in e for e in found if expected in e), found


def test_a_mak_is_a_secret_and_checked_for_its_shape_without_showing_it(tmp_path: Path) -> None:
    env = {**ENV, "MAK": "ABCDE-12345-FGHIJ-67890-KLMNO"}
    path = inventory_file(tmp_path, f"{ENV_PASSWORD}\nproduct_key: \"{{{{ lookup('env', 'MAK') }}}}\"\n")
    inventory = load(path, env)
    assert errors(inventory) == []
    assert inventory.hosts["hv01"].vms[0].guest.product_key == Secret(env["MAK"])  # type: ignore[union-attr]
    env["MAK"] = "NOT-A-KEY-AT-ALL"
    found = errors(load(path, env))
    assert any("product_key is not five groups of five" in e for e in found)
    assert not any("NOT-A-KEY-AT-ALL" in e for e in found)
    literal = inventory_file(tmp_path, f"{ENV_PASSWORD}\nproduct_key: ABCDE-12345-FGHIJ-67890-KLMNO\n")
    found = errors(load(literal))
    assert any("product_key is a secret" in e for e in found)
    assert not any("ABCDE-12345" in e for e in found)


def test_a_classroom_names_its_guests_after_its_vms(tmp_path: Path) -> None:
    inventory = load(inventory_file(tmp_path, ENV_PASSWORD, vms="multipoint_classrooms:\n  - {name: lab-a, seats: 45}\n"))
    assert errors(inventory) == []
    names = [vm.guest.name_for(vm.name) for vm in inventory.hosts["hv01"].vms]  # type: ignore[union-attr]
    assert names == ["LAB-A-01", "LAB-A-02", "LAB-A-03"]


def test_one_computer_name_for_every_vm_is_refused_at_its_line(tmp_path: Path) -> None:
    path = inventory_file(tmp_path, f"{ENV_PASSWORD}\ncomputer_name: SAME\n")
    found = errors(load(path))
    assert len(found) == 1 and f"{path}:11:" in found[0]
    assert "computer name 'SAME' is already VM 'lab-01'" in found[0]


def test_a_vm_name_that_cannot_be_a_computer_name_asks_for_one(tmp_path: Path) -> None:
    path = inventory_file(tmp_path, ENV_PASSWORD, vms="multipoint_vms:\n  - name: library-of-the-school\n")
    found = errors(load(path))
    assert len(found) == 1 and "add computer_name" in found[0] and "'LIBRARY-OF-THE-SCHOOL'" in found[0]


def test_names_that_differ_only_in_case_are_the_same_computer() -> None:
    findings = check_host(model_host(model_vm("a", computer_name="lab"), model_vm("b", computer_name="LAB")))
    assert [f.message for f in findings if f.is_error] == [
        "VM 'b' on hv01: computer name 'LAB' is already VM 'a''s"
    ]


def test_a_standard_vm_cannot_join_a_domain() -> None:
    from dataclasses import replace

    from orchestrator.model import DomainJoin

    vm = model_vm(domain=DomainJoin(name="school.example", user="j", password=Secret("x")))
    found = [f.message for f in check_host(model_host(replace(vm, edition="standard")))]
    assert any("cannot join a domain" in m for m in found)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=20))
def test_a_computer_name_passes_exactly_when_it_is_a_safe_netbios_name(name: str) -> None:
    ok = (
        1 <= len(name) <= 15
        and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in name)
        and not name.isdigit()
        and not name.startswith("-")
        and not name.endswith("-")
    )
    assert (netbios_problem(name) is None) == ok


def test_the_time_zone_list_is_windows_own_ids() -> None:
    assert {"W. Europe Standard Time", "Pacific Standard Time", "UTC", "GMT Standard Time"} <= WINDOWS_TIME_ZONES
    assert "Europe/Berlin" not in WINDOWS_TIME_ZONES


def _two_hosts(tmp_path: Path, guest_a: str, guest_b: str) -> Path:
    """Two simulated hosts, each with one guest VM of its own name, the guests' settings as given."""
    join = "domain: {name: school.example, user: joiner, password: \"{{ lookup('env', 'JOIN_PASSWORD') }}\"}"
    text = "all:\n  hosts:\n"
    for host, vm, guest in (("hv01", "lab-a", guest_a), ("hv02", "lab-b", guest_b)):
        text += (
            f"    {host}:\n"
            "      ansible_connection: simulator\n"
            "      multipoint_vms:\n"
            f"        - name: {vm}\n"
            "          cpus: 2\n"
            "          memory: 4GB\n"
            "          disk: {parent: 'D:\\images\\premium.vhdx'}\n"
            "          guest:\n"
            f"            {ENV_PASSWORD}\n"
            f"            {guest.replace('JOIN', join)}\n"
        )
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_two_hosts_guests_of_one_name_in_one_domain_are_refused_naming_both(tmp_path: Path) -> None:
    """Classroom A on hv01 and classroom B on hv02 were both given LAB-01, both joining school.example: the
    second join would take over the first guest's computer account, so the inventory is refused, at the
    second guest's line, naming the first guest, its host and its line too."""
    path = _two_hosts(tmp_path, "computer_name: LAB-01\n            JOIN", "computer_name: lab-01\n            JOIN")
    found = errors(load(path))
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:23:")
    assert ("VM 'lab-b' on hv02: computer name 'lab-01' in domain 'school.example' is already that of VM "
            f"'lab-a' on hv01 ({path}:12:") in found[0]


def test_two_hosts_guests_of_one_name_in_workgroups_are_a_warning(tmp_path: Path) -> None:
    path = _two_hosts(tmp_path, "computer_name: LAB-01", "computer_name: LAB-01")
    inventory = load(path)
    assert errors(inventory) == []
    warnings = [f.format() for f in inventory.findings if f.severity == "warning"]
    assert len(warnings) == 1 and "computer name 'LAB-01' is already that of VM 'lab-a' on hv01" in warnings[0]
    assert warnings[0].startswith(f"{path}:22:") and f"({path}:12:" in warnings[0]


def test_two_hosts_may_share_a_name_in_different_domains_or_one_in_a_workgroup(tmp_path: Path) -> None:
    path = _two_hosts(tmp_path, "computer_name: LAB-01\n            JOIN", "computer_name: LAB-01")
    assert [f.format() for f in load(path).findings] == []


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("SCHOOL\\joiner@school.example", "holds both"),
        ("SCHOOL\\it\\joiner", "is not of the form DOMAIN\\user"),
        ("\\joiner", "is not of the form DOMAIN\\user"),
        ("joiner@", "is not of the form user@dns.domain"),
        ("joiner@school", "'school' is not a fully qualified DNS domain name"),
        ("joiner@bad domain.example", "is not a fully qualified DNS domain name"),
        ("bad domain\\joiner", "is not a NetBIOS or DNS domain name"),
    ],
)
def test_a_join_account_in_no_form_the_credentials_page_lists_is_refused(tmp_path: Path, user: str,
                                                                         expected: str) -> None:
    domain = {"name": "school.example", "user": user, "password": "{{ lookup('env', 'JOIN_PASSWORD') }}"}
    path = inventory_file(tmp_path, f"{ENV_PASSWORD}\ndomain: {json.dumps(domain)}\n")
    found = errors(load(path))
    assert any("domain user" in e and expected in e for e in found), found


@pytest.mark.parametrize("user", ["joiner", "SCHOOL\\joiner", "school.example\\joiner", "joiner@school.example"])
def test_a_join_account_in_a_form_the_credentials_page_lists_is_taken(tmp_path: Path, user: str) -> None:
    domain = {"name": "school.example", "user": user, "password": "{{ lookup('env', 'JOIN_PASSWORD') }}"}
    path = inventory_file(tmp_path, f"{ENV_PASSWORD}\ndomain: {json.dumps(domain)}\n")
    assert errors(load(path)) == []
