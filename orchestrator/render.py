"""Turn actions and host specs into PowerShell scripts, with Jinja2 templates that cannot inject code.

Safety is structural, not a habit template authors must keep:
- every `{{ expression }}` goes through `finalize`, which writes the value as a PowerShell literal
  (orchestrator.pwsh.literal): strings single-quoted with every quote doubled, numbers as digits, ...;
- what a template builds itself (macro output, `{% set x %}...{% endset %}` blocks, includes) is `Code`,
  because the environment's `concat` marks it so; only Python callers can hand in other `Code`;
- every rendered script is parsed with tree-sitter-pwsh, and every Hyper-V cmdlet call is checked against
  the parameters the target host has: a broken site override fails here, not on the host.

Templates are looked up in the user's folder first (a site can override any of them), then in the
packaged `templates/`.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from orchestrator import pwsh, signatures
from orchestrator.actions import CHECKPOINT_MARKER, Action
from orchestrator.capabilities import Capabilities
from orchestrator.model import HostSpec
from orchestrator.resources import data_file, templates_dir

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


def _finalize(value: Any) -> Any:
    """Every `{{ expression }}` ends here: Code passes, anything else becomes a literal."""
    if isinstance(value, pwsh.Code):
        return value
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the missing variable
    return pwsh.Code(pwsh.literal(value))


def _code_concat(parts: Iterable[str]) -> pwsh.Code:
    """Jinja joins template output with this: macro bodies and `{% set %}` blocks are template code."""
    return pwsh.Code("".join(parts))


def facts_targets(host: HostSpec) -> tuple[list[str], list[str]]:
    """The paths to Test-Path and the images to read editions from: what the host's VMs name, in order."""
    paths: list[str] = []
    images: list[str] = []
    for vm in host.vms:
        candidates = [vm.path]
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


@cache
@cache
def recorded_cmdlets() -> tuple[str, ...]:
    """The cmdlets whose real parameters the facts script records: the version-dependent ones (Hyper-V,
    ServerManager, DISM, ScheduledTasks: hyperv-cmdlets.json), not the PowerShell core cmdlets."""
    data = json.loads(data_file("hyperv-cmdlets.json").read_text(encoding="utf-8"))
    known = signatures.cmdlet_names()
    return tuple(sorted(name for name, entry in data.items() if name in known and isinstance(entry, dict)))


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
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search),
            undefined=jinja2.StrictUndefined,
            finalize=_finalize,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.concat = _code_concat  # type: ignore[method-assign]
        env.globals.update(fail=_fail, checkpoint_marker=CHECKPOINT_MARKER)
        self.env = env

    # -- the API the runner uses ------------------------------------------------------------------------

    def render_facts(self, host: HostSpec) -> str:
        """The read-only facts script (contracts.md facts document) for this host."""
        caps = Capabilities(None)
        return self._render(FACTS_TEMPLATE, caps, host=host, **self._facts_context(host))

    def render_apply(
        self,
        host: HostSpec,
        actions: Sequence[Action],
        version: str | None,
        cmdlets: Mapping[str, Iterable[str]] | None = None,
    ) -> str:
        """One script for all of a host's actions, in order; it ends by printing the new facts."""
        caps = Capabilities(version, cmdlets)
        return self._render(APPLY_TEMPLATE, caps, host=host, actions=list(actions), **self._facts_context(host))

    def render_operation(
        self,
        template: str,
        host: HostSpec,
        version: str | None,
        cmdlets: Mapping[str, Iterable[str]] | None = None,
        **context: Any,
    ) -> str:
        """Any standalone operation script (checkpoint, rollback, export...), same frame as the others."""
        caps = Capabilities(version, cmdlets)
        return self._render(template, caps, host=host, **context)

    # -- internals --------------------------------------------------------------------------------------

    @staticmethod
    def _facts_context(host: HostSpec) -> dict[str, Any]:
        paths, images = facts_targets(host)
        return {"fact_paths": paths, "fact_images": images, "fact_cmdlets": recorded_cmdlets()}

    def _render(self, name: str, caps: Capabilities, /, **context: Any) -> str:
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"template syntax error: {exc.message}", exc.filename or exc.name, exc.lineno) from exc
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template not found in {', '.join(self.search_path)}", exc.name) from exc
        try:
            script = str(template.render(caps=caps, **context))
        except jinja2.TemplateSyntaxError as exc:  # a broken include
            raise RenderError(f"template syntax error: {exc.message}", exc.filename or exc.name, exc.lineno) from exc
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
        self._check(script, template.filename or name, caps)
        return script

    @staticmethod
    def _check(script: str, file: str, caps: Capabilities) -> None:
        """Refuse a script that does not parse, or that names a parameter the host's cmdlet lacks."""
        tree = pwsh.parse(script)
        problems = pwsh.syntax_problems(tree)
        if problems:
            first = problems[0]
            raise RenderError(
                f"the rendered script does not parse at its line {first.line}, column {first.column} "
                f"(near {first.text!r}); check the template",
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
