"""Owners and access rules of local folders: what the state folder's safety check (lib/host_lock.ps1.j2) reads
and writes, and who may then write in it.

What a script sees, and the sources:
- Who runs the script (`Identity`): its user SID and groups. A member of Administrators creates objects owned
  by the Administrators group ("For users who are members of the built-in Administrators group, the system
  automatically sets the default owner SID in the access token to the Administrators group", learn.microsoft.com
  "How Security Descriptors are Set on New Directory Objects"); anyone else by the user's own SID ("The owner of
  a new object is the default owner security identifier (SID) from the primary or impersonation token of the
  creating process", learn.microsoft.com/windows/win32/secauthz/owner-of-a-new-object). A scheduled task of
  the product runs as SYSTEM (S-1-5-18); whether SYSTEM's token names SYSTEM or Administrators as the default
  owner is not sourced, and the script accepts both. "An object's owner implicitly has WRITE_DAC access to the
  object" (same page): the reason the script refuses a folder somebody else owns.
- `[System.IO.Directory]::GetAccessControl(path, sections)` and `SetAccessControl(path, security)`
  (learn.microsoft.com/dotnet/api/system.io.directory.getaccesscontrol, .setaccesscontrol, .NET Framework 4.5):
  "the ACL specified by the directorySecurity parameter replaces the existing ACL for the directory"; only a
  DirectorySecurity "that has been modified after object creation" is persisted, and of it only the parts
  modified (its rules, or its owner after SetOwner): ObjectSecurity keeps a flag per part (OwnerModified,
  AccessRulesModified: learn.microsoft.com/dotnet/api/system.security.accesscontrol.objectsecurity), and
  SetAccessControl persists only those: `directorySecurity.Persist(fullPath)` (dotnet/corefx
  src/System.IO.FileSystem.AccessControl/src/System/IO/FileSystemAclExtensions.cs, Microsoft's MIT-licensed
  port of the .NET Framework code) and `FileSystemSecurity.Persist`, which writes
  `GetAccessControlSectionsFromChanges()`: Access if AccessRulesModified, Owner if OwnerModified, and so on
  (.../System/Security/AccessControl/FileSystemSecurity.cs there; a decompiled mscorlib 4.0.30319, the
  assembly of .NET Framework 4.5 on Windows Server 2012, reads the same; mono's PersistModifications too).
  Set-Acl, which writes back the owner it read too, fails
  on Windows PowerShell 4.0 on 2012 R2 with "The security identifier is not allowed to be the owner of this
  object" when the owner is not the caller (ScottKnights/FSLogix#2 reproduced it there; ansible/ansible#20555):
  the simulator has no Set-Acl, so a template cannot use it. Who may set which owner: `Identity.may_own`.
- `SetAccessRuleProtection(isProtected, preserveInheritance)`, `AddAccessRule`, `GetAccessRules(includeExplicit,
  includeInherited, targetType)`, `AreAccessRulesProtected`, `GetOwner(targetType)`
  (learn.microsoft.com/dotnet/api/system.security.accesscontrol.objectsecurity, .commonobjectsecurity).
- Well-known SIDs: S-1-5-32-544 Administrators, S-1-5-18 Local System, S-1-5-32-545 Users, S-1-5-11
  Authenticated Users, S-1-1-0 Everyone (learn.microsoft.com/windows/win32/secauthz/well-known-sids);
  S-1-5-32-578 Hyper-V Administrators (DOMAIN_ALIAS_RID_HYPER_V_ADMINS = 578, SDDL "HA", new in Windows Server
  2012: learn.microsoft.com/windows/win32/secauthz/sid-strings).

What the model leaves out, on purpose: a folder nobody set rules on has the rules it would inherit from a
parent the simulator does not model (its access is not checked, as before this module; GetAccessControl
reports inherited Administrators and SYSTEM full control, not protected); ProgramData's own rules are not
sourced (that Users may create folders there is believed, which is why the script checks the owner). Deny
rules win over allow rules; only the rights the file model needs are checked (create, write, delete).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.simulator.host.model import FileEntry, norm_path, parent_path, share_root
from orchestrator.simulator.host.registry import CmdletError
from orchestrator.simulator.language.dotnet import SECURITY_ENUMS
from orchestrator.simulator.language.netobject import NetObject
from orchestrator.simulator.language.values import PSEnum, PSRuntimeError, to_bool, to_string

ADMINISTRATORS = "S-1-5-32-544"
SYSTEM = "S-1-5-18"
USERS = "S-1-5-32-545"
AUTHENTICATED_USERS = "S-1-5-11"
EVERYONE = "S-1-1-0"
HYPERV_ADMINISTRATORS = "S-1-5-32-578"
# The remote user a simulated session stands for when the inventory names none: the built-in Administrator
# (RID 500) of a machine domain (the S-1-5-21-x-y-z form of learn.microsoft.com/windows/win32/secauthz/sid-components).
DEFAULT_USER = "S-1-5-21-1004336348-1177238915-682003330-500"

RIGHTS_TYPE, RIGHTS = SECURITY_ENUMS["security.accesscontrol.filesystemrights"]
INHERITANCE_TYPE, INHERITANCE = SECURITY_ENUMS["security.accesscontrol.inheritanceflags"]
PROPAGATION_TYPE, PROPAGATION = SECURITY_ENUMS["security.accesscontrol.propagationflags"]
CONTROL_TYPE, CONTROL = SECURITY_ENUMS["security.accesscontrol.accesscontroltype"]
SECTIONS_TYPE, SECTIONS = SECURITY_ENUMS["security.accesscontrol.accesscontrolsections"]
CREATE_FILES, CREATE_DIRECTORIES, WRITE_DATA = 2, 4, 2
DELETE, DELETE_CHILD = 65536, 64


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a script runs as: the user's SID and the groups in its token. `creator_owns`: the host's policy
    "System objects: Default owner for objects created by members of the Administrators group" says "Object
    creator", so even an administrator's new objects are the user's own (its default on Windows XP was
    "Object creator", on Server 2003 "Administrators group": KB 318825; on 2012 not sourced)."""

    user: str
    groups: frozenset[str]
    creator_owns: bool = False

    @classmethod
    def session(cls, user: str, admin: bool, creator_owns: bool = False) -> Identity:
        """The remote user: a local administrator, or a member of Hyper-V Administrators only."""
        extra = ADMINISTRATORS if admin else HYPERV_ADMINISTRATORS
        return cls(user, frozenset({extra, USERS, AUTHENTICATED_USERS, EVERYONE}), creator_owns)

    @classmethod
    def system(cls) -> Identity:
        return cls(SYSTEM, frozenset({ADMINISTRATORS, AUTHENTICATED_USERS, EVERYONE}))

    @classmethod
    def local_user(cls, user: str) -> Identity:
        """Somebody with a plain account on the host (no administrator, no Hyper-V Administrators)."""
        return cls(user, frozenset({USERS, AUTHENTICATED_USERS, EVERYONE}))

    @property
    def sids(self) -> frozenset[str]:
        return self.groups | {self.user}

    @property
    def default_owner(self) -> str:
        if self.user == SYSTEM:
            return SYSTEM
        return ADMINISTRATORS if ADMINISTRATORS in self.groups and not self.creator_owns else self.user

    def may_own(self, sid: str) -> bool:
        """Whether this identity may make `sid` an object's owner without privileges: itself, or a group of its
        token that may own objects (TOKEN_OWNER: "the attributes on the group must include SE_GROUP_OWNER",
        learn.microsoft.com ntifs TOKEN_OWNER; taken here to be Administrators for an administrator, and
        SYSTEM's own). Anything else is ERROR_INVALID_OWNER, "The security identifier is not allowed to be
        the owner of this object" (the error of ScottKnights/FSLogix#2)."""
        return sid == self.user or (sid == ADMINISTRATORS and ADMINISTRATORS in self.groups)


def enum_value(value: Any, table: dict[str, int], type_name: str) -> int:
    """An enum argument as PowerShell converts it: the enum itself, its number, or a name list ("A, B")."""
    if isinstance(value, PSEnum):
        return value.value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    total = 0
    lowered = {k.lower(): v for k, v in table.items()}
    for part in to_string(value).split(","):
        key = part.strip().lower()
        if key not in lowered:
            raise PSRuntimeError(f'Cannot convert value "{to_string(value)}" to type "{type_name}".',
                                 "InvalidCastFromStringToEnum", "InvalidArgument")
        total |= lowered[key]
    return total


def method_error(method: str, count: int, message: str, error_id: str) -> PSRuntimeError:
    """A .NET exception as PowerShell reports it for a method call (a MethodInvocationException)."""
    return PSRuntimeError(f'Exception calling "{method}" with "{count}" argument(s): "{message}"', error_id,
                          "NotSpecified")


def enum_of(value: int, table: dict[str, int], type_name: str) -> PSEnum:
    """A flags value with the name .NET gives it: the one name of that value, or its parts joined by ", "."""
    for name, number in table.items():
        if number == value:
            return PSEnum(type_name, name, value)
    parts, left = [], value
    for name, number in sorted(table.items(), key=lambda item: -item[1]):
        if number and number & left == number:
            parts.append(name)
            left &= ~number
    name = ", ".join(reversed(parts)) if parts and not left else str(value)
    return PSEnum(type_name, name, value)


class SecurityIdentifier(NetObject):
    type_name = "System.Security.Principal.SecurityIdentifier"

    def __init__(self, value: str) -> None:
        parts = value.split("-")
        if len(parts) < 3 or parts[0].upper() != "S" or not all(p.isdigit() for p in parts[1:]):
            raise PSRuntimeError('Exception calling ".ctor" with "1" argument(s): "Value was invalid.\r\n'
                                 'Parameter name: sddlForm"', "ConstructorInvokedThrowException", "InvalidOperation")
        self.value = "S-" + "-".join(parts[1:])

    def __str__(self) -> str:
        return self.value

    def member(self, lname: str) -> Any:
        return self.value if lname == "value" else None

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname == "tostring":
            return self.value
        return super().call(lname, name, args)


class WindowsIdentity(NetObject):
    """[System.Security.Principal.WindowsIdentity]::GetCurrent(): the identity the script runs as."""

    type_name = "System.Security.Principal.WindowsIdentity"

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def member(self, lname: str) -> Any:
        if lname == "user":
            return SecurityIdentifier(self.identity.user)
        return None


class FileSystemAccessRule(NetObject):
    type_name = "System.Security.AccessControl.FileSystemAccessRule"

    def __init__(self, sid: str, rights: int, inheritance: int, propagation: int, control: int,
                 inherited: bool = False) -> None:
        self.sid, self.rights, self.inheritance = sid, rights, inheritance
        self.propagation, self.control, self.inherited = propagation, control, inherited

    @classmethod
    def from_arguments(cls, args: list[Any]) -> FileSystemAccessRule:
        """New-Object ... FileSystemAccessRule -ArgumentList identity, rights, [inheritance, propagation,] type."""
        if len(args) not in (3, 5):
            raise PSRuntimeError(f'Cannot find an overload for "FileSystemAccessRule" and the argument count: '
                                 f'"{len(args)}".', "ConstructorInvokedThrowException", "InvalidOperation")
        if not isinstance(args[0], SecurityIdentifier):
            # A name ("BUILTIN\Administrators") is translated by Windows and localized: the templates pass SIDs.
            raise PSRuntimeError("The simulator takes a FileSystemAccessRule's identity as a SecurityIdentifier "
                                 "only (account names are localized on Windows).", "NotSupported", "NotImplemented")
        rights = enum_value(args[1], RIGHTS, RIGHTS_TYPE)
        inheritance = propagation = 0
        if len(args) == 5:
            inheritance = enum_value(args[2], INHERITANCE, INHERITANCE_TYPE)
            propagation = enum_value(args[3], PROPAGATION, PROPAGATION_TYPE)
        control = enum_value(args[-1], CONTROL, CONTROL_TYPE)
        return cls(args[0].value, rights, inheritance, propagation, control)

    def to_json(self) -> dict[str, Any]:
        return {"sid": self.sid, "rights": self.rights, "inheritance": self.inheritance,
                "propagation": self.propagation, "control": self.control}

    def member(self, lname: str) -> Any:
        if lname == "identityreference":
            return SecurityIdentifier(self.sid)
        if lname == "filesystemrights":
            return enum_of(self.rights, RIGHTS, RIGHTS_TYPE)
        if lname == "inheritanceflags":
            return enum_of(self.inheritance, INHERITANCE, INHERITANCE_TYPE)
        if lname == "propagationflags":
            return enum_of(self.propagation, PROPAGATION, PROPAGATION_TYPE)
        if lname == "accesscontroltype":
            return enum_of(self.control, CONTROL, CONTROL_TYPE)
        if lname == "isinherited":
            return self.inherited
        return None


class DirectorySecurity(NetObject):
    """A folder's security as GetAccessControl read it (the sections asked for), or a new one (New-Object)."""

    type_name = "System.Security.AccessControl.DirectorySecurity"

    def __init__(self, owner: str | None = None, protected: bool = False,
                 rules: list[FileSystemAccessRule] | None = None) -> None:
        self.owner = owner
        self.protected = protected
        self.rules = list(rules or [])
        self.access_modified = False
        self.owner_modified = False

    def member(self, lname: str) -> Any:
        if lname == "areaccessrulesprotected":
            return self.protected
        return None

    def call(self, lname: str, name: str, args: list[Any]) -> Any:
        if lname == "getowner":
            if self.owner is None:
                return None
            return SecurityIdentifier(self.owner)
        if lname == "setowner":
            if not args or not isinstance(args[0], SecurityIdentifier):
                raise PSRuntimeError('Cannot convert argument "identity" to type '
                                     '"System.Security.Principal.IdentityReference".',
                                     "MethodArgumentConversionInvalidCastArgument", "NotSpecified")
            self.owner = args[0].value
            self.owner_modified = True
            return None
        if lname == "setaccessruleprotection":
            protect, preserve = to_bool(args[0]), to_bool(args[1])
            if protect and not preserve:
                self.rules = [rule for rule in self.rules if not rule.inherited]
            elif protect:
                for rule in self.rules:
                    rule.inherited = False
            self.protected = protect
            self.access_modified = True
            return None
        if lname in ("addaccessrule", "setaccessrule"):
            rule = args[0] if args else None
            if not isinstance(rule, FileSystemAccessRule):
                raise PSRuntimeError(f'Cannot convert argument "rule" to type "{FileSystemAccessRule.type_name}".',
                                     "MethodArgumentConversionInvalidCastArgument", "NotSpecified")
            if lname == "setaccessrule":
                self.rules = [r for r in self.rules if r.inherited or r.sid != rule.sid or r.control != rule.control]
            self.rules.append(FileSystemAccessRule(rule.sid, rule.rights, rule.inheritance, rule.propagation,
                                                   rule.control))
            self.access_modified = True
            return None
        if lname == "getaccessrules":
            explicit, inherited = to_bool(args[0]), to_bool(args[1])
            return [rule for rule in self.rules if (inherited if rule.inherited else explicit)]
        return super().call(lname, name, args)


def owner_of(entry: FileEntry | None) -> str:
    """The owner a folder shows: who made it, or Administrators for one the simulator was seeded with."""
    return (entry.owner if entry is not None else None) or ADMINISTRATORS


def _inherited_rules(table: dict[str, FileEntry], path: str, is_dir: bool) -> list[FileSystemAccessRule] | None:
    """The rules `path` inherits: those of each folder above it that pass to a folder (ContainerInherit) or a
    file (ObjectInherit) this deep, nearest first, up to and including a folder whose rules are protected;
    None when no folder above it has rules of its own (access there is not modelled)."""
    out: list[FileSystemAccessRule] = []
    found = False
    depth = 1
    parent = parent_path(path)
    while parent:
        entry = table.get(norm_path(parent))
        if entry is not None and entry.acl is not None:
            found = True
            for raw in entry.acl["rules"]:
                if not raw["inheritance"] & (1 if is_dir else 2):
                    continue
                if raw["propagation"] & 1 and depth > 1:  # NoPropagateInherit: the folder's children only
                    continue
                out.append(FileSystemAccessRule(raw["sid"], raw["rights"], raw["inheritance"] if is_dir else 0,
                                                0, raw["control"], inherited=True))
            if entry.acl["protected"]:
                break
        depth += 1
        up = parent_path(parent)
        if up == parent:
            break
        parent = up
    return out if found else None


def effective_rules(table: dict[str, FileEntry], path: str, is_dir: bool) -> list[FileSystemAccessRule] | None:
    """What governs access to `path`: its own rules and (unless protected) those it inherits; None: unmodelled."""
    entry = table.get(norm_path(path))
    own: list[FileSystemAccessRule] = []
    if entry is not None and entry.acl is not None:
        own = [FileSystemAccessRule(r["sid"], r["rights"], r["inheritance"], r["propagation"], r["control"])
               for r in entry.acl["rules"] if not r["propagation"] & 2]  # InheritOnly: not for the folder itself
        if entry.acl["protected"]:
            return own
    inherited = _inherited_rules(table, path, is_dir)
    if inherited is None and (entry is None or entry.acl is None):
        return None
    return own + (inherited or [])


def allowed(rules: list[FileSystemAccessRule] | None, identity: Identity, right: int) -> bool:
    if rules is None:
        return True
    sids = identity.sids
    mine = [rule for rule in rules if rule.sid in sids and rule.rights & right]
    if any(rule.control == 1 for rule in mine):
        return False
    return any(rule.control == 0 for rule in mine)


def denied(path: str) -> CmdletError:
    """The file cmdlets' UnauthorizedAccessException text (E_ACCESSDENIED)."""
    return CmdletError(f"Access to the path '{path}' is denied.", "UnauthorizedAccess", "PermissionDenied", path)


def directory_static(ctx: Any, lname: str, args: list[Any]) -> Any:
    """[System.IO.Directory]::GetAccessControl(path, sections) / ::SetAccessControl(path, security)."""
    method = {"getaccesscontrol": "GetAccessControl", "setaccesscontrol": "SetAccessControl"}.get(lname)
    if method is None or len(args) != 2:
        raise PSRuntimeError(f"The simulator does not support the static method [System.IO.Directory]::{lname}() "
                             f"with {len(args)} argument(s).", "NotSupported", "NotImplemented")
    path = to_string(args[0])
    fs = ctx.fs
    if share_root(path) is not None or fs.kind(path) != "dir":
        # UNC paths are not modelled (the state folder is local); a missing folder is DirectoryNotFound.
        raise method_error(method, 2, f"Could not find a part of the path '{path}'.", "DirectoryNotFoundException")
    entry = fs.get(path)
    if method == "GetAccessControl":
        sections = enum_value(args[1], SECTIONS, SECTIONS_TYPE)
        owner = owner_of(entry) if sections & SECTIONS["Owner"] else None
        protected, rules = False, []
        if sections & SECTIONS["Access"]:
            if entry is not None and entry.acl is not None:
                protected = bool(entry.acl["protected"])
            found = effective_rules(fs.local, path, True)
            if found is None:  # nothing modelled above it: what an unmodelled parent would pass on
                found = [FileSystemAccessRule(sid, RIGHTS["FullControl"], 3, 0, 0, inherited=True)
                         for sid in (SYSTEM, ADMINISTRATORS)]
            rules = found
        return DirectorySecurity(owner, protected, rules)
    security = args[1]
    if not isinstance(security, DirectorySecurity):
        raise method_error(method, 2, "Value cannot be null.\r\nParameter name: directorySecurity",
                            "ArgumentNullException")
    if not (security.access_modified or security.owner_modified):
        return None  # "If a DirectorySecurity object has not been modified, it will not be persisted"
    table = fs.local
    identity = ctx.identity
    rules = effective_rules(table, path, True)
    if security.owner_modified:
        if not identity.may_own(str(security.owner)):
            raise method_error(method, 2, "The security identifier is not allowed to be the owner of this object.",
                                "InvalidOperationException")
        if not allowed(rules, identity, RIGHTS["TakeOwnership"]):  # WRITE_OWNER: the owner has no implicit one
            raise method_error(method, 2, "Attempted to perform an unauthorized operation.",
                                "UnauthorizedAccessException")
    if security.access_modified and not (identity.user == owner_of(entry) or owner_of(entry) in identity.groups
                                         or allowed(rules, identity, RIGHTS["ChangePermissions"])):  # WRITE_DAC
        raise method_error(method, 2, "Attempted to perform an unauthorized operation.",
                            "UnauthorizedAccessException")
    if entry is None:  # a folder that exists only through what is in it: made a real one, owned as seeded
        entry = FileEntry(path=path.rstrip("\\"), kind="dir")
        table[norm_path(path)] = entry
    if security.owner_modified and entry.owner != security.owner:
        entry.owner = security.owner
        fs.changed(path)
        ctx.mutated(f"SetAccessControl {path} (owner)")
    if not security.access_modified:
        return None
    acl = {"protected": security.protected, "rules": [rule.to_json() for rule in security.rules if not rule.inherited]}
    fs.guard()
    if entry.acl != acl:  # Windows writes the same rules again; the model records only a change
        entry.acl = acl
        fs.changed(path)
        ctx.mutated(f"SetAccessControl {path}")
    return None


def identity_static(ctx: Any, lname: str, args: list[Any]) -> Any:
    """[System.Security.Principal.WindowsIdentity]::GetCurrent()."""
    if lname != "getcurrent" or args:
        raise PSRuntimeError(f"The simulator does not support the static method "
                             f"[System.Security.Principal.WindowsIdentity]::{lname}().", "NotSupported",
                             "NotImplemented")
    return WindowsIdentity(ctx.identity)


def new_object(type_name: str, args: list[Any]) -> NetObject | None:
    """New-Object for the security types; None for any other type."""
    key = type_name.lower()
    key = key[7:] if key.startswith("system.") else key
    if key == "security.principal.securityidentifier":
        if len(args) != 1:
            raise PSRuntimeError("The simulator takes a SecurityIdentifier from its SDDL form only "
                                 "(-ArgumentList 'S-1-5-32-544').", "NotSupported", "NotImplemented")
        return SecurityIdentifier(to_string(args[0]))
    if key == "security.accesscontrol.filesystemaccessrule":
        return FileSystemAccessRule.from_arguments(args)
    if key == "security.accesscontrol.directorysecurity":
        if args:
            raise PSRuntimeError("The simulator supports New-Object DirectorySecurity without arguments only.",
                                 "NotSupported", "NotImplemented")
        return DirectorySecurity()
    return None
