"""Benchmark: ``flowbridge lint`` on one file, as a command, against its floor — a Python
process that imports libcst and parses the same file — and against ``black --check`` on it.
Wall time of whole processes (start-up and imports included), best of N. Prints figures;
asserts nothing.

    python bench/lint.py [FILE ...]   (default: the bundled example and the largest fixture)

``lint (cold)`` reads the file afresh (``--no-cache``); ``lint (cached)`` is a second run on
an unchanged file, answered from the cache as a pre-commit hook or an editor would be.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNS = int(os.environ.get("BENCH_RUNS", "9"))


def best_of(command: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def default_files() -> list[Path]:
    fixtures = sorted((ROOT / "fixtures" / "prefect").rglob("*.py"), key=lambda p: p.stat().st_size)
    return [ROOT / "examples" / "prefect" / "sales" / "flows.py", fixtures[-1]]


def main() -> int:
    files = [Path(a) for a in sys.argv[1:]] or default_files()
    flowbridge = shutil.which("flowbridge", path=str(BIN)) or "flowbridge"
    black = shutil.which("black", path=str(BIN)) or "black"
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "FLOWBRIDGE_CACHE_DIR": cache}
        print(f"best of {RUNS} runs, wall time of the whole process")
        for path in files:
            floor_code = (
                "import libcst, sys; "
                "libcst.parse_module(open(sys.argv[1], encoding='utf-8').read())"
            )
            floor = best_of([sys.executable, "-c", floor_code, str(path)], env)
            black_time = best_of([black, "--check", "-q", str(path)], env)
            cold = best_of([flowbridge, "lint", "--no-cache", str(path)], env)
            subprocess.run([flowbridge, "lint", str(path)], env=env, capture_output=True)
            cached = best_of([flowbridge, "lint", str(path)], env)
            lines = len(path.read_text(encoding="utf-8").splitlines())
            print(
                f"\n{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
                f"({lines} lines)"
            )
            print(f"  floor (import libcst + parse)  {floor * 1000:7.0f} ms")
            print(f"  black --check                  {black_time * 1000:7.0f} ms")
            for name, value in (("lint (cold)", cold), ("lint (cached)", cached)):
                print(
                    f"  {name:<30} {value * 1000:7.0f} ms   {value / floor:5.2f}x floor   "
                    f"{value / black_time:5.2f}x black --check"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
