"""Shared helpers for the render tests: hostile specs built from the model's own fields, and a reading of
rendered scripts that is independent of the code under test (tree-sitter-pwsh plus PowerShell's own rule
for verbatim strings, written out here again on purpose)."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import tree_sitter
import tree_sitter_pwsh

from orchestrator import actions as actions_module
from orchestrator import model
from orchestrator.actions import Action
from orchestrator.resources import templates_dir

PWSH = tree_sitter.Language(tree_sitter_pwsh.language())
QUOTES = "'\u2018\u2019\u201a\u201b"  # what PowerShell's tokenizer takes as a single quote
VERSIONS = ("6.2", "6.3", "10.0")

# Payloads that would break out of a naive quoting, or break the script if they did.
HOSTILE_PAYLOADS = (
    "it's",
    "a'; Remove-Item C:\\ -Recurse -Force; '",
    "\u2018typographic\u2019 \u201alow\u201b and ''doubled''",
    "\u2019; Stop-Computer; \u2018",
    "$(Stop-Computer -Force)",
    "${env:PATH} $env:USERNAME $null",
    "`$x`n``back`ticks`",
    "semi;colon | pipe & amp && || > out.txt 2>&1",
    "line1\nline2\r\nline3\rend",
    "# not a comment",
    "<# not a block comment #>",
    "@'\nhere-string\n'@",
    '@"\nhere-string $(x)\n"@',
    '"double" \u201cquotes\u201d \u201e',
    "{ script } [block] (paren) @(array) @{hash}",
    "tab\tand trailing space ",
    "Ünïcödé 日本語 עברית 🙂 \u200b\ufeff",
    "C:\\path with spaces\\[wild]*?.vhdx",
    "x" * 5000 + "'" + "\u2019" * 100,
    "-Force -Confirm:$false",
    "'",
    "",
)


def marker(index: int) -> str:
    """A tag that contains no character a template or a quoting step could produce or change."""
    return f"\ue000{index}\ue001"


class Hostile:
    """Hands out hostile strings, each tagged with a unique marker, and remembers which field got which."""

    def __init__(self, payloads: tuple[str, ...] = HOSTILE_PAYLOADS) -> None:
        self._payloads = itertools.cycle(payloads)
        self._count = itertools.count()
        self.by_field: dict[str, str] = {}

    def next(self, field_path: str) -> str:
        index = next(self._count)
        value = marker(index) + next(self._payloads)
        self.by_field.setdefault(field_path, value)
        return value

    @property
    def values(self) -> set[str]:
        return set(self.by_field.values())


SANE_INTS = {"cpus": 4, "memory": 4 * 2**30, "generation": 2, "size": 40 * 2**30, "count": 2, "startup": 2**31}


def build(cls: type, hostile: Hostile, *, prefix: str = "", literals: dict[str, str] | None = None,
          hostile_literals: bool = False, overrides: dict[str, Any] | None = None) -> Any:
    """An instance of a model/action dataclass with a hostile string in every string field.

    Fields are enumerated with dataclasses.fields, so a field added to the model is covered without
    touching this test. Literal[...] fields take `literals[name]` (or their first choice) unless
    hostile_literals; integers take sane sizes; nested dataclasses are built the same way.
    """
    hints = typing.get_type_hints(cls, vars(model) | vars(actions_module))
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        path = f"{prefix}{cls.__name__}.{field.name}"
        if overrides and field.name in overrides:
            kwargs[field.name] = overrides[field.name]
            continue
        value = _value(_strip_optional(hints[field.name]), field, path, hostile, literals or {},
                       hostile_literals, overrides)
        if value is not dataclasses.MISSING:
            kwargs[field.name] = value
    return cls(**kwargs)


def _strip_optional(hint: Any) -> Any:
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _value(hint: Any, field: dataclasses.Field, path: str, hostile: Hostile, literals: dict[str, str],
           hostile_literals: bool, overrides: dict[str, Any] | None) -> Any:
    origin = get_origin(hint)
    if hint is str:
        return hostile.next(path)
    if origin is Literal:
        if hostile_literals:
            return hostile.next(path)
        return literals.get(field.name, get_args(hint)[0])
    if hint is int:
        return SANE_INTS.get(field.name, 1)
    if hint is bool:
        return field.default if field.default is not dataclasses.MISSING else False
    if origin is tuple and get_args(hint) and get_args(hint)[0] is str:
        return (hostile.next(path), hostile.next(path))
    if dataclasses.is_dataclass(hint) and hint is not model.Location:
        return build(hint, hostile, prefix="", literals=literals, hostile_literals=hostile_literals)
    return dataclasses.MISSING if field.default is not dataclasses.MISSING or (
        field.default_factory is not dataclasses.MISSING) else None


def action_classes() -> list[type[Action]]:
    """Every concrete action whose template exists in the packaged templates (new ones join automatically)."""
    found = []
    for cls in Action.__subclasses__():
        # slots=True dataclasses leave their pre-slots class behind as a second subclass: keep the real one.
        if getattr(actions_module, cls.__name__, None) is not cls:
            continue
        if cls.template and (templates_dir() / cls.template).is_file():
            found.append(cls)
    return found


def host_with(vms: tuple[model.VMSpec, ...], schedules: tuple[model.Schedule, ...] = ()) -> model.HostSpec:
    return model.HostSpec(
        name="hv01",
        connection=model.Connection(address="127.0.0.1", user="admin", password=model.Secret("S3cr3t-pw!")),
        vms=vms,
        schedules=schedules,
    )


# -- reading a rendered script ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StringLiteral:
    start: int  # byte offsets in the UTF-8 script
    end: int
    value: str


def parse(script: str) -> tree_sitter.Tree:
    return tree_sitter.Parser(PWSH).parse(script.encode("utf-8"))


def syntax_errors(tree: tree_sitter.Tree) -> list[str]:
    out = []

    def walk(node: tree_sitter.Node) -> None:
        if node.is_error or node.is_missing:
            out.append(f"line {node.start_point[0] + 1}: {node.type} {node.text[:60]!r}")
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return out


def decode_verbatim(text: str) -> tuple[str, int]:
    """PowerShell's tokenizer on a '...' string: returns (value, index just past the closing quote).

    Inside, any single-quote character (ASCII or typographic) followed by another one is one quote (the
    second); a lone one closes the string.
    """
    assert text and text[0] in QUOTES, text[:20]
    out: list[str] = []
    i = 1
    while i < len(text):
        char = text[i]
        if char in QUOTES:
            if i + 1 < len(text) and text[i + 1] in QUOTES:
                out.append(text[i + 1])
                i += 2
                continue
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise AssertionError("unterminated verbatim string")


def string_literals(tree: tree_sitter.Tree) -> list[StringLiteral]:
    """Every verbatim string in the script, decoded; fails if PowerShell would end one elsewhere than
    tree-sitter does (tree-sitter-pwsh does not know the typographic quotes)."""
    found: list[StringLiteral] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type == "verbatim_string_characters":
            text = node.text.decode("utf-8")
            value, consumed = decode_verbatim(text)
            assert consumed == len(text), f"PowerShell would end this string early: {text[:80]!r}"
            found.append(StringLiteral(node.start_byte, node.end_byte, value))
    return sorted(found, key=lambda s: s.start)


def assert_values_only_in_literals(script: str, values: set[str]) -> set[str]:
    """The hostile-value property: the script parses, every string literal that carries a marker is exactly
    one hostile value, and no marker appears outside string literals. Returns the values seen."""
    tree = parse(script)
    errors = syntax_errors(tree)
    assert not errors, errors[:5]
    by_marker = {v[: v.index("\ue001") + 1]: v for v in values}
    seen: set[str] = set()
    raw = script.encode("utf-8")
    outside = bytearray(raw)
    for lit in string_literals(tree):
        outside[lit.start : lit.end] = b" " * (lit.end - lit.start)
        for tag, value in by_marker.items():
            if tag in lit.value:
                assert lit.value == value, f"a literal mixes a hostile value with other text: {lit.value[:80]!r}"
                seen.add(value)
    rest = outside.decode("utf-8", "replace")
    for tag in by_marker:
        assert tag not in rest, f"a hostile value appears outside a string literal: {tag!r}"
    return seen


@dataclass(frozen=True)
class Call:
    name: str
    parameters: tuple[str, ...]
    positional: int  # arguments bound by position
    line: int


def command_calls(tree: tree_sitter.Tree, switches: dict[str, set[str]]) -> list[Call]:
    """Each `Name -Param value ...` command, with the parameter names and the count of positional arguments.

    `switches` maps a cmdlet to its switch parameters (they take no value unless written -Switch:value).
    """
    calls = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "command":
            continue
        name_node = next((c for c in node.children if c.type == "command_name"), None)
        if name_node is None:
            continue
        name = name_node.text.decode()
        switch_names = {s.lower() for s in switches.get(name, set())}
        params: list[str] = []
        positional = 0
        expecting_value = False
        colon = False
        separated = True
        for elements in (c for c in node.children if c.type == "command_elements"):
            for element in elements.children:
                if element.type == "command_argument_sep":
                    colon = element.text.strip() == b":"
                    separated = True
                    continue
                if not separated:
                    continue  # `(...).Method(...)`: the grammar splits one argument into two nodes
                separated = False
                if element.type == "command_parameter":
                    pname = element.text.decode().lstrip("-").rstrip(":")
                    params.append(pname)
                    expecting_value = pname.lower() not in switch_names
                    continue
                if expecting_value or colon:
                    expecting_value = colon = False
                    continue
                positional += 1
        calls.append(Call(name, tuple(params), positional, node.start_point[0] + 1))
    return calls


def model_restore(vm_name: str, checkpoint: str) -> Any:
    from orchestrator.actions import RestoreCheckpoint

    return RestoreCheckpoint(vm_name, checkpoint, "running")


def iter_scripts_hostile(renderer: Any, hostile: Hostile, *, versions: tuple[str, ...] = VERSIONS
                         ) -> Iterator[tuple[str, str]]:
    """(label, script) for every template this issue ships, with hostile values in every string field."""
    from orchestrator.facts import HostFacts
    from orchestrator.operations.converge import plan_converge
    from orchestrator.plan import plan_host

    for version in versions:
        generation = 1 if version == "6.2" else 2
        vms = tuple(
            build(model.VMSpec, hostile, literals={"kind": kind, "state": state},
                  overrides={"generation": generation})
            for kind, state in (("parent", "running"), ("copy_from", "off"), ("new", "running"))
        )
        # A schedule matching no VM registers no task: it restores one more VM, named so its glob matches.
        vms += (dataclasses.replace(vms[0], name="scheduled-vm"),)
        schedule = build(model.Schedule, hostile, overrides={"vms": "scheduled-vm"})
        # Its names are ones the inventory can hold (rules/names.py: at most 100 characters): a task's whole
        # script must fit Task Scheduler's command line, and a longer one is refused (operations/schedules.py).
        schedule = dataclasses.replace(schedule, name=schedule.name[:100], checkpoint=schedule.checkpoint[:100])
        schedules = (schedule,)
        host = host_with(vms, schedules)
        yield f"facts {version}", renderer.render_facts(host)
        planned = list(plan_converge(host, HostFacts.empty(version), renderer))
        yield f"apply(plan) {version}", renderer.render_apply(host, planned, version)
        for action in planned:  # the scripts the scheduled tasks run, rendered while planning
            if getattr(action, "encoded_command", ""):
                yield f"task {version}", base64.b64decode(action.encoded_command).decode("utf-16-le")
        every = [build(cls, hostile, overrides={"vm": vms[0]} if "vm" in cls.__dataclass_fields__ else None)
                 for cls in action_classes()]
        yield f"apply(all actions) {version}", renderer.render_apply(host, every, version)
        odd = build(model.VMSpec, hostile, hostile_literals=True, overrides={"generation": generation})
        odd_host = host_with((odd,))
        yield f"apply(hostile enums) {version}", renderer.render_apply(
            odd_host, list(plan_host(odd_host, HostFacts.empty(version))), version)
        restores = [model_restore(vm.name, hostile.next("operation.checkpoint")) for vm in vms]
        yield f"rollback op {version}", renderer.render_operation(
            "operations/rollback.ps1.j2", host, version, restores=restores, label=hostile.next("operation.label"))
