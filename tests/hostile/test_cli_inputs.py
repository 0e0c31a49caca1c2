"""Bad situations around the files, through the command line: links that loop or dangle,
FIFOs, unreadable files and folders, a 50 MB file, outputs that cannot be written. Each ends
in a diagnostic ``path:line:col: CODE message`` and a documented exit code (2: an input
cannot be read; 1: an output cannot be written, or the flow has errors; 0: done), in bounded
time, without a traceback; the rest of a tree still converts.

A FIFO or a hang-prone case runs in a child process (:func:`.matrix.process`), which fails
the test instead of hanging it. Permission cases need a user that permissions stop: they
are skipped as root, and each has a variant that works as root too (a dangling link, a FIFO,
a folder where a file is expected).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from transpile.kestra.reader import read_kestra_file
from transpile.prefect.reader import read_prefect_file

from ..conftest import ROOT
from .matrix import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    SECONDS,
    bounded,
    cli,
    process,
    rendered,
    startup,
)

FLOW = (ROOT / "examples" / "kestra" / "ops" / "fan_out.yaml").read_text()
MODULE = "from prefect import flow\n\n\n@flow\ndef hello():\n    print('hi')\n"


def _permissions_stop_us() -> bool:
    """Whether a file without read permission cannot be read here (not so for root, or a
    process with CAP_DAC_OVERRIDE)."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        try:
            probe.read_text()
        except PermissionError:
            return True
        finally:
            probe.chmod(0o600)
    return False


as_root_skip = pytest.mark.skipif(
    not _permissions_stop_us(), reason="running as root: permissions do not stop it"
)
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def _tree(tmp_path: Path) -> Path:
    """A folder holding one good flow of each kind."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.yaml").write_text(FLOW)
    (tree / "ok_module.py").write_text(MODULE)
    return tree


def _converted(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


# --- inputs that cannot be read -------------------------------------------------------------


def _loop(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.symlink_to(path.name)
    return path


def _dangling(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.symlink_to("nowhere" + path.suffix)
    return path


def _missing(tmp_path: Path, name: str) -> Path:
    return tmp_path / name


SOURCES = {  # a source named on the command line -> (make it, F001's reason)
    "symlink-loop": (_loop, "symbolic link"),
    "dangling-symlink": (_dangling, "dangling symbolic link"),
    "missing": (_missing, "no such file or directory"),
}
# Known gap, strict so that it fails once fixed (then remove the mark).


@pytest.mark.parametrize("suffix", [".yaml", ".py"])
@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_unreadable_source_is_f001_exit_2(tmp_path: Path, capsys, kind: str, suffix: str):
    make, reason = SOURCES[kind]
    path = make(tmp_path, f"flow{suffix}")
    ran = cli(capsys, "convert", path, "--to", "kestra", "-o", tmp_path / "out")
    assert ran.code == EXIT_INPUT, ran.stderr
    assert f"{path}:1:1: F001 " in ran.stderr and reason in ran.stderr
    assert not (tmp_path / "out").exists()


READERS = {".yaml": read_kestra_file, ".py": read_prefect_file}


@pytest.mark.parametrize("suffix", sorted(READERS))
@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_readers_report_unreadable_files(tmp_path: Path, kind: str, suffix: str):
    make, reason = SOURCES[kind]
    path = make(tmp_path, f"flow{suffix}")
    result = bounded(READERS[suffix], path)
    (line,) = rendered(result.diagnostics)
    assert line.startswith(f"{path}:1:1: F001 ") and reason in line, line


@as_root_skip
@pytest.mark.parametrize("suffix", sorted(READERS))
def test_readers_report_unreadable_permissions(tmp_path: Path, suffix: str):
    path = tmp_path / f"secret{suffix}"
    path.write_text(FLOW if suffix == ".yaml" else MODULE)
    path.chmod(0)
    try:
        result = bounded(READERS[suffix], path)
    finally:
        path.chmod(0o600)
    (line,) = rendered(result.diagnostics)
    assert line.startswith(f"{path}:1:1: F001 ") and "permission denied" in line, line


@needs_fifo
@pytest.mark.parametrize("suffix", [".yaml", ".py"])
def test_fifo_source_is_f001_without_waiting_for_a_writer(tmp_path: Path, suffix: str):
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    ran = process("convert", fifo, "--to", "kestra", "-o", tmp_path / "out", timeout=30)
    assert ran.code == EXIT_INPUT, ran.stderr
    assert f"{fifo}:1:1: F001 " in ran.stderr and "not a regular file" in ran.stderr
    assert ran.seconds < startup() + SECONDS


@needs_fifo
def test_tree_with_fifos_and_broken_links_converts_the_rest(tmp_path: Path):
    tree = _tree(tmp_path)
    os.mkfifo(tree / "pipe.yaml")
    os.mkfifo(tree / "pipe.py")
    (tree / "loop.yaml").symlink_to("loop.yaml")
    (tree / "dangling.py").symlink_to("nowhere.py")
    (tree / "self").symlink_to(".")  # a folder linking to itself is not followed
    out = tmp_path / "out"
    ran = process("convert", tree, "--to", "kestra", "-o", out, "--partial", timeout=30)
    assert ran.code == EXIT_INPUT, ran.stderr
    for name, reason in [
        ("pipe.yaml", "not a regular file"),
        ("pipe.py", "not a regular file"),
        ("loop.yaml", "symbolic link loop"),
        ("dangling.py", "No such file"),
    ]:
        assert f"{tree / name}:1:1: F001 " in ran.stderr and reason in ran.stderr, name
    assert ran.seconds < startup() + SECONDS
    assert {"ok.yaml", "hello.yaml"} <= set(_converted(out))


def test_folder_named_like_a_flow_is_read_as_a_folder(tmp_path: Path, capsys):
    folder = tmp_path / "flow.yaml"
    folder.mkdir()
    ran = cli(capsys, "convert", folder, "--to", "kestra", "-o", tmp_path / "out")
    assert ran.code == EXIT_OK and f"{folder}:1:1: F006 " in ran.stderr


def test_unknown_suffix_is_f007_exit_2(tmp_path: Path, capsys):
    path = tmp_path / "flow.json"
    path.write_text('{"id": "f"}\n')
    ran = cli(capsys, "convert", path, "--to", "kestra", "-o", tmp_path / "out")
    assert ran.code == EXIT_INPUT and f"{path}:1:1: F007 " in ran.stderr


@as_root_skip
@pytest.mark.xfail(
    strict=True,
    reason="transpile/cli.py: typer's Path argument is click.Path(readable=True), so an "
    "unreadable source is a usage error (exit 2) printed without a path:line:col diagnostic",
)
@pytest.mark.parametrize("suffix", [".yaml", ".py"])
def test_unreadable_file_is_f001_exit_2(tmp_path: Path, capsys, suffix: str):
    path = tmp_path / f"secret{suffix}"
    path.write_text(FLOW if suffix == ".yaml" else MODULE)
    path.chmod(0)
    try:
        ran = cli(capsys, "convert", path, "--to", "kestra", "-o", tmp_path / "out")
    finally:
        path.chmod(0o600)
    assert ran.code == EXIT_INPUT, ran.stderr
    assert f"{path}:1:1: F001 " in ran.stderr and "permission denied" in ran.stderr


@as_root_skip
def test_unreadable_folder_in_a_tree_is_f001_and_the_rest_converts(tmp_path: Path, capsys):
    tree = _tree(tmp_path)
    locked = tree / "locked"
    locked.mkdir()
    (locked / "flow.yaml").write_text(FLOW)
    locked.chmod(0)
    try:
        ran = cli(capsys, "convert", tree, "--to", "kestra", "-o", tmp_path / "out", "--partial")
    finally:
        locked.chmod(0o700)
    assert ran.code == EXIT_INPUT, ran.stderr
    assert f"{locked}:1:1: F001 " in ran.stderr
    assert "ok.yaml" in _converted(tmp_path / "out")


@pytest.mark.parametrize("suffix", [".yaml", ".py"])
def test_50_mb_file_in_a_real_run(tmp_path: Path, suffix: str):
    path = tmp_path / f"huge{suffix}"
    line = b"# " + b"x" * 97 + b"\n"
    with open(path, "wb") as handle:
        handle.write((FLOW if suffix == ".yaml" else MODULE).encode())
        for _ in range(50):
            handle.write(line * (2**20 // len(line) + 1))
    ran = process("convert", path, "--to", "kestra", "-o", tmp_path / "out")
    assert ran.code == EXIT_INPUT, ran.stderr
    assert f"{path}:1:1: F005 " in ran.stderr
    assert ran.seconds < startup() + SECONDS
    assert ran.megabytes < 400, f"used {ran.megabytes:.0f} MB"


# --- outputs that cannot be written ---------------------------------------------------------


def _flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    return path


def test_output_under_a_file_is_f004_exit_1(tmp_path: Path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder is needed\n")
    out = blocker / "out.yaml"
    ran = cli(capsys, "convert", _flow_file(tmp_path), "--to", "kestra", "-o", out)
    assert ran.code == EXIT_FINDINGS, ran.stderr
    assert f"{out}:1:1: F004 " in ran.stderr
    assert blocker.read_text() == "a file where a folder is needed\n"


def test_tree_output_that_is_a_file_is_f004_and_nothing_is_left(tmp_path: Path, capsys):
    tree = _tree(tmp_path)
    blocker = tmp_path / "out"
    blocker.write_text("not a folder\n")
    ran = cli(capsys, "convert", tree, "--to", "kestra", "-o", blocker)
    assert ran.code == EXIT_FINDINGS, ran.stderr
    assert f"{blocker / 'ok.yaml'}:1:1: F004 " in ran.stderr
    assert blocker.read_text() == "not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tree"]


def test_report_that_cannot_be_written_is_f004_after_the_output(tmp_path: Path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x\n")
    out = tmp_path / "out.yaml"
    report = blocker / "report.md"
    ran = cli(
        capsys, "convert", _flow_file(tmp_path), "--to", "kestra", "-o", out, "--report", report
    )
    assert ran.code == EXIT_FINDINGS, ran.stderr
    assert f"{report}:1:1: F004 " in ran.stderr
    assert out.is_file()


@as_root_skip
def test_read_only_output_folder_is_f004_exit_1(tmp_path: Path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        ran = cli(capsys, "convert", _flow_file(tmp_path), "--to", "kestra", "-o", out / "f.yaml")
    finally:
        out.chmod(0o700)
    assert ran.code == EXIT_FINDINGS, ran.stderr
    assert f"{out / 'f.yaml'}:1:1: F004 " in ran.stderr and "ermission denied" in ran.stderr
    assert list(out.iterdir()) == []
