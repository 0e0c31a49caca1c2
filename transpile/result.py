"""What every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from ir.diagnostics import Diagnostic
from ir.flow import Flow


@dataclass
class ReadResult:
    """The flows a read produced (one per YAML document or per ``@flow``) and the diagnostics."""

    flows: list[Flow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
