"""PowerShell source -> the simulator's syntax tree (language/ast.py), with tree-sitter-pwsh doing the parsing.

A syntax error fails the whole script before anything runs, as powershell.exe does, with its line and column.
Every tree-sitter node kind the interpreter does not evaluate is refused here, by name and line, so an
unsupported construct can never be skipped silently at run time.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from typing import Any

import tree_sitter
import tree_sitter_pwsh

from orchestrator.simulator.language.ast import Node
from orchestrator.simulator.language.compiler import compile_tree
from orchestrator.simulator.language.errors import ParseError, UnsupportedConstruct
from orchestrator.simulator.language.lexer import decode_expandable_text, decode_verbatim, normalize
from orchestrator.simulator.language.shapes import Parsed, ShapeCache

_LANGUAGE = tree_sitter.Language(tree_sitter_pwsh.language())
_MULTIPLIERS = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}
_NUMBER = re.compile(r"^(?P<num>0x[0-9a-f]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)(?P<type>[ld])?(?P<mult>kb|mb|gb|tb|pb)?$", re.I)
_SKIP = frozenset({"comment", "empty_statement"})
SHAPES = ShapeCache()


TEXT_CACHE_SIZE = 128  # trees kept by (text, PowerShell version)
_TEXTS: OrderedDict[tuple[str, str], Node] = OrderedDict()
_TEXTS_LOCK = threading.Lock()


def parse(source: str, ps_version: str = "5.1") -> Node:
    """The script's syntax tree ('block' node). Raises ParseError, also for a language feature newer than
    the host's Windows PowerShell (`pwsh_level` names each with its about_* page). Cached by text and version.

    Versions: Windows Server 2012 ships Windows PowerShell 3.0 and 2012 R2 ships 4.0 (MicrosoftDocs/
    PowerShell-Docs reference/docs-conceptual/windows-powershell/install/Windows-PowerShell-System-Requirements.md).
    A real 3.0/4.0 host fails some of these only when the line runs (`.Where()` is a missing method there);
    refusing the whole script before it starts is stricter, never more lenient.

    Scripts that differ only inside single-quoted strings share one conversion (language/shapes.py): the
    text cache above serves the same script again, the shape cache a fleet's scripts host after host.

    The text cache keeps the trees of full parses only. A tree the shape cache copied for one host's text
    holds that host's own nodes and their compiled closures (language/compiler.py, about 0.3 MB for a
    converge script): a fleet's dry run sees each such text once, and keeping the last 128 of them tripled
    what a preflight left in memory, and what the garbage collector scanned, for nothing."""
    key = (source, ps_version)
    with _TEXTS_LOCK:
        tree = _TEXTS.get(key)
        if tree is not None:
            _TEXTS.move_to_end(key)
            return tree
    tree, copied = SHAPES.parse_copy(source, ps_version, parse_in_full)
    if not copied:
        with _TEXTS_LOCK:
            _TEXTS[key] = tree
            while len(_TEXTS) > TEXT_CACHE_SIZE:
                _TEXTS.popitem(last=False)
    return tree


def _clear_texts() -> None:
    with _TEXTS_LOCK:
        _TEXTS.clear()


parse.cache_clear = _clear_texts  # type: ignore[attr-defined]  # as functools' caches have it


def parse_in_full(source: str, ps_version: str) -> Parsed:
    """Parse and convert the whole text, keeping what the shape cache needs to reuse the tree."""
    converter = _Converter(source)
    converter.refuse_newer(ps_version)
    tree = converter.program()
    compile_tree(tree)
    return Parsed(tree, converter.normalized == source, converter.literals, converter.blocks)


_NUMBER_RANGE = re.compile(r"([0-9]+)\.\.(.*)")


class _Converter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.raw = source.encode("utf-16-le", "surrogatepass")
        self.line_starts = _line_starts(self.raw)
        parser = tree_sitter.Parser(_LANGUAGE)
        self.normalized = normalize(source)
        self.tree = parser.parse(self.normalized.encode("utf-16-le", "surrogatepass"), encoding="utf16")
        # For the shape cache (language/shapes.py): each single-quoted string's node by the UTF-16 offset of
        # its opening quote (with its end), and each script block whose node keeps a slice of the source.
        self.literals: dict[int, tuple[Node, int] | None] = {}
        self.blocks: list[tuple[Node, int, int]] = []
        # The names of variables declared with a type (`[int]$n = 1`): their other assignments are marked
        # (`_mark_typed`) so that only those convert to the type; every other assignment stays plain.
        self.typed: set[str] = set()

    def refuse_newer(self, ps_version: str) -> None:
        from orchestrator.pwsh_level import newer_features

        for feature in newer_features(self.tree, ps_version):
            line = feature.line
            source_line = self.source.splitlines()[line - 1] if line <= len(self.source.splitlines()) else ""
            raise ParseError(f"{feature.feature} needs Windows PowerShell {feature.since}; this host runs "
                             f"Windows PowerShell {ps_version}.", line, 1, source_line)

    # -- helpers -------------------------------------------------------------------------------------------

    def position(self, n: tree_sitter.Node) -> tuple[int, int]:
        """0-based line and column of a node in the original text (the normalized copy may add newlines)."""
        offset = n.start_byte // 2
        row = bisect.bisect_right(self.line_starts, offset) - 1
        return row, offset - self.line_starts[row]

    def line_of(self, n: tree_sitter.Node) -> int:
        return bisect.bisect_right(self.line_starts, n.start_byte // 2)

    def text(self, n: tree_sitter.Node) -> str:
        return self.raw[n.start_byte : n.end_byte].decode("utf-16-le", "surrogatepass")

    def line_text(self, row: int) -> str:
        lines = self.source.splitlines()
        return lines[row] if row < len(lines) else ""

    def unsupported(self, n: tree_sitter.Node, what: str | None = None) -> UnsupportedConstruct:
        row, col = self.position(n)
        snippet = self.text(n).splitlines()[0][:60] if self.text(n) else ""
        name = what or n.type
        return UnsupportedConstruct(
            f"The simulator does not support the PowerShell construct '{name}' (line {row + 1}): {snippet}",
            row + 1,
            col + 1,
            self.line_text(row),
        )

    def syntax_error(self) -> None:
        root = self.tree.root_node
        if not root.has_error:
            return
        bad = _first_error(root)
        assert bad is not None
        row, col = self.position(bad)
        if bad.is_missing:
            message = f"Missing '{bad.type}' in the statement; the parser expected it here."
        else:
            token = self.text(bad).strip().splitlines()[0][:40] if self.text(bad).strip() else ""
            message = (
                f"Unexpected token '{token}' in expression or statement."
                if token
                else "Incomplete statement: the script ended before the statement was complete."
            )
        raise ParseError(message, row + 1, col + 1, self.line_text(row), "ParserError")

    def duplicate_key(self, key: tree_sitter.Node) -> ParseError:
        row, col = self.position(key)
        return ParseError(f"Duplicate keys '{self.text(key)}' are not allowed in hash literals.", row + 1, col + 1,
                          self.line_text(row), "ParserError")

    def ordered_not_on_hash_literal(self, at: tree_sitter.Node) -> ParseError:
        """`[ordered]` before anything but a hash literal (`[ordered]$hash = @{}`, `[ordered]$h`) is a parse
        error, so the script does not run at all: "The ordered attribute can be specified only on a hash literal
        node." (ParserError, OrderedAttributeOnlyOnHashLiteralNode: MicrosoftDocs/PowerShell-Docs
        reference/3.0/Microsoft.PowerShell.Core/About/about_Hash_Tables.md, "Creating Ordered Dictionaries").
        The simulator used to turn the variable's hashtable into an ordered one at run time (audit M L7)."""
        row, col = self.position(at)
        return ParseError("The ordered attribute can be specified only on a hash literal node.", row + 1, col + 1,
                          self.line_text(row), "ParserError")

    @staticmethod
    def named(n: tree_sitter.Node) -> list[tree_sitter.Node]:
        return [c for c in n.named_children if c.type not in _SKIP]

    # -- statements ----------------------------------------------------------------------------------------

    def program(self) -> Node:
        self.syntax_error()
        root = self.tree.root_node
        stmts: list[Node] = []
        params: list[Any] = []
        for child in self.named(root):
            if child.type == "statement_list":
                stmts.extend(self.statements(child))
            elif child.type == "param_block":
                params = self.param_block(child)
            else:
                stmts.append(self.statement(child))
        block = Node("block", 1, stmts)
        if self.typed:
            _mark_typed(block, self.typed)
        if not params:
            return block
        top = Node("sblock", 1, params, block, self.source)
        self.blocks.append((top, 0, len(self.raw) // 2))
        return top

    def statements(self, n: tree_sitter.Node) -> list[Node]:
        return [self.statement(c) for c in self.named(n)]

    def block(self, n: tree_sitter.Node | None) -> Node:
        """statement_block / script_block_body / statement_list -> 'block'."""
        line = self.line_of(n) if n is not None else 0
        if n is None:
            return Node("block", line, [])
        if n.type == "statement_list":
            return Node("block", line, self.statements(n))
        stmts: list[Node] = []
        for c in self.named(n):
            if c.type == "statement_list":
                stmts.extend(self.statements(c))
            else:
                stmts.append(self.statement(c))
        return Node("block", line, stmts)

    def statement(self, n: tree_sitter.Node) -> Node:
        t = n.type
        line = self.line_of(n)
        if t == "pipeline":
            return self.pipeline(n, statement=True)
        if t == "if_statement":
            return self.if_statement(n)
        if t == "foreach_statement":
            kids = self.named(n)
            if kids[0].type != "variable" or len(kids) != 3:
                raise self.unsupported(n, "foreach with options")
            return Node("foreach", line, self.var_name(kids[0]), self.pipeline(kids[1]), self.block(kids[2]))
        if t == "for_statement":
            init = cond = it = None
            body = None
            for c in self.named(n):
                if c.type == "for_initializer":
                    init = self.pipeline(self.named(c)[0], statement=True)
                elif c.type == "for_condition":
                    cond = self.pipeline(self.named(c)[0])
                elif c.type == "for_iterator":
                    it = self.pipeline(self.named(c)[0], statement=True)
                elif c.type == "statement_block":
                    body = self.block(c)
            return Node("for", line, init, cond, it, body)
        if t == "while_statement":
            cond = body = None
            for c in self.named(n):
                if c.type == "while_condition":
                    cond = self.pipeline(self.named(c)[0])
                elif c.type == "statement_block":
                    body = self.block(c)
            return Node("while", line, cond, body)
        if t == "try_statement":
            return self.try_statement(n)
        if t == "flow_control_statement":
            keyword = n.children[0].type.lower()
            kids = self.named(n)
            if keyword in ("break", "continue"):
                if kids:
                    raise self.unsupported(n, f"{keyword} with a label")
                return Node(keyword, line)
            if keyword in ("throw", "exit", "return"):
                return Node(keyword, line, self.pipeline(kids[0]) if kids else None)
            raise self.unsupported(n)
        if t == "function_statement":
            name = body = None
            for c in n.children:
                if c.type == "function_name":
                    name = self.text(c)
                elif c.type == "script_block":
                    body = self.script_block(c, "")
            if name is None:
                raise self.unsupported(n)
            if body is None:
                body = Node("sblock", line, [], Node("block", line, []), "")
            return Node("function", line, name, body)
        raise self.unsupported(n)

    def if_statement(self, n: tree_sitter.Node) -> Node:
        clauses: list[tuple[Node, Node]] = []
        else_block = None
        cond = None
        for c in n.children:
            if c.type == "pipeline":
                cond = self.pipeline(c)
            elif c.type == "statement_block":
                clauses.append((cond, self.block(c)))  # type: ignore[arg-type]
            elif c.type == "elseif_clauses":
                for clause in self.named(c):
                    ccond = None
                    for cc in clause.children:
                        if cc.type == "pipeline":
                            ccond = self.pipeline(cc)
                        elif cc.type == "statement_block":
                            clauses.append((ccond, self.block(cc)))  # type: ignore[arg-type]
            elif c.type == "else_clause":
                else_block = self.block(self.named(c)[0])
        return Node("if", self.line_of(n), clauses, else_block)

    def try_statement(self, n: tree_sitter.Node) -> Node:
        body = None
        catches: list[tuple[list[str], Node]] = []
        final = None
        for c in self.named(n):
            if c.type == "statement_block":
                body = self.block(c)
            elif c.type == "catch_clauses":
                for clause in self.named(c):
                    types: list[str] = []
                    block = None
                    for cc in self.named(clause):
                        if cc.type == "catch_type_list":
                            types = [self.type_name(t) for t in self.named(cc)]
                        elif cc.type == "statement_block":
                            block = self.block(cc)
                        else:
                            raise self.unsupported(cc)
                    catches.append((types, block))  # type: ignore[arg-type]
            elif c.type == "finally_clause":
                final = self.block(self.named(c)[0])
            else:
                raise self.unsupported(c)
        return Node("try", self.line_of(n), body, catches, final)

    def param_block(self, n: tree_sitter.Node) -> list[tuple[str, str | None, Node | None, str | None]]:
        """Each parameter as (name, type name or None, default or None, its name as written when it is
        Mandatory, else None: the name a missing-parameter error shows)."""
        params: list[tuple[str, str | None, Node | None, str | None]] = []
        for c in self.named(n):
            if c.type == "attribute_list":
                continue  # [CmdletBinding()] on the block: no effect in the simulator's binding
            if c.type != "parameter_list":
                raise self.unsupported(c)
            for p in self.named(c):
                name = None
                written = ""
                type_name = None
                default = None
                mandatory = False
                for pc in self.named(p):
                    if pc.type == "variable":
                        name = self.var_name(pc)
                        written = self.text(pc)[1:]
                    elif pc.type == "attribute_list":
                        for attr in self.named(pc):
                            tl = self.named(attr)
                            if tl and tl[0].type == "type_literal":
                                # Only the outer brackets: `[string[]]` is string[] (audit M H1), not string.
                                type_name = self.type_name(tl[0]).lower()
                            elif tl and tl[0].type == "attribute_name":
                                mandatory = mandatory or self.mandatory(attr)
                    elif pc.type == "script_parameter_default":
                        default = self.expression(self.named(pc)[0])
                    else:
                        raise self.unsupported(pc)
                params.append((name, type_name, default, written if mandatory else None))  # type: ignore[arg-type]
        return params

    def mandatory(self, attr: tree_sitter.Node) -> bool:
        """Whether a parameter attribute is `[Parameter(Mandatory=...)]` with a value other than $false or 0
        (`[Parameter(Mandatory)]` too: an attribute argument without a value is $true). A value the parser
        cannot read counts as mandatory, the stricter reading."""
        kids = self.named(attr)
        if self.text(kids[0]).strip().lower() not in ("parameter", "system.management.automation.parameter"):
            return False
        for args in kids[1:]:
            for arg in self.named(args):
                parts = self.named(arg)
                if not parts or self.text(parts[0]).strip().lower() != "mandatory":
                    continue
                if len(parts) == 1:
                    return True
                return self.text(parts[-1]).strip().lower() not in ("$false", "0")
        return False

    def script_block(self, n: tree_sitter.Node, text: str) -> Node:
        params: list[Any] = []
        stmts: list[Node] = []
        for c in self.named(n):
            if c.type == "param_block":
                params = self.param_block(c)
            elif c.type == "script_block_body":
                stmts.extend(self.block(c).a)
            elif c.type == "statement_list":
                stmts.extend(self.statements(c))
            else:
                raise self.unsupported(c)
        line = self.line_of(n)
        return Node("sblock", line, params, Node("block", line, stmts), text)

    # -- pipelines and commands ----------------------------------------------------------------------------

    def pipeline(self, n: tree_sitter.Node, *, statement: bool = False) -> Node:
        """A pipeline node -> 'assign', 'pipe' (commands involved) or a bare expression."""
        line = self.line_of(n)
        if n.type != "pipeline":
            return self.expression(n)
        kids = self.named(n)
        if len(kids) != 1:
            raise self.unsupported(n, "pipeline chain operator")
        inner = kids[0]
        if inner.type == "assignment_expression":
            return self.assignment(inner)
        if inner.type != "pipeline_chain":
            return self.expression(inner)
        return self.chain(inner, line, statement)

    def chain(self, n: tree_sitter.Node, line: int, statement: bool = False) -> Node:
        elements = []
        for c in n.children:
            if c.type in ("|", "comment"):
                continue
            if not c.is_named:
                raise self.unsupported(n, f"operator {c.type}")
            if c.type == "command":
                found = None if elements else self.number_range(c)
                elements.append(found if found is not None else self.command(c))
            else:
                elements.append(self.expression(c))
        if len(elements) == 1 and elements[0].k != "cmd":
            expr = elements[0]
            if statement and expr.k == "incr":
                # "When you use the increment operator in a simple statement, no value is returned" (and "no
                # value is returned" for the decrement operator: about_Assignment_Operators, 3.0): the statement
                # form (compiler._incr_stmt) writes nothing; in parentheses or an assignment it gives its value.
                return expr
            return Node("pipe", line, elements) if statement else expr
        return Node("pipe", line, elements)

    def assignment(self, n: tree_sitter.Node) -> Node:
        target = op = value = None
        for c in n.children:
            if c.type == "left_assignment_expression":
                target = self.expression(self.named(c)[0])
            elif c.type == "assignment_operator":
                op = self.text(c).strip()
            elif c.type == "assignment_value":
                vk = self.named(c)[0]
                if vk.type == "pipeline_chain":
                    value = self.chain(vk, self.line_of(vk))
                elif vk.type == "assignment_expression":
                    value = self.assignment(vk)
                else:
                    value = self.pipeline(vk)
        if target is None or target.k not in ("var", "member", "index", "cast"):
            raise self.unsupported(n, "assignment to this target")
        if op not in ("=", "+=", "-=", "*="):
            raise self.unsupported(n, f"assignment operator {op}")
        if target.k == "cast" and target.b.k == "var":
            self.typed.add(target.b.a)
        return Node("assign", self.line_of(n), target, op, value)

    def number_range(self, n: tree_sitter.Node) -> Node | None:
        """`1..3`, `0..($n - 1)`, `1.. 3` first in a pipeline: the range operator ("Represents the sequential
        integers in an integer array, given an upper, and lower boundary", `1..10`: MicrosoftDocs/PowerShell-Docs
        reference/3.0/Microsoft.PowerShell.Core/About/about_Operators.md), which tree-sitter's grammar reads as a
        command named `1..3` when a number literal comes first; the simulator then said "The term '1..3' is not
        recognized". None for a real command. `1..$n` (the variable inside the token) is refused by name; write
        `1 .. $n` or `(1)..$n`."""
        kids = [c for c in n.children if c.type != "comment"]
        if not kids or kids[0].type != "command_name":
            return None
        match = _NUMBER_RANGE.fullmatch(self.text(kids[0]).strip())
        if match is None:
            return None
        line = self.line_of(n)
        low = Node("num", line, int(match.group(1)))
        rest = [c for c in kids[1].children if c.type not in ("command_argument_sep", "comment")] \
            if len(kids) == 2 and kids[1].type == "command_elements" else None
        high = match.group(2)
        if high.isascii() and high.isdigit() and (len(kids) == 1 or rest == []):
            return Node("range", line, low, Node("num", line, int(high)))
        if not high and rest is not None and len(rest) == 1:
            return Node("range", line, low, self.expression(rest[0]))
        raise self.unsupported(n, "range written this way (put a blank before '..' or the lower bound in "
                                  "parentheses)")

    def command(self, n: tree_sitter.Node) -> Node:
        line = self.line_of(n)
        name = None
        name_expr = None
        invoke_op = None
        elements: list[tuple[Any, ...]] = []
        for c in n.children:
            t = c.type
            if t == "command_invocation_operator":
                invoke_op = self.text(c).strip()
            elif t == "command_name":
                name = self.text(c)
            elif t == "command_name_expr":
                inner = self.named(c)[0]
                if inner.type == "path_command_name":
                    vk = self.named(inner)
                    if len(vk) == 1 and vk[0].type == "variable":
                        name_expr = self.expression(vk[0])
                    else:
                        name = self.text(inner)
                else:
                    name_expr = self.expression(inner)
            elif t == "command_elements":
                elements = self.command_elements(c)
            elif t == "comment":
                continue
            else:
                raise self.unsupported(c)
        if invoke_op == "." and name_expr is None:
            raise self.unsupported(n, "dot-sourcing")
        return Node("cmd", line, name, name_expr, elements, invoke_op)

    def command_elements(self, n: tree_sitter.Node) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        kids = [c for c in n.children if c.type != "comment"]
        i = 0
        while i < len(kids):
            c = kids[i]
            t = c.type
            if t == "command_argument_sep":
                i += 1
                continue
            if t == "command_parameter":
                pname = self.text(c)[1:]
                colon = False
                if pname.endswith(":"):
                    pname, colon = pname[:-1], True
                elif i + 1 < len(kids) and kids[i + 1].type == "command_argument_sep" and self.text(kids[i + 1]) == ":":
                    colon = True
                    i += 1
                value = None
                if colon:
                    i += 1
                    while i < len(kids) and kids[i].type == "command_argument_sep":
                        i += 1
                    value = self.argument(kids[i])
                out.append(("p", pname, value, colon, self.line_of(c)))
                i += 1
                continue
            if t == "redirection":
                raise self.unsupported(c, "redirection")
            if t == "argument_list" and i > 0 and out and out[-1][0] == "a" and out[-1][1].k == "member" \
                    and kids[i - 1].type != "command_argument_sep":
                # `(Get-VM).State.ToString()` as an argument: tree-sitter splits the call from its arguments
                member = out[-1][1]
                args = [self.expression(self.named(arg)[0]) for al in self.named(c) for arg in self.named(al)]
                out[-1] = ("a", Node("invoke", member.line, member.a, member.b, args, member.d))
                i += 1
                continue
            if t == "unary_expression" and len(self.named(c)) == 1 and self.named(c)[0].type == "variable":
                vtext = self.text(self.named(c)[0])
                if vtext.startswith("@"):
                    out.append(("s", vtext[1:].lower(), self.line_of(c)))
                    i += 1
                    continue
            out.append(("a", self.argument(c)))
            i += 1
        return out

    def argument(self, n: tree_sitter.Node) -> Node:
        line = self.line_of(n)
        if n.type == "generic_token":
            return Node("str", line, self.text(n))
        if n.type == "bareword_argument_list":
            return Node("alit", line, [self.argument(c) for c in self.named(n)])
        return self.expression(n)

    # -- expressions ---------------------------------------------------------------------------------------

    def expression(self, n: tree_sitter.Node) -> Node:
        t = n.type
        line = self.line_of(n)
        if t == "unary_expression":
            kids = self.named(n)
            if len(kids) != 1:
                raise self.unsupported(n)
            return self.expression(kids[0])
        if t == "pipeline":
            return self.pipeline(n)
        if t == "pipeline_chain":
            return self.chain(n, line)
        if t == "variable":
            return self.variable(n)
        if t == "string_literal":
            return self.expression(self.named(n)[0])
        if t == "verbatim_string_characters":
            node = Node("str", line, decode_verbatim(self.text(n)[1:-1]))
            start = n.start_byte // 2
            # A token converted twice would leave a node the tree may not hold: such a string stays fixed.
            self.literals[start] = None if start in self.literals else (node, n.end_byte // 2)
            return node
        if t == "verbatim_here_string_characters":
            body = self.text(n)[2:-2]
            return Node("str", line, _here_body(body))
        if t == "expandable_string_literal":
            return self.expandable(n, 1, 1)
        if t == "expandable_here_string_literal":
            return self.expandable(n, 2, 2, here=True)
        if t == "integer_literal":
            return Node("num", line, self.number(n, self.text(n)))
        if t == "real_literal":
            return Node("num", line, self.number(n, self.text(n)))
        if t == "generic_token":
            return Node("str", line, self.text(n))
        if t == "array_expression":
            kids = self.named(n)
            return Node("array", line, self.block(kids[0]) if kids else Node("block", line, []))
        if t == "array_literal_expression":
            return Node("alit", line, [self.expression(c) for c in self.named(n)])
        if t == "hash_literal_expression":
            entries = []
            barewords: set[str] = set()
            for body in self.named(n):
                for entry in self.named(body):
                    kids = self.named(entry)
                    key = self.named(kids[0])[0]
                    if key.type == "simple_name":
                        # A repeated key is a parse error, keys compared ignoring case (DuplicateKeyInHashLiteral:
                        # "Duplicate keys 'x' are not allowed in hash literals", as Windows PowerShell reports
                        # it). Barewords are code, so checking them here keeps a shape's verdict (shapes.py);
                        # a quoted key is checked when the literal is evaluated (compiler._hash).
                        folded = self.text(key).lower()
                        if folded in barewords:
                            raise self.duplicate_key(key)
                        barewords.add(folded)
                    keynode = Node("str", line, self.text(key)) if key.type == "simple_name" else self.expression(key)
                    entries.append((keynode, self.pipeline(kids[1]) if kids[1].type == "pipeline" else self.statement(kids[1])))
            return Node("hash", line, entries)
        if t == "parenthesized_expression":
            kids = self.named(n)
            return Node("paren", line, self.pipeline(kids[0]))
        if t == "sub_expression":
            kids = self.named(n)
            return Node("subexpr", line, self.block(kids[0]) if kids else Node("block", line, []))
        if t == "script_block_expression":
            kids = self.named(n)
            text = self.text(n)[1:-1]
            params: list[Any] = []
            body = Node("sblock", line, [], Node("block", line, []), text)
            for kid in kids:
                if kid.type == "param_block":
                    params = self.param_block(kid)
                elif kid.type == "script_block":
                    body = self.script_block(kid, text)
                else:
                    raise self.unsupported(kid)
            if params:
                body.a = params
            self.blocks.append((body, n.start_byte // 2 + 1, n.end_byte // 2 - 1))
            return body
        if t == "type_literal":
            return Node("type", line, self.type_name(n))
        if t == "cast_expression":
            kids = self.named(n)
            type_name = self.type_name(kids[0])
            operand = self.expression(kids[1])
            if type_name.lower() == "ordered" and operand.k != "hash":
                raise self.ordered_not_on_hash_literal(kids[0])
            return Node("cast", line, type_name, operand)
        if t == "expression_with_unary_operator":
            return self.unary(n)
        if t in ("member_access", "invocation_expression"):
            return self.member(n)
        if t == "element_access":
            kids = self.named(n)
            return Node("index", line, self.expression(kids[0]), self.expression(kids[1]))
        if t in ("comparison_expression", "additive_expression", "multiplicative_expression", "format_expression",
                 "logical_expression", "range_expression", "bitwise_expression"):
            return self.binary(n)
        if t in ("post_increment_expression", "post_decrement_expression"):
            return Node("incr", line, 1 if "increment" in t else -1, self.expression(self.named(n)[0]), True)
        if t in ("pre_increment_expression", "pre_decrement_expression"):
            return Node("incr", line, 1 if "increment" in t else -1, self.expression(self.named(n)[0]), False)
        if t == "command":
            return Node("pipe", line, [self.command(n)])
        if t == "assignment_expression":
            return self.assignment(n)
        raise self.unsupported(n)

    def variable(self, n: tree_sitter.Node) -> Node:
        line = self.line_of(n)
        text = self.text(n)
        if text.startswith("@"):
            raise self.unsupported(n, "splatting outside a command")
        return Node("var", line, *self._var_parts(text))

    def var_name(self, n: tree_sitter.Node) -> str:
        return self._var_parts(self.text(n))[0]

    @staticmethod
    def _var_parts(text: str) -> tuple[str, str | None]:
        name = text[1:]
        if name.startswith("{") and name.endswith("}"):
            name = name[1:-1]
        scope = None
        if ":" in name:
            scope, name = name.split(":", 1)
            scope = scope.lower()
            if scope in ("local", "private"):
                scope = None
            elif scope == "global":
                scope = "script"
        return name.lower(), scope

    def expandable(self, n: tree_sitter.Node, open_len: int, close_len: int, *, here: bool = False) -> Node:
        line = self.line_of(n)
        start = n.start_byte + 2 * open_len
        end = n.end_byte - 2 * close_len
        if here:
            start = n.start_byte + 4
        parts: list[Any] = []
        pos = start
        for c in n.named_children:
            if c.type not in ("variable", "sub_expression"):
                continue
            if c.start_byte > pos:
                parts.append(decode_expandable_text(self.raw[pos : c.start_byte].decode("utf-16-le", "surrogatepass")))
            if c.type == "variable":
                vtext = self.text(c)
                if vtext in ("$", "$$", "$^"):
                    parts.append(vtext)
                else:
                    parts.append(self.variable(c))
            else:
                kids = self.named(c)
                parts.append(Node("subexpr", line, self.block(kids[0]) if kids else Node("block", line, [])))
            pos = c.end_byte
        if end > pos:
            parts.append(decode_expandable_text(self.raw[pos:end].decode("utf-16-le", "surrogatepass")))
        if here and parts and isinstance(parts[0], str):
            parts[0] = _here_body(parts[0] + "\n")[:-1] if parts[0] else parts[0]
        parts = [p for p in parts if p != ""]
        if all(isinstance(p, str) for p in parts):
            return Node("str", line, "".join(parts))
        return Node("xstr", line, parts)

    def number(self, n: tree_sitter.Node, text: str) -> int | float:
        m = _NUMBER.match(text.strip())
        if not m:
            raise self.unsupported(n, f"number literal {text}")
        num = m["num"]
        if num.lower().startswith("0x"):
            value: int | float = int(num, 16)
        elif any(ch in num for ch in ".eE") or (m["type"] or "").lower() == "d":
            value = float(num)
        else:
            value = int(num)
        if m["mult"]:
            value = value * _MULTIPLIERS[m["mult"].lower()]
            if isinstance(value, float) and value.is_integer() and "." not in num:
                value = int(value)
        return value

    def type_name(self, n: tree_sitter.Node) -> str:
        return self.text(n).strip()[1:-1].strip()

    def unary(self, n: tree_sitter.Node) -> Node:
        line = self.line_of(n)
        kids = self.named(n)
        first = n.children[0]
        if first.type == "cast_expression" or (kids and kids[0].type == "cast_expression" and len(n.children) == 1):
            return self.expression(kids[0])
        op = first.type.lower() if not first.is_named else None
        if op is None:
            if first.type in ("cast_expression", "pre_increment_expression", "pre_decrement_expression"):
                return self.expression(first)
            raise self.unsupported(n)
        operand = self.expression(kids[-1])
        if op in ("-not", "!"):
            return Node("not", line, operand)
        if op == ",":
            return Node("alit", line, [operand])
        if op in ("-", "+"):
            return Node("neg" if op == "-" else "pos", line, operand)
        if op in ("++", "--"):
            return Node("incr", line, 1 if op == "++" else -1, operand, False)
        if op in ("-join", "-split"):
            return Node("unaryop", line, op, operand)
        raise self.unsupported(n, f"unary operator {op}")

    def member(self, n: tree_sitter.Node) -> Node:
        line = self.line_of(n)
        kids = n.children
        obj = self.expression(kids[0])
        static = False
        name: Any = None
        args = None
        for c in kids[1:]:
            if c.type == "::":
                static = True
            elif c.type == "member_name":
                inner = self.named(c)
                if inner and inner[0].type == "simple_name":
                    name = self.text(inner[0])
                elif inner:
                    name = self.expression(inner[0])
                else:
                    name = self.text(c)
            elif c.type == "argument_list":
                args = []
                for al in self.named(c):
                    for arg in self.named(al):
                        args.append(self.expression(self.named(arg)[0]))
        if n.type == "invocation_expression":
            return Node("invoke", line, obj, name, args or [], static)
        return Node("member", line, obj, name, None, static)

    def binary(self, n: tree_sitter.Node) -> Node:
        line = self.line_of(n)
        kids = n.children
        if len(kids) != 3:
            raise self.unsupported(n)
        left, opnode, right = kids
        op = self.text(opnode).strip().lower().replace("\u2013", "-").replace("\u2014", "-").replace("\u2015", "-")
        if n.type == "logical_expression":
            return Node("logic", line, op, self.expression(left), self.expression(right))
        if op == "..":
            return Node("range", line, self.expression(left), self.expression(right))
        supported = {
            "+", "-", "*", "/", "%", "-f",
            "-eq", "-ne", "-gt", "-ge", "-lt", "-le", "-like", "-notlike", "-match", "-notmatch",
            "-contains", "-notcontains", "-in", "-notin", "-replace", "-is", "-isnot", "-as", "-join", "-split",
            "-ieq", "-ine", "-ilike", "-imatch", "-ceq", "-cne", "-clike", "-cnotlike", "-cmatch", "-cnotmatch",
            "-icontains", "-ccontains", "-ireplace", "-creplace", "-igt", "-ilt", "-ige", "-ile",
        }
        if op not in supported:
            raise self.unsupported(n, f"operator {op}")
        right_node = Node("type", line, self.type_name(right)) if right.type == "type_literal" else self.expression(right)
        return Node("binop", line, op, self.expression(left), right_node)


def _line_starts(raw: bytes) -> list[int]:
    """Offsets, in UTF-16 code units, where each line of the text starts."""
    starts = [0]
    index = raw.find(b"\n\x00")
    while index >= 0:
        if index % 2 == 0:
            starts.append(index // 2 + 1)
        index = raw.find(b"\n\x00", index + 1)
    return starts


def _first_error(node: tree_sitter.Node) -> tree_sitter.Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing or child.type == "ERROR":
            found = _first_error(child)
            if found is not None:
                return found
    return None


def _here_body(body: str) -> str:
    """A here-string's body without the newline after the opening and before the closing delimiter."""
    body = body.split("\n", 1)[1] if "\n" in body else body
    if body.endswith("\n"):
        body = body[:-1]
    if body.endswith("\r"):
        body = body[:-1]
    return body


def _mark_typed(root: Node, names: set[str]) -> None:
    """Mark every variable node and foreach loop of a typed variable's name (`var.c`, `foreach.d`): they
    are the places that may assign to it, and the compiler gives only them the converting store
    (Interpreter.assign_constrained). A name's mark says only that it may be constrained; which scope
    holds the constraint is decided when the assignment runs, as PowerShell's variables are."""
    stack: list[Any] = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, Node):
            if obj.k == "var" and obj.a in names:
                obj.c = True
            elif obj.k == "foreach" and obj.a in names:
                obj.d = True
            stack.extend((obj.a, obj.b, obj.c, obj.d))
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
