"""Every real Kestra flow in ../shared/corpus survives YAML → IR → YAML, measured with the
maintainers' own yardstick (../shared/tools/kestra_compare.py); every deliberately invalid flow
is answered with an error diagnostic that has a line number."""

from __future__ import annotations

import importlib.util
import traceback

import pytest
from ruamel.yaml import YAML

from transpile.kestra.reader import read_kestra_file
from transpile.kestra.writer import write_kestra

from .conftest import CORPUS, ROOT

COMPARE = ROOT.parent / "shared" / "tools" / "kestra_compare.py"
REQUIRED_RATE = 0.99

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"Kestra corpus not present at {CORPUS}; corpus tests skipped"
)


def _yardstick():
    spec = importlib.util.spec_from_file_location("kestra_compare", COMPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _files(invalid: bool):
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    return [
        p
        for p in files
        if (("/invalids/" in str(p) or p.name.startswith("invalidFlow")) == invalid)
    ]


def test_valid_flows_round_trip_losslessly(capsys):
    compare = _yardstick()
    safe = YAML(typ="safe", pure=True)
    lossy: list[str] = []
    crashed: list[str] = []
    counted = 0
    for path in _files(invalid=False):
        try:
            original = compare.norm(
                [d for d in safe.load_all(path.read_text("utf-8")) if d is not None]
            )
        except Exception:
            continue  # not YAML to begin with: the yardstick does not count it either
        counted += 1
        rel = path.relative_to(CORPUS)
        try:
            result = read_kestra_file(path)
            text, _ = write_kestra(result.flows)
            written = compare.norm([d for d in safe.load_all(text) if d is not None])
        except Exception:
            crashed.append(f"{rel}: {traceback.format_exc(limit=-2)}")
            continue
        gone = compare.lost(original, written)
        if gone:
            lossy.append(f"{rel}: {', '.join(gone[:4])}")
    rate = (counted - len(lossy) - len(crashed)) / counted
    with capsys.disabled():  # the rate and the failures belong in every CI log
        print(
            f"\ncorpus round trip: {counted - len(lossy) - len(crashed)}/{counted} lossless "
            f"({rate:.2%}); lossy: {len(lossy)}; crashed: {len(crashed)}"
        )
        for line in lossy + crashed:
            print(f"  {line}")
    assert not crashed, "\n".join(crashed)
    assert rate >= REQUIRED_RATE, "\n".join(lossy)


@pytest.mark.parametrize(
    "path", _files(invalid=True) if CORPUS.is_dir() else [], ids=lambda p: p.name
)
def test_invalid_flows_get_an_error_with_a_line(path):
    result = read_kestra_file(path)
    errors = [d for d in result.diagnostics if d.is_error]
    assert errors, f"{path.name}: no error diagnostic"
    assert all(d.span is not None and d.span.line for d in errors), [d.render() for d in errors]


def test_valid_flows_mostly_read_without_errors(capsys):
    """Not a contract, a tripwire: a reader change that starts rejecting real flows shows."""
    flagged = []
    files = _files(invalid=False)
    for path in files:
        errors = [d for d in read_kestra_file(path).diagnostics if d.is_error]
        if errors:
            flagged.append(f"{path.relative_to(CORPUS)}: {errors[0].render()}")
    with capsys.disabled():
        print(f"\nvalid corpus files with error diagnostics: {len(flagged)}/{len(files)}")
        for line in flagged:
            print(f"  {line}")
    assert len(flagged) <= 0.03 * len(files), "\n".join(flagged)
