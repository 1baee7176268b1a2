"""YAML files with Ansible Vault in them: `!vault |` values and whole vault-encrypted files, decrypted.

A decrypted value becomes a `Secret` (masked in `inventory --list`, in findings, in repr), so a password
kept in Vault never shows. A value we cannot decrypt becomes `Undecrypted` and costs exactly one finding,
at its own line, naming what to pass; the rest of the file is read as usual (Ansible fails the whole run
instead; we report every problem of the file in one pass, and still refuse to contact any host).
A whole vault-encrypted file (`ansible-vault encrypt group_vars/all.yml`) is decrypted first and then read
as YAML; its text values are Secrets too (its line numbers are those of the decrypted text). A setting that
is no secret (PLAIN_VARS: ansible_connection) is decrypted to plain text instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.inventory.vault import Vault, VaultError, VaultFormatError, is_encrypted
from orchestrator.inventory.yaml_source import (
    Origin,
    TList,
    TMap,
    VaultText,
    YamlProblem,
    load_yaml_document,
    read_text,
)
from orchestrator.model import Finding, Secret

# Variables whose value is a setting, never a secret: decrypted (from `!vault` or a whole encrypted file) to
# plain text, so they are compared and shown as written. `ansible_connection: ssh` kept as a Secret would not
# equal 'ssh', and the host would be counted as ours (a WinRM host); its text would be masked wherever it
# appears, the word "winrm" included.
PLAIN_VARS = frozenset({"ansible_connection"})

FORMAT_FIX = (
    "encrypt it again: ansible-vault encrypt_string (keep the indented lines under '!vault |' intact)"
)
VAULT_FIX = (
    "pass the vault password: --vault-password-file FILE, --ask-vault-pass, --vault-id [LABEL@]SOURCE, "
    "or set ANSIBLE_VAULT_PASSWORD_FILE"
)


def vault_fix(vault: Vault | None) -> str:
    """What to pass for a value no password decrypts. With passwords given, it names those tried rather
    than suggesting a source already used (ANSIBLE_VAULT_PASSWORD_FILE set, a file already passed)."""
    tried = [secret.source for secret in vault.secrets if secret.source] if vault else []
    if not tried:
        return VAULT_FIX
    return (
        f"pass the vault password it was encrypted with (tried: {', '.join(tried)}): --vault-password-file FILE, "
        "--ask-vault-pass or --vault-id [LABEL@]SOURCE"
    )


class Undecrypted(Secret):
    """A vault value no given password decrypts. Its one finding is already recorded; readers skip it."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("")


def load_file(path: Path, shown: str, vault: Vault | None, findings: list[Finding]) -> Any:
    """Read one YAML (or JSON) file, whole-file vault included, with its `!vault` values decrypted.

    Raises YamlProblem for a file we cannot read at all (a whole-file vault without the password among
    them: nothing of it can be read). Vault values that fail are appended to `findings`.
    """
    text, whole = decrypted_text(path, shown, vault)
    return load_text(text, shown, vault, findings, whole=whole)


def decrypted_text(path: Path, shown: str, vault: Vault | None) -> tuple[str, bool]:
    """The file's text, decrypted first when the whole file is Vault-encrypted; and whether it was.

    Ansible decrypts a whole encrypted file before any parser sees it, whatever the format: the yaml, ini
    and other inventory plugins all read through DataLoader._get_file_contents, which calls
    VaultLib.decrypt when is_encrypted(data) (ansible/parsing/dataloader.py _get_file_contents, used by
    ansible/plugins/inventory/ini.py:119 and yaml.py). Raises YamlProblem when it cannot be decrypted.
    """
    text = read_text(path, shown)
    if not is_encrypted(text):
        return text, False
    try:
        return (vault or Vault()).decrypt(text), True
    except VaultError as exc:
        raise YamlProblem(
            f"cannot decrypt this Vault-encrypted file: {exc}",
            Origin(shown),
            FORMAT_FIX if isinstance(exc, VaultFormatError) else vault_fix(vault),
        ) from exc


def load_text(text: str, shown: str, vault: Vault | None, findings: list[Finding], *, whole: bool) -> Any:
    """The YAML document of `text` with its `!vault` values decrypted; with `whole` (the file was one
    encrypted vault) its text values are Secrets too."""
    warnings: list[YamlProblem] = []
    data, has_vault = load_yaml_document(text, shown, warnings)
    findings.extend(
        Finding("warning", w.message, w.fix, w.origin.location, w.origin.path) for w in warnings
    )
    if not whole and not has_vault:
        return data  # nothing to decrypt: no need to walk every value
    return reveal(data, vault, findings, secret_text=whole)


def reveal(value: Any, vault: Vault | None, findings: list[Finding], *, secret_text: bool = False) -> Any:
    """`value` with every VaultText replaced by a Secret (or Undecrypted plus one finding), in place.

    With `secret_text` (a whole vault-encrypted file), every text value becomes a Secret too.
    """
    if isinstance(value, VaultText):
        return _decrypt(value, vault, findings)
    if secret_text and isinstance(value, str):
        return Secret(value)
    if isinstance(value, TMap):
        for key in list(value):
            revealed = reveal(value[key], vault, findings, secret_text=secret_text)
            value[key] = plain_setting(key, revealed)
    elif isinstance(value, TList):
        for index, item in enumerate(value):
            value[index] = reveal(item, vault, findings, secret_text=secret_text)
    return value


def plain_setting(key: Any, value: Any) -> Any:
    """A decrypted value of a PLAIN_VARS variable as its text; any other value as it is."""
    if key in PLAIN_VARS and isinstance(value, Secret) and not isinstance(value, Undecrypted):
        return value.reveal()
    return value


def _decrypt(value: VaultText, vault: Vault | None, findings: list[Finding]) -> Secret:
    origin = value.origin
    try:
        return Secret((vault or Vault()).decrypt(value.text))
    except VaultError as exc:
        findings.append(
            Finding(
                "error",
                f"cannot decrypt this Vault value: {exc}",
                FORMAT_FIX if isinstance(exc, VaultFormatError) else vault_fix(vault),
                origin.location,
                origin.path,
            )
        )
        return Undecrypted()
