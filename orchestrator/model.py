"""The typed desired state every stage shares: what the inventory asks for, after resolution and defaults.

Inventory loading (inventory.py) produces these; rules, plan and render consume them. They are frozen so a
stage can never change what another stage sees, and every value keeps the place it came from (`Location`)
so a finding can point the admin at the exact file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value was written: a file and a 1-based line and column (and the path of keys leading to it)."""

    file: str
    line: int = 1
    column: int = 1
    path: tuple[str | int, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with the input, as a value: the CLI decides how to print it and which exit code follows."""

    severity: Severity
    message: str
    fix: str = ""
    location: Location | None = None
    path: tuple[str | int, ...] = ()

    def format(self) -> str:
        """`PATH:LINE:COL: severity: message (fix)`, one line, as editors and CI expect."""
        where = str(self.location) if self.location else "<inventory>"
        keys = ".".join(str(p) for p in self.path)
        text = f"{where}: {self.severity}: {keys + ': ' if keys else ''}{self.message}"
        if self.fix:
            text += f" (fix: {self.fix})"
        return " ".join(text.splitlines())

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class Secret:
    """A value that must never be shown: str() and repr() mask it; `reveal()` is the only way in.

    Keeping secrets in this type means a secret that slips into a log line, an f-string or a JSON dump
    comes out as `********`, not as the password.
    """

    __slots__ = ("_value",)
    MASK = "********"

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return self.MASK

    def __repr__(self) -> str:
        return f"Secret({self.MASK})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


class SimulatedSecret(Secret):
    """A password only a simulated guest gets (`{simulated: <label>}` in the inventory, issue 15): made up
    afresh, at random, each time the inventory is read, and never written anywhere, so the demo needs no
    variable to export. A simulated guest takes any password; a real one must get the site's own, so the
    rules refuse this form on every host that is not `ansible_connection: simulator`
    (orchestrator.rules.guest.simulated_secret_findings)."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        import secrets

        super().__init__("Sim-" + secrets.token_urlsafe(18))
        self.label = label


STATION_TYPES = ("rdp", "usb_over_ethernet", "direct_video", "usb_zero_client", "ps2", "split_screen")
VM_STATION_TYPES = ("rdp", "usb_over_ethernet")
MAX_SEATS_PER_VM = 20


@dataclass(frozen=True, slots=True)
class Stations:
    """Station counts by type. Every station counts toward the 20-seat limit of one Premium VM."""

    rdp: int = 0
    usb_over_ethernet: int = 0
    direct_video: int = 0
    usb_zero_client: int = 0
    ps2: int = 0
    split_screen: int = 0

    @property
    def total(self) -> int:
        # The fields of STATION_TYPES, written out: rules and sizing ask this for every VM.
        return (
            self.rdp
            + self.usb_over_ethernet
            + self.direct_video
            + self.usb_zero_client
            + self.ps2
            + self.split_screen
        )

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in STATION_TYPES}


DiskKind = Literal["parent", "copy_from", "new"]


@dataclass(frozen=True, slots=True)
class DiskSpec:
    """Exactly one way to get the VM's system disk.

    - parent: a differencing disk on a sysprepped Premium VHDX (`source`)
    - copy_from: a full copy of a VHDX (`source`)
    - new: an empty disk of `size` bytes plus an install ISO (`iso`)
    """

    kind: DiskKind
    source: str | None = None
    size: int | None = None
    iso: str | None = None

    @property
    def image(self) -> str | None:
        """The media whose edition decides whether the VM will be Premium."""
        return self.source if self.kind != "new" else self.iso


@dataclass(frozen=True, slots=True)
class DynamicMemory:
    minimum: int
    maximum: int


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    baseline: str | None = None
    keep: int | None = None
    pre_rollback: bool = False


VMState = Literal["running", "off", "absent"]

# Microsoft's published KMS client setup key (GVLK) for "Windows Server 2012 MultiPoint Premium"
# (MicrosoftDocs/windowsserverdocs WindowsServerDocs/get-started/kms-client-activation-keys.md, the Windows
# Server 2012 table; multipoint-facts.md quotes it). It activates only against the site's KMS host.
MULTIPOINT_PREMIUM_KMS_KEY = "XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G"
DEFAULT_READY_TIMEOUT = 45 * 60  # seconds: setup takes about 30 minutes (multipoint-facts.md), plus a margin


@dataclass(frozen=True, slots=True)
class DomainJoin:
    """An unattended domain join (Microsoft-Windows-UnattendedJoin, Identification): the domain to join, the
    OU for the computer account, and the account that may join it. The password is a Secret."""

    name: str
    user: str
    password: Secret
    ou: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """What the VM's Windows is set up with at first boot: the answer file's values.

    `computer_name` is None when the inventory gave none; the default (the VM name upper-cased, when it is
    a valid NetBIOS name) is the rules' to judge, so a finding can name the VM's line. `product_key` is a
    plain str for Microsoft's published KMS client key and a Secret for a MAK or retail key.
    """

    admin_password: Secret | None
    computer_name: str | None = None
    product_key: str | Secret = MULTIPOINT_PREMIUM_KMS_KEY
    time_zone: str = "UTC"
    locale: str = "en-US"
    organization: str | None = None
    owner: str | None = None
    domain: DomainJoin | None = None
    ready_timeout: int = DEFAULT_READY_TIMEOUT
    location: Location | None = None
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)

    def name_for(self, vm_name: str) -> str:
        """The computer name the guest gets: the one given, else the VM name upper-cased (rules check it)."""
        return self.computer_name if self.computer_name is not None else vm_name.upper()


@dataclass(frozen=True, slots=True)
class VMSpec:
    """One MultiPoint VM as the inventory wants it. Sizes are bytes."""

    name: str
    cpus: int
    memory: int
    disk: DiskSpec | None
    edition: Literal["premium", "standard"] = "premium"
    generation: int = 2
    dynamic_memory: DynamicMemory | None = None
    switch: str | None = None
    stations: Stations = field(default_factory=Stations)
    state: VMState = "running"
    path: str | None = None
    checkpoints: CheckpointPolicy = field(default_factory=CheckpointPolicy)
    classroom: str | None = None
    guest: GuestSpec | None = None
    location: Location | None = None
    # Where each field was written ("cpus", "disk", "stations", ...), for findings that point at the line.
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A host-side scheduled job, e.g. the nightly rollback of a classroom to its clean checkpoint."""

    name: str
    checkpoint: str
    at: str  # "HH:MM", host local time
    action: Literal["rollback"] = "rollback"
    days: tuple[str, ...] = WEEKDAYS
    vms: str = "*"
    location: Location | None = None
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)


Transport = Literal["basic", "ntlm", "kerberos", "credssp", "certificate"]


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach a host: Ansible's connection variables, typed, with Ansible's defaults."""

    kind: Literal["winrm", "simulator"] = "winrm"
    address: str = ""
    port: int | None = None
    user: str | None = None
    password: Secret | None = None
    transport: Transport = "ntlm"
    scheme: Literal["https", "http"] = "https"
    cert_validation: Literal["validate", "ignore"] = "validate"
    ca_trust_path: str | None = None
    message_encryption: Literal["auto", "always", "never"] = "auto"
    operation_timeout_sec: int = 20
    read_timeout_sec: int = 30
    path: str = "/wsman"
    cert_pem: str | None = None
    cert_key_pem: str | None = None
    kerberos_delegation: bool = False
    allow_unencrypted: bool = False

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 5986 if self.scheme == "https" else 5985

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{self.effective_port}{self.path}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try a transient failure: bounded attempts and a total deadline (seconds)."""

    attempts: int = 5
    deadline: float = 300.0


@dataclass(frozen=True, slots=True)
class HostSpec:
    """One Hyper-V host and everything the inventory wants on it."""

    name: str
    connection: Connection
    vms: tuple[VMSpec, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    groups: tuple[str, ...] = ()
    simulator: Mapping[str, Any] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    operation_timeout: float = 3600.0
    templates_dir: str | None = None
    location: Location | None = None
    # Where each variable came from ("ansible_port", "orchestrate_retry", ...): the file and line that won.
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)

    def vm(self, name: str) -> VMSpec | None:
        return next((vm for vm in self.vms if vm.name == name), None)


@dataclass(frozen=True, slots=True)
class Selection:
    """A `--limit` pattern evaluated once, over ALL resolved hosts (others' too, as Ansible's subset() sees
    them): the hosts it selected in inventory order, or why it selects none (`error`, a PatternError's text).
    A subscript (`lab[1:2]`) is not idempotent, so the CLI takes this result and never evaluates the
    pattern again over the narrowed `Inventory.hosts` (cli/output.py select_or_exit)."""

    pattern: str
    hosts: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    """A resolved inventory: hosts in file order, groups as Ansible sees them, and the findings of loading."""

    path: str
    hosts: Mapping[str, HostSpec]
    groups: Mapping[str, Group]
    hostvars: Mapping[str, Mapping[str, Any]]
    findings: tuple[Finding, ...] = ()
    selection: Selection | None = None  # what load_inventory(limit=...) selected, evaluated once

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    hosts: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
