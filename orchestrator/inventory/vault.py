"""Ansible Vault: decrypt `!vault |` values and whole vault-encrypted files, as ansible-core does.

The format follows ansible-core's own implementation (ansible/parsing/vault/__init__.py, VaultAES256):
- an envelope `$ANSIBLE_VAULT;1.1;AES256` (or `;1.2;AES256;LABEL` for a --vault-id label), then the
  hexlified body in 80-column lines;
- the body, unhexlified, is `hex(salt) \\n hex(hmac) \\n hex(ciphertext)`;
- PBKDF2-HMAC-SHA256 (10000 iterations) of the password and salt gives 80 bytes: the AES-256 key, the
  HMAC-SHA256 key and the 16-byte CTR counter block; the HMAC covers the ciphertext; the plaintext is
  PKCS7-padded.
Like Ansible, a secret whose label matches the envelope's is tried first, then every other secret.
We use the `cryptography` library (the one ansible-core uses) for PBKDF2, AES-CTR, HMAC and PKCS7.

Nothing here prints or prompts: passwords come in as `VaultSecret`s built by the CLI.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from orchestrator.model import Finding, Secret

HEADER = "$ANSIBLE_VAULT"
DEFAULT_LABEL = "default"
_KEY_LENGTH = 32
_IV_LENGTH = 16
_ITERATIONS = 10_000


class VaultError(ValueError):
    """Vault text we cannot decrypt: a bad envelope, an unknown cipher, no secret, or a wrong password."""


class VaultFormatError(VaultError):
    """The vault text itself is damaged or of a format we do not read (no password would help)."""


@dataclass(frozen=True)
class VaultSecret:
    """One vault password and its --vault-id label (`default` when none was given)."""

    password: Secret
    label: str = DEFAULT_LABEL
    source: str = ""  # where it came from, for messages ('--vault-password-file x', 'prompt')


@dataclass(frozen=True)
class Envelope:
    version: str
    cipher: str
    label: str | None
    body: bytes


def is_encrypted(text: str | bytes) -> bool:
    """True when `text` starts with the vault header (as ansible-core's is_encrypted)."""
    head = (
        text.lstrip()[: len(HEADER)]
        if isinstance(text, str)
        else text.lstrip()[: len(HEADER)].decode("ascii", "replace")
    )
    return head == HEADER


def parse_envelope(text: str) -> Envelope:
    """The header fields and the joined hex body (ansible-core's _parse_vaulttext_envelope)."""
    lines = text.strip().splitlines()
    if not lines:
        raise VaultFormatError("the vault text is empty")
    header = [part.strip() for part in lines[0].strip().split(";")]
    if len(header) < 3 or header[0] != HEADER:
        raise VaultFormatError("the vault header is not '$ANSIBLE_VAULT;1.1;AES256'")
    version, cipher = header[1], header[2]
    if version not in ("1.1", "1.2"):
        raise VaultFormatError(f"vault format {version} is not supported (1.1 and 1.2 are)")
    label = header[3] if version == "1.2" and len(header) > 3 and header[3] else None
    body = "".join(line.strip() for line in lines[1:]).encode("ascii", "replace")
    return Envelope(version, cipher, label, body)


def _unhexlify(data: bytes) -> bytes:
    try:
        return binascii.unhexlify(data)
    except (binascii.Error, ValueError) as exc:
        raise VaultFormatError("the vault text is damaged (not hexadecimal)") from exc


def _keys(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
    derived = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=2 * _KEY_LENGTH + _IV_LENGTH, salt=salt, iterations=_ITERATIONS
    ).derive(password)
    return derived[:_KEY_LENGTH], derived[_KEY_LENGTH : 2 * _KEY_LENGTH], derived[2 * _KEY_LENGTH :]


def password_bytes(password: str) -> bytes:
    """The bytes Ansible derives the key from. Ansible keeps a password file's content as raw bytes
    (ansible/parsing/vault/__init__.py:415 FileVaultSecret._read_file: `f.read().strip()`, never decoded),
    so a Latin-1 password such as b'caf\\xe9' works there. vault_secrets decodes those bytes with
    surrogateescape; encoding back the same way gives exactly the file's bytes (strict UTF-8 would raise
    UnicodeEncodeError on them), and a typed or UTF-8 password is its UTF-8 bytes as in Ansible (:319)."""
    return password.encode("utf-8", "surrogateescape")


def decrypt_aes256(body: bytes, password: bytes) -> bytes | None:
    """The plaintext, or None when the HMAC does not match (a wrong password)."""
    parts = _unhexlify(body).split(b"\n", 2)
    if len(parts) != 3:
        raise VaultFormatError("the vault text is damaged (salt, HMAC and ciphertext expected)")
    salt, expected_hmac, ciphertext = (
        _unhexlify(parts[0]),
        _unhexlify(parts[1].strip()),
        _unhexlify(parts[2].strip()),
    )
    key1, key2, iv = _keys(password, salt)
    mac = HMAC(key2, hashes.SHA256())
    mac.update(ciphertext)
    try:
        mac.verify(expected_hmac)
    except InvalidSignature:
        return None
    decryptor = Cipher(algorithms.AES(key1), modes.CTR(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise VaultFormatError("the vault text is damaged (bad padding)") from exc


@dataclass
class Vault:
    """The vault secrets of one run; `decrypt` tries them in Ansible's order."""

    secrets: list[VaultSecret] = field(default_factory=list)
    # Password sources that could not be used while another could: Ansible warns about each and goes on
    # (ansible/cli/__init__.py setup_vault_secrets); load_inventory reports them as warnings.
    warnings: list[Finding] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def ordered(self, label: str | None) -> Iterable[VaultSecret]:
        """The secret labelled like the envelope first, then the others (DEFAULT_VAULT_ID_MATCH false)."""
        matching = [s for s in self.secrets if label is not None and s.label == label]
        return [*matching, *(s for s in self.secrets if s not in matching)]

    def decrypt(self, text: str) -> str:
        """The plaintext of `text` (an envelope). Raises VaultError with an admin-ready reason."""
        envelope = parse_envelope(text)
        if envelope.cipher != "AES256":
            raise VaultFormatError(f"vault cipher {envelope.cipher} is not supported (AES256 is)")
        if not self.secrets:
            raise VaultError("no vault password was given")
        for secret in self.ordered(envelope.label):
            plain = decrypt_aes256(envelope.body, password_bytes(secret.password.reveal()))
            if plain is not None:
                try:
                    return plain.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise VaultError("the decrypted value is not UTF-8 text") from exc
        labels = ", ".join(sorted({s.label for s in self.secrets}))
        wanted = f" (it was encrypted for vault id '{envelope.label}')" if envelope.label else ""
        raise VaultError(f"no vault password given decrypts it{wanted}; tried vault id(s): {labels}")


def encrypt(plaintext: str, password: str, *, label: str | None = None, salt: bytes | None = None) -> str:
    """Vault text for `plaintext` (1.1, or 1.2 with a label), as `ansible-vault encrypt_string` writes it.

    Used by tests and by admins who want to check a password; ansible-core decrypts what this writes.
    """
    import os

    salt = salt if salt is not None else os.urandom(32)
    key1, key2, iv = _keys(password_bytes(password), salt)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key1), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    mac = HMAC(key2, hashes.SHA256())
    mac.update(ciphertext)
    body = binascii.hexlify(
        b"\n".join([binascii.hexlify(salt), binascii.hexlify(mac.finalize()), binascii.hexlify(ciphertext)])
    ).decode("ascii")
    header = f"{HEADER};1.2;AES256;{label}" if label and label != DEFAULT_LABEL else f"{HEADER};1.1;AES256"
    return "\n".join([header, *(body[i : i + 80] for i in range(0, len(body), 80))]) + "\n"
