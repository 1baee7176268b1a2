"""Where vault passwords come from, as ansible-core's CLI finds them (ansible/cli/__init__.py
setup_vault_secrets and ansible/parsing/vault get_file_vault_secret):

- `--vault-id [LABEL@]SOURCE`: SOURCE is `prompt`, a file, or an executable script; LABEL defaults to
  `default`;
- `--vault-password-file FILE` (repeatable): a vault id `default@FILE`; after them,
  DEFAULT_VAULT_PASSWORD_FILE is always added (ANSIBLE_VAULT_PASSWORD_FILE, else `[defaults] vault_password_file`
  in ansible.cfg, relative to that file's folder: ansible/config/base.yml:1285, type path);
  DEFAULT_VAULT_IDENTITY_LIST (ANSIBLE_VAULT_IDENTITY_LIST, else `[defaults] vault_identity_list`:
  base.yml:1276) adds comma-separated vault ids first (ansible/cli/__init__.py:551-553);
- `--ask-vault-pass`: a prompt for the `default` id; the answer is stripped of surrounding whitespace;
- a file's password is its content stripped of surrounding whitespace; an executable file is run and its
  stdout (stripped of line endings) is the password; a script named `*-client` (before the extension) is run
  with `--vault-id LABEL`, as Ansible's client scripts are; an empty password is refused.
A password file or script that cannot be used (missing, a directory, failing, empty) is a warning when
another source gives a password (a prompt counts), and an error only when none does: Ansible warns and
goes on to the next source, raising the last failure only if no secret was found (setup_vault_secrets,
ansible/cli/__init__.py:292-323). A prompt that fails is always an error, as in Ansible (:276-282).
Problems are VaultSetupError with a message for the admin; nothing here prints.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from orchestrator.inventory.ansible_config import VAULT_IDENTITY_LIST, VAULT_PASSWORD_FILE, Value, load_config
from orchestrator.inventory.vault import DEFAULT_LABEL, Vault, VaultSecret
from orchestrator.model import Finding, Secret

SCRIPT_TIMEOUT = 120.0  # seconds: a password script that hangs must not hang the run
MAX_PASSWORD_BYTES = 64 * 1024


class VaultSetupError(ValueError):
    """A vault password source that cannot be used (missing file, failing script, empty password)."""


def split_vault_id(text: str) -> tuple[str, str]:
    """`label@source` -> (label, source); a bare source has the `default` label (Ansible's rule)."""
    if "@" in text:
        label, source = text.split("@", 1)
        return label or DEFAULT_LABEL, source
    return DEFAULT_LABEL, text


def build_vault(
    *,
    password_files: Sequence[str] = (),
    vault_ids: Sequence[str] = (),
    ask_vault_pass: bool = False,
    prompt: Callable[[str], str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Vault:
    """Every vault secret of the run, in Ansible's order (identity list, --vault-id, password files, prompt)."""
    config = load_config(environ)
    configured_ids = config.value(VAULT_IDENTITY_LIST)
    ids = [item for item in (configured_ids.value if configured_ids else []) if item]
    where = {item: _setting_origin(configured_ids) for item in ids}
    ids.extend(vault_ids)
    files = list(password_files)
    # Ansible always adds DEFAULT_VAULT_PASSWORD_FILE after the --vault-password-file ones, never instead
    # of them (ansible/cli/__init__.py:240-242, then build_vault_ids :207-213)
    configured_file = config.value(VAULT_PASSWORD_FILE)
    if configured_file is not None and configured_file.written:
        files.append(configured_file.value)
        where[f"{DEFAULT_LABEL}@{configured_file.value}"] = _setting_origin(configured_file)
    ids.extend(f"{DEFAULT_LABEL}@{name}" for name in files)
    if ask_vault_pass:
        ids.append(f"{DEFAULT_LABEL}@prompt")
    secrets: list[VaultSecret] = []
    failures: list[VaultSetupError] = []
    asked: set[str] = set()
    for vault_id in ids:
        label, source = split_vault_id(vault_id)
        if source == "prompt":
            if label in asked:
                continue
            asked.add(label)
            if prompt is None:
                raise VaultSetupError("a vault password prompt needs a terminal")
            question = "Vault password: " if label == DEFAULT_LABEL else f"Vault password ({label}): "
            # stripped of surrounding whitespace as bytes, as Ansible does (parsing/vault/__init__.py:319)
            typed = prompt(question).encode("utf-8", "surrogateescape").strip()
            answer = typed.decode("utf-8", "surrogateescape")
            if not answer:
                raise VaultSetupError("the vault password given at the prompt is empty")
            secrets.append(VaultSecret(Secret(answer), label, "prompt"))
        else:
            try:
                shown = f"{source} (from {where[vault_id]})" if vault_id in where else source
                secrets.append(VaultSecret(read_password_source(source, label), label, shown))
            except VaultSetupError as exc:
                failures.append(VaultSetupError(f"{exc} (from {where[vault_id]})") if vault_id in where else exc)
    if failures and not secrets:
        raise failures[-1]  # as Ansible raises its last_exception
    warnings = [
        Finding(
            "warning",
            f"{failure}: that vault password source is skipped, the others are used, as Ansible does",
            "fix that file or script, or stop passing it",
        )
        for failure in failures
    ]
    return Vault(secrets, warnings)


def _setting_origin(value: Value | None) -> str:
    """Where a vault setting was given, for messages: the env var, or the config file and line."""
    if value is None:
        return ""
    if value.env is not None:
        return value.env
    location = value.location
    return f"{value.written.split(' =')[0]} in {location.file}:{location.line}" if location else value.written


def read_password_source(source: str, label: str = DEFAULT_LABEL) -> Secret:
    """The password in a file, or printed by an executable script (get_file_vault_secret)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise VaultSetupError(f"the vault password file {source} was not found")
    if path.is_dir():
        raise VaultSetupError(f"the vault password file {source} is a directory")
    if os.access(path, os.X_OK):
        return Secret(_run_script(path, source, label))
    try:
        data = path.read_bytes()[: MAX_PASSWORD_BYTES + 1]
    except OSError as exc:
        raise VaultSetupError(f"could not read the vault password file {source}: {exc.strerror}") from exc
    return Secret(_password(data.strip(), f"the vault password file {source}"))


def _run_script(path: Path, source: str, label: str) -> str:
    command = [str(path.resolve())]
    if os.path.splitext(path.name)[0].endswith("-client"):
        command += ["--vault-id", label]
    try:
        done = subprocess.run(command, capture_output=True, timeout=SCRIPT_TIMEOUT, check=False)
    except OSError as exc:
        raise VaultSetupError(
            f"could not run the vault password script {source} ({exc.strerror}); if it is not a script, "
            "remove its executable bit"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise VaultSetupError(
            f"the vault password script {source} did not finish in {SCRIPT_TIMEOUT:.0f} s"
        ) from exc
    if done.returncode != 0:
        raise VaultSetupError(f"the vault password script {source} exited {done.returncode}")
    return _password(done.stdout.strip(b"\r\n"), f"the vault password script {source}")


def _password(data: bytes, what: str) -> str:
    if not data:
        raise VaultSetupError(f"{what} gave an empty password")
    if len(data) > MAX_PASSWORD_BYTES:
        raise VaultSetupError(f"{what} gave more than {MAX_PASSWORD_BYTES} bytes: not a password")
    return data.decode("utf-8", "surrogateescape")
