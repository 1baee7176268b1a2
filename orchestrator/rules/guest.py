"""The rules for a VM's `guest` settings, the values its answer file will carry. Pure: model in, findings out.

- computer_name: Windows Setup takes at most 15 bytes and no spaces or `{ | } ~ [ \\ ] ^ ' : ; < = > ? @ !
  " # $ % ` ( ) + / . , * &`, and no name DnsValidateName refuses, such as one of digits only (Microsoft's
  unattend reference, "ComputerName", Applies To: Windows Server 2012, learn.microsoft.com/previous-versions/
  windows/it-pro/windows-8.1-and-8/ff715676(v=win.10)). We hold it to the stricter NetBIOS/DNS-safe subset
  every tool handles: 1-15 ASCII letters, digits and hyphens, not all digits, no hyphen at either end.
  Without one, the VM name upper-cased is the default when it passes; else an error asks for one.
  Names are unique per host (two guests of one name fight over it on the network and in the domain), and
  across the inventory's hosts within one domain (check_computer_names): two guests of one name joining the
  same domain share one computer account, whatever host each runs on.
- admin_password: required; the inventory reader already made it a Secret.
- product_key: Microsoft's KMS client setup key for Windows Server 2012 MultiPoint Premium is the default
  (model.MULTIPOINT_PREMIUM_KMS_KEY); a site's MAK or retail key is a Secret. Any key must be five groups of
  five characters. The public KMS keys of other editions are refused by name (a Standard key cannot set up
  a Premium guest, multipoint-facts.md).
- time_zone: a Windows time zone id (the "Standard Time" names of the registry, not IANA names), checked
  against the CLDR windowsZones table as tzlocal ships it (tzlocal.windows_tz.win_tz).
- locale: a culture name such as en-US (International-Core's SystemLocale, UserLocale, UILanguage,
  InputLocale all take it).
- organization, owner: RegisteredOrganization / RegisteredOwner, printable text.
- domain: name (a DNS domain name), user, password (Secret), ou (a distinguished name, OU=...).
- ready_timeout: more than zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from tzlocal.windows_tz import win_tz

from orchestrator.model import (
    MULTIPOINT_PREMIUM_KMS_KEY,
    Finding,
    GuestSpec,
    HostSpec,
    Location,
    Secret,
    SimulatedSecret,
    VMSpec,
)
from orchestrator.rules.findings import at, finding, shown
from orchestrator.rules.names import printable_problem

MAX_COMPUTER_NAME = 15
WINDOWS_TIME_ZONES = frozenset(win_tz)
_WINDOWS_TIME_ZONES_LOWER = {zone.lower(): zone for zone in WINDOWS_TIME_ZONES}
_IANA_TO_WINDOWS = {iana.lower(): windows for windows, iana in win_tz.items()}
# Public KMS client setup keys of Windows Server 2012 editions (kms-client-activation-keys.md, Windows
# Server 2012 table): recognised so a message can say which edition a written key belongs to.
KNOWN_KMS_KEYS = {
    MULTIPOINT_PREMIUM_KMS_KEY: "Windows Server 2012 MultiPoint Premium",
    "HM7DN-YVMH3-46JC3-XYTG7-CYQJJ": "Windows Server 2012 MultiPoint Standard",
    "BN3D2-R7TKB-3YPBD-8DRP2-27GG4": "Windows Server 2012",
    "XC9B7-NBPP2-83J2H-RHMBY-92BT4": "Windows Server 2012 Server Standard",
    "48HP8-DN98B-MYWDG-T2DCC-8W83P": "Windows Server 2012 Datacenter",
}
_KEY = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?-([A-Z]{2}|[0-9]{3})$")
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_OU = re.compile(r"^\s*OU\s*=", re.IGNORECASE)


def _dc_parts(ou: str) -> list[str]:
    """The DC= components of a distinguished name, lower case, in order."""
    parts = [part.strip() for part in ou.split(",")]
    return [part.split("=", 1)[1].strip().lower() for part in parts if part.lower().startswith("dc=") and "=" in part]


def netbios_problem(name: str) -> str | None:
    """Why `name` cannot be a guest's computer name, as the end of a sentence; None when it is fine."""
    if not name:
        return "is empty"
    if len(name) > MAX_COMPUTER_NAME:
        return f"is {len(name)} characters long; a computer name has at most {MAX_COMPUTER_NAME}"
    bad = sorted({ch for ch in name if not (ch.isascii() and (ch.isalnum() or ch == "-"))})
    if bad:
        return f"contains {' '.join(repr(ch) for ch in bad)}; only letters A-Z, digits and hyphens may appear"
    if name.isdigit():
        return "is all digits; Windows refuses a computer name of digits only"
    if name.startswith("-") or name.endswith("-"):
        return "starts or ends with a hyphen"
    return None


def check_guests(host: HostSpec) -> Iterator[Finding]:
    """Every guest rule for the host's VMs, and one computer name per guest on the host."""
    seen: dict[str, VMSpec] = {}
    for vm in host.vms:
        if vm.guest is None:
            continue
        yield from check_guest(host, vm, vm.guest)
        name = vm.guest.name_for(vm.name)
        if netbios_problem(name) is not None:
            continue
        key = name.upper()  # NetBIOS names compare case-insensitively
        if key in seen:
            first = seen[key]
            yield finding(
                "error",
                f"VM {shown(vm.name)} on {host.name}: computer name {name!r} is already VM "
                f"{shown(first.name)}'s",
                "give each guest its own computer_name (a computer_name in multipoint_vm_defaults or a "
                "classroom's vm names every VM alike)",
                at(vm.guest.locations, "computer_name", vm.guest.location or vm.location),
            )
        else:
            seen[key] = vm


def check_computer_names(hosts: Iterable[HostSpec]) -> Iterator[Finding]:
    """Two guests of one computer name on different hosts: an error when both join the same domain, a warning
    when both stay in a workgroup (one host's own names are check_guests' to report).

    Why an error: UnattendedJoin's JoinDomain and Credentials pages say nothing about a computer account that
    already exists, and NetJoinDomain, which the join goes through, creates or uses the account named after
    the machine (learn.microsoft.com win32 api lmjoin nf-lmjoin-netjoindomain): no page promises that the
    second join of a name is refused. If it reuses or resets the first guest's account, the second guest
    passes the ready wait while the first one silently loses its trust with the domain, and every restore of
    its baseline brings back a machine whose secure channel is broken. In workgroups the two only clash on
    the network (NetBIOS name resolution), if they share one: a warning. Domains compare without case and
    without a trailing dot; a domain written once by its DNS name and once by its NetBIOS name cannot be
    told to be the same here. VMs to be removed (state: absent) are left out."""
    first: dict[tuple[str, str | None], tuple[HostSpec, VMSpec]] = {}
    for host in hosts:
        for vm in host.vms:
            if vm.guest is None or vm.state == "absent":
                continue
            name = vm.guest.name_for(vm.name)
            if netbios_problem(name) is not None:
                continue
            written = vm.guest.domain.name if vm.guest.domain is not None else None
            domain = written.rstrip(".").lower() if written is not None else None
            key = (name.upper(), domain)  # NetBIOS names compare case-insensitively
            earlier = first.setdefault(key, (host, vm))
            if earlier[0] is host:
                continue  # the first of this name, or one more on the same host (check_guests said so)
            other_host, other_vm = earlier
            assert other_vm.guest is not None
            where = at(other_vm.guest.locations, "computer_name", other_vm.guest.location or other_vm.location)
            other = (f"that of VM {shown(other_vm.name)} on {other_host.name}"
                     + (f" ({where})" if where is not None else ""))
            if written is not None:
                yield finding(
                    "error",
                    f"VM {shown(vm.name)} on {host.name}: computer name {name!r} in domain {shown(written)} is "
                    f"already {other}: both guests would join the domain with one computer account, and the "
                    "first would lose its trust",
                    "give each guest of a domain its own computer_name, on every host",
                    at(vm.guest.locations, "computer_name", vm.guest.location or vm.location),
                )
            else:
                yield finding(
                    "warning",
                    f"VM {shown(vm.name)} on {host.name}: computer name {name!r} is already {other}, also "
                    "in a workgroup: on one network the two clash",
                    "give each guest its own computer_name, unless the two hosts' networks never meet",
                    at(vm.guest.locations, "computer_name", vm.guest.location or vm.location),
                )


def check_guest(host: HostSpec, vm: VMSpec, guest: GuestSpec) -> Iterator[Finding]:
    label = f"VM {shown(vm.name)} on {host.name}: guest"
    loc = guest.locations
    here = guest.location or vm.location

    def where(key: str) -> Location | None:
        return at(loc, key, here)

    if guest.computer_name is None:
        problem = netbios_problem(vm.name.upper())
        if problem is not None:
            yield finding(
                "error",
                f"{label}: the VM name upper-cased cannot be its computer name: {vm.name.upper()!r} {problem}",
                "add computer_name: <1-15 letters, digits, hyphens> to the VM's guest",
                here,
            )
    else:
        problem = netbios_problem(guest.computer_name)
        if problem is not None:
            yield finding("error", f"{label}: computer_name {shown(guest.computer_name)} {problem}",
                          "write 1-15 letters, digits and hyphens, like LAB-01", where("computer_name"))
    if guest.admin_password is None:
        yield finding(
            "error",
            f"{label}: admin_password is required (the local Administrator's password)",
            "add admin_password: \"{{ lookup('env', 'MP_ADMIN_PASSWORD') }}\" or {file: /path/to/file}",
            here,
        )
    else:
        yield from _check_password_complexity(label, guest.admin_password, where("admin_password"))
    if vm.disk is not None and vm.disk.kind not in ("parent", "copy_from"):
        # An answer file goes into a sysprepped image's Windows; an empty disk has none (plan.py refuses the
        # VM at apply time too: this says so before any host is asked, audit H L3).
        yield finding("error", f"{label}: `guest` needs a disk made from a sysprepped image (disk: parent or "
                      "copy_from), whose Windows reads the answer file at its first boot, not an empty disk",
                      "give disk: {parent: <sysprepped Premium VHDX>}, or remove `guest` to install by hand",
                      here)
    yield from _check_key(label, guest, where("product_key"))
    yield from _check_time_zone(label, guest.time_zone, where("time_zone"))
    if not _LOCALE.match(guest.locale):
        yield finding("error", f"{label}: locale {shown(guest.locale)} is not a culture name like en-US",
                      "write a language and region: en-US, de-DE, fr-FR, ...", where("locale"))
    for key in ("organization", "owner"):
        text = getattr(guest, key)
        if text is not None:
            problem = printable_problem(text)
            if problem is None and len(text) > 256:
                problem = f"is {len(text)} characters long; the limit is 256"
            if problem:
                yield finding("error", f"{label}: {key} {problem}", "write printable text", where(key))
    if guest.domain is not None:
        yield from _check_domain(label, vm, guest, where("domain"))
    if guest.ready_timeout <= 0:
        yield finding("error", f"{label}: ready_timeout must be more than zero", "write 45m",
                      where("ready_timeout"))
    yield from simulated_secret_findings(host, label, guest, where)


def _check_password_complexity(label: str, password: Any, location: Location | None) -> Iterator[Finding]:
    """A warning, not an error: "Password must meet complexity requirements" is "Enabled" for a member
    server by default and "Disabled" for a stand-alone one (its page in MicrosoftDocs/windows-itpro-docs:
    at least six characters, three of the four kinds, not the account's name), and a guest joined in the
    specialize pass is a member by oobeSystem. What Windows Welcome does with a refused AdministratorPassword
    no page says; a guest waiting there fails the ready wait 45 minutes later."""
    if isinstance(password, SimulatedSecret):
        return  # made up for a simulated guest, which takes any
    text = password.reveal() if isinstance(password, Secret) else str(password)
    kinds = sum((any(c.isupper() for c in text), any(c.islower() for c in text), any(c.isdigit() for c in text),
                 any(not c.isalnum() for c in text)))
    if len(text) < 6 or kinds < 3 or "administrator" in text.lower():
        yield finding(
            "warning",
            f"{label}: admin_password does not meet Windows' password complexity rules (at least 6 characters, "
            "3 of upper case, lower case, digits and symbols, not the account's name), which a domain member "
            "enforces: the guest may stop at Windows Welcome",
            "use a longer password with three kinds of characters",
            location,
        )


def _check_key(label: str, guest: GuestSpec, location: Location | None) -> Iterator[Finding]:
    key = guest.product_key
    if isinstance(key, Secret):
        typed = key.reveal().strip().upper()
        if not _KEY.match(typed):
            yield finding("error", f"{label}: product_key is not five groups of five letters and digits",
                          "give the 5x5 key, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX", location)
        elif typed in KNOWN_KMS_KEYS and typed != MULTIPOINT_PREMIUM_KMS_KEY:
            # A published KMS client key is no secret, and one of another edition's makes setup install that
            # edition's licence on the Premium image (or stop at the ProductKey page): the key's own edition
            # is named, never the key, as the value came in as a secret.
            yield finding(
                "error",
                f"{label}: the secret product_key is the published KMS client key of {KNOWN_KMS_KEYS[typed]}, "
                "not of Windows Server 2012 MultiPoint Premium",
                f"remove product_key for the Premium KMS client key {MULTIPOINT_PREMIUM_KMS_KEY}, or give the "
                "site's MAK",
                location,
            )
        return
    edition = KNOWN_KMS_KEYS.get(key)
    if key != MULTIPOINT_PREMIUM_KMS_KEY:
        yield finding(
            "error",
            f"{label}: product_key {key} is the KMS client key of {edition or 'another edition'}, "
            "not of Windows Server 2012 MultiPoint Premium",
            f"remove product_key for the Premium KMS client key {MULTIPOINT_PREMIUM_KMS_KEY}, or give the "
            "site's MAK as a secret",
            location,
        )


def _check_time_zone(label: str, zone: str, location: Location | None) -> Iterator[Finding]:
    if zone in WINDOWS_TIME_ZONES:
        return
    exact = _WINDOWS_TIME_ZONES_LOWER.get(zone.lower())
    windows = exact or _IANA_TO_WINDOWS.get(zone.lower())
    fix = f"did you mean '{windows}'?" if windows else "write a Windows time zone id, like 'W. Europe Standard Time'"
    yield finding("error", f"{label}: time_zone {shown(zone)} is not a Windows time zone id", fix, location)


def _check_domain(label: str, vm: VMSpec, guest: GuestSpec, location: Location | None) -> Iterator[Finding]:
    domain = guest.domain
    assert domain is not None
    if vm.edition == "standard":
        yield finding("error", f"{label}: MultiPoint Server Standard cannot join a domain",
                      "use Premium media and edition: premium", location)
    labels = domain.name.rstrip(".").split(".")
    if len(domain.name) > 255 or not all(_DNS_LABEL.match(part) for part in labels):
        yield finding("error", f"{label}: domain name {shown(domain.name)} is not a DNS domain name",
                      "write the domain's DNS name, like school.example", location)
    problem = printable_problem(domain.user) or _join_user_problem(domain.user)
    if problem:
        yield finding("error", f"{label}: domain user {problem}",
                      "write the joining account's name (joiner), or joiner@school.example, or SCHOOL\\joiner",
                      location)
    if domain.ou is not None and not _OU.match(domain.ou):
        yield finding("error", f"{label}: domain ou {shown(domain.ou)} is not a distinguished name",
                      "write OU=Classrooms,DC=school,DC=example", location)
    elif domain.ou is not None and len(labels) == 1:
        # A NetBIOS name (JoinDomain takes either): the OU's DC= parts are the DNS name, which this one does
        # not say, so the full path cannot be checked here, nor a correct one shown (audit H, L1).
        yield finding("error", f"{label}: domain {shown(domain.name)} is a NetBIOS name, and an OU is a path in "
                      "the domain's DNS name (OU=...,DC=school,DC=example): the two cannot be checked together",
                      "give the domain's DNS name, like school.example, with the OU", location)
    elif domain.ou is not None and _dc_parts(domain.ou) != [part.lower() for part in labels]:
        # UnattendedJoin's MachineObjectOU goes to NetJoinDomain, whose lpAccountOU "must contain a full path,
        # for example, OU=testOU,DC=domain,DC=Domain,DC=com" (learn.microsoft.com win32 api lmjoin
        # nf-lmjoin-netjoindomain): an OU without the domain's DC= parts fails the join, and setup goes on.
        kept = [part.strip() for part in domain.ou.split(",") if part.strip() and not part.strip().lower().startswith("dc=")]
        full = ",".join(kept + [f"DC={part}" for part in labels])
        yield finding("error", f"{label}: domain ou {shown(domain.ou)} is not the full path of an OU in "
                      f"{shown(domain.name)}: a join to it fails", f"write {shown(full)}", location)


def _join_user_problem(user: str) -> str | None:
    """Why `user` cannot be UnattendedJoin's Username, as the end of a sentence; None when it can.

    A bare name goes with Credentials/Domain (the domain's name). A name in one of the forms Credentials/Domain
    lists for a Username without Domain, "user principal name (UPN) format (user@fully-qualified-DNS-domain),
    NetBIOS-domain\\username format, or the fully-qualified-DNS-domain\\username format" (unattend reference,
    Domain, Applies To: Windows Server 2012), goes without it (templates/guest/unattend.xml.j2). Anything else,
    both marks, two of one, an empty part or a domain part that is no DNS name, matches none of the forms."""
    if "\\" not in user and "@" not in user:
        return None
    if "\\" in user and "@" in user:
        return f"{shown(user)} holds both '\\' and '@': write user@dns.domain or DOMAIN\\user, not both"
    mark = "\\" if "\\" in user else "@"
    parts = user.split(mark)
    if len(parts) != 2 or not all(part.strip() for part in parts):
        return f"{shown(user)} is not of the form " + ("DOMAIN\\user" if mark == "\\" else "user@dns.domain")
    domain = parts[0] if mark == "\\" else parts[1]
    labels = domain.rstrip(".").split(".")
    if not all(_DNS_LABEL.match(label) for label in labels) or (mark == "@" and len(labels) < 2):
        what = "a NetBIOS or DNS domain name" if mark == "\\" else "a fully qualified DNS domain name"
        return f"{shown(user)}: {shown(domain)} is not {what}"
    return None


def simulated_secret_findings(host: HostSpec, label: str, guest: GuestSpec, where: Any) -> Iterator[Finding]:
    """`{simulated: ...}` (model.SimulatedSecret) is a made-up password for a simulated guest: on a host that is
    not `ansible_connection: simulator` it is an error, so a real guest never gets a password nobody knows."""
    from orchestrator.model import SimulatedSecret

    if host.connection.kind == "simulator":
        return
    fields = [("admin_password", guest.admin_password, "admin_password"),
              ("product_key", guest.product_key, "product_key")]
    if guest.domain is not None:
        fields.append(("domain: password", guest.domain.password, "domain"))
    for name, value, key in fields:
        if isinstance(value, SimulatedSecret):
            yield finding(
                "error",
                f"{label}: {name} is {{simulated: ...}}, a made-up password only a simulated host may use",
                "give the real password as {{ lookup('env', 'NAME') }} or {file: /path/to/file}",
                where(key),
            )
