"""Lower Prefect tasks (:class:`~ir.steps.PythonFunction`) to Kestra python scripts.

Each task becomes a :class:`~ir.steps.Script` that runs the function for real: the function's
module is copied unchanged and followed by a fixed block that reads the arguments from
``FLOWBRIDGE_ARG_*`` environment variables (JSON that Kestra renders with ``| toJson``, so no
argument is ever spliced into code), calls the function and publishes its return value with
``Kestra.outputs({"result": ...})``. Kestra exposes that as ``outputs.<id>.vars.result``, so every
reference to a lowered step's result is retargeted there. A result that is not
JSON-serialisable is published as its ``repr()`` with a note on stderr: that cannot be known
statically, so no diagnostic is given for it.
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import keyword
import re
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from ir import codes
from ir.base import Node
from ir.diagnostics import Diagnostic
from ir.expressions import (
    EXPR_TYPES,
    BinOp,
    Expr,
    Filter,
    Interpolation,
    ListValue,
    Literal,
    MapEntry,
    MapValue,
    Raw,
    TaskOutput,
    Template,
    Timestamp,
    from_data,
    is_constant,
    to_data,
    walk,
)
from ir.flow import Flow
from ir.steps import PythonFunction, Script, TaskStep

__all__ = [
    "ENV_PREFIX",
    "RESULT_PATH",
    "lift_python_tasks",
    "lower_python_tasks",
    "map_expressions",
    "python_script",
]

T = TypeVar("T")

ENV_PREFIX = "FLOWBRIDGE_ARG_"
"""Prefix of the environment variables that carry a task's arguments."""

RESULT_PATH = ("vars", "result")
"""Where Kestra exposes a lowered task's return value below ``outputs.<id>``."""

_KESTRA_PACKAGE = "kestra"

# Pebble ends a raw block at any spelling of endraw; a script holding one cannot be protected
# by the writer's {% raw %} wrapping and is stored brace-free instead.
_ENDRAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


# --- generic rewriting -----------------------------------------------------------------------


def map_expressions(
    value: T, fn: Callable[[Expr], Expr], *, keep: Callable[[Node], bool] | None = None
) -> T:
    """A copy of ``value`` (any IR node — a flow, a step, a trigger, an expression — or a tuple
    or dict of them) in which every expression ``e`` is replaced by ``fn(e)``, innermost
    first. Nodes for which ``keep`` is true are left whole: neither entered nor rewritten."""

    def visit(node: Node) -> Node:
        return fn(node) if isinstance(node, EXPR_TYPES) else node  # type: ignore[arg-type]

    return rewrite_nodes(value, visit, keep=keep)


def rewrite_nodes(
    value: T, visit: Callable[[Node], Node], *, keep: Callable[[Node], bool] | None = None
) -> T:
    """``value`` rebuilt bottom-up with ``visit`` applied to every node after its children.
    Parts left unchanged are shared, not copied; an interpolation whose expression changed
    forgets its source text (see :meth:`ir.expressions.Interpolation.replace`)."""

    def node_of(node: Node) -> Node:
        if keep is not None and keep(node):
            return node
        changes = {}
        for name, item in node.__dict__.items():
            new = rebuild(item)
            if new is not item:
                changes[name] = new
        return visit(node.replace(**changes) if changes else node)

    def rebuild(item: Any) -> Any:
        if isinstance(item, Node):
            return node_of(item)
        if isinstance(item, tuple):
            items = tuple(rebuild(v) for v in item)
            return item if all(a is b for a, b in zip(items, item, strict=True)) else items
        if isinstance(item, dict):  # e.g. PythonFunction.arguments, Flow.variables
            mapped = {key: rebuild(v) for key, v in item.items()}
            return item if all(mapped[k] is item[k] for k in item) else mapped
        return item

    return rebuild(value)


# --- the pass --------------------------------------------------------------------------------


def lower_python_tasks(flow: Flow) -> tuple[Flow, list[Diagnostic]]:
    """Replace every :class:`PythonFunction` step of ``flow`` (at any depth, handlers included)
    by a python :class:`Script` step that runs the function, keeping the step's id and options,
    and point every reference to such a step's result at ``outputs.<id>.vars.result``.

    Idempotent: a flow without :class:`PythonFunction` steps is returned unchanged."""
    lowered = {
        step.id
        for step in flow.all_steps()
        if isinstance(step, TaskStep) and isinstance(step.action, PythonFunction)
    }
    if not lowered:
        return flow, []
    diagnostics: list[Diagnostic] = []
    flow = map_expressions(flow, partial(_retarget, lowered))

    def visit(node: Node) -> Node:
        if isinstance(node, TaskStep) and isinstance(node.action, PythonFunction):
            return node.replace(action=_script_action(node, node.action, diagnostics))
        return node

    return rewrite_nodes(flow, visit), diagnostics


def _retarget(lowered: set[str], expr: Expr) -> Expr:
    if isinstance(expr, TaskOutput) and expr.task in lowered:
        return expr.replace(path=(*RESULT_PATH, *expr.path))  # type: ignore[return-value]
    return expr


def _script_action(step: TaskStep, fn: PythonFunction, diagnostics: list[Diagnostic]) -> Script:
    env: list[MapEntry] = []
    variables: dict[str, str] = {}
    for name, expr in fn.arguments.items():
        value = _env_value(expr, step, name, diagnostics)
        if value is None:
            continue
        variables[name] = _env_name(name, set(variables.values()))
        env.append(MapEntry(key=variables[name], value=value))

    is_async = _inspect_function(fn, step, diagnostics)
    dependencies = list(fn.dependencies)
    if not any(_requirement_name(d) == _KESTRA_PACKAGE for d in dependencies):
        dependencies.append(_KESTRA_PACKAGE)
    return Script(
        language="python",
        source=Literal(value=python_script(fn.function, fn.source, variables, is_async=is_async)),
        env=MapValue(entries=tuple(env)) if env else None,
        dependencies=ListValue(items=tuple(Literal(value=d) for d in dependencies)),
        span=fn.span,
    )


def _requirement_name(requirement: str) -> str:
    match = _REQUIREMENT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _env_name(name: str, used: set[str]) -> str:
    """An environment variable name for argument ``name``, unique among ``used``."""
    base = ENV_PREFIX + (re.sub(r"[^A-Z0-9_]", "_", name.upper()) or "_")
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _env_value(expr: Expr, step: TaskStep, name: str, diagnostics: list[Diagnostic]) -> Expr | None:
    """What Kestra puts in the argument's environment variable: JSON text."""
    nodes = list(walk(expr))
    if any(isinstance(n, Raw) for n in nodes):
        diagnostics.append(
            codes.T101.at(
                expr.span or step.span,
                what=f"argument {name!r} of step {step.id!r}",
                reason="an expression Kestra cannot compute; the argument is not passed",
            )
        )
        return None
    if is_constant(expr):
        if any(isinstance(n, Timestamp) for n in nodes):
            diagnostics.append(
                codes.T101.at(
                    expr.span or step.span,
                    what=f"argument {name!r} of step {step.id!r}",
                    reason="a date or date-time is passed as an ISO-8601 string",
                )
            )
        text = json.dumps(to_data(expr), ensure_ascii=False, default=_iso)
        return Literal(value=text)
    value = map_expressions(expr, _concatenation)
    return Template(parts=(Interpolation(expr=Filter(value=value, name="toJson")),))


def _iso(value: Any) -> str:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _concatenation(expr: Expr) -> Expr:
    """A template as the ``~`` concatenation it means, so that it can be the operand of a
    filter (Pebble binds ``|`` tighter than ``~``)."""
    if not isinstance(expr, Template):
        return expr
    pieces: list[Expr] = [
        part.expr if isinstance(part, Interpolation) else Literal(value=part)
        for part in expr.parts
        if not isinstance(part, Raw)  # excluded by the caller
    ]
    if not pieces:
        return Literal(value="")
    if len(pieces) == 1:
        # One interpolation alone still renders as a string: keep that with '' ~ x.
        return (
            pieces[0]
            if isinstance(pieces[0], Literal)
            else BinOp(op="~", left=Literal(value=""), right=pieces[0])
        )
    result = pieces[0]
    for piece in pieces[1:]:
        result = BinOp(op="~", left=result, right=piece)
    return result


def _inspect_function(fn: PythonFunction, step: TaskStep, diagnostics: list[Diagnostic]) -> bool:
    """Whether the task function is ``async`` (read statically from its source)."""
    try:
        module = ast.parse(fn.source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = f"its source does not parse ({getattr(exc, 'msg', None) or type(exc).__name__})"
    else:
        for statement in module.body:
            if (
                isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
                and statement.name == fn.function
            ):
                return isinstance(statement, ast.AsyncFunctionDef)
        reason = "its source defines no top-level function of that name"
    diagnostics.append(
        codes.T101.at(step.span, what=f"task function {fn.function!r}", reason=reason)
    )
    return False


# --- the way back ----------------------------------------------------------------------------


def lift_python_tasks(flow: Flow) -> Flow:
    """The inverse of :func:`lower_python_tasks`: a python Script that flowbridge wrote for a
    Prefect task becomes that task again (its function, source and arguments), and references
    to ``outputs.<id>.vars.result`` read its result. A script is recognised only when writing
    the task back gives exactly its text, environment and dependencies; any other script
    (the user's, or one edited since) stays a script."""
    lifted: set[str] = set()

    def visit(node: Node) -> Node:
        if isinstance(node, TaskStep) and isinstance(node.action, Script):
            function = _lifted_function(node.action)
            if function is not None:
                lifted.add(node.id)
                return node.replace(action=function)
        return node

    flow = rewrite_nodes(flow, visit)
    return map_expressions(flow, partial(_untarget, lifted)) if lifted else flow


def _untarget(lifted: set[str], expr: Expr) -> Expr:
    if (
        isinstance(expr, TaskOutput)
        and expr.task in lifted
        and expr.path[: len(RESULT_PATH)] == RESULT_PATH
    ):
        return expr.replace(path=expr.path[len(RESULT_PATH) :])  # type: ignore[return-value]
    return expr


_LIFTABLE = re.compile(
    r"\A# flowbridge: the Prefect task ('(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"),"
)
_RUNNER_START = "\n\n\n# --- flowbridge: call the task and publish its result"
_ARGUMENTS = re.compile(r"^    arguments = (\{\}|\{\n.*?\n    \})$", re.M | re.S)


def _lifted_function(script: Script) -> PythonFunction | None:
    """The Prefect task a python Script of :func:`python_script` runs, or None."""
    source = script.source
    if (
        script.language != "python"
        or not isinstance(source, Literal)
        or not isinstance(source.value, str)
        or any(
            value is not None
            for value in (
                script.before_commands,
                script.container_image,
                script.input_files,
                script.output_files,
            )
        )
    ):
        return None
    text = source.value
    head = _LIFTABLE.match(text)
    end = text.rfind(_RUNNER_START)
    table = _ARGUMENTS.search(text, end) if end >= 0 else None
    if head is None or table is None:
        return None
    try:
        function = ast.literal_eval(head.group(1))
        arguments = ast.literal_eval(table.group(1))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(function, str) or not isinstance(arguments, dict):
        return None
    header = _HEADER.format(function=repr(function)) + "\n"
    body = text[len(header) : end] + "\n"
    is_async = "_flowbridge_asyncio.run(" in text[end:]
    if (
        not text.startswith(header)
        or python_script(function, body, arguments, is_async=is_async) != text
    ):
        return None
    env = script.env.entries if isinstance(script.env, MapValue) else ()
    variables = {entry.key: entry.value for entry in env}
    if script.env is not None and not isinstance(script.env, MapValue):
        return None
    if sorted(variables, key=str) != sorted(arguments.values(), key=str):
        return None
    values = {name: _argument(variables[variable]) for name, variable in arguments.items()}
    dependencies = _dependencies(script.dependencies)
    if dependencies is None or any(value is None for value in values.values()):
        return None
    return PythonFunction(
        function=function,
        source=body,
        arguments=values,  # type: ignore[arg-type]
        dependencies=dependencies,
        span=script.span,
    )


def _argument(value: Expr) -> Expr | None:
    """The argument an environment value of :func:`_env_value` passes: JSON of a constant,
    or ``{{ x | toJson }}``."""
    if isinstance(value, Literal) and isinstance(value.value, str):
        try:
            return from_data(json.loads(value.value))
        except (ValueError, RecursionError):
            return None
    if isinstance(value, Template) and len(value.parts) == 1:
        part = value.parts[0]
        if (
            isinstance(part, Interpolation)
            and isinstance(part.expr, Filter)
            and part.expr.name == "toJson"
            and not part.expr.args
            and not part.expr.kwargs
        ):
            inner = part.expr.value
            if (
                isinstance(inner, BinOp) and inner.op == "~" and inner.left == Literal(value="")
            ):  # '' ~ x: one interpolation rendered as a string
                return Template(parts=(Interpolation(expr=inner.right),))
            return inner
    return None


def _dependencies(value: Expr | None) -> tuple[str, ...] | None:
    """The task's own requirements: the script's, less the ``kestra`` package lowering adds."""
    if value is None:
        return ()
    if not isinstance(value, ListValue) or not all(
        isinstance(item, Literal) and isinstance(item.value, str) for item in value.items
    ):
        return None
    names = [item.value for item in value.items]  # type: ignore[union-attr]
    if names and names[-1] == _KESTRA_PACKAGE:
        names.pop()
    return tuple(names)


# --- the script ------------------------------------------------------------------------------

_HEADER = """\
# flowbridge: the Prefect task {function}, run as a Kestra python Script.
# The module below is the task function with the imports and helpers it needs, unchanged.
# The block at the end reads the arguments that Kestra renders as JSON into FLOWBRIDGE_ARG_*
# environment variables, calls the function and publishes its return value, which later
# tasks read as outputs.<task id>.vars.result.
"""

_RUNNER = """\
# --- flowbridge: call the task and publish its result -----------------------------------
{imports}

def _flowbridge_main():
    arguments = {arguments}
    kwargs = {{
        name: _flowbridge_json.loads(_flowbridge_os.environ[variable])
        for name, variable in arguments.items()
    }}
    result = {call}
    try:
        _flowbridge_json.dumps(result, allow_nan=False)
    except (TypeError, ValueError):
        print(
            "flowbridge: the result is not JSON-serialisable; publishing its repr()",
            file=_flowbridge_sys.stderr,
        )
        result = repr(result)
    try:
        from kestra import Kestra
    except ImportError:  # the line Kestra reads from stdout, as Kestra.outputs prints it
        print("::" + _flowbridge_json.dumps({{"outputs": {{"result": result}}}}) + "::")
    else:
        Kestra.outputs({{"result": result}})


_flowbridge_main()
"""

_ENCODED = """\
# flowbridge: the Prefect task {function}, run as a Kestra python Script.
# Its text holds a Pebble endraw tag, so it is kept as an escaped string (no braces, nothing
# for Kestra to render) and run as it would be otherwise.
_flowbridge_script = {text}
exec(compile(_flowbridge_script, "flowbridge_task.py", "exec"))
"""


def python_script(
    function: str, source: str, arguments: dict[str, str], *, is_async: bool = False
) -> str:
    """The text of the python Script that runs ``function`` defined in ``source``, passing
    argument ``name`` from the JSON in environment variable ``arguments[name]``."""
    imports = ["import json as _flowbridge_json", "import os as _flowbridge_os"]
    imports.append("import sys as _flowbridge_sys")
    callee = function if function.isidentifier() and not keyword.iskeyword(function) else None
    callee = callee or f"globals()[{function!r}]"
    call = f"{callee}(**kwargs)"
    if is_async:
        imports.insert(0, "import asyncio as _flowbridge_asyncio")
        call = f"_flowbridge_asyncio.run({call})"
    if arguments:
        lines = "".join(f"        {k!r}: {v!r},\n" for k, v in arguments.items())
        table = "{\n" + lines + "    }"
    else:
        table = "{}"
    text = (
        _HEADER.format(function=repr(function))
        + "\n"
        + source.rstrip("\n")
        + "\n\n\n"
        + _RUNNER.format(imports="\n".join(imports) + "\n", arguments=table, call=call)
    )
    if _ENDRAW.search(text):
        return _ENCODED.format(function=_brace_free(repr(function)), text=_brace_free(repr(text)))
    return text


def _brace_free(literal: str) -> str:
    """A Python string literal (``repr`` output) with every ``{`` written as ``\\x7b``: in
    ``repr`` output a ``{`` is never part of an escape sequence, so the value is unchanged."""
    return literal.replace("{", "\\x7b")
