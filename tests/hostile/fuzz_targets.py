"""The fuzz targets of flowbridge, free of test frameworks (hypothesis drives them in
tests/hostile/test_fuzz.py and tests/hostile/fuzz.py, atheris in tests/hostile/fuzz_atheris.py).

Readers never raise on any input: they return diagnostics. Writers produce text that parses
(YAML) or compiles (Python) and reads back to as many flows as were written."""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

from ir.flow import Flow
from transpile.kestra.reader import read_kestra
from transpile.kestra.writer import write_kestra
from transpile.prefect.reader import read_prefect_source
from transpile.prefect.writer import write_prefect
from transpile.result import ReadResult

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"

MAX_INPUT = 20_000  # characters: edits that grow a seed stop here
# A reader that cannot even parse what a writer wrote says so with these codes.
UNREADABLE = ("F", "K100", "K101", "K102", "P100")


# --- the checks ----------------------------------------------------------------------------------


def check_read(result: ReadResult) -> list[Flow]:
    """A reader's result is well formed: flows, and diagnostics that render."""
    assert isinstance(result, ReadResult)
    assert all(isinstance(flow, Flow) for flow in result.flows)
    for diagnostic in result.diagnostics:
        assert isinstance(diagnostic.render(), str)
    return result.flows


def check_kestra_writer(flows: list[Flow]) -> None:
    """Kestra YAML for ``flows``: UTF-8 text that reads back to as many flows."""
    text, _ = write_kestra(flows)
    text.encode("utf-8")  # written to files as UTF-8: no lone surrogates
    back = read_kestra(text)
    check_read(back)
    assert [d.render() for d in back.diagnostics if d.code.startswith(UNREADABLE)] == [], text
    assert len(back.flows) == len(flows), text


def check_prefect_writer(flows: list[Flow]) -> None:
    """A Prefect module for ``flows``: it compiles (the writer checks) and reads back to as
    many flows."""
    module = write_prefect(flows)
    module.code.encode("utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        compile(module.code, "<generated>", "exec")
    back = read_prefect_source(module.code, "generated.py", namespace="fuzz")
    check_read(back)
    assert [d.render() for d in back.diagnostics if d.code.startswith(UNREADABLE)] == []
    assert len(back.flows) == len(flows), module.code


# --- targets -----------------------------------------------------------------------------------


def target_kestra_reader(source: str | bytes) -> None:
    """The Kestra reader on any text or bytes, then both writers on what it read."""
    flows = check_read(read_kestra(source, "fuzz.yaml"))
    if flows:
        check_kestra_writer(flows)
        check_prefect_writer(flows)


def target_prefect_reader(source: str | bytes) -> None:
    """The Prefect reader on any text or bytes, then both writers on what it read."""
    flows = check_read(read_prefect_source(source, "fuzz.py", namespace="fuzz"))
    if flows:
        check_kestra_writer(flows)
        check_prefect_writer(flows)


def target_kestra_writer(flow: Flow) -> None:
    check_kestra_writer([flow])


def target_prefect_writer(flow: Flow) -> None:
    check_prefect_writer([flow])


@lru_cache(maxsize=1)
def seeds() -> dict[str, tuple[str, ...]]:
    """The repository's own flows: Kestra YAML (inputs, not expected outputs) and Python
    (Prefect projects, generated modules, examples)."""

    def texts(root: Path, pattern: str, expected: bool = False) -> list[str]:
        found = []
        for path in sorted(root.rglob(pattern)):
            if ("expected" in path.parts) == expected:
                found.append(path.read_text(encoding="utf-8", errors="replace"))
        return found

    yaml = texts(FIXTURES, "*.yaml") + texts(ROOT / "examples", "*.yaml")
    python = texts(FIXTURES / "prefect", "*.py") + texts(ROOT / "examples", "*.py")
    python += texts(FIXTURES / "kestra_to_prefect", "*.py", expected=True)
    return {"kestra": tuple(yaml), "prefect": tuple(python)}
