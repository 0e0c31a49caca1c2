"""Small structural tests on libcst nodes, written with ``isinstance`` rather than
``libcst.matchers`` (whose import alone costs more than reading a typical flow file)."""

from __future__ import annotations

import libcst as cst


def lone_call(statement: cst.CSTNode | None) -> cst.Call | None:
    """The call of a statement line that is one call expression (``f(x)``), else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expression = statement.body[0]
    if isinstance(expression, cst.Expr) and isinstance(expression.value, cst.Call):
        return expression.value
    return None


def is_bare_raise(statement: cst.CSTNode) -> bool:
    """Whether a statement line is a lone ``raise`` (re-raising the current exception)."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Raise)
        and statement.body[0].exc is None
    )


def is_name(node: cst.CSTNode, value: str | None = None) -> bool:
    """Whether ``node`` is a bare name (``value`` when given)."""
    return isinstance(node, cst.Name) and (value is None or node.value == value)


class _NameFinder(cst.CSTVisitor):
    def __init__(self, value: str) -> None:
        self.value = value
        self.found = False

    def visit_Name(self, node: cst.Name) -> bool:
        self.found = self.found or node.value == self.value
        return False


def mentions_name(node: cst.CSTNode, value: str) -> bool:
    """Whether the name ``value`` occurs anywhere in ``node``."""
    finder = _NameFinder(value)
    node.visit(finder)
    return finder.found
