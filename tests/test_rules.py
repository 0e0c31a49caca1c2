"""The catalogue of diagnostic codes as documentation and as tests.

Every code of :mod:`ir.codes` has a message, an explanation, and a bad and a good example in
``ir/examples/<CODE>/``. A ``.py`` or ``.yaml`` example is linted here: the bad one gets its
code, the good one does not. A ``.txt`` example is a console session for a code that a
situation gives rather than a file's content (a missing file, an existing output); such a
code must be asserted by a test that creates the situation, elsewhere in ``tests/`` or below.
``docs/rules/`` is rendered from all of this and must be up to date.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ir.codes import CATALOGUE
from transpile.cli import app
from transpile.lint.config import Config
from transpile.lint.engine import lint_paths
from transpile.lint.rules_doc import DOCS, example, examples_folder, render_rule, rendered

from .conftest import ROOT

CODES = sorted(CATALOGUE)
LINTED = (".py", ".yaml")
TESTS = Path(__file__).resolve().parent

# Codes no input can produce today, with the reason; strict, so that each fails as soon as it
# gets examples (remove it from here then).
UNREACHABLE: dict[str, str] = {}


def _lint(path: Path):
    return lint_paths([path], Config(root=path.parent, select=("ALL",)), use_cache=False).findings


def _examples(code: str) -> tuple[Path | None, Path | None]:
    return example(code, "bad"), example(code, "good")


def _with_suffix(*suffixes: str) -> list[str]:
    return [c for c in CODES if (bad := example(c, "bad")) is not None and bad.suffix in suffixes]


def _expected_unreachable(codes: list[str]) -> list:
    return [
        (
            pytest.param(c, marks=pytest.mark.xfail(reason=UNREACHABLE[c], strict=True))
            if c in UNREACHABLE
            else c
        )
        for c in codes
    ]


# --- docs/rules ---------------------------------------------------------------------------


def test_docs_rules_are_up_to_date():
    expected = rendered()
    actual = (
        {p.name: p.read_text(encoding="utf-8") for p in DOCS.iterdir()} if DOCS.is_dir() else {}
    )
    regenerate = "docs/rules is stale: run `python -m transpile.lint.rules_doc`"
    assert sorted(actual) == sorted(expected), regenerate
    stale = sorted(name for name, text in expected.items() if actual[name] != text)
    assert not stale, f"{regenerate} ({', '.join(stale)} changed)"


# --- every code is documented --------------------------------------------------------------


@pytest.mark.parametrize("code", _expected_unreachable(CODES))
def test_every_code_has_a_message_an_explanation_and_both_examples(code: str):
    entry = CATALOGUE[code]
    assert entry.code == code and entry.message.strip() and entry.explanation.strip()
    bad, good = _examples(code)
    assert bad is not None, f"no ir/examples/{code}/bad.*"
    assert good is not None, f"no ir/examples/{code}/good.*"
    assert bad.suffix == good.suffix and bad.suffix in (*LINTED, ".txt"), (bad.name, good.name)
    for path in (bad, good):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# "), f"{path}: the first line says what is wrong or the fix"
        assert len(lines) <= 30, f"{path}: an example is short ({len(lines)} lines)"


def test_examples_are_only_for_known_codes():
    folders = {p.name for p in examples_folder().iterdir() if p.is_dir()}
    assert folders <= set(CATALOGUE), sorted(folders - set(CATALOGUE))


# --- file examples: linted --------------------------------------------------------------------


@pytest.mark.parametrize("code", _with_suffix(*LINTED))
def test_bad_example_gets_its_code(code: str):
    bad, _ = _examples(code)
    findings = _lint(bad)
    lines = [f.line for f in findings if f.code == code]
    assert lines, f"{bad} does not get {code}: {[(f.code, f.message) for f in findings]}"
    assert all(line >= 1 for line in lines), f"{code} has no position in {bad}: {lines}"


@pytest.mark.parametrize("code", _with_suffix(*LINTED))
def test_good_example_does_not_get_it(code: str):
    _, good = _examples(code)
    findings = _lint(good)
    assert code not in {f.code for f in findings}, f"{good} gets {code}"
    errors = [(f.code, f.message) for f in findings if f.is_error]
    assert not errors, f"{good} is not a valid flow: {errors}"


# --- situational examples: console sessions backed by a test -------------------------------


# Situations no other test module creates: code -> (files to write, command, exit code).
SITUATIONS: dict[str, tuple[dict[str, str], list[str], int]] = {
    "F006": (
        {"kestra/README.md": "# Flows\n", "kestra/data.csv": "id,name\n1,a\n"},
        ["convert", "kestra", "--to", "prefect", "-o", "out"],
        0,
    ),
    "F007": (
        {"hello.json": '{"id": "hello", "namespace": "company.team"}\n'},
        ["lint", "hello.json", "--no-cache"],
        2,
    ),
}


def _output_lines(path: Path) -> list[str]:
    """What a console session printed: neither its comments nor its commands."""
    return [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.startswith(("# ", "$ "))
    ]


@pytest.mark.parametrize("code", _with_suffix(".txt"))
def test_console_sessions_show_the_code_in_the_bad_one_only(code: str):
    bad, good = _examples(code)
    word = re.compile(rf"\b{code}\b")
    assert any(word.search(line) for line in _output_lines(bad)), f"{bad} never prints {code}"
    assert not any(word.search(line) for line in _output_lines(good)), f"{good} prints {code}"


@cache
def _codes_asserted_elsewhere() -> frozenset[str]:
    """Codes written in a string of a test function of another test module (``"F003" in
    result.output``, ``only_diagnostic(..., "F005")``): a plain reading of the tests' source,
    enough to notice a situational code that no test creates."""
    found: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        if path.resolve() == Path(__file__).resolve():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
                "test"
            ):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                        found.update(re.findall(r"\b[A-Z]\d{3}\b", inner.value))
    return frozenset(found)


@pytest.mark.parametrize("code", _with_suffix(".txt"))
def test_situational_codes_are_asserted_by_a_test(code: str):
    assert code in _codes_asserted_elsewhere() or code in SITUATIONS, (
        f"{code} is given by a situation, not a file: write a test that creates it "
        "(in tests/test_rules.py SITUATIONS when no other module is the right home)"
    )


@pytest.mark.parametrize("code", sorted(SITUATIONS))
def test_situation_gives_its_code_and_exit_code(code: str, tmp_path: Path, monkeypatch):
    files, args, exit_code = SITUATIONS[code]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert f": {code} " in result.output, result.output
    assert result.exit_code == exit_code, result.output
    assert not (tmp_path / "out").exists()


# --- flowbridge explain ---------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["K101", "k101", " K101 "])
def test_explain_prints_the_page_of_a_code(spelling: str):
    result = CliRunner().invoke(app, ["explain", spelling])
    assert result.exit_code == 0, result.output
    assert result.stdout == render_rule(CATALOGUE["K101"])
    assert result.stdout == (DOCS / "K101.md").read_text(encoding="utf-8")


def test_explain_of_an_unknown_code_exits_2_with_a_suggestion():
    result = CliRunner().invoke(app, ["explain", "P1O1"])
    assert result.exit_code == 2
    assert "unknown code 'P1O1'" in result.stderr and "P101" in result.stderr
    assert result.stdout == ""


def test_docs_name_the_examples_from_the_repository():
    page = (DOCS / "K101.md").read_text(encoding="utf-8")
    assert "`ir/examples/K101/bad.yaml`" in page and "`ir/examples/K101/good.yaml`" in page
    assert (ROOT / "ir" / "examples" / "K101" / "bad.yaml").is_file()
