"""The syntax tree compiled to Python closures, once per node: what the interpreter runs.

Walking the tree asked, for every node on every run, which kind it is and which handler evaluates it, and
re-read the node's fields; a converge script calls about 170,000 such steps. Here each node is turned, the
first time it runs, into a closure that already holds its children's closures and its constant parts (a
command's resolved name, an operator's case-insensitive form, an assignment's variable name), and the closure
is kept on the node (`Node.fv` for its value, `Node.fs` as a statement, `Node.fb` for a block's statements,
`Node.fp` for a pipeline's run).

The closures do exactly what `Interpreter`'s handlers do, in the same order, with the same errors: each one
below is the inlined body of the method it names, and every construct not inlined here calls that method
itself. Nothing about the host is compiled in: a command's cmdlet, its signature and its parameters are found
when it runs, on the host it runs on, so a tree shared by scripts of one shape (language/shapes.py: a later
script's tree shares every node that did not change, and with it the closures) still binds every call
against each host's own signatures. Nodes are never changed after parsing, so a closure never goes stale; two
threads compiling one node at once both build an equal closure, and either is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orchestrator.simulator.language import dotnet
from orchestrator.simulator.language import interpreter as _interp
from orchestrator.simulator.language.ast import Node
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

Value = Callable[[Any], Any]  # interp -> value
Stmt = Callable[[Any, list[Any]], None]  # (interp, out) -> None
Piped = Callable[[Any, "list[Any] | None"], list[Any]]  # (interp, pipeline input) -> output

_READ_ONLY = frozenset({"true", "false", "null"})
_ASSIGN_OPS = {"+=": "+", "-=": "-", "*=": "*"}
_WHITESPACE = re.compile(r"\s+")


# -- entry points (the interpreter calls these for a node that has no closure yet) --------------------------


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


def compile_block(block: Node) -> tuple[tuple[int, Stmt], ...]:
    stmts = block.fb
    if stmts is None:
        stmts = block.fb = tuple((stmt.line, compile_stmt(stmt)) for stmt in block.a)
    return stmts


# -- values --------------------------------------------------------------------------------------------------


def _unsupported(node: Node) -> Value:
    """A kind the simulator does not evaluate (the parser refuses those it knows): refused when it runs."""
    def unsupported(interp: Any) -> Any:
        raise PSRuntimeError(f"The simulator does not support the PowerShell construct '{node.k}' "
                             f"(line {node.line}).", "NotSupported", "NotImplemented", line=node.line)
    return unsupported


def _constant(node: Node) -> Value:
    value = node.a
    return lambda interp: value


def _var(node: Node) -> Value:
    """Interpreter.var_value: an unscoped variable is looked up here, scope by scope."""
    if node.b is not None:
        return lambda interp: interp.var_value(node)
    name = node.a

    def var(interp: Any) -> Any:
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
    run = compile_pipe(node)
    return lambda interp: collect(run(interp))


def _member_name(node: Node) -> Value | str:
    return node.b if isinstance(node.b, str) else compile_value(node.b)


def _member(node: Node) -> Value:
    """Interpreter._v_member."""
    obj_fn = compile_value(node.a)
    name = _member_name(node)
    if node.d:
        def static_member(interp: Any) -> Any:
            obj = obj_fn(interp)
            text = name if isinstance(name, str) else to_string(name(interp))
            return dotnet.get_member(obj, text, interp) if isinstance(obj, dotnet._Static) else None
        return static_member

    if isinstance(name, str):
        return lambda interp: dotnet.get_member(obj_fn(interp), name, interp)

    def member(interp: Any) -> Any:
        obj = obj_fn(interp)
        return dotnet.get_member(obj, to_string(name(interp)), interp)

    return member


def _invoke(node: Node) -> Value:
    """Interpreter._v_invoke."""
    obj_fn = compile_value(node.a)
    name = _member_name(node)
    arg_fns = tuple(compile_value(a) for a in node.c)
    line = node.line

    def invoke(interp: Any) -> Any:
        obj = obj_fn(interp)
        text = name if isinstance(name, str) else to_string(name(interp))
        args = [fn(interp) for fn in arg_fns]
        try:
            return dotnet.call_method(obj, text, args, interp)
        except PSRuntimeError as err:
            if err.line is None:
                err.line = line
            raise

    return invoke


def _xstr(node: Node) -> Value:
    """Interpreter._v_xstr."""
    parts: list[tuple[int, Any]] = []
    for p in node.a:
        if isinstance(p, str):
            parts.append((0, p))
        elif p.k == "subexpr":
            parts.append((1, p.a))
        else:
            parts.append((2, compile_value(p)))

    def xstr(interp: Any) -> Any:
        texts = []
        for kind, part in parts:
            if kind == 0:
                texts.append(part)
            elif kind == 1:
                out: list[Any] = []
                interp.exec_block(part, out)
                texts.append(to_string(collect(out)))
            else:
                texts.append(to_string(part(interp)))
        return "".join(texts)

    return xstr


def _hash(node: Node) -> Value:
    """Interpreter._v_hash."""
    entries = tuple((compile_value(k), _pipe_value(v) if v.k == "pipe" else compile_value(v)) for k, v in node.a)

    def table(interp: Any) -> Any:
        result = PSHashtable()
        for key_fn, value_fn in entries:
            key = key_fn(interp)
            result[key] = value_fn(interp)
        return result

    return table


def _array(node: Node) -> Value:
    """Interpreter._v_array."""
    block = node.a

    def array(interp: Any) -> Any:
        out: list[Any] = []
        interp.exec_block(block, out)
        return out

    return array


def _alit(node: Node) -> Value:
    fns = tuple(compile_value(e) for e in node.a)
    return lambda interp: [fn(interp) for fn in fns]


def _paren(node: Node) -> Value:
    """Interpreter._v_paren."""
    inner = node.a
    if inner.k == "pipe":
        return _pipe_value(inner)
    if inner.k == "assign":
        assign = compile_assign(inner)
        target = compile_value(inner.a)

        def assigned(interp: Any) -> Any:
            assign(interp)
            return target(interp)

        return assigned
    return compile_value(inner)


def _subexpr(node: Node) -> Value:
    block = node.a

    def subexpr(interp: Any) -> Any:
        out: list[Any] = []
        interp.exec_block(block, out)
        return collect(out)

    return subexpr


def _cast(node: Node) -> Value:
    type_name = node.a
    value_fn = compile_value(node.b)
    return lambda interp: dotnet.cast(type_name, value_fn(interp))


def _index(node: Node) -> Value:
    obj_fn = compile_value(node.a)
    idx_fn = compile_value(node.b)

    def index(interp: Any) -> Any:
        obj = obj_fn(interp)
        return interp.index(obj, idx_fn(interp))

    return index


def _binop(node: Node) -> Value:
    """Interpreter.binop -> binary(); -eq, -ne and + inline binary's own first steps for them."""
    op = node.a
    left_fn = compile_value(node.b)
    right_fn = compile_value(node.c)
    binary = _interp.binary
    base, case = _interp._OP_BASE.get(op) or _interp._op_base(op)
    if base == "+":
        add = _interp._add

        def plus(interp: Any) -> Any:
            left = left_fn(interp)
            return add(left, right_fn(interp))

        return plus
    if base in ("-eq", "-ne"):
        negate = base == "-ne"

        def eq(interp: Any) -> Any:
            left = left_fn(interp)
            right = right_fn(interp)
            if isinstance(left, list):
                return binary(op, left, right, interp)
            same = equals(left, right, case)
            return not same if negate else same

        return eq

    def binop(interp: Any) -> Any:
        left = left_fn(interp)
        return binary(op, left, right_fn(interp), interp)

    return binop


def _logic(node: Node) -> Value:
    """Interpreter._v_logic."""
    op = node.a
    left_fn = compile_value(node.b)
    right_fn = compile_value(node.c)
    if op == "-and":
        return lambda interp: truthy(left_fn(interp)) and truthy(right_fn(interp))
    if op == "-or":
        return lambda interp: truthy(left_fn(interp)) or truthy(right_fn(interp))
    if op == "-xor":
        def xor(interp: Any) -> Any:
            left = truthy(left_fn(interp))
            return left != truthy(right_fn(interp))
        return xor

    def unsupported(interp: Any) -> Any:
        truthy(left_fn(interp))
        raise PSRuntimeError(f"Unsupported operator {op}", "NotSupported", line=node.line)

    return unsupported


def _not(node: Node) -> Value:
    fn = compile_value(node.a)
    return lambda interp: not truthy(fn(interp))


def _sblock(node: Node) -> Value:
    text = node.c or ""
    return lambda interp: ScriptBlock(node, text)


def _type(node: Node) -> Value:
    name = node.a
    return lambda interp: dotnet.type_value(name)


def _neg(node: Node) -> Value:
    fn = compile_value(node.a)
    return lambda interp: -to_number(fn(interp))


def _pos(node: Node) -> Value:
    fn = compile_value(node.a)
    return lambda interp: to_number(fn(interp))


def _assign_value(node: Node) -> Value:
    """An assignment used as a value (outside parentheses) gives nothing."""
    assign = compile_assign(node)

    def assigned(interp: Any) -> Any:
        assign(interp)
        return None

    return assigned


def _incr(node: Node) -> Value:
    """`$i++` / `++$i`: the old value or the new one (node.c: postfix)."""
    step = node.a
    target_fn = compile_value(node.b)
    store = _store(node.b)
    postfix = bool(node.c)

    def incr(interp: Any) -> Any:
        old = to_number(target_fn(interp))
        store(interp, old + step)
        return old if postfix else old + step

    return incr


def _range(node: Node) -> Value:
    lo_fn = compile_value(node.a)
    hi_fn = compile_value(node.b)

    def range_(interp: Any) -> Any:
        lo, hi = int(to_number(lo_fn(interp))), int(to_number(hi_fn(interp)))
        return list(range(lo, hi + 1)) if lo <= hi else list(range(lo, hi - 1, -1))

    return range_


def _unaryop(node: Node) -> Value:
    """Unary -join and -split."""
    fn = compile_value(node.b)
    if node.a == "-join":
        return lambda interp: "".join(to_string(x) for x in enumerate_value(fn(interp)))
    return lambda interp: [s for x in enumerate_value(fn(interp)) for s in _WHITESPACE.split(to_string(x).strip())]


def _block_value(node: Node) -> Value:
    def block(interp: Any) -> Any:
        out: list[Any] = []
        interp.exec_block(node, out)
        return collect(out)

    return block


_VALUES: dict[str, Callable[[Node], Value]] = {
    "str": _constant,
    "num": _constant,
    "var": _var,
    "pipe": _pipe_value,
    "member": _member,
    "invoke": _invoke,
    "xstr": _xstr,
    "hash": _hash,
    "array": _array,
    "alit": _alit,
    "paren": _paren,
    "subexpr": _subexpr,
    "cast": _cast,
    "index": _index,
    "binop": _binop,
    "logic": _logic,
    "not": _not,
    "sblock": _sblock,
    "type": _type,
    "neg": _neg,
    "pos": _pos,
    "assign": _assign_value,
    "incr": _incr,
    "range": _range,
    "unaryop": _unaryop,
    "block": _block_value,
}


# -- pipelines and commands ----------------------------------------------------------------------------------


def compile_pipe(node: Node) -> Callable[[Any], list[Any]]:
    """Interpreter.run_pipe, kept on the node (`fp`): a pipe's value and statement forms both use it."""
    run = node.fp
    if run is not None:
        return run
    elements = node.a
    first = elements[0]
    if first.k == "cmd":
        head = compile_command(first)

        def start(interp: Any) -> list[Any]:
            return head(interp, None)
    else:
        first_fn = compile_value(first)

        def start(interp: Any) -> list[Any]:
            value = first_fn(interp)
            return [None] if value is None else list(enumerate_value(value))

    rest = tuple(compile_command(e) if e.k == "cmd" else _not_first(e) for e in elements[1:])
    if not rest:
        run = start
    else:
        def run(interp: Any) -> list[Any]:
            items = start(interp)
            for step in rest:
                items = step(interp, items)
            return items

    node.fp = run
    return run


def _not_first(element: Node) -> Piped:
    def refuse(interp: Any, items: list[Any] | None) -> list[Any]:
        raise PSRuntimeError("Expressions are only allowed as the first element of a pipeline.",
                             "ExpressionsMustBeFirstInPipeline", "ParserError", line=element.line)
    return refuse


def compile_command(node: Node) -> Piped:
    """Interpreter.call_command, with the arguments' closures and the written name's resolution made once."""
    line = node.line
    args_fn = compile_args(node.c)
    if node.b is not None:
        target_fn = compile_value(node.b)
        dot = node.d == "."

        def dynamic(interp: Any, pipeline_input: list[Any] | None) -> list[Any]:
            interp.current_line = line
            args = args_fn(interp)
            target = target_fn(interp)
            if isinstance(target, ScriptBlock):
                return interp.invoke_block(target, args, pipeline_input, dot=dot)
            return _call_named(interp, to_string(target), args, pipeline_input, line)

        return dynamic
    name = node.a
    lowered, resolved = _interp._COMMAND_NAMES.get(name) or _interp._command_names(name)

    def command(interp: Any, pipeline_input: list[Any] | None) -> list[Any]:
        interp.current_line = line
        args = args_fn(interp)
        if interp.functions:
            fn = interp.functions.get(lowered)
            if fn is not None:
                return interp.invoke_block(ScriptBlock(fn.block, fn.block.c or ""), args, pipeline_input)
        return interp.commands.invoke(resolved, args, pipeline_input, interp, line)

    return command


def _call_named(interp: Any, name: str, args: list[Any], pipeline_input: list[Any] | None, line: int) -> list[Any]:
    lowered, resolved = _interp._COMMAND_NAMES.get(name) or _interp._command_names(name)
    if interp.functions:
        fn = interp.functions.get(lowered)
        if fn is not None:
            return interp.invoke_block(ScriptBlock(fn.block, fn.block.c or ""), args, pipeline_input)
    return interp.commands.invoke(resolved, args, pipeline_input, interp, line)


def compile_args(elements: list[tuple[Any, ...]]) -> Callable[[Any], list[Any]]:
    """Interpreter.command_args: ("a", value), ("p", name, value, has_value, line), splats expanded."""
    specs: list[tuple[Any, ...]] = []
    for el in elements:
        kind = el[0]
        if kind == "a":
            specs.append((0, compile_value(el[1])))
        elif kind == "p":
            _, name, vnode, colon, line = el
            specs.append((1, name, compile_value(vnode) if colon else None, colon, line))
        else:
            specs.append((2, el[1], el[2]))
    if not specs:
        return lambda interp: []

    def args(interp: Any) -> list[Any]:
        result: list[Any] = []
        for spec in specs:
            kind = spec[0]
            if kind == 0:
                result.append(("a", spec[1](interp)))
            elif kind == 1:
                result.append(("p", spec[1], spec[2](interp) if spec[3] else None, spec[3], spec[4]))
            else:
                splat = interp.lookup(spec[1])
                if isinstance(splat, PSHashtable):
                    for key, value in splat.items():
                        result.append(("p", to_string(key), value, True, spec[2]))
                elif isinstance(splat, list):
                    result.extend(("a", v) for v in splat)
                elif splat is not None:
                    result.append(("a", splat))
        return result

    return args


# -- assignment ----------------------------------------------------------------------------------------------


def compile_assign(node: Node) -> Callable[[Any], None]:
    """Interpreter.assign; a plain `$name = ...` stores straight into the current scope as set_var would."""
    vnode = node.c
    if vnode.k == "pipe":
        value_fn = _pipe_value(vnode)
    elif vnode.k == "assign":
        inner = compile_assign(vnode)
        inner_target = compile_value(vnode.a)

        def value_fn(interp: Any) -> Any:
            inner(interp)
            return inner_target(interp)
    else:
        value_fn = compile_value(vnode)
    op = node.b
    target = node.a
    store = _store(target)
    if op == "=":
        def assign(interp: Any) -> None:
            store(interp, value_fn(interp))
        return assign
    current_fn = compile_value(target)
    binary = _interp.binary

    def update(interp: Any) -> None:
        value = value_fn(interp)
        current = current_fn(interp)
        store(interp, binary(_ASSIGN_OPS[op], current, value, interp))

    return update


def _store(target: Node) -> Callable[[Any, Any], None]:
    if target.k == "var" and target.b is None and target.a not in _READ_ONLY:
        name = target.a

        def store_var(interp: Any, value: Any) -> None:
            interp.scope.vars[name] = value

        return store_var
    return lambda interp, value: interp.store(target, value)


# -- statements ----------------------------------------------------------------------------------------------


def _pipe_stmt(node: Node) -> Stmt:
    run = compile_pipe(node)

    def pipe(interp: Any, out: list[Any]) -> None:
        out.extend(run(interp))

    return pipe


def _assign_stmt(node: Node) -> Stmt:
    assign = compile_assign(node)
    return lambda interp, out: assign(interp)


def _if_stmt(node: Node) -> Stmt:
    clauses = tuple((compile_value(cond), block) for cond, block in node.a)
    otherwise = node.b

    def if_(interp: Any, out: list[Any]) -> None:
        for cond, block in clauses:
            if truthy(cond(interp)):
                interp.exec_block(block, out)
                return
        if otherwise is not None:
            interp.exec_block(otherwise, out)

    return if_


def _foreach_stmt(node: Node) -> Stmt:
    """Interpreter.exec_foreach."""
    items_fn = compile_value(node.b)
    name = node.a
    body = node.c
    break_, continue_ = _interp._Break, _interp._Continue

    def foreach(interp: Any, out: list[Any]) -> None:
        items = enumerate_value(items_fn(interp))
        if isinstance(items, PSHashtable):
            items = [items]
        for item in list(items):
            interp.set_var(name, item)
            try:
                interp.exec_block(body, out)
            except break_:
                break
            except continue_:
                continue

    return foreach


def _for_stmt(node: Node) -> Stmt:
    init = compile_stmt(node.a) if node.a is not None else None
    cond = compile_value(node.b) if node.b is not None else None
    step = compile_stmt(node.c) if node.c is not None else None
    body = node.d
    break_, continue_ = _interp._Break, _interp._Continue

    def for_(interp: Any, out: list[Any]) -> None:
        if init is not None:
            init(interp, [])
        while cond is None or truthy(cond(interp)):
            try:
                interp.exec_block(body, out)
            except break_:
                break
            except continue_:
                pass
            if step is not None:
                step(interp, [])

    return for_


def _while_stmt(node: Node) -> Stmt:
    cond = compile_value(node.a)
    body = node.b
    break_, continue_ = _interp._Break, _interp._Continue

    def while_(interp: Any, out: list[Any]) -> None:
        guard = 0
        while truthy(cond(interp)):
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


def _try_stmt(node: Node) -> Stmt:
    return lambda interp, out: interp.exec_try(node, out)


def _throw_stmt(node: Node) -> Stmt:
    return lambda interp, out: interp.exec_throw(node)


def _exit_stmt(node: Node) -> Stmt:
    code_fn = compile_value(node.a) if node.a is not None else None
    exit_signal = _interp.ExitSignal

    def exit_(interp: Any, out: list[Any]) -> None:
        code = 0 if code_fn is None else code_fn(interp)
        try:
            code = int(to_number(code))
        except PSRuntimeError:
            code = 1
        raise exit_signal(code)

    return exit_


def _return_stmt(node: Node) -> Stmt:
    value_fn = compile_value(node.a) if node.a is not None else None
    return_ = _interp._Return

    def return_stmt(interp: Any, out: list[Any]) -> None:
        if value_fn is not None:
            out.extend(enumerate_value(value_fn(interp)))
        raise return_()

    return return_stmt


def _break_stmt(node: Node) -> Stmt:
    def break_(interp: Any, out: list[Any]) -> None:
        raise _interp._Break()
    return break_


def _continue_stmt(node: Node) -> Stmt:
    def continue_(interp: Any, out: list[Any]) -> None:
        raise _interp._Continue()
    return continue_


def _block_stmt(node: Node) -> Stmt:
    return lambda interp, out: interp.exec_block(node, out)


def _incr_stmt(node: Node) -> Stmt:
    """`$i++` as a statement writes nothing."""
    incr = compile_value(node)
    return lambda interp, out: incr(interp)  # type: ignore[func-returns-value]


def _function_stmt(node: Node) -> Stmt:
    key = node.a.lower()
    function = _interp.Function

    def define(interp: Any, out: list[Any]) -> None:
        interp.functions[key] = function(node.a, node.b)

    return define


def _expression_statement(node: Node) -> Stmt:
    """Interpreter.exec_stmt's last case: an expression writes its value; $null too, unless it is a method
    call or a [void] cast."""
    value_fn = compile_value(node)
    k = node.k
    writes_null = not (k == "invoke" or (k == "cast" and node.a.lower() == "void"))

    def expression(interp: Any, out: list[Any]) -> None:
        value = value_fn(interp)
        if value is None:
            if writes_null:
                out.append(None)
            return
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)

    return expression


_STMTS: dict[str, Callable[[Node], Stmt]] = {
    "pipe": _pipe_stmt,
    "assign": _assign_stmt,
    "if": _if_stmt,
    "foreach": _foreach_stmt,
    "for": _for_stmt,
    "while": _while_stmt,
    "try": _try_stmt,
    "throw": _throw_stmt,
    "exit": _exit_stmt,
    "return": _return_stmt,
    "break": _break_stmt,
    "continue": _continue_stmt,
    "function": _function_stmt,
    "block": _block_stmt,
    "incr": _incr_stmt,
}
