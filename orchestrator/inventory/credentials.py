"""Where a host's WinRM password comes from, and which sources we refuse.

In order: `ansible_password` (best as `{{ lookup('env', 'NAME') }}`), `orchestrate_password_file` (a file
only its owner may read), the `ask_pass` prompt (`--ask-pass`, asked once per user). A literal password in
an inventory file is refused when group or others may read that file, and warned about otherwise.
Passwords only ever leave here as `Secret`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.inventory.fields import BAD, Reader
from orchestrator.inventory.lookup import describe, env_lookup_name, has_template, variable_reference
from orchestrator.inventory.yaml_source import Origin
from orchestrator.model import Secret

PASSWORD_TRANSPORTS = ("basic", "ntlm", "credssp")
MAX_PASSWORD_FILE = 64 * 1024


def group_or_world_readable(path: str | Path) -> bool | None:
    """True when group or others may read `path`; None when it cannot be checked."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


class Credentials:
    """Resolves passwords for the hosts of one inventory (one prompt per user, whatever the host count)."""

    def __init__(
        self, reader: Reader, base_dir: Path, inventory_file: str, ask_pass: Callable[[str], str] | None
    ) -> None:
        self.r = reader
        self.inventory_file = inventory_file
        self.base_dir = base_dir
        self.ask_pass = ask_pass
        self._asked: dict[str, Secret | None] = {}
        self.secrets: set[str] = set()

    def password(
        self,
        host: str,
        variables: dict[str, Any],
        origins: dict[str, Origin],
        *,
        user: str | None,
        needs_password: bool,
    ) -> Secret | Any | None:
        value = variables.get("ansible_password")
        if value is not None:
            return self._from_variable(value, origins["ansible_password"])
        file_value = variables.get("orchestrate_password_file")
        if file_value is not None:
            return self._from_file(file_value, origins["orchestrate_password_file"])
        if not needs_password:
            return None
        if self.ask_pass is not None:
            return self._prompt(host, user or "")
        return self.r.error(
            origins.get("ansible_user")
            or origins.get("ansible_winrm_transport")
            or Origin(self.inventory_file),
            f"host {host}: no password for {user or 'the WinRM user'}",
            "set ansible_password: \"{{ lookup('env', 'WINRM_PASSWORD') }}\", orchestrate_password_file, "
            "or run with --ask-pass",
        )

    def _from_variable(self, value: Any, origin: Origin) -> Secret | Any:
        if isinstance(value, Secret):  # decrypted from Ansible Vault (or not: Reader counts that error)
            revealed = self.r.scalar(value, origin)
            if revealed is BAD:
                return BAD
            if not revealed:
                return self.r.error(
                    origin, "the vault-encrypted ansible_password is empty", "encrypt the password"
                )
            self.secrets.add(str(revealed))
            return value
        if env_lookup_name(value) is not None:
            resolved = self.r.scalar(value, origin)
            if resolved is BAD:
                return BAD
            self.secrets.add(str(resolved))
            return Secret(str(resolved))
        if variable_reference(value) is not None:
            return self._from_reference(value, origin)
        if not isinstance(value, str) or isinstance(value, bool):
            return self.r.error(
                origin,
                "ansible_password must be text",
                "quote the password, or better use {{ lookup('env', 'NAME') }}",
            )
        self.secrets.add(value)
        if has_template(value):  # never for `!unsafe` text: a password with braces is the password
            return self.r.error(
                origin,
                "templating is not supported in the inventory, only {{ lookup('env', 'NAME') }} and {{ variable }}",
                "use {{ lookup('env', 'NAME') }}",
            )
        return Secret(value)

    def _from_reference(self, value: str, origin: Origin) -> Secret | Any:
        """`ansible_password: "{{ vault_winrm_password }}"`, Ansible's own layout for a vaulted password (the
        `!vault` value in vault.yml, the reference in vars.yml). The variable it names is held to the same
        rules as ansible_password itself: vaulted or an env lookup, or plain text only in a file no one else
        may read (check_literal, at the place that variable is written)."""
        target = self.r.reference_target(value)
        resolved = self.r.scalar(value, origin)
        if resolved is BAD:
            return BAD
        if not isinstance(resolved, str):
            return self.r.error(
                origin,
                f"ansible_password names {describe(value)}, which is not text",
                "name a variable holding the password (encrypted with ansible-vault encrypt_string)",
            )
        if not resolved:
            return self.r.error(origin, f"ansible_password names {describe(value)}, which is empty", "set it")
        self.secrets.add(str(resolved))
        if target is not None and not getattr(resolved, "from_env", False) and not getattr(
            resolved, "from_vault", False
        ):
            self.check_literal(target[1] or origin, None)  # where it is written, else where it is named
        return Secret(str(resolved))

    def check_literal(self, origin: Origin, path: Path | None) -> None:
        """A literal ansible_password written at `origin`: refuse or warn depending on the file's mode."""
        where = path if path is not None else Path(origin.file)
        exposed = group_or_world_readable(where)
        if exposed:
            self.r.error(
                origin,
                "a literal ansible_password in a file that group or others can read is refused",
                f"use ansible_password: \"{{{{ lookup('env', 'WINRM_PASSWORD') }}}}\", or chmod 600 {where}",
            )
        else:
            self.r.warning(
                origin,
                "a literal ansible_password is written in the inventory",
                "prefer ansible_password: \"{{ lookup('env', 'WINRM_PASSWORD') }}\"",
            )

    def _from_file(self, value: Any, origin: Origin) -> Secret | Any:
        return self.secret_file(value, origin, "orchestrate_password_file")

    def secret_file(self, value: Any, origin: Origin, what: str) -> Secret | Any:
        """The first line of a password file only its owner may read, as a Secret; `what` names the key
        in every message (orchestrate_password_file, a guest's admin_password file, ...)."""
        name = self.r.text(value, origin, what)
        if name is BAD:
            return BAD
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        fix_mode = f"chmod 600 {path}"
        try:
            info = path.stat()
        except OSError:
            return self.r.error(
                origin,
                f"{what} does not exist or cannot be read",
                "check the path (relative paths start at the inventory's folder)",
            )
        if not stat.S_ISREG(info.st_mode):
            return self.r.error(
                origin, f"{what} is not a regular file", "point it at a file"
            )
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            return self.r.error(
                origin, f"{what} is refused: group or others can access it", fix_mode
            )
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return self.r.error(
                origin,
                f"{what} is refused: it belongs to another user",
                f"chown it to this user and {fix_mode}",
            )
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_PASSWORD_FILE + 1)
        except OSError:
            return self.r.error(origin, f"{what} cannot be read", "check its permissions")
        if len(data) > MAX_PASSWORD_FILE:
            return self.r.error(
                origin,
                f"{what} is too large to hold a password",
                "put only the password in it",
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return self.r.error(origin, f"{what} is not UTF-8 text", "save it as UTF-8")
        password = text.splitlines()[0] if text else ""
        if not password:
            return self.r.error(
                origin, f"{what} is empty", "write the password on its first line"
            )
        self.secrets.add(password)
        return Secret(password)

    def _prompt(self, host: str, user: str) -> Secret | Any:
        if user not in self._asked:
            assert self.ask_pass is not None
            try:
                answer = self.ask_pass(f"{user}@{host}" if user else host)
            except (EOFError, OSError, RuntimeError) as exc:
                self._asked[user] = None
                return self.r.error(
                    Origin(self.inventory_file),
                    f"could not read the password: {type(exc).__name__}",
                    "run in a terminal, or use orchestrate_password_file",
                )
            self._asked[user] = Secret(answer) if answer else None
            if answer:
                self.secrets.add(answer)
        secret = self._asked[user]
        return secret if secret is not None else BAD
