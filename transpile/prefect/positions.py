"""Source positions of libcst nodes, computed cheaply and only when a span is asked for.

libcst's ``PositionProvider`` counts lines and columns token by token while it generates the
module's code, and goes through the metadata machinery; on real repos that costs about twice
the parse itself. Here the same code generation records only the start offset of each node
(an integer per node) and turns an offset into ``line:col`` with a binary search over the
line starts, for the few nodes a reader actually reports. Starts are those of
``PositionProvider``: syntactic positions where libcst records them, else the node's
whitespace-inclusive start.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst._add_slots import add_slots
from libcst._nodes.internal import CodegenState

__all__ = ["Positions"]

_NEWLINE = re.compile(r"\r\n?|\n")  # what libcst counts as a line break


@add_slots
@dataclass(frozen=False)
class _StartRecorder(CodegenState):
    """A codegen state that records where each node starts, as a character offset."""

    offset: int = 0
    starts: dict[int, int] = field(default_factory=dict)
    _stack: list[int] = field(default_factory=list)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        self.starts.setdefault(id(node), start)  # a syntactic start, when recorded, wins

    # libcst calls this as a context manager around a node's syntactic part
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Any:
        return _Syntactic(self, node, start_node)


class _Syntactic:
    __slots__ = ("state", "node", "start_node")

    def __init__(self, state: _StartRecorder, node: cst.CSTNode, start_node: Any) -> None:
        self.state, self.node, self.start_node = state, node, start_node

    def __enter__(self) -> None:
        if self.start_node is None:
            self.state.starts[id(self.node)] = self.state.offset

    def __exit__(self, *exc: Any) -> None:
        if self.start_node is not None:
            self.state.starts[id(self.node)] = self.state.starts[id(self.start_node)]


class Positions:
    """Start positions (1-based line, 1-based column) of the nodes of one module.

    The module is generated once, on the first question; the module (and so its nodes,
    whose ids are the keys) must stay alive as long as this object is used."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._starts: dict[int, int] | None = None
        self._line_starts: list[int] = []
        self._code = ""

    def _compute(self) -> dict[int, int]:
        state = _StartRecorder(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
        )
        self.module._codegen(state)
        self._code = "".join(state.tokens)
        self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(self._code))]
        self._starts = state.starts
        return state.starts

    @property
    def code(self) -> str:
        """The module's source, as generated while recording (equal to the parsed text)."""
        if self._starts is None:
            self._compute()
        return self._code

    def line_of(self, offset: int) -> int:
        """The 1-based line of a character offset into :attr:`code`."""
        if self._starts is None:
            self._compute()
        return bisect_right(self._line_starts, offset)

    def start(self, node: cst.CSTNode) -> tuple[int, int] | None:
        """``(line, column)`` where ``node`` starts, both 1-based; None for a node that is
        not part of the module."""
        starts = self._starts if self._starts is not None else self._compute()
        offset = starts.get(id(node))
        if offset is None:
            return None
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1
