"""Every valid flow of the real Kestra corpus (../shared/corpus/kestra) converts to Prefect
Python that compiles, that black leaves unchanged, and that imports with Prefect installed. The
share of flows converted with no error diagnostic is printed into the CI log."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections import Counter
from pathlib import Path

import black
import pytest

from transpile.kestra.reader import read_kestra_file
from transpile.prefect.writer import write_prefect
from transpile.result import WriteContext

from .conftest import CORPUS
from .test_kestra_corpus import _files

NO_ERROR_GOAL = 0.80

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"Kestra corpus not present at {CORPUS}; corpus tests skipped"
)


def test_corpus_converts_to_importable_prefect(tmp_path, capsys):
    mode = black.Mode()
    flows = clean = silent = 0
    by_code: Counter[str] = Counter()
    failures: list[str] = []
    modules: list[Path] = []
    for number, path in enumerate(_files(invalid=False)):
        result = read_kestra_file(path)
        if not result.flows or any(d.is_error for d in result.diagnostics):
            continue  # invalid as Kestra: the reader already said so
        rel = path.relative_to(CORPUS).as_posix()
        flows += 1
        try:
            module = write_prefect(result.flows, WriteContext(source_name=rel))
        except Exception:
            failures.append(f"{rel}: {traceback.format_exc(limit=3)}")
            continue
        compile(module.code, rel, "exec")
        if black.format_str(module.code, mode=mode) != module.code:
            failures.append(f"{rel}: black would reformat the generated code")
        if not any(d.is_error for d in module.diagnostics):
            clean += 1
        if not any(d.severity.value != "info" for d in module.diagnostics):
            silent += 1
        by_code.update(d.code for d in module.diagnostics)
        target = tmp_path / f"corpus_{number}.py"
        target.write_text(module.code, encoding="utf-8")
        modules.append(target)

    for target in modules:
        spec = importlib.util.spec_from_file_location(target.stem, target)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception:
            failures.append(f"{target.name}: import failed: {traceback.format_exc(limit=2)}")
        finally:
            sys.modules.pop(target.stem, None)

    with capsys.disabled():
        print(
            f"\nkestra -> prefect corpus: {flows} flows, {clean} with no error diagnostic "
            f"({clean / max(flows, 1):.1%}), {silent} with no warning either "
            f"({silent / max(flows, 1):.1%}), {len(failures)} failure(s)"
        )
        print("  diagnostics by code: " + ", ".join(f"{c}×{n}" for c, n in by_code.most_common()))
        for failure in failures[:20]:
            print("  " + failure)
    assert not failures
    assert flows > 500
    assert clean / flows >= NO_ERROR_GOAL
