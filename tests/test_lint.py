"""``flowbridge lint``: findings, selection, configuration, inline suppression, output formats,
exit codes and the cache."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from transpile.cli import app
from transpile.lint.config import Config, ConfigError, load_config, parse_table
from transpile.lint.engine import lint_paths
from transpile.lint.finding import Finding
from transpile.lint.formats import github
from transpile.lint.suppression import find_suppressions

from .conftest import ROOT

SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"

# A Prefect flow with a construct Kestra has no counterpart for (a while loop: P101) and an
# option it cannot keep (P102), plus a task imported from a sibling module.
FLOW = """\
from prefect import flow

from tasks import extract


@flow(log_prints=True, persist_result=True)
def nightly(limit: int = 3) -> None:
    done = 0
    while done < limit:
        done += 1
    extract(limit)
"""
TASKS = """\
from prefect import task


@task(retries=2)
def extract(limit: int) -> int:
    return limit
"""
KESTRA = """\
id: hello
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hello
  - id: mystery
    type: io.kestra.plugin.gcp.bigquery.Query
    sql: SELECT 1
"""


def run(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=cwd) if cwd is None else _chdir(cwd):
        result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


class _chdir:
    def __init__(self, path: Path) -> None:
        self.path, self.old = path, Path.cwd()

    def __enter__(self) -> None:
        import os

        os.chdir(self.path)

    def __exit__(self, *exc) -> None:
        import os

        os.chdir(self.old)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "flows.py").write_text(FLOW, encoding="utf-8")
    (tmp_path / "tasks.py").write_text(TASKS, encoding="utf-8")
    (tmp_path / "hello.yaml").write_text(KESTRA, encoding="utf-8")
    return tmp_path


def codes_of(findings) -> set[str]:
    return {f.code for f in findings}


def test_lint_reports_reader_and_writer_findings_with_positions(repo: Path):
    result = lint_paths([repo / "flows.py"], Config(root=repo), use_cache=False)
    by_code = {f.code: f for f in result.findings}
    assert {"P101", "P102"} <= set(by_code)
    assert by_code["P101"].line == 9 and by_code["P101"].file == str(repo / "flows.py")
    # the task comes from the sibling module, read statically: it is resolved, not P105
    assert "P105" not in by_code


def test_lint_of_yaml_dry_runs_the_prefect_writer(repo: Path):
    result = lint_paths([repo / "hello.yaml"], Config(root=repo), use_cache=False)
    assert "P202" in codes_of(result.findings)  # a plugin task with no Prefect counterpart


def test_lint_writes_nothing_but_its_cache(repo: Path):
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    code, _, _ = run("lint", str(repo), "--no-cache", cwd=repo)
    after = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    assert code == 0 and before == after


def test_selection_prefixes_and_specificity(repo: Path):
    base = Config(root=repo)
    only_p1 = lint_paths([repo / "flows.py"], base.with_flags(select=["P1"]), use_cache=False)
    assert codes_of(only_p1.findings) == {"P101", "P102"}
    ignored = base.with_flags(select=["P1"], ignore=["P10"], extend_select=["P101"])
    assert codes_of(lint_paths([repo / "flows.py"], ignored, use_cache=False).findings) == {
        "P101"
    }  # the longer entry wins, as in ruff


def test_per_file_ignores(repo: Path):
    config = parse_table({"per-file-ignores": {"flows.py": ["P101"]}}, root=repo)
    assert "P101" not in codes_of(lint_paths([repo / "flows.py"], config, use_cache=False).findings)


def test_unreadable_input_cannot_be_ignored(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nnamespace: y\ntasks: [\n", encoding="utf-8")
    config = Config(root=tmp_path).with_flags(ignore=["K1"])
    assert codes_of(lint_paths([bad], config, use_cache=False).findings) == {"K100"}


# --- configuration -------------------------------------------------------------------------


def test_config_is_read_from_pyproject_and_flags_win(repo: Path):
    (repo / "pyproject.toml").write_text(
        '[tool.flowbridge]\nnamespace = "acme"\nignore = ["P101"]\n', encoding="utf-8"
    )
    config = load_config(repo / "flows.py")
    assert config.namespace == "acme" and config.ignore == ("P101",) and config.root == repo
    assert "P101" not in codes_of(lint_paths([repo / "flows.py"], config).findings)
    code, out, _ = run("lint", "flows.py", "--ignore", "P102", cwd=repo)
    assert "P101" in out and "P102" not in out  # the flag replaces the file's ignore list


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"namspace": "x"}, "did you mean 'namespace'"),
        ({"select": "P1"}, "must be a list"),
        ({"select": ["Q9"]}, "unknown code 'Q9'"),
        ({"target-version": {"kestra": "0.12"}}, "older than 0.17"),
        ({"target-version": {"airflow": "2"}}, "unknown target 'airflow'"),
        ({"per-file-ignores": {"a.py": [1]}}, "list of strings"),
        ({"output": {"kestra": 3}}, "must be a string"),
    ],
)
def test_invalid_configuration_is_rejected_with_a_reason(table, message, tmp_path: Path):
    with pytest.raises(ConfigError, match=message):
        parse_table(table, root=tmp_path)


def test_invalid_configuration_exits_2_with_a_positioned_diagnostic(repo: Path):
    (repo / "pyproject.toml").write_text('[tool.flowbridge]\nselct = ["P"]\n', encoding="utf-8")
    code, _, err = run("lint", "flows.py", cwd=repo)
    assert code == 2
    assert "pyproject.toml:1:1: F008" in err and "did you mean 'select'" in err
    code, _, err = run("convert", "flows.py", "--to", "kestra", "-o", "out", cwd=repo)
    assert code == 2 and "F008" in err and not (repo / "out").exists()


def test_configured_output_is_converts_default(repo: Path):
    (repo / "pyproject.toml").write_text(
        '[tool.flowbridge]\noutput = { kestra = "generated" }\n', encoding="utf-8"
    )
    code, _, err = run("convert", ".", "--to", "kestra", cwd=repo)
    assert code == 0, err
    assert (repo / "generated" / "nightly.yaml").is_file()
    code, _, err = run("convert", ".", "--to", "prefect", cwd=repo)
    assert code == 2 and "no output" in err


# --- suppression ---------------------------------------------------------------------------


def test_inline_suppression_in_python_hides_the_finding_and_reports_unused(repo: Path):
    text = FLOW.replace(
        "    while done < limit:", "    while done < limit:  # flowbridge: ignore[P101]"
    )
    text = text.replace("def nightly(", "def nightly(  # flowbridge: ignore[K101, Z999]\n    ")
    (repo / "flows.py").write_text(text, encoding="utf-8")
    found = lint_paths([repo / "flows.py"], Config(root=repo), use_cache=False).findings
    assert "P101" not in codes_of(found)
    unused = [f for f in found if f.code == "L001"]
    unknown = [f for f in found if f.code == "L002"]
    assert [f.line for f in unused] == [7] and "K101" in unused[0].message
    assert [f.line for f in unknown] == [7] and "Z999" in unknown[0].message


def test_suppression_above_a_yaml_task_applies_to_the_next_line(tmp_path: Path):
    flow = tmp_path / "hello.yaml"
    flow.write_text(
        KESTRA.replace("  - id: mystery\n", "  # flowbridge: ignore[P202]\n  - id: mystery\n"),
        encoding="utf-8",
    )
    plain = lint_paths([flow], Config(root=tmp_path), use_cache=False).findings
    assert not {"P202", "L001"} & codes_of(plain)


def test_text_inside_strings_and_block_scalars_never_suppresses():
    python = 'x = "# flowbridge: ignore[P101]"\ny = 1  # flowbridge: ignore[P102]\n'
    assert [(s.line, s.codes) for s in find_suppressions(python, ".py")] == [(2, ("P102",))]
    yaml = textwrap.dedent("""\
        tasks:
          - id: run
            script: |
              print("x")  # flowbridge: ignore[P206]
            message: "a # flowbridge: ignore[P201]"
          - id: next  # flowbridge: ignore[P202]
        """)
    assert [(s.line, s.codes) for s in find_suppressions(yaml, ".yaml")] == [(6, ("P202",))]


# --- output formats and exit codes ---------------------------------------------------------


def test_json_output_and_exit_codes(repo: Path):
    code, out, _ = run("lint", "flows.py", "--output-format", "json", "--no-cache", cwd=repo)
    data = json.loads(out)
    assert code == 0  # warnings only
    assert {d["code"] for d in data} >= {"P101", "P102"}
    assert all({"file", "line", "col", "severity", "fidelity"} <= set(d) for d in data)
    assert run("lint", "flows.py", "--strict", cwd=repo)[0] == 1
    assert run("lint", "flows.py", "--strict", "--exit-zero", cwd=repo)[0] == 0
    assert run("lint", "flows.py", "--output-format", "xml", cwd=repo)[0] == 2
    assert run("lint", "missing.py", cwd=repo)[0] == 2
    assert run("lint", "flows.py", "--select", "NOPE", cwd=repo)[0] == 2


def test_error_findings_exit_1(tmp_path: Path):
    (tmp_path / "dup.yaml").write_text(
        KESTRA + "  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: again\n",
        encoding="utf-8",
    )
    code, out, _ = run("lint", "dup.yaml", cwd=tmp_path)
    assert code == 1 and "G101" in out


def test_github_annotations_escape_messages(repo: Path):
    code, out, _ = run("lint", "flows.py", "--output-format", "github", cwd=repo)
    lines = out.splitlines()
    assert lines and all(line.startswith("::warning file=") for line in lines)
    assert all("\n" not in line and "::" in line[2:] for line in lines)
    # a message that would end the command and forge another one stays one annotation
    forged = Finding("a,b:c.py", 2, 3, "P101", "error", "x\n::error file=evil::%0A")
    (line,) = github([forged]).splitlines()
    properties = "file=a%2Cb%3Ac.py,line=2,col=3,title=flowbridge P101"
    assert line == f"::error {properties}::P101 x%0A::error file=evil::%250A"


def test_statistics_counts_by_code(repo: Path):
    code, out, _ = run("lint", ".", "--statistics", "--no-cache", cwd=repo)
    counts = {line.split()[1]: int(line.split()[0]) for line in out.splitlines()}
    assert counts["P101"] == 1 and counts["P102"] >= 1


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(repo: Path):
    jsonschema = pytest.importorskip("jsonschema")
    if not SARIF_SCHEMA.is_file():
        pytest.skip("the SARIF schema of ../shared is not here")
    code, out, _ = run("lint", ".", "--output-format", "sarif", "--no-cache", cwd=repo)
    log = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = list(validator_class(schema).iter_errors(log))
    assert not errors, [e.message for e in errors[:5]]
    run_ = log["runs"][0]
    rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert {"P101", "P102", "P202"} <= set(rules)
    for result in run_["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


# --- cache ---------------------------------------------------------------------------------


def test_cache_answers_unchanged_files_and_notices_changes(repo: Path, monkeypatch):
    monkeypatch.setenv("FLOWBRIDGE_CACHE_DIR", str(repo / "cache"))
    config = Config(root=repo)
    first = lint_paths([repo / "flows.py"], config)
    again = lint_paths([repo / "flows.py"], config)
    assert again.from_cache == 1 and again.findings == first.findings
    # an imported module changed: the task now cannot be resolved, so the answer changes
    (repo / "tasks.py").write_text("VALUE = 1\n", encoding="utf-8")
    changed = lint_paths([repo / "flows.py"], config)
    assert changed.from_cache == 0 and "P105" in codes_of(changed.findings)
    # suppression is applied afresh on a cached answer
    text = (repo / "flows.py").read_text(encoding="utf-8")
    lint_paths([repo / "flows.py"], config)
    (repo / "flows.py").write_text(
        text.replace("while done < limit:", "while done < limit:  # flowbridge: ignore[P101]"),
        encoding="utf-8",
    )
    assert "P101" not in codes_of(lint_paths([repo / "flows.py"], config).findings)


def test_the_cache_never_writes_through_a_planted_link(tmp_path: Path):
    """Entries go through a temporary file created exclusively: a link or file already at its
    name (a hostile repo's ``.flowbridge_cache``) is neither followed nor overwritten."""
    from transpile.lint.cache import LintCache

    cache = LintCache(tmp_path / "cache")
    key = cache.key("flows.py", b"x = 1\n")
    finding = Finding.of_code("L001", "flows.py", 1, 1, codes="P101")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    folder = tmp_path / "cache" / key[:2]
    folder.mkdir(parents=True)
    (folder / f"{key}.json.{os.getpid()}.tmp").symlink_to(victim)
    cache.put(key, [finding])
    assert victim.read_text(encoding="utf-8") == "keep me" and cache.get(key) is None
    (folder / f"{key}.json.{os.getpid()}.tmp").unlink()
    cache.put(key, [finding])
    assert cache.get(key) == [finding] and not list(folder.glob("*.tmp"))


def test_explicit_non_flow_yaml_is_skipped(tmp_path: Path):
    workflow = tmp_path / "ci.yaml"
    workflow.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n", "utf-8")
    result = lint_paths([workflow], Config(root=tmp_path), use_cache=False)
    assert result.files == 0 and result.findings == []


def test_exclude_and_an_explicit_config_file(repo: Path, tmp_path: Path):
    (repo / "legacy").mkdir()
    (repo / "legacy" / "old.py").write_text(FLOW, encoding="utf-8")
    settings = tmp_path / "settings.toml"
    settings.write_text('[tool.flowbridge]\nexclude = ["legacy/**"]\n', encoding="utf-8")
    code, out, _ = run("lint", ".", "--no-cache", "--config", str(settings), cwd=repo)
    assert "flows.py" in out and "legacy" not in out
    code, out, _ = run("lint", ".", "--no-cache", cwd=repo)
    assert "legacy/old.py" in out
    assert run("lint", ".", "--config", str(tmp_path / "missing.toml"), cwd=repo)[0] == 2


def test_a_fifo_and_a_huge_file_end_in_diagnostics_without_blocking(tmp_path: Path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)  # reading it would block forever
    huge = tmp_path / "huge.py"
    huge.write_bytes(b"x = 1\n" * 1_000_000)
    found = lint_paths([fifo, huge], Config(root=tmp_path), use_cache=False).findings
    assert sorted((f.file, f.code) for f in found) == [(str(huge), "F005"), (str(fifo), "F001")]
