"""What ``flowbridge convert`` may do to the files around it, for both targets:

- an existing file (an output, ``prefect.yaml``, ``requirements.txt``, even a broken symbolic
  link) is never replaced without ``--force`` (F003, exit 1; bytes, modification time and
  permissions untouched), and a replaced file keeps its permissions;
- writes are atomic: a run killed with SIGKILL at any point leaves each output either its old
  content or exactly its new content, never a partial one, and the next run removes the
  temporary files the killed run could not;
- nothing is written outside ``-o`` (and ``--report``), whatever the flows' ids, namespaces or
  file names, and whatever symbolic links the source or the output holds;
- a flow with error diagnostics is written only with ``--partial``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from transpile.project import write_atomic

from ..conftest import FIXTURES, ROOT
from ..support import convert, write_tree

TARGETS = ("kestra", "prefect")
SUFFIX = {"kestra": ".yaml", "prefect": ".py"}
TEMP = re.compile(r"\.(?P<name>.+)\.flowbridge\.(?P<pid>[0-9]+)\.[a-z0-9_]{8}\.tmp")


def flow(flow_id: str, *, namespace: str = "company.team") -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - id: hello\n"
        f"    type: io.kestra.plugin.core.log.Log\n    message: hello {flow_id}\n"
    )


# A Log task without its message: K103, an error.
BROKEN = (
    "id: broken\nnamespace: company.team\ntasks:\n  - id: a\n"
    "    type: io.kestra.plugin.core.log.Log\n"
)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (and ``root`` itself): kind, content or link target,
    modification time and permissions, without following links."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            what = ("link", os.readlink(path))
        elif stat.S_ISDIR(info.st_mode):
            what = ("dir", None)
        else:
            what = ("file", path.read_bytes())
        found[path.relative_to(root).as_posix()] = (*what, info.st_mtime_ns, info.st_mode)
    return found


def changes(before: dict, after: dict) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def umask_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


# --- no overwrite without --force ------------------------------------------------------------

SOURCES = {"etl/daily-sales.yaml": flow("daily_sales"), "plain.yaml": flow("plain")}
OUTPUTS = {
    "kestra": ["etl/daily-sales.yaml", "plain.yaml"],
    "prefect": ["etl/daily_sales.py", "plain.py", "prefect.yaml", "requirements.txt"],
}
OLD_TIME = 1_000_000_000_000_000_000  # 2001, in ns: a rewrite with equal bytes still shows


@pytest.mark.parametrize(
    "target, existing", [(t, name) for t in TARGETS for name in OUTPUTS[t]], ids=str
)
def test_existing_file_is_kept_without_force_and_replaced_with_it(tmp_path, target, existing):
    src = write_tree(tmp_path / "src", SOURCES)
    fresh = tmp_path / "fresh"
    assert convert(src, "--to", target, "-o", fresh).exit_code == 0
    assert sorted(files_under(fresh)) == sorted(OUTPUTS[target])
    out = tmp_path / "out"
    mine = write_tree(out, {existing: "# mine\n"}) / existing
    mine.chmod(0o640)
    os.utime(mine, ns=(OLD_TIME, OLD_TIME))
    kept = snapshot(mine)

    refused = convert(src, "--to", target, "-o", out)
    assert refused.exit_code == 1, refused.output
    assert f"F003 refusing to overwrite existing {mine}" in refused.output
    assert "--force" in refused.output
    assert snapshot(mine) == kept  # bytes, mtime and permissions

    forced = convert(src, "--to", target, "-o", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert files_under(out) == files_under(fresh)
    assert stat.S_IMODE(mine.stat().st_mode) == 0o640  # a replaced file keeps its permissions
    others = [out / name for name in OUTPUTS[target] if name != existing]
    assert {stat.S_IMODE(p.stat().st_mode) for p in others} == {umask_mode()}
    assert not [p for p in out.rglob("*") if TEMP.fullmatch(p.name)]


@pytest.mark.parametrize("target", TARGETS)
def test_single_file_output_is_kept_without_force(tmp_path, target):
    src = write_tree(tmp_path, {"plain.yaml": flow("plain")}) / "plain.yaml"
    out = write_tree(tmp_path, {f"mine{SUFFIX[target]}": "# mine\n"}) / f"mine{SUFFIX[target]}"
    os.utime(out, ns=(OLD_TIME, OLD_TIME))
    kept = snapshot(out)
    refused = convert(src, "--to", target, "-o", out)
    assert refused.exit_code == 1 and f"F003 refusing to overwrite existing {out}" in refused.output
    assert snapshot(out) == kept
    forced = convert(src, "--to", target, "-o", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert "hello plain" in out.read_text()


@pytest.mark.parametrize("target", TARGETS)
def test_symbolic_link_at_an_output_is_an_existing_file(tmp_path, target):
    """A link (even a broken one) is refused without --force; with it, the link is replaced
    and what it pointed to is left alone."""
    src = write_tree(tmp_path / "src", {"plain.yaml": flow("plain"), "other.yaml": flow("other")})
    victim = write_tree(tmp_path / "outside", {"victim": "# victim\n"}) / "victim"
    out = tmp_path / "out"
    out.mkdir()
    (out / f"plain{SUFFIX[target]}").symlink_to(victim)
    (out / f"other{SUFFIX[target]}").symlink_to(tmp_path / "outside" / "missing")

    refused = convert(src, "--to", target, "-o", out)
    assert refused.exit_code == 1
    assert len(re.findall(r"F003 refusing to overwrite", refused.output)) == 2, refused.output
    assert (out / f"other{SUFFIX[target]}").is_symlink()

    forced = convert(src, "--to", target, "-o", out, "--force")
    assert forced.exit_code == 0, forced.output
    for name in ("plain", "other"):
        written = out / f"{name}{SUFFIX[target]}"
        assert not written.is_symlink() and f"hello {name}" in written.read_text()
    assert victim.read_text() == "# victim\n"
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["victim"]


# --- atomic writes: runs killed with SIGKILL ---------------------------------------------------

KILL_FLOWS = 30

# Runs flowbridge with os.fdopen patched so that the N-th file written gets only half of its
# text before the process stops, to be killed there: inside write_atomic, mid-write.
STALL = textwrap.dedent("""
    import os
    import sys
    import time

    stall_at, calls, real_fdopen = int(sys.argv.pop(1)), [], os.fdopen

    class Half:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

        def write(self, text):
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            sys.stderr.write("STALLED\\n")
            sys.stderr.flush()
            time.sleep(120)

        def __getattr__(self, name):
            return getattr(self.handle, name)

    def fdopen(fd, *args, **kwargs):
        calls.append(fd)
        handle = real_fdopen(fd, *args, **kwargs)
        return Half(handle) if len(calls) == stall_at else handle

    os.fdopen = fdopen
    from transpile.entry import main

    sys.argv = ["flowbridge", *sys.argv[1:]]
    main()
    """)


def kill_source(root: Path) -> list[str]:
    """KILL_FLOWS Kestra flows in three folders (the Kestra → Prefect fixtures under new ids);
    the files their conversion to Prefect writes, the modules, then the project files."""
    bases = sorted(FIXTURES.glob("kestra_to_prefect/*/input/**/*.yaml"))
    assert bases, "no fixtures"
    modules = []
    for i in range(KILL_FLOWS):
        text = bases[i % len(bases)].read_text(encoding="utf-8")
        text = re.sub(r"^id:\s*(\S+)", rf"id: \g<1>_{i}", text, count=1, flags=re.M)
        name = f"d{i % 3}/flow_{i:03d}"
        write_tree(root, {f"{name}.yaml": text})
        modules.append(f"{name}.py")
    return [*sorted(modules), "prefect.yaml", "requirements.txt"]


def flowbridge(*args: object, stall_at: int | None = None) -> subprocess.Popen:
    prefix = ["-m", "transpile"] if stall_at is None else ["-c", STALL, str(stall_at)]
    return subprocess.Popen(
        [sys.executable, *prefix, *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def kill(proc: subprocess.Popen, *, after_written: int = 0, on: str = "") -> int:
    """SIGKILL ``proc`` once it has reported ``after_written`` files written, or printed a line
    starting with ``on``; how many files it had reported."""
    written = 0
    for line in proc.stderr:
        written += line.startswith("wrote ")
        if (after_written and written >= after_written) or (on and line.startswith(on)):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before the kill ({written} files)"
    return written


def test_killed_runs_leave_each_output_old_or_new(tmp_path):
    src = tmp_path / "src"
    expected = kill_source(src)
    old = {name: f"# old version of {name}\n".encode() for name in expected}
    write_tree(tmp_path / "old", {k: v.decode() for k, v in old.items()})
    args = ("convert", src, "--to", "prefect", "--force", "--partial", "-o")
    reference = flowbridge(*args, tmp_path / "reference")  # meanwhile, the kills

    # Outputs are written in one burst after every text is rendered, so a kill timed on the
    # "wrote" lines can come too late; the first two kills land between files once a few are
    # written (the process is stalled at a later file, then killed), the others mid-file.
    points = [("written", 1), ("written", KILL_FLOWS // 2), ("stall", 5), ("stall", KILL_FLOWS + 1)]
    killed = []
    for n, (how, at) in enumerate(points):
        out = tmp_path / f"killed-{n}"
        shutil.copytree(tmp_path / "old", out)
        if how == "written":
            proc = flowbridge(*args, out, stall_at=at + 1)
            reported = kill(proc, after_written=at)
        else:
            proc = flowbridge(*args, out, stall_at=at)
            reported = kill(proc, on="STALLED")
        killed.append((how, at, out, proc.pid, reported))

    _, errors = reference.communicate(timeout=120)
    assert reference.returncode in (0, 1), errors
    new = files_under(tmp_path / "reference")
    assert sorted(new) == sorted(expected), errors
    assert all(new[name] != old[name] for name in expected)

    for how, at, out, pid, reported in killed:
        present = {
            p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink()
        }
        temps = {name for name in present if TEMP.fullmatch(Path(name).name)}
        assert present - temps == set(expected), f"files missing or extra after kill {how}@{at}"
        state = {}
        for name in expected:
            data = (out / name).read_bytes()
            assert data in (old[name], new[name]), f"{name} is partial after kill {how}@{at}"
            state[name] = "new" if data == new[name] else "old"
        assert sum(s == "new" for s in state.values()) >= reported
        for temp in temps:
            match = TEMP.fullmatch(Path(temp).name)
            assert int(match["pid"]) == pid
            final = (Path(temp).parent / match["name"]).as_posix()
            assert state[final] == "old"
            assert new[final].startswith((out / temp).read_bytes())
        if how == "stall":  # killed mid-write: a half-written temporary file, the old output
            assert len(temps) == 1, temps
            stalled = (out / temps.pop()).read_bytes()
            assert 0 < len(stalled) < len(new[final])
            assert final == "prefect.yaml" if at > KILL_FLOWS else final.endswith(".py")
            assert sum(s == "new" for s in state.values()) == at - 1

    # The next run finishes the job and removes the temporary file the killed one left.
    out = killed[-1][2]
    resumed = flowbridge(*args, out)
    _, errors = resumed.communicate(timeout=120)
    assert resumed.returncode == reference.returncode, errors
    assert files_under(out) == new
    assert not [p for p in out.rglob("*") if TEMP.fullmatch(p.name)]


def test_temporary_files_of_killed_runs_only_are_removed(tmp_path):
    target = tmp_path / "flow.py"
    target.write_text("# old\n")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {
        "stale": f".flow.py.flowbridge.{dead.pid}.abcdefgh.tmp",
        "ours": f".flow.py.flowbridge.{os.getpid()}.abcdefgh.tmp",
        "running": f".flow.py.flowbridge.{os.getppid()}.abcdefgh.tmp",
        "other output": f".other.py.flowbridge.{dead.pid}.abcdefgh.tmp",
        "user's": ".flow.py.notes.tmp",
        "user's look-alike": f".flow.py.flowbridge.{dead.pid}.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_text("temporary")
    assert write_atomic(target, "# new\n", force=True) is None
    assert target.read_text() == "# new\n"
    left = {k for k, name in names.items() if (tmp_path / name).exists()}
    assert left == set(names) - {"stale"}


# --- nothing outside -o ----------------------------------------------------------------------

HOSTILE_PY = """
from prefect import flow


@flow(name="../../outside/escaped")
def up() -> None:
    print("up")


@flow(name="/tmp/absolute")
def absolute() -> None:
    print("absolute")


@flow(name="..")
def dots() -> None:
    print("dots")


@flow(name="a/../../../b")
def mixed() -> None:
    up()
"""


def hostile_tree(base: Path) -> tuple[Path, Path]:
    """A source tree of hostile ids, namespaces, file names and links, and the folder outside
    it that its links and names aim at."""
    outside = write_tree(
        base / "outside",
        {"linked-flow.yaml": flow("linked"), "dir/inner.yaml": flow("inner"), "victim": "v\n"},
    )
    src = write_tree(
        base / "src",
        {
            "ids/traversal.yaml": flow("../../outside/x", namespace="../../outside"),
            "ids/absolute.yaml": flow("/tmp/flowbridge-absolute", namespace="/etc"),
            "ids/dots.yaml": flow("..", namespace="a..b.."),
            "names/..yaml": flow("dotfile"),
            "names/...yaml": flow("dots3"),
            "names/-rf .yaml": flow("dash"),
            "names/__init__.yaml": flow("init"),
            "pkg/flows.py": HOSTILE_PY,
        },
    )
    (src / "linked.yaml").symlink_to(outside / "linked-flow.yaml")
    (src / "linked_dir").symlink_to(outside / "dir", target_is_directory=True)
    (src / "up").symlink_to(base, target_is_directory=True)
    return src, outside


@pytest.mark.parametrize("target", TARGETS)
def test_nothing_is_written_outside_the_output(tmp_path, monkeypatch, target):
    src, outside = hostile_tree(tmp_path)
    out, reports = tmp_path / "out", tmp_path / "reports"
    out.mkdir()
    reports.mkdir()
    # outputs already there as links to outside files: replaced, their targets untouched
    (out / f"linked{SUFFIX[target]}").symlink_to(outside / "victim")
    monkeypatch.chdir(write_tree(tmp_path / "cwd", {"keep": ""}))
    before = snapshot(tmp_path)

    result = convert(
        src, "--to", target, "-o", out, "--partial", "--force", "--report", reports / "r.md"
    )

    assert result.exit_code in (0, 1, 2), result.output
    changed = changes(before, snapshot(tmp_path))
    assert {c for c in changed if c.partition("/")[0] not in ("out", "reports")} == set()
    assert (reports / "r.md").is_file()
    written = files_under(out)
    assert len(written) >= 8, result.output
    for name in written:
        assert (out / name).resolve().is_relative_to(out.resolve())
    assert not (out / f"linked{SUFFIX[target]}").is_symlink()


@pytest.mark.parametrize("target", TARGETS)
def test_a_symlinked_folder_in_the_output_is_not_followed(tmp_path, target):
    src = write_tree(tmp_path / "src", {"etl/flow.yaml": flow("etl_flow")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "etl").symlink_to(elsewhere, target_is_directory=True)
    result = convert(src, "--to", target, "-o", out, "--force")
    assert list(elsewhere.iterdir()) == []
    assert result.exit_code == 1 and "F004" in result.output


def test_write_atomic_refuses_a_path_that_leads_outside_its_root(tmp_path):
    root, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    root.mkdir()
    (root / "etl").symlink_to(elsewhere, target_is_directory=True)
    for path in (root / "etl" / "flow.py", root / "etl" / "new" / "flow.py", root / ".." / "x"):
        problem = write_atomic(path, "x = 1\n", force=True, root=root)
        assert problem is not None and problem.code == "F004"
        assert "outside the output directory" in problem.message
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "x").exists()
    assert write_atomic(root / "a" / "flow.py", "x = 1\n", force=False, root=root) is None


# --- error diagnostics: nothing written without --partial ------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_a_flow_with_errors_is_written_only_with_partial(tmp_path, target):
    bad = write_tree(tmp_path, {"bad.yaml": BROKEN}) / "bad.yaml"
    out = tmp_path / "out" / f"bad{SUFFIX[target]}"
    result = convert(bad, "--to", target, "-o", out)
    assert result.exit_code == 1
    assert f"{bad}:4:5: K103" in result.output
    assert not (tmp_path / "out").exists()
    result = convert(bad, "--to", target, "-o", out, "--partial")
    assert result.exit_code == 1 and "K103" in result.output
    assert out.is_file()


ERROR_TREES = {
    "kestra->kestra": ("kestra", {"good.yaml": flow("good"), "sub/also.yaml": flow("also")}),
    "kestra->prefect": ("prefect", {"good.yaml": flow("good"), "sub/also.yaml": flow("also")}),
    "prefect->kestra": ("kestra", None),
}
# A flow in error exits 1; a module that does not parse is an input error, exit 2.
ERROR_EXIT = {"kestra->kestra": 1, "kestra->prefect": 1, "prefect->kestra": 2}


def error_tree(base: Path, case: str) -> tuple[str, Path, str]:
    """(target, source tree with one flow in error among good ones, the bad flow's output)."""
    target, files = ERROR_TREES[case]
    if files is None:
        src = base / "src"
        shutil.copytree(FIXTURES / "prefect" / "broken_syntax", src, ignore=lambda *_: {"expected"})
        return target, src, "broken.yaml"
    return (
        target,
        write_tree(base / "src", {**files, "broken.yaml": BROKEN}),
        f"broken{SUFFIX[target]}",
    )


@pytest.mark.parametrize("case", sorted(ERROR_TREES))
def test_the_flow_in_error_is_written_only_with_partial(tmp_path, case):
    target, src, bad = error_tree(tmp_path, case)
    result = convert(src, "--to", target, "-o", tmp_path / "out")
    assert result.exit_code == ERROR_EXIT[case], result.output
    assert not (tmp_path / "out" / bad).exists()
    result = convert(src, "--to", target, "-o", tmp_path / "partial", "--partial")
    assert result.exit_code == ERROR_EXIT[case], result.output
    written = files_under(tmp_path / "partial")
    if case != "prefect->kestra":  # a module that does not parse has no flow to write
        assert bad in written and len(written) >= 3
    assert written


@pytest.mark.parametrize("case", sorted(ERROR_TREES))
def test_any_error_in_the_run_writes_nothing_without_partial(tmp_path, case):
    target, src, _ = error_tree(tmp_path, case)
    result = convert(src, "--to", target, "-o", tmp_path / "out")
    assert result.exit_code == ERROR_EXIT[case], result.output
    assert not (tmp_path / "out").exists() or files_under(tmp_path / "out") == {}
