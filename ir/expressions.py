"""Side-neutral expressions.

Kestra's Pebble (``{{ outputs.t.value | upper }}``) and Python expressions both lower to these
nodes. Values of modelled properties are expressions too: a YAML mapping becomes a
:class:`MapValue`, a plain string a :class:`Literal`, a string with ``{{ }}`` a :class:`Template`.
What cannot be understood is kept as :class:`Raw` and printed back unchanged by its own side.
"""

from __future__ import annotations

import datetime as _dt
import typing
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar
from typing import Literal as _L

from .base import Node, Tagged, field

Scalar = bool | int | float | str | None


class Literal(Node):
    """A constant: string, number, boolean or null."""

    kind: _L["literal"] = "literal"
    value: Scalar


class Timestamp(Node):
    """A date or date-time constant (YAML timestamps, Python ``datetime``)."""

    kind: _L["timestamp"] = "timestamp"
    value: _dt.datetime | _dt.date


class ListValue(Node):
    """A list whose items are expressions (YAML sequence, Pebble ``[a, b]``)."""

    kind: _L["list"] = "list"
    items: tuple[Expr, ...] = ()


class MapEntry(Node):
    """One key/value pair of a :class:`MapValue`."""

    kind: _L["entry"] = "entry"
    key: Scalar
    value: Expr


class MapValue(Node):
    """A mapping whose values are expressions, in source order."""

    kind: _L["map"] = "map"
    entries: tuple[MapEntry, ...] = ()

    def get(self, key: Scalar) -> Expr | None:
        """The value under ``key``, if any."""
        return next((e.value for e in self.entries if e.key == key), None)


class Param(Node):
    """A flow parameter (Kestra ``inputs.x``)."""

    kind: _L["param"] = "param"
    name: str


class Var(Node):
    """A flow variable (Kestra ``vars.x``, a Prefect module constant)."""

    kind: _L["var"] = "var"
    name: str


class TaskOutput(Node):
    """The output of another step, optionally a static path into it
    (Kestra ``outputs.t.value``, a Prefect task's result)."""

    kind: _L["task_output"] = "task_output"
    task: str
    path: tuple[str, ...] = ()


class LoopItem(Node):
    """The current item of an enclosing loop (Kestra ``taskrun.value``; ``depth`` counts
    enclosing loops outward, as ``parent.taskrun.value`` does). ``field`` is ``value`` or
    ``iteration``."""

    kind: _L["loop_item"] = "loop_item"
    field: str = "value"
    depth: int = 0


class Secret(Node):
    """A named secret (Kestra ``secret('X')``, Prefect ``Secret.load('x').get()``)."""

    kind: _L["secret"] = "secret"
    name: str


class KV(Node):
    """A key-value store entry (Kestra ``kv('k')``, Prefect ``Variable.get('k')``)."""

    kind: _L["kv"] = "kv"
    key: str
    namespace: str | None = None


class Env(Node):
    """An environment variable (Kestra ``envs.x``)."""

    kind: _L["env"] = "env"
    name: str


class Now(Node):
    """The current date-time."""

    kind: _L["now"] = "now"


class ExecutionInfo(Node):
    """Run context: ``root`` is execution, flow, trigger, taskrun, task, labels, …;
    ``path`` the attributes read from it (``execution.id`` → root execution, path (id,))."""

    kind: _L["execution_info"] = "execution_info"
    root: str
    path: tuple[str, ...] = ()


class Name(Node):
    """A bare name the IR has no meaning for (a template loop variable, a macro)."""

    kind: _L["name"] = "name"
    name: str


class Attr(Node):
    """Attribute access ``obj.name`` on a computed value."""

    kind: _L["attr"] = "attr"
    obj: Expr
    name: str


class Index(Node):
    """Subscript ``obj[index]``."""

    kind: _L["index"] = "index"
    obj: Expr
    index: Expr


class Keyword(Node):
    """A named argument of a call or filter."""

    kind: _L["keyword"] = "keyword"
    name: str
    value: Expr


class Call(Node):
    """A function call ``name(args…)``."""

    kind: _L["call"] = "call"
    name: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[Keyword, ...] = ()


class Filter(Node):
    """A filter applied to a value: ``value | name(args…)``."""

    kind: _L["filter"] = "filter"
    value: Expr
    name: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[Keyword, ...] = ()


class BinOp(Node):
    """Arithmetic, logical, concatenation or null-coalescing operator.
    ``op`` is one of ``+ - * / // % ~ and or ??``."""

    kind: _L["binop"] = "binop"
    op: str
    left: Expr
    right: Expr


class Compare(Node):
    """A comparison; ``op`` is one of ``== != < <= > >= in not in``."""

    kind: _L["compare"] = "compare"
    op: str
    left: Expr
    right: Expr


class Not(Node):
    """Logical negation."""

    kind: _L["not"] = "not"
    operand: Expr


class Negate(Node):
    """Arithmetic negation."""

    kind: _L["negate"] = "negate"
    operand: Expr


class Test(Node):
    """A Pebble test: ``value is [not] name(args…)`` (defined, null, empty, even, …)."""

    kind: _L["test"] = "test"
    value: Expr
    name: str
    negated: bool = False
    args: tuple[Expr, ...] = ()


class Conditional(Node):
    """Ternary ``cond ? then : otherwise``."""

    kind: _L["conditional"] = "conditional"
    condition: Expr
    then: Expr
    otherwise: Expr


class Raw(Node):
    """Text the reader could not understand, kept verbatim (braces included when it came from a
    template); ``dialect`` names the side whose syntax it is."""

    kind: _L["raw"] = "raw"
    text: str
    dialect: str = "pebble"


class Interpolation(Node):
    """One ``{{ expr }}`` inside a template. ``source`` keeps the exact text read (braces and
    spacing), so an unchanged template is written back byte for byte; it is provenance, not
    structure."""

    kind: _L["interpolation"] = "interpolation"
    _provenance: ClassVar[frozenset[str]] = frozenset({"span", "explicit", "spelled", "source"})
    expr: Expr
    source: str | None = field(default=None, exclude=True, repr=False)

    def replace(self, **changes: Any) -> Interpolation:
        """A copy with changes; a changed expression no longer matches the text read."""
        if "expr" in changes and "source" not in changes:
            changes["source"] = None
        return super().replace(**changes)


TemplatePart = str | Interpolation | Raw


class Template(Node):
    """A string with interpolations: literal text, ``{{ }}`` interpolations and raw blocks
    (``{% … %}``, unparseable ``{{ … }}``)."""

    kind: _L["template"] = "template"
    parts: tuple[TemplatePart, ...] = ()


Expr = Annotated[
    Literal
    | Timestamp
    | ListValue
    | MapValue
    | Param
    | Var
    | TaskOutput
    | LoopItem
    | Secret
    | KV
    | Env
    | Now
    | ExecutionInfo
    | Name
    | Attr
    | Index
    | Call
    | Filter
    | BinOp
    | Compare
    | Not
    | Negate
    | Test
    | Conditional
    | Raw
    | Template,
    Tagged("kind"),
]

EXPR_TYPES: tuple[type[Node], ...] = typing.get_args(typing.get_args(Expr)[0])


def children(expr: Node) -> Iterator[Node]:
    """The direct sub-expressions of ``expr``."""
    for value in expr.__dict__.values():
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item


def walk(expr: Node) -> Iterator[Node]:
    """``expr`` and every expression below it, depth first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(children(node))))


def task_references(expr: Node) -> set[str]:
    """Ids of the steps whose outputs ``expr`` reads."""
    return {node.task for node in walk(expr) if isinstance(node, TaskOutput)}


def is_constant(expr: Node) -> bool:
    """True when ``expr`` is plain data (no interpolation, no reference)."""
    return all(
        isinstance(n, (Literal, Timestamp, ListValue, MapValue, MapEntry)) for n in walk(expr)
    )


def from_data(data: Any, text: Any = None) -> Expr:
    """Lift plain data (as loaded from YAML/JSON) into an expression. ``text`` turns a string
    into an expression (a template parser); without it strings stay literals."""
    if isinstance(data, dict):
        return MapValue(
            entries=tuple(MapEntry(key=k, value=from_data(v, text)) for k, v in data.items())
        )
    if isinstance(data, (list, tuple)):
        return ListValue(items=tuple(from_data(v, text) for v in data))
    if isinstance(data, str):
        return text(data) if text is not None else Literal(value=str(data))
    if isinstance(data, (_dt.datetime, _dt.date)):
        return Timestamp(value=data)
    if data is None or isinstance(data, (bool, int, float)):
        return Literal(value=data)
    return Literal(value=str(data))


def to_data(expr: Node, text: Any = None) -> Any:
    """Lower an expression back to plain data; ``text`` prints a non-constant expression
    (a template printer). Without it a non-constant expression raises ``ValueError``."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Timestamp):
        return expr.value
    if isinstance(expr, ListValue):
        return [to_data(item, text) for item in expr.items]
    if isinstance(expr, MapValue):
        return {e.key: to_data(e.value, text) for e in expr.entries}
    if text is None:
        raise ValueError(f"{type(expr).__name__} is not plain data")
    return text(expr)
