"""What every case of the bad-input matrix checks, shared by the ``test_*_inputs`` modules.

A case is a file and the diagnostic it must end in: its code, where it points
(``path:line:col``) and the exit code the command line gives for it. The reader is called in
this process under a time and memory bound (:func:`bounded`); the command line runs through
``transpile.cli.main`` (:func:`cli`), or in a child process (:func:`process`) where only a
real process can tell (a crash of native code, a hang, the memory of a whole run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT

SECONDS = 5.0
"""Time bound of one reader call (the slowest case takes some 2 s)."""

MEGABYTES = 256
"""Bound on the Python memory one reader call allocates at its peak."""

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Case:
    """One bad input: the file's content, the diagnostic it ends in (``code`` at
    ``line``:``col``; None for an input that must read cleanly) and the exit code."""

    name: str
    content: bytes | str
    code: str | None
    line: int = 1
    col: int = 1
    exit: int = EXIT_FINDINGS

    def write(self, folder: Path, suffix: str) -> Path:
        path = folder / f"{self.name}{suffix}"
        data = self.content.encode() if isinstance(self.content, str) else self.content
        path.write_bytes(data)
        return path


def params(cases: list[Case]) -> list:
    """``cases`` as pytest parameters named after them."""
    return [pytest.param(case, id=case.name) for case in cases]


def bounded(fn: Any, *args: Any, seconds: float = SECONDS, megabytes: int = MEGABYTES) -> Any:
    """``fn(*args)``, asserting that it returns within ``seconds`` and allocates at most
    ``megabytes`` at its peak (measured by tracemalloc, which slows it down a little)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = fn(*args)
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    assert peak < megabytes * 2**20, f"allocated {peak / 2**20:.0f} MB"
    return result


def rendered(diagnostics: list) -> list[str]:
    return [d.render() for d in diagnostics]


def assert_ends_in(diagnostics: list, case: Case, path: Path) -> None:
    """The case's diagnostic is there, rendered ``path:line:col: CODE message``; an input
    that must read cleanly has no error at all."""
    lines = rendered(diagnostics)
    if case.code is None:
        assert not [d for d in diagnostics if d.is_error], lines
        return
    prefix = f"{path}:{case.line}:{case.col}: {case.code} "
    assert any(line.startswith(prefix) for line in lines), (prefix, lines)


def read_case(case: Case, folder: Path, suffix: str, reader: Any) -> tuple[Path, Any]:
    """Write ``case`` as a file with ``suffix``, read it with ``reader`` under the time and
    memory bounds, and check that it ends in the case's diagnostic: the path and the result."""
    path = case.write(folder, suffix)
    result = bounded(reader, path)
    assert_ends_in(result.diagnostics, case, path)
    return path, result


@dataclass(frozen=True)
class Ran:
    """What one command-line run did."""

    code: int
    stdout: str
    stderr: str
    seconds: float = 0.0
    megabytes: float = 0.0  # peak resident memory of the child process


def _checked(ran: Ran) -> Ran:
    text = ran.stdout + ran.stderr
    assert "Traceback" not in text, ran.stderr
    assert "internal error" not in ran.stderr, ran.stderr
    assert ran.code in (EXIT_OK, EXIT_FINDINGS, EXIT_INPUT), (ran.code, ran.stderr)
    return ran


def cli(capsys: pytest.CaptureFixture, *argv: Any) -> Ran:
    """Run the ``flowbridge`` entry point in this process: its exit code and output, checked
    for tracebacks and internal errors."""
    from transpile.entry import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = stop.value.code
    return _checked(Ran(0 if code is None else int(code), out, err))


def _high_water_kib(pid: int) -> int:
    """The peak resident memory of a running process's own program (``VmHWM``), 0 when
    unknown. ``wait4``'s ``ru_maxrss`` is no use here: it counts the memory of the parent
    the child was forked from, which grows over a long test session."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process(*argv: Any, cwd: Path | None = None, timeout: float = 60) -> Ran:
    """Run ``python -m transpile`` in a child process: exit code, output, wall time and peak
    resident memory (from ``wait4``), checked like :func:`cli`; a hang fails the test."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "transpile", *(str(a) for a in argv)],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=cwd or ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        peak_kib = 0
        while True:
            peak_kib = max(peak_kib, _high_water_kib(child.pid))
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                child.kill()
                os.wait4(child.pid, 0)
                child.returncode = -9
                pytest.fail(f"flowbridge {' '.join(map(str, argv))} hung for {timeout} s")
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        ran = Ran(
            child.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            elapsed,
            (peak_kib or usage.ru_maxrss) / 1024,  # KiB on Linux
        )
    return _checked(ran)


_STARTUP: list[float] = []


def startup() -> float:
    """Wall time of a child process that only starts flowbridge, so that time bounds on
    :func:`process` runs measure flowbridge's own work."""
    if not _STARTUP:
        _STARTUP.append(process("--version").seconds)
    return _STARTUP[0]
