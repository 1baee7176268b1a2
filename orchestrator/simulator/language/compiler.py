"""The syntax tree compiled to Python functions, once per node: what the interpreter runs.

Walking the tree asked, for every node on every run, which kind it is and which handler evaluates it. Here
each node gets, the first time it runs, a function made for it (kept on the node: `Node.fv` for its value,
`Node.fs` as a statement, `Node.fp` for a pipeline or a command in one) that already holds what its kind and
its fixed parts decide: a command's resolved name, an operator's case-insensitive form, an assignment's
variable name, whether a statement writes $null.

What each construct does is PowerShell's (MicrosoftDocs/PowerShell-Docs
reference/3.0/Microsoft.PowerShell.Core/About/): a statement's output goes to the pipeline unless it is
assigned (about_Assignment_Operators.md), if/foreach/for/do/switch (about_If.md, about_Foreach.md,
about_For.md, about_Do.md, about_Switch.md), try/catch/finally and throw (about_Try_Catch_Finally.md,
about_Throw.md), operators and their precedence (about_Operators.md, about_Operator_Precedence.md,
about_Comparison_Operators.md), script blocks (about_Script_Blocks.md). Compiling changes when a decision is
made, never what it decides: the language, template and truth tests under tests/simulator run through it.

A function never holds the node's own values or its children: it is called with the node, `fn(interp,
node, ...)`, and reads the node's fields then. That is what lets the scripts of one shape share them
(language/shapes.py): a later script's tree is the first one's with some string values and script-block
texts changed and the nodes above them copied, and a copy takes its original's functions
(`shapes._instantiate`), so a fleet's dry run compiles a shape once, not once per host. What a function may
hold is only what every script of the shape has alike: node kinds, operators, bare words (command, member,
variable, parameter and type names), line numbers. Whether a node's children are compiled is not a
question at run time: a value's function is made after its children's (`_sub`), and a copy takes them all.

The functions do exactly what `Interpreter`'s handlers did, in the same order, with the same errors.
Nothing about the host is compiled in: a command's cmdlet, its signature and its parameters are found when
it runs, on the host it runs on, so a shared tree still binds every call against each host's signatures.
Nodes are never changed after parsing; two threads compiling one node at once both build an equal function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orchestrator.simulator.language import dotnet, flow
from orchestrator.simulator.language.ast import Node
from orchestrator.simulator.language.operators import OP_BASE, add, binary, op_base
from orchestrator.simulator.language.values import (
    PSHashtable,
    PSRuntimeError,
    ScriptBlock,
    collect,
    enumerate_value,
    equals,
    to_number,
    to_string,
    truthy,
)

Value = Callable[[Any, Node], Any]  # (interp, node) -> value
Stmt = Callable[[Any, Node, list[Any]], None]  # (interp, node, out) -> None
Piped = Callable[[Any, Node, "list[Any] | None"], list[Any]]  # (interp, cmd node, pipeline input) -> output

_READ_ONLY = frozenset({"true", "false", "null"})
_ASSIGN_OPS = {"+=": "+", "-=": "-", "*=": "*"}
_WHITESPACE = re.compile(r"\s+")


# -- entry points (for a node that has no function yet) ------------------------------------------------------


def compile_value(node: Node) -> Value:
    fn = node.fv
    if fn is None:
        builder = _VALUES.get(node.k)
        fn = builder(node) if builder is not None else _unsupported(node)
        node.fv = fn
    return fn


def compile_stmt(node: Node) -> Stmt:
    fn = node.fs
    if fn is None:
        builder = _STMTS.get(node.k)
        fn = builder(node) if builder is not None else _expression_statement(node)
        node.fs = fn
    return fn


def compile_tree(root: Node) -> None:
    """Compile every statement of every block and every value of a freshly parsed tree, before anyone else
    sees it: the shape cache's copies then take complete functions from it. (A copy made while its original
    was still compiling in another thread could otherwise hold a parent's function without its child's:
    copies are made children first.)"""
    stack: list[Any] = [root]
    seen: set[int] = set()
    while stack:
        obj = stack.pop()
        if isinstance(obj, Node):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.k == "block":
                for stmt in obj.a:
                    compile_stmt(stmt)
            if obj.k in _VALUES:
                compile_value(obj)
            stack.extend((obj.a, obj.b, obj.c, obj.d))
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)


def _sub(node: Node | None) -> None:
    """Compile a child before its parent's function exists, so the parent may call `child.fv` directly."""
    if node is not None and node.fv is None:
        compile_value(node)


# -- values --------------------------------------------------------------------------------------------------


def _unsupported(node: Node) -> Value:
    """A kind the simulator does not evaluate (the parser refuses those it knows): refused when it runs."""
    def unsupported(interp: Any, node: Node) -> Any:
        raise PSRuntimeError(f"The simulator does not support the PowerShell construct '{node.k}' "
                             f"(line {node.line}).", "NotSupported", "NotImplemented", line=node.line)
    return unsupported


def _constant_value(interp: Any, node: Node) -> Any:
    return node.a


def _constant(node: Node) -> Value:
    return _constant_value


def _var(node: Node) -> Value:
    """Interpreter.var_value: an unscoped variable is looked up here, scope by scope."""
    if node.b is not None:
        return lambda interp, node: interp.var_value(node)
    name = node.a

    def var(interp: Any, node: Node) -> Any:
        scope = interp.scope
        while scope is not None:
            found = scope.vars
            if name in found:
                return found[name]
            scope = scope.parent
        if name == "error":
            return interp.errors
        return None

    return var


def _pipe_value(node: Node) -> Value:
    _pipe(node)
    if _one_command(node):
        def command_value(interp: Any, node: Node) -> Any:
            cmd = node.a[0]
            return collect(cmd.fp(interp, cmd, None))

        return command_value

    def pipe(interp: Any, node: Node) -> Any:
        return collect(node.fp(interp, node))

    return pipe


def _one_command(node: Node) -> bool:
    """A pipeline of one command, which `_pipe` runs as that command alone: its callers may call the command."""
    return len(node.a) == 1 and node.a[0].k == "cmd"


def _member(node: Node) -> Value:
    """Member access; `node.b` is the member's bare name, or an expression for it."""
    _sub(node.a)
    static = bool(node.d)
    if isinstance(node.b, str):
        name = node.b
        if static:
            def static_member(interp: Any, node: Node) -> Any:
                target = node.a
                obj = target.fv(interp, target)
                return dotnet.get_member(obj, name, interp) if isinstance(obj, dotnet._Static) else None
            return static_member

        def member(interp: Any, node: Node) -> Any:
            target = node.a
            return dotnet.get_member(target.fv(interp, target), name, interp)

        return member
    _sub(node.b)

    def dynamic_member(interp: Any, node: Node) -> Any:
        target, name_node = node.a, node.b
        obj = target.fv(interp, target)
        text = to_string(name_node.fv(interp, name_node))
        if static:
            return dotnet.get_member(obj, text, interp) if isinstance(obj, dotnet._Static) else None
        return dotnet.get_member(obj, text, interp)

    return dynamic_member


def _invoke(node: Node) -> Value:
    """A method call: object, name, arguments in that order; an error without a line gets the call's."""
    _sub(node.a)
    fixed_name = node.b if isinstance(node.b, str) else None
    if fixed_name is None:
        _sub(node.b)
    for a in node.c:
        _sub(a)
    line = node.line

    def invoke(interp: Any, node: Node) -> Any:
        target = node.a
        obj = target.fv(interp, target)
        if fixed_name is not None:
            name = fixed_name
        else:
            name_node = node.b
            name = to_string(name_node.fv(interp, name_node))
        args = [a.fv(interp, a) for a in node.c]
        try:
            return dotnet.call_method(obj, name, args, interp)
        except PSRuntimeError as err:
            if err.line is None:
                err.line = line
            raise

    return invoke


def _xstr(node: Node) -> Value:
    """An expandable string: its text pieces, $(...) sub-expressions and variables, joined."""
    for p in node.a:
        if not isinstance(p, str) and p.k != "subexpr":
            _sub(p)

    def xstr(interp: Any, node: Node) -> Any:
        texts = []
        for p in node.a:
            if isinstance(p, str):
                texts.append(p)
            elif p.k == "subexpr":
                out: list[Any] = []
                interp.exec_block(p.a, out)
                texts.append(to_string(collect(out)))
            else:
                texts.append(to_string(p.fv(interp, p)))
        return "".join(texts)

    return xstr


def _hash(node: Node) -> Value:
    """A hashtable literal: each key, then its value (a pipeline's collected output), in order."""
    for k, v in node.a:
        _sub(k)
        _sub(v)

    def table(interp: Any, node: Node) -> Any:
        result = PSHashtable()
        for key_node, value_node in node.a:
            # A bare or quoted key is a string node: its value is its text, read from the node (shapes).
            key = key_node.a if key_node.k == "str" else key_node.fv(interp, key_node)
            if key in result:  # a parse error on a host (parser.py); a quoted key's text is known only here
                raise PSRuntimeError(f"Duplicate keys '{key}' are not allowed in hash literals.",
                                     "DuplicateKeyInHashLiteral", "ParserError", line=key_node.line)
            result[key] = value_node.fv(interp, value_node)
        return result

    return table


def _array(interp: Any, node: Node) -> Any:
    out: list[Any] = []
    interp.exec_block(node.a, out)
    return out


def _alit(node: Node) -> Value:
    for e in node.a:
        _sub(e)
    return lambda interp, node: [e.fv(interp, e) for e in node.a]


def _paren(node: Node) -> Value:
    inner = node.a
    _sub(inner)
    if inner.k == "assign":
        _sub(inner.a)

        def assigned(interp: Any, node: Node) -> Any:
            inner = node.a
            inner.fv(interp, inner)  # the assignment, which gives nothing; then the target's new value
            target = inner.a
            return target.fv(interp, target)

        return assigned

    def paren(interp: Any, node: Node) -> Any:
        inner = node.a
        return inner.fv(interp, inner)

    return paren


def _subexpr(interp: Any, node: Node) -> Any:
    out: list[Any] = []
    interp.exec_block(node.a, out)
    return collect(out)


def _cast(node: Node) -> Value:
    """dotnet.cast; `[string]`, the scripts' most frequent cast, goes straight to its conversion."""
    type_name = node.a
    _sub(node.b)
    if dotnet.cast_kind(type_name) == "string":
        def cast_string(interp: Any, node: Node) -> Any:
            operand = node.b
            return to_string(operand.fv(interp, operand))

        return cast_string

    def cast(interp: Any, node: Node) -> Any:
        operand = node.b
        return dotnet.cast(type_name, operand.fv(interp, operand))

    return cast


def _index(node: Node) -> Value:
    _sub(node.a)
    _sub(node.b)

    def index(interp: Any, node: Node) -> Any:
        target, idx = node.a, node.b
        obj = target.fv(interp, target)
        return interp.index(obj, idx.fv(interp, idx))

    return index


def _binop(node: Node) -> Value:
    """binary(); -eq, -ne and + inline binary's own first steps for them."""
    op = node.a
    _sub(node.b)
    _sub(node.c)
    base, case = OP_BASE.get(op) or op_base(op)
    if base == "+":
        def plus(interp: Any, node: Node) -> Any:
            left, right = node.b, node.c
            value = left.fv(interp, left)
            return add(value, right.fv(interp, right))

        return plus
    if base in ("-eq", "-ne"):
        negate = base == "-ne"

        def eq(interp: Any, node: Node) -> Any:
            left_node, right_node = node.b, node.c
            left = left_node.fv(interp, left_node)
            right = right_node.fv(interp, right_node)
            if isinstance(left, list):
                return binary(op, left, right, interp)
            same = equals(left, right, case)
            return not same if negate else same

        return eq

    def binop(interp: Any, node: Node) -> Any:
        left_node, right_node = node.b, node.c
        left = left_node.fv(interp, left_node)
        return binary(op, left, right_node.fv(interp, right_node), interp)

    return binop


def _logic(node: Node) -> Value:
    op = node.a
    _sub(node.b)
    _sub(node.c)
    if op == "-and":
        def and_(interp: Any, node: Node) -> Any:
            left, right = node.b, node.c
            return truthy(left.fv(interp, left)) and truthy(right.fv(interp, right))
        return and_
    if op == "-or":
        def or_(interp: Any, node: Node) -> Any:
            left, right = node.b, node.c
            return truthy(left.fv(interp, left)) or truthy(right.fv(interp, right))
        return or_
    if op == "-xor":
        def xor(interp: Any, node: Node) -> Any:
            left, right = node.b, node.c
            value = truthy(left.fv(interp, left))
            return value != truthy(right.fv(interp, right))
        return xor

    def unsupported(interp: Any, node: Node) -> Any:
        left = node.b
        truthy(left.fv(interp, left))
        raise PSRuntimeError(f"Unsupported operator {op}", "NotSupported", line=node.line)

    return unsupported


def _operand(fn: Callable[[Any], Any]) -> Callable[[Node], Value]:
    """A unary operator on `node.a`'s value."""
    def build(node: Node) -> Value:
        _sub(node.a)

        def unary(interp: Any, node: Node) -> Any:
            operand = node.a
            return fn(operand.fv(interp, operand))

        return unary

    return build


def _sblock(interp: Any, node: Node) -> Any:
    return ScriptBlock(node, node.c or "")


def _type(node: Node) -> Value:
    name = node.a
    return lambda interp, node: dotnet.type_value(name)


def _assign_value(node: Node) -> Value:
    """An assignment used as a value (outside parentheses) gives nothing: `_assignment`'s None."""
    return _assignment(node)


def _incr(node: Node) -> Value:
    """`$i++` / `++$i` (node.c: postfix): the old value or the new one."""
    step = node.a
    _sub(node.b)
    store = _store(node.b)
    postfix = bool(node.c)

    def incr(interp: Any, node: Node) -> Any:
        target = node.b
        old = to_number(target.fv(interp, target))
        store(interp, target, old + step)
        return old if postfix else old + step

    return incr


def _range(node: Node) -> Value:
    _sub(node.a)
    _sub(node.b)

    def range_(interp: Any, node: Node) -> Any:
        lo_node, hi_node = node.a, node.b
        lo, hi = int(to_number(lo_node.fv(interp, lo_node))), int(to_number(hi_node.fv(interp, hi_node)))
        return list(range(lo, hi + 1)) if lo <= hi else list(range(lo, hi - 1, -1))

    return range_


def _unaryop(node: Node) -> Value:
    """Unary -join and -split."""
    _sub(node.b)
    if node.a == "-join":
        def join(interp: Any, node: Node) -> Any:
            operand = node.b
            return "".join(to_string(x) for x in enumerate_value(operand.fv(interp, operand)))
        return join

    def split(interp: Any, node: Node) -> Any:
        operand = node.b
        return [s for x in enumerate_value(operand.fv(interp, operand))
                for s in _WHITESPACE.split(to_string(x).strip())]

    return split


def _block_value(interp: Any, node: Node) -> Any:
    out: list[Any] = []
    interp.exec_block(node, out)
    return collect(out)


def _plain(fn: Value) -> Callable[[Node], Value]:
    return lambda node: fn


_VALUES: dict[str, Callable[[Node], Value]] = {
    "str": _constant,
    "num": _constant,
    "var": _var,
    "pipe": _pipe_value,
    "member": _member,
    "invoke": _invoke,
    "xstr": _xstr,
    "hash": _hash,
    "array": _plain(_array),
    "alit": _alit,
    "paren": _paren,
    "subexpr": _plain(_subexpr),
    "cast": _cast,
    "index": _index,
    "binop": _binop,
    "logic": _logic,
    "not": _operand(lambda v: not truthy(v)),
    "neg": _operand(lambda v: -to_number(v)),
    "pos": _operand(to_number),
    "sblock": _plain(_sblock),
    "type": _type,
    "assign": _assign_value,
    "incr": _incr,
    "range": _range,
    "unaryop": _unaryop,
    "block": _plain(_block_value),
}


# -- pipelines and commands ----------------------------------------------------------------------------------


def _pipe(node: Node) -> Callable[[Any, Node], list[Any]]:
    """A pipeline's run, kept on the pipe node (`fp`): its value and statement forms both use it."""
    run = node.fp
    if run is not None:
        return run
    elements = node.a
    first = elements[0]
    for element in elements:
        if element.k == "cmd":
            _command(element)
    if first.k != "cmd":
        _sub(first)

    if len(elements) == 1 and first.k == "cmd":
        def run(interp: Any, node: Node) -> list[Any]:
            cmd = node.a[0]
            return cmd.fp(interp, cmd, None)
    else:
        def run(interp: Any, node: Node) -> list[Any]:
            elements = node.a
            first = elements[0]
            if first.k == "cmd":
                items = first.fp(interp, first, None)
            else:
                value = first.fv(interp, first)
                items = [None] if value is None else list(enumerate_value(value))
            for element in elements[1:]:
                if element.k != "cmd":
                    raise PSRuntimeError("Expressions are only allowed as the first element of a pipeline.",
                                         "ExpressionsMustBeFirstInPipeline", "ParserError", line=element.line)
                items = element.fp(interp, element, items)
            return items

    node.fp = run
    return run


def _command(node: Node) -> Piped:
    """A command call (kept on the cmd node's `fp`): its arguments, then a function of the script or a
    cmdlet of the host, looked up by the written name resolved once."""
    run = node.fp
    if run is not None:
        return run
    line = node.line
    args_fn = _arguments(node.c)
    shapes = _call_shapes(node.c)
    if node.b is not None:
        _sub(node.b)
        dot = node.d == "."

        def dynamic(interp: Any, node: Node, pipeline_input: list[Any] | None) -> list[Any]:
            interp.current_line = line
            args = args_fn(interp, node.c)
            target_node = node.b
            target = target_node.fv(interp, target_node)
            if isinstance(target, ScriptBlock):
                return interp.invoke_block(target, args, pipeline_input, dot=dot)
            return _call_named(interp, to_string(target), args, pipeline_input, line)

        run = dynamic
    else:
        lowered, resolved = flow.COMMAND_NAMES.get(node.a) or flow.command_names(node.a)

        def command(interp: Any, node: Node, pipeline_input: list[Any] | None) -> list[Any]:
            interp.current_line = line
            args = args_fn(interp, node.c)
            if interp.functions:
                fn = interp.functions.get(lowered)
                if fn is not None:
                    return interp.invoke_block(ScriptBlock(fn.block, fn.block.c or ""), args, pipeline_input)
            return interp.commands.invoke(resolved, args, pipeline_input, interp, line, shapes)

        run = command
    node.fp = run
    return run


def _call_named(interp: Any, name: str, args: list[Any], pipeline_input: list[Any] | None, line: int) -> list[Any]:
    lowered, resolved = flow.COMMAND_NAMES.get(name) or flow.command_names(name)
    if interp.functions:
        fn = interp.functions.get(lowered)
        if fn is not None:
            return interp.invoke_block(ScriptBlock(fn.block, fn.block.c or ""), args, pipeline_input)
    return interp.commands.invoke(resolved, args, pipeline_input, interp, line)


def _call_shapes(elements: list[tuple[Any, ...]]) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """The call's binding shapes without and with a pipeline (binder.call_shape), fixed by its text: the
    parameter names are code, not strings (a tree copied for other string values keeps them:
    language/shapes.py). None when a splat makes them depend on its value."""
    if any(el[0] not in ("a", "p") for el in elements):
        return None
    tail = tuple(None if el[0] == "a" else el[1] if el[3] else (el[1],) for el in elements)
    return (False, *tail), (True, *tail)


def _no_arguments(interp: Any, elements: list[tuple[Any, ...]]) -> list[Any]:
    return []


def _arguments(elements: list[tuple[Any, ...]]) -> Callable[[Any, list[tuple[Any, ...]]], list[Any]]:
    """A command's arguments as it receives them: ("a", value), ("p", name, value, has_value, line), splats
    expanded. Read from the node's list when the command runs; the value nodes are compiled here."""
    for el in elements:
        if el[0] == "a":
            _sub(el[1])
        elif el[0] == "p" and el[3]:
            _sub(el[2])
    if not elements:
        return _no_arguments

    def args(interp: Any, elements: list[tuple[Any, ...]]) -> list[Any]:
        result: list[Any] = []
        for el in elements:
            kind = el[0]
            if kind == "a":
                vnode = el[1]
                result.append(("a", vnode.fv(interp, vnode)))
            elif kind == "p":
                vnode = el[2]
                result.append(("p", el[1], vnode.fv(interp, vnode) if el[3] else None, el[3], el[4]))
            else:
                splat = interp.lookup(el[1])
                if isinstance(splat, PSHashtable):
                    for key, value in splat.items():
                        result.append(("p", to_string(key), value, True, el[2]))
                elif isinstance(splat, list):
                    result.extend(("a", v) for v in splat)
                elif splat is not None:
                    result.append(("a", splat))
        return result

    return args


# -- assignment ----------------------------------------------------------------------------------------------


def _assignment(node: Node) -> Callable[..., None]:
    """`target op= value`: the value first (a pipeline's collected output; a chained assignment's new
    target value), then for += -= *= the target's current value; a plain `$name = ...` stores straight
    into the current scope, as set_var would. The function serves as the statement too (`out` unused: an
    assignment writes nothing), and as a value it gives None."""
    vnode = node.c
    _sub(vnode)
    chained = vnode.k == "assign"
    if chained:
        _sub(vnode.a)
    op = node.b
    target = node.a
    store = _store(target)
    if op != "=":
        _sub(target)
    if op == "=" and not chained and _plain_variable(target):
        name = target.a

        def assign_variable(interp: Any, node: Node, out: Any = None) -> None:
            vnode = node.c
            interp.scope.vars[name] = vnode.fv(interp, vnode)

        return assign_variable

    def assign(interp: Any, node: Node, out: Any = None) -> None:
        vnode = node.c
        value = vnode.fv(interp, vnode)
        if chained:
            inner_target = vnode.a
            value = inner_target.fv(interp, inner_target)
        target = node.a
        if op != "=":
            current = target.fv(interp, target)
            value = binary(_ASSIGN_OPS[op], current, value, interp)
        store(interp, target, value)

    return assign


def _plain_variable(target: Node) -> bool:
    """`$name` with no scope or drive prefix, not one of the constants $true, $false, $null, and not the name
    of a variable the script declares with a type somewhere (`target.c`, parser._mark_typed)."""
    return target.k == "var" and target.b is None and target.a not in _READ_ONLY and not target.c


def _store(target: Node) -> Callable[[Any, Node, Any], None]:
    if _plain_variable(target):
        name = target.a

        def store_var(interp: Any, target: Node, value: Any) -> None:
            interp.scope.vars[name] = value

        return store_var
    if target.k == "var" and target.c:
        return lambda interp, target, value: interp.assign_constrained(target.a, value, target.b)
    return lambda interp, target, value: interp.store(target, value)


# -- statements ----------------------------------------------------------------------------------------------


def _pipe_stmt(node: Node) -> Stmt:
    _pipe(node)
    if _one_command(node):
        def command_stmt(interp: Any, node: Node, out: list[Any]) -> None:
            cmd = node.a[0]
            out.extend(cmd.fp(interp, cmd, None))

        return command_stmt

    def pipe(interp: Any, node: Node, out: list[Any]) -> None:
        out.extend(node.fp(interp, node))

    return pipe


def _assign_stmt(node: Node) -> Stmt:
    return _assignment(node)


def _if_stmt(node: Node) -> Stmt:
    for cond, _ in node.a:
        _sub(cond)

    def if_(interp: Any, node: Node, out: list[Any]) -> None:
        for cond, block in node.a:
            if truthy(cond.fv(interp, cond)):
                interp.exec_block(block, out)
                return
        if node.b is not None:
            interp.exec_block(node.b, out)

    return if_


def _foreach_stmt(node: Node) -> Stmt:
    _sub(node.b)
    name = node.a
    break_, continue_ = flow.Break, flow.Continue
    typed = bool(node.d)  # the loop variable's name is declared with a type somewhere (parser._mark_typed)

    def foreach(interp: Any, node: Node, out: list[Any]) -> None:
        source = node.b
        items = enumerate_value(source.fv(interp, source))
        if isinstance(items, PSHashtable):
            items = [items]
        body = node.c
        for item in list(items):
            if typed:
                interp.assign_constrained(name, item, None)
            else:
                interp.set_var(name, item)
            try:
                interp.exec_block(body, out)
            except break_:
                break
            except continue_:
                continue

    return foreach


def _for_stmt(node: Node) -> Stmt:
    for part in (node.a, node.c):
        if part is not None:
            compile_stmt(part)
    _sub(node.b)
    break_, continue_ = flow.Break, flow.Continue

    def for_(interp: Any, node: Node, out: list[Any]) -> None:
        init, cond, step, body = node.a, node.b, node.c, node.d
        if init is not None:
            init.fs(interp, init, [])
        while cond is None or truthy(cond.fv(interp, cond)):
            try:
                interp.exec_block(body, out)
            except break_:
                break
            except continue_:
                pass
            if step is not None:
                step.fs(interp, step, [])

    return for_


def _while_stmt(node: Node) -> Stmt:
    _sub(node.a)
    break_, continue_ = flow.Break, flow.Continue

    def while_(interp: Any, node: Node, out: list[Any]) -> None:
        cond, body = node.a, node.b
        guard = 0
        while truthy(cond.fv(interp, cond)):
            guard += 1
            if guard > 1_000_000:
                raise PSRuntimeError("The simulator stopped a loop that ran a million times.", "LoopLimit")
            try:
                interp.exec_block(body, out)
            except break_:
                break
            except continue_:
                pass

    return while_


def _try_stmt(interp: Any, node: Node, out: list[Any]) -> None:
    interp.exec_try(node, out)


def _throw_stmt(node: Node) -> Stmt:
    _sub(node.a)
    return lambda interp, node, out: interp.exec_throw(node)


def _exit_stmt(node: Node) -> Stmt:
    _sub(node.a)
    exit_signal = flow.ExitSignal

    def exit_(interp: Any, node: Node, out: list[Any]) -> None:
        value = node.a
        code = 0 if value is None else value.fv(interp, value)
        try:
            code = int(to_number(code))
        except PSRuntimeError:
            code = 1
        raise exit_signal(code)

    return exit_


def _return_stmt(node: Node) -> Stmt:
    _sub(node.a)
    return_ = flow.Return

    def return_stmt(interp: Any, node: Node, out: list[Any]) -> None:
        value = node.a
        if value is not None:
            out.extend(enumerate_value(value.fv(interp, value)))
        raise return_()

    return return_stmt


def _break_stmt(interp: Any, node: Node, out: list[Any]) -> None:
    raise flow.Break()


def _continue_stmt(interp: Any, node: Node, out: list[Any]) -> None:
    raise flow.Continue()


def _block_stmt(interp: Any, node: Node, out: list[Any]) -> None:
    interp.exec_block(node, out)


def _incr_stmt(node: Node) -> Stmt:
    """`$i++` as a statement writes nothing."""
    _sub(node)
    return lambda interp, node, out: node.fv(interp, node)  # type: ignore[func-returns-value]


def _function_stmt(node: Node) -> Stmt:
    key = node.a.lower()
    function = flow.Function

    def define(interp: Any, node: Node, out: list[Any]) -> None:
        interp.functions[key] = function(node.a, node.b)

    return define


def _expression_statement(node: Node) -> Stmt:
    """An expression writes its value; $null too, unless it is a method call or a [void] cast."""
    _sub(node)
    k = node.k
    writes_null = not (k == "invoke" or (k == "cast" and node.a.lower() == "void"))

    def expression(interp: Any, node: Node, out: list[Any]) -> None:
        value = node.fv(interp, node)
        if value is None:
            if writes_null:
                out.append(None)
            return
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)

    return expression


def _plain_stmt(fn: Stmt) -> Callable[[Node], Stmt]:
    return lambda node: fn


_STMTS: dict[str, Callable[[Node], Stmt]] = {
    "pipe": _pipe_stmt,
    "assign": _assign_stmt,
    "if": _if_stmt,
    "foreach": _foreach_stmt,
    "for": _for_stmt,
    "while": _while_stmt,
    "try": _plain_stmt(_try_stmt),
    "throw": _throw_stmt,
    "exit": _exit_stmt,
    "return": _return_stmt,
    "break": _plain_stmt(_break_stmt),
    "continue": _plain_stmt(_continue_stmt),
    "function": _function_stmt,
    "block": _plain_stmt(_block_stmt),
    "incr": _incr_stmt,
}
