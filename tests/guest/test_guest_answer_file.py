"""The answer file and SetupComplete.cmd: what Windows Setup will read, parsed back with a real XML parser."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from guest_support import PASSWORD, model_vm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.model import DomainJoin, Secret
from orchestrator.render import (
    Renderer,
    RenderError,
    answer_file_problem,
    render_answer_file,
    render_setup_complete,
)

NS = {"u": "urn:schemas-microsoft-com:unattend"}
RENDERER = Renderer()
# Text XML 1.0 can carry: no C0 controls but tab/newline/CR, no surrogates, no U+FFFE/U+FFFF.
XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=40,
)
HOSTILE = ["'\"", "<>&", "]]>", "<![CDATA[x]]>", "&amp;", "</ComputerName><x>", "Ünïcødé 学校", "<?xml?>"]


def parsed(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def setting(root: ET.Element, pass_name: str, component: str, path: str) -> str | None:
    for comp in root.findall(f"u:settings[@pass='{pass_name}']/u:component", NS):
        if comp.get("name") == component:
            found = comp.find(path, NS)
            return None if found is None else found.text
    return None


def test_the_answer_file_names_the_computer_sets_the_zone_key_and_password() -> None:
    vm = model_vm(time_zone="W. Europe Standard Time", locale="de-DE", organization="Schule", owner="IT")
    root = parsed(render_answer_file(RENDERER, vm, reveal=True))
    shell = "Microsoft-Windows-Shell-Setup"
    assert setting(root, "specialize", shell, "u:ComputerName") == "LAB-01"
    assert setting(root, "specialize", shell, "u:ProductKey") == "XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G"
    assert setting(root, "specialize", shell, "u:TimeZone") == "W. Europe Standard Time"
    assert setting(root, "specialize", shell, "u:RegisteredOrganization") == "Schule"
    for key in ("InputLocale", "SystemLocale", "UILanguage", "UserLocale"):
        assert setting(root, "oobeSystem", "Microsoft-Windows-International-Core", f"u:{key}") == "de-DE"
    hidden = setting(root, "oobeSystem", shell, "u:UserAccounts/u:AdministratorPassword/u:Value")
    assert setting(root, "oobeSystem", shell, "u:UserAccounts/u:AdministratorPassword/u:PlainText") == "false"
    assert hidden is not None
    assert base64.b64decode(hidden).decode("utf-16-le") == PASSWORD + "AdministratorPassword"
    architectures = {c.get("processorArchitecture") for c in root.iter("{urn:schemas-microsoft-com:unattend}component")}
    assert architectures == {"amd64"}
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", "u:Identification") is None


def test_a_domain_join_goes_into_the_specialize_pass() -> None:
    join = DomainJoin(name="school.example", user="joiner", password=Secret("j0in"), ou="OU=Labs,DC=school,DC=example")
    root = parsed(render_answer_file(RENDERER, model_vm(domain=join), reveal=True))
    ident = "u:Identification"
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", f"{ident}/u:JoinDomain") == "school.example"
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", f"{ident}/u:Credentials/u:Password") == "j0in"
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", f"{ident}/u:MachineObjectOU") == join.ou


@pytest.mark.parametrize("user", ["SCHOOL\\joiner", "school.example\\joiner", "joiner@school.example"])
def test_a_join_account_written_with_its_domain_goes_without_credentials_domain(user: str) -> None:
    """Credentials/Domain's page: without Domain, Username is user@dns.domain or DOMAIN\\user; with Domain (its
    example), a bare name. The admin who writes the account with its domain gets the form the page describes."""
    join = DomainJoin(name="school.example", user=user, password=Secret("j0in"))
    root = parsed(render_answer_file(RENDERER, model_vm(domain=join), reveal=True))
    credentials = "u:Identification/u:Credentials/u:"
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", credentials + "Username") == user
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", credentials + "Domain") is None
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", "u:Identification/u:JoinDomain") == (
        "school.example")
    bare = parsed(render_answer_file(RENDERER, model_vm(domain=replace(join, user="joiner")), reveal=True))
    assert setting(bare, "specialize", "Microsoft-Windows-UnattendedJoin", credentials + "Domain") == "school.example"


def test_the_file_to_show_holds_no_secret() -> None:
    mak = Secret("ABCDE-12345-FGHIJ-67890-KLMNO")
    join = DomainJoin(name="school.example", user="joiner", password=Secret("j0in-pw"))
    vm = model_vm(product_key=mak, domain=join)
    shown = render_answer_file(RENDERER, vm)
    hidden = base64.b64encode((PASSWORD + "AdministratorPassword").encode("utf-16-le")).decode()
    for secret in (PASSWORD, hidden, "j0in-pw", mak.reveal()):
        assert secret not in shown
    assert shown.count("********") == 3


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(organization=st.one_of(XML_TEXT, st.sampled_from(HOSTILE)), owner=st.one_of(XML_TEXT, st.sampled_from(HOSTILE)),
       password=XML_TEXT, join_password=XML_TEXT, user=st.one_of(XML_TEXT, st.sampled_from(HOSTILE)))
def test_hostile_values_stay_text(organization: str, owner: str, password: str, join_password: str, user: str) -> None:
    join = DomainJoin(name="school.example", user=user, password=Secret(join_password), ou=f"OU={owner}")
    vm = model_vm(organization=organization, owner=owner, admin_password=Secret(password), domain=join)
    root = parsed(render_answer_file(RENDERER, vm, reveal=True))
    shell = "Microsoft-Windows-Shell-Setup"
    # XML normalises a CR to a newline when it parses: the value is the same text as Windows will read it
    assert setting(root, "specialize", shell, "u:RegisteredOrganization") == organization.replace("\r", "\n")
    assert setting(root, "specialize", shell, "u:RegisteredOwner") == owner.replace("\r", "\n")
    join_path = "u:Identification/u:Credentials/u:"
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", join_path + "Username") == user.replace("\r", "\n")
    assert setting(root, "specialize", "Microsoft-Windows-UnattendedJoin", join_path + "Password") == join_password.replace("\r", "\n")
    value = setting(root, "oobeSystem", shell, "u:UserAccounts/u:AdministratorPassword/u:Value")
    assert base64.b64decode(value or "").decode("utf-16-le") == password + "AdministratorPassword"
    assert len(root.findall("u:settings", NS)) == 2  # no value added an element


def test_a_value_xml_cannot_carry_is_refused_without_showing_it() -> None:
    with pytest.raises(RenderError) as caught:
        render_answer_file(RENDERER, model_vm(organization="bell\x07"))
    assert "U+0007" in str(caught.value)
    join = DomainJoin(name="s.example", user="j", password=Secret("pw\x01secret"))
    with pytest.raises(RenderError) as caught:
        render_answer_file(RENDERER, model_vm(domain=join), reveal=True)
    assert "secret" in str(caught.value) and "pw\x01secret" not in str(caught.value)


def test_a_broken_site_override_fails_at_render(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    (folder / "guest").mkdir(parents=True)
    (folder / "guest" / "unattend.xml.j2").write_text(
        '<?xml version="1.0"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings>\n', encoding="utf-8"
    )
    with pytest.raises(RenderError) as caught:
        render_answer_file(Renderer(folder), model_vm())
    assert "not a valid answer file: XML parse error" in str(caught.value)
    (folder / "guest" / "unattend.xml.j2").write_text("<x>{{ computer_name }}</x>", encoding="utf-8")
    with pytest.raises(RenderError, match="root element is x"):
        render_answer_file(Renderer(folder), model_vm())
    (folder / "guest" / "unattend.xml.j2").write_text("<unattend>{{ nothing_here }}</unattend>", encoding="utf-8")
    with pytest.raises(RenderError, match="nothing_here"):
        render_answer_file(Renderer(folder), model_vm())


def test_a_site_override_reaches_only_masked_secrets_in_the_shown_file(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    (folder / "guest").mkdir(parents=True)
    (folder / "guest" / "unattend.xml.j2").write_text(
        '<unattend xmlns="urn:schemas-microsoft-com:unattend"><p>{{ guest.admin_password.reveal() }}</p></unattend>',
        encoding="utf-8",
    )
    shown = render_answer_file(Renderer(folder), model_vm())
    assert PASSWORD not in shown and "********" in shown


def test_entities_and_dtds_are_not_an_answer_file() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaa">]><unattend xmlns="urn:schemas-microsoft-com:unattend">&a;</unattend>'
    assert answer_file_problem(bomb) == "it declares a DTD or an entity"


def test_setup_complete_deletes_the_answer_file_before_it_reports_ready() -> None:
    text = render_setup_complete(RENDERER, "OrchestrateReady", "vm-1.ready")
    lines = text.split("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    delete = next(i for i, line in enumerate(lines) if line.startswith('del /f /q "%WINDIR%\\Panther\\unattend.xml"'))
    check = next(i for i, line in enumerate(lines) if line.startswith("if exist"))
    report = next(i for i, line in enumerate(lines) if line.startswith("reg add"))
    assert delete < check < report
    assert lines[report] == (
        'reg add "HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest" /v OrchestrateReady /t REG_SZ /d vm-1.ready /f'
    )


@pytest.mark.parametrize("token", ["a b", "x&calc", "%PATH%", "a\"b", "", "^"])
def test_setup_complete_refuses_a_value_cmd_could_read_as_code(token: str) -> None:
    with pytest.raises(RenderError, match="only letters, digits"):
        render_setup_complete(RENDERER, "OrchestrateReady", token)


def test_a_guestless_vm_has_no_answer_file() -> None:
    with pytest.raises(RenderError, match="no guest settings"):
        render_answer_file(RENDERER, replace(model_vm(), guest=None))
