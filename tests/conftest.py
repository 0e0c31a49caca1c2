"""Shared test configuration: hypothesis profiles and paths.

Profiles: ``ci`` (default, derandomised, fast enough for every run), ``long`` (selected with
FLOWBRIDGE_HYPOTHESIS=long, for fuzzing sessions) and ``fuzz`` (the batches of ``make fuzz``)."""

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
# `make fuzz` (tests/hostile/fuzz.py): random, in batches until each target's time is up;
# failures found are kept in .hypothesis/ and replayed first on the next run.
settings.register_profile(
    "fuzz",
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("FLOWBRIDGE_HYPOTHESIS", "ci"))


def update_goldens() -> bool:
    """True when goldens should be rewritten; refused on CI so CI can never bless itself."""
    wanted = os.environ.get("FLOWBRIDGE_UPDATE_GOLDEN") == "1"
    if wanted and os.environ.get("CI"):
        raise RuntimeError("FLOWBRIDGE_UPDATE_GOLDEN is refused when CI is set")
    return wanted
