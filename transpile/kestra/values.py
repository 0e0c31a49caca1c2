"""Conversions between YAML values and IR values shared by the Kestra reader and writer:
plain data, ISO-8601 durations and Pebble-aware expressions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ir.expressions import (
    Expr,
    Interpolation,
    ListValue,
    Literal,
    MapEntry,
    MapValue,
    Template,
    from_data,
    to_data,
)

from . import pebble

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def plain(value: Any) -> Any:
    """ruamel's round-trip objects as plain builtins (dict, list, str, int, float, bool,
    None, date/datetime), keeping key order."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.datetime):
        return dt.datetime.fromisoformat(value.isoformat())
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return value


def parse_duration(value: Any) -> dt.timedelta | None:
    """An ISO-8601 duration (``PT10M``, ``P1DT2H``, ``PT0.5S``) as a timedelta, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()  # java.time.Duration.parse ignores case
    match = _DURATION.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    try:
        return dt.timedelta(
            days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
        )
    except OverflowError:  # past what a timedelta holds (some 2.7 million years)
        return None


def format_duration(value: dt.timedelta) -> str:
    """A timedelta as the shortest ISO-8601 duration Kestra reads (``PT1H30M``, ``P1D``)."""
    total = value.total_seconds()
    if total < 0:
        raise ValueError("negative duration")
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "P" + (f"{int(days)}D" if days else "")
    clock = ""
    if hours:
        clock += f"{int(hours)}H"
    if minutes:
        clock += f"{int(minutes)}M"
    if seconds or not (days or hours or minutes):
        clock += f"{seconds:.6f}".rstrip("0").rstrip(".") + "S"
    return text + ("T" + clock if clock else "")


_RAW_OPEN, _RAW_CLOSE = "{% raw %}", "{% endraw %}"
_TEMPLATE_MARKS = ("{{", "{%", "{#")


_ENDRAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")


def escape_literal(text: str) -> str:
    """A literal string as Kestra text that Pebble will not evaluate: text holding template
    delimiters is wrapped in ``{% raw %}…{% endraw %}``; text that itself holds an endraw tag
    is written as a Pebble string literal instead."""
    if not any(mark in text for mark in _TEMPLATE_MARKS):
        return text
    if not _ENDRAW.search(text):
        return f"{_RAW_OPEN}{text}{_RAW_CLOSE}"
    return pebble.print_text(Template(parts=(Interpolation(expr=Literal(value=text)),)))


def _unescape_literal(text: str) -> str | None:
    """The literal inside a whole-string raw block, or None."""
    if text.startswith(_RAW_OPEN) and text.endswith(_RAW_CLOSE):
        inner = text[len(_RAW_OPEN) : -len(_RAW_CLOSE)]
        if not _ENDRAW.search(inner) and escape_literal(inner) == text:
            return inner
    return None


def expr_to_text(expr: Expr) -> str:
    """Print a non-constant expression as Kestra text: templates as they are, any other
    expression as one ``{{ … }}`` interpolation."""
    if isinstance(expr, Template):
        return pebble.print_text(expr)
    return pebble.print_text(Template(parts=(Interpolation(expr=expr),)))


def to_yaml_value(expr: Expr) -> Any:
    """An IR expression as the plain value to write in YAML."""
    data = to_data(expr, expr_to_text)
    return _escape_strings(expr, data)


def _escape_strings(expr: Expr, data: Any) -> Any:
    if isinstance(expr, Literal) and isinstance(data, str):
        return escape_literal(data)
    if isinstance(expr, ListValue):
        return [_escape_strings(e, d) for e, d in zip(expr.items, data, strict=True)]
    if isinstance(expr, MapValue):  # a repeated key keeps its last value, as in to_data
        last = {e.key: e.value for e in expr.entries}
        return {key: _escape_strings(value, data[key]) for key, value in last.items()}
    return data


def from_yaml_value(
    value: Any, problems: list[tuple[tuple, pebble.TemplateProblem]], where: tuple = ()
) -> Expr:
    """A plain YAML value as an IR expression, Pebble parsed in every string; unparseable
    template parts are appended to ``problems`` as (path below the value, problem)."""
    if isinstance(value, dict):
        return MapValue(
            entries=tuple(
                MapEntry(key=k, value=from_yaml_value(v, problems, (*where, k)))
                for k, v in value.items()
            )
        )
    if isinstance(value, list):
        return ListValue(
            items=tuple(from_yaml_value(v, problems, (*where, i)) for i, v in enumerate(value))
        )
    if isinstance(value, str):
        literal = _unescape_literal(value)
        if literal is not None:
            return Literal(value=literal)
        expr, found = pebble.parse_text(value)
        problems.extend((where, p) for p in found)
        return _quoted_literal(expr, value) or expr
    return from_data(value)


def _quoted_literal(expr: Expr, text: str) -> Literal | None:
    """The literal that :func:`escape_literal` wrote as a Pebble string (``{{ '…' }}``)."""
    if isinstance(expr, Template) and len(expr.parts) == 1:
        part = expr.parts[0]
        if isinstance(part, Interpolation) and isinstance(part.expr, Literal):
            value = part.expr.value
            if isinstance(value, str) and escape_literal(value) == text:
                return Literal(value=value)
    return None
