"""The hooks of ``.pre-commit-hooks.yaml``, run by the real ``pre-commit try-repo`` against
this checkout on a sample git repository: lint fails on a flow with a construct that will not
survive the move and names its code, passes a clean repo; check fails on a stale counterpart.

pre-commit installs flowbridge into an environment of its own (from the package registry's
wheels, once per test session), exactly as a user's pre-commit would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

BIN = Path(sys.executable).parent
PRE_COMMIT = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")

pytestmark = pytest.mark.skipif(
    PRE_COMMIT is None or shutil.which("git") is None, reason="needs pre-commit and git"
)

CLEAN_FLOW = """\
from prefect import flow, task


@task(retries=2)
def extract(day: str) -> list[int]:
    return [1, 2, 3]


@flow(name="daily-sales")
def daily_sales(day: str = "today") -> None:
    extract(day)
"""
# A Prefect 1 flow (a `with Flow(...)` block): it cannot be converted.
UNSUPPORTED_FLOW = """\
from prefect import Flow, task


@task
def extract():
    return [1, 2, 3]


with Flow("legacy") as legacy:
    extract()
"""
CONFIG = """\
repos:
  - repo: local
    hooks: []
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory) -> Path:
    """This checkout as pre-commit sees it: committed files only, with the working tree's
    changes committed on top (so that a run in a dirty checkout tests the code on disk)."""
    clone = tmp_path_factory.mktemp("hooks") / "flowbridge"
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = ROOT / os.fsdecode(name)
        if source.is_file() and "fixtures" not in source.relative_to(ROOT).parts:
            target = clone / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(clone, "init", "-q")
    git(clone, "add", "-A")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "hooks")
    return clone


def sample_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    git(path, "init", "-q")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    (path / ".pre-commit-config.yaml").write_text(CONFIG, encoding="utf-8")
    git(path, "add", "-A")
    return path


def try_repo(repo: Path, hooks: Path, home: Path, hook: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(hooks), hook, "--all-files", "--verbose"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def flowbridge(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "transpile", *args], cwd=cwd, check=True, capture_output=True
    )


def test_lint_hook_passes_a_clean_repo_and_fails_an_unsupported_construct(
    tmp_path: Path, hooks_repo: Path, pre_commit_home: Path
):
    clean = sample_repo(tmp_path / "clean", {"flows/sales.py": CLEAN_FLOW})
    run = try_repo(clean, hooks_repo, pre_commit_home, "flowbridge-lint")
    assert run.returncode == 0, run.stdout + run.stderr

    bad = sample_repo(
        tmp_path / "bad", {"flows/sales.py": CLEAN_FLOW, "flows/legacy.py": UNSUPPORTED_FLOW}
    )
    run = try_repo(bad, hooks_repo, pre_commit_home, "flowbridge-lint")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "flows/legacy.py:9:1: P109" in run.stdout, run.stdout
    assert "flows/sales.py" not in run.stdout.replace("flows/sales.py\n", "")


def test_check_hook_fails_a_stale_counterpart(
    tmp_path: Path, hooks_repo: Path, pre_commit_home: Path
):
    repo = sample_repo(tmp_path / "repo", {"flows/sales.py": CLEAN_FLOW})
    flowbridge("convert", "flows", "--to", "kestra", "-o", "kestra", cwd=repo)
    git(repo, "add", "-A")
    run = try_repo(repo, hooks_repo, pre_commit_home, "flowbridge-check")
    assert run.returncode == 0, run.stdout + run.stderr

    source = repo / "flows" / "sales.py"
    source.write_text(CLEAN_FLOW.replace("[1, 2, 3]", "[4, 5, 6]"), encoding="utf-8")
    git(repo, "add", "-A")
    run = try_repo(repo, hooks_repo, pre_commit_home, "flowbridge-check")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "kestra/daily-sales.yaml:1:1: L101 stale" in run.stdout, run.stdout
