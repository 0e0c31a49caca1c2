"""Put a flow in the form Kestra YAML expresses, so that writing it and reading it back gives
the same IR:

- an expression in a value slot is written as a one-interpolation template (``{{ e }}``), so
  it is held as a :class:`~ir.expressions.Template` from the start;
- inside a loop, a step reads a sibling's output of the current iteration, which Kestra spells
  ``outputs.t[taskrun.value]``: such references get the loop index explicitly;
- a cache keyed on the task's inputs is what Kestra's ``taskCache`` does anyway;
- schedules without a cron are left out (reported); an upstream flow without a namespace is
  taken to be in the flow's own namespace;
- retries Kestra cannot express exactly (a list of delays, jitter) take the closest policy,
  and Python expressions Pebble cannot evaluate are carried as text — both with a diagnostic;
- a flow output has an id Kestra accepts (a Python dict key may be any text: it is renamed,
  with a diagnostic) and a type, which Kestra requires (a literal's own, else STRING).
"""

from __future__ import annotations

from typing import Any

from grammars.kestra.ids import is_valid, make_id
from ir import codes
from ir.base import Node
from ir.diagnostics import Diagnostic
from ir.expressions import (
    EXPR_TYPES,
    Attr,
    Expr,
    Index,
    Interpolation,
    ListValue,
    Literal,
    LoopItem,
    MapEntry,
    MapValue,
    Raw,
    TaskOutput,
    Template,
    Timestamp,
)
from ir.flow import Flow, FlowOutput
from ir.policies import RetryKind, RetryPolicy
from ir.steps import STEP_TYPES, Case, Log, Loop, Step, TaskStep, child_blocks
from ir.triggers import FlowRun, Schedule
from transpile.prefect.names import EXTRAS_KEY

from .python_tasks import map_expressions, rewrite_nodes

_PLAIN = (Literal, Timestamp, Template, Raw)


def kestra_form(flow: Flow, scoped: frozenset[str] = frozenset()) -> tuple[Flow, list[Diagnostic]]:
    """The rewrites above; idempotent. Loop-scoped indexing applies only to reads of the steps
    in ``scoped`` (those converted from Prefect): a Kestra flow's own expressions already say
    what they mean and are never reinterpreted."""
    diagnostics: list[Diagnostic] = []
    flow = _without_python_options(flow)
    loops = {k: v for k, v in _enclosing_loops(flow).items() if k in scoped}
    rewritten: dict[str, Any] = {}
    for name in ("steps", "on_failure", "finally_steps"):
        rewritten[name] = tuple(_step(step, (), loops, diagnostics) for step in getattr(flow, name))
    flow = flow.replace(**rewritten)
    changes = {
        name: _carry_python(_templated(value), flow, diagnostics)
        for name, value in flow.__dict__.items()
        if name not in ("steps", "on_failure", "finally_steps", "retry")
        and _holds_expressions(value)
    }
    if flow.retry is not None:
        changes["retry"] = _retry(flow.retry, flow.span, flow.id, diagnostics)
    kept = tuple(
        _upstream_namespace(t, flow.namespace)
        for t in changes.get("triggers", flow.triggers)
        if _expressible(t, diagnostics)
    )
    if kept != changes.get("triggers", flow.triggers):
        changes["triggers"] = kept
    outputs = changes.get("outputs", flow.outputs)
    if outputs and (typed := _outputs(outputs, diagnostics)) != outputs:
        changes["outputs"] = typed
    if not flow.steps and "steps" not in flow.explicit:
        # Kestra rejects a flow without tasks (a Prefect flow may only compute its return);
        # a Kestra flow read with an empty task list keeps it and its error.
        changes["steps"] = (
            TaskStep(id="flowbridge_start", action=Log(message=Literal(value=f"{flow.id} runs"))),
        )
        diagnostics.append(
            codes.T101.at(
                flow.span,
                what=f"flow {flow.id!r}",
                reason="Kestra needs a task; a Log task was added",
            )
        )
    return flow.replace(**changes), diagnostics


# Kestra's Output model requires a type: a literal's own (anything else: STRING, which holds
# any rendered value). BOOLEAN rather than the catalogue's canonical input spelling BOOL:
# outputs of every Kestra version take it, and BOOL is the newer spelling.
_LITERAL_TYPES = ((bool, "BOOLEAN"), (int, "INT"), (float, "FLOAT"), (str, "STRING"))


def _outputs(outputs: tuple[FlowOutput, ...], diagnostics) -> tuple[FlowOutput, ...]:
    """Flow outputs with ids Kestra accepts (invalid ones renamed, uniquely, and reported)
    and a type on each."""
    taken = {o.id for o in outputs if is_valid("output", o.id)}
    fixed = []
    for output in outputs:
        changes: dict[str, Any] = {}
        if not is_valid("output", output.id):
            new = make_id(output.id, "output", "output", taken)
            taken.add(new)
            changes["id"] = new
            diagnostics.append(
                codes.T101.at(
                    output.span,
                    what=f"flow output {output.id!r}",
                    reason=f"Kestra output ids are letters, digits, '.', '_' and '-'; "
                    f"written as {new!r}",
                )
            )
        if output.type is None:
            changes["type"] = _output_type(output.value)
        fixed.append(output.replace(**changes) if changes else output)
    return tuple(fixed)


def _output_type(value: Any) -> str:
    if isinstance(value, Literal) and value.value is not None:
        return next(name for kind, name in _LITERAL_TYPES if isinstance(value.value, kind))
    if isinstance(value, (ListValue, MapValue)):
        return "JSON"
    return "STRING"


def _without_python_options(flow: Flow) -> Flow:
    """The flow without the Prefect options the Prefect reader keeps in ``extras["prefect"]``
    (so that a Python → Python conversion keeps them): Kestra rejects properties it does not
    know, and the reader already reported each option as having no Kestra counterpart."""

    def visit(node):
        extras = getattr(node, "extras", None)
        if isinstance(extras, dict) and EXTRAS_KEY in extras:
            return node.replace(extras={k: v for k, v in extras.items() if k != EXTRAS_KEY})
        return node

    return rewrite_nodes(flow, visit)


def _upstream_namespace(trigger, namespace: str | None):
    """An upstream flow named without a namespace (Prefect has none) is one of this flow's
    namespace: the repo was converted into one namespace."""
    if not isinstance(trigger, FlowRun) or namespace is None:
        return trigger
    upstream = tuple(
        u.replace(namespace=namespace) if u.namespace is None else u for u in trigger.upstream
    )
    return trigger.replace(upstream=upstream) if upstream != trigger.upstream else trigger


def _expressible(trigger, diagnostics) -> bool:
    """Kestra schedules are cron schedules: an interval or an RRULE one has no counterpart."""
    if isinstance(trigger, Schedule) and trigger.cron is None:
        diagnostics.append(
            codes.K201.at(
                trigger.span,
                what=f"schedule {trigger.id!r}",
                reason="Kestra schedules need a cron expression; the trigger is left out",
            )
        )
        return False
    return True


def _enclosing_loops(flow: Flow) -> dict[str, tuple[str, ...]]:
    """Step id → the ids of the loops around it, outermost first."""
    found: dict[str, tuple[str, ...]] = {}

    def visit(steps, chain):
        for step in steps:
            found.setdefault(step.id, chain)
            inner = (*chain, step.id) if isinstance(step, Loop) else chain
            for _block, children in child_blocks(step):
                visit(children, inner)

    for block in (flow.steps, flow.on_failure, flow.finally_steps):
        visit(block, ())
    return found


def _is_steps(value: Any) -> bool:
    return isinstance(value, tuple) and bool(value) and isinstance(value[0], STEP_TYPES)


def _step(step: Step, chain: tuple[str, ...], loops, diagnostics) -> Step:
    inner = (*chain, step.id) if isinstance(step, Loop) else chain
    changes: dict[str, Any] = {}
    for name, value in step.__dict__.items():
        if _is_steps(value):
            changes[name] = tuple(_step(s, inner, loops, diagnostics) for s in value)
        elif name == "cases" and value and isinstance(value[0], Case):
            changes[name] = tuple(
                c.replace(steps=tuple(_step(s, inner, loops, diagnostics) for s in c.steps))
                for c in value
            )
        elif name == "retry" and value is not None:
            changes[name] = _retry(value, step.span, step.id, diagnostics)
        elif name == "cache" and value is not None and value.key == "inputs":
            changes[name] = value.replace(key=None)
        elif name == "cache" and value is not None and value.key is not None:
            diagnostics.append(
                codes.T101.at(
                    step.span,
                    what=f"cache key of {step.id!r}",
                    reason=f"Kestra caches on the task's inputs, not on {value.key}",
                )
            )
        elif _holds_expressions(value):
            # A step's own fields (a loop's items included) are read in the enclosing scope.
            changes[name] = _carry_python(
                _templated(_loop_scoped(value, chain, loops)), step, diagnostics
            )
    return step.replace(**changes)


def _retry(policy: RetryPolicy, span, owner: str, diagnostics) -> RetryPolicy:
    """The closest retry Kestra expresses (MAPPING.md): a geometric list of delays becomes
    exponential, any other list constant at its longest delay; jitter is dropped."""
    changes: dict[str, Any] = {}
    if policy.kind is RetryKind.EXPLICIT:
        delays = [d.total_seconds() for d in policy.delays] or [0.0]
        ratios = {round(b / a, 6) for a, b in zip(delays, delays[1:], strict=False) if a > 0}
        if len(delays) > 1 and len(ratios) == 1 and next(iter(ratios)) > 1 and delays[0] > 0:
            changes = dict(
                kind=RetryKind.EXPONENTIAL,
                interval=policy.delays[0],
                factor=next(iter(ratios)),
                max_interval=policy.delays[-1],
                delays=(),
            )
        else:
            changes = dict(kind=RetryKind.CONSTANT, interval=max(policy.delays), delays=())
            diagnostics.append(
                codes.T101.at(
                    span,
                    what=f"retry delays of {owner!r}",
                    reason=f"Kestra retries at a constant {max(delays):g}s instead of {delays}",
                )
            )
    if policy.jitter is not None:
        changes["jitter"] = None
        diagnostics.append(
            codes.T101.at(
                span, what=f"retry jitter of {owner!r}", reason="Kestra retries have no jitter"
            )
        )
    return policy.replace(**changes) if changes else policy


def _carry_python(value: Any, step, diagnostics) -> Any:
    """Python source Pebble cannot evaluate, kept as plain text (reported)."""

    def fn(expr: Expr) -> Expr:
        # Bottom-up: a Python part of a template has already become a literal here.
        if isinstance(expr, Template) and any(isinstance(p, Literal) for p in expr.parts):
            return _merged(tuple(p.value if isinstance(p, Literal) else p for p in expr.parts))
        if _is_python(expr):
            diagnostics.append(
                codes.T101.at(
                    getattr(step, "span", None),
                    what=f"Python expression {expr.text!r}",
                    reason="Kestra cannot evaluate it; carried as text",
                )
            )
            return Literal(value=expr.text)
        return expr

    return map_expressions(value, fn)


def _is_python(expr: Any) -> bool:
    return isinstance(expr, Raw) and expr.dialect == "python"


def _merged(parts: tuple) -> Expr:
    """A template with adjacent text joined (as the Pebble reader produces it)."""
    merged: list = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if all(isinstance(p, str) for p in merged):
        return Literal(value="".join(merged))
    return Template(parts=tuple(merged))


def _holds_expressions(value: Any) -> bool:
    if isinstance(value, Node) and not isinstance(value, STEP_TYPES):
        return True
    if isinstance(value, dict):
        return any(isinstance(v, Node) for v in value.values())
    return isinstance(value, tuple) and any(
        isinstance(v, Node) and not isinstance(v, STEP_TYPES) for v in value
    )


def _loop_scoped(value: Any, chain: tuple[str, ...], loops) -> Any:
    """Index reads of loop-body outputs by the current iteration(s)."""
    if not chain:
        return value

    def fn(expr: Expr) -> Expr:
        own = loops.get(expr.task, ()) if isinstance(expr, TaskOutput) else ()
        if not own or chain[: len(own)] != own:
            return expr
        indexed: Expr = TaskOutput(task=expr.task)
        for i in range(len(own)):
            indexed = Index(obj=indexed, index=LoopItem(depth=len(chain) - 1 - i))
        for part in expr.path:
            indexed = Attr(obj=indexed, name=part)
        return indexed

    # An output already indexed by an iteration is read as a whole, never indexed again.
    return map_expressions(value, fn, keep=_indexed_output)


def _indexed_output(node: Node) -> bool:
    return isinstance(node, Index) and isinstance(node.obj, TaskOutput)


def _templated(value: Any) -> Any:
    """Expressions in value slots as Kestra writes them: one-interpolation templates."""
    if isinstance(value, EXPR_TYPES):
        return _canonical(value)
    if isinstance(value, Node):
        return _canonical_fields(value)
    if isinstance(value, dict):
        return {k: _templated(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_templated(v) for v in value)
    return value


def _canonical_fields(node: Node) -> Node:
    """Canonicalise the outermost expressions held by a non-expression node."""
    changes = {}
    for name, item in node.__dict__.items():
        if isinstance(item, (Node, dict, tuple)) and not _is_steps(item):
            new = _templated(item)
            if new is not item:
                changes[name] = new
    return node.replace(**changes) if changes else node


def _canonical(expr: Expr) -> Expr:
    if isinstance(expr, Template):
        return _merged(expr.parts)
    if isinstance(expr, _PLAIN):
        return expr
    if isinstance(expr, ListValue):
        return expr.replace(items=tuple(_canonical(i) for i in expr.items))
    if isinstance(expr, MapValue):
        return expr.replace(
            entries=tuple(MapEntry(key=e.key, value=_canonical(e.value)) for e in expr.entries)
        )
    return Template(parts=(Interpolation(expr=expr),))


__all__ = ["kestra_form", "map_expressions"]
