"""Kestra's Pebble templates ↔ IR expressions.

A YAML string value is a template: plain text, ``{{ expr }}`` interpolations, ``{% tag %}``
blocks and ``{# comments #}``. :func:`parse_text` splits it and lowers every interpolation it
understands into IR nodes that carry meaning (``inputs.x`` → :class:`Param`,
``outputs.t.value`` → :class:`TaskOutput`, ``secret('X')`` → :class:`Secret`, …); the rest is kept
as :class:`Raw` text. :func:`print_text` writes a template back byte for byte.

Expressions follow Pebble's real grammar (``grammars/pebble.lark``) and precedence
(``CoreExtension`` plus Kestra's ``Extension``), lowest first: ternary ``? :``; ``or``;
``and``; ``is``/``is not``/``contains``; ``== != < > <= >= equals in not in``; ``+ -``;
``* / %``; ``|`` (filters); ``~``; ``.. ?? ???``; unary ``not - +``; ``.``/``[]``/calls.
So ``x ~ y | upper`` is ``(x ~ y) | upper`` and ``not a == b`` is ``(not a) == b``, as in Pebble.

Normalisations (the IR keeps meaning, not spelling): ``equals`` is ``==``; ``a contains b`` is
``Compare('in', b, a)`` and prints as ``contains``; ``a..b`` is ``Call('range', (a, b))``;
unary ``+`` disappears; ``-`` before a number literal folds into the literal; ``x['k']`` with a
string literal key is the same as ``x.k``. Method calls (``x.y()``) and string interpolation
(``"#{x}"``) are not modelled: they raise :class:`PebbleSyntaxError`, so a template keeps them
as :class:`Raw`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ir.base import Record
from ir.expressions import (
    KV,
    Attr,
    BinOp,
    Call,
    Compare,
    Conditional,
    Env,
    ExecutionInfo,
    Expr,
    Filter,
    Index,
    Interpolation,
    Keyword,
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
    task_references,
)

__all__ = [
    "PebbleSyntaxError",
    "TemplateProblem",
    "parse_expression",
    "parse_text",
    "print_expression",
    "print_text",
    "task_references_in_text",
]


class PebbleSyntaxError(ValueError):
    """A Pebble expression that cannot be read; ``offset`` is a character offset in the text
    that was given to the parser."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


class TemplateProblem(Record):
    """A part of a template kept verbatim because it could not be read: ``text`` starts at
    ``offset`` in the template."""

    offset: int
    text: str
    reason: str


# --- Pebble facts --------------------------------------------------------------------------

_PREC_TERNARY = 0
_PREC_OR = 10
_PREC_AND = 15
_PREC_TEST = 20  # is, is not, contains
_PREC_COMPARE = 30
_PREC_FILTER = 100
_PREC_CONCAT = 110
_PREC_UNARY = 500
_PREC_LIST = 900  # list and map literals: operands of anything, but Pebble allows no postfix
_PREC_ATOM = 1000

# Binary operators by spelling: (precedence, IR kind, IR op). Kestra adds ?? and ??? at 120
# (Extension.java up to 1.3). Kestra's membership operators (`isIn` since 0.24, `in`/`not in`
# in some versions) are not in the sources read; they are assumed to sit with the comparisons.
_BINARY: dict[str, tuple[int, str, str]] = {
    "or": (_PREC_OR, "bin", "or"),
    "and": (_PREC_AND, "bin", "and"),
    "contains": (_PREC_TEST, "contains", "in"),
    "==": (_PREC_COMPARE, "cmp", "=="),
    "equals": (_PREC_COMPARE, "cmp", "=="),
    "!=": (_PREC_COMPARE, "cmp", "!="),
    "<": (_PREC_COMPARE, "cmp", "<"),
    ">": (_PREC_COMPARE, "cmp", ">"),
    "<=": (_PREC_COMPARE, "cmp", "<="),
    ">=": (_PREC_COMPARE, "cmp", ">="),
    "in": (_PREC_COMPARE, "cmp", "in"),
    "isIn": (_PREC_COMPARE, "cmp", "in"),
    "not in": (_PREC_COMPARE, "cmp", "not in"),
    "isNotIn": (_PREC_COMPARE, "cmp", "not in"),
    "+": (40, "bin", "+"),
    "-": (40, "bin", "-"),
    "*": (60, "bin", "*"),
    "/": (60, "bin", "/"),
    "%": (60, "bin", "%"),
    "~": (_PREC_CONCAT, "bin", "~"),
    "..": (120, "range", "range"),
    "??": (120, "bin", "??"),
    "???": (120, "bin", "???"),
}
_BINOP_PREC = {spelling: prec for spelling, (prec, kind, _) in _BINARY.items() if kind == "bin"}
_COMPARE_PREC = {"==": 30, "!=": 30, "<": 30, ">": 30, "<=": 30, ">=": 30, "not in": 30}

_LITERAL_WORDS: dict[str, Any] = {
    "true": True,
    "TRUE": True,
    "false": False,
    "FALSE": False,
    "null": None,
    "NULL": None,
    "none": None,
    "NONE": None,
}
_OPERATOR_WORDS = frozenset(
    {"or", "and", "not", "is", "contains", "equals", "in", "isIn", "isNotIn"}
)
_RESERVED = _OPERATOR_WORDS | frozenset(_LITERAL_WORDS)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_LOOP_FIELDS = frozenset({"value", "iteration"})
# Roots of the run context that lower to ExecutionInfo (taskrun, parent and parents also do
# when they do not name a loop item).
_CONTEXT_ROOTS = frozenset(
    {
        "execution",
        "flow",
        "trigger",
        "task",
        "taskrun",
        "labels",
        "kestra",
        "parent",
        "parents",
        "workerGroup",
        "workingDir",
        "outputDir",
        "globals",
    }
)
_KV_ARGUMENTS = ("key", "namespace", "errorOnMissing")


def _decode_string(token: str) -> str:
    """The value of a Pebble string literal (LexerImpl.unquoteAndUnescape): only the quote
    and the backslash are escapes; ``\\n`` stays a backslash and an ``n``. A double-quoted
    string holding ``#`` is lexed as interpolation text and not unescaped at all."""
    quote, body = token[0], token[1:-1]
    if quote == '"' and "#" in body:
        return body
    return re.sub(
        r"\\(.)",
        lambda m: m.group(1) if m.group(1) in (quote, "\\") else m.group(0),
        body,
        flags=re.S,
    )


# --- expressions: parsing (transpile/kestra/pebble_parser.py) --------------------------------


def parse_expression(src: str) -> Expr:
    """Read a Pebble expression (the inside of ``{{ }}``) into IR.

    Raises :class:`PebbleSyntaxError` (with the offset in ``src``) when it is not valid Pebble
    or uses a construct the IR does not model (method calls, ``"#{…}"`` interpolation, map
    keys that are not literals). The parser (lark) is loaded on the first expression, so that
    a command meeting no template does not pay for it."""
    from .pebble_parser import parse

    return parse(src)


# --- expressions: printing -----------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value} has no Pebble literal")
    from decimal import Decimal

    text = format(Decimal(repr(value)), "f")  # Pebble has no exponent notation
    return text if "." in text else text + ".0"


def _scalar(value: Any) -> tuple[str, int]:
    if value is None:
        return "null", _PREC_ATOM
    if isinstance(value, bool):
        return ("true" if value else "false"), _PREC_ATOM
    if isinstance(value, (int, float)):
        text = _number(value)
        return text, _PREC_UNARY if text.startswith("-") else _PREC_ATOM
    if isinstance(value, str):
        return _quote(value), _PREC_ATOM
    raise ValueError(f"{value!r} is not a Pebble scalar")


def _name(name: str) -> str:
    if not _IDENTIFIER.match(name) or name in _RESERVED:
        raise ValueError(f"{name!r} cannot be written as a Pebble name")
    return name


def _word(name: str) -> str:
    """A filter or test name: ``null`` is one, operators are not."""
    if not _IDENTIFIER.match(name) or name in _OPERATOR_WORDS:
        raise ValueError(f"{name!r} cannot be written as a Pebble filter or test name")
    return name


def _segment(name: str) -> str:
    """``.name`` when Pebble reads it as a name, else ``['name']``."""
    if _IDENTIFIER.match(name) and name not in _RESERVED:
        return "." + name
    return "[" + _quote(name) + "]"


def _wrap(expr: Any, min_prec: int) -> str:
    text, prec = _print(expr)
    return f"({text})" if prec < min_prec else text


def _arguments(args: tuple[Any, ...], kwargs: tuple[Keyword, ...]) -> str:
    items = [_wrap(a, 0) for a in args]
    items += [f"{_name(k.name)}={_wrap(k.value, 0)}" for k in kwargs]
    return "(" + ", ".join(items) + ")"


def _print(expr: Any) -> tuple[str, int]:
    if isinstance(expr, Literal):
        return _scalar(expr.value)
    if isinstance(expr, Param):
        return "inputs" + _segment(expr.name), _PREC_ATOM
    if isinstance(expr, Var):
        return "vars" + _segment(expr.name), _PREC_ATOM
    if isinstance(expr, Env):
        return "envs" + _segment(expr.name), _PREC_ATOM
    if isinstance(expr, TaskOutput):
        return "outputs" + "".join(_segment(s) for s in (expr.task, *expr.path)), _PREC_ATOM
    if isinstance(expr, LoopItem):
        if expr.depth <= 0:
            root = "taskrun"
        elif expr.depth == 1:
            root = "parent.taskrun"
        else:
            root = f"parents[{expr.depth - 1}].taskrun"
        return root + _segment(expr.field), _PREC_ATOM
    if isinstance(expr, ExecutionInfo):
        return _name(expr.root) + "".join(_segment(s) for s in expr.path), _PREC_ATOM
    if isinstance(expr, Secret):
        return f"secret({_quote(expr.name)})", _PREC_ATOM
    if isinstance(expr, KV):
        namespace = "" if expr.namespace is None else f", namespace={_quote(expr.namespace)}"
        return f"kv({_quote(expr.key)}{namespace})", _PREC_ATOM
    if isinstance(expr, Now):
        return "now()", _PREC_ATOM
    if isinstance(expr, Name):
        return _name(expr.name), _PREC_ATOM
    if isinstance(expr, Attr):
        return _wrap(expr.obj, _PREC_ATOM) + _segment(expr.name), _PREC_ATOM
    if isinstance(expr, Index):
        return f"{_wrap(expr.obj, _PREC_ATOM)}[{_wrap(expr.index, 0)}]", _PREC_ATOM
    if isinstance(expr, Call):
        return _name(expr.name) + _arguments(expr.args, expr.kwargs), _PREC_ATOM
    if isinstance(expr, ListValue):
        return "[" + ", ".join(_wrap(i, 0) for i in expr.items) + "]", _PREC_LIST
    if isinstance(expr, MapValue):
        entries = (f"{_scalar(e.key)[0]}: {_wrap(e.value, 0)}" for e in expr.entries)
        return "{" + ", ".join(entries) + "}", _PREC_LIST
    if isinstance(expr, Filter):
        # Operators that bind tighter than a filter in Pebble (~, .., ??) are bracketed anyway:
        # readers expect the opposite, and Kestra is moving that way (kestra-io/kestra#16127).
        value = _wrap(expr.value, _PREC_ATOM if isinstance(expr.value, BinOp) else _PREC_FILTER)
        text = f"{value} | {_word(expr.name)}"
        if expr.args or expr.kwargs:
            text += _arguments(expr.args, expr.kwargs)
        return text, _PREC_FILTER
    if isinstance(expr, Test):
        text = f"{_wrap(expr.value, _PREC_TEST)} is {'not ' if expr.negated else ''}"
        text += _word(expr.name)
        if expr.args:
            text += _arguments(expr.args, ())
        return text, _PREC_TEST
    if isinstance(expr, BinOp):
        if expr.op not in _BINOP_PREC:
            raise ValueError(f"operator {expr.op!r} has no Pebble equivalent")
        prec = _BINOP_PREC[expr.op]
        left, right = _wrap(expr.left, prec), _wrap(expr.right, prec + 1)
        return f"{left} {expr.op} {right}", prec
    if isinstance(expr, Compare):
        if expr.op == "in":  # Pebble core spells membership `container contains item`
            left, right = _wrap(expr.right, _PREC_TEST), _wrap(expr.left, _PREC_TEST + 1)
            return f"{left} contains {right}", _PREC_TEST
        if expr.op not in _COMPARE_PREC:
            raise ValueError(f"comparison {expr.op!r} has no Pebble equivalent")
        prec = _COMPARE_PREC[expr.op]
        left, right = _wrap(expr.left, prec), _wrap(expr.right, prec + 1)
        return f"{left} {expr.op} {right}", prec
    if isinstance(expr, Not):
        return "not " + _wrap(expr.operand, _PREC_UNARY), _PREC_UNARY
    if isinstance(expr, Negate):
        operand = _wrap(expr.operand, _PREC_UNARY)
        return ("- " if operand.startswith("-") else "-") + operand, _PREC_UNARY
    if isinstance(expr, Conditional):
        condition = _wrap(expr.condition, _PREC_TERNARY + 1)
        return (f"{condition} ? {_wrap(expr.then, 0)} : {_wrap(expr.otherwise, 0)}", _PREC_TERNARY)
    if isinstance(expr, Timestamp):
        return _quote(expr.value.isoformat()), _PREC_ATOM
    if isinstance(expr, Template):
        return _template_expression(expr)
    if isinstance(expr, Raw):
        return expr.text, _PREC_TERNARY
    raise ValueError(f"{type(expr).__name__} is not a Pebble expression")


def _template_expression(template: Template) -> tuple[str, int]:
    """A template used as a value is the concatenation of its parts."""
    pieces: list[Any] = []
    for part in template.parts:
        if isinstance(part, Raw):
            raise ValueError("a template with tags cannot be written as one Pebble expression")
        pieces.append(Literal(value=part) if isinstance(part, str) else part.expr)
    if len(pieces) <= 1:
        return _print(pieces[0]) if pieces else ("''", _PREC_ATOM)
    text = _wrap(pieces[0], _PREC_CONCAT)
    for piece in pieces[1:]:
        text += " ~ " + _wrap(piece, _PREC_CONCAT + 1)
    return text, _PREC_CONCAT


def print_expression(expr: Expr) -> str:
    """Write an IR expression as canonical Pebble, with the fewest parentheses precedence
    allows. ``parse_expression(print_expression(e)) == e`` for every expression in canonical
    form (static paths folded into :class:`TaskOutput`/:class:`ExecutionInfo`, string keys as
    :class:`Attr`, no ``-`` applied to a number literal). Raises ``ValueError`` for what Pebble
    cannot say (``//``, NaN, names that are not identifiers)."""
    return _print(expr)[0]


# --- templates -----------------------------------------------------------------------------

_START = re.compile(r"\{[{%#]")
_STRINGS = {
    "'": re.compile(r"'(?:[^'\\]|\\.)*'", re.S),
    '"': re.compile(r'"(?:[^"\\]|\\.)*"', re.S),
}
_SPECIAL = re.compile(r"""['"(\[{)\]}%]""")
_BLOCK_START = re.compile(r"\{%-?\s*(raw|verbatim)\s*-?%\}")
_BLOCK_END = {
    "raw": re.compile(r"\{%-?\s*endraw\s*-?%\}"),
    "verbatim": re.compile(r"\{%-?\s*endverbatim\s*-?%\}"),
}


def _find_close(text: str, pos: int, close: str, brackets: bool, quotes: bool) -> int:
    """Where ``close`` ends the tag opened before ``pos``: outside strings (``quotes``) and,
    as Pebble's lexer does, outside brackets (``brackets``); -1 when it never does."""
    if not quotes:
        return text.find(close, pos)
    depth = 0
    while True:
        m = _SPECIAL.search(text, pos)
        if m is None:
            return -1
        i, c = m.start(), m.group()
        if c in "'\"":
            s = _STRINGS[c].match(text, i)
            if s is None:
                return -1
            pos = s.end()
            continue
        if depth == 0 and text.startswith(close, i):
            return i
        if brackets and c in "([{":
            depth += 1
        elif brackets and c in ")]}":
            depth = max(depth - 1, 0)
        pos = i + 1


def _close(text: str, pos: int, close: str) -> int:
    for brackets, quotes in ((True, True), (False, True), (False, False)):
        end = _find_close(text, pos, close, brackets, quotes)
        if end >= 0:
            return end
    return -1


def parse_text(text: str) -> tuple[Expr, list[TemplateProblem]]:
    """Read a YAML string value: a :class:`Literal` when it holds no ``{{``, ``{%`` or ``{#``,
    else a :class:`Template` of plain text, :class:`Interpolation` and :class:`Raw` parts.
    Unreadable parts stay :class:`Raw` and are reported as problems;
    ``print_text(parse_text(s)[0]) == s`` for every string."""
    if "{" not in text or _START.search(text) is None:
        return Literal(value=text), []
    parts: list[Any] = []
    problems: list[TemplateProblem] = []
    pos = 0

    def rest_is_raw(start: int, reason: str) -> None:
        parts.append(Raw(text=text[start:]))
        problems.append(TemplateProblem(start, text[start:], reason))

    while True:
        m = _START.search(text, pos)
        if m is None:
            break
        start = m.start()
        if start > pos:
            parts.append(text[pos:start])
        kind = text[start + 1]
        if kind == "#":
            end = text.find("#}", start + 2)
            if end < 0:
                rest_is_raw(start, "unterminated comment")
                return Template(parts=tuple(parts)), problems
            pos = end + 2
            parts.append(Raw(text=text[start:pos]))
            continue
        close = "}}" if kind == "{" else "%}"
        end = _close(text, start + 2, close)
        if end < 0:
            rest_is_raw(start, f"unterminated {text[start:start + 2]}")
            return Template(parts=tuple(parts)), problems
        pos = end + 2
        source = text[start:pos]
        if kind == "%":
            block = _BLOCK_START.fullmatch(source)
            if block is not None:
                closing = _BLOCK_END[block.group(1)].search(text, pos)
                if closing is None:
                    rest_is_raw(start, f"unterminated {block.group(1)} block")
                    return Template(parts=tuple(parts)), problems
                pos = closing.end()
            parts.append(Raw(text=text[start:pos]))
            continue
        inner = source[2:-2]
        if inner.startswith("-") or inner.endswith("-"):
            parts.append(Raw(text=source))  # whitespace control has no IR counterpart
            continue
        try:
            parts.append(Interpolation(expr=parse_expression(inner), source=source))
        except PebbleSyntaxError as exc:
            parts.append(Raw(text=source))
            problems.append(TemplateProblem(start, source, f"{exc} (in {source!r})"))
    if pos < len(text):
        parts.append(text[pos:])
    return Template(parts=tuple(parts)), problems


def print_text(expr: Expr) -> str:
    """Write an expression back as a YAML string value: the inverse of :func:`parse_text`.
    An interpolation read from text is written from its ``source``; any other non-text
    expression becomes ``{{ … }}``."""
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, Template):
        return "".join(_print_parts(expr.parts))
    if isinstance(expr, Interpolation):
        if expr.source is not None:
            return expr.source
        return "{{ " + print_expression(expr.expr) + " }}"
    if isinstance(expr, Raw):
        return expr.text
    return "{{ " + print_expression(expr) + " }}"


def escape_text(text: str, before_tag: bool = False) -> str:
    """Literal ``text`` as template text that Pebble renders to itself. Text holding a
    delimiter (``{{``, ``{%``, ``{#``), or ending in ``{`` right ``before_tag`` (with whose
    ``{`` it would make one), is wrapped in ``{% raw %}…{% endraw %}``, or written as a string
    literal when it holds an endraw tag itself."""
    if _START.search(text) is None and not (before_tag and text.endswith("{")):
        return text
    if _BLOCK_END["raw"].search(text) is None:
        return "{% raw %}" + text + "{% endraw %}"
    return "{{ " + print_expression(Literal(value=text)) + " }}"


def _print_parts(parts: tuple) -> Iterator[str]:
    """The text of a template's parts. Text parts are literal text (those read from YAML
    never hold a delimiter; those read from Python, such as f-string text, may): adjacent
    ones are joined and escaped, so that Kestra never evaluates them."""
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
            continue
        if text:
            yield escape_text(text, before_tag=True)
            text = ""
        yield print_text(part)
    if text:
        yield escape_text(text)


# --- references ----------------------------------------------------------------------------

_OUTPUTS = re.compile(
    r"""(?<![\w.])outputs\s*(?:\.\s*([^\W\d]\w*)|\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\])""",
    re.S,
)
_TAG = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}\Z", re.S)


def _references_in_raw(text: str) -> set[str]:
    """Task references inside a part kept verbatim: parsed when the expression can be found,
    else found by pattern."""
    if text.startswith("{#") or _BLOCK_START.match(text):
        return set()
    body: str | None = None
    if text.startswith("{{") and text.endswith("}}"):
        body = text[2:-2].strip("-")
    else:
        tag = _TAG.match(text)
        if tag is not None:
            name, rest = tag.groups()
            if name in ("if", "elseif", "set", "for"):
                body = rest
                if name == "set":
                    body = rest.split("=", 1)[1] if "=" in rest else None
                elif name == "for":
                    body = rest.split(" in ", 1)[1] if " in " in rest else None
    if body is not None:
        try:
            return task_references(parse_expression(body))
        except PebbleSyntaxError:
            pass
    return {
        m.group(1) or _decode_string("'" + (m.group(2) or m.group(3) or "") + "'")
        for m in _OUTPUTS.finditer(text)
    }


def task_references_in_text(text: str) -> set[str]:
    """Ids of the tasks whose outputs a YAML string value reads, including inside tags and
    parts that could not be parsed (but not inside ``{% raw %}`` blocks or comments)."""
    expr, _ = parse_text(text)
    if not isinstance(expr, Template):
        return set()
    found: set[str] = set()
    for part in expr.parts:
        if isinstance(part, Interpolation):
            found |= task_references(part.expr)
        elif isinstance(part, Raw):
            found |= _references_in_raw(part.text)
    return found
