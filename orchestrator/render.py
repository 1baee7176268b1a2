"""Turn actions and host specs into PowerShell scripts, with Jinja2 templates that cannot inject code.

Safety is structural, not a habit template authors must keep:
- every `{{ expression }}` goes through `finalize`, which writes the value as a PowerShell literal
  (orchestrator.pwsh.literal): strings single-quoted with every quote doubled, numbers as digits, ...;
- what a template builds itself (macro output, `{% set x %}...{% endset %}` blocks, includes) is `Code`,
  because the environment's `concat` marks it so; only Python callers can hand in other `Code`;
- every rendered script is parsed with tree-sitter-pwsh, and every Hyper-V cmdlet call is checked against
  the parameters the target host has: a broken site override fails here, not on the host.

That check is paid once per script *shape*, not once per host. While rendering, finalize wraps each literal
it writes in private sentinels, with its shape (pwsh.literal_shape: strings emptied, digits 1-9 as 1); one
pass over the output gives the real script and its skeleton (each literal replaced by its shape). The first
script of a skeleton (per template and capabilities) gets the full check, on the real script; it is
remembered only when every literal stands alone in that script's parse tree (a whole node, not inside a
string, a comment or a larger token), so literals of the same shape tokenize alike in the same place. A
later script with the same skeleton therefore has the same syntax and the same cmdlet calls with the same
parameters, and skips the check.

Templates are looked up in the user's folder first (a site can override any of them), then in the
packaged `templates/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import threading
import types
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2

from orchestrator import pwsh, pwsh_level, signatures
from orchestrator.actions import GUEST_ANSWER_MARK, Action
from orchestrator.capabilities import Capabilities
from orchestrator.host_lock import LockRequest, admin_request
from orchestrator.model import HostSpec
from orchestrator.move_records import MOVES_FOLDER
from orchestrator.resources import data_file, templates_dir
from orchestrator.windows_paths import drive_root

FACTS_TEMPLATE = "facts.ps1.j2"
APPLY_TEMPLATE = "apply.ps1.j2"


class RenderError(Exception):
    """A template that is missing or broken, or a value that cannot be written into a script.

    `file` and `line` point at the template (or, for a script that does not parse, at the rendered
    script's line); `message` says what is wrong in words an admin can act on.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(f"{where}{message}")


class _Refusal(Exception):
    """Raised by the `fail()` template helper: the template refuses to render these values."""


def _fail(message: str) -> None:
    raise _Refusal(message)


# Private sentinels around every literal finalize writes: OPEN literal SEP shape CLOSE. They are C0 control
# characters, which pwsh.literal refuses in any value and _SourceLoader refuses in any template source, so in
# the rendered output they can only come from finalize.
_OPEN, _SEP, _CLOSE = "\x02", "\x1f", "\x03"
_SENTINELS = _OPEN + _SEP + _CLOSE
_SPAN_RE = re.compile(f"{_OPEN}([^{_SENTINELS}]*){_SEP}([^{_SENTINELS}]*){_CLOSE}")
_SENTINEL_RE = re.compile(f"[{_SENTINELS}]")
_NONZERO_DIGITS = str.maketrans("123456789", "111111111")
CHECK_CACHE_SIZE = 4096  # distinct (template, capabilities, skeleton) remembered as checked, per Renderer
LITERAL_CACHE_SIZE = 16384  # distinct plain values whose marked literal is remembered (all Renderers share it)


# The marked literal of a plain value depends on the value alone, and the same values come back in every
# host's scripts (switch and image names, sizes, the recorded cmdlets): each is written once. Only exact
# str, int, and tuples of exact str are remembered, so no two values that compare equal (1, 1.0, True; a str
# and a subclass of it) can share an entry. A value that cannot be written raises each time (never stored).
@lru_cache(maxsize=LITERAL_CACHE_SIZE)
def _marked_text(value: str) -> pwsh.Code:
    return pwsh.Code(_OPEN + pwsh.quote(value) + _SEP + "''" + _CLOSE)


@lru_cache(maxsize=LITERAL_CACHE_SIZE)
def _marked_int(value: int) -> pwsh.Code:
    text = pwsh.literal(value)
    return pwsh.Code(_OPEN + text + _SEP + text.translate(_NONZERO_DIGITS) + _CLOSE)


@lru_cache(maxsize=LITERAL_CACHE_SIZE)
def _marked_texts(values: tuple[str, ...]) -> pwsh.Code:
    """A list or tuple of exact str (as a tuple): the same literal and shape either way (pwsh._array)."""
    return pwsh.Code(_OPEN + pwsh.literal(values) + _SEP + pwsh.literal_shape(values) + _CLOSE)


def _finalize(value: Any) -> Any:
    """Every `{{ expression }}` ends here: Code passes, anything else becomes a literal (marked, see above)."""
    kind = type(value)
    if kind is str and _OPEN not in value:  # the common cases first, same text as below
        return _marked_text(value)
    if kind is int:
        return _marked_int(value)
    if (kind is tuple or kind is list) and all(type(item) is str for item in value):
        return _marked_texts(tuple(value))
    if isinstance(value, pwsh.Code):
        return value
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the missing variable
    if isinstance(value, str) and _OPEN in value:
        # Text a filter or `~` made of template output (Code turns into str): the script text it stands for.
        value = _SPAN_RE.sub(r"\1", value)
    if pwsh.contains_code(value):
        return pwsh.Code(pwsh.literal(value))  # a list or map holding Code: code, not a literal
    return pwsh.Code(_OPEN + pwsh.literal(value) + _SEP + pwsh.literal_shape(value) + _CLOSE)


def _split(output: str) -> tuple[str, str]:
    """The real script and its skeleton, from the marked output of one render."""
    if _OPEN not in output:
        script = skeleton = output
    else:
        parts = _SPAN_RE.split(output)  # code, literal, shape, code, literal, shape, ..., code
        script_parts, skeleton_parts = parts[:], parts
        del script_parts[2::3]
        del skeleton_parts[1::3]
        script, skeleton = "".join(script_parts), "".join(skeleton_parts)
    # Three substring scans are much faster than one character-class scan of a whole script.
    stray = (_OPEN in script or _SEP in script or _CLOSE in script) and _SENTINEL_RE.search(script)
    if stray:  # only Code built in Python could carry one; a script never does
        raise RenderError(f"the rendered script contains the control character U+{ord(stray.group()):04X}")
    return script, skeleton


def _literal_byte_spans(output: str) -> list[tuple[int, int, str]]:
    """Where each literal lies in the real script, in UTF-8 byte offsets (tree-sitter's), with its shape."""
    spans: list[tuple[int, int, str]] = []
    at = offset = 0
    for match in _SPAN_RE.finditer(output):
        offset += len(output[at : match.start()].encode("utf-8"))
        end = offset + len(match.group(1).encode("utf-8"))
        spans.append((offset, end, match.group(2)))
        offset, at = end, match.end()
    return spans


def _node_types(shape: str) -> frozenset[str]:
    """The node a literal of this shape must be when it stands alone (one of them)."""
    if shape.startswith("'"):
        return frozenset({"string_literal"})
    if shape.startswith("@("):
        return frozenset({"array_expression"})
    if shape.startswith("@{"):
        return frozenset({"hash_literal_expression"})
    if shape.startswith("("):
        return frozenset({"parenthesized_expression"})  # a negative number
    if shape.startswith("$"):
        return frozenset({"variable"})  # $null, $true, $false
    return frozenset({"integer_literal", "real_literal"})


def _stands_alone(root: Any, start: int, end: int, shape: str) -> bool:
    """True when bytes [start, end) are exactly one node of the tree, of the kind the literal's shape says
    (a string literal, a number...), inside no string and no comment: the literal is a whole expression, its
    tokens are its own, and no neighbour's token reaches into it."""
    node = root.descendant_for_byte_range(start, end)
    while node is not None and (node.start_byte > start or node.end_byte < end):
        node = node.parent
    if node is None or node.start_byte != start or node.end_byte != end:
        return False
    expected, found = _node_types(shape), False
    while node is not None and node.start_byte == start and node.end_byte == end:
        found = found or node.type in expected
        node = node.parent
    if not found:
        return False
    while node is not None:  # every enclosing node, each larger than the literal
        if "string" in node.type or "comment" in node.type:
            return False
        node = node.parent
    return True


def _capabilities(
    version: str | None, cmdlets: Mapping[str, Iterable[str]] | None
) -> tuple[Capabilities, Hashable]:
    """The capabilities and a key equal only for capabilities that answer every question alike.

    Remembered by the exact (version, cmdlet table) when the table's values are hashable (the facts give
    frozensets): the hosts of one fleet report the same table, and lower-casing its ~700 parameter names
    for every script was 2% of a converge's CPU. Capabilities never change after they are made."""
    try:
        memo: Hashable | None = (version, frozenset(cmdlets.items()) if cmdlets else None)
    except TypeError:  # a table of lists (a caller's own): built each time
        memo = None
    if memo is not None:
        known = _CAPABILITIES.get(memo)
        if known is not None:
            return known
    table = {name: tuple(params) for name, params in (cmdlets or {}).items()}
    caps = Capabilities(version, table)
    observed = frozenset(
        (name.lower(), frozenset(p.lower() for p in params)) for name, params in table.items()
    )
    made = (caps, (caps.version, observed))
    if memo is not None and len(_CAPABILITIES) < CAPABILITIES_CACHE_SIZE:
        _CAPABILITIES[memo] = made
    return made


CAPABILITIES_CACHE_SIZE = 32  # distinct (version, cmdlet table) pairs remembered; a fleet has a handful
_CAPABILITIES: dict[Hashable, tuple[Capabilities, Hashable]] = {}


class _Unreadable(jinja2.TemplateError):
    """A template file that exists but cannot be read as UTF-8 text: its own path and the reason, instead of
    a bare UnicodeDecodeError (or PermissionError) at the line that includes it."""


class _SourceLoader(jinja2.FileSystemLoader):
    """The FileSystemLoader, refusing a template that contains one of finalize's sentinel characters, and
    naming a template file that cannot be read."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            raise _Unreadable(f"{self._path_of(template)}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                              f"offset {exc.start}); save the template as UTF-8") from exc
        except OSError as exc:
            raise _Unreadable(f"{self._path_of(template)}: cannot be read ({exc.strerror or exc})") from exc
        bad = _SENTINEL_RE.search(source)
        if bad:
            raise jinja2.TemplateSyntaxError(
                f"the template contains the control character U+{ord(bad.group()):04X}, which a script cannot carry",
                source.count("\n", 0, bad.start()) + 1,
                template,
                filename,
            )
        return source, filename, uptodate

    def _path_of(self, template: str) -> str:
        """The file the loader read for `template`, found as FileSystemLoader.get_source finds it (the first
        search folder holding it, joined with posixpath)."""
        pieces = jinja2.loaders.split_template_path(template)
        for folder in self.searchpath:
            candidate = posixpath.join(folder, *pieces)
            if os.path.isfile(candidate):
                return candidate
        return template


class _Environment(jinja2.Environment):
    """Jinja's Environment, with each template's globals one plain dict instead of a ChainMap over the
    environment's. Jinja walks a template's globals at every include and every `import ... with context`
    (Context() lists them, _get_default_module compares them), and a ChainMap's keys cost a Python-level
    merge each time: about a tenth of rendering a fleet's scripts. Lookups come out the same (the template's
    own globals first, then the environment's); the one difference, that a global added to the environment
    after a template was loaded would not reach that template, never arises: the Renderer sets its globals
    before loading any template, and never changes them.

    Also, a template once loaded is handed out again from a plain dict: an include runs get_template for
    every action of every script, and Jinja's own cache (a locked LRU keyed by a weak reference to the
    loader) costs several times the lookup. Templates are not reloaded anyway (auto_reload=False)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._loaded: dict[tuple[str, str | None], jinja2.Template] = {}

    def make_globals(self, d: Any = None) -> Any:
        return {**self.globals, **(d or {})}

    def get_template(self, name: Any, parent: str | None = None, globals: Any = None) -> jinja2.Template:
        if globals is not None or type(name) is not str:
            return super().get_template(name, parent, globals)
        key = (name, parent)
        template = self._loaded.get(key)
        if template is None:  # a missing or broken template raises here each time, and is never stored
            template = self._loaded[key] = super().get_template(name, parent)
        return template


def _code_concat(parts: Iterable[str]) -> pwsh.Code:
    """Jinja joins template output with this: macro bodies and `{% set %}` blocks are template code."""
    return pwsh.Code("".join(parts))


def facts_targets(host: HostSpec) -> tuple[list[str], list[str]]:
    """The paths to Test-Path and the images to read editions from: what the host's VMs name, in order."""
    paths: list[str] = []
    images: list[str] = []
    for vm in host.vms:
        # The drive of a VM's own folder too: the create makes a missing folder, but no drive (audit F; the
        # simulator's paths fail on a drive the host lacks, as Join-Path and New-Item do there).
        candidates = [vm.path, drive_root(vm.path)]
        if vm.disk is not None:
            candidates += [vm.disk.source, vm.disk.iso]
            for image in (vm.disk.source, vm.disk.iso):
                if image and image.lower() not in {i.lower() for i in images}:
                    images.append(image)
        for path in candidates:
            # PowerShell's hashtables ignore case, as Windows paths do: one entry per path.
            if path and path.lower() not in {p.lower() for p in paths}:
                paths.append(path)
    return paths, images


def image_users(host: HostSpec) -> dict[str, list[str]]:
    """For each image facts_targets lists: the VMs the inventory builds from it (not those to be removed). The
    facts script opens an image (Get-WindowsImage) only for one that such a VM still needs: one not on the host
    yet, whose media the rules check before it is created, or one whose guest is still in setup, whose edition
    a dry run's copy assumes it will report (audit K, M2)."""
    _paths, images = facts_targets(host)
    users: dict[str, list[str]] = {image: [] for image in images}
    by_lower = {image.lower(): image for image in images}
    for vm in host.vms:
        if vm.disk is None or vm.state == "absent":
            continue
        for path in (vm.disk.source, vm.disk.iso):
            image = by_lower.get(path.lower()) if path else None
            if image is not None and vm.name not in users[image]:
                users[image].append(vm.name)
    return users


@cache
def recorded_cmdlets() -> tuple[str, ...]:
    """The cmdlets whose real parameters the facts script records: the version-dependent ones (Hyper-V,
    ServerManager, DISM, ScheduledTasks: hyperv-cmdlets.json), and the Hyper-V cmdlets of extra-cmdlets.json
    (Get-VMDvdDrive, Mount-VHD, Dismount-VHD), not the PowerShell core cmdlets.

    Every cmdlet a template asks `caps.has` about must be here, or its answer comes from shipped data, never
    from the host: prepare_guest.ps1.j2 passes Mount-VHD -Confirm:$false only where the host's Mount-VHD
    has -Confirm, and the shipped answer for 2012 is the 2012 page's SYNTAX (MicrosoftDocs/windows-powershell-
    docs docset/winserver2012-ps/hyper-v/Mount-VHD.md lists neither -Confirm nor -WhatIf), the kind of SYNTAX
    that hyperv-cmdlets.json (`_meta.field_meanings.absent_from_2012_docset`) found wrong for nine other
    Hyper-V cmdlets. Recorded, the host's own Get-Command settles it (docs/real-hosts.md)."""
    known = signatures.cmdlet_names()
    names: set[str] = set()
    for file, wanted in (("hyperv-cmdlets.json", None), ("extra-cmdlets.json", "Hyper-V")):
        data = json.loads(data_file(file).read_text(encoding="utf-8"))
        names.update(
            name
            for name, entry in data.items()
            if name in known and isinstance(entry, dict) and (wanted is None or entry.get("module") == wanted)
        )
    return tuple(sorted(names))


class Renderer:
    """One Jinja2 environment over (user folder, packaged templates); safe to share across threads."""

    def __init__(self, user_templates_dir: Path | None = None) -> None:
        search: list[str] = []
        if user_templates_dir is not None:
            folder = Path(user_templates_dir)
            if not folder.is_dir():
                raise RenderError(
                    "the template folder does not exist (set by --templates or orchestrate_templates_dir)",
                    file=str(folder),
                )
            search.append(str(folder))
        search.append(str(templates_dir()))
        self.search_path = tuple(search)
        env = _Environment(
            loader=_SourceLoader(search),
            undefined=jinja2.StrictUndefined,
            finalize=_finalize,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # A Renderer serves one command: its templates are read once, not stat()ed again at every
            # include of every host's script (a site's override is as it was when the command started).
            auto_reload=False,
        )
        env.concat = _code_concat  # type: ignore[method-assign]
        # moves_folder: where move records live on a host (orchestrator.move_records), a literal like any value.
        # The host lock's request (orchestrator.host_lock): this box, no run, `apply`, unless the caller's
        # context says whose script it is (the runner's apply, a scheduled task).
        env.globals.update(fail=_fail, moves_folder=MOVES_FOLDER, **admin_request("apply", None).template_context())
        self.env = env
        # (template, capabilities key, skeleton) of scripts that passed the check, least recently used first.
        self._checked: OrderedDict[tuple[Hashable, ...], None] = OrderedDict()
        self._checked_lock = threading.Lock()
        self._checking: dict[tuple[Hashable, ...], threading.Event] = {}  # skeletons being checked now

    # -- the API the runner uses ------------------------------------------------------------------------

    def render_facts(self, host: HostSpec) -> str:
        """The read-only facts script (the facts document of docs/templates.md) for this host."""
        caps, caps_key = _capabilities(None, None)
        return self._render(FACTS_TEMPLATE, caps, caps_key, host=host, **self._facts_context(host))

    def render_apply(
        self,
        host: HostSpec,
        actions: Sequence[Action],
        version: str | None,
        cmdlets: Mapping[str, Iterable[str]] | None = None,
        lock: LockRequest | None = None,
    ) -> str:
        """One script for all of a host's actions, in order; it ends by printing the new facts. It runs under
        the host lock, whose holder record says `lock` (the run's box, id and command; `render` shows a
        request of this box for `apply` without a run id)."""
        caps, caps_key = _capabilities(version, cmdlets)
        request = lock.template_context() if lock is not None else {}
        return self._render(
            APPLY_TEMPLATE, caps, caps_key, host=host, actions=list(actions), **self._facts_context(host), **request
        )

    def render_operation(
        self,
        template: str,
        host: HostSpec,
        version: str | None,
        cmdlets: Mapping[str, Iterable[str]] | None = None,
        **context: Any,
    ) -> str:
        """Any standalone operation script (checkpoint, rollback, export...), same frame as the others."""
        caps, caps_key = _capabilities(version, cmdlets)
        return self._render(template, caps, caps_key, host=host, **context)

    # -- internals --------------------------------------------------------------------------------------

    @staticmethod
    def _facts_context(host: HostSpec) -> dict[str, Any]:
        paths, images = facts_targets(host)
        # The inventory VMs whose disk the create would make, and where (None: the host's own disk folder): the
        # facts list a file already there, so that a dry run's copy refuses it as the host will.
        new_disks = [{"name": vm.name, "folder": vm.path} for vm in host.vms if vm.disk is not None and vm.state != "absent"]
        # after_apply is set by apply.ps1.j2 around its closing facts (templates/lib/facts_body.ps1.j2).
        return {"fact_paths": paths, "fact_images": images, "fact_image_users": image_users(host),
                "fact_cmdlets": recorded_cmdlets(),
                "fact_new_disks": new_disks, "after_apply": False}

    def _render(self, name: str, caps: Capabilities, caps_key: Hashable, /, **context: Any) -> str:
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                f"template syntax error: {exc.message}", exc.filename or exc.name, exc.lineno
            ) from exc
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template not found in {', '.join(self.search_path)}", exc.name) from exc
        except _Unreadable as exc:
            raise RenderError(str(exc), name) from exc
        try:
            output = str(template.render(caps=caps, **context))
        except jinja2.TemplateSyntaxError as exc:  # a broken include
            raise RenderError(
                f"template syntax error: {exc.message}", exc.filename or exc.name, exc.lineno
            ) from exc
        except jinja2.TemplateNotFound as exc:
            file, line = _template_position(exc, template.filename)
            raise RenderError(f"included template not found: {exc.name}", file, line) from exc
        except (jinja2.UndefinedError, pwsh.LiteralError, _Refusal, jinja2.TemplateError) as exc:
            file, line = _template_position(exc, template.filename)
            raise RenderError(str(exc), file, line) from exc
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError) as exc:
            # An expression in a (site) template that Python cannot evaluate: still the template's fault.
            file, line = _template_position(exc, template.filename)
            raise RenderError(f"{type(exc).__name__}: {exc}", file, line) from exc
        script, skeleton = _split(output)
        # The skeleton by its SHA-256: it holds template code only (no inventory text), so nobody picks it.
        key = (name, template.filename, caps_key, hashlib.sha256(skeleton.encode("utf-8")).digest())
        with self._checked_lock:
            if key in self._checked:
                self._checked.move_to_end(key)
                return script
            # Hosts of a run render the same skeleton at once (--forks): the first checks it, the others
            # wait for its verdict instead of each parsing the same script (a few ms each).
            pending = self._checking.get(key)
            first = pending is None
            if first:
                pending = self._checking[key] = threading.Event()
        if not first:
            pending.wait()
            with self._checked_lock:
                if key in self._checked:
                    return script
            # Not remembered (a literal that does not stand alone, or the check refused): check it here.
            self._check(script, template.filename or name, caps)
            return script
        try:
            tree = self._check(script, template.filename or name, caps)
            # Remembered only when every literal stands alone: then same skeleton, same tokens, same verdict.
            if all(_stands_alone(tree.root_node, *span) for span in _literal_byte_spans(output)):
                with self._checked_lock:
                    self._checked[key] = None
                    while len(self._checked) > CHECK_CACHE_SIZE:
                        self._checked.popitem(last=False)
        finally:
            with self._checked_lock:
                del self._checking[key]
            pending.set()
        return script

    @staticmethod
    def _check(script: str, file: str, caps: Capabilities) -> Any:
        """Refuse a script that does not parse, that uses a language feature newer than the host's Windows
        PowerShell (3.0 on 2012, 4.0 on 2012 R2: `pwsh_level`), or that names a parameter the host's cmdlet
        lacks; returns the script's parse tree. A site's template override is held to the same check, so it
        cannot pass here and fail on the host."""
        tree = pwsh.parse(script)
        problems = pwsh.syntax_problems(tree)
        if problems:
            first = problems[0]
            raise RenderError(
                f"the rendered script does not parse at its line {first.line}, column {first.column} "
                f"(near {first.text!r}); check the template",
                file,
            )
        ps_version = pwsh_level.powershell_version(caps.version)
        for newer in pwsh_level.newer_features(tree, ps_version):
            raise RenderError(
                f"the rendered script (line {newer.line}) uses {newer.feature}, which needs Windows PowerShell "
                f"{newer.since}; Windows {caps.version} runs Windows PowerShell {ps_version}",
                file,
            )
        for call in pwsh.command_calls(tree):
            if not caps.knows(call.name):
                continue
            for parameter in call.parameters:
                if not caps.has(call.name, parameter):
                    raise RenderError(
                        f"the rendered script (line {call.line}) calls {call.name} -{parameter}, which that "
                        f"cmdlet does not have on Windows {caps.version}; bind only parameters it has",
                        file,
                    )
        return tree


def _template_position(exc: BaseException, default_file: str | None) -> tuple[str | None, int | None]:
    """The innermost template frame of an exception's traceback: Jinja rewrites them to template lines."""
    file, line = default_file, None
    tb: types.TracebackType | None = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            file, line = filename, tb.tb_lineno
        tb = tb.tb_next
    return file, line


# -- the guest's files: the answer file (XML) and SetupComplete.cmd -----------------------------------------
#
# Added for issue 15. The same safety as the PowerShell above, for two other languages: in the answer file
# every `{{ value }}` is XML-escaped by Jinja's autoescape (markupsafe escapes & < > ' "), so no inventory
# text can become markup; a secret is only ever a Secret, revealed into the file by finalize when the caller
# asks for the real file (what travels to the host inside the WinRM channel) and masked otherwise (dry runs,
# `orchestrate render`). SetupComplete.cmd only takes values of letters, digits, '.', '_' and '-'.

ANSWER_FILE_TEMPLATE = "guest/unattend.xml.j2"
# The line every answer file ends with, after its root element (XML 1.0 allows comments there: document ::=
# prolog element Misc*): the mark by which the answer-file step knows a \\Windows\\Panther\\unattend.xml it finds
# as its own, from a run cut off after writing it, and refuses any other (orchestrator.actions.GUEST_ANSWER_MARK).
ANSWER_FILE_MARK_LINE = f"<!-- {GUEST_ANSWER_MARK}: written by orchestrate; SetupComplete.cmd deletes it -->"
SETUP_COMPLETE_TEMPLATE = "guest/SetupComplete.cmd.j2"
GUEST_ARCHITECTURE = "amd64"  # Windows Server 2012 is 64-bit only; every component of the file says amd64
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CMD_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def unattend_password(secret: Any, suffix: str) -> Any:
    """A password as Windows SIM's "Hide Sensitive Data" writes it (with <PlainText>false</PlainText>): Base64 of
    the UTF-16LE text of the password followed by the setting's name. Microsoft's example, Value
    "cAB3AEEAZABtAGkAbgBpAHMAdAByAGEAdABvAHIAUABhAHMAcwB3AG8AcgBkAA==", decodes to "pw" + "AdministratorPassword"
    (unattend reference, Microsoft-Windows-Shell-Setup | UserAccounts | AdministratorPassword | Value,
    ff716198(v=win.10), Applies To: Windows Server 2012). It hides the password from a glance, not from
    anyone who decodes it: it is still a Secret. A Secret in, a Secret out."""
    import base64

    from orchestrator.model import Secret

    if not isinstance(secret, Secret):
        raise _Refusal("unattend_password takes a secret (a password of the guest)")
    encoded = base64.b64encode((secret.reveal() + suffix).encode("utf-16-le")).decode("ascii")
    return Secret(encoded)


def _xml_finalize(reveal: bool) -> Any:
    from orchestrator.model import Secret

    def finalize(value: Any) -> Any:
        if isinstance(value, jinja2.Undefined):
            str(value)  # StrictUndefined names the missing variable
        if isinstance(value, Secret):
            if not reveal:
                return Secret.MASK
            value = value.reveal()
            if _XML_FORBIDDEN.search(value):
                raise _Refusal("a secret holds a character XML cannot carry (a control character)")
            return value
        if value is None or isinstance(value, bool):
            raise _Refusal(f"the answer file cannot hold {value!r}; test for it with `is not none`")
        text = str(value)
        bad = _XML_FORBIDDEN.search(text)
        if bad:
            raise _Refusal(f"the value holds U+{ord(bad.group()):04X}, which XML cannot carry")
        return text

    return finalize


def _cmd_finalize(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        str(value)
    text = str(value)
    if isinstance(value, bool) or not _CMD_SAFE.match(text):
        raise _Refusal(f"SetupComplete.cmd takes only letters, digits, '.', '_' and '-', not {text!r}")
    return text


@cache
def _guest_environment(search_path: tuple[str, ...], language: str, reveal: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_SourceLoader(list(search_path)),
        undefined=jinja2.StrictUndefined,
        finalize=_xml_finalize(reveal) if language == "xml" else _cmd_finalize,
        autoescape=language == "xml",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["unattend_password"] = unattend_password
    env.globals.update(fail=_fail)
    return env


def _render_guest_file(renderer: Renderer, name: str, language: str, reveal: bool, context: dict[str, Any]) -> str:
    env = _guest_environment(renderer.search_path, language, reveal)
    try:
        template = env.get_template(name)
        return str(template.render(**context))
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template syntax error: {exc.message}", exc.filename or exc.name, exc.lineno) from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found in {', '.join(renderer.search_path)}", exc.name) from exc
    except (jinja2.UndefinedError, _Refusal, jinja2.TemplateError) as exc:
        file, line = _template_position(exc, None)
        raise RenderError(str(exc), file or name, line) from exc
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        file, line = _template_position(exc, None)
        raise RenderError(f"{type(exc).__name__}: {exc}", file or name, line) from exc


def _masked_guest(guest: Any) -> Any:
    """The guest with every secret replaced by a Secret of the mask: a template rendering for people's eyes
    cannot reach a real secret, even through Secret.reveal()."""
    from dataclasses import replace

    from orchestrator.model import Secret

    mask = Secret(Secret.MASK)
    changes: dict[str, Any] = {}
    if guest.admin_password is not None:
        changes["admin_password"] = mask
    if isinstance(guest.product_key, Secret):
        changes["product_key"] = mask
    if guest.domain is not None:
        changes["domain"] = replace(guest.domain, password=mask)
    return replace(guest, **changes)


def render_answer_file(renderer: Renderer, vm: Any, *, reveal: bool = False) -> str:
    """The VM's answer file (\\Windows\\Panther\\unattend.xml). With reveal=False (the default) every secret
    reads `********`: that text may be shown, logged and journalled. With reveal=True it is the real file,
    for the WinRM channel only. Either way the result is checked to be well-formed XML with the unattend
    root, so a broken site override fails here, not in the guest's setup."""
    guest = vm.guest
    if guest is None:
        raise RenderError(f"VM {vm.name!r} has no guest settings; no answer file to render")
    context = {
        "vm": vm,
        "guest": guest if reveal else _masked_guest(guest),
        "computer_name": guest.name_for(vm.name),
        "arch": GUEST_ARCHITECTURE,
    }
    text = _render_guest_file(renderer, ANSWER_FILE_TEMPLATE, "xml", reveal, context)
    problem = answer_file_problem(text)
    if problem:
        raise RenderError(f"the rendered answer file is not a valid answer file: {problem}", ANSWER_FILE_TEMPLATE)
    return text.rstrip("\r\n") + "\n" + ANSWER_FILE_MARK_LINE + "\n"


def answer_file_problem(text: str) -> str | None:
    """Why `text` is not a well-formed unattend document, or None. No DTD is accepted (an answer file has
    none, and a DTD is how entity expansion attacks an XML reader)."""
    import xml.etree.ElementTree as ET

    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return "it declares a DTD or an entity"
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        return f"XML parse error: {exc}"
    if root.tag != "{urn:schemas-microsoft-com:unattend}unattend":
        return f"its root element is {root.tag}, not unattend in urn:schemas-microsoft-com:unattend"
    return None


def render_setup_complete(renderer: Renderer, ready_name: str, ready_token: str) -> str:
    """SetupComplete.cmd with Windows line ends (CRLF, as cmd.exe files are written)."""
    text = _render_guest_file(renderer, SETUP_COMPLETE_TEMPLATE, "cmd", False,
                              {"ready_name": ready_name, "ready_token": ready_token})
    return text.replace("\r\n", "\n").replace("\n", "\r\n")
