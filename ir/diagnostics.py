"""Diagnostics as data: every problem a reader, writer or pass finds is a :class:`Diagnostic`
whose code is defined once in :mod:`ir.codes`."""

from __future__ import annotations

from .base import Record, Span
from .severity import Fidelity, Severity


class Diagnostic(Record):
    """One finding, rendered as ``path:line:col: CODE message``."""

    code: str
    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None
    fidelity: Fidelity | None = None

    def render(self) -> str:
        """The one-line form used on terminals and in editors."""
        where = self.span.render() if self.span else "<input>:1:1"
        text = f"{where}: {self.code} {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    """True when any diagnostic is an error."""
    return any(d.is_error for d in diagnostics)
