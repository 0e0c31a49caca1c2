"""Shared test configuration: hypothesis profiles and paths.

Profiles: ``ci`` (default, derandomised, fast enough for every run) and ``long`` (selected with
FLOWBRIDGE_HYPOTHESIS=long, for fuzzing sessions)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus" / "kestra"

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("FLOWBRIDGE_HYPOTHESIS", "ci"))


def update_goldens() -> bool:
    """True when goldens should be rewritten; refused on CI so CI can never bless itself."""
    wanted = os.environ.get("FLOWBRIDGE_UPDATE_GOLDEN") == "1"
    if wanted and os.environ.get("CI"):
        raise RuntimeError("FLOWBRIDGE_UPDATE_GOLDEN is refused when CI is set")
    return wanted
