"""Benchmark: ``flowbridge lint`` on one file, as a command, against its floor — a Python
process that imports libcst and parses the same file — and against ``black --check`` on it.
Wall time of whole processes (start-up and imports included), best of N, the commands taking
turns so that a busy moment of the machine does not favour one of them. Prints figures;
asserts nothing.

    python bench/lint.py [FILE ...]   (default: the bundled example and the largest fixture)

Every process runs from compiled bytecode, as an installed flowbridge, black and libcst do
(pip compiles on install): ``PYTHONPYCACHEPREFIX`` points at a temporary folder, filled by one
warm-up run of each command, so that neither a checkout without ``__pycache__`` nor
``PYTHONDONTWRITEBYTECODE`` makes any of them compile its sources on every run.

- ``lint --no-cache``: the file is read, converted and checked afresh.
- ``lint, new content``: the cache is on and the file has just changed (a pre-commit hook on a
  staged file): the same work, plus keying and storing the entry.
- ``lint, unchanged``: answered from the cache, as a hook or an editor re-linting a file is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
FLOOR = "import libcst, sys; libcst.parse_module(open(sys.argv[1], encoding='utf-8').read())"


def default_files() -> list[Path]:
    fixtures = sorted((ROOT / "fixtures" / "prefect").rglob("*.py"), key=lambda p: p.stat().st_size)
    return [ROOT / "examples" / "prefect" / "sales" / "flows.py", fixtures[-1]]


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def measure(path: Path, env: dict[str, str]) -> dict[str, float]:
    """Best wall time of each command on ``path`` (a copy, with its folder, in a temporary
    place: the "new content" runs edit it)."""
    flowbridge = shutil.which("flowbridge", path=str(BIN)) or "flowbridge"
    black = shutil.which("black", path=str(BIN)) or "black"
    original = path.read_text(encoding="utf-8")
    counter = iter(range(1_000_000))

    def changed() -> list[str]:
        path.write_text(f"{original}# run {next(counter)}\n", encoding="utf-8")
        return [flowbridge, "lint", str(path)]

    def unchanged() -> list[str]:
        path.write_text(original, encoding="utf-8")
        return [flowbridge, "lint", str(path)]

    commands: dict[str, Callable[[], list[str]]] = {
        "floor (import libcst + parse)": lambda: [sys.executable, "-c", FLOOR, str(path)],
        "black --check": lambda: [black, "--check", "-q", str(path)],
        "lint --no-cache": lambda: [flowbridge, "lint", "--no-cache", str(path)],
        "lint, new content": changed,
        "lint, unchanged": unchanged,
    }
    for make in commands.values():  # warm-up: compiles every module once
        wall(make(), env)
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(RUNS):
        for name, make in commands.items():
            if name == "lint, unchanged":
                wall(make(), env)  # the entry for the original text is in place
            best[name] = min(best[name], wall(make(), env))
    path.write_text(original, encoding="utf-8")
    return best


def main() -> int:
    files = [Path(a).resolve() for a in sys.argv[1:]] or default_files()
    with tempfile.TemporaryDirectory() as scratch:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "bytecode")
        env["FLOWBRIDGE_CACHE_DIR"] = str(Path(scratch) / "cache")
        print(f"best of {RUNS} runs, wall time of the whole process, from compiled bytecode")
        for number, source in enumerate(files):
            copy = Path(scratch) / f"file{number}"
            shutil.copytree(source.parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
            best = measure(copy / source.name, env)
            lines = len(source.read_text(encoding="utf-8").splitlines())
            shown = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
            print(f"\n{shown} ({lines} lines)")
            floor, black = best["floor (import libcst + parse)"], best["black --check"]
            for name, seconds in best.items():
                ratios = ""
                if name.startswith("lint"):
                    ratios = f"   {seconds / floor:5.2f}x floor   {seconds / black:5.2f}x black"
                print(f"  {name:<30} {seconds * 1000:7.0f} ms{ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
