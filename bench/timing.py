"""Shared timing for the benchmark scripts: best of a few runs, printed as ratios."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], runs: int = 3) -> float:
    """The fastest of ``runs`` timings of ``fn``, in seconds (garbage collected between)."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def report(baseline: tuple[str, Callable[[], object]], *measured: tuple[str, Callable[[], object]]):
    """Time the baseline and each measured function; print each as a ratio to the baseline."""
    base_name, base_fn = baseline
    timings = {base_name: best_of(base_fn)}
    for name, fn in measured:
        timings[name] = best_of(fn)
    base = timings[base_name]
    for name, seconds in timings.items():
        print(f"{name:>24}: {seconds:7.3f} s  ({seconds / base:.2f}x {base_name})")
