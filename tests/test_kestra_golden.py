"""Golden cases: fixtures/kestra/<case>/ holds input.yaml and what flowbridge must make of it
(expected.ir.json, expected.yaml, expected.diagnostics.txt). Regenerate with
FLOWBRIDGE_UPDATE_GOLDEN=1 (refused when CI is set) and review the diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from ir.serde import dump_flow
from transpile.kestra.reader import read_kestra, read_kestra_file
from transpile.kestra.writer import write_kestra

from .conftest import FIXTURES, ROOT, update_goldens

CASES = sorted(p for p in (FIXTURES / "kestra").iterdir() if (p / "input.yaml").is_file())


def _ir_text(flows) -> str:
    dumps = [dump_flow(f) for f in flows]
    return (dumps[0] if len(dumps) == 1 else "[\n" + ",\n".join(dumps) + "\n]") + "\n"


def _check(path: Path, actual: str) -> None:
    if update_goldens():
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"missing golden {path.name}: run with FLOWBRIDGE_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{path} differs"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden(case: Path):
    source = case / "input.yaml"
    result = read_kestra_file(source)
    rel = source.relative_to(ROOT).as_posix()
    diagnostics = "".join(d.render().replace(str(source), rel) + "\n" for d in result.diagnostics)
    _check(case / "expected.diagnostics.txt", diagnostics)
    _check(case / "expected.ir.json", _ir_text(result.flows))
    text, _ = write_kestra(result.flows)
    _check(case / "expected.yaml", text)

    # The written YAML reads back to the same IR, and writing it again changes nothing.
    again = read_kestra(text)
    assert again.flows == result.flows
    assert write_kestra(again.flows)[0] == text


def test_there_are_golden_cases():
    assert len(CASES) >= 8
