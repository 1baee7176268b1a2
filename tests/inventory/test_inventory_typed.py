"""From variables to typed specs: precedence of the product's variables, classrooms, defaults, floors,
env lookups, connections and credentials, each as the admin would write it."""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory_support import load, messages, write

from orchestrator.model import Secret

GB = 1024**3


def sim_host(extra: str = "", name: str = "hv01") -> str:
    return f"all:\n  hosts:\n    {name}:\n      ansible_connection: simulator\n" + extra


def test_product_variables_follow_ansible_precedence(tmp_path: Path) -> None:
    """Given defaults in all, a group, group_vars and host_vars, the deepest level wins whole (no merge)."""
    write(
        tmp_path / "inv.yaml",
        """
        all:
          vars:
            ansible_connection: simulator
            multipoint_vm_defaults: {cpus: 2, memory: 2GB, disk: {parent: 'D:\\all.vhdx'}}
          children:
            lab:
              vars:
                multipoint_vm_defaults: {cpus: 4, memory: 6GB, disk: {parent: 'D:\\lab.vhdx'}, switch: LAN}
              hosts:
                hv01:
                  multipoint_vms: [{name: a}]
                hv02:
                  multipoint_vms: [{name: b, cpus: 8}]
    """,
    )
    write(
        tmp_path / "host_vars/hv02.yml",
        "multipoint_vm_defaults: {memory: 8GB, disk: {copy_from: 'E:\\x.vhdx'}}\n",
    )
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors, messages(inventory)
    a = inventory.hosts["hv01"].vm("a")
    assert (a.cpus, a.memory, a.switch, a.disk.source) == (4, 6 * GB, "LAN", "D:\\lab.vhdx")
    b = inventory.hosts["hv02"].vm("b")
    # host_vars replaced the group's defaults whole: no switch, cpus from the VM, the copy_from disk
    assert (b.cpus, b.memory, b.switch, b.disk.kind, b.disk.source) == (
        8,
        8 * GB,
        None,
        "copy_from",
        "E:\\x.vhdx",
    )
    assert b.locations["memory"].file.endswith("host_vars/hv02.yml")


def test_classroom_becomes_premium_vms_with_seats_spread_evenly(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      multipoint_vm_defaults: {disk: {parent: 'D:\\images\\base.vhdx'}}
      multipoint_classrooms:
        - {name: lab, seats: 41, station_type: usb_over_ethernet, vm: {switch: LAN}}
        - {name: small, seats: 3}
"""),
    )
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors, messages(inventory)
    vms = inventory.hosts["hv01"].vms
    assert [vm.name for vm in vms] == ["lab-01", "lab-02", "lab-03", "small-01"]
    assert [vm.stations.usb_over_ethernet for vm in vms[:3]] == [14, 14, 13]
    assert all(vm.classroom == "lab" and vm.edition == "premium" and vm.switch == "LAN" for vm in vms[:3])
    # each sized at the floor for its seats: 11-14 seats -> 4 cpus, 8GB; up to 4 seats -> 2 cpus, 2GB
    assert [(vm.cpus, vm.memory) for vm in vms] == [(4, 8 * GB)] * 3 + [(2, 2 * GB)]
    assert vms[3].stations.rdp == 3


def test_classroom_of_exactly_twenty_is_one_vm_and_twenty_one_is_two(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      multipoint_vm_defaults: {disk: {parent: 'D:\\images\\base.vhdx'}}
      multipoint_classrooms: [{name: a, seats: 20}, {name: b, seats: 21}]
"""),
    )
    vms = load(tmp_path / "inv.yaml").hosts["hv01"].vms
    assert [(vm.name, vm.stations.total) for vm in vms] == [("a-01", 20), ("b-01", 11), ("b-02", 10)]


def test_explicit_size_below_floor_is_kept_and_warned(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      multipoint_classrooms:
        - {name: lab, seats: 18, vm: {cpus: 2, memory: 4GB, disk: {parent: 'D:\\images\\base.vhdx'}}}
"""),
    )
    inventory = load(tmp_path / "inv.yaml")
    vm = inventory.hosts["hv01"].vms[0]
    assert (vm.cpus, vm.memory) == (2, 4 * GB)
    warnings = messages(inventory, "warning")
    assert any(
        "inv.yaml:6:" in w and "2 cpus is below the MultiPoint floor of 6 for 18 seats" in w for w in warnings
    )
    assert any("memory 4GB is below the MultiPoint floor of 8GB" in w for w in warnings)
    assert not inventory.errors


def test_vm_defaults_without_stations(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("      multipoint_vms: [{name: x, disk: {size: 60GB, iso: 'D:\\mps.iso'}}]\n"),
    )
    vm = load(tmp_path / "inv.yaml").hosts["hv01"].vms[0]
    assert (vm.cpus, vm.memory, vm.generation, vm.state, vm.edition) == (2, 2 * GB, 2, "running", "premium")
    assert vm.disk.kind == "new" and vm.disk.size == 60 * GB and vm.disk.iso == "D:\\mps.iso"


def test_env_lookup_anywhere_and_unset_names_the_variable(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      multipoint_vms:
        - name: "{{ lookup('env', 'VM_NAME') }}"
          memory: "{{ lookup(\\"env\\", \\"VM_MEMORY\\") }}"
          switch: "{{ lookup('env', 'MISSING_SWITCH') }}"
          disk: {parent: 'D:\\images\\base.vhdx'}
"""),
    )
    inventory = load(tmp_path / "inv.yaml", environ={"VM_NAME": "from-env", "VM_MEMORY": "4GB"})
    assert [f.message for f in inventory.errors] == ["environment variable MISSING_SWITCH is not set"]
    assert inventory.errors[0].location.line == 8
    inventory = load(
        tmp_path / "inv.yaml", environ={"VM_NAME": "from-env", "VM_MEMORY": "4GB", "MISSING_SWITCH": "S"}
    )
    vm = inventory.hosts["hv01"].vms[0]
    assert (vm.name, vm.memory, vm.switch) == ("from-env", 4 * GB, "S")
    # `inventory --list` shows the lookup as written, not the value
    assert inventory.hostvars["hv01"]["multipoint_vms"][0]["name"] == "{{ lookup('env', 'VM_NAME') }}"


def test_schedules_parse_with_defaults(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      multipoint_vms: [{name: lab-01, disk: {parent: 'D:\\b.vhdx'}}]
      multipoint_schedules:
        - {name: nightly, checkpoint: clean, at: "02:30"}
        - {name: weekend, checkpoint: clean, at: "06:00", days: [sat, sun], vms: "lab-*"}
"""),
    )
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors, messages(inventory)
    nightly, weekend = inventory.hosts["hv01"].schedules
    assert (nightly.action, nightly.days, nightly.vms) == (
        "rollback",
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        "*",
    )
    assert weekend.days == ("sat", "sun") and weekend.location.line == 8


def test_winrm_connection_defaults_and_endpoint(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        """
        all:
          vars: {ansible_user: admin, ansible_password: "{{ lookup('env', 'PW') }}", multipoint_vms: []}
          hosts:
            hv01: {ansible_host: 10.0.0.5}
            hv02: {ansible_port: 5985}
            hv03: {ansible_winrm_scheme: https, ansible_port: "5999", ansible_winrm_path: /custom}
    """,
    )
    inventory = load(tmp_path / "inv.yaml", environ={"PW": "pw-123456"})
    assert not inventory.errors, messages(inventory)
    hv01, hv02, hv03 = (inventory.hosts[h].connection for h in ("hv01", "hv02", "hv03"))
    assert (hv01.kind, hv01.transport, hv01.cert_validation, hv01.endpoint) == (
        "winrm",
        "ntlm",
        "validate",
        "https://10.0.0.5:5986/wsman",
    )
    assert hv02.endpoint == "http://hv02:5985/wsman"  # Ansible: port 5985 means http unless told otherwise
    assert hv03.endpoint == "https://hv03:5999/custom"
    assert hv01.password == Secret("pw-123456")


def test_simulator_description_is_kept_raw(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      orchestrate_simulator:
        os_sku: 8
        memory: 64GB
        switches: [LAN, Staff]
        images: {'D:\\images\\p.vhdx': {edition_sku: 77}}
        shares: {'\\\\nas\\images': {free: 1TB}, '\\\\nas\\other': }
        folders: ['D:\\Hyper-V']
        computer_name: HV01
"""),
    )
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors, messages(inventory)
    assert inventory.hosts["hv01"].simulator == {
        "os_sku": 8,
        "memory": "64GB",
        "switches": ["LAN", "Staff"],
        "images": {"D:\\images\\p.vhdx": {"edition_sku": 77}},
        "shares": {"\\\\nas\\images": {"free": "1TB"}, "\\\\nas\\other": None},
        "folders": ["D:\\Hyper-V"],
        "computer_name": "HV01",
    }
    assert type(inventory.hosts["hv01"].simulator["switches"]) is list


def test_run_variables(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      orchestrate_retry: {attempts: 3, deadline: 60}
      orchestrate_operation_timeout: 900
      orchestrate_templates_dir: my-templates
"""),
    )
    host = load(tmp_path / "inv.yaml").hosts["hv01"]
    assert (host.retry.attempts, host.retry.deadline, host.operation_timeout) == (3, 60.0, 900.0)
    assert host.templates_dir == str(tmp_path / "my-templates")


# -- credentials -----------------------------------------------------------------------------------------

# A MultiPoint host over WinRM (a multipoint_* variable makes it ours: see test_inventory_fleet.py).
WINRM = "all:\n  hosts:\n    hv01:\n      ansible_user: admin\n      multipoint_vms: []\n"


def test_password_file_readable_only_by_owner(tmp_path: Path) -> None:
    write(tmp_path / "pw.txt", "s3cret-pass\nignored\n", mode=0o600)
    write(tmp_path / "inv.yaml", WINRM + "      orchestrate_password_file: pw.txt\n")
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors, messages(inventory)
    assert inventory.hosts["hv01"].connection.password == Secret("s3cret-pass")
    (tmp_path / "pw.txt").chmod(0o640)
    inventory = load(tmp_path / "inv.yaml")
    assert "hv01" not in inventory.hosts
    assert any("refused: group or others can access it" in m for m in messages(inventory, "error"))


def test_literal_password_refused_when_others_can_read_the_file(tmp_path: Path) -> None:
    write(tmp_path / "inv.yaml", WINRM + "      ansible_password: hunter2-literal\n", mode=0o644)
    inventory = load(tmp_path / "inv.yaml")
    assert [f"{f.location.line}: {f.message}" for f in inventory.errors] == [
        "6: a literal ansible_password in a file that group or others can read is refused"
    ]
    (tmp_path / "inv.yaml").chmod(0o600)
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors
    assert any("literal ansible_password" in m for m in messages(inventory, "warning"))
    assert inventory.hostvars["hv01"]["ansible_password"] == Secret("hunter2-literal")


def test_literal_password_in_group_vars_file_is_judged_by_that_file(tmp_path: Path) -> None:
    write(tmp_path / "inv.yaml", WINRM)
    write(tmp_path / "group_vars/all.yml", "ansible_password: hunter2-gv\n", mode=0o604)
    inventory = load(tmp_path / "inv.yaml")
    assert any(
        f.location.file.endswith("group_vars/all.yml") and "refused" in f.message for f in inventory.errors
    )


def test_ask_pass_is_called_once_per_user(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        """
        all:
          vars: {ansible_user: admin, multipoint_vms: []}
          hosts: {hv01: , hv02: , hv03: {ansible_user: other}, sim: {ansible_connection: simulator}}
    """,
    )
    asked: list[str] = []

    def ask(label: str) -> str:
        asked.append(label)
        return f"pw-for-{label.split('@')[0]}"

    inventory = load(tmp_path / "inv.yaml", ask_pass=ask)
    assert not inventory.errors, messages(inventory)
    assert asked == ["admin@hv01", "other@hv03"]
    assert inventory.hosts["hv02"].connection.password == Secret("pw-for-admin")
    assert inventory.hosts["sim"].connection.password is None


def test_missing_password_without_prompt_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "inv.yaml", WINRM)
    inventory = load(tmp_path / "inv.yaml")
    assert [f.message for f in inventory.errors] == ["host hv01: no password for admin"]
    assert "--ask-pass" in inventory.errors[0].fix


@pytest.mark.parametrize("transport", ["kerberos", "certificate"])
def test_transports_without_password(tmp_path: Path, transport: str) -> None:
    write(
        tmp_path / "inv.yaml",
        WINRM + f"      ansible_winrm_transport: {transport}\n"
        "      ansible_winrm_cert_pem: c.pem\n      ansible_winrm_cert_key_pem: k.pem\n",
    )
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors, messages(inventory)
    assert inventory.hosts["hv01"].connection.password is None


@pytest.mark.parametrize("written", ["[kerberos, ntlm]", "'kerberos,ntlm'"], ids=["list", "comma"])
def test_an_ansible_list_of_transports_is_refused_with_the_one_to_pick(tmp_path: Path, written: str) -> None:
    """Ansible's winrm plugin takes a list and tries each transport in turn (ansible/plugins/connection/
    winrm.py, _winrm_connect), which can fall back to a weaker one unseen; here a host names its one."""
    write(tmp_path / "inv.yaml", WINRM + f"      ansible_winrm_transport: {written}\n")
    inventory = load(tmp_path / "inv.yaml")
    (error,) = [f for f in inventory.errors if "transport" in f.message]
    assert "lists several transports (kerberos, ntlm)" in error.message and "never falls back" in error.message
    assert error.fix == "give the one this host accepts, e.g. ansible_winrm_transport: ntlm"
    assert error.location is not None and error.location.line == WINRM.count("\n") + 1


def test_classroom_names_unique_per_host(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host("""\
      multipoint_vm_defaults: {disk: {parent: 'D:\\images\\base.vhdx'}}
      multipoint_classrooms: [{name: Lab, seats: 5}, {name: lab, seats: 30}]
"""),
    )
    inventory = load(tmp_path / "inv.yaml")
    (error,) = inventory.errors
    assert error.message == "host hv01: two classrooms are named 'lab' (first at line 6)"
    assert (error.location.line, error.path[-1]) == (6, "name")


@pytest.mark.parametrize(
    ("classroom", "fragment"),
    [
        ("{name: 'a/b', seats: 5}", "classroom name 'a/b' contains /"),
        ("{name: lab, seats: 0}", "seats of classroom 'lab' must be at least 1"),
        ("{name: lab, seats: 5, station_type: vga}", "station_type 'vga' is not one of"),
        ("{name: lab, seats: 5, vm: {name: x}}", "unknown key 'name' in the vm of a classroom"),
        (
            "{name: lab, seats: 5, vm: {stations: {rdp: 1}}}",
            "unknown key 'stations' in the vm of a classroom",
        ),
        ("{name: lab}", "a classroom needs seats"),
        (
            "{name: lab, seats: 45, station_type: direct_video}",
            "direct_video stations are not supported in a VM",
        ),
    ],
)
def test_classroom_refusals(tmp_path: Path, classroom: str, fragment: str) -> None:
    write(
        tmp_path / "inv.yaml",
        sim_host(
            f"      multipoint_vm_defaults: {{disk: {{parent: 'D:\\b.vhdx'}}}}\n"
            f"      multipoint_classrooms: [{classroom}]\n"
        ),
    )
    found = messages(load(tmp_path / "inv.yaml"), "error")
    assert found and all(":6:" in line for line in found)
    assert any(fragment in line for line in found), found


def test_a_group_level_problem_is_reported_once_for_all_its_hosts(tmp_path: Path) -> None:
    write(
        tmp_path / "inv.yaml",
        """
        all:
          vars:
            ansible_connection: simulator
            orchestrate_retry: {attempts: many}
            orchestrate_retries: 3
          hosts: {hv01: , hv02: , hv03: }
    """,
    )
    inventory = load(tmp_path / "inv.yaml")
    assert [(f.location.line, f.message) for f in inventory.errors] == [
        (5, "orchestrate_retry: attempts must be a whole number, not 'many'"),
        (6, "unknown variable 'orchestrate_retries'"),
    ]
    assert inventory.errors[1].fix == "did you mean 'orchestrate_retry'?"
    assert list(inventory.hosts) == [] and list(inventory.hostvars) == ["hv01", "hv02", "hv03"]


def test_literal_password_in_host_vars_is_refused_when_readable(tmp_path: Path) -> None:
    write(tmp_path / "inv.yaml", WINRM)
    write(tmp_path / "host_vars/hv01.yml", "ansible_password: hunter2-hv\n", mode=0o640)
    (error,) = load(tmp_path / "inv.yaml").errors
    assert error.location.file.endswith("host_vars/hv01.yml") and error.location.line == 1
    assert "chmod 600" in error.fix


def test_a_certificate_not_validated_is_a_warning_at_validate(tmp_path: Path) -> None:
    """Every run warns of it on connecting (transport/winrm.py); validate, which contacts nothing, says it too."""
    write(tmp_path / "inv.yaml", WINRM + "      ansible_winrm_server_cert_validation: ignore\n")
    inventory = load(tmp_path / "inv.yaml")
    warnings = [f for f in inventory.findings if not f.is_error and "not validated" in f.message]
    assert len(warnings) == 1 and "ansible_winrm_ca_trust_path" in warnings[0].fix


@pytest.mark.parametrize(("old", "fix"), [("ssl", "write basic (Basic over HTTPS), or certificate"),
                                          ("plaintext", "write basic: pywinrm's 'plaintext' is Basic")])
def test_pywinrms_old_transport_names_are_named_for_what_they_are(tmp_path: Path, old: str, fix: str) -> None:
    """An Ansible inventory from before pywinrm's named transports: 'ssl' is Basic over HTTPS or, with a
    client certificate, certificate authentication (winrm/transport.py build_session); 'plaintext' is Basic."""
    write(tmp_path / "inv.yaml", WINRM + f"      ansible_winrm_transport: {old}\n")
    inventory = load(tmp_path / "inv.yaml")
    (error,) = [f for f in inventory.errors if "transport" in f.message]
    assert error.message == f"host hv01: ansible_winrm_transport {old!r} is an old pywinrm name"
    assert error.fix.startswith(fix)


ANSIBLE_NAMES = (
    "all:\n  hosts:\n    hv01:\n      ansible_host: wrong.example\n      ansible_winrm_host: 127.0.0.1\n"
    "      ansible_winrm_port: 5985\n      ansible_winrm_scheme: http\n      orchestrate_allow_unencrypted: true\n"
    "      ansible_winrm_user: admin\n      ansible_password: \"{{ lookup('env', 'PW_LOW') }}\"\n"
    "      ansible_winrm_password: \"{{ lookup('env', 'PW_HIGH') }}\"\n      multipoint_vms: []\n"
)


def test_ansible_winrm_names_are_read_as_ansible_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An inventory written for Ansible may use the winrm plugin's own names. Of an option's variables the
    last one its plugin lists wins (ansible/plugins/connection/winrm.py, ansible/config/manager.py
    _loop_entries): ansible_winrm_host over ansible_host, ansible_winrm_password over ansible_password."""
    monkeypatch.setenv("PW_LOW", "not-this-one")
    monkeypatch.setenv("PW_HIGH", "this-one")
    write(tmp_path / "inv.yaml", ANSIBLE_NAMES)
    inventory = load(tmp_path / "inv.yaml")
    assert not inventory.errors, messages(inventory)
    conn = inventory.hosts["hv01"].connection
    assert (conn.address, conn.port, conn.user, conn.password) == ("127.0.0.1", 5985, "admin", Secret("this-one"))


@pytest.mark.parametrize("name", ["ansible_winrm_pass", "ansible_winrm_password"])
def test_a_literal_password_under_ansibles_other_names_is_judged_the_same(tmp_path: Path, name: str) -> None:
    write(tmp_path / "inv.yaml", WINRM + f"      {name}: hunter2-literal\n", mode=0o644)
    inventory = load(tmp_path / "inv.yaml")
    assert [f"{f.location.line}: {f.message}" for f in inventory.errors] == [
        "6: a literal ansible_password in a file that group or others can read is refused"
    ]


def test_validate_warns_when_this_machine_cannot_make_a_hosts_logon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kerberos needs pykerberos (or winkerberos) beside pywinrm: without it every connection would fail with
    "requested auth method is kerberos, but pykerberos is not installed". validate says so first, once for all
    the hosts that use it, and looks the library up without importing anything."""
    import importlib.util

    from click.testing import CliRunner

    import orchestrator.logon_extras as extras
    from orchestrator.cli import main

    found = importlib.util.find_spec
    monkeypatch.setattr(extras.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("kerberos", "winkerberos") else found(name, *a))
    hosts = "".join(f"    hv0{i}:\n      ansible_winrm_transport: kerberos\n      multipoint_vms: []\n" for i in range(1, 6))
    write(tmp_path / "inv.yaml", "all:\n  hosts:\n" + hosts)
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "inv.yaml")])
    assert result.exit_code == 0, result.output  # a warning: the inventory itself is fine
    assert "host(s) hv01, hv02, hv03 and 2 more log on with kerberos, which this machine cannot do yet" in result.output
    assert "pip install 'pywinrm[kerberos]'" in result.output and result.output.count("log on with") == 1
