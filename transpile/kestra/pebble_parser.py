"""Pebble expressions parsed with lark (``grammars/pebble.lark``) and lowered to IR; the other
half of :mod:`transpile.kestra.pebble`, which loads it on the first expression it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

from grammars import compiled
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
    Keyword,
    ListValue,
    Literal,
    LoopItem,
    MapEntry,
    MapValue,
    Name,
    Negate,
    Not,
    Now,
    Param,
    Secret,
    TaskOutput,
    Test,
    Var,
)

from .pebble import (
    _BINARY,
    _CONTEXT_ROOTS,
    _KV_ARGUMENTS,
    _LITERAL_WORDS,
    _LOOP_FIELDS,
    _PREC_FILTER,
    _PREC_TEST,
    PebbleSyntaxError,
    _decode_string,
)


@dataclass(frozen=True)
class _Bare:
    """A bare name at the start of a postfix chain, before its meaning is known."""

    name: str


def _is_number(expr: Any) -> bool:
    return (
        isinstance(expr, Literal)
        and isinstance(expr.value, (int, float))
        and not isinstance(expr.value, bool)
    )


class _Lower(Transformer):
    """Builds IR nodes while the LALR parser reduces (no parse tree is kept)."""

    # literals and atoms

    def name(self, children: list[Token]) -> _Bare:
        return _Bare(str(children[0]))

    def string(self, children: list[Token]) -> Literal:
        return Literal(value=_decode_string(str(children[0])))

    def number(self, children: list[Token]) -> Literal:
        text = str(children[0])
        if text.endswith("L"):
            return Literal(value=int(text[:-1]))
        return Literal(value=float(text) if "." in text else int(text))

    def paren(self, children: list[Any]) -> Any:
        return children[0]

    def list(self, children: list[Any]) -> ListValue:
        return ListValue(items=tuple(c for c in children if c is not None))

    def map(self, children: list[Any]) -> MapValue:
        return MapValue(entries=tuple(c for c in children if c is not None))

    def entry(self, children: list[Any]) -> MapEntry:
        key, value = children
        if not isinstance(key, Literal):
            raise PebbleSyntaxError("map keys must be literals", 0)
        return MapEntry(key=key.value, value=value)

    # postfix

    def attr(self, children: list[Token]) -> tuple[str, Any, int]:
        return ("attr", str(children[0]), children[0].start_pos or 0)

    def index(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("index", children[0], 0)

    def call(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("call", children[0], 0)

    def arguments(self, children: list[Any]) -> tuple[tuple[Any, ...], tuple[Keyword, ...]]:
        args: list[Any] = []
        kwargs: list[Keyword] = []
        for child in children:
            if child is None:
                continue
            if isinstance(child, Keyword):
                kwargs.append(child)
            elif kwargs:
                raise PebbleSyntaxError("positional argument after a named one", 0)
            else:
                args.append(child)
        return tuple(args), tuple(kwargs)

    def keyword(self, children: list[Any]) -> Keyword:
        return Keyword(name=str(children[0]), value=children[1])

    def postfix(self, children: list[Any]) -> Any:
        atom, trailers = children[0], children[1:]
        if isinstance(atom, _Bare):
            return _lower_reference(atom, trailers)
        return _apply(atom, trailers)

    # unary

    def not_(self, children: list[Any]) -> Not:
        return Not(operand=children[1])

    def negate(self, children: list[Any]) -> Any:
        operand = children[1]
        if _is_number(operand):
            return Literal(value=-operand.value)
        return Negate(operand=operand)

    def plus(self, children: list[Any]) -> Any:
        return children[1]

    # operators

    def binary(self, children: list[Any]) -> tuple[str, Any, Any]:
        spelling = " ".join(str(children[0]).split())
        return ("bin", spelling, children[1])

    def filter(self, children: list[Any]) -> tuple[str, Any, Any]:
        args, kwargs = children[1] if children[1] is not None else ((), ())
        return ("filter", str(children[0]), (args, kwargs))

    def test(self, children: list[Any]) -> tuple[str, Any, Any]:
        negated = str(children[0]) != "is"
        args, kwargs = children[2] if children[2] is not None else ((), ())
        if kwargs:
            raise PebbleSyntaxError(
                "named arguments to a test are not supported", children[1].start_pos or 0
            )
        return ("test", str(children[1]), (negated, args))

    def chain(self, children: list[Any]) -> Any:
        if len(children) == 1:
            return children[0]
        return _climb(children[0], children[1:])

    def conditional(self, children: list[Any]) -> Conditional:
        return Conditional(condition=children[0], then=children[1], otherwise=children[2])


def _climb(first: Any, ops: list[tuple[str, Any, Any]]) -> Any:
    """Pebble's precedence climbing over a flat ``operand (op operand | filter | test)*``."""
    pos = 0

    def parse(min_prec: int, left: Any) -> Any:
        nonlocal pos
        while pos < len(ops):
            kind, spelling, payload = ops[pos]
            prec = (
                _PREC_FILTER
                if kind == "filter"
                else _PREC_TEST if kind == "test" else (_BINARY[spelling][0])
            )
            if prec < min_prec:
                break
            pos += 1
            if kind == "filter":
                args, kwargs = payload
                left = Filter(value=left, name=spelling, args=args, kwargs=kwargs)
            elif kind == "test":
                negated, args = payload
                left = Test(value=left, name=spelling, negated=negated, args=args)
            else:
                left = _binary(spelling, left, parse(prec + 1, payload))
        return left

    return parse(0, first)


def _binary(spelling: str, left: Any, right: Any) -> Any:
    _, kind, op = _BINARY[spelling]
    if kind == "bin":
        return BinOp(op=op, left=left, right=right)
    if kind == "cmp":
        return Compare(op=op, left=left, right=right)
    if kind == "contains":
        return Compare(op="in", left=right, right=left)
    return Call(name="range", args=(left, right))


def _static_prefix(trailers: list[Any]) -> tuple[list[str], list[Any]]:
    """Split leading ``.name`` / ``['key']`` accessors (a static path) from the rest."""
    segments: list[str] = []
    for i, (kind, value, _) in enumerate(trailers):
        if kind == "attr" and not (i + 1 < len(trailers) and trailers[i + 1][0] == "call"):
            segments.append(value)
        elif kind == "index" and isinstance(value, Literal) and isinstance(value.value, str):
            segments.append(value.value)
        else:
            return segments, trailers[i:]
    return segments, []


def _attrs(obj: Any, names: list[str]) -> Any:
    for name in names:
        obj = Attr(obj=obj, name=name)
    return obj


def _apply(obj: Any, trailers: list[Any]) -> Any:
    """Generic accessors on a computed value."""
    for i, (kind, value, pos) in enumerate(trailers):
        if kind == "attr":
            if i + 1 < len(trailers) and trailers[i + 1][0] == "call":
                raise PebbleSyntaxError(f"method call .{value}() is not supported", pos)
            obj = Attr(obj=obj, name=value)
        elif kind == "index":
            if isinstance(value, Literal) and isinstance(value.value, str):
                obj = Attr(obj=obj, name=value.value)
            else:
                obj = Index(obj=obj, index=value)
        else:
            raise PebbleSyntaxError("only names can be called", pos)
    return obj


def _loop_item(segments: list[str], depth: int) -> Any:
    """``taskrun.value…`` once the ``taskrun`` has been found ``depth`` loops out."""
    if len(segments) >= 2 and segments[0] == "taskrun" and segments[1] in _LOOP_FIELDS:
        return _attrs(LoopItem(field=segments[1], depth=depth), segments[2:])
    return None


def _lower_reference(bare: _Bare, trailers: list[Any]) -> Any:
    """Give meaning to ``name(.segment | [index] | (args))*``."""
    name = bare.name
    if name in _LITERAL_WORDS:
        return _apply(Literal(value=_LITERAL_WORDS[name]), trailers)
    if trailers and trailers[0][0] == "call":
        args, kwargs = trailers[0][1]
        return _apply(_lower_call(name, args, kwargs), trailers[1:])
    segments, rest = _static_prefix(trailers)
    if name in ("inputs", "vars", "envs") and segments:
        node = {"inputs": Param, "vars": Var, "envs": Env}[name](name=segments[0])
        return _apply(_attrs(node, segments[1:]), rest)
    if name == "outputs" and segments:
        return _apply(TaskOutput(task=segments[0], path=tuple(segments[1:])), rest)
    if name == "taskrun" and segments and segments[0] in _LOOP_FIELDS:
        return _apply(_attrs(LoopItem(field=segments[0]), segments[1:]), rest)
    if name == "parent":
        item = _loop_item(segments, 1)
        if item is not None:
            return _apply(item, rest)
    if (
        name == "parents"
        and not segments
        and rest
        and rest[0][0] == "index"
        and (_is_number(rest[0][1]) and isinstance(rest[0][1].value, int) and rest[0][1].value >= 0)
    ):
        inner, after = _static_prefix(rest[1:])
        item = _loop_item(inner, rest[0][1].value + 1)
        if item is not None:
            return _apply(item, after)
    if name in _CONTEXT_ROOTS:
        return _apply(ExecutionInfo(root=name, path=tuple(segments)), rest)
    return _apply(_attrs(Name(name=name), segments), rest)


def _lower_call(name: str, args: tuple[Any, ...], kwargs: tuple[Keyword, ...]) -> Any:
    def text(expr: Any) -> bool:
        return isinstance(expr, Literal) and isinstance(expr.value, str)

    if name == "secret" and len(args) == 1 and not kwargs and text(args[0]):
        return Secret(name=args[0].value)
    if name == "now" and not args and not kwargs:
        return Now()
    if name == "kv" and len(args) <= len(_KV_ARGUMENTS):
        # Pebble binds positional arguments to the declared names key, namespace, errorOnMissing
        bound: dict[str, Any] = dict(zip(_KV_ARGUMENTS, args, strict=False))
        for kw in kwargs:
            if kw.name in bound:
                break
            bound[kw.name] = kw.value
        else:
            if (
                set(bound) <= {"key", "namespace"}
                and text(bound.get("key"))
                and ("namespace" not in bound or text(bound["namespace"]))
            ):
                namespace = bound.get("namespace")
                return KV(
                    key=bound["key"].value,
                    namespace=namespace.value if namespace is not None else None,
                )
    return Call(name=name, args=args, kwargs=kwargs)


_parser: Lark | None = None


def _get_parser() -> Lark:
    global _parser
    if _parser is None:
        _parser = _from_tables() or Lark(
            compiled.PEBBLE.read_text(encoding="utf-8"),
            **compiled.LARK_OPTIONS,
            transformer=_Lower(),
        )
    return _parser


def _from_tables() -> Lark | None:
    """The parser from its stored LALR tables (a millisecond, where analysing the grammar
    takes tens), or None when they are stale or this lark cannot load them."""
    tables = compiled.lark_tables()
    if tables is None:
        return None
    try:
        return Lark._load_from_dict(*tables, transformer=_Lower())
    except Exception:  # a lark whose private loader changed: analyse the grammar instead
        return None


def parse(src: str) -> Expr:
    """Read a Pebble expression (the inside of ``{{ }}``) into IR.

    Raises :class:`PebbleSyntaxError` (with the offset in ``src``) when it is not valid Pebble
    or uses a construct the IR does not model (method calls, ``"#{…}"`` interpolation, map
    keys that are not literals)."""
    try:
        return _get_parser().parse(src)
    except PebbleSyntaxError:
        raise
    except UnexpectedEOF as exc:
        raise PebbleSyntaxError(f"unexpected end of expression: {src!r}", len(src)) from exc
    except UnexpectedToken as exc:
        offset = exc.token.start_pos if exc.token.start_pos is not None else len(src)
        found = "end of expression" if exc.token.type == "$END" else repr(str(exc.token))
        raise PebbleSyntaxError(f"unexpected {found} at offset {offset}", offset) from exc
    except UnexpectedCharacters as exc:
        raise PebbleSyntaxError(
            f"unexpected character {src[exc.pos_in_stream]!r} at offset {exc.pos_in_stream}",
            exc.pos_in_stream,
        ) from exc
    except LarkError as exc:  # e.g. a callback error wrapped by lark
        cause = getattr(exc, "orig_exc", None)
        if isinstance(cause, PebbleSyntaxError):
            raise cause from exc
        raise PebbleSyntaxError(str(exc), 0) from exc
