"""IR → Prefect 3 Python.

One module per Kestra flow: a ``@flow`` function whose parameters are the flow's inputs and whose
body runs the steps in order, ``@task`` functions for the steps that do work in Kestra's workers
(scripts, commands, HTTP calls, plugins), module constants for the flow's variables and, for a
flow converted alone, a ``serve`` call for its schedules. Every node is built with libcst (user
text only ever enters as string literals, never as source), imports are collected in one place,
and the module is formatted with black and compiled again as a check.

Outputs: each step that produces outputs binds a variable; a Pebble reference
``outputs.<id>.<path>`` becomes a read of that variable. The variable holds the step's Kestra
outputs, with the prefix Kestra adds for the step type (``value`` of a Return, ``values`` of an
OutputValues, ``vars`` of a script) left out, so ``outputs.t.vars.k`` reads ``t_result["k"]``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import keyword
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from grammars.prefect import surface
from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic
from ir.expressions import (
    BinOp,
    Compare,
    Interpolation,
    ListValue,
    Literal,
    MapValue,
    Not,
    Param,
    Template,
    Test,
    is_constant,
    task_references,
    to_data,
)
from ir.flow import Flow, FlowOutput
from ir.parameters import Parameter, ParamType
from ir.policies import RetryKind, RetryPolicy
from ir.steps import (
    AllowFailure,
    Branch,
    Commands,
    ControlStep,
    Dag,
    Download,
    Fail,
    HttpRequest,
    KVGet,
    KVSet,
    Log,
    Loop,
    LoopUntil,
    Outputs,
    Parallel,
    Pause,
    PluginCall,
    PythonFunction,
    Return,
    Script,
    Sequence,
    Sleep,
    Step,
    SubflowCall,
    Switch,
    TaskStep,
    WorkingDirectory,
)
from transpile.kestra.values import parse_duration
from transpile.result import Sibling, WriteContext

from ..provenance import header_text
from . import runtime
from .names import (
    RESERVED,
    flow_name,
    function_name,
    identifier,
    parameter_map,
    parameter_names,
)
from .project_files import deployment, requirements_of
from .pyexpr import (
    PyContext,
    comment_lines,
    docstring,
    docstring_keeps,
    literal,
    to_python,
    variable_name,
)
from .script_task import script_task
from .shapes import is_name, lone_call, mentions_name

__all__ = ["PrefectModule", "write_prefect", "write_prefect_text"]


@functools.cache
def _annotations() -> dict[ParamType, str]:
    """IR input type → its Python annotation: the first spelling the Prefect surface
    (``grammars/prefect/surface.yaml``) reads as that type."""
    found: dict[ParamType, str] = {ParamType.ARRAY: "list", ParamType.YAML: "dict"}
    for annotation, kind in surface().param_types.items():
        found.setdefault(ParamType(kind), annotation)
    return found


@functools.cache
def _log_methods() -> dict[str, str]:
    """Kestra log level → logger method: the first method the Prefect surface reads as that
    level (TRACE, which Python logging lacks, logs at debug)."""
    found: dict[str, str] = {}
    for method, level in surface().log_levels.items():
        found.setdefault(level, method)
    return {"TRACE": found["DEBUG"], **found}


# Kestra output types → the Python conversion applied to the rendered value.
_OUTPUT_CASTS = {"STRING": "str", "INT": "int", "FLOAT": "float", "BOOLEAN": "bool"}
_LITERAL_TYPES = {str: "STRING", int: "INT", float: "FLOAT", bool: "BOOLEAN"}
_INPUT_OUTPUT_TYPES = {
    ParamType.STRING: "STRING",
    ParamType.INT: "INT",
    ParamType.FLOAT: "FLOAT",
    ParamType.BOOL: "BOOLEAN",
}
# Kestra names the outputs of these actions under a prefix; the variable holds what is below.
_OUTPUT_PREFIX: dict[type, tuple[str, ...]] = {
    Return: ("value",),
    Outputs: ("values",),
    KVGet: ("value",),
}
_INTERPRETERS = {
    "shell": ("bash", "-c"),
    "bash": ("bash", "-c"),
    "python": ("python", "-c"),
    "node": ("node", "-e"),
    "r": ("Rscript", "-e"),
    "ruby": ("ruby", "-e"),
    "julia": ("julia", "-e"),
    "powershell": ("pwsh", "-Command"),
    "go": ("go", "run"),
}


@dataclass
class PrefectModule:
    """A generated Python module and what was found while writing it."""

    code: str
    flow_functions: tuple[str, ...]
    requirements: tuple[str, ...] = ()
    diagnostics: list[Diagnostic] = field(default_factory=list)


def write_prefect(
    flows: Flow | list[Flow], context: WriteContext | None = None, *, serve: bool = True
) -> PrefectModule:
    """The Prefect module for ``flows`` (one ``@flow`` function each).

    Calls of flows listed in ``context.siblings`` become direct calls of their converted
    functions; other subflows go through ``run_deployment``. With ``serve``, a flow with
    schedules gets an ``if __name__ == "__main__": flow.serve(...)`` block (a directory
    conversion writes a ``prefect.yaml`` instead)."""
    from transpile.passes.python_tasks import lift_python_tasks

    context = context or WriteContext()
    # Scripts flowbridge wrote for Prefect tasks go back as those tasks.
    items = [lift_python_tasks(f) for f in ([flows] if isinstance(flows, Flow) else flows)]
    writer = _ModuleWriter(context)
    module = writer.module(items, serve)
    code = "" if context.dry_run else _checked(_format(module.code), context.source_name)
    return PrefectModule(
        code=code,
        flow_functions=tuple(writer.flow_functions),
        requirements=tuple(sorted(writer.requirements)),
        diagnostics=writer.diagnostics,
    )


def _format(code: str) -> str:
    """``code`` formatted by black (imported here: a dry run never formats)."""
    import black

    # black.format_str formats twice when its input changes, to settle magic trailing commas
    # that its first pass adds. One pass gives the same text for every flow of the Kestra
    # corpus (whose test checks that each output is stable under format_str) at half the cost.
    format_once = getattr(black, "_format_str_once", black.format_str)
    try:
        return format_once(code, mode=black.Mode())
    except black.InvalidInput as exc:  # a bug: the module was built from nodes
        raise AssertionError(f"generated code does not parse: {exc}") from exc


def _checked(code: str, name: str) -> str:
    """``code``, once compiled as a check: it raises on a bug, never on input."""
    compile(code, name, "exec")
    return code


def write_prefect_text(
    flows: Flow | list[Flow], context: WriteContext | None = None
) -> tuple[str, list[Diagnostic]]:
    """The registry's writer: module text and diagnostics. A module written alone (no
    siblings) serves its schedules; one written with others leaves that to prefect.yaml."""
    serve = context is None or not context.siblings
    module = write_prefect(flows, context, serve=serve)
    return module.code, module.diagnostics


# --- names ----------------------------------------------------------------------------------


def _is_stdlib(module: str) -> bool:
    return module.partition(".")[0] in sys.stdlib_module_names


def _import_statements(imports: Iterable[tuple[str, str]]) -> list[cst.SimpleStatementLine]:
    """``import m`` lines sorted by module, then one ``from m import a, b`` line per module;
    ``(m, "")`` is a plain import."""
    plain = sorted({m for m, n in imports if not n})
    froms: dict[str, set[str]] = {}
    for module, name in imports:
        if name:
            froms.setdefault(module, set()).add(name)
    lines = [_line(cst.Import(names=[cst.ImportAlias(name=_attr(m))])) for m in plain]
    for module in sorted(froms):
        names = [cst.ImportAlias(name=_name(n)) for n in sorted(froms[module])]
        lines.append(_line(cst.ImportFrom(module=_attr(module), names=names)))
    return lines


@functools.cache
def _helper_statement(name: str) -> cst.BaseStatement:
    """A runtime helper's definition, parsed once (nodes are immutable: modules share it)."""
    return cst.parse_statement(runtime.HELPERS[name][0])


def _literals(options: dict[str, Any]) -> dict[str, cst.BaseExpression]:
    """Keyword arguments of plain data (keys that are not identifiers are left out: none of
    the deployment options has one)."""
    return {k.replace("-", "_"): literal(v) for k, v in options.items() if k.isidentifier()}


# --- node helpers ---------------------------------------------------------------------------


def _name(text: str) -> cst.Name:
    return cst.Name(text)


def _attr(dotted: str) -> cst.BaseExpression:
    parts = dotted.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


_NO_SPACE_EQUAL = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _call(func: str | cst.BaseExpression, *args: cst.BaseExpression, **kwargs) -> cst.Call:
    target = _attr(func) if isinstance(func, str) else func
    arguments = [cst.Arg(value=a) for a in args]
    arguments += [
        cst.Arg(keyword=cst.Name(k), value=v, equal=_NO_SPACE_EQUAL)
        for k, v in kwargs.items()
        if v is not None
    ]
    return cst.Call(func=target, args=arguments)


def _subscript(value: cst.BaseExpression, key: cst.BaseExpression) -> cst.Subscript:
    return cst.Subscript(value=value, slice=[cst.SubscriptElement(slice=cst.Index(value=key))])


def _line(node: cst.BaseSmallStatement | cst.BaseExpression) -> cst.SimpleStatementLine:
    if isinstance(node, cst.BaseExpression):
        node = cst.Expr(value=node)
    return cst.SimpleStatementLine(body=[node])


def _assign(target: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    return _line(cst.Assign(targets=[cst.AssignTarget(target=_name(target))], value=value))


def _block(body: list[cst.BaseStatement]) -> cst.IndentedBlock:
    return cst.IndentedBlock(body=body or [_line(cst.Pass())])


def _seconds(delta: dt.timedelta) -> cst.BaseExpression:
    seconds = delta.total_seconds()
    return literal(int(seconds) if seconds == int(seconds) else seconds)


# --- the writer -----------------------------------------------------------------------------


@dataclass
class _Output:
    """How a step's outputs are read: its variable and the Kestra prefix it stands for."""

    variable: str
    prefix: tuple[str, ...] = ()


class _ModuleWriter:
    """Builds one module. Module-level state (imports, names, helpers, tasks) is shared by
    the flows of the module; the rest is reset for each flow."""

    def __init__(self, context: WriteContext) -> None:
        self.context = context
        self.diagnostics: list[Diagnostic] = []
        self.imports: set[tuple[str, str]] = {("prefect", "flow")}
        self.requirements: set[str] = set()
        self.taken: set[str] = set(RESERVED)
        self.flow_functions: list[str] = []
        self.tasks: list[cst.BaseStatement] = []
        self.helpers: dict[str, cst.BaseStatement] = {}
        self.defaults: list[cst.BaseStatement] = []  # module constants of parameter defaults
        self.sibling_modules: dict[str, str] = {}  # flow function → module it is imported from
        self.task_names: set[str] = set()
        self.start_flow(Flow(id="flow"))

    def start_flow(self, flow: Flow) -> None:
        """Reset what belongs to one flow."""
        self.flow = flow
        self.params: dict[str, str] = {}
        self.flow_imports: set[tuple[str, str]] = set()  # other converted flows it calls
        self.param_values: dict[str, Any] = {}  # constant defaults, by Kestra input id
        self.late_defaults: list[tuple[str, Parameter]] = []  # defaults that are expressions
        self.constants: dict[str, str] = {}  # Kestra variable → module constant or local
        self.outputs: dict[str, _Output] = {}
        self.outputs_read: set[str] = set()  # steps whose variable an expression used
        self.pure_variables: set[str] = set()  # results that only compute (see bind)
        self.loop_vars: list[str] = []
        self.described: set[str] = set()  # steps whose description a @task carries
        self.uses_logger = False
        self.current_step: str | None = None  # the step being written (Kestra ``task.id``)
        # Submitted tasks of a concurrent block: (step id, future, result variable or "").
        self.futures: list[tuple[str, str, str]] | None = None
        self.read = _outputs_read(flow)

    # --- bookkeeping ------------------------------------------------------------------------

    def take(self, text: str, fallback: str) -> str:
        """A fresh module-level name."""
        name = identifier(text, fallback, self.taken)
        self.taken.add(name)
        return name

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def approximated(self, span: Span | None, what: str, reason: str) -> None:
        """Report a construct converted to its closest Prefect equivalent (P203)."""
        self.report(codes.P203.at(span, what=what, reason=reason))

    def context_for_expressions(self) -> PyContext:
        return PyContext(
            params=self.params,
            constants=self.constants,
            output=self.output_reference,
            loop_vars=list(self.loop_vars),
            flow_id=self.flow.id,
            namespace=self.flow.namespace or "",
            task_id=self.current_step,
        )

    def expr(self, value: Any, span: Span | None) -> cst.BaseExpression:
        """A Python expression for an IR value (expression, template or plain data)."""
        if value is None:
            return cst.Name("None")
        if not hasattr(value, "kind"):
            return literal(value)
        translation = to_python(value, self.context_for_expressions(), span)
        self.imports |= translation.imports
        self.diagnostics.extend(translation.diagnostics)
        return translation.expr

    def output_reference(self, task: str, path: tuple[str, ...]) -> cst.BaseExpression | None:
        found = self.outputs.get(task)
        if found is None:
            return None
        self.outputs_read.add(task)
        node: cst.BaseExpression = _name(found.variable)
        rest = path[len(found.prefix) :] if path[: len(found.prefix)] == found.prefix else path
        for segment in rest:
            key = (
                literal(int(segment))
                if segment.isascii() and segment.isdigit()
                else literal(segment)
            )
            node = _subscript(node, key)
        return node

    def helper(self, name: str) -> str:
        """Add one of the runtime helpers (fixed code of ours) to the module; its name."""
        if name not in self.helpers:
            self.helpers[name] = _helper_statement(name)
            self.imports |= set(runtime.HELPERS[name][1])
            self.taken.add(name)
        return name

    # --- the module -------------------------------------------------------------------------

    def module(self, flows: list[Flow], serve: bool) -> cst.Module:
        # Flow functions are named first, so that they keep the name other modules import.
        names = [self.take(function_name(flow.id), "flow") for flow in flows]
        definitions: list[cst.BaseStatement] = []
        constants: list[cst.BaseStatement] = []
        serving: list[cst.BaseStatement] = []
        for flow, name in zip(flows, names, strict=True):
            self.start_flow(flow)
            self.flow_functions.append(name)
            for variable, value in flow.variables.items():
                if is_constant(value):  # others are computed in the flow, from its inputs
                    self.constants[variable] = self.take(variable.upper(), "var").upper()
                    self.taken.add(self.constants[variable])
                    constants.append(_assign(self.constants[variable], self.expr(value, flow.span)))
            definitions.append(self.flow_function(flow, name))
            self.requirements |= requirements_of(flow)
            if serve:
                serving += self.serve_calls(flow, name)
        statements: list[cst.BaseStatement] = [
            *constants,
            *self.defaults,
            *self.helpers.values(),
            *self.tasks,
            *definitions,
        ]
        if serving:
            test = cst.Comparison(
                left=_name("__name__"),
                comparisons=[
                    cst.ComparisonTarget(operator=cst.Equal(), comparator=literal("__main__"))
                ],
            )
            statements.append(cst.If(test=test, body=_block(serving)))
        qualified = ", ".join(".".join(p for p in (f.namespace, f.id) if p) for f in flows)
        header = comment_lines(
            header_text(
                self.context.source_name, self.context.source_digest, self.context.source_root
            )
        )
        header += comment_lines(f"Kestra flow: {qualified}. Edit the source, not this file.")
        if self.requirements:  # a directory also lists them in requirements.txt
            header += comment_lines("Its scripts need: " + ", ".join(sorted(self.requirements)))
        return cst.Module(body=[*self.import_lines(), *statements], header=header)

    def flow_function(self, flow: Flow, name: str) -> cst.FunctionDef:
        parameters = self.parameters(flow.parameters)
        computed: list[cst.BaseStatement] = []
        for argument, param in self.late_defaults:
            test = cst.Comparison(
                left=_name(argument),
                comparisons=[cst.ComparisonTarget(operator=cst.Is(), comparator=cst.Name("None"))],
            )
            value = _assign(argument, self.expr(param.default, param.span))
            computed.append(cst.If(test=test, body=_block([value])))
        for variable, value in flow.variables.items():
            if variable not in self.constants:
                local = self.take(variable, "var")
                computed.append(_assign(local, self.expr(value, flow.span)))
                self.constants[variable] = local
        body = computed + self.body(flow)
        body = _import_statements(self.flow_imports) + body
        if flow.description and docstring_keeps(flow.description):
            body.insert(0, _line(docstring(flow.description)))
        unread = {o.variable for sid, o in self.outputs.items() if sid not in self.outputs_read}
        if unread:  # outputs only read where the reading was carried as text
            drop = _DropUnread(unread, self.pure_variables)
            visited = [statement.visit(drop) for statement in body]
            body = [v for v in visited if isinstance(v, cst.BaseStatement)]
        return cst.FunctionDef(
            name=_name(name),
            params=parameters,
            body=_block(body),
            decorators=[cst.Decorator(decorator=self.flow_decorator(flow, name))],
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )

    def import_lines(self) -> list[cst.SimpleStatementLine]:
        """The module's imports as isort (and ruff's ``I`` rules) order them: the standard
        library, then third-party packages; plain imports before ``from`` imports."""
        sections: list[list[cst.SimpleStatementLine]] = []
        for stdlib in (True, False):
            wanted = {(m, n) for m, n in self.imports if _is_stdlib(m) == stdlib}
            if wanted:
                sections.append(_import_statements(wanted))
        lines: list[cst.SimpleStatementLine] = []
        for number, section in enumerate(sections):
            if number:
                section[0] = section[0].with_changes(leading_lines=[cst.EmptyLine()])
            lines += section
        return lines

    def flow_decorator(self, flow: Flow, name: str) -> cst.BaseExpression:
        options: dict[str, cst.BaseExpression | None] = {}
        prefect_name = self.prefect_name(flow)
        # Spelled out unless both Prefect's default name (``my-flow`` for ``my_flow``) and the
        # function's name, which reading the module back takes as the flow's id, are it.
        if prefect_name != name.replace("_", "-") or prefect_name != name:
            options["name"] = literal(prefect_name)
        if flow.description is not None and not docstring_keeps(flow.description):
            options["description"] = literal(flow.description)
        options |= self.retry_options(flow.retry, flow.span)
        if flow.labels:
            self.approximated(
                flow.span,
                f"labels of flow {flow.id!r}",
                "Prefect flows have no labels; they become the tags of its deployment",
            )
        return _call("flow", **options) if options else _name("flow")

    def serve_calls(self, flow: Flow, name: str) -> list[cst.BaseStatement]:
        """``flow.serve(...)`` for a module converted alone: the deployment ``prefect.yaml``
        would hold (schedules, event triggers, tags, concurrency), as Python objects."""
        found, problems = deployment(flow, self.prefect_name(flow))
        self.diagnostics.extend(problems)
        if not (found.get("schedules") or found.get("triggers")):
            return []
        options: dict[str, cst.BaseExpression | None] = {"name": literal(found["name"])}
        if found.get("schedules"):
            options["schedules"] = cst.List(
                [cst.Element(self.schedule_object(s)) for s in found["schedules"]]
            )
        if found.get("triggers"):
            self.imports.add(("prefect.events", "DeploymentEventTrigger"))
            options["triggers"] = cst.List(
                [
                    cst.Element(_call("DeploymentEventTrigger", **_literals(t)))
                    for t in found["triggers"]
                ]
            )
        if "tags" in found:
            options["tags"] = literal(found["tags"])
        if "concurrency_limit" in found:
            limit = found["concurrency_limit"]
            self.imports.add(("prefect.client.schemas.objects", "ConcurrencyLimitConfig"))
            self.imports.add(("prefect.client.schemas.objects", "ConcurrencyLimitStrategy"))
            strategy = limit.get("collision_strategy")
            options["global_limit"] = _call(
                "ConcurrencyLimitConfig",
                limit=literal(limit["limit"]),
                collision_strategy=(
                    _attr(f"ConcurrencyLimitStrategy.{strategy}") if strategy else None
                ),
            )
        return [_line(_call(cst.Attribute(value=_name(name), attr=_name("serve")), **options))]

    def schedule_object(self, schedule: dict[str, Any]) -> cst.BaseExpression:
        """A ``prefect.schedules`` object for one schedule of a deployment."""
        options = dict(schedule)
        for key, kind in (("cron", "Cron"), ("interval", "Interval"), ("rrule", "RRule")):
            if key in options:
                self.imports.add(("prefect.schedules", kind))
                value = options.pop(key)
                return _call(kind, literal(value), **_literals(options))
        raise AssertionError(f"a schedule without a cron, interval or rrule: {schedule}")

    def prefect_name(self, flow: Flow) -> str:
        """The flow's Prefect name (and its deployment's)."""
        return flow_name(flow.id, flow.namespace, self.context.siblings)

    # --- parameters -------------------------------------------------------------------------

    def parameters(self, params: tuple[Parameter, ...]) -> cst.Parameters:
        required, optional = [], []
        for param, name in zip(params, parameter_names(p.name for p in params), strict=True):
            if name != param.name:
                self.report(codes.P205.at(param.span, what="input", name=param.name, target=name))
            self.taken.add(name)
            self.params.setdefault(param.name, name)
            default = self.param_default(param, name)
            annotation = self.annotation(param, default)
            late = default is None and param.default is not None
            if late:  # an expression: computed when the flow runs, not when it is imported
                self.late_defaults.append((name, param))
            if default is None and (late or not param.required):
                default = cst.Name("None")
                annotation = cst.BinaryOperation(
                    left=annotation, operator=cst.BitOr(), right=cst.Name("None")
                )
            if param.description is not None:  # Prefect's parameter schema shows it
                self.imports |= {("typing", "Annotated"), ("pydantic", "Field")}
                field = _call("Field", description=literal(param.description))
                annotation = cst.Subscript(
                    value=_name("Annotated"),
                    slice=[
                        cst.SubscriptElement(cst.Index(annotation)),
                        cst.SubscriptElement(cst.Index(field)),
                    ],
                )
            node = cst.Param(
                name=_name(name),
                annotation=cst.Annotation(annotation=annotation),
                default=default,
                equal=cst.AssignEqual() if default is not None else cst.MaybeSentinel.DEFAULT,
            )
            (optional if default is not None else required).append(node)
        return cst.Parameters(params=[*required, *optional])

    def annotation(
        self, param: Parameter, default: cst.BaseExpression | None
    ) -> cst.BaseExpression:
        if param.values:
            self.imports.add(("typing", "Literal"))
            choices = [
                cst.SubscriptElement(slice=cst.Index(value=literal(v))) for v in param.values
            ]
            node: cst.BaseExpression = cst.Subscript(value=_name("Literal"), slice=choices)
            if param.type in (ParamType.ARRAY, ParamType.MULTISELECT):
                node = _subscript(_name("list"), node)
            return node
        if param.type == ParamType.ARRAY and param.item_type is not None:
            return _subscript(_name("list"), self.type_annotation(param.item_type))
        if param.type in (ParamType.JSON, ParamType.YAML):
            # JSON inputs hold any JSON value; the default says which one this flow expects.
            constant = self.param_values.get(param.name)
            return _name("list" if isinstance(constant, list) else "dict")
        return self.type_annotation(param.type)

    def type_annotation(self, kind: ParamType) -> cst.BaseExpression:
        """The annotation of an input type (``str`` for types Python has no name for)."""
        spelled = _annotations().get(kind, "str")
        module, _, _ = spelled.rpartition(".")
        if module:
            self.imports.add((module, ""))
        return _attr(spelled)

    def param_default(self, param: Parameter, name: str) -> cst.BaseExpression | None:
        """The default of a flow parameter. Values that Python evaluates once per module
        (lists, dicts, dates) become module constants, as a default must not be mutable."""
        value = _default_value(param)
        if value is _NOT_CONSTANT:
            return None
        if value is None:  # ``defaults: null`` is no default
            return None
        self.param_values[param.name] = value
        node = literal(value)
        if value is not None and not isinstance(value, (str, int, float, bool)):
            if isinstance(value, (dt.date, dt.time, dt.timedelta)):
                self.imports.add(("datetime", ""))
            constant = self.take(f"{name}_default".upper(), "default").upper()
            self.taken.add(constant)
            self.defaults.append(_assign(constant, node))
            return _name(constant)
        return node

    # --- the flow body ----------------------------------------------------------------------

    def body(self, flow: Flow) -> list[cst.BaseStatement]:
        main = self.steps(flow.steps)
        if flow.on_failure or flow.finally_steps:
            main = [self.guarded(main, flow.on_failure, flow.finally_steps, reraise=True)]
        result = self.flow_result(flow.outputs)
        statements = [*main, *result]
        if self.uses_logger:
            self.imports.add(("prefect", "get_run_logger"))
            statements.insert(0, _assign("logger", _call("get_run_logger")))
        return statements

    def flow_result(self, outputs: tuple[FlowOutput, ...]) -> list[cst.BaseStatement]:
        if not outputs:
            return []
        elements = []
        for output in outputs:
            value = self.expr(output.value, output.span)
            wanted = (output.type or "").upper()
            if wanted == "JSON":
                value = _call(self.helper("_json_value"), value)
            elif wanted in _OUTPUT_CASTS and self.static_type(output.value) != wanted:
                # Kestra renders the value to text, then converts it to the declared type.
                cast = "_truthy" if wanted == "BOOLEAN" else _OUTPUT_CASTS[wanted]
                value = _call(self.helper(cast) if cast.startswith("_") else cast, value)
            elements.append(cst.DictElement(key=literal(output.id), value=value))
        return [_line(cst.Return(value=cst.Dict(elements=elements)))]

    def condition(self, expr: Any, span: Span | None) -> cst.BaseExpression:
        """A Kestra condition as a Python test. Kestra renders it to text and reads the text
        as a boolean; a comparison or a boolean input is used as it is."""
        value = self.expr(expr, span)
        if isinstance(expr, Template) and len(expr.parts) == 1:
            part = expr.parts[0]
            expr = part.expr if isinstance(part, Interpolation) else part
        if isinstance(expr, _BOOLEAN_EXPRS) or self.static_type(expr) == "BOOLEAN":
            return value
        if isinstance(expr, BinOp) and expr.op in ("and", "or"):
            return value
        return _call(self.helper("_truthy"), value)

    def static_type(self, expr: Any) -> str | None:
        """The Kestra type an expression's Python value already has, when known (``ARRAY``
        for a list)."""
        if isinstance(expr, Template):
            parts = expr.parts
            if len(parts) == 1 and isinstance(parts[0], Interpolation):
                return self.static_type(parts[0].expr)
            return "STRING"
        if isinstance(expr, Literal):
            return _LITERAL_TYPES.get(type(expr.value))
        if isinstance(expr, Param):
            param = next((p for p in self.flow.parameters if p.name == expr.name), None)
            if param is None:
                return None
            if param.type in (ParamType.ARRAY, ParamType.MULTISELECT) or (
                param.type == ParamType.JSON and isinstance(self.param_values.get(param.name), list)
            ):
                return "ARRAY"
            return _INPUT_OUTPUT_TYPES.get(param.type)
        return None

    def steps(self, steps: Iterable[Step]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for step in steps:
            out.extend(self.step(step))
        return out

    def step(self, step: Step) -> list[cst.BaseStatement]:
        if step.disabled:
            self.approximated(step.span, f"disabled step {step.id!r}", "not called")
            return [
                _line(cst.Pass()).with_changes(
                    leading_lines=comment_lines(f"disabled in Kestra: {step.id}")
                )
            ]
        bound_before = set(self.outputs)
        handler = _STEP_WRITERS.get(type(step))
        outer, self.current_step = self.current_step, step.id
        try:
            statements = handler(self, step) if handler else self.unsupported(step)
        finally:
            self.current_step = outer
        if isinstance(step, ControlStep) and (step.on_failure or step.finally_steps):
            statements = [
                self.guarded(statements, step.on_failure, step.finally_steps, reraise=True)
            ]
        if step.allow_failure:
            statements = [self.tolerated(statements, step.id)]
        if step.run_if is not None:
            statements = [
                cst.If(test=self.condition(step.run_if, step.span), body=_block(statements))
            ]
        if isinstance(step, _MAY_SKIP) or step.run_if is not None or step.allow_failure:
            # Outputs of a step that did not run are undefined in Kestra (``??`` and
            # ``default`` test for it): here they are None rather than unbound.
            skipped = [
                self.outputs[sid].variable for sid in self.outputs if sid not in bound_before
            ]
            statements = [_assign(variable, cst.Name("None")) for variable in skipped] + statements
        if step.description is not None and step.id not in self.described:
            self.report(
                codes.P204.at(
                    step.span,
                    what=f"the description of step {step.id!r}",
                    reason="only a task has one; it is kept in a comment",
                )
            )
            if statements:
                first = statements[0]
                comment = comment_lines(step.description)
                statements[0] = first.with_changes(leading_lines=[*comment, *first.leading_lines])
        return statements

    def guarded(
        self,
        body: list[cst.BaseStatement],
        on_failure: tuple[Step, ...],
        finally_steps: tuple[Step, ...],
        reraise: bool,
    ) -> cst.Try:
        handlers = []
        if on_failure:
            handled = self.steps(on_failure)
            if reraise:
                handled.append(_line(cst.Raise()))
            handlers.append(cst.ExceptHandler(body=_block(handled), type=_name("Exception")))
        final = cst.Finally(body=_block(self.steps(finally_steps))) if finally_steps else None
        return cst.Try(body=_block(body), handlers=handlers, finalbody=final)

    def tolerated(self, body: list[cst.BaseStatement], step_id: str) -> cst.Try:
        self.uses_logger = True
        warn = _call(
            "logger.warning",
            literal("%s failed; the failure is allowed"),
            literal(step_id),
            exc_info=cst.Name("True"),
        )
        handler = cst.ExceptHandler(body=_block([_line(warn)]), type=_name("Exception"))
        return cst.Try(body=_block(body), handlers=[handler])

    def unsupported(self, step: Step) -> list[cst.BaseStatement]:
        self.report(
            codes.P204.at(
                step.span, what=f"step {step.id!r}", reason=f"{type(step).__name__} steps"
            )
        )
        return [
            _line(cst.Pass()).with_changes(leading_lines=comment_lines(f"not converted: {step.id}"))
        ]

    def variable_key(self, key: Any, step: Step) -> cst.BaseExpression:
        """The Prefect variable name of a KV key: spelled out when the key is constant (the
        renaming reported), else computed by the runtime helper with the same rule."""
        if isinstance(key, Literal) and isinstance(key.value, str):
            name = variable_name(key.value)
            if name != key.value:
                self.report(codes.P205.at(step.span, what="KV key", name=key.value, target=name))
            return literal(name)
        return _call(self.helper("_variable_name"), self.expr(key, step.span))

    # --- subflows ---------------------------------------------------------------------------

    def sibling_function(self, namespace: str | None, flow_id: str) -> tuple[str, Sibling] | None:
        """The name to call for a flow converted in the same run (imported if it lives in
        another module) and where it is; None when it is not converted with this one or cannot
        be imported."""
        siblings = self.context.siblings
        target = siblings.get((namespace, flow_id))
        if target is None and namespace is None:
            matches = [s for (_, fid), s in siblings.items() if fid == flow_id]
            target = matches[0] if len(matches) == 1 else None
        if target is None:
            return None
        function = function_name(flow_id)
        if target.output == self.context.output:
            return function, target
        here = (self.context.output or "").rpartition("/")[0]
        folder, _, file = target.output.rpartition("/")
        stem = file.rsplit(".", 1)[0]
        parts = [stem] if folder == here else [*filter(None, folder.split("/")), stem]
        module = ".".join(parts)
        importable = all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)
        if not importable or self.sibling_modules.setdefault(function, module) != module:
            return None
        if function in self.taken and function not in self.sibling_modules:
            return None
        self.taken.add(function)
        # Imported inside the flow that calls it: where ruff files a sibling module (first
        # party or third) depends on the directory it runs from; a local import sorts alone.
        self.flow_imports.add((module, function))
        return function, target

    def flow_arguments(self, step: SubflowCall, target: Sibling) -> list[cst.Arg]:
        """Arguments of a converted flow's call from a Subflow's inputs."""
        inputs = step.inputs
        if inputs is None:
            return []
        if isinstance(inputs, MapValue) and all(isinstance(e.key, str) for e in inputs.entries):
            names = parameter_map(target.inputs)
            return [
                cst.Arg(
                    keyword=_name(names.get(str(e.key)) or identifier(str(e.key), "param")),
                    value=self.expr(e.value, step.span),
                    equal=_NO_SPACE_EQUAL,
                )
                for e in inputs.entries
            ]
        return [cst.Arg(value=self.expr(inputs, step.span), star="**")]

    # --- tasks (work done by Kestra workers) ------------------------------------------------

    def task_def(
        self,
        step: Step,
        params: list[str] | cst.Parameters,
        body: list[cst.BaseStatement],
        leading: list[cst.EmptyLine] = (),
        name: str | None = None,
    ) -> str:
        """Add a ``@task`` function for ``step`` (named ``name`` when the caller took one
        already); its name."""
        self.imports.add(("prefect", "task"))
        name = name or self.take(step.id, "task")
        options: dict[str, cst.BaseExpression | None] = {}
        if name != step.id:  # Prefect names a task after its function
            options["name"] = literal(step.id)
        if step.description is not None:
            options["description"] = literal(step.description)
            self.described.add(step.id)
        options |= self.retry_options(step.retry, step.span)
        if step.timeout is not None:
            options["timeout_seconds"] = _seconds(step.timeout)
        if step.tags:
            options["tags"] = cst.List([cst.Element(literal(t)) for t in step.tags])
        if step.cache is not None and step.cache.enabled:
            self.imports.add(("prefect.cache_policies", "INPUTS"))
            options["cache_policy"] = _name("INPUTS")
            if step.cache.ttl is not None:
                self.imports.add(("datetime", ""))
                options["cache_expiration"] = _call(
                    "datetime.timedelta", seconds=_seconds(step.cache.ttl)
                )
        if body and hasattr(body[0], "leading_lines"):  # blank lines left by removed imports
            kept = list(body[0].leading_lines)
            while kept and kept[0].comment is None:
                kept.pop(0)
            body = [body[0].with_changes(leading_lines=kept), *body[1:]]
        function = cst.FunctionDef(
            name=_name(name),
            params=(
                params
                if isinstance(params, cst.Parameters)
                else cst.Parameters(params=[cst.Param(name=_name(p)) for p in params])
            ),
            body=_block(body),
            decorators=[
                cst.Decorator(decorator=_call("task", **options) if options else _name("task"))
            ],
            leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *leading],
        )
        self.tasks.append(function)
        self.task_names.add(name)
        return name

    def retry_options(
        self, retry: RetryPolicy | None, span: Span | None
    ) -> dict[str, cst.BaseExpression | None]:
        if retry is None or not retry.max_attempts or retry.max_attempts <= 1:
            return {}
        retries = retry.max_attempts - 1  # Kestra counts attempts, Prefect retries
        options: dict[str, cst.BaseExpression | None] = {"retries": literal(retries)}
        if retry.kind == RetryKind.CONSTANT and retry.interval is not None:
            options["retry_delay_seconds"] = _seconds(retry.interval)
        elif (
            retry.kind == RetryKind.EXPONENTIAL
            and retry.interval is not None
            and retry.factor in (None, 2)
            and retry.max_interval is None
        ):  # Prefect's own doubling: backoff_factor * 2 ** retry
            self.imports.add(("prefect.tasks", "exponential_backoff"))
            options["retry_delay_seconds"] = _call(
                "exponential_backoff", backoff_factor=_seconds(retry.interval)
            )
        elif retry.kind == RetryKind.EXPONENTIAL and retry.interval is not None:
            factor = retry.factor or 2.0
            delays = []
            for k in range(retries):
                delay = retry.interval * (factor**k)
                if retry.max_interval is not None:
                    delay = min(delay, retry.max_interval)
                delays.append(_seconds(delay))
            options["retry_delay_seconds"] = cst.List([cst.Element(d) for d in delays])
        elif retry.kind == RetryKind.RANDOM and retry.min_interval and retry.max_interval:
            low, high = retry.min_interval.total_seconds(), retry.max_interval.total_seconds()
            mean = (low + high) / 2
            options["retry_delay_seconds"] = literal(mean)
            if mean:
                options["retry_jitter_factor"] = literal(round((high - mean) / mean, 6))
            self.approximated(span, "random retry delay", "mean delay with jitter")
        elif retry.delays:
            options["retry_delay_seconds"] = cst.List(
                [cst.Element(_seconds(d)) for d in retry.delays]
            )
        if retry.max_duration is not None:
            self.report(
                codes.P204.at(span, what="retry maxDuration", reason="Prefect has no total bound")
            )
        return options

    def call_task(
        self, step: Step, function: str, arguments: list[tuple[str, cst.BaseExpression]]
    ) -> cst.Call:
        """Call a task, or submit it in a concurrent block (waiting for the futures of the
        steps it depends on)."""
        if self.futures is None:
            return _call(function, **dict(arguments))
        options = dict(arguments)
        waits = [future for sid, future, _ in self.futures if sid in step.depends_on]
        if waits:
            options["wait_for"] = cst.List([cst.Element(_name(f)) for f in waits])
        return _call(f"{function}.submit", **options)

    def bind(
        self,
        step: Step,
        value: cst.BaseExpression,
        prefix: tuple[str, ...] = (),
        *,
        pure: bool = False,
    ) -> list:
        """Run ``value`` for ``step``; bind its result to a variable when a later step or the
        flow's outputs read it. A submitted task binds its future; :meth:`resolve` binds the
        result. A ``pure`` value (one that only computes, as a Return's) is left out when
        nothing reads it."""
        variable = ""
        if step.id in self.read:
            variable = self.take(f"{step.id}_result", "result")
            self.outputs[step.id] = _Output(variable, prefix)
            if pure:
                self.pure_variables.add(variable)
        if self.futures is not None and _submittable(step):
            future = self.take(f"{step.id}_future", "future")
            self.futures.append((step.id, future, variable))
            return [_assign(future, value)]
        if variable:
            return [_assign(variable, value)]
        # Left out rather than a bare expression: a string first in a body is a docstring.
        return [] if pure else [_line(value)]

    def concurrently(self, children: Iterable[Step]) -> list[cst.BaseStatement]:
        """Steps that Kestra runs at the same time (Parallel, Dag): tasks are submitted, and
        their results resolved before a step that reads them and at the end of the block."""
        from ir.graph import step_references
        from transpile.kestra.pebble import task_references_in_text

        outer, self.futures = self.futures, []
        body: list[cst.BaseStatement] = []
        for child in children:
            pending = {sid for sid, _, _ in self.futures}
            reads = step_references(child, task_references_in_text) & pending
            waits = set(child.depends_on) & pending
            if reads or (waits and not _submittable(child)):
                body += self.resolve()  # data is read from results, not from futures
            if _submittable(child):
                body += self.step(child)
            else:
                inner, self.futures = self.futures, None
                body += self.step(child)
                self.futures = inner
        body += self.resolve()
        self.futures = outer
        return body

    def resolve(self) -> list[cst.BaseStatement]:
        """Wait for the submitted tasks; a failed one raises here, as it fails the run."""
        statements = []
        for _, future, variable in self.futures or ():
            result = _call(f"{future}.result")
            statements.append(_assign(variable, result) if variable else _line(result))
        if self.futures is not None:
            self.futures = []
        return statements


class _DropUnread(cst.CSTTransformer):
    """Forgets result variables nothing reads: ``x = call()`` becomes ``call()``, and an
    assignment that only computes (a Return's text, a None for a skipped step) goes."""

    def __init__(self, names: set[str], pure: set[str]) -> None:
        super().__init__()
        self.names = names
        self.pure = pure

    def leave_SimpleStatementLine(self, original, updated):
        assign = updated.body[0] if len(updated.body) == 1 else None
        if not (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value in self.names
        ):
            return updated
        name = assign.targets[0].target.value
        if name in self.pure or is_name(assign.value, "None"):
            return cst.RemoveFromParent()
        return updated.with_changes(body=[cst.Expr(assign.value)])

    def leave_IndentedBlock(self, original, updated):
        return updated if updated.body else updated.with_changes(body=[_line(cst.Pass())])


# Expressions whose Python value is a bool.
_BOOLEAN_EXPRS = (Compare, Not, Test)

# Steps whose children may not run (or not completely).
_MAY_SKIP = (Branch, Switch, Loop, AllowFailure)

# Actions that become a task of their own, which a concurrent block can submit.
_TASK_ACTIONS = (Script, Commands, HttpRequest, Download, PluginCall, PythonFunction)


def _submittable(step: Step) -> bool:
    return (
        isinstance(step, TaskStep)
        and isinstance(step.action, _TASK_ACTIONS)
        and not step.allow_failure
        and not step.disabled
        and step.run_if is None
    )


def _outputs_read(flow: Flow) -> set[str]:
    """Ids of the steps whose outputs are read, by a step or by the flow's outputs. Plugin
    properties are left out: they are carried as comments, not code."""
    from ir.graph import step_references
    from transpile.kestra.pebble import task_references_in_text

    read: set[str] = set()
    for step in flow.all_steps():
        if isinstance(step, TaskStep) and isinstance(step.action, PluginCall):
            continue
        read |= step_references(step, task_references_in_text)
    for output in flow.outputs:
        read |= task_references(output.value)
    return read


_NOT_CONSTANT = object()
_PARSERS: dict[ParamType, Callable[[str], Any]] = {
    ParamType.DATETIME: lambda v: dt.datetime.fromisoformat(v.replace("Z", "+00:00")),
    ParamType.DATE: dt.date.fromisoformat,
    ParamType.TIME: dt.time.fromisoformat,
    ParamType.DURATION: parse_duration,
    ParamType.JSON: json.loads,
    ParamType.ARRAY: json.loads,
    ParamType.MULTISELECT: json.loads,
}


def _default_value(param: Parameter) -> Any:
    """The default as a Python value (Kestra writes dates, durations and JSON as text), or
    ``_NOT_CONSTANT`` when it is an expression or text that does not parse."""
    default = param.default
    if default is None or not is_constant(default):
        return None if default is None else _NOT_CONSTANT
    value = to_data(default)
    parse = _PARSERS.get(param.type)
    if isinstance(value, str) and parse is not None:
        try:
            parsed = parse(value)
        except (ValueError, OverflowError, RecursionError):  # text that is no such value
            return _NOT_CONSTANT
        return _NOT_CONSTANT if parsed is None else parsed
    return value


# --- one writer per step kind (a registry, not an if-chain) ----------------------------------

_StepWriter = Callable[[_ModuleWriter, Any], list[cst.BaseStatement]]
_ACTION_WRITERS: dict[type, Callable[[_ModuleWriter, TaskStep, Any], list]] = {}
_STEP_WRITERS: dict[type, _StepWriter] = {}


def _action(kind: type):
    def register(fn):
        _ACTION_WRITERS[kind] = fn
        return fn

    return register


def _step_kind(kind: type):
    def register(fn):
        _STEP_WRITERS[kind] = fn
        return fn

    return register


@_step_kind(TaskStep)
def _task_step(w: _ModuleWriter, step: TaskStep) -> list[cst.BaseStatement]:
    handler = _ACTION_WRITERS.get(type(step.action))
    if handler is None:
        return w.unsupported(step)
    return handler(w, step, step.action)


@_action(Log)
def _log(w: _ModuleWriter, step: TaskStep, action: Log) -> list:
    w.uses_logger = True
    level = _log_methods().get((action.level or "INFO").upper(), "info")
    messages = action.message.items if isinstance(action.message, ListValue) else [action.message]
    return [_line(_call(f"logger.{level}", w.expr(m, step.span))) for m in messages]


@_action(Return)
def _return(w: _ModuleWriter, step: TaskStep, action: Return) -> list:
    value = w.expr(action.value, step.span) if action.value is not None else literal("")
    if action.value is not None and not isinstance(action.value, (Literal, Template)):
        value = _call("str", value)  # Return renders its format: always a string
    return w.bind(step, value, _OUTPUT_PREFIX[Return], pure=True)


@_action(Outputs)
def _outputs(w: _ModuleWriter, step: TaskStep, action: Outputs) -> list:
    value = w.expr(action.values, step.span) if action.values is not None else cst.Dict([])
    return w.bind(step, value, _OUTPUT_PREFIX[Outputs], pure=True)


@_action(Sleep)
def _sleep(w: _ModuleWriter, step: TaskStep, action: Sleep) -> list:
    w.imports.add(("time", ""))
    return [_line(_call("time.sleep", _seconds(action.duration)))]


@_action(Fail)
def _fail(w: _ModuleWriter, step: TaskStep, action: Fail) -> list:
    message = w.expr(action.message, step.span) if action.message else literal(f"{step.id} failed")
    statement = cst.SimpleStatementLine([cst.Raise(exc=_call("RuntimeError", message))])
    if action.condition is not None:
        return [cst.If(test=w.expr(action.condition, step.span), body=_block([statement]))]
    return [statement]


@_action(KVSet)
def _kv_set(w: _ModuleWriter, step: TaskStep, action: KVSet) -> list:
    w.imports.add(("prefect.variables", "Variable"))
    value = w.expr(action.value, step.span)
    call = _call(
        "Variable.set", w.variable_key(action.key, step), value, overwrite=cst.Name("True")
    )
    return [_line(call)]


@_action(KVGet)
def _kv_get(w: _ModuleWriter, step: TaskStep, action: KVGet) -> list:
    w.imports.add(("prefect.variables", "Variable"))
    call = _call("Variable.get", w.variable_key(action.key, step))
    return w.bind(step, call, _OUTPUT_PREFIX[KVGet], pure=True)


@_action(Script)
def _script(w: _ModuleWriter, step: TaskStep, action: Script) -> list:
    if action.language != "python":
        commands = ListValue(items=(action.source,))
        return _process(w, step, action, commands, interpreter=action.language)
    name = w.take(step.id, "task")
    converted = script_task(name, action.source, task_id=step.id, span=step.span)
    w.diagnostics.extend(converted.diagnostics)
    w.imports |= converted.imports
    if action.env is not None or action.input_files is not None:
        w.approximated(
            step.span,
            f"env and inputFiles of {step.id!r}",
            "the task runs in the flow's process, without them",
        )
    params = [p.name.value for p in converted.function.params.params]
    function = w.task_def(step, params, list(converted.function.body.body), name=name)
    arguments = [(param, w.expr(value, step.span)) for param, value in converted.arguments]
    return w.bind(step, w.call_task(step, function, arguments), ("vars",))


@_action(Commands)
def _commands(w: _ModuleWriter, step: TaskStep, action: Commands) -> list:
    return _process(w, step, action, action.commands, interpreter="shell")


def _process(w: _ModuleWriter, step: TaskStep, action, commands: Any, interpreter: str) -> list:
    """Commands (or a non-Python script) run by a subprocess, with the step's environment;
    Kestra's ``::{"outputs": …}::`` lines on stdout become the step's ``vars``."""
    if action.container_image is not None or action.before_commands is not None:
        w.approximated(
            step.span,
            f"step {step.id!r}",
            "runs on the worker's own machine: container image and beforeCommands "
            "are not applied",
        )
    run = w.helper("_run_commands")
    program = _INTERPRETERS.get(interpreter.lower(), ("bash", "-c"))
    body = [
        _line(
            cst.Return(
                value=_call(
                    run,
                    _name("commands"),
                    env=_name("env"),
                    program=cst.List([cst.Element(literal(p)) for p in program]),
                )
            )
        )
    ]
    function = w.task_def(step, ["commands", "env"], body)
    env = w.expr(action.env, step.span) if action.env is not None else cst.Dict([])
    arguments = [("commands", w.expr(commands, step.span)), ("env", env)]
    return w.bind(step, w.call_task(step, function, arguments))


@_action(HttpRequest)
def _http(w: _ModuleWriter, step: TaskStep, action: HttpRequest) -> list:
    request = w.helper("_http_request")
    body = [
        _line(
            cst.Return(
                value=_call(
                    request,
                    _name("method"),
                    _name("uri"),
                    headers=_name("headers"),
                    body=_name("body"),
                )
            )
        )
    ]
    function = w.task_def(step, ["method", "uri", "headers", "body"], body)
    arguments = [
        ("method", w.expr(action.method, step.span) if action.method else literal("GET")),
        ("uri", w.expr(action.uri, step.span)),
        ("headers", w.expr(action.headers, step.span) if action.headers else cst.Dict([])),
        ("body", w.expr(action.body, step.span) if action.body else cst.Name("None")),
    ]
    return w.bind(step, w.call_task(step, function, arguments))


@_action(Download)
def _download(w: _ModuleWriter, step: TaskStep, action: Download) -> list:
    download = w.helper("_download")
    body = [_line(cst.Return(value=_call(download, _name("uri"), headers=_name("headers"))))]
    function = w.task_def(step, ["uri", "headers"], body)
    arguments = [
        ("uri", w.expr(action.uri, step.span)),
        ("headers", w.expr(action.headers, step.span) if action.headers else cst.Dict([])),
    ]
    w.approximated(step.span, f"download {step.id!r}", "the file is kept in a local temp file")
    return w.bind(step, w.call_task(step, function, arguments))


@_action(PluginCall)
def _plugin(w: _ModuleWriter, step: TaskStep, action: PluginCall) -> list:
    from transpile.kestra.writer import step_yaml

    try:
        original = step_yaml(step)
    except ValueError:  # an expression with no Pebble spelling (IR built by code, not read)
        original = f"id: {step.id}\ntype: {action.type}\n(properties not printable as YAML)"
    w.report(codes.P202.at(step.span, id=step.id, type=action.type))
    message = literal(f"Kestra task type {action.type} has no Prefect equivalent (task {step.id})")
    body = [cst.SimpleStatementLine([cst.Raise(exc=_call("NotImplementedError", message))])]
    leading = comment_lines("The original Kestra task, carried verbatim:") + comment_lines(original)
    function = w.task_def(step, [], body, leading)
    return w.bind(step, _call(function))


@_action(PythonFunction)
def _python_function(w: _ModuleWriter, step: TaskStep, action: PythonFunction) -> list:
    """A Prefect task read from Python goes back as it was: its function (the decorator
    rebuilt from the step's options), with the imports and helpers it was bundled with."""
    try:
        module = cst.parse_module(action.source)
    except cst.ParserSyntaxError:
        return w.unsupported(step)
    function = next(
        (
            s
            for s in module.body
            if isinstance(s, cst.FunctionDef) and s.name.value == action.function
        ),
        None,
    )
    if function is None or action.function in w.taken:
        return w.unsupported(step)
    w.tasks.extend(s for s in module.body if s is not function)
    w.taken.add(action.function)
    name = w.task_def(step, function.params, list(function.body.body), name=action.function)
    # The function's own return annotation and ``async`` (an async body awaits) stay.
    w.tasks[-1] = w.tasks[-1].with_changes(
        returns=function.returns, asynchronous=function.asynchronous
    )
    arguments = [(key, w.expr(value, step.span)) for key, value in action.arguments.items()]
    return w.bind(step, w.call_task(step, name, arguments))


@_step_kind(Sequence)
def _sequence(w: _ModuleWriter, step: Sequence) -> list:
    return w.steps(step.steps)


@_step_kind(WorkingDirectory)
def _working_directory(w: _ModuleWriter, step: WorkingDirectory) -> list:
    w.approximated(
        step.span,
        f"working directory {step.id!r}",
        "its tasks run in the flow's working directory; input and output files are " "not staged",
    )
    return w.steps(step.steps)


@_step_kind(AllowFailure)
def _allow_failure(w: _ModuleWriter, step: AllowFailure) -> list:
    return [w.tolerated(w.steps(step.steps), step.id)]


@_step_kind(Parallel)
def _parallel(w: _ModuleWriter, step: Parallel) -> list:
    if step.concurrency:
        w.approximated(
            step.span,
            f"concurrency limit of {step.id!r}",
            "Prefect's task runner decides how many submitted tasks run at once",
        )
    return w.concurrently(step.steps)


@_step_kind(Dag)
def _dag(w: _ModuleWriter, step: Dag) -> list:
    order: list[Step] = []
    placed: set[str] = set()
    pending = list(step.steps)
    while pending:
        ready = [s for s in pending if all(d in placed for d in s.depends_on)]
        if not ready:  # a cycle or unknown dependency (already a G diagnostic): keep order
            ready = pending[:1]
        for s in ready:
            order.append(s)
            placed.add(s.id)
            pending.remove(s)
    return w.concurrently(order)


@_step_kind(Branch)
def _branch(w: _ModuleWriter, step: Branch) -> list:
    test = w.condition(step.condition, step.span)
    then = w.steps(step.then)
    otherwise = w.steps(step.otherwise)
    orelse = cst.Else(body=_block(otherwise)) if otherwise else None
    return [cst.If(test=test, body=_block(then), orelse=orelse)]


@_step_kind(Switch)
def _switch(w: _ModuleWriter, step: Switch) -> list:
    value = w.take(f"{step.id}_value", "value")
    statements: list[cst.BaseStatement] = [
        _assign(value, _call("str", w.expr(step.value, step.span)))
    ]
    branches = [
        (
            cst.Comparison(
                left=_name(value),
                comparisons=[
                    cst.ComparisonTarget(operator=cst.Equal(), comparator=literal(str(case.value)))
                ],
            ),
            w.steps(case.steps),
        )
        for case in step.cases
    ]
    default = w.steps(step.default)
    orelse: cst.If | cst.Else | None = cst.Else(body=_block(default)) if default else None
    for test, body in reversed(branches):
        orelse = cst.If(test=test, body=_block(body), orelse=orelse)
    if isinstance(orelse, cst.If):
        statements.append(orelse)
    else:
        statements.extend(default)
    return statements


@_step_kind(Loop)
def _loop(w: _ModuleWriter, step: Loop) -> list:
    items = w.expr(step.items, step.span)
    if not (isinstance(step.items, ListValue) or w.static_type(step.items) == "ARRAY"):
        items = _call(w.helper("_as_list"), items)  # Kestra also takes a JSON array as text
    variable = w.take("item", "item")
    w.loop_vars.append(variable)
    try:
        body = w.steps(step.steps)
    finally:
        w.loop_vars.pop()
    loop = cst.For(target=_name(variable), iter=items, body=_block(body))
    if step.concurrency in (None, 1):  # Kestra's default: one iteration after the other
        return [loop]
    mapped = _as_map(loop, w)
    if mapped is not None:
        return [mapped]
    w.approximated(
        step.span,
        f"loop {step.id!r}",
        "its iterations run one after the other (Kestra runs "
        + (f"{step.concurrency}" if step.concurrency else "all")
        + " at once)",
    )
    return [loop]


def _as_map(loop: cst.For, w: _ModuleWriter) -> cst.BaseStatement | None:
    """``for item in items: task(x=item, y=1)`` as ``task.map(x=items, y=unmapped(1))``,
    whose iterations run at once, as a concurrent ForEach's do. None when the body is not one
    call of a task taking the item itself (not an expression of it) as an argument."""
    body = loop.body.body
    statement = body[0] if len(body) == 1 else None
    call = lone_call(statement)
    item = loop.target.value
    if call is None or not is_name(call.func) or call.func.value not in w.task_names:
        return None
    arguments = []
    for arg in call.args:
        if is_name(arg.value, item):
            arguments.append(arg.with_changes(value=loop.iter))
        elif arg.keyword is None or mentions_name(arg.value, item):
            return None
        else:
            arguments.append(arg.with_changes(value=_call("unmapped", arg.value)))
    if not any(a.value is loop.iter for a in arguments):
        return None
    if any(a.value is not loop.iter for a in arguments):
        w.imports.add(("prefect", "unmapped"))
    mapped = cst.Call(func=cst.Attribute(value=call.func, attr=_name("map")), args=arguments)
    # .result() waits for every run and raises if one failed, as the ForEach would fail.
    return _line(_call(cst.Attribute(value=mapped, attr=_name("result"))))


@_step_kind(LoopUntil)
def _loop_until(w: _ModuleWriter, step: LoopUntil) -> list:
    w.approximated(step.span, f"loop until {step.id!r}", "a while loop without Kestra's bounds")
    body = w.steps(step.steps)
    stop = cst.If(
        test=w.condition(step.condition, step.span),
        body=_block([_line(cst.Break())]),
    )
    return [cst.While(test=cst.Name("True"), body=_block([*body, stop]))]


@_step_kind(Pause)
def _pause(w: _ModuleWriter, step: Pause) -> list:
    """A timed pause waits (Kestra resumes it when the time is up); an open one is Prefect's
    pause, resumed from its UI."""
    if step.duration is not None:
        w.imports.add(("time", ""))
        wait = _call("time.sleep", _seconds(step.duration))
        reason = "it waits the whole duration; Kestra's can be resumed early"
    else:
        w.imports.add(("prefect.flow_runs", "pause_flow_run"))
        wait = _call("pause_flow_run")
        reason = "Prefect's pause times out after an hour unless given a timeout"
    w.approximated(step.span, f"pause {step.id!r}", reason)
    return [_line(wait), *w.steps(step.steps)]


@_step_kind(SubflowCall)
def _subflow(w: _ModuleWriter, step: SubflowCall) -> list:
    namespace = step.namespace.value if isinstance(step.namespace, Literal) else None
    flow_id = step.flow_id.value if isinstance(step.flow_id, Literal) else None
    if step.items is not None:
        w.report(codes.P204.at(step.span, what=f"ForEachItem {step.id!r}", reason="file batches"))
    found = w.sibling_function(namespace, flow_id) if isinstance(flow_id, str) else None
    if found is not None:
        function, target = found
        if step.wait is False:
            w.approximated(
                step.span,
                f"subflow {step.id!r}",
                "wait: false; the converted flow is called and waited for",
            )
        call = cst.Call(func=_name(function), args=w.flow_arguments(step, target))
        return w.bind(step, call, ("outputs",))
    w.imports.add(("prefect.deployments", "run_deployment"))
    w.approximated(
        step.span,
        f"subflow {step.id!r}",
        "the flow is not converted with this one: run_deployment() starts its "
        "deployment by name, and its outputs are not returned",
    )
    name = f"{flow_id}/{flow_id}" if isinstance(flow_id, str) else "unknown/unknown"
    inputs = w.expr(step.inputs, step.span) if step.inputs is not None else cst.Dict([])
    options: dict[str, cst.BaseExpression | None] = {"parameters": inputs}
    if step.wait is False:
        options["timeout"] = literal(0)  # run_deployment returns at once, as wait: false does
    return w.bind(step, _call("run_deployment", literal(name), **options))
