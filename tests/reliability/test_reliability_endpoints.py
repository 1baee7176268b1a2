"""Two inventory names for one Hyper-V host are a validation error, pointing at the second name's line.

The story: the admin adds `hv01-exams` for exam-week VMs with the same ansible_host as `hv01`. Locks and
scheduled tasks are keyed by the inventory name, so the two would run unlocked at once and delete each
other's tasks on every apply. `validate` must say so before any host is contacted.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.inventory import load_inventory

INVENTORY = """\
all:
  vars:
    ansible_user: admin
    ansible_password: secret
    multipoint_vms: []  # our hosts (a host with none of our variables is another team's, left alone)
  hosts:
    hv01:
      ansible_host: hv01.school.local
    hv01-exams:
      ansible_host: HV01.school.local.
    hv02:
      ansible_host: hv02.school.local
    hv02-alt-port:
      ansible_host: hv02.school.local
      ansible_port: 5999
    v6-a:
      ansible_host: "::1"
    v6-b:
      ansible_host: "0:0:0:0:0:0:0:1"
"""


def endpoint_errors(tmp_path: Path, text: str) -> list:
    path = tmp_path / "school.yaml"
    path.write_text(text, encoding="utf-8")
    inventory = load_inventory(path)
    return [f for f in inventory.findings if f.is_error and "same WinRM endpoint" in f.message]


def test_a_second_name_for_the_same_host_and_port_is_an_error_at_its_line(tmp_path: Path):
    found = endpoint_errors(tmp_path, INVENTORY)
    messages = [f.message for f in found]
    assert len(found) == 2, messages
    exams = found[0]
    assert exams.message.startswith("host hv01-exams: HV01.school.local.:5986 is the same WinRM endpoint")
    assert "host hv01 (" in exams.message and "school.yaml:8" in exams.message  # where hv01 is
    assert exams.location is not None and exams.location.line == 10  # hv01-exams' ansible_host line
    assert "v6-b" in found[1].message and "host v6-a" in found[1].message


def test_the_same_address_on_another_port_is_another_endpoint(tmp_path: Path):
    assert not any("hv02" in f.message for f in endpoint_errors(tmp_path, INVENTORY))
