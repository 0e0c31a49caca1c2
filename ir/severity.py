"""How bad a finding is and how faithfully a construct crosses over: plain enums, kept apart
from the IR nodes so that the diagnostic catalogue loads without them."""

from __future__ import annotations

from enum import Enum


class Severity(str, Enum):
    """How bad a finding is. ``error`` makes a conversion fail (exit code 1)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Fidelity(str, Enum):
    """How faithfully a construct crosses to the other side."""

    EXACT = "exact"
    APPROX = "approx"
    CARRIED = "carried"
    NONE = "none"
