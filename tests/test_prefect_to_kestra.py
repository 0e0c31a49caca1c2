"""Prefect repos → Kestra YAML, end to end: every fixture project under fixtures/prefect/
converts; its expected output lives in fixtures/prefect/<case>/expected/ (regenerate with
FLOWBRIDGE_UPDATE_GOLDEN=1, refused on CI). Each output reads back with the Kestra reader
without error diagnostics and to the same IR the writer was given."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from transpile.kestra.reader import read_kestra
from transpile.kestra.writer import write_kestra
from transpile.passes import for_kestra
from transpile.prefect.reader import read_prefect_repo
from transpile.project import discover

from .conftest import FIXTURES, ROOT, update_goldens

PREFECT = FIXTURES / "prefect"
CASES = sorted(p for p in PREFECT.iterdir() if p.is_dir()) if PREFECT.is_dir() else []


def _convert(case: Path) -> tuple[dict[str, str], str]:
    """The YAML files a case converts to (relative path → text) and its diagnostics."""
    files, found = discover(case, [".py"])
    files = [f for f in files if "expected" not in f.relative_to(case).parts]
    results = read_prefect_repo(case, files, namespace="fixtures")
    outputs: dict[str, str] = {}
    lines = [d.render() for d in found]
    for path in files:
        result = results[path]
        lines += [d.render() for d in result.diagnostics]
        for flow in result.flows:
            text, written = write_kestra(flow)
            lines += [d.render() for d in written]
            rel = path.relative_to(case).parent / f"{flow.id}.yaml"
            outputs[rel.as_posix()] = text
    text = "".join(
        line.replace(str(case) + "/", "").replace(str(ROOT) + "/", "") + "\n" for line in lines
    )
    return outputs, text


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_prefect_fixture_converts(case: Path):
    outputs, diagnostics = _convert(case)
    expected = case / "expected"
    if update_goldens():
        shutil.rmtree(expected, ignore_errors=True)
        for rel, text in outputs.items():
            (expected / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected / rel).write_text(text, encoding="utf-8")
        expected.mkdir(exist_ok=True)
        (expected / "diagnostics.txt").write_text(diagnostics, encoding="utf-8")
    stored = {
        p.relative_to(expected).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(expected.rglob("*.yaml"))
    }
    assert outputs == stored
    assert diagnostics == (expected / "diagnostics.txt").read_text(encoding="utf-8")
    for rel, text in outputs.items():
        back = read_kestra(text, rel)
        assert not [d.render() for d in back.diagnostics if d.is_error], rel


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_python_ir_yaml_ir_round_trip(case: Path):
    """For the constructs the conversion keeps exactly, Python → IR → YAML → IR is the
    identity (IR compared after the python-task lowering every Kestra write applies)."""
    files = [f for f in discover(case, [".py"])[0] if "expected" not in f.relative_to(case).parts]
    for result in read_prefect_repo(case, files, namespace="fixtures").values():
        for flow in result.flows:
            lowered, _ = for_kestra(flow)
            text, _ = write_kestra(lowered)
            assert read_kestra(text).flows == [lowered], flow.id


def test_there_are_enough_fixture_projects():
    assert len(CASES) >= 12


def test_flow_outputs_get_ids_and_types_kestra_accepts(tmp_path: Path):
    """A Prefect flow returns a dict whose keys are any text; Kestra's outputs need an id of
    letters, digits, '.', '_' and '-', and a type. Invalid ids are renamed (uniquely, with a
    T101 each); valid ones stay; literals keep their type, anything else is a STRING."""
    source = tmp_path / "flows.py"
    source.write_text(
        "from prefect import flow, task\n\n\n"
        "@task\ndef total() -> int:\n    return 3\n\n\n"
        "@flow\ndef report():\n"
        "    t = total()\n"
        '    return {"row count": t, "row_count": 1, "2nd": 2.5, "a.b-c": True,'
        ' "été": t, "_x": [1], "n": None}\n',
        encoding="utf-8",
    )
    (flow,) = read_prefect_repo(tmp_path, [source], namespace="n")[source].flows
    text, written = write_kestra(flow)
    read = read_kestra(text)
    assert not [d for d in read.diagnostics if d.is_error]
    (back,) = read.flows
    assert [(o.id, o.type) for o in back.outputs] == [
        ("row_count_2", "STRING"),
        ("row_count", "INT"),
        ("2nd", "FLOAT"),
        ("a.b-c", "BOOLEAN"),
        ("t", "STRING"),
        ("x", "JSON"),
        ("n", "STRING"),
    ]
    renamed = [d.message for d in written if d.code == "T101" and "flow output" in d.message]
    assert len(renamed) == 3 and "'row count'" in renamed[0] and "'row_count_2'" in renamed[0]
    # idempotent: what Kestra reads back is already in that form
    assert for_kestra(back)[0].outputs == back.outputs
