"""A reported diagnostic in the plain form lint caches and prints: no pydantic, so that a run
answered from the cache never builds the IR models."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Finding:
    """One diagnostic of one file, ordered by position."""

    file: str
    line: int
    col: int
    code: str
    severity: str  # "error" | "warning" | "info"
    message: str
    hint: str | None = None
    fidelity: str | None = None

    @classmethod
    def of(cls, diagnostic: Any, file: str) -> Finding:
        """A finding from an :class:`ir.diagnostics.Diagnostic` (``file`` when it has none)."""
        span = diagnostic.span
        return cls(
            file=(span.file if span is not None and span.file else file),
            line=(span.line if span is not None and span.line else 1),
            col=(span.col if span is not None and span.col else 1),
            code=diagnostic.code,
            severity=diagnostic.severity.value,
            message=diagnostic.message,
            hint=diagnostic.hint,
            fidelity=diagnostic.fidelity.value if diagnostic.fidelity is not None else None,
        )

    @classmethod
    def of_code(cls, which: str, file: str, line: int = 1, col: int = 1, /, **fields: object):
        """A finding of a catalogue code (its default severity, its message filled with
        ``fields``), for problems lint and check find themselves."""
        from ir.codes import CATALOGUE

        entry = CATALOGUE[which]
        message = entry.message.format(**fields)
        return cls(file, line, col, which, entry.severity.value, message)

    def render(self) -> str:
        """``path:line:col: CODE message`` (with the hint in brackets)."""
        text = f"{self.file}:{self.line}:{self.col}: {self.code} {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
