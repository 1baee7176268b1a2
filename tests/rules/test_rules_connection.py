"""Connection, run-setting and schedule rules: secure defaults, choices listed, times and days checked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator.model import WEEKDAYS, Connection, DiskSpec, HostSpec, RetryPolicy, Schedule, Secret, VMSpec
from orchestrator.rules import check_host

WINRM = Connection(kind="winrm", address="hv01", user="admin", password=Secret("x"))


def errors(connection: Connection | None = None, **changes: object) -> list[str]:
    spec = replace(HostSpec(name="hv01", connection=connection or WINRM), **changes)
    return [f.message for f in check_host(spec) if f.is_error]


def test_defaults_are_secure_and_valid() -> None:
    assert errors() == []
    assert WINRM.endpoint == "https://hv01:5986/wsman" and WINRM.cert_validation == "validate"


@pytest.mark.parametrize(
    ("field", "variable", "value", "choices"),
    [
        ("kind", "ansible_connection", "ssh", "winrm, simulator"),
        ("transport", "ansible_winrm_transport", "ntml", "basic, ntlm, kerberos, credssp, certificate"),
        ("scheme", "ansible_winrm_scheme", "ftp", "https, http"),
        ("cert_validation", "ansible_winrm_server_cert_validation", "no", "validate, ignore"),
        ("message_encryption", "ansible_winrm_message_encryption", "maybe", "auto, always, never"),
    ],
)
def test_choices(field: str, variable: str, value: str, choices: str) -> None:
    assert errors(replace(WINRM, **{field: value})) == [
        f"host hv01: {variable} {value!r} is not one of: {choices}"
    ]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"port": 0}, "not a TCP port"),
        ({"port": 70000}, "not a TCP port"),
        ({"path": "wsman"}, "must start with /"),
        ({"operation_timeout_sec": 0}, "operation_timeout_sec must be at least 1"),
        ({"operation_timeout_sec": 30, "read_timeout_sec": 30}, "must be larger than"),
        ({"transport": "certificate"}, "needs ansible_winrm_cert_pem"),
        ({"user": None}, "ntlm authentication needs ansible_user"),
        ({"transport": "basic", "message_encryption": "always"}, "message encryption needs ntlm"),
        ({"scheme": "http", "transport": "basic"}, "basic over plain HTTP sends credentials"),
        ({"scheme": "http", "message_encryption": "never"}, "ntlm over plain HTTP"),
        ({"address": ""}, "ansible_host is empty"),
    ],
)
def test_connection_rules(changes: dict[str, object], fragment: str) -> None:
    found = errors(replace(WINRM, **changes))
    assert len(found) == 1 and fragment in found[0], found


def test_plain_http_is_allowed_only_by_name() -> None:
    assert errors(replace(WINRM, scheme="http", transport="basic", allow_unencrypted=True)) == []
    assert errors(replace(WINRM, scheme="http")) == []  # NTLM over HTTP encrypts each message


def test_run_settings() -> None:
    assert errors(retry=RetryPolicy(attempts=0)) == [
        "host hv01: orchestrate_retry attempts must be at least 1"
    ]
    assert errors(retry=RetryPolicy(deadline=0)) == [
        "host hv01: orchestrate_retry deadline must be positive (seconds)"
    ]
    assert errors(operation_timeout=-1) == [
        "host hv01: orchestrate_operation_timeout must be positive (seconds)"
    ]


def schedule(**changes: object) -> Schedule:
    return replace(Schedule(name="nightly", checkpoint="clean", at="03:30"), **changes)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"action": "reboot"}, "action 'reboot' is not one of: rollback"),
        ({"at": "24:00"}, "is not a time HH:MM"),
        ({"at": "2:30"}, "is not a time HH:MM"),
        ({"at": "02:60"}, "is not a time HH:MM"),
        ({"days": ("mon", "funday")}, "day 'funday' is not one of: " + ", ".join(WEEKDAYS)),
        ({"days": ()}, "days is empty"),
        ({"checkpoint": ""}, "checkpoint is empty"),
    ],
)
def test_schedule_rules(changes: dict[str, object], fragment: str) -> None:
    found = errors(schedules=(schedule(**changes),))
    assert len(found) == 1 and fragment in found[0], found


def test_schedule_names_unique_and_glob_matching_no_vm_is_a_warning() -> None:
    assert len(errors(schedules=(schedule(), schedule(name="NIGHTLY")))) == 1
    vm = VMSpec(name="lab-01", cpus=2, memory=2 * 1024**3, disk=DiskSpec(kind="parent", source="D:\\b.vhdx"))
    spec = HostSpec(name="hv01", connection=WINRM, vms=(vm,), schedules=(schedule(vms="library-*"),))
    (warning,) = check_host(spec)
    assert warning.severity == "warning" and "matches no VM" in warning.message
    assert check_host(replace(spec, schedules=(schedule(vms="LAB-*"),))) == []


@pytest.mark.parametrize("time", ["01:00", "02:30", "02:59"])
def test_a_time_in_the_daylight_saving_hour_is_a_warning(time: str) -> None:
    spec = HostSpec(name="hv01", connection=WINRM, schedules=(schedule(at=time),))
    (warning,) = [f for f in check_host(spec) if "daylight saving" in f.message]
    assert warning.severity == "warning" and "03:00" in (warning.fix or "")
    assert not [f for f in check_host(replace(spec, schedules=(schedule(at="03:00"),))) if "daylight" in f.message]


def test_an_operation_timeout_above_the_hosts_default_maxtimeoutms_is_warned_about() -> None:
    def warnings(seconds: int) -> list[str]:
        conn = Connection(operation_timeout_sec=seconds, read_timeout_sec=seconds + 10)
        return [f.message for f in check_host(HostSpec(name="hv01", connection=conn)) if f.severity == "warning"]

    assert any("above the 60 s a WinRM host allows by default (MaxTimeoutms)" in w for w in warnings(120))
    assert not any("MaxTimeoutms" in w for w in warnings(60))
