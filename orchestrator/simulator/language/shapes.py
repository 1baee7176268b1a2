"""One parse per script *shape*: scripts that differ only inside single-quoted strings share a syntax tree.

Every inventory value reaches a rendered script as a PowerShell literal (orchestrator.render), so the apply
scripts of a fleet differ host by host mostly in the text of single-quoted strings: VM names, paths, notes.
Converting tree-sitter's tree into the simulator's nodes costs about 40 ms for a 27 KB apply script; a dry run
of 5,000 hosts paid it 5,000 times. Here the first script of a shape is parsed in full, and a later script of
the same shape gets a copy of that tree with its own string values put in: only the nodes on the way from
the root to a string whose text differs from the first script's are new, the rest is shared (a fleet's
scripts differ in a few dozen of a converge's ~220 strings: its VM names and paths), in about a millisecond.

PowerShell's own rule this stands on: in a single-quoted string "the string is passed to the command exactly
as you type it" and "no substitution is performed", a quote being doubled to stand for itself
(MicrosoftDocs/PowerShell-Docs reference/3.0/Microsoft.PowerShell.Core/About/about_Quoting_Rules.md).

Why a copy is exactly the tree a full parse would give (the test suite checks it with hypothesis too):

- The shape. `_STRING` finds the `'...'` runs of the text the way tree-sitter-pwsh's verbatim-string token
  reads it (a quote, then any characters but a lone quote, then a quote; `''` is a quote inside), stepping
  over comments, here-strings and double-quoted strings. The key is
  the text between those runs plus, for each run, its shape: how many line feeds it holds (line numbers of
  every later node depend on them) and nothing else. Two scripts with one key are the same characters except
  inside those runs, run for run, with the same line breaks.
- The first script of a key proves which runs are literals. A run counts only if the converter made exactly
  one string node from one verbatim-string token spanning exactly that run (so it is not inside a comment, a
  double-quoted or here-string, nor part of a larger token); every other run is fixed: a later script must
  carry the very same text there.
- A later script of the key is then the first one with some string tokens' contents changed. Inside a
  verbatim string no character but the quote means anything to the lexer, and the contents keep their quote
  structure (the same pattern matched them), so tree-sitter reads the same tokens in the same places and
  builds the same tree; the converter reads a verbatim string's value from its own text only
  (`decode_verbatim`), and a script block keeps its source text, which is re-sliced from the new script.
  Nothing else in the tree depends on a string's contents: neither the checks for features newer than the
  host's PowerShell (node kinds and member names: `pwsh_level.newer_features`) nor the refusals of
  unsupported constructs (node kinds).
- Only texts that the lexer's normalization leaves as they are (no typographic quote or dash to rewrite,
  no NUL, no `param(...)` body to move to a new line) and that hold no character outside the BMP (so string
  offsets and tree-sitter's UTF-16 offsets agree) take part; any other script is parsed in full, as is any
  script whose first parse failed (its error names its own line and text).

The PowerShell version is part of the key: the same text can parse on 2012 R2 and be refused on 2012.
Which cmdlets and parameters a host has is no part of the tree at all: the binder checks every call against
the host's own signatures when it runs, on every host.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from orchestrator.simulator.language.ast import Node
from orchestrator.simulator.language.lexer import decode_verbatim

# The runs: group `s`, tree-sitter-pwsh's verbatim_string_characters = token(seq("'", repeat(choice(/[^']+/,
# "''")), "'")). Comments, here-strings and double-quoted strings are stepped over as code, so an apostrophe
# in them does not shift every later run; where this reading differs from tree-sitter's, the first script's
# check (a run counts only as a string token of the tree) makes the run fixed: sharing is lost, never safety.
_STRING = re.compile(
    # Every alternative starts with one of these characters, so each match first takes the text up to the
    # next of them in one step (possessive: nothing to give back), then the token there; one of them that
    # starts no token (a lone `<`, an unclosed quote) is taken alone, and the end of the text ends the scan,
    # so every attempt matches and none is retried from the next position. The runs are the `s` groups, the
    # same as scanning for the tokens alone (tests/simulator/test_shared_parse.py), in about half the time:
    # the scan was most of a later script's parse (a 31 KB converge: 230 -> 110 us).
    "[^'<#@\"]*+(?:"
    "(?P<s>'[^']*(?:''[^']*)*')"  # a verbatim string: the run
    r"|<#.*?#>|#[^\n]*"  # comments
    "|@'[ \t]*\r?\n.*?\n'@" '|@"[ \t]*\r?\n.*?\n"@'  # here-strings
    '|"(?:[^"`]|`.|"")*"'  # an expandable string
    "|['<#@\"]|\\Z)",  # a character that starts none of them; the end
    re.DOTALL,
)
_NON_BMP = re.compile("[\U00010000-\U0010ffff]")
SHAPE_CACHE_SIZE = 256  # distinct (PowerShell version, shape) kept; each holds one tree and one script text


class Parsed(NamedTuple):
    """What a full parse hands over: the tree, the string nodes and the script blocks with their spans."""

    tree: Node
    normalized: bool  # the lexer's normalization changed nothing
    literals: dict[int, tuple[Node, int] | None]  # quote offset -> (node, end), None when ambiguous
    blocks: list[tuple[Node, int, int]]  # script block nodes and the source span their text is


class _Template:
    """The first tree of a shape, and how to make the tree of another script of that shape."""

    __slots__ = ("fixed", "program", "run_ends", "run_steps", "run_texts", "runs", "source", "tree")

    def __init__(self, tree: Node, source: str, runs: list[tuple[int, int]], fixed: dict[int, str],
                 program: list[tuple[Any, ...]]) -> None:
        self.tree = tree
        self.source = source  # the first script's text: that text again gets this very tree
        self.runs = runs  # the string runs of the first script, in order
        self.run_ends = [end for _, end in runs]
        self.run_texts = [source[start:end] for start, end in runs]  # what a later script's runs are compared to
        self.fixed = fixed  # run index -> the text a script must carry there
        # How to copy the tree: each node or container on a path to a changing string, children first.
        self.program = program
        # Per run: the steps of the program whose copy depends on it (its bit in their mask), in order. A
        # fleet's script differs from the template in a few dozen of its ~220 runs, so a copy runs only the
        # steps on the paths to those, not all ~1,500.
        run_steps: list[list[int]] = [[] for _ in runs]
        for at, step in enumerate(program):
            mask = step[-1]
            while mask:
                low = mask & -mask
                run_steps[low.bit_length() - 1].append(at)
                mask ^= low
        self.run_steps = run_steps


class ShapeCache:
    """Parse results by shape, thread-safe (hosts of a dry run are preflighted in parallel)."""

    def __init__(self, size: int = SHAPE_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], list[_Template]] = OrderedDict()
        self._lock = threading.Lock()
        # Keys whose first full parse is under way: the dry run's first `forks` hosts start together, and
        # each parsed the same shape in full (about 50 ms a converge script) before one template existed.
        self._parsing: dict[tuple[Any, ...], threading.Event] = {}
        self.hits = 0
        self.misses = 0

    def parse(self, source: str, ps_version: str, full: Callable[[str, str], Parsed]) -> Node:
        """The tree of `source`: from a template of its shape when there is one, else `full(source, ...)`."""
        return self.parse_copy(source, ps_version, full)[0]

    def parse_copy(self, source: str, ps_version: str, full: Callable[[str, str], Parsed]) -> tuple[Node, bool]:
        """`parse`, and whether the tree is a copy made for this text (its changed nodes are this script's
        own, compiled for it alone: language/compiler.py), not a tree this cache or a full parse holds."""
        if not source.isascii() and _NON_BMP.search(source):
            return full(source, ps_version).tree, False
        runs = [m.span("s") for m in _STRING.finditer(source) if m.lastgroup == "s"]
        key = _key(source, runs, ps_version)
        found = self._from_template(key, source, runs)
        if found is not None:
            return found
        with self._lock:
            underway = self._parsing.get(key)
            if underway is None:
                self._parsing[key] = threading.Event()
        if underway is None:
            try:
                return self._parse_in_full(key, source, runs, ps_version, full)
            finally:
                with self._lock:
                    self._parsing.pop(key).set()
        # Another thread is parsing this shape: its template (if its fixed strings are this script's too)
        # serves here as well, exactly as if that parse had finished a moment earlier; otherwise a parse of
        # our own, as before.
        underway.wait()
        found = self._from_template(key, source, runs)
        if found is not None:
            return found
        return self._parse_in_full(key, source, runs, ps_version, full)

    def _from_template(self, key: tuple[Any, ...], source: str, runs: list[tuple[int, int]]) -> tuple[Node, bool] | None:
        with self._lock:
            templates = self._entries.get(key)
            if templates is not None:
                self._entries.move_to_end(key)
                templates = list(templates)
        for template in templates or ():
            if all(source[runs[i][0]:runs[i][1]] == text for i, text in template.fixed.items()):
                with self._lock:
                    self.hits += 1
                if source == template.source or not template.program:
                    return template.tree, False  # the very text (or no string it could change): its tree
                return _instantiate(template, source, runs), True
        return None

    def _parse_in_full(
        self, key: tuple[Any, ...], source: str, runs: list[tuple[int, int]], ps_version: str,
        full: Callable[[str, str], Parsed],
    ) -> tuple[Node, bool]:
        parsed = full(source, ps_version)  # raises for a script that does not parse: nothing is kept
        with self._lock:
            self.misses += 1
        if not parsed.normalized:
            return parsed.tree, False
        template = _template(parsed, source, runs)
        with self._lock:
            self._entries.setdefault(key, []).append(template)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return parsed.tree, False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def _key(source: str, runs: list[tuple[int, int]], ps_version: str) -> tuple[Any, ...]:
    """The text between the runs, and each run's line feeds: equal keys, equal scripts but for the runs."""
    parts: list[Any] = [ps_version]
    at = 0
    for start, end in runs:
        parts.append(source[at:start])
        parts.append(source.count("\n", start, end))
        at = end
    parts.append(source[at:])
    return tuple(parts)


def _template(parsed: Parsed, source: str, runs: list[tuple[int, int]]) -> _Template:
    patches: dict[int, list[tuple[str, Any]]] = {}
    fixed: dict[int, str] = {}
    changing: list[tuple[int, int]] = []
    for index, (start, end) in enumerate(runs):
        found = parsed.literals.get(start)
        if found is not None and found[1] == end:
            node = found[0]
            patches.setdefault(id(node), []).append(("lit", index))
            changing.append((start, end))
        else:
            fixed[index] = source[start:end]
    for node, start, end in parsed.blocks:
        if any(start <= s and e <= end for s, e in changing):
            patches.setdefault(id(node), []).append(("text", (start, end)))
        elif any(s < end and start < e for s, e in changing):
            # A block's text cut through a string token: cannot happen for a tree-sitter token, so refuse to
            # guess and make every run fixed (the template then serves only this very script).
            return _all_fixed(parsed.tree, source, runs)
    if not patches:
        return _Template(parsed.tree, source, runs, fixed, [])  # every run fixed: this very script only
    plan = _plan(parsed.tree, set(patches))
    if any(node_id not in plan for node_id in patches):
        # A recorded string node that the tree does not hold (the converter dropped it): its run stays fixed.
        return _all_fixed(parsed.tree, source, runs)
    return _Template(parsed.tree, source, runs, fixed, _compile(parsed.tree, plan, patches, runs))


def _all_fixed(tree: Node, source: str, runs: list[tuple[int, int]]) -> _Template:
    """A template that serves only the very script it came from."""
    return _Template(tree, source, runs, {i: source[s:e] for i, (s, e) in enumerate(runs)}, [])


def _plan(root: Node, targets: set[int]) -> dict[int, list[tuple[str, Any]]]:
    """For every node and container on a path from the root to a target: which of its parts lead there."""
    plan: dict[int, list[tuple[str, Any]]] = {}
    seen: dict[int, bool] = {}

    def visit(obj: Any) -> bool:
        oid = id(obj)
        if oid in seen:
            return seen[oid]
        seen[oid] = False
        dirty: list[tuple[str, Any]] = []
        if isinstance(obj, Node):
            for field in ("a", "b", "c", "d"):
                if visit(getattr(obj, field)):
                    dirty.append(("field", field))
            hit = oid in targets
        elif isinstance(obj, (list, tuple)):
            for i, item in enumerate(obj):
                if visit(item):
                    dirty.append(("item", i))
            hit = False
        else:
            return False
        if dirty or hit:
            plan[oid] = dirty
            seen[oid] = True
            return True
        return False

    visit(root)
    return plan


def _compile(root: Node, plan: dict[int, list[tuple[str, Any]]], patches: dict[int, list[tuple[str, Any]]],
             runs: list[tuple[int, int]]) -> list[tuple[Any, ...]]:
    """The plan as a flat program in post-order (children before parents): one step per object to copy,
    with the mask of the runs below it, so that a script whose text differs in few runs copies only the
    paths to those (a fleet's scripts differ in their VM names and paths, not in 'SilentlyContinue')."""
    program: list[tuple[Any, ...]] = []
    slot: dict[int, int] = {}

    masks: list[int] = []  # per step: the runs (bit i = run i) whose text the object's copy depends on

    def visit(obj: Any) -> int:
        oid = id(obj)
        if oid in slot:
            return slot[oid]
        mask = 0
        if isinstance(obj, Node):
            parts = tuple((field, visit(getattr(obj, field))) for _, field in plan[oid])
            lits = tuple(data for kind, data in patches.get(oid, ()) if kind == "lit")
            texts = tuple(data for kind, data in patches.get(oid, ()) if kind == "text")
            for index in lits[:1]:
                mask |= 1 << index
            for start, end in texts[:1]:
                for index, (s, e) in enumerate(runs):
                    if start <= s and e <= end:
                        mask |= 1 << index
            step: tuple[Any, ...] = (0, obj, parts, lits[0] if lits else None, texts[0] if texts else None)
        else:
            parts = tuple((i, visit(obj[i])) for _, i in plan[oid])
            step = (1 if isinstance(obj, list) else 2, obj, parts, None, None)
        for _, at in parts:
            mask |= masks[at]
        slot[oid] = len(program)
        program.append((*step, mask))
        masks.append(mask)
        return slot[oid]

    visit(root)
    return program


def _instantiate(template: _Template, source: str, runs: list[tuple[int, int]]) -> Node:
    """The template's tree with this script's strings and script-block texts, sharing every clean part."""
    program = template.program
    if not program:
        return template.tree
    shift: list[int] | None = None

    def moved(pos: int) -> int:
        """A template offset in this script: plus how much the runs that end before it grew or shrank.
        A block boundary never lies inside a changing run (`_template` refused such a shape)."""
        nonlocal shift
        if shift is None:
            shift = [0]
            for (new_start, new_end), (old_start, old_end) in zip(runs, template.runs, strict=True):
                shift.append(shift[-1] + (new_end - new_start) - (old_end - old_start))
        return pos + shift[bisect.bisect_right(template.run_ends, pos)]

    # Which runs hold another text than the template's: only the objects on a path to one of those are
    # copied; every other one is the template's own (the same text there gives the same node). Two runs of
    # one text are the same characters, whatever their offsets.
    run_steps = template.run_steps
    steps: set[int] = set()
    for index, (start, end) in enumerate(runs):
        if source[start:end] != template.run_texts[index]:
            steps.update(run_steps[index])
    # The steps to run, children before parents as in the program; a part no changed run reaches is the
    # template's own object.
    made: dict[int, Any] = {}
    new_node = Node.__new__
    for at in sorted(steps):
        kind, obj, parts, lit, text, _mask = program[at]
        if kind == 0:
            # Node(obj.k, obj.line, obj.a, ...) without the call: the same nine slots.
            new: Any = new_node(Node)
            new.k, new.line, new.a, new.b, new.c, new.d = obj.k, obj.line, obj.a, obj.b, obj.c, obj.d
            # The original's compiled functions: they hold nothing a copy changes (language/compiler.py).
            new.fv, new.fs, new.fp = obj.fv, obj.fs, obj.fp
            for field, part in parts:
                setattr(new, field, made[part] if part in made else program[part][1])
            if lit is not None:
                start, end = runs[lit]
                new.a = decode_verbatim(source[start + 1 : end - 1])
            if text is not None:
                new.c = source[moved(text[0]) : moved(text[1])]
        else:
            new = list(obj)
            for i, part in parts:
                new[i] = made[part] if part in made else program[part][1]
            if kind == 2:
                new = tuple(new)
        made[at] = new
    root = len(program) - 1
    return made[root] if root in made else program[root][1]
