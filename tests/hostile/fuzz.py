"""``make fuzz``: every target of tests/hostile/test_fuzz.py under the ``fuzz`` hypothesis
profile, in batches until its share of the time is up, then the atheris harness
(tests/hostile/fuzz_atheris.py) on each of its targets, when atheris is installed.

    python -m tests.hostile.fuzz --seconds 600

Prints the examples run per target and every failure (hypothesis shrinks it first and prints
how to reproduce it); exits 1 when any target failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from hypothesis import given, reporting, settings

from ..conftest import ROOT  # registers the hypothesis profiles
from .test_fuzz import TARGETS


class _TimeUp(BaseException):
    """Ends a batch when the target's time is up (not an Exception: not a failure)."""


def run_hypothesis(name: str, seconds: float) -> tuple[int, list[str]]:
    """Run target ``name`` for ``seconds``: the number of examples run and the failures."""
    strategy, target = TARGETS[name]
    count = 0
    deadline = time.monotonic() + seconds

    def body(value: object) -> None:
        nonlocal count
        if time.monotonic() > deadline:
            raise _TimeUp
        target(value)
        count += 1

    profile = settings.get_profile("fuzz")
    test = settings(profile)(given(strategy)(body))
    # A failure's report travels with its exception (notes); the reporter would only add
    # "reproduce with @seed" for the batch that time ends.
    with warnings.catch_warnings(), reporting.with_reporter(lambda _: None):
        warnings.simplefilter("ignore", SyntaxWarning)  # the writer compiles odd but valid code
        while time.monotonic() < deadline:
            try:
                test()
            except _TimeUp:
                break
            except Exception:  # a failure, shrunk by hypothesis: report it, stop this target
                return count, [traceback.format_exc()]
    return count, []


ATHERIS_TARGETS = ("kestra_bytes", "kestra_text", "prefect_bytes", "prefect_text")
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")


def run_atheris(name: str, seconds: int, work: Path) -> tuple[int, list[str]]:
    """Run atheris target ``name`` in its own process for ``seconds``."""
    corpus = work / name
    artifacts = ROOT / "build" / "fuzz"
    artifacts.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "tests.hostile.fuzz_atheris",
        name,
        str(corpus),
        f"-max_total_time={seconds}",
        "-timeout=60",
        "-rss_limit_mb=4096",
        "-max_len=20000",
        f"-artifact_prefix={artifacts}/{name}-",
        "-print_final_stats=1",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    runs = _DONE.findall(done.stderr)
    count = int(runs[-1][0]) if runs else 0
    if done.returncode != 0:
        return count, [done.stderr[-6000:]]
    return count, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="total time (default 600)")
    parser.add_argument("--only", choices=["hypothesis", "atheris"], default=None)
    args = parser.parse_args(argv)
    has_atheris = importlib.util.find_spec("atheris") is not None and args.only != "hypothesis"
    hypothesis_share = 0 if args.only == "atheris" else (0.5 if has_atheris else 1.0)
    started = time.monotonic()
    rows: list[tuple[str, int, float, list[str]]] = []
    if hypothesis_share:
        each = args.seconds * hypothesis_share / len(TARGETS)
        for name in TARGETS:
            begin = time.monotonic()
            count, failures = run_hypothesis(name, each)
            rows.append((f"hypothesis:{name}", count, time.monotonic() - begin, failures))
            _print_row(rows[-1])
    if has_atheris:
        remaining = args.seconds - (time.monotonic() - started)
        each = max(int(remaining / len(ATHERIS_TARGETS)), 10)
        with tempfile.TemporaryDirectory(prefix="flowbridge-fuzz-") as work:
            for name in ATHERIS_TARGETS:
                begin = time.monotonic()
                count, failures = run_atheris(name, each, Path(work))
                rows.append((f"atheris:{name}", count, time.monotonic() - begin, failures))
                _print_row(rows[-1])
    elif args.only != "hypothesis":
        print("atheris is not installed: hypothesis targets only (pip install -e '.[fuzz]')")
    print(f"\n{'target':34} {'examples':>10} {'seconds':>8}  failures")
    for target, count, seconds, failures in rows:
        print(f"{target:34} {count:>10} {seconds:>8.0f}  {len(failures)}")
    print(f"total {time.monotonic() - started:.0f} s")
    return 1 if any(failures for *_, failures in rows) else 0


def _print_row(row: tuple[str, int, float, list[str]]) -> None:
    target, count, seconds, failures = row
    print(f"{target}: {count} examples in {seconds:.0f} s, {len(failures)} failure(s)", flush=True)
    for failure in failures:
        print(failure, flush=True)


if __name__ == "__main__":
    sys.exit(main())
