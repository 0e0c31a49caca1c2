"""Kestra YAML → Prefect Python, end to end.

Each case in ``fixtures/kestra_to_prefect/<case>/`` holds Kestra flows under ``input/``, the
tree ``flowbridge convert input --to prefect`` must write under ``expected/`` (golden, with
the CLI's diagnostics in ``expected/diagnostics.txt``), and ``run.yaml``: runs of the generated
flows under Prefect's test harness, each with its parameters and the result, exception or files
it must produce. Regenerate goldens with FLOWBRIDGE_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from transpile.cli import app

from .conftest import FIXTURES, update_goldens

CASES_ROOT = FIXTURES / "kestra_to_prefect"
CASES = sorted(p for p in CASES_ROOT.iterdir() if (p / "run.yaml").is_file())


def _convert(case: Path, out: Path) -> str:
    """Convert a copy of the case's input tree, beside ``out`` (so that the headers' source
    root is the same on every machine), with the CLI; its stderr with paths made relative."""
    source = out.parent / "input"
    shutil.copytree(case / "input", source)
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "prefect", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [
        line.replace(str(source), "input").replace(str(out), "OUT")
        for line in result.output.splitlines()
        if not line.startswith("wrote ")
    ]
    return "\n".join(lines) + "\n"


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    """Every case converted once: case name → output root."""
    roots = {}
    for case in CASES:
        out = tmp_path_factory.mktemp(case.name)
        diagnostics = _convert(case, out / "tree")
        (out / "diagnostics.txt").write_text(diagnostics, encoding="utf-8")
        roots[case.name] = out
    return roots


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden(case: Path, converted):
    out = converted[case.name]
    actual = _tree(out / "tree")
    actual["diagnostics.txt"] = (out / "diagnostics.txt").read_text(encoding="utf-8")
    expected_dir = case / "expected"
    if update_goldens():
        shutil.rmtree(expected_dir, ignore_errors=True)
        for name, text in actual.items():
            (expected_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / name).write_text(text, encoding="utf-8")
    assert expected_dir.is_dir(), "missing goldens: run with FLOWBRIDGE_UPDATE_GOLDEN=1"
    assert actual == _tree(expected_dir)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_generated_code_is_clean(case: Path, converted):
    """Generated modules compile, are unchanged by black and pass ruff's default rules."""
    tree = converted[case.name] / "tree"
    modules = sorted(tree.rglob("*.py"))
    assert modules
    for module in modules:
        compile(module.read_text(encoding="utf-8"), str(module), "exec")
    black = subprocess.run(
        [sys.executable, "-m", "black", "--check", "-q", str(tree)],
        capture_output=True,
        text=True,
    )
    assert black.returncode == 0, black.stderr
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is not None:
        checked = subprocess.run(
            [ruff, "check", "--no-cache", "--isolated", str(tree)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout


def test_there_are_enough_execution_cases():
    assert len(CASES) >= 15


# --- running the generated flows ---------------------------------------------------------------


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    """A local HTTP server (``$HTTP`` in run.yaml) serving ``data.json``."""
    import functools
    import http.server
    import threading

    root = tmp_path_factory.mktemp("www")
    (root / "data.json").write_text(json.dumps({"rows": 3}), encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _load_flow(tree: Path, yaml_path: str):
    """Import the module generated from ``yaml_path`` and return its flow function."""
    module_file = tree / Path(yaml_path).with_suffix(".py")
    source = module_file.read_text(encoding="utf-8")
    flows = [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
        and any(
            (isinstance(d, ast.Name) and d.id == "flow")
            or (isinstance(d, ast.Call) and getattr(d.func, "id", "") == "flow")
            for d in node.decorator_list
        )
    ]
    assert len(flows) == 1, flows
    spec = importlib.util.spec_from_file_location(module_file.stem, module_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_file.stem] = module
    spec.loader.exec_module(module)
    return getattr(module, flows[0])


def _runs(case: Path) -> list[dict]:
    data = YAML(typ="safe").load((case / "run.yaml").read_text(encoding="utf-8"))
    return data["runs"]


def _default_flow(case: Path) -> str:
    flows = sorted(
        p.relative_to(case / "input").as_posix() for p in (case / "input").rglob("*.yaml")
    )
    assert len(flows) == 1, "name the flow of each run in run.yaml"
    return flows[0]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_generated_flow_runs(
    case: Path, converted, prefect_harness, http_server, tmp_path, monkeypatch
):
    tree = converted[case.name] / "tree"
    before = set(sys.modules)
    for folder in sorted({p.parent for p in tree.rglob("*.py")}):
        monkeypatch.syspath_prepend(str(folder))
    try:
        for number, run in enumerate(_runs(case)):
            workdir = tmp_path / f"run{number}"
            workdir.mkdir()
            monkeypatch.chdir(workdir)
            flow = _load_flow(tree, run.get("flow") or _default_flow(case))
            parameters = {
                name: value.replace("$HTTP", http_server) if isinstance(value, str) else value
                for name, value in (run.get("parameters") or {}).items()
            }
            if "raises" in run:
                with pytest.raises(Exception, match=run["raises"]):
                    flow(**parameters)
            else:
                result = flow(**parameters)
                if "result" in run:
                    assert json.loads(json.dumps(result, default=str)) == run["result"]
            for name, content in (run.get("files") or {}).items():
                assert (workdir / name).read_text(encoding="utf-8") == content, name
            for name in run.get("absent") or ():
                assert not (workdir / name).exists(), name
    finally:  # forget the generated modules (other cases use the same names), not Prefect's
        for name in set(sys.modules) - before:
            if str(getattr(sys.modules[name], "__file__", "")).startswith(str(tree)):
                del sys.modules[name]


def test_fixture_inputs_are_valid_kestra():
    from transpile.kestra.reader import read_kestra_file

    for case in CASES:
        for path in sorted((case / "input").rglob("*.yaml")):
            result = read_kestra_file(path)
            assert not result.diagnostics, [d.render() for d in result.diagnostics]
