"""IR expressions → Python expressions, for the Prefect writer.

Every node is built with libcst constructors; user text only ever becomes the *value* of a string
literal (escaped here), never source. :func:`to_python` returns the expression with the imports
it needs, its diagnostics and whether the translation is exact.

Mapping (Kestra semantics on the left, Python 3.10 on the right):

* data: ``Literal``/``Timestamp``/``ListValue``/``MapValue`` and plain Python data → literals
  (:func:`literal`); dates become ``datetime.datetime(...)`` calls.
* references: ``inputs.x`` → the flow parameter's name, ``vars.x`` → the module constant,
  ``outputs.t.p`` → whatever ``PyContext.output`` reads, ``taskrun.value`` (``parent.…``) → the
  enclosing loop variable, ``secret('X')`` → ``Secret.load("x").get()``, ``kv('k')`` →
  ``Variable.get("k")``, ``envs.x`` → ``os.environ.get("ENV_X")``, ``now()`` →
  ``datetime.datetime.now(datetime.timezone.utc)``, ``execution.id``/``startDate`` and
  ``trigger.date`` → ``prefect.runtime.flow_run``, ``flow.id``/``namespace`` → constants.
* operators: ``x.k``/``x['k']`` → ``x["k"]`` (Kestra values are maps); arithmetic, ``and``,
  ``or``, ``not``, comparisons and ``? :`` map one to one; ``a ~ b`` → ``str(a) + str(b)``;
  ``a ?? b`` → ``a if a is not None else b``; ``range(a, b)``/``a..b`` →
  ``list(range(a, b + 1))`` (Pebble's range includes its end).
* filters and tests: one small translator each, in :data:`_FILTERS` and :data:`_TESTS`.
  ``default`` and ``is empty`` follow Pebble's EmptyTest: null, a blank string, an empty list or
  map are empty; ``0`` and ``false`` are not. ``date`` converts the Java pattern to strftime.
  ``jq`` translates plain paths (``.a.b``, ``.[0]``, ``.a[0].b``) to subscripts of the parsed
  JSON, in a one-element list as Kestra returns; ``jq(p) | first`` is the bare subscript.
* templates: text with interpolations → an f-string. Python 3.10 allows neither backslashes,
  ``#`` nor the enclosing quote inside an f-string's ``{}``: inner strings are requoted with the
  other quote when they need no escape, else the template becomes a concatenation
  ``"text" + str(expr) + …``. Comments render to nothing and ``{% raw %}`` blocks to their
  content, as in Pebble.

What has no Python equivalent is *carried*: the value becomes a string literal holding the
original Pebble text (braces included) and a P201 diagnostic names it. The unit carried is the
smallest whole value: one interpolation of a template, one item of a list or map, else the whole
expression.

Values are stringified the Python way (``True``, ``None``) where Pebble writes ``true`` and an
empty string; that difference is not reported.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic
from ir.expressions import (
    KV,
    Attr,
    BinOp,
    Call,
    Compare,
    Conditional,
    Env,
    ExecutionInfo,
    Filter,
    Index,
    Interpolation,
    ListValue,
    Literal,
    LoopItem,
    MapValue,
    Name,
    Negate,
    Not,
    Now,
    Param,
    Raw,
    Secret,
    TaskOutput,
    Template,
    Test,
    Timestamp,
    Var,
)

from ..kestra.pebble import print_text

__all__ = [
    "PyContext",
    "Translation",
    "comment_lines",
    "docstring",
    "literal",
    "literal_with_imports",
    "pebble_text",
    "secret_block_name",
    "to_python",
    "variable_name",
]

Import = tuple[str, str]


@dataclass(frozen=True)
class PyContext:
    """What an expression can refer to where it is written.

    ``params`` maps Kestra input ids to Python parameter names, ``constants`` Kestra variable
    names to module constants; ``output(task, path)`` returns an expression reading a step's
    output (``None`` when the step is unknown); ``loop_vars`` are the Python names of the
    enclosing loop variables, innermost last."""

    params: Mapping[str, str]
    constants: Mapping[str, str]
    output: Callable[[str, tuple[str, ...]], cst.BaseExpression | None]
    loop_vars: Sequence[str] = ()
    flow_id: str = ""
    namespace: str = ""
    task_id: str | None = None  # the Kestra step the expression belongs to


@dataclass
class Translation:
    """A translated expression: the node, the imports it needs (``("json", "")`` is
    ``import json``, ``("prefect.variables", "Variable")`` is ``from prefect.variables import
    Variable``), its diagnostics, and ``exact`` (False when any part was approximated or
    carried as text)."""

    expr: cst.BaseExpression
    imports: set[Import] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    exact: bool = True


class _Carried(Exception):
    """A part of an expression has no Python equivalent; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- names ---------------------------------------------------------------------------------


def secret_block_name(name: str) -> str:
    """The Prefect Secret block a Kestra secret becomes: lower case, runs of other characters
    turned into one ``-`` (block names allow only ``[a-z0-9-]``); ``SLACK_URL`` → ``slack-url``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "secret"


def variable_name(key: str) -> str:
    """The Prefect variable a Kestra KV key becomes: lower case, each run of characters other
    than letters, digits, ``_`` and ``-`` turned into ``_``. This is the rule of the
    ``_variable_name`` runtime helper that KV set/get steps use, so that a key written by a step
    and read by an expression name the same variable."""
    return re.sub(r"[^a-z0-9_-]+", "_", key.lower())


# --- small node builders -------------------------------------------------------------------

_ATOM = 100
_BINARY_PRECEDENCE: dict[type, int] = {
    cst.BitOr: 6,
    cst.BitXor: 7,
    cst.BitAnd: 8,
    cst.LeftShift: 9,
    cst.RightShift: 9,
    cst.Add: 10,
    cst.Subtract: 10,
    cst.Multiply: 11,
    cst.Divide: 11,
    cst.FloorDivide: 11,
    cst.Modulo: 11,
    cst.MatrixMultiply: 11,
    cst.Power: 13,
}
_NO_SPACE = cst.SimpleWhitespace("")


def _precedence(node: cst.BaseExpression) -> int:
    """Python's binding strength of ``node`` (higher binds tighter)."""
    if getattr(node, "lpar", None):
        return _ATOM
    if isinstance(node, cst.IfExp):
        return 1
    if isinstance(node, cst.BooleanOperation):
        return 2 if isinstance(node.operator, cst.Or) else 3
    if isinstance(node, cst.UnaryOperation):
        return 4 if isinstance(node.operator, cst.Not) else 12
    if isinstance(node, cst.Comparison):
        return 5
    if isinstance(node, cst.BinaryOperation):
        return _BINARY_PRECEDENCE.get(type(node.operator), 0)
    if isinstance(node, (cst.Lambda, cst.NamedExpr)):
        return 0
    return _ATOM


def _paren(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _wrap(node: cst.BaseExpression, minimum: int) -> cst.BaseExpression:
    """``node`` in parentheses when it binds looser than ``minimum``."""
    return _paren(node) if _precedence(node) < minimum else node


def _atom(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` usable before ``.attr``, ``[key]`` or ``(args)`` (``1 .x`` needs brackets)."""
    if isinstance(node, (cst.Integer, cst.Float)) and not node.lpar:
        return _paren(node)
    return _wrap(node, _ATOM)


def _dotted(name: str) -> cst.BaseExpression:
    head, *rest = name.split(".")
    node: cst.BaseExpression = cst.Name(head)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _call(
    func: str | cst.BaseExpression, *args: cst.BaseExpression, **kwargs: cst.BaseExpression
) -> cst.Call:
    target = _dotted(func) if isinstance(func, str) else _atom(func)
    arguments = [cst.Arg(value=a) for a in args]
    equal = cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE)
    arguments += [cst.Arg(value=v, keyword=cst.Name(k), equal=equal) for k, v in kwargs.items()]
    return cst.Call(func=target, args=arguments)


def _method(obj: cst.BaseExpression, name: str, *args: cst.BaseExpression) -> cst.Call:
    return _call(cst.Attribute(value=_atom(obj), attr=cst.Name(name)), *args)


def _subscript(obj: cst.BaseExpression, key: cst.BaseExpression) -> cst.Subscript:
    return cst.Subscript(value=_atom(obj), slice=[cst.SubscriptElement(slice=cst.Index(key))])


def _slice(obj: cst.BaseExpression, lower: int | None, upper: int | None) -> cst.Subscript:
    bounds = {
        "lower": None if lower is None else _int(lower),
        "upper": None if upper is None else _int(upper),
    }
    return cst.Subscript(value=_atom(obj), slice=[cst.SubscriptElement(slice=cst.Slice(**bounds))])


def _binop(left: cst.BaseExpression, op: cst.BaseBinaryOp, right: cst.BaseExpression) -> Any:
    prec = _BINARY_PRECEDENCE[type(op)]
    return cst.BinaryOperation(left=_wrap(left, prec), operator=op, right=_wrap(right, prec + 1))


def _boolean(left: cst.BaseExpression, op: cst.BaseBooleanOp, right: cst.BaseExpression) -> Any:
    prec = 2 if isinstance(op, cst.Or) else 3
    return cst.BooleanOperation(left=_wrap(left, prec), operator=op, right=_wrap(right, prec + 1))


def _compare(left: cst.BaseExpression, op: cst.BaseCompOp, right: cst.BaseExpression) -> Any:
    # Python chains comparisons (a < b < c); Pebble nests them, hence brackets on both sides.
    return cst.Comparison(
        left=_wrap(left, 6), comparisons=[cst.ComparisonTarget(op, _wrap(right, 6))]
    )


def _not(node: cst.BaseExpression) -> cst.UnaryOperation:
    return cst.UnaryOperation(operator=cst.Not(), expression=_wrap(node, 4))


def _ifexp(
    body: cst.BaseExpression, test: cst.BaseExpression, orelse: cst.BaseExpression
) -> cst.IfExp:
    return cst.IfExp(test=_wrap(test, 2), body=_wrap(body, 2), orelse=_wrap(orelse, 1))


def _none() -> cst.Name:
    return cst.Name("None")


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


# --- literals ------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(text: str, quote: str, braces: bool = False) -> str:
    """``text`` as the body of a one-line string literal quoted with ``quote``: backslashes,
    the quote and every non-printable character (controls, line separators, lone surrogates)
    escaped; braces doubled for an f-string."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif braces and ch in "{}":
            out.append(ch * 2)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(_char_escape(ord(ch)))
    return "".join(out)


def docstring_keeps(text: str) -> bool:
    """Whether ``text`` reads back unchanged from a docstring: black strips trailing spaces
    from its lines, and docstrings are read cleaned (first line stripped, blank edge lines and
    the common indentation of the others removed, tabs expanded)."""
    import inspect

    return (
        bool(text)
        and inspect.cleandoc(text) == text
        and all(line == line.rstrip(" ") for line in text.split("\n"))
    )


def docstring(text: str) -> cst.SimpleString:
    """``text`` as a triple-quoted docstring: lines stay lines; backslashes, double quotes and
    every other non-printable character are escaped, so nothing can close it early."""
    lines = [_escape(line, '"') for line in text.split("\n")]
    body = "\n".join(lines)
    if body.endswith('\\"'):  # black pads a docstring ending in a quote with a space
        body = body[:-2] + "\\x22"
    return cst.SimpleString('"""' + body + '"""')


def _char_escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _string(text: str, quote: str | None = None) -> cst.SimpleString:
    """A string literal; double quotes unless the text holds ``"`` and no ``'`` (as black)."""
    if quote is None:
        quote = "'" if '"' in text and "'" not in text else '"'
    return cst.SimpleString(quote + _escape(text, quote) + quote)


def _negative(node: cst.BaseExpression) -> cst.UnaryOperation:
    return cst.UnaryOperation(operator=cst.Minus(), expression=node)


def _int(value: int) -> cst.BaseExpression:
    try:
        digits = str(abs(value))
    except ValueError:  # beyond the int/str conversion limit; hex literals have none
        digits = hex(abs(value))
    node = cst.Integer(digits)
    return _negative(node) if value < 0 else node


def _float(value: float) -> cst.BaseExpression:
    if math.isnan(value):
        return _call("float", _string("nan"))
    if math.isinf(value):
        return _call("float", _string("inf" if value > 0 else "-inf"))
    node = cst.Float(repr(abs(value)))
    return _negative(node) if math.copysign(1.0, value) < 0 else node


def _lit_none(value: Any, imports: set[Import]) -> cst.BaseExpression:
    return _none()


def _lit_bool(value: bool, imports: set[Import]) -> cst.BaseExpression:
    return cst.Name("True" if value else "False")


def _lit_int(value: int, imports: set[Import]) -> cst.BaseExpression:
    return _int(int(value))


def _lit_float(value: float, imports: set[Import]) -> cst.BaseExpression:
    return _float(float(value))


def _lit_str(value: str, imports: set[Import]) -> cst.BaseExpression:
    return _string(str.__str__(value))


def _lit_list(value: Sequence[Any], imports: set[Import]) -> cst.BaseExpression:
    return cst.List([cst.Element(_literal(item, imports)) for item in value])


def _lit_key(value: Any, imports: set[Import]) -> cst.BaseExpression:
    # A tuple key must stay hashable, so it is the one place a tuple is written as a tuple.
    if isinstance(value, tuple):
        return cst.Tuple([cst.Element(_lit_key(item, imports)) for item in value])
    return _literal(value, imports)


def _lit_dict(value: Mapping[Any, Any], imports: set[Import]) -> cst.BaseExpression:
    return cst.Dict(
        [cst.DictElement(_lit_key(k, imports), _literal(v, imports)) for k, v in value.items()]
    )


def _fields(values: list[int], keep: int) -> list[cst.BaseExpression]:
    """Positional integer arguments, trailing zeros dropped down to ``keep`` of them."""
    while len(values) > keep and values[-1] == 0:
        values.pop()
    return [_int(v) for v in values]


def _lit_timedelta(value: _dt.timedelta, imports: set[Import]) -> cst.BaseExpression:
    imports.add(("datetime", ""))
    if value < _dt.timedelta(0):  # -timedelta(hours=5) reads better than days=-1, seconds=…
        return _negative(_lit_timedelta(-value, imports))
    parts = {"days": value.days, "seconds": value.seconds, "microseconds": value.microseconds}
    return _call("datetime.timedelta", **{k: _int(v) for k, v in parts.items() if v})


def _tzinfo(tz: _dt.tzinfo, at: _dt.datetime | None, imports: set[Import]) -> cst.BaseExpression:
    if tz is _dt.timezone.utc:
        return _dotted("datetime.timezone.utc")
    key = getattr(tz, "key", None)
    if isinstance(key, str):  # a zoneinfo.ZoneInfo
        imports.add(("zoneinfo", ""))
        return _call("zoneinfo.ZoneInfo", _string(key))
    offset = tz.utcoffset(at) or _dt.timedelta(0)
    return _call("datetime.timezone", _lit_timedelta(offset, imports))


def _lit_datetime(value: _dt.datetime, imports: set[Import]) -> cst.BaseExpression:
    imports.add(("datetime", ""))
    args = _fields(
        [value.year, value.month, value.day]
        + [value.hour, value.minute, value.second, value.microsecond],
        3,
    )
    kwargs = {}
    if value.tzinfo is not None:
        kwargs["tzinfo"] = _tzinfo(value.tzinfo, value, imports)
    if value.fold:
        kwargs["fold"] = _int(value.fold)
    return _call("datetime.datetime", *args, **kwargs)


def _lit_date(value: _dt.date, imports: set[Import]) -> cst.BaseExpression:
    imports.add(("datetime", ""))
    return _call("datetime.date", *_fields([value.year, value.month, value.day], 3))


def _lit_time(value: _dt.time, imports: set[Import]) -> cst.BaseExpression:
    imports.add(("datetime", ""))
    args = _fields([value.hour, value.minute, value.second, value.microsecond], 0)
    kwargs = {}
    if value.tzinfo is not None:
        kwargs["tzinfo"] = _tzinfo(value.tzinfo, None, imports)
    if value.fold:
        kwargs["fold"] = _int(value.fold)
    return _call("datetime.time", *args, **kwargs)


# Most specific first: bool is an int, datetime is a date.
_LITERALS: tuple[tuple[type | tuple[type, ...], Callable[[Any, set[Import]], Any]], ...] = (
    (type(None), _lit_none),
    (bool, _lit_bool),
    (int, _lit_int),
    (float, _lit_float),
    (str, _lit_str),
    ((list, tuple), _lit_list),
    (dict, _lit_dict),
    (_dt.datetime, _lit_datetime),
    (_dt.date, _lit_date),
    (_dt.time, _lit_time),
    (_dt.timedelta, _lit_timedelta),
)


def _literal(value: Any, imports: set[Import]) -> cst.BaseExpression:
    for kind, build in _LITERALS:
        if isinstance(value, kind):
            return build(value, imports)
    raise TypeError(f"{type(value).__name__} has no Python literal")


def literal_with_imports(value: Any) -> tuple[cst.BaseExpression, set[Import]]:
    """Plain Python data as an expression, with the imports the expression needs (dates need
    ``import datetime``). Raises ``TypeError`` for other types."""
    imports: set[Import] = set()
    return _literal(value, imports), imports


def literal(value: Any) -> cst.BaseExpression:
    """Plain Python data (None, bool, int, float, str, list/tuple, dict, dates, times,
    timedeltas) as an expression that evaluates back to an equal value. Any string is safe:
    quotes, backslashes, control characters and lone surrogates are escaped. Dates need
    ``import datetime``; use :func:`literal_with_imports` to learn the imports."""
    return _literal(value, set())


# --- translation state ---------------------------------------------------------------------


@dataclass
class _State:
    ctx: PyContext
    span: Span | None
    imports: set[Import] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    exact: bool = True

    def need(self, module: str, name: str = "") -> None:
        self.imports.add((module, name))

    def report(self, diagnostic: Diagnostic) -> None:
        if diagnostic not in self.diagnostics:
            self.diagnostics.append(diagnostic)

    def child(self) -> _State:
        return _State(self.ctx, self.span)

    def merge(self, other: _State) -> None:
        self.imports |= other.imports
        for diagnostic in other.diagnostics:
            self.report(diagnostic)
        self.exact = self.exact and other.exact

    def literal(self, value: Any) -> cst.BaseExpression:
        return _literal(value, self.imports)


_NOT_COMMENT_TEXT = re.compile("[\r\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\ufeff\ud800-\udfff]")


def comment_lines(text: str) -> list[cst.EmptyLine]:
    """``text`` as ``#`` comment lines. Characters that Python or an editor reads as a line end,
    and lone surrogates (which no file encoding can hold), are escaped, so nothing of the text
    can leave the comments."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    out = []
    for line in lines:
        safe = _NOT_COMMENT_TEXT.sub(
            lambda m: m.group().encode("unicode_escape").decode("ascii"), line
        )
        out.append(cst.EmptyLine(comment=cst.Comment(("# " + safe).rstrip())))
    return out


def pebble_text(expr: Any) -> str:
    """The original text of an expression (an interpolation keeps its source)."""
    try:
        return print_text(expr)
    except (ValueError, TypeError, KeyError):
        return "{{ " + (str(expr) if not hasattr(expr, "kind") else type(expr).__name__) + " }}"


def _carry(text: str, reason: str, st: _State) -> cst.SimpleString:
    """The marked string: the original text as a literal, and a P201."""
    st.report(codes.P201.at(st.span, text=text, reason=reason))
    st.exact = False
    return _string(text)


def _guarded(expr: Any, st: _State) -> cst.BaseExpression:
    """``expr`` translated, or carried whole when a part of it cannot be."""
    sub = st.child()
    try:
        node = _expr(expr, sub)
    except _Carried as carried:
        return _carry(pebble_text(expr), carried.reason, st)
    st.merge(sub)
    return node


def _value(expr: Any, st: _State) -> cst.BaseExpression:
    """A property value: containers and templates are translated part by part, so that one
    untranslatable item does not carry its neighbours."""
    if isinstance(expr, ListValue):
        return cst.List([cst.Element(_value(item, st)) for item in expr.items])
    if isinstance(expr, MapValue):
        return cst.Dict(
            [cst.DictElement(st.literal(e.key), _value(e.value, st)) for e in expr.entries]
        )
    if isinstance(expr, Template):
        return _template(expr, st)
    return _guarded(expr, st)


def _expr(expr: Any, st: _State) -> cst.BaseExpression:
    """Translate one expression; raises :class:`_Carried` when it has no equivalent."""
    if not hasattr(expr, "kind"):
        try:
            return st.literal(expr)
        except TypeError as exc:
            raise _Carried(str(exc)) from exc
    translate = _NODES.get(type(expr))
    if translate is None:
        raise _Carried(f"{type(expr).__name__} is not translated")
    return translate(expr, st)


_TEXT_FILTERS = frozenset(
    {"upper", "lower", "trim", "capitalize", "title", "replace", "join", "json", "toJson", "date"}
)


def _is_text(expr: Any) -> bool:
    """True when ``expr`` certainly evaluates to a string (no ``str()`` needed)."""
    if isinstance(expr, Literal):
        return isinstance(expr.value, str)
    if isinstance(expr, Secret):
        return True
    if isinstance(expr, BinOp):
        return expr.op == "~"
    if isinstance(expr, Filter):
        return expr.name in _TEXT_FILTERS
    if isinstance(expr, Template):
        if len(expr.parts) == 1 and isinstance(expr.parts[0], Interpolation):
            return _is_text(expr.parts[0].expr)  # a lone interpolation is its value
        return True
    return False


def _text_of(expr: Any, st: _State) -> cst.BaseExpression:
    """``expr`` as a string: ``str(x)`` unless it already is one."""
    node = _expr(expr, st)
    return node if _is_text(expr) else _call("str", node)


def _literal_text(expr: Any, what: str) -> str:
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value
    raise _Carried(f"the {what} is not a constant string")


# --- references ----------------------------------------------------------------------------


def _literal_node(expr: Literal | Timestamp, st: _State) -> cst.BaseExpression:
    return st.literal(expr.value)


def _list(expr: ListValue, st: _State) -> cst.BaseExpression:
    return cst.List([cst.Element(_expr(item, st)) for item in expr.items])


def _map(expr: MapValue, st: _State) -> cst.BaseExpression:
    return cst.Dict([cst.DictElement(st.literal(e.key), _expr(e.value, st)) for e in expr.entries])


def _param(expr: Param, st: _State) -> cst.BaseExpression:
    name = st.ctx.params.get(expr.name)
    if name is None:
        raise _Carried(f"input {expr.name!r} is not a parameter of the flow")
    return cst.Name(name)


def _var(expr: Var, st: _State) -> cst.BaseExpression:
    name = st.ctx.constants.get(expr.name)
    if name is None:
        raise _Carried(f"variable {expr.name!r} is not defined by the flow")
    return cst.Name(name)


def _task_output(expr: TaskOutput, st: _State) -> cst.BaseExpression:
    node = st.ctx.output(expr.task, tuple(expr.path))
    if node is None:
        raise _Carried(f"the outputs of {expr.task!r} are not known here")
    return node


def _loop_item(expr: LoopItem, st: _State) -> cst.BaseExpression:
    if expr.field != "value":
        raise _Carried(f"the loop's {expr.field!r} is not tracked")
    names = list(st.ctx.loop_vars)
    if not 0 <= expr.depth < len(names):
        raise _Carried("there is no enclosing loop at that depth")
    return cst.Name(names[-1 - expr.depth])


def _secret(expr: Secret, st: _State) -> cst.BaseExpression:
    slug = secret_block_name(expr.name)
    if slug != expr.name:
        st.report(codes.P205.at(st.span, what="secret", name=expr.name, target=slug))
    st.need("prefect.blocks.system", "Secret")
    return _method(_method(cst.Name("Secret"), "load", _string(slug)), "get")


def _kv(expr: KV, st: _State) -> cst.BaseExpression:
    name = variable_name(expr.key)
    if name != expr.key:
        st.report(codes.P205.at(st.span, what="KV key", name=expr.key, target=name))
    if expr.namespace is not None:  # Prefect variables have no namespaces
        st.exact = False
    st.need("prefect.variables", "Variable")
    return _method(cst.Name("Variable"), "get", _string(name))


def _env(expr: Env, st: _State) -> cst.BaseExpression:
    # Kestra exposes the environment variable ENV_X as envs.x; unset gives None here.
    st.need("os")
    st.exact = False
    return _method(_dotted("os.environ"), "get", _string("ENV_" + expr.name.upper()))


def _now(expr: Now | None, st: _State) -> cst.BaseExpression:
    st.need("datetime")
    return _call("datetime.datetime.now", _dotted("datetime.timezone.utc"))


def _runtime(attribute: str) -> Callable[[_State], cst.BaseExpression]:
    def build(st: _State) -> cst.BaseExpression:
        st.need("prefect", "runtime")
        return _dotted("runtime.flow_run." + attribute)

    return build


_EXECUTION: dict[str, Callable[[_State], cst.BaseExpression]] = {
    "execution.id": _runtime("id"),
    "execution.startDate": _runtime("start_time"),
    "trigger.date": _runtime("scheduled_start_time"),
    "flow.id": lambda st: _string(st.ctx.flow_id),
    "execution.flowId": lambda st: _string(st.ctx.flow_id),
    "flow.namespace": lambda st: _string(st.ctx.namespace),
    "execution.namespace": lambda st: _string(st.ctx.namespace),
    "task.id": lambda st: _task_id(st),
    "taskrun.startDate": lambda st: _now(None, st),
}
# Date-times: a Python datetime where Kestra renders ISO text, exact only under `date`.
_EXECUTION_DATES = frozenset({"execution.startDate", "trigger.date", "taskrun.startDate"})


def _task_id(st: _State) -> cst.BaseExpression:
    if st.ctx.task_id is None:
        raise _Carried("task.id outside a task")
    return _string(st.ctx.task_id)


def _execution_key(expr: ExecutionInfo) -> str:
    return ".".join((expr.root, *expr.path))


def _execution(expr: ExecutionInfo, st: _State) -> cst.BaseExpression:
    key = _execution_key(expr)
    build = _EXECUTION.get(key)
    if build is None:
        raise _Carried(f"{key} has no Prefect counterpart")
    if key in _EXECUTION_DATES:
        st.exact = False
    return build(st)


def _attr(expr: Attr, st: _State) -> cst.BaseExpression:
    return _subscript(_expr(expr.obj, st), _string(expr.name))


def _index(expr: Index, st: _State) -> cst.BaseExpression:
    return _subscript(_expr(expr.obj, st), _expr(expr.index, st))


def _name(expr: Name, st: _State) -> cst.BaseExpression:
    raise _Carried(f"the name {expr.name!r} is not defined outside Kestra")


def _raw(expr: Raw, st: _State) -> cst.BaseExpression:
    raise _Carried("it is not a Pebble expression flowbridge can read")


# --- operators -----------------------------------------------------------------------------

_ARITHMETIC: dict[str, type[cst.BaseBinaryOp]] = {
    "+": cst.Add,
    "-": cst.Subtract,
    "*": cst.Multiply,
    "/": cst.Divide,
    "//": cst.FloorDivide,
    "%": cst.Modulo,
}
_COMPARISONS: dict[str, type[cst.BaseCompOp]] = {
    "==": cst.Equal,
    "!=": cst.NotEqual,
    "<": cst.LessThan,
    "<=": cst.LessThanEqual,
    ">": cst.GreaterThan,
    ">=": cst.GreaterThanEqual,
    "in": cst.In,
    "not in": cst.NotIn,
}


def _is_float(expr: Any) -> bool:
    return isinstance(expr, Literal) and isinstance(expr.value, float)


def _arithmetic(expr: BinOp, st: _State) -> cst.BaseExpression:
    if expr.op == "/" and not (_is_float(expr.left) or _is_float(expr.right)):
        st.exact = False  # Pebble divides two integers as integers (Java long division)
    op = _ARITHMETIC[expr.op]()
    return _binop(_expr(expr.left, st), op, _expr(expr.right, st))


def _logical(expr: BinOp, st: _State) -> cst.BaseExpression:
    op = cst.And() if expr.op == "and" else cst.Or()
    return _boolean(_expr(expr.left, st), op, _expr(expr.right, st))


def _concat(expr: BinOp, st: _State) -> cst.BaseExpression:
    return _binop(_text_of(expr.left, st), cst.Add(), _text_of(expr.right, st))


def _coalesce(expr: BinOp, st: _State) -> cst.BaseExpression:
    left = _expr(expr.left, st)
    return _ifexp(left, _compare(left, cst.IsNot(), _none()), _expr(expr.right, st))


_BINOPS: dict[str, Callable[[BinOp, _State], cst.BaseExpression]] = {
    **{op: _arithmetic for op in _ARITHMETIC},
    "and": _logical,
    "or": _logical,
    "~": _concat,
    "??": _coalesce,
}


def _binary(expr: BinOp, st: _State) -> cst.BaseExpression:
    translate = _BINOPS.get(expr.op)
    if translate is None:
        raise _Carried(f"the operator {expr.op!r} has no Python equivalent")
    return translate(expr, st)


def _comparison(expr: Compare, st: _State) -> cst.BaseExpression:
    op = _COMPARISONS.get(expr.op)
    if op is None:
        raise _Carried(f"the comparison {expr.op!r} has no Python equivalent")
    return _compare(_expr(expr.left, st), op(), _expr(expr.right, st))


def _logical_not(expr: Not, st: _State) -> cst.BaseExpression:
    return _not(_expr(expr.operand, st))


def _negate(expr: Negate, st: _State) -> cst.BaseExpression:
    return cst.UnaryOperation(operator=cst.Minus(), expression=_wrap(_expr(expr.operand, st), 12))


def _conditional(expr: Conditional, st: _State) -> cst.BaseExpression:
    return _ifexp(_expr(expr.then, st), _expr(expr.condition, st), _expr(expr.otherwise, st))


# --- emptiness (Pebble's EmptyTest: null, blank text, empty list or map) -------------------


def _empty_values() -> cst.Tuple:
    return cst.Tuple([cst.Element(_none()), cst.Element(cst.List([])), cst.Element(cst.Dict([]))])


def _blank_text(node: cst.BaseExpression, text: bool) -> cst.BaseExpression:
    return _method(node if text else _call("str", node), "strip")


def _is_empty(node: cst.BaseExpression, text: bool) -> cst.BaseExpression:
    """``node`` is empty in Pebble's sense, as a bool."""
    blank = _not(_blank_text(node, text))
    if text:
        return blank
    return _boolean(_compare(node, cst.In(), _empty_values()), cst.Or(), blank)


def _is_filled(node: cst.BaseExpression, text: bool) -> cst.BaseExpression:
    """``node`` is not empty in Pebble's sense, as a bool."""
    filled = _compare(_blank_text(node, text), cst.NotEqual(), _string(""))
    if text:
        return filled
    return _boolean(_compare(node, cst.NotIn(), _empty_values()), cst.And(), filled)


# --- tests ---------------------------------------------------------------------------------


def _test_defined(node: cst.BaseExpression, text: bool, negated: bool) -> cst.BaseExpression:
    return _compare(node, cst.Is() if negated else cst.IsNot(), _none())


def _test_null(node: cst.BaseExpression, text: bool, negated: bool) -> cst.BaseExpression:
    return _compare(node, cst.IsNot() if negated else cst.Is(), _none())


def _test_empty(node: cst.BaseExpression, text: bool, negated: bool) -> cst.BaseExpression:
    return _is_filled(node, text) if negated else _is_empty(node, text)


def _parity(remainder: int) -> Callable[[cst.BaseExpression, bool, bool], cst.BaseExpression]:
    def test(node: cst.BaseExpression, text: bool, negated: bool) -> cst.BaseExpression:
        modulo = _binop(node, cst.Modulo(), _int(2))
        return _compare(modulo, cst.NotEqual() if negated else cst.Equal(), _int(remainder))

    return test


_TESTS: dict[str, Callable[[cst.BaseExpression, bool, bool], cst.BaseExpression]] = {
    "defined": _test_defined,
    "null": _test_null,
    "empty": _test_empty,
    "even": _parity(0),
    "odd": _parity(1),
}


def _test(expr: Test, st: _State) -> cst.BaseExpression:
    translate = _TESTS.get(expr.name)
    if translate is None:
        raise _Carried(f"the test {expr.name!r} is not translated")
    if expr.args:
        raise _Carried(f"the test {expr.name!r} takes no arguments")
    return translate(_expr(expr.value, st), _is_text(expr.value), expr.negated)


# --- functions -----------------------------------------------------------------------------


def _no_keywords(expr: Call | Filter) -> None:
    if expr.kwargs:
        raise _Carried(f"named arguments of {expr.name!r} are not translated")


def _range(expr: Call, st: _State) -> cst.BaseExpression:
    _no_keywords(expr)
    if len(expr.args) not in (2, 3):
        raise _Carried("range takes two or three arguments")
    start, end, *step = expr.args
    if step and not (isinstance(step[0], Literal) and type(step[0].value) is int):
        raise _Carried("the step of range is not a constant integer")
    if step and step[0].value <= 0:
        raise _Carried("a range that counts down is not translated")
    if isinstance(end, Literal) and type(end.value) is int:
        stop = _int(end.value + 1)
    else:
        stop = _binop(_expr(end, st), cst.Add(), _int(1))
    args = [_expr(start, st), stop] + [_int(s.value) for s in step]
    return _call("list", _call("range", *args))


def _parse_json(expr: Call, st: _State) -> cst.BaseExpression:
    _no_keywords(expr)
    if len(expr.args) != 1:
        raise _Carried(f"{expr.name} takes one argument")
    st.need("json")
    return _call("json.loads", _expr(expr.args[0], st))


def _builtin(name: str) -> Callable[[Call, _State], cst.BaseExpression]:
    def translate(expr: Call, st: _State) -> cst.BaseExpression:
        _no_keywords(expr)
        return _call(name, *(_expr(a, st) for a in expr.args))

    return translate


def _render(expr: Call, st: _State) -> cst.BaseExpression:
    # render() evaluates a string holding an expression (usually a templated variable); the
    # translation already computes such values, so rendering them again is the identity.
    _no_keywords(expr)
    if len(expr.args) != 1:
        raise _Carried("render() with options is not translated")
    return _expr(expr.args[0], st)


_CALLS: dict[str, Callable[[Call, _State], cst.BaseExpression]] = {
    "render": _render,
    "range": _range,
    "json": _parse_json,
    "fromJson": _parse_json,
    "max": _builtin("max"),
    "min": _builtin("min"),
}


def _function(expr: Call, st: _State) -> cst.BaseExpression:
    translate = _CALLS.get(expr.name)
    if translate is None:
        raise _Carried(f"the function {expr.name!r} is not translated")
    return translate(expr, st)


# --- filters -------------------------------------------------------------------------------


def _bind(expr: Filter, names: tuple[str, ...]) -> dict[str, Any]:
    """Pebble's argument binding: positional arguments in declared order, then named ones."""
    if len(expr.args) > len(names):
        raise _Carried(f"too many arguments to the filter {expr.name!r}")
    bound = dict(zip(names, expr.args, strict=False))
    for keyword in expr.kwargs:
        if keyword.name not in names or keyword.name in bound:
            raise _Carried(f"argument {keyword.name!r} of the filter {expr.name!r}")
        bound[keyword.name] = keyword.value
    return bound


def _plain(build: Callable[[Filter, _State], cst.BaseExpression]) -> Any:
    """A filter that takes no arguments."""

    def translate(expr: Filter, st: _State) -> cst.BaseExpression:
        _bind(expr, ())
        return build(expr, st)

    return translate


def _string_method(name: str) -> Any:
    return _plain(lambda f, st: _method(_text_of(f.value, st), name))


def _capitalize(expr: Filter, st: _State) -> cst.BaseExpression:
    # Pebble upper-cases the first letter and keeps the rest (str.capitalize lowers it); it
    # also skips leading blanks, which this does not.
    st.exact = False
    text = _text_of(expr.value, st)
    return _binop(_method(_slice(text, None, 1), "upper"), cst.Add(), _slice(text, 1, None))


def _title(expr: Filter, st: _State) -> cst.BaseExpression:
    st.exact = False  # str.title also lower-cases the rest of each word
    return _method(_text_of(expr.value, st), "title")


def _replace(expr: Filter, st: _State) -> cst.BaseExpression:
    pairs: list[tuple[Any, Any]]
    if len(expr.args) == 2 and not expr.kwargs and not isinstance(expr.args[0], MapValue):
        pairs = [(expr.args[0], expr.args[1])]
    else:
        args = _bind(expr, ("replace_pairs", "regexp"))
        regexp = args.get("regexp", Literal(value=False))
        if not (isinstance(regexp, Literal) and regexp.value is False):
            raise _Carried("replacing by regular expression is not translated")
        table = args.get("replace_pairs")
        if not isinstance(table, MapValue):
            raise _Carried("replace needs a constant map of replacements")
        pairs = [(Literal(value=e.key), e.value) for e in table.entries]
    node = _text_of(expr.value, st)
    for old, new in pairs:  # Pebble applies the pairs one after the other, in order
        node = _method(node, "replace", _text_of(old, st), _text_of(new, st))
    return node


def _default(expr: Filter, st: _State) -> cst.BaseExpression:
    args = _bind(expr, ("default",))
    if "default" not in args:
        raise _Carried("default needs a value")
    value = _expr(expr.value, st)
    return _ifexp(value, _is_filled(value, _is_text(expr.value)), _expr(args["default"], st))


def _length(expr: Filter, st: _State) -> cst.BaseExpression:
    return _call("len", _expr(expr.value, st))


def _first(expr: Filter, st: _State) -> cst.BaseExpression:
    if isinstance(expr.value, Filter) and expr.value.name == "jq":
        return _jq_result(expr.value, st)
    return _subscript(_expr(expr.value, st), _int(0))


def _last(expr: Filter, st: _State) -> cst.BaseExpression:
    return _subscript(_expr(expr.value, st), _int(-1))


def _join(expr: Filter, st: _State) -> cst.BaseExpression:
    args = _bind(expr, ("separator",))
    separator = _text_of(args["separator"], st) if "separator" in args else _string("")
    return _method(separator, "join", _call("map", cst.Name("str"), _expr(expr.value, st)))


_REGEX_SPECIAL = frozenset(".$|()[]{}^?*+\\")


def _split(expr: Filter, st: _State) -> cst.BaseExpression:
    args = _bind(expr, ("delimiter", "limit"))
    if "delimiter" not in args or "limit" in args:
        raise _Carried("split is translated with a delimiter and no limit")
    st.exact = False  # Java's split drops trailing empty strings
    delimiter = args["delimiter"]
    text = _text_of(expr.value, st)
    if isinstance(delimiter, Literal) and isinstance(delimiter.value, str):
        if delimiter.value and not _REGEX_SPECIAL & set(delimiter.value):
            return _method(text, "split", _string(delimiter.value))
    st.need("re")  # Java splits on a regular expression
    return _call("re.split", _text_of(delimiter, st), text)


def _abs(expr: Filter, st: _State) -> cst.BaseExpression:
    return _call("abs", _expr(expr.value, st))


def _to_json(expr: Filter, st: _State) -> cst.BaseExpression:
    # The same JSON value; Jackson writes it without the spaces json.dumps puts after , and :.
    st.need("json")
    return _call("json.dumps", _expr(expr.value, st))


def _from_json(expr: Filter, st: _State) -> cst.BaseExpression:
    st.need("json")
    return _call("json.loads", _expr(expr.value, st))


def _listed(method: str) -> Any:
    return _plain(lambda f, st: _call("list", _method(_expr(f.value, st), method)))


# --- date ----------------------------------------------------------------------------------

_Pattern = dict[int, tuple[str, bool]]
_YEAR: _Pattern = {1: ("%Y", True), 2: ("%y", True), 3: ("%Y", True), 4: ("%Y", True)}
_MONTH: _Pattern = {1: ("%m", False), 2: ("%m", True), 3: ("%b", True), 4: ("%B", True)}


def _padded(directive: str) -> _Pattern:
    """A two-digit field: exact when written twice, approximated (padded) when once."""
    return {1: (directive, False), 2: (directive, True)}


# Java DateTimeFormatter letters by count → (strftime directive, exact).
_JAVA_DATE: dict[str, _Pattern] = {
    "y": _YEAR,
    "u": _YEAR,
    "M": _MONTH,
    "L": _MONTH,
    "d": _padded("%d"),
    "H": _padded("%H"),
    "h": _padded("%I"),
    "m": _padded("%M"),
    "s": _padded("%S"),
    "D": {1: ("%j", False), 2: ("%j", False), 3: ("%j", True)},
    "S": {n: ("%f", n == 6) for n in range(1, 10)},
    "E": {1: ("%a", True), 2: ("%a", True), 3: ("%a", True), 4: ("%A", True)},
    "a": {1: ("%p", True)},
    "Z": {1: ("%z", True), 2: ("%z", True), 3: ("%z", True), 5: ("%z", False)},
    "X": {n: ("%z", False) for n in (1, 2, 3)},
    "x": {n: ("%z", False) for n in (1, 2, 3)},
    "z": {n: ("%Z", False) for n in (1, 2, 3)},
}


def _quoted(pattern: str, start: int) -> tuple[str, int]:
    """The literal text of a quoted section starting at ``start`` (``''`` is a quote)."""
    text, i = [], start + 1
    while i < len(pattern):
        if pattern[i] != "'":
            text.append(pattern[i])
            i += 1
        elif pattern.startswith("''", i):
            text.append("'")
            i += 2
        else:
            return "".join(text), i + 1
    raise _Carried(f"unterminated quote in the date pattern {pattern!r}")


def _java_to_strftime(pattern: str) -> tuple[str, bool]:
    """A Java DateTimeFormatter pattern as a strftime format, and whether it is exact.
    Raises :class:`_Carried` for what strftime cannot say."""
    out, exact, i = [], True, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch.isascii() and ch.isalpha():
            count = len(pattern) - i - len(pattern[i:].lstrip(ch))
            directive = _JAVA_DATE.get(ch, {}).get(count)
            if directive is None:
                raise _Carried(f"the date pattern letter {ch * count!r} has no strftime form")
            out.append(directive[0])
            exact = exact and directive[1]
            i += count
        elif ch == "'":
            text, i = _quoted(pattern, i)
            out.append(text.replace("%", "%%") if text else "'")
        elif ch in "[]{}#":
            raise _Carried(f"the date pattern character {ch!r} has no strftime form")
        else:
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out), exact


def _zone(name: str, st: _State) -> cst.BaseExpression:
    if name in ("UTC", "Z", "Etc/UTC"):
        st.need("datetime")
        return _dotted("datetime.timezone.utc")
    st.need("zoneinfo")
    return _call("zoneinfo.ZoneInfo", _string(name))


def _date_source(expr: Any, existing: Any, st: _State) -> tuple[cst.BaseExpression, bool]:
    """A datetime for the date filter's input, and whether reading it is exact."""
    st.need("datetime")
    if existing is not None:
        parse, _ = _java_to_strftime(_literal_text(existing, "existing date format"))
        text = _text_of(expr, st)
        return _call("datetime.datetime.strptime", text, _string(parse)), False
    if isinstance(expr, Now):
        return _now(expr, st), True
    if isinstance(expr, ExecutionInfo) and _execution_key(expr) in _EXECUTION_DATES:
        return _EXECUTION[_execution_key(expr)](st), True
    if isinstance(expr, Timestamp):
        return st.literal(expr.value), True
    # Kestra also takes ISO text; Python 3.10's fromisoformat does not read a trailing Z.
    value = _expr(expr, st)
    iso = _method(_call("str", value), "replace", _string("Z"), _string("+00:00"))
    parsed = _call("datetime.datetime.fromisoformat", iso)
    is_date = _call("isinstance", value, _dotted("datetime.date"))
    return _ifexp(value, is_date, parsed), False


def _date(expr: Filter, st: _State) -> cst.BaseExpression:
    args = _bind(expr, ("format", "existingFormat", "timeZone", "locale"))
    if "format" not in args:
        raise _Carried("date without a format is not translated")
    pattern, exact = _java_to_strftime(_literal_text(args["format"], "date format"))
    value, source_exact = _date_source(expr.value, args.get("existingFormat"), st)
    if "timeZone" in args:
        zone = _zone(_literal_text(args["timeZone"], "time zone"), st)
        value = _method(value, "astimezone", zone)
    if not (exact and source_exact) or "locale" in args:
        st.exact = False
    return _method(value, "strftime", _string(pattern))


# --- jq ------------------------------------------------------------------------------------

_JQ_STEP = re.compile(
    r'\.([A-Za-z_][A-Za-z0-9_]*)|\.?\[\s*(-?\d+)\s*\]|\.?\[\s*("(?:[^"\\]|\\.)*")\s*\]'
)


def _jq_path(program: str) -> list[str | int]:
    """The keys of a jq program that is a plain path (``.a.b``, ``.[0]``, ``.a[0].b``)."""
    path = program.strip()
    if path == ".":
        return []
    keys: list[str | int] = []
    pos = 0
    while pos < len(path):
        step = _JQ_STEP.match(path, pos)
        if step is None or (pos == 0 and not path.startswith(".")):
            raise _Carried(f"the jq program {program!r} is more than a path")
        name, number, string = step.groups()
        try:
            keys.append(
                name if name is not None else int(number) if number else _json.loads(string)
            )
        except ValueError:  # a key whose escapes JSON does not read
            raise _Carried(f"the jq program {program!r} is not a path JSON can read") from None
        pos = step.end()
    if not keys:
        raise _Carried(f"the jq program {program!r} is more than a path")
    return keys


def _jq_result(expr: Filter, st: _State) -> cst.BaseExpression:
    """The single result of a path jq program (Kestra parses text input as JSON)."""
    args = _bind(expr, ("expression",))
    keys = _jq_path(_literal_text(args.get("expression"), "jq program"))
    node = _expr(expr.value, st)
    if not isinstance(expr.value, (ListValue, MapValue)):
        st.need("json")
        is_text = _call("isinstance", node, cst.Name("str"))
        node = _ifexp(_call("json.loads", node), is_text, node)
    for key in keys:
        node = _subscript(node, st.literal(key))
    return node


def _jq(expr: Filter, st: _State) -> cst.BaseExpression:
    return cst.List([cst.Element(_jq_result(expr, st))])


_FILTERS: dict[str, Callable[[Filter, _State], cst.BaseExpression]] = {
    "upper": _string_method("upper"),
    "lower": _string_method("lower"),
    "trim": _string_method("strip"),
    "capitalize": _plain(_capitalize),
    "title": _plain(_title),
    "replace": _replace,
    "default": _default,
    "length": _plain(_length),
    "first": _plain(_first),
    "last": _plain(_last),
    "join": _join,
    "split": _split,
    "abs": _plain(_abs),
    "json": _plain(_to_json),
    "toJson": _plain(_to_json),
    "fromJson": _plain(_from_json),
    "keys": _listed("keys"),
    "values": _listed("values"),
    "date": _date,
    "jq": _jq,
}


def _filter(expr: Filter, st: _State) -> cst.BaseExpression:
    translate = _FILTERS.get(expr.name)
    if translate is None:
        raise _Carried(f"the filter {expr.name!r} is not translated")
    return translate(expr, st)


# --- templates -----------------------------------------------------------------------------

_RAW_BLOCK = re.compile(r"\{%\s*(raw|verbatim)\s*%\}(.*)\{%\s*end\1\s*%\}\Z", re.S)


@dataclass(frozen=True)
class _Piece:
    """A translated interpolation; ``text`` when it is known to be a string."""

    node: cst.BaseExpression
    text: bool


def _raw_part(part: Raw, st: _State) -> str:
    """What a verbatim template part renders to, carried as text when that is unknown."""
    if part.text.startswith("{#") and part.text.endswith("#}"):
        return ""  # a comment renders to nothing
    block = _RAW_BLOCK.match(part.text)
    if block is not None:
        return block.group(2)
    reason = "template tags are not translated"
    if part.text.startswith("{{"):
        reason = "it is not a Pebble expression flowbridge can read"
    _carry(part.text, reason, st)
    return part.text


def _piece(node: cst.BaseExpression, text: bool) -> str | _Piece:
    """An interpolation; a constant string (``{{ 'x' }}``, ``{{ flow.id }}``) joins the text."""
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    return _Piece(node, text)


def _pieces(template: Template, st: _State) -> list[str | _Piece]:
    pieces: list[str | _Piece] = []
    for part in template.parts:
        if isinstance(part, Interpolation):
            sub = st.child()
            try:
                piece: str | _Piece = _piece(_expr(part.expr, sub), _is_text(part.expr))
                st.merge(sub)
            except _Carried as carried:
                piece = pebble_text(part)
                _carry(piece, carried.reason, st)
        else:
            piece = _raw_part(part, st) if isinstance(part, Raw) else part
        if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece
        elif piece != "":
            pieces.append(piece)
    return pieces


def _template(template: Template, st: _State) -> cst.BaseExpression:
    pieces = _pieces(template, st)
    if not pieces:
        return _string("")
    if len(pieces) == 1:
        only = pieces[0]
        return _string(only) if isinstance(only, str) else only.node
    return _fstring(pieces) or _concatenation(pieces)


class _Requote(cst.CSTTransformer):
    """Rewrites string literals with ``quote`` where that needs no escape."""

    def __init__(self, quote: str) -> None:
        super().__init__()
        self.quote = quote

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        value = updated_node.evaluated_value
        if isinstance(value, str) and _escape(value, self.quote) == value:
            return cst.SimpleString(self.quote + value + self.quote)
        return updated_node


def _fstring_expression(piece: _Piece, quote: str) -> cst.FormattedStringExpression | None:
    """``piece`` inside an f-string quoted with ``quote``, if Python 3.10 can read it there."""
    inner = "'" if quote == '"' else '"'
    node = piece.node.visit(_Requote(inner))
    code = _code(node)
    if any(ch in code for ch in ("\\", "#", "\n", "\r", quote)):
        return None
    # `{{` would read as an escaped brace: a dict or set literal needs a space before it.
    space = cst.SimpleWhitespace(" " if code.startswith("{") else "")
    return cst.FormattedStringExpression(expression=node, whitespace_before_expression=space)


def _fstring(pieces: list[str | _Piece]) -> cst.FormattedString | None:
    for quote in ('"', "'"):
        parts: list[cst.BaseFormattedStringContent] = []
        for piece in pieces:
            if isinstance(piece, str):
                parts.append(cst.FormattedStringText(_escape(piece, quote, braces=True)))
                continue
            expression = _fstring_expression(piece, quote)
            if expression is None:
                break
            parts.append(expression)
        else:
            return cst.FormattedString(parts=parts, start="f" + quote, end=quote)
    return None


def _concatenation(pieces: list[str | _Piece]) -> cst.BaseExpression:
    operands = [
        _string(p) if isinstance(p, str) else p.node if p.text else _call("str", p.node)
        for p in pieces
    ]
    node = operands[0]
    for operand in operands[1:]:
        node = _binop(node, cst.Add(), operand)
    return node


_NODES: dict[type, Callable[[Any, _State], cst.BaseExpression]] = {
    Literal: _literal_node,
    Timestamp: _literal_node,
    ListValue: _list,
    MapValue: _map,
    Param: _param,
    Var: _var,
    TaskOutput: _task_output,
    LoopItem: _loop_item,
    Secret: _secret,
    KV: _kv,
    Env: _env,
    Now: _now,
    ExecutionInfo: _execution,
    Name: _name,
    Attr: _attr,
    Index: _index,
    Call: _function,
    Filter: _filter,
    BinOp: _binary,
    Compare: _comparison,
    Not: _logical_not,
    Negate: _negate,
    Test: _test,
    Conditional: _conditional,
    Raw: _raw,
    Template: _template,
}


def to_python(expr: Any, ctx: PyContext, span: Span | None = None) -> Translation:
    """Translate an IR expression (or plain data) into a Python expression.

    Never raises for an expression it cannot translate: that part becomes a string literal
    holding the original Pebble text, reported with P201 and ``exact=False``."""
    st = _State(ctx, span)
    node = _value(expr, st)
    return Translation(expr=node, imports=st.imports, diagnostics=st.diagnostics, exact=st.exact)
