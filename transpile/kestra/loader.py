"""Bytes to YAML data for the Kestra reader, safe against hostile input.

This is the only place that parses Kestra YAML. It never raises on bad input: every failure
becomes a :class:`~ir.diagnostics.Diagnostic`. Data is loaded with ruamel.yaml in round-trip
mode, so mappings and sequences stay ``CommentedMap``/``CommentedSeq`` and keep the line and
column of every key and value; :meth:`Document.span` turns a path into a :class:`~ir.base.Span`.
Scalars are converted to plain builtins (``str``, ``int``, ``float``, ``bool``, ``None``,
``datetime.datetime``/``datetime.date``); unknown-tag scalars stay ``TaggedScalar``.

Limits (module constants) keep hostile files cheap to reject:

* :data:`MAX_INPUT_BYTES`: larger inputs are refused before parsing (before reading, for files).
* :data:`MAX_DEPTH`: collection nesting. Flow collections (``[[[...]]]``) are bounded by a
  pre-scan of the text, because ruamel's scanner is quadratic in open flow levels; block
  nesting is bounded while composing, before ruamel's recursive composer and constructor can
  exhaust the Python stack.
* :data:`MAX_EXPANDED_NODES`: the node count of a file as if every alias were expanded
  ("billion laughs"), counted while composing; recursive aliases are refused outright.
* :data:`MAX_KEY_DEPTH`: nesting of collections used as mapping keys, which ruamel hashes
  in exponential time.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, merge_attrib
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic

from ..project import decode_utf8, read_input, too_large

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "MAX_INPUT_BYTES",
    "MAX_KEY_DEPTH",
    "Document",
    "load_documents",
    "read_file",
]

# ruamel's round-trip loader is pure Python: about 40 us per node (up to 100 us inside deeply
# nested flow collections) and 0.4-1.3 s per MiB of text without nodes. With these limits the
# slowest input found loads or is refused in about 2 s; real flows are a few KiB, a few hundred
# nodes (431 at most in the Kestra corpus) and a few dozen levels deep.
MAX_INPUT_BYTES = 1024 * 1024
"""Largest accepted input, in bytes of UTF-8 (after a BOM)."""

MAX_EXPANDED_NODES = 20_000
"""Most nodes per file, counting every alias as a full copy of what it refers to."""

MAX_DEPTH = 100
"""Deepest accepted nesting of mappings and sequences (the root collection is level 1).

ruamel composes and constructs recursively, about four Python frames per level, so 100 levels
use some 400 frames and leave callers over 500 of the default recursion limit of 1000."""

MAX_KEY_DEPTH = 2
"""How deeply collections used as mapping keys (``? {a: b}``) may nest inside each other.

ruamel's cost grows as 3**depth for such keys (16 levels of ``? ? ...`` take a minute), and
Kestra flows only ever use string keys."""


@dataclass(frozen=True)
class Document:
    """One non-empty YAML document of a file, with positions for every value in it."""

    data: Any
    """Round-trip data: ``CommentedMap``/``CommentedSeq`` containers around plain scalars."""
    index: int
    """0-based position of the document in the file, counting skipped empty documents."""
    file: str | None = None
    line: int = 1
    """1-based line where the document's root node starts."""
    col: int = 1
    """1-based column where the document's root node starts."""

    def span(self, path: tuple[str | int, ...] = (), *, key: bool = False) -> Span:
        """Where the value at ``path`` (or, with ``key=True``, its key) is written.

        ``path`` holds mapping keys (usually strings; any key the data holds works) and
        sequence indexes from the root, e.g. ``("tasks", 0, "message")``. If the path does not
        exist, the position is that of the deepest existing ancestor; :attr:`Span.path` always
        names the requested path as a JSON pointer (``"/tasks/0/message"``, ``""`` for the
        root). A value reached through an alias is reported at the anchored node; a key that
        came from a ``<<`` merge, at its source.
        """
        line, col = self.line, self.col
        node = self.data
        for depth, step in enumerate(path):
            want_key = key and depth == len(path) - 1
            if isinstance(node, CommentedMap):
                try:
                    if step not in node:
                        break
                except TypeError:  # unhashable step
                    break
                where = _entry_position(node, step, want_key)
                child = OrderedDict.__getitem__(node, step)
            elif isinstance(node, CommentedSeq):
                if type(step) is not int or not 0 <= step < len(node):
                    break
                where = _lc_item(node, step)
                child = list.__getitem__(node, step)
            else:
                break
            if where is None:
                break
            line, col = where[0] + 1, where[1] + 1
            node = child
        return Span(file=self.file, line=line, col=col, path=_pointer(path))


def load_documents(
    source: bytes | str, file: str | None = None
) -> tuple[list[Document], list[Diagnostic]]:
    """Parse every document of a YAML stream.

    Returns the non-empty documents (a document that is only comments or ``null`` is skipped)
    and the diagnostics. Loading is all or nothing: when there is any diagnostic, no document
    is returned. Never raises on bad input.
    """
    where = Span(file=file)
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        if len(raw) > MAX_INPUT_BYTES + len(codecs.BOM_UTF8):
            return [], [_too_large(where, len(raw))]
        text, problem = decode_utf8(raw, file)
        if problem is not None:
            return [], [problem]
    elif isinstance(source, str):
        text = source[1:] if source.startswith("\ufeff") else source
    else:
        return [], [codes.F001.at(where, what="input", reason=f"not text: {type(source)!r}")]
    if len(text) > MAX_INPUT_BYTES:  # cheap bound first: a character is at least one byte
        return [], [_too_large(where, len(text))]
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        return [], [_too_large(where, size)]

    overflow = _flow_overflow(text, MAX_DEPTH)
    if overflow is not None:
        line, col = _line_col(text, overflow)
        return [], [codes.F005.at(Span(file=file, line=line, col=col), reason=_DEEP)]
    try:
        return _load(text, file), []
    except _Refused as exc:
        return [], [codes.F005.at(_mark_span(file, exc.mark), reason=exc.reason)]
    except _DuplicateKey as exc:
        hint = f"first defined at line {exc.first + 1}" if exc.first is not None else None
        span = _mark_span(file, exc.problem_mark)
        return [], [codes.K101.at(span, hint=hint, key=exc.key)]
    except ReaderError as exc:
        position = exc.position if isinstance(exc.position, int) else 0
        line, col = _line_col(text, position)
        reason = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        return [], [codes.K100.at(Span(file=file, line=line, col=col), reason=reason)]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = _reason(exc)
        hint = _TAB_HINT if "'\\t'" in reason else None
        return [], [codes.K100.at(_mark_span(file, mark), hint=hint, reason=reason)]
    except RecursionError:
        return [], [codes.F005.at(where, reason="nesting too deep for the YAML parser")]
    except MemoryError:
        return [], [codes.F005.at(where, reason="out of memory while loading")]
    except YAMLError as exc:
        return [], [codes.K100.at(where, reason=_first_line(str(exc)) or type(exc).__name__)]
    except Exception as exc:  # ruamel has raised TypeError/ValueError/... on odd input
        return [], [codes.K100.at(where, reason=_first_line(f"{type(exc).__name__}: {exc}"))]


def read_file(path: Path | str) -> tuple[list[Document], list[Diagnostic]]:
    """Read a flow file and :func:`load_documents` it. Never raises on a bad path.

    Only regular files are read (no directories, FIFOs or devices); the size limit is checked
    with ``fstat`` before reading, and the read itself stops one byte past the limit
    (:func:`transpile.project.read_input`).
    """
    raw, problem = read_input(path, MAX_INPUT_BYTES)
    if problem is not None:
        return [], [problem]
    return load_documents(raw, str(os.fspath(path)))


# --- parsing -------------------------------------------------------------------------------

_DEEP = f"nesting deeper than {MAX_DEPTH} levels"
_TAB_HINT = (
    "ruamel.yaml accepts tabs only inside quoted and block scalars, not in or after an "
    "unquoted value nor as indentation"
)


class _Refused(Exception):
    """A safety limit was hit at ``mark``."""

    def __init__(self, reason: str, mark: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mark = mark


class _DuplicateKey(MarkedYAMLError):
    def __init__(self, key: Any, mark: Any, first: int | None) -> None:
        super().__init__(problem=f"duplicate key {key!r}", problem_mark=mark)
        self.key = key
        self.first = first


class _GuardedComposer(Composer):
    """ruamel's composer plus the depth, alias-expansion and collection-key limits.

    ``_expanded`` counts nodes as if aliases were copied: +1 per new node, +size of the target
    per alias. The size of each finished node is kept by ``id`` (per document, while its nodes
    are alive), so counting stays linear in the input however the aliases nest. ``_key_depth``
    keeps, for finished nodes that have any, how deeply collection keys nest inside them.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # a warning per reused anchor would flood stderr
        self.roots: list[tuple[int, int]] = []
        self._nesting = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}
        self._key_depth: dict[int, int] = {}

    def compose_document(self) -> Any:
        self._sizes, self._key_depth = {}, {}
        node = super().compose_document()
        self._sizes, self._key_depth = {}, {}
        self.roots.append((node.start_mark.line, node.start_mark.column))
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = super().compose_node(parent, index)
            size = self._sizes.get(id(target))
            if size is None:  # anchored node still being composed
                raise _Refused(f"alias *{event.anchor} is recursive", event.start_mark)
            self._count(size, event)
            return target
        nested = isinstance(event, (MappingStartEvent, SequenceStartEvent))
        if nested:
            self._nesting += 1
            if self._nesting > MAX_DEPTH:
                raise _Refused(_DEEP, event.start_mark)
        before = self._expanded
        self._count(1, event)
        try:
            node = super().compose_node(parent, index)
        finally:
            if nested:
                self._nesting -= 1
        self._sizes[id(node)] = self._expanded - before
        if nested:
            self._check_keys(node)
        return node

    def _check_keys(self, node: Any) -> None:
        # ruamel hashes a mapping used as a key by re-hashing its keys, uncached, several times
        # per level while constructing, so keys that are mappings of mappings cost 3**depth.
        depth = 0
        if isinstance(node, MappingNode):
            for key, value in node.value:
                key_depth = self._key_depth.get(id(key), 0)
                if not isinstance(key, ScalarNode):
                    key_depth += 1
                    if key_depth > MAX_KEY_DEPTH:
                        reason = f"collections used as keys nest more than {MAX_KEY_DEPTH} deep"
                        raise _Refused(reason, key.start_mark)
                depth = max(depth, key_depth, self._key_depth.get(id(value), 0))
        else:
            depth = max((self._key_depth.get(id(item), 0) for item in node.value), default=0)
        if depth:
            self._key_depth[id(node)] = depth

    def _count(self, size: int, event: Any) -> None:
        self._expanded += size
        if self._expanded > MAX_EXPANDED_NODES:
            raise _Refused(
                f"more than {MAX_EXPANDED_NODES:,} nodes with aliases expanded",
                event.start_mark,
            )


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that names duplicate keys and locates odd scalar errors."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (YAMLError, RecursionError, MemoryError):
            raise
        except Exception as exc:  # e.g. int('1' * 5000) or a bad timestamp: ValueError
            raise _located(exc, node) from None

    def construct_mapping(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().construct_mapping(node, *args, **kwargs)
        except (YAMLError, RecursionError, MemoryError):
            raise
        except Exception as exc:  # e.g. an unhashable key: TypeError
            raise _located(exc, node) from None

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any):
        if key in mapping:
            raise _DuplicateKey(_plain(key), key_node.start_mark, _key_line(mapping, key))
        return True

    def check_set_key(self, node: Any, key_node: Any, setting: Any, key: Any) -> None:
        if key in setting:
            raise _DuplicateKey(_plain(key), key_node.start_mark, None)


def _load(text: str, file: str | None) -> list[Document]:
    yaml = YAML(typ="rt")
    yaml.Composer = _GuardedComposer
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    composer = yaml.composer
    documents = []
    for index, data in enumerate(yaml.load_all(text)):
        if data is None:
            continue
        line, col = composer.roots[index]
        documents.append(Document(_plainify(data), index, file, line + 1, col + 1))
    return documents


def _plainify(data: Any) -> Any:
    """Replace ruamel's scalar subclasses by builtins in place, keeping the containers."""
    if not isinstance(data, (CommentedMap, CommentedSeq)):
        return _plain(data)
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CommentedMap):
            items = list(OrderedDict.items(node))
            if any(_plain(k) is not k for k, _ in items):
                for k, _ in items:  # re-insert every key so that the order is kept
                    OrderedDict.__delitem__(node, k)
                for k, v in items:
                    OrderedDict.__setitem__(node, _plain(k), v)
            for k, v in items:
                if isinstance(v, (CommentedMap, CommentedSeq)):
                    stack.append(v)
                else:
                    plain = _plain(v)
                    if plain is not v:
                        OrderedDict.__setitem__(node, _plain(k), plain)
        else:
            for i, v in enumerate(node):
                if isinstance(v, (CommentedMap, CommentedSeq)):
                    stack.append(v)
                else:
                    plain = _plain(v)
                    if plain is not v:
                        list.__setitem__(node, i, plain)
    return data


_BUILTIN = (str, int, float, bool, bytes, type(None), _dt.date, _dt.datetime)


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _BUILTIN:
        return value
    if isinstance(value, ScalarBoolean):  # an int subclass, so test it before int
        return bool(value)
    if isinstance(value, _dt.datetime):
        return _dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo,
            fold=value.fold,
        )
    if isinstance(value, _dt.date):
        return _dt.date(value.year, value.month, value.day)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    return value


# --- flow-nesting pre-scan -----------------------------------------------------------------

# Whatever may precede a node on a block line: indentation, "- ", "? ", ": ", document
# markers, anchors and tags.
_NODE_PREFIX = re.compile(r"(?:[ \t]+|(?:---|\.\.\.|[-?:])(?=[ \t\r]|$)|[&!][^ \t\r\n]*)*")
# Where a plain scalar on a block line ends: a value indicator or a comment.
_PLAIN_END = re.compile(r":(?=[ \t\r]|$)|[ \t]#")
_FLOW_TOKEN = re.compile(r"""[][{}"'#]""")
_DOUBLE_QUOTED_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SINGLE_QUOTED_REST = re.compile(r"[^']*(?:''[^']*)*'")
_INDENT = re.compile(r"[ \t]*")
_SPACE = " \t\r\n"


def _flow_overflow(text: str, limit: int) -> int | None:
    """Index of the first ``[``/``{`` nested deeper than ``limit`` flow levels, if any.

    A light YAML tokenizer: it skips comments, quoted scalars and block scalars, and counts
    brackets only inside flow collections, where plain scalars cannot hold them. Where it is
    unsure it gives up (returns None) and leaves the exact check to the composer.
    """
    if text.count("[") + text.count("{") <= limit:
        return None
    n = len(text)
    pos = 0
    scalar_indent = -1  # while >= 0, more-indented lines belong to a block scalar
    while pos < n:
        eol = _eol(text, pos)
        body = _indent_end(text, pos, eol)
        indent = body - pos
        if scalar_indent >= 0:
            if body >= eol or text[body] == "\r" or indent > scalar_indent:
                pos = eol + 1
                continue
            scalar_indent = -1
        p = body
        while True:  # node starts on this line
            m = _NODE_PREFIX.match(text, p, eol)
            p = m.end() if m else p
            if p >= eol or text[p] in "#\r":
                break
            c = text[p]
            if c in "|>":
                scalar_indent = indent
                break
            if c in "[{":
                end, overflow = _skip_flow(text, p, limit)
                if overflow is not None:
                    return overflow
                if end < 0:
                    return None
            elif c in "\"'":
                end = _skip_quoted(text, p)
                if end < 0:
                    return None
            else:
                m = _PLAIN_END.search(text, p, eol)
                if m is None or text[m.start()] != ":":
                    break
                p = m.end()
                continue
            # after a flow collection or a quoted scalar: maybe ": value" on the same line
            eol = _eol(text, end)
            while end < eol and text[end] in " \t":
                end += 1
            if end < eol and text[end] == ":" and (end + 1 >= eol or text[end + 1] in _SPACE):
                p = end + 1
                continue
            break
        pos = eol + 1
    return None


def _skip_flow(text: str, start: int, limit: int) -> tuple[int, int | None]:
    """Scan the flow collection opening at ``start``: (index after its end, overflow index)."""
    depth = 0
    p = start
    while True:
        m = _FLOW_TOKEN.search(text, p)
        if m is None:
            return -1, None
        j = m.start()
        c = text[j]
        p = j + 1
        if c in "[{":
            depth += 1
            if depth > limit:
                return -1, j
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return p, None
        elif c == "#":
            if text[j - 1] in _SPACE:
                p = _eol(text, j)
        elif text[j - 1] in "[{,:?" + _SPACE:
            p = _skip_quoted(text, j)
            if p < 0:
                return -1, None


def _skip_quoted(text: str, start: int) -> int:
    """Index after the quoted scalar opening at ``start``, or -1 if it never closes."""
    rest = _DOUBLE_QUOTED_REST if text[start] == '"' else _SINGLE_QUOTED_REST
    m = rest.match(text, start + 1)
    return m.end() if m else -1


def _eol(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _indent_end(text: str, pos: int, eol: int) -> int:
    return _INDENT.match(text, pos, eol).end()


# --- helpers --------------------------------------------------------------------------------


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``, counting line breaks like ruamel does."""
    head = text[:index]
    line = head.count("\n") + head.count("\r") - head.count("\r\n") + 1
    start = max(head.rfind("\n"), head.rfind("\r")) + 1
    return line, index - start + 1


def _mark_span(file: str | None, mark: Any) -> Span:
    if mark is None:
        return Span(file=file)
    return Span(file=file, line=mark.line + 1, col=mark.column + 1)


def _too_large(where: Span, size: int) -> Diagnostic:
    return too_large(where, size, MAX_INPUT_BYTES)


def _reason(exc: MarkedYAMLError) -> str:
    text = exc.problem or exc.context or type(exc).__name__
    return " ".join(str(text).split())


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= 200 else line[:197] + "..."


def _located(exc: Exception, node: Any) -> ConstructorError:
    reason = _first_line(f"cannot build value: {exc}")
    return ConstructorError(None, None, reason, node.start_mark)


def _key_line(mapping: Any, key: Any) -> int | None:
    try:
        return int(mapping.lc.data[key][0])
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _entry_position(node: CommentedMap, step: Any, want_key: bool) -> tuple[int, int] | None:
    """Position of a key or value of ``node``, following ``<<`` merges to the source map."""
    seen: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        try:
            entry = current.lc.data[step]
            return (entry[0], entry[1]) if want_key else (entry[2], entry[3])
        except (AttributeError, KeyError, IndexError, TypeError):
            pass
        pending.extend(m for m in getattr(current, merge_attrib, ()) if isinstance(m, CommentedMap))
    return None


def _lc_item(node: CommentedSeq, index: int) -> tuple[int, int] | None:
    try:
        entry = node.lc.data[index]
        return entry[0], entry[1]
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
