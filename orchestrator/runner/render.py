"""`orchestrate render`: every script an inventory implies, written to files only when all of them rendered.

No host is contacted: each host is taken as empty (no VMs), so the apply script holds every action that
would create the inventory from scratch. Each host is rendered for its own Windows version, because the
cmdlets differ (New-VM has no -Generation on 2012, MicrosoftDocs/windows-powershell-docs
docset/winserver2012-ps/hyper-v/New-VM.md, Syntax): the version and cmdlet parameters of a saved facts
document, else the chosen version, else `orchestrate_simulator.os_version` for a simulator host, else
Windows Server 2012 R2 (6.3). One refused value or broken template means nothing is written.

Each host's files go to a staging folder as soon as the host is rendered, and only when every host has
rendered are they moved into the output folder (`render_and_write`): holding a 5,000-host inventory's
scripts in memory until the end took about 200 MB (40 KB of text per host), the largest part of the
render's peak, and nothing else needs the text after it is written. The staging folder is made beside
or inside the output folder (the nearest folder that exists), so every move is a rename on one file
system; it is removed on an error or an interrupt, which leaves the output folder as it was.

The moves themselves are undone when one of them fails (`_publish`): a file a render replaces is first
moved aside into a second such folder and moved back on a failure, so a folder where a script should go,
a full disk or a permission refused midway leaves every host's files as they were, not half of them new.
An output folder that cannot be written is an error of the run, reported as the refusals are.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from orchestrator.actions import Action, ApplySchedule
from orchestrator.facts import FactsError, HostFacts, parse_facts_json
from orchestrator.host_rules import check_host
from orchestrator.model import HostSpec, Inventory
from orchestrator.operations.converge import plan_converge
from orchestrator.render import Renderer, RenderError

_UNSAFE_IN_FOLDER_NAME = set('/\\:*?"<>|\x00')


@dataclass(frozen=True, slots=True)
class RenderedScript:
    host: str
    operation: str  # facts, apply, task, answer file or setup script
    path: Path
    script: str
    actions: int = 0
    bom: bool = True  # UTF-8 with a BOM (scripts, the answer file); False: plain ASCII text (SetupComplete.cmd)


@dataclass(frozen=True, slots=True)
class WrittenScript:
    """A file `render_and_write` wrote: what a RenderedScript was, without its text."""

    host: str
    operation: str
    path: Path
    actions: int = 0


@dataclass(slots=True)
class Written:
    """What `render_and_write` did: the files written (none when there are errors), the plans when kept."""

    files: list[WrittenScript] = field(default_factory=list)
    plans: dict[str, list[Action]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Hosts rendered for signatures.DEFAULT_VERSION because nothing said their version (no facts file, no
    # --os-version, no orchestrate_simulator.os_version): the CLI warns, since the default (2012 R2) is not the
    # floor (2012 is), and a 2012 host refuses what only 2012 R2 has (New-VM -Generation; audit L, L5).
    defaulted: list[str] = field(default_factory=list)


def read_facts_file(path: Path) -> HostFacts:
    """A real host's facts document (the output of its facts.ps1, saved by the admin), read as the runner
    reads it. Raises FactsError naming the problem."""
    try:
        return parse_facts_json(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FactsError(str(exc)) from exc


def render_and_write(
    inventory: Inventory,
    names: Sequence[str],
    out_dir: Path,
    *,
    templates: Path | None = None,
    os_version: str | None = None,
    given: HostFacts | None = None,
    keep_plans: bool = False,
) -> Written:
    """Render facts.ps1, apply.ps1, task-N.ps1 and the guest files of every named host, each host's files
    staged as soon as it renders (module doc), then all moved into `out_dir`; on any error none of them.
    `keep_plans`: also return the plan of each host that rendered (for -v)."""
    written = Written()
    staged: list[WrittenScript] = []
    try:
        stage = _staging_folder(out_dir)
    except OSError as exc:
        written.errors.append(_cannot_write(out_dir, exc))
        return written
    try:
        for name, scripts, plan in _each_host(inventory, names, out_dir, written.errors, templates=templates,
                                              os_version=os_version, given=given, defaulted=written.defaulted):
            if keep_plans:
                written.plans[name] = plan
            if written.errors:  # nothing will be written: render on only to report every error
                continue
            for item in scripts:
                with _output_step():
                    _write(stage / item.path.relative_to(out_dir), item.script, bom=item.bom)
                staged.append(WrittenScript(item.host, item.operation, item.path, item.actions))
        if not written.errors:
            with _output_step():
                _publish(stage, out_dir, staged)
            written.files = staged
    except _OutputFailed as failed:
        written.errors.append(_cannot_write(out_dir, failed.cause))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return written


class _OutputFailed(Exception):
    """Writing into the staging or the output folder failed (`cause`): kept apart from an OSError of the
    rendering itself (a site template that cannot be read), which is no fault of the output folder."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


@contextlib.contextmanager
def _output_step() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise _OutputFailed(exc) from exc


class PublishIncomplete(OSError):
    """A move into the output folder failed and so did putting back what was already moved: the files the
    render had replaced are kept in `kept` (never deleted), and the message says so."""

    def __init__(self, kept: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror, cause.filename, None, cause.filename2)
        self.kept = kept


def _cannot_write(out_dir: Path, exc: OSError) -> str:
    """One line for the admin: which path, and the system's reason (a rename names its target)."""
    where = exc.filename2 if exc.filename2 is not None else exc.filename
    reason = exc.strerror or str(exc)
    text = f"cannot write {where if where is not None else out_dir}: {reason}"
    if isinstance(exc, PublishIncomplete):
        text += f"; some files could not be put back, and the ones this render replaced are kept in {exc.kept}"
    return text


def _staging_folder(out_dir: Path) -> Path:
    """A new folder in `out_dir`, or beside the part of it that does not exist yet: the same file system.
    Made with os.mkdir (the umask's mode, not mkdtemp's 0700): a new `out_dir` is this folder renamed.
    Raises NotADirectoryError naming the file when a part of the path that exists is not a folder."""
    absolute = out_dir.absolute()
    parent = next((c for c in (absolute, *absolute.parents) if os.path.lexists(c)), Path(absolute.anchor))
    if not parent.is_dir():  # a file where a folder of the path should be: nothing can be made under it
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent))
    while True:
        stage = parent / f".orchestrate-render-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            stage.mkdir()
            return stage
        except FileExistsError:
            continue


def _publish(stage: Path, out_dir: Path, staged: Sequence[WrittenScript]) -> None:
    """Every staged file into `out_dir`, in as few renames as the folders there allow: a new `out_dir` is the
    staging folder renamed, a host folder new there is its staged folder renamed, and only in a host folder
    that exists (a render done before) is each file replaced, leaving the admin's other files there.

    All or nothing: each replaced file is moved aside first, into a folder made like the staging folder
    (the same file system), and when any move fails every move done is reversed, newest first, before the
    error goes on; a folder standing where a file should go is an error (IsADirectoryError), never moved.
    Only when every move succeeded are the replaced files deleted."""
    if not out_dir.exists():
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.rename(stage, out_dir)
        return
    aside = _staging_folder(out_dir)
    keep_aside = False
    done: list[tuple[Path, Path]] = []  # (where it is now, where it was): each rename made, to reverse
    try:
        moved: set[str] = set()
        for item in staged:
            relative = item.path.relative_to(out_dir)
            host_folder = relative.parts[0]
            if host_folder in moved:
                continue
            if not os.path.lexists(out_dir / host_folder):
                _rename(stage / host_folder, out_dir / host_folder, done)
                moved.add(host_folder)
                continue
            if not (out_dir / host_folder).is_dir():  # a file (or a broken link) where the host's folder goes
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(out_dir / host_folder))
            if os.path.lexists(item.path):
                if item.path.is_dir() and not item.path.is_symlink():
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(item.path))
                (aside / relative).parent.mkdir(parents=True, exist_ok=True)
                _rename(item.path, aside / relative, done)
            item.path.parent.mkdir(parents=True, exist_ok=True)
            _rename(stage / relative, item.path, done)
    except BaseException as failure:
        if _undo(done):
            raise
        keep_aside = True  # it holds replaced files that could not be put back: never deleted
        if isinstance(failure, OSError):
            raise PublishIncomplete(aside, failure) from failure
        raise
    finally:
        if not keep_aside:
            shutil.rmtree(aside, ignore_errors=True)


def _rename(source: Path, target: Path, done: list[tuple[Path, Path]]) -> None:
    """os.rename (one file system, so atomic for each path), noted in `done` to be reversed on a failure."""
    os.rename(source, target)
    done.append((target, source))


def _undo(done: list[tuple[Path, Path]]) -> bool:
    """Reverse the renames, newest first, each one tried even when another fails; True when all were."""
    whole = True
    for now, before in reversed(done):
        try:
            os.rename(now, before)
        except OSError:
            whole = False
    return whole


def _each_host(
    inventory: Inventory,
    names: Sequence[str],
    out_dir: Path,
    errors: list[str],
    *,
    templates: Path | None,
    os_version: str | None,
    given: HostFacts | None,
    defaulted: list[str],
) -> Iterator[tuple[str, list[RenderedScript], list[Action]]]:
    """Each named host's scripts and plan, in order; a host that cannot be rendered adds to `errors`, one whose
    Windows version nothing gave adds to `defaulted`."""
    renderers: dict[Path | None, Renderer] = {}
    for name in names:
        host = inventory.hosts[name]
        if templates is not None:  # every script of the host comes from that folder, task scripts included
            host = replace(host, templates_dir=str(templates))
        if not _safe_folder_name(name):
            errors.append(f"host {name!r}: cannot be used as a folder name under {out_dir}")
            continue
        folder = Path(host.templates_dir) if host.templates_dir else None
        try:
            if folder not in renderers:
                renderers[folder] = Renderer(folder)
            renderer = renderers[folder]
            facts, guessed = _target(host, os_version, given)
            if guessed:
                defaulted.append(name)
            # The empty host has no media, tasks or capacity to judge: what is left is what the version cannot do.
            problems = check_host(host, facts)
            if problems:
                errors.extend(f"host {name}: {p.message}; {p.fix}" for p in problems)
                continue
            plan = list(plan_converge(host, facts, renderer))
            scripts = [RenderedScript(name, "facts", out_dir / name / "facts.ps1", renderer.render_facts(host))]
            apply_script = renderer.render_apply(host, plan, facts.version, facts.cmdlets or None)
            scripts.append(RenderedScript(name, "apply", out_dir / name / "apply.ps1", apply_script, len(plan)))
            for number, script in enumerate(_task_scripts(plan), start=1):
                scripts.append(RenderedScript(name, "task", out_dir / name / f"task-{number}.ps1", script))
            scripts.extend(_guest_files(renderer, name, plan, out_dir / name))
        except RenderError as exc:
            errors.append(f"host {name}: {exc}")
            continue
        yield name, scripts, plan


def _write(path: Path, script: str, *, bom: bool) -> None:
    """UTF-8 with a BOM, so Windows PowerShell 5.1 reads them right; the same inventory, the same bytes.
    SetupComplete.cmd without one: cmd.exe would read a BOM as part of the first command, and the guest
    gets it as ASCII (prepare_guest.ps1.j2 writes it with Set-Content -Encoding Ascii)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = script.encode("utf-8")
    path.write_bytes(codecs.BOM_UTF8 + text if bom else text)


def _target(host: HostSpec, os_version: str | None, given: HostFacts | None) -> tuple[HostFacts, bool]:
    """The empty host to render for: the given facts' version and cmdlets (no VMs, tasks or paths, so the
    scripts still build the inventory from scratch), else the chosen or the simulator's declared version; and
    whether none of them said it (the default version then)."""
    if given is not None:
        return replace(HostFacts.empty(given.os_version), cmdlets=given.cmdlets), False
    if os_version is None and host.connection.kind == "simulator" and host.simulator:
        declared = host.simulator.get("os_version")
        os_version = str(declared) if declared is not None else None
    return HostFacts.empty(os_version), os_version is None


def _guest_files(renderer: Renderer, host: str, plan: Sequence[Action], folder: Path) -> list[RenderedScript]:
    """What each new VM's guest gets in its disk (the apply script writes them from stdin, prepare_guest):
    OUT/<host>/<vm>.unattend.xml with every secret masked (`********`, render_answer_file), and
    OUT/<host>/<vm>.SetupComplete.cmd, so an admin reviews the guest's setup before any host sees it. A VM
    name is always a file name: the name rules refuse \\ / : * ? " < > | and a trailing dot or space
    (orchestrator.rules.names), and the suffixes keep it apart from the scripts' names."""
    from orchestrator.actions import GUEST_READY_NAME, PrepareGuest
    from orchestrator.render import render_answer_file, render_setup_complete

    files: list[RenderedScript] = []
    for action in plan:
        if not isinstance(action, PrepareGuest):
            continue
        stem = action.vm.name
        files.append(RenderedScript(host, "answer file", folder / f"{stem}.unattend.xml",
                                    render_answer_file(renderer, action.vm, reveal=False)))
        files.append(RenderedScript(host, "setup script", folder / f"{stem}.SetupComplete.cmd",
                                    render_setup_complete(renderer, GUEST_READY_NAME, action.token_slot), bom=False))
    return files


def _task_scripts(plan: Sequence[Action]) -> list[str]:
    """The scripts the plan's scheduled tasks run (each travels base64-encoded inside apply.ps1)."""
    return [
        base64.b64decode(a.encoded_command).decode("utf-16-le")
        for a in plan
        if isinstance(a, ApplySchedule) and a.encoded_command
    ]


def _safe_folder_name(name: str) -> bool:
    return bool(name) and name not in {".", ".."} and not (_UNSAFE_IN_FOLDER_NAME & set(name))
