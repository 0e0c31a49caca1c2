"""A YAML emitter for the documents the Kestra writer builds.

The writer's documents are plain data: mappings with string keys, lists, strings, numbers,
booleans, None and datetimes, always in block style. For that shape a direct emitter is about
ten times faster than ruamel's general one (whose per-character scalar analysis dominated the
conversion of repos with large task scripts) and its output is the layout ruamel gives with
``indent(mapping=2, sequence=4, offset=2)``.

Every string goes through :func:`scalar`, which picks the first style that reads back as exactly
the same string in YAML 1.1 and 1.2 alike (Kestra reads YAML with Jackson, whose resolution is
closer to 1.1): plain, then literal block (multi-line text), single-quoted, double-quoted with
escapes. Anything a style cannot hold falls through to double quotes, which can hold any string.
A round-trip property test (``tests/test_kestra_emit.py``) holds it to that.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

__all__ = ["emit_documents", "scalar"]

# Characters a YAML document may contain unescaped, minus the ones YAML reads as line breaks
# (\x85, \u2028, \u2029) and the byte-order mark, which only double quotes can escape.
_NEEDS_ESCAPE = re.compile(
    "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_INDICATOR_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
# Plain scalars that YAML 1.1 or 1.2 resolves to something other than a string.
_IMPLICIT = re.compile(r"""(?x)^(?:
        true|True|TRUE|false|False|FALSE|~|null|Null|NULL|<<|=
      | [-+]?(?:
            0b[01_]+ | 0o?[0-7_]+ | 0x[0-9a-fA-F_]+
          | [0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
          | \.[0-9_]+(?:[eE][-+]?[0-9]+)?
          | \.(?:inf|Inf|INF|nan|NaN|NAN)
        )
      | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt\s].*)?
    )$""")
# YAML 1.1 booleans: Kestra's Jackson reads them as strings, other YAML 1.1 tools do not, so
# values are quoted; keys are property names and stay plain.
_BOOLEAN_1_1 = frozenset("y Y yes Yes YES n N no No NO on On ON off Off OFF".split())
_DOUBLE_ESCAPES = {
    "\0": "\\0",
    "\x07": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
_DOUBLE_SPECIAL = re.compile('["\\\\]|' + _NEEDS_ESCAPE.pattern)
_LONG_KEY = 128  # longer keys are written in the explicit `? key` form, as ruamel does


def emit_documents(documents: list[Any]) -> str:
    """The YAML stream of ``documents`` (``---`` between them), each ending in a newline."""
    return "---\n".join(_document(document) for document in documents)


def _document(value: Any) -> str:
    if isinstance(value, dict) and value:
        return "\n".join(_mapping(value, 0)) + "\n"
    if isinstance(value, list) and value:
        return "\n".join(_sequence(value, 0)) + "\n"
    return "".join(_inline(value, 0)) + "\n"


def _mapping(mapping: dict, col: int) -> list[str]:
    """Lines of a block mapping whose keys start at column ``col``; the first line carries
    no indentation (the caller has placed it)."""
    lines: list[str] = []
    pad = " " * col
    for key, value in mapping.items():
        prefix = pad if lines else ""
        if not isinstance(key, str):
            head = f"{prefix}{_inline(key, col + 2)}:"
            if isinstance(key, (dict, list)):
                raise TypeError("mapping keys must be scalars")
        elif len(key) > _LONG_KEY or "\n" in key:
            lines.append(f"{prefix}? {scalar(key, col + 2, key=True)}")
            head = f"{pad}:"
        else:
            head = f"{prefix}{scalar(key, col + 2, key=True)}:"
        if isinstance(value, dict) and value:
            lines.append(head)
            _nest(lines, _mapping(value, col + 2), col + 2)
        elif isinstance(value, list) and value:
            lines.append(head)
            _nest(lines, _sequence(value, col + 2), col + 2)
        elif value is None:
            lines.append(head)
        else:
            lines.append(f"{head} {_inline(value, col + 2)}")
    return lines


def _nest(lines: list[str], nested: list[str], col: int) -> None:
    lines.append(" " * col + nested[0])
    lines.extend(nested[1:])


def _sequence(items: list, col: int) -> list[str]:
    """Lines of a block sequence whose dashes are at column ``col``; the first line carries
    no indentation."""
    lines: list[str] = []
    pad = " " * col
    for item in items:
        prefix = pad if lines else ""
        if isinstance(item, dict) and item:
            nested = _mapping(item, col + 2)
            lines.append(f"{prefix}- {nested[0]}")
            lines.extend(nested[1:])
        elif isinstance(item, list) and item:
            nested = _sequence(item, col + 4)
            lines.append(f"{prefix}-   {nested[0]}")
            lines.extend(nested[1:])
        elif item is None:
            lines.append(f"{prefix}- null")
        else:
            lines.append(f"{prefix}- {_inline(item, col + 2)}")
    return lines


def _inline(value: Any, indent: int) -> str:
    """A scalar or empty collection as it follows ``key: `` or ``- ``; a literal block's
    content lines are indented to ``indent``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return scalar(value, indent)
    if isinstance(value, dt.datetime):
        text = value.isoformat()  # with a 'T': Kestra parses it with java.time
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text:  # 1e+20 is a float in YAML 1.2 only
        mantissa, _, exponent = text.partition("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def scalar(text: str, indent: int, *, key: bool = False) -> str:
    """``text`` as a YAML scalar that reads back as the same string; a literal block (never
    for keys) has its content lines at column ``indent``."""
    if _plain_ok(text, key):
        return text
    if not key and "\n" in text and _literal_ok(text):
        return _literal(text, indent)
    templated = not key and text.startswith(("{{", "{%"))  # read as templates: say so
    # Single quotes when nothing needs escaping; text with a quote of its own reads better
    # in double quotes (ruamel's choice too).
    if "\n" not in text and "'" not in text and not templated and not _NEEDS_ESCAPE.search(text):
        return "'" + text + "'"
    return _double(text)


def _plain_ok(text: str, key: bool) -> bool:
    if not text or text[0] == " " or text[-1] == " " or _NEEDS_ESCAPE.search(text):
        return False
    first = text[0]
    if first in _INDICATOR_START and not (first in "-?:" and len(text) > 1 and text[1] != " "):
        return False
    if text.startswith(("---", "...")) or "\t" in text:
        return False
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    return not _IMPLICIT.match(text) and (key or text not in _BOOLEAN_1_1)


def _literal_ok(text: str) -> bool:
    # A literal block cannot hold trailing spaces on a line, a leading blank or indented
    # first line, or characters that need escaping, without changing the value.
    if text.startswith((" ", "\n")) or "\r" in text or "\t" in text:
        return False
    if _NEEDS_ESCAPE.search(text.replace("\n", "")):
        return False
    return all(line == line.rstrip(" ") for line in text.split("\n"))


def _literal(text: str, indent: int) -> str:
    chomp = "+" if text.endswith("\n\n") else "" if text.endswith("\n") else "-"
    lines = text.split("\n")
    if text.endswith("\n"):
        lines = lines[:-1]
    pad = " " * indent
    return "|" + chomp + "".join("\n" + (pad + line if line else "") for line in lines)


def _double(text: str) -> str:
    return '"' + _DOUBLE_SPECIAL.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _DOUBLE_ESCAPES.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"
