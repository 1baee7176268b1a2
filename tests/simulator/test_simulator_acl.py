"""Owners and access rules of folders, as the state folder's check relies on them (the sources are cited in
orchestrator/simulator/host/acl.py): who owns what they create, what the .NET calls read and write, and that
a rule set on a folder binds who may write in it. Where Windows would accept more than the templates need,
the simulator refuses (a script that passes here must not fail there)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.simulator import Simulator
from orchestrator.simulator.host.acl import ADMINISTRATORS, SYSTEM, Identity, enum_of
from orchestrator.simulator.language.dotnet import SECURITY_ENUMS

FOLDER = "C:\\ProgramData\\Lab"
STUDENT = Identity.local_user("S-1-5-21-1004336348-1177238915-682003330-1013")
OWNER = f"[string][System.IO.Directory]::GetAccessControl('{FOLDER}', [System.Security.AccessControl.AccessControlSections]::Owner).GetOwner([System.Security.Principal.SecurityIdentifier])"
ADMINS_ONLY = f"""
$acl = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
$acl.SetAccessRuleProtection($true, $false)
$sid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'
$acl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $sid, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow'))
[System.IO.Directory]::SetAccessControl('{FOLDER}', $acl)
"""
MAKE = f"$null = New-Item -ItemType Directory -Path '{FOLDER}'"


def ok(sim: Simulator, script: str, identity: Identity | None = None) -> str:
    result = sim.run(script, identity=identity)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def fails(sim: Simulator, script: str, identity: Identity | None = None) -> str:
    result = sim.run(script, identity=identity)
    assert result.exit_code == 1, result.stdout
    return result.stderr


@pytest.mark.parametrize(
    ("who", "owner"),
    [(None, ADMINISTRATORS), (STUDENT, STUDENT.user), (Identity.system(), SYSTEM)],
    ids=["an administrator", "a student", "SYSTEM"],
)
def test_a_new_folder_is_owned_as_its_creators_token_says(who: Identity | None, owner: str) -> None:
    sim = Simulator()
    ok(sim, f"$null = New-Item -ItemType Directory -Path '{FOLDER}\\Sub'", who)  # its missing parent is made too
    assert ok(sim, OWNER) == owner
    assert sim.host.files[(FOLDER + "\\sub").lower()].owner == owner


def test_rules_set_on_a_folder_bind_who_may_write_in_it_and_below() -> None:
    sim = Simulator()
    ok(sim, MAKE + "; " + ADMINS_ONLY)
    for path in (FOLDER + "\\a.txt", FOLDER + "\\deeper\\b.txt"):
        denied = fails(sim, f"New-Item -ItemType File -Path '{path}' -Value 'x' -Force", STUDENT)
        assert f"Access to the path '{FOLDER}" in denied and "is denied" in denied
    opened = fails(sim, f"[System.IO.File]::Open('{FOLDER}\\host.lock', 'OpenOrCreate', 'ReadWrite', 'Read')", STUDENT)
    assert 'Exception calling "Open"' in opened and "is denied" in opened
    ok(sim, f"New-Item -ItemType File -Path '{FOLDER}\\a.txt' -Value 'x'")  # the administrator may
    assert "is denied" in fails(sim, f"Remove-Item -LiteralPath '{FOLDER}\\a.txt'", STUDENT)
    assert sim.host.files[(FOLDER + "\\a.txt").lower()].text == "x"


def test_the_owner_may_rewrite_the_rules_but_writes_nothing_they_do_not_grant() -> None:
    sim = Simulator()
    ok(sim, MAKE, STUDENT)
    ok(sim, ADMINS_ONLY, STUDENT)  # an owner implicitly has WRITE_DAC
    assert "is denied" in fails(sim, f"New-Item -ItemType File -Path '{FOLDER}\\x' -Value 'x'", STUDENT)
    other = Identity.local_user("S-1-5-21-1004336348-1177238915-682003330-1014")
    refused = fails(sim, ADMINS_ONLY, other)  # somebody else has no right to the rules
    assert "Attempted to perform an unauthorized operation." in refused


def give_to(sid: str) -> str:
    return f"""
$acl = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
$acl.SetOwner((New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList '{sid}'))
[System.IO.Directory]::SetAccessControl('{FOLDER}', $acl)
"""


def test_an_administrator_may_give_its_own_folder_to_administrators_but_not_to_anyone_else() -> None:
    sim = Simulator(seed={"creator_owns": True})
    ok(sim, MAKE)
    assert ok(sim, OWNER).endswith("-500")  # the policy made the account itself the owner
    assert "is not allowed to be the owner" in fails(sim, give_to(SYSTEM))
    ok(sim, give_to(ADMINISTRATORS))
    assert ok(sim, OWNER) == ADMINISTRATORS and sim.host.files[FOLDER.lower()].acl is None  # the rules untouched
    assert "is not allowed to be the owner" in fails(sim, give_to(ADMINISTRATORS), STUDENT)


def test_an_unmodified_security_object_is_not_written_back() -> None:
    """"If a DirectorySecurity object has not been modified, it will not be persisted" (Directory.SetAccessControl)."""
    sim = Simulator()
    ok(sim, MAKE)
    before = sim.mutations
    ok(sim, f"$acl = [System.IO.Directory]::GetAccessControl('{FOLDER}', [System.Security.AccessControl.AccessControlSections]::Access); [System.IO.Directory]::SetAccessControl('{FOLDER}', $acl)")
    assert sim.mutations == before and sim.host.files[FOLDER.lower()].acl is None


def test_the_same_rules_written_again_change_nothing_in_the_model() -> None:
    sim = Simulator()
    ok(sim, MAKE + "; " + ADMINS_ONLY)
    before = sim.mutations
    ok(sim, ADMINS_ONLY)
    assert sim.mutations == before


def test_rules_read_back_as_they_were_written() -> None:
    sim = Simulator()
    ok(sim, MAKE + "; " + ADMINS_ONLY)
    read = ok(sim, f"""
$acl = [System.IO.Directory]::GetAccessControl('{FOLDER}', [System.Security.AccessControl.AccessControlSections]::Access)
Write-Output $acl.AreAccessRulesProtected
$acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]) | ForEach-Object {{ [string]$_.IdentityReference + ' ' + $_.AccessControlType + ' ' + $_.FileSystemRights + ' ' + $_.InheritanceFlags + ' ' + $_.PropagationFlags + ' ' + $_.IsInherited }}
""")
    assert read.splitlines() == ["True", "S-1-5-32-544 Allow FullControl ContainerInherit, ObjectInherit None False"]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("Set-Acl -Path 'C:\\ProgramData' -AclObject $null", "'Set-Acl' is not recognized"),
        ("$r = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList 'BUILTIN\\Administrators', 'FullControl', 'Allow'",
         "as a SecurityIdentifier only"),
        ("$s = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'; "
         "$r = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $s, 'FullContrl', 'Allow'",
         'Cannot convert value "FullContrl" to type "System.Security.AccessControl.FileSystemRights".'),
        ("$s = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'Administrators'",
         "Value was invalid."),
        ("[System.IO.Directory]::GetAccessControl('C:\\nowhere', [System.Security.AccessControl.AccessControlSections]::Owner)",
         "Could not find a part of the path 'C:\\nowhere'."),
        ("[System.IO.Directory]::Delete('C:\\ProgramData')", "does not support the static method"),
    ],
    ids=["no Set-Acl", "account names", "enum names", "SID text", "missing folder", "other Directory methods"],
)
def test_what_the_templates_must_not_rely_on_is_refused(script: str, message: str) -> None:
    assert message in fails(Simulator(), script)


@given(st.sampled_from(sorted(SECURITY_ENUMS)), st.data())
def test_every_flags_value_reads_back_as_the_names_it_was_made_of(key: str, data: st.DataObject) -> None:
    type_name, members = SECURITY_ENUMS[key]
    names = data.draw(st.lists(st.sampled_from(sorted(members)), min_size=1, max_size=3, unique=True))
    value = 0
    for name in names:
        value |= members[name]
    shown = enum_of(value, members, type_name)
    assert shown.value == value
    parts = [part.strip() for part in shown.name.split(",")]
    recombined = 0
    for part in parts:
        assert part in members, shown.name
        recombined |= members[part]
    assert recombined == value
