"""The command line as a user meets it: exit codes, files written, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

EXAMPLE = ROOT / "examples" / "kestra"


def run(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "transpile", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr


def test_version_and_help():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("flowbridge ")
    for command in ("convert", "ir"):
        proc = run(command, "--help")
        assert proc.returncode == 0 and "Usage" in proc.stdout


def test_convert_directory_keeps_layout_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out"
    proc = run("convert", str(EXAMPLE), "--to", "kestra", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    expected = sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*.yaml"))
    assert written == expected
    text = (out / "etl" / "daily_sales.yaml").read_text()
    assert "io.kestra.plugin.core.flow.If" in text and "io.kestra.core.tasks" not in text
    assert "maxAttempts: 3" in text and "pluginDefaults:" in text

    before = (out / "etl" / "daily_sales.yaml").stat().st_mtime_ns
    proc = run("convert", str(EXAMPLE), "--to", "kestra", "-o", str(out))
    assert proc.returncode == 1 and "F003" in proc.stderr
    assert (out / "etl" / "daily_sales.yaml").stat().st_mtime_ns == before
    proc = run("convert", str(EXAMPLE), "--to", "kestra", "-o", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert not list(out.rglob("*.tmp")), "temporary files left behind"


def test_convert_single_file_to_stdout_is_idempotent(tmp_path):
    first = run("convert", str(EXAMPLE / "etl" / "daily_sales.yaml"), "--to", "kestra", "-o", "-")
    assert first.returncode == 0, first.stderr
    again_in = tmp_path / "again.yaml"
    again_in.write_text(first.stdout)
    second = run("convert", str(again_in), "--to", "kestra", "-o", "-")
    assert second.returncode == 0 and second.stdout == first.stdout


def test_ir_prints_json():
    proc = run("ir", str(EXAMPLE / "ops" / "fan_out.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert '"ir_version"' in proc.stdout and '"kind": "loop"' in proc.stdout


def test_usage_errors_exit_2():
    assert run("convert").returncode == 2
    proc = run("convert", str(EXAMPLE), "--to", "cobol", "-o", "/tmp/x")
    assert proc.returncode == 2 and "unknown format" in proc.stderr
    proc = run("convert", "/nonexistent/flow.yaml", "--to", "kestra", "-o", "-")
    assert proc.returncode == 2 and "F001" in proc.stderr


def _billion_laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\nid: bomb\nnamespace: n\ntasks: *a9\n"


HOSTILE = {
    "malformed.yaml": "id: x\nnamespace: [unclosed\ntasks:\n",
    "bomb.yaml": _billion_laughs(),
    "deep.yaml": "id: x\nnamespace: n\ntasks: " + "[" * 5000 + "]" * 5000 + "\n",
    "latin1.yaml": "id: caf\xe9\nnamespace: n\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_ends_in_diagnostic_and_exit_2(tmp_path, name):
    path = tmp_path / name
    content = HOSTILE[name]
    path.write_bytes(content.encode("latin-1") if name == "latin1.yaml" else content.encode())
    start = time.perf_counter()
    proc = run("convert", str(path), "--to", "kestra", "-o", str(tmp_path / "out.yaml"))
    elapsed = time.perf_counter() - start
    assert_no_traceback(proc)
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:" in proc.stderr
    assert elapsed < 2 + _startup(), f"{name} took {elapsed:.2f}s"


def test_symlink_loop_in_directory_is_reported(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.yaml").write_text((EXAMPLE / "ops" / "fan_out.yaml").read_text())
    os.symlink(tree / "loop.yaml", tree / "loop.yaml")
    os.symlink(tree, tree / "self")
    start = time.perf_counter()
    proc = run("convert", str(tree), "--to", "kestra", "-o", str(tmp_path / "out"))
    assert time.perf_counter() - start < 2 + _startup()
    assert_no_traceback(proc)
    assert proc.returncode == 2 and "symbolic link loop" in proc.stderr
    assert not (tmp_path / "out").exists()  # errors: nothing is written
    partial = run("convert", str(tree), "--to", "kestra", "-o", str(tmp_path / "p"), "--partial")
    assert partial.returncode == 2 and (tmp_path / "p" / "ok.yaml").is_file()


_STARTUP: list[float] = []


def _startup() -> float:
    """Interpreter start-up of one CLI call, so time limits measure flowbridge's own work."""
    if not _STARTUP:
        start = time.perf_counter()
        run("--version")
        _STARTUP.append(time.perf_counter() - start)
    return _STARTUP[0]


PREFECT_FIXTURES = ROOT / "fixtures" / "prefect"


def test_prefect_repo_with_a_broken_module_writes_only_with_partial(tmp_path):
    out = tmp_path / "out"
    report = tmp_path / "report.md"
    args = ["convert", str(PREFECT_FIXTURES / "broken_syntax"), "--to", "kestra"]
    args += ["--namespace", "team.etl", "--report", str(report)]
    proc = run(*args, "-o", str(out))
    assert_no_traceback(proc)
    assert proc.returncode == 2  # a module that does not parse is an input error
    assert f"{PREFECT_FIXTURES / 'broken_syntax' / 'broken.py'}:8:10: P100" in proc.stderr
    assert "nothing written" in proc.stderr and not out.exists()
    assert "team.etl.greet" in report.read_text()  # the report says what would convert
    report.unlink()
    proc = run(*args, "-o", str(out), "--partial")
    assert proc.returncode == 2
    written = out / "greet.yaml"
    assert written.is_file() and "namespace: team.etl" in written.read_text()
    text = report.read_text()
    assert "team.etl.greet" in text and "```mermaid" in text and "flowchart TD" in text


def test_namespace_comes_from_pyproject_then_the_repo_name(tmp_path):
    repo = tmp_path / "My Repo"
    repo.mkdir()
    (repo / "flows.py").write_text(
        "from prefect import flow\n\n@flow\ndef hello():\n    print('hi')\n"
    )
    proc = run("convert", str(repo), "--to", "kestra", "-o", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    assert "namespace: my_repo" in (tmp_path / "a" / "hello.yaml").read_text()
    (repo / "pyproject.toml").write_text('[tool.flowbridge]\nnamespace = "acme.data"\n')
    (repo / ".gitignore").write_text("ignored/\n")
    (repo / "ignored").mkdir()
    (repo / "ignored" / "skip.py").write_text((repo / "flows.py").read_text())
    proc = run("convert", str(repo), "--to", "kestra", "-o", str(tmp_path / "b"))
    assert proc.returncode == 0, proc.stderr
    assert "namespace: acme.data" in (tmp_path / "b" / "hello.yaml").read_text()
    assert not (tmp_path / "b" / "ignored").exists()


def test_yaml_that_is_not_a_flow_is_left_alone_in_a_tree(tmp_path):
    tree = tmp_path / "repo"
    (tree / ".github" / "workflows").mkdir(parents=True)
    (tree / "charts").mkdir()
    (tree / ".github" / "workflows" / "ci.yaml").write_text("on: push\njobs: {}\n")
    (tree / "charts" / "values.yaml").write_text("image: {{ .Values.image }}\n")
    (tree / "mkdocs.yml").write_text("site_name: docs\n")
    (tree / "flow.yaml").write_text((EXAMPLE / "ops" / "fan_out.yaml").read_text())
    proc = run("convert", str(tree), "--to", "kestra", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "out").rglob("*.yaml")] == ["flow.yaml"]
    # Named explicitly, a file is always read, and judged as a flow.
    proc = run("convert", str(tree / "mkdocs.yml"), "--to", "kestra", "-o", "-")
    assert proc.returncode == 1 and "K103 missing required property 'tasks'" in proc.stderr


def test_information_is_printed_only_when_verbose():
    quiet = run("convert", str(EXAMPLE / "etl" / "daily_sales.yaml"), "--to", "kestra", "-o", "-")
    loud = run(
        "convert", str(EXAMPLE / "etl" / "daily_sales.yaml"), "--to", "kestra", "-o", "-", "-v"
    )
    assert quiet.returncode == loud.returncode == 0
    assert ": K117 " not in quiet.stderr and "K117×3" in quiet.stderr
    assert "daily_sales.yaml:34:7: K117 deprecated spelling 'maxAttempt'" in loud.stderr
