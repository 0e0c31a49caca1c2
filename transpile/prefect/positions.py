"""Source positions and source text of libcst nodes, from one code generation per module.

libcst's ``PositionProvider`` counts lines and columns token by token while it generates the
module's code, and goes through the metadata machinery; on real repos that costs about twice
the parse itself. Here the same code generation only notes, for each node, how many tokens
had been generated when it started and when it ended; token counts become character offsets
(one pass over the token lengths) and offsets become ``line:col`` (a binary search over the
line starts) for the few nodes a reader actually reports. Starts are those of
``PositionProvider``: syntactic positions where libcst records them, else the node's
whitespace-inclusive start.

The recorded extents also give the source of a node without generating it again: what
``Module.code_for_node`` would return is a slice of the module's code, less the enclosing
indentation (which a node generated on its own does not have).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import libcst as cst
from libcst._add_slots import add_slots
from libcst._nodes.internal import CodegenState

__all__ = ["Positions"]

_NEWLINE = re.compile(r"\r\n?|\n")  # what libcst counts as a line break
_NOTHING = nullcontext()


@add_slots
@dataclass(frozen=False)
class _Recorder(CodegenState):
    """A codegen state that notes, by node id, the number of tokens generated when each node
    starts and ends (plain integers: unlike tuples, the garbage collector never scans them)."""

    # `tokens.append` itself (bound in __post_init__) instead of the method: most calls to
    # the state add a token, and this way they run no Python code.
    add_token: Callable[[str], None] = None  # type: ignore[assignment]
    begins: dict[int, int] = field(default_factory=dict)  # whitespace-inclusive starts
    ends: dict[int, int] = field(default_factory=dict)
    syntactic: dict[int, int] = field(default_factory=dict)  # starts libcst calls syntactic
    indented: list[int] = field(default_factory=list)  # where indentation was generated
    # Each change of indentation: where, and the characters of indentation from there on.
    indent_changes: list[int] = field(default_factory=list)
    indent_widths: list[int] = field(default_factory=list)
    popped: bool = False  # the final newline of a module without one is generated, then not

    def __post_init__(self) -> None:
        self.add_token = self.tokens.append

    def increase_indent(self, value: str) -> None:
        self.indent_tokens.append(value)
        self._indent_changed()

    def decrease_indent(self) -> None:
        self.indent_tokens.pop()
        self._indent_changed()

    def _indent_changed(self) -> None:
        self.indent_changes.append(len(self.tokens))
        self.indent_widths.append(sum(map(len, self.indent_tokens)))

    def add_indent_tokens(self) -> None:
        if self.indent_tokens:
            self.indented.append(len(self.tokens))
            self.tokens.extend(self.indent_tokens)

    def pop_trailing_newline(self) -> None:
        self.popped = bool(self.tokens)  # kept: recorded ends may lie after it

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.begins.setdefault(id(node), len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        self.ends.setdefault(id(node), len(self.tokens))

    # libcst calls this as a context manager around a node's syntactic part
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Any:
        if start_node is None:
            self.syntactic[id(node)] = len(self.tokens)
            return _NOTHING
        return _StartOf(self, node, start_node)

    def start(self, key: int) -> int | None:
        """The token count where the node with id ``key`` starts (syntactically, if known)."""
        syntactic = self.syntactic.get(key)
        return self.begins.get(key) if syntactic is None else syntactic


class _StartOf:
    """Gives ``node`` the start of ``start_node``, known once that is generated."""

    __slots__ = ("state", "node", "start_node")

    def __init__(self, state: _Recorder, node: cst.CSTNode, start_node: cst.CSTNode) -> None:
        self.state, self.node, self.start_node = state, node, start_node

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        start = self.state.start(id(self.start_node))
        if start is not None:
            self.state.syntactic[id(self.node)] = start


class Positions:
    """Start positions (1-based line, 1-based column) and source text of the nodes of one
    module.

    The module is generated once, on the first question; the module (and so its nodes,
    whose ids are the keys) must stay alive as long as this object is used."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._state: _Recorder | None = None
        self._offsets: list[int] = []  # character offset of each token count
        self._line_starts: list[int] = []
        self._code = ""
        self._generated = ""  # the code with the final newline a module may lack

    def _compute(self) -> _Recorder:
        state = _Recorder(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
        )
        self.module._codegen(state)
        self._generated = self._code = "".join(state.tokens)
        if state.popped:
            self._code = self._generated[: len(self._generated) - len(state.tokens[-1])]
        self._offsets = [0, *accumulate(map(len, state.tokens))]
        self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(self._code))]
        self._state = state
        return state

    @property
    def code(self) -> str:
        """The module's source, as generated while recording (equal to the parsed text)."""
        if self._state is None:
            self._compute()
        return self._code

    def line_of(self, offset: int) -> int:
        """The 1-based line of a character offset into :attr:`code`."""
        if self._state is None:
            self._compute()
        return bisect_right(self._line_starts, offset)

    def start(self, node: cst.CSTNode) -> tuple[int, int] | None:
        """``(line, column)`` where ``node`` starts, both 1-based; None for a node that is
        not part of the module."""
        state = self._state or self._compute()
        start = state.start(id(node))
        if start is None:
            return None
        offset = self._offsets[start]
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def extent(self, node: cst.CSTNode) -> tuple[int, int] | None:
        """Offsets into :attr:`code` where the code of ``node`` (with the whitespace and
        comments it owns) starts and ends; None for a node that is not part of the module."""
        state = self._state or self._compute()
        key = id(node)
        if key not in state.ends:
            return None
        return self._offsets[state.begins[key]], self._offsets[state.ends[key]]

    def code_of(self, node: cst.CSTNode, without: Collection[cst.CSTNode] = ()) -> str | None:
        """What ``Module.code_for_node`` generates for ``node``, with the code of the
        ``without`` nodes (parts of ``node``, such as its leading lines or decorators) left
        out. None when the module's code does not hold it: ``node`` is not part of the
        module, or is generated differently in place (an ``elif``)."""
        state = self._state or self._compute()
        key = id(node)
        if key not in state.ends or node is self.module:
            return None
        offsets, text = self._offsets, self._generated
        first, last = state.begins[key], state.ends[key]
        if isinstance(node, cst.If) and text.startswith("elif", offsets[state.start(key)]):
            return None
        cuts = [(offsets[state.begins[id(p)]], offsets[state.ends[id(p)]]) for p in without]
        # Generated alone, the node is not indented by the blocks around it. (Indentation
        # changes only between tokens a node generates, so the width in effect where a node
        # with code starts is that of the last change up to there.)
        change = bisect_right(state.indent_changes, first) - 1
        width = state.indent_widths[change] if change >= 0 else 0
        if width:
            indented = state.indented
            for at in indented[bisect_left(indented, first) : bisect_left(indented, last)]:
                cuts.append((offsets[at], offsets[at] + width))
        start, end = offsets[first], offsets[last]
        if not cuts:
            return text[start:end]
        pieces = []
        for cut_start, cut_end in sorted(cuts):
            if cut_start > start:
                pieces.append(text[start:cut_start])
            start = max(start, cut_end)
        pieces.append(text[start:end])
        return "".join(pieces)
