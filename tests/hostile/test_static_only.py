"""Reading a repo never runs any of it. A repo whose modules raise at import, call
``os.system``, spawn processes, open sockets, delete files or ``exec`` strings -- with a
``conftest.py``, a ``setup.py``, a ``sitecustomize.py``, a ``.pth`` file, modules shadowing
flowbridge's own dependencies and Kestra flows carrying the same payloads -- is converted to
both targets and linted, run as a user would run it (from inside the repo) under an audit hook.

Proven twice: every payload would leave a file in a sentinel folder, which stays empty; and the
hook fails the run on process, signal, socket, import-of-user-module and file-system-change
events, and on ``exec`` of any code that comes from the repo (a code object whose file is in the
repo, or whose constants carry the payloads' marker). ``compile`` is allowed: the Prefect writer
compiles the code it generates, which may quote user text, as a check; parsing is not running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..conftest import ROOT

MARK = "fbhostile7f3a"  # in every payload, so that code compiled from it can be recognised
USER_MODULES = ("fbhostile", "conftest", "setup", "sitecustomize", "usercustomize", "noxfile")

GUARD = textwrap.dedent("""
    import os
    import sys

    OUT = os.environ.get("FB_OUT") and os.path.realpath(os.environ["FB_OUT"])
    REPO = os.path.realpath(os.environ["FB_REPO"])
    MARK = os.environ["FB_MARK"]
    USER_MODULES = frozenset(os.environ["FB_MODULES"].split(","))
    PROCESS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
               "subprocess.Popen", "pty.spawn", "os.startfile")
    CHANGES = {"os.remove": 0, "os.rmdir": 0, "shutil.rmtree": 0, "os.mkdir": 0, "os.chmod": 0,
               "os.chown": 0, "os.truncate": 0, "os.rename": 1, "os.link": 1, "os.symlink": 1}
    WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    violations = []
    busy = False

    def inside(path, root):
        if not root or not isinstance(path, (str, bytes, os.PathLike)):
            return False
        real = os.path.realpath(os.fsdecode(path))
        return real == root or real.startswith(root + os.sep)

    def from_repo(filename):  # "<string>" and the like name no file
        return not filename.startswith("<") and inside(filename, REPO)

    def marked(code):
        return any(
            (isinstance(c, str) and MARK in c) or (hasattr(c, "co_consts") and marked(c))
            for c in code.co_consts
        )

    def judge(event, args):
        if event.startswith(PROCESS) or (event == "os.kill" and args[1] != 0):
            return "process"
        if event.startswith("socket."):
            return "network"
        if event == "exec" and (from_repo(args[0].co_filename) or marked(args[0])):
            return "code from the repo executed"
        if event == "import" and str(args[0]).partition(".")[0] in USER_MODULES:
            return "user module imported"
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITING
            )
            if writes and not isinstance(path, int) and not inside(path, OUT):
                return "file opened for writing outside the output"
        if event in CHANGES and not inside(args[CHANGES[event]], OUT):
            return "file system changed outside the output"
        return None

    def hook(event, args):
        global busy
        if busy:
            return
        busy = True
        try:
            problem = judge(event, args)
        finally:
            busy = False
        if problem:
            violations.append(f"{problem}: {event} {args!r}"[:400])
            raise RuntimeError(f"forbidden during the run: {problem}")

    # As the console script runs: the current folder (the repo) is not on sys.path.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    sys.addaudithook(hook)
    try:
        from transpile.entry import main

        sys.argv = ["flowbridge", *sys.argv[1:]]
        main()
    finally:
        if violations:  # also those a reader caught and turned into a diagnostic
            os.write(2, "".join(f"VIOLATION {v}\\n" for v in violations).encode())
            os._exit(99)
    """)


def payload(sentinels: Path, name: str) -> str:
    """Module-level statements that each leave a file in ``sentinels`` if they ever run."""
    return textwrap.dedent(f"""
        import os
        import pathlib
        import socket
        import subprocess

        pathlib.Path({str(sentinels / name)!r}).write_text("imported")
        os.system("touch {sentinels / name}.system")
        subprocess.run(["touch", {str(sentinels / name)!r} + ".subprocess"])
        exec("open({str(sentinels / name)!r} + '.exec', 'w')")
        eval("__import__('os').system('touch {sentinels / name}.eval')")
        __import__("os").remove({str(sentinels.parent / "victim.txt")!r})
        socket.create_connection(("127.0.0.1", 9))
        raise SystemExit("{MARK}: this module must never be imported")
        """)


HOSTILE_FLOWS = '''
"""Looks like a flow module; its import-time code must never run."""
{payload}
import importlib

from prefect import flow, task

importlib.import_module("fbhostile.more")


@task(name=__import__("os").system("touch {sentinels}/decorator"))
def extract() -> int:
    os.system("touch {sentinels}/task-body")
    return 1


@flow
def hostile_flow() -> int:
    exec("open('{sentinels}/flow-body', 'w')")
    return extract()
'''

MORE_FLOWS = """
from fbhostile.flows import *  # noqa: F403
from fbhostile import flows as hostile
from prefect import flow


@flow(name="{mark}-second")
def second() -> int:
    return hostile.extract()
"""

KESTRA_FLOW = """\
id: hostile_yaml
namespace: safe
inputs:
  - id: code
    type: STRING
    defaults: "__import__('os').system('touch {sentinels}/input-default')"
tasks:
  - id: script
    type: io.kestra.plugin.scripts.python.Script
    script: |
      import os
      os.system("touch {sentinels}/script")
      print("{{{{ inputs.code }}}}")
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - touch {sentinels}/commands
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ inputs.code }}}} {mark}"
"""

TAGGED_YAML = """\
id: tagged
namespace: safe
tasks:
  - id: boom
    type: io.kestra.plugin.core.log.Log
    message: !!python/object/apply:os.system ["touch {sentinels}/yaml-tag"]
"""


def hostile_repo(base: Path) -> tuple[Path, Path, Path]:
    """A repo of hostile files under ``base``: (repo, sentinel folder, victim file)."""
    repo, sentinels, victim = base / "repo", base / f"sentinels-{MARK}", base / "victim.txt"
    sentinels.mkdir(parents=True)
    victim.write_text("keep me")
    files = {
        "pyproject.toml": '[tool.flowbridge]\nnamespace = "safe"\n\n[build-system]\n'
        'requires = ["fbhostile"]\nbuild-backend = "fbhostile.backend"\n',
        "fbhostile/__init__.py": payload(sentinels, "package-init"),
        "fbhostile/flows.py": HOSTILE_FLOWS.format(
            payload=payload(sentinels, "flows"), sentinels=sentinels
        ),
        "fbhostile/more.py": MORE_FLOWS.format(mark=MARK),
        "fbhostile/backend.py": payload(sentinels, "backend"),
        "setup.py": payload(sentinels, "setup") + "\nfrom setuptools import setup\nsetup()\n",
        "conftest.py": payload(sentinels, "conftest"),
        "noxfile.py": payload(sentinels, "noxfile"),
        "sitecustomize.py": payload(sentinels, "sitecustomize"),
        "usercustomize.py": payload(sentinels, "usercustomize"),
        # Modules named like flowbridge's own dependencies: never imported instead of them.
        "black.py": payload(sentinels, "shadow-black"),
        "typer.py": payload(sentinels, "shadow-typer"),
        "libcst/__init__.py": payload(sentinels, "shadow-libcst"),
        "fbhostile.pth": f"import os; os.system('touch {sentinels}/pth')\n{sentinels}\n",
        "flows/hostile.yaml": KESTRA_FLOW.format(sentinels=sentinels, mark=MARK),
        "flows/tagged.yaml": TAGGED_YAML.format(sentinels=sentinels),
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    return repo, sentinels, victim


def run_guarded(
    args: list[str], *, repo: Path, out: Path, script: str = GUARD
) -> subprocess.CompletedProcess:
    """Run flowbridge with ``args`` from inside ``repo`` under the audit hook, allowed to write
    under ``out`` only (lint's cache is sent there too)."""
    env = {
        **os.environ,
        "FLOWBRIDGE_CACHE_DIR": str(out),
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "FB_REPO": str(repo),
        "FB_OUT": str(out),
        "FB_MARK": MARK,
        "FB_MODULES": ",".join(USER_MODULES),
    }
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=repo,
    )


def _has_command(name: str) -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "transpile", name, "--help"],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    return proc.returncode == 0


COMMANDS = {
    "convert-to-kestra": ["convert", "{repo}", "--to", "kestra", "-o", "{out}", "--partial"],
    "convert-to-prefect": ["convert", "{repo}", "--to", "prefect", "-o", "{out}", "--partial"],
    "lint": ["lint", "{repo}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_nothing_of_the_repo_runs(tmp_path: Path, command: str):
    if command == "lint" and not _has_command("lint"):
        pytest.skip("`flowbridge lint` does not exist yet (being added to transpile/cli.py)")
    repo, sentinels, victim = hostile_repo(tmp_path)
    out = tmp_path / "out"
    args = [a.format(repo=repo, out=out) for a in COMMANDS[command]]

    proc = run_guarded(args, repo=repo, out=out)

    assert "VIOLATION" not in proc.stderr, proc.stderr
    assert "forbidden during the run" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert sorted(p.name for p in sentinels.iterdir()) == []
    assert victim.read_text() == "keep me"
    if command == "convert-to-kestra":
        flow = out / "fbhostile" / "hostile_flow.yaml"
        assert flow.is_file(), proc.stderr
        # The import-time statements are module code, not flow code: nothing of them is carried.
        assert "package-init" not in flow.read_text() and "raise SystemExit" not in flow.read_text()
    if command == "convert-to-prefect":
        assert (out / "flows" / "hostile.py").is_file(), proc.stderr


def test_python_dash_m_from_inside_the_repo_imports_nothing_of_it(tmp_path: Path):
    """``python -m`` puts the current folder on sys.path: the repo's ``black.py``, ``typer.py``
    and ``libcst/`` must still not stand in for flowbridge's own dependencies."""
    repo, sentinels, victim = hostile_repo(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "transpile", "convert", ".", "--to", "prefect", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=repo,
    )
    assert "internal error" not in proc.stderr and proc.returncode in (0, 1, 2), proc.stderr
    assert sorted(p.name for p in sentinels.iterdir()) == []
    assert victim.read_text() == "keep me"
    assert (out / "flows" / "hostile.py").is_file(), proc.stderr


def test_the_guard_catches_what_it_guards_against(tmp_path: Path):
    """The hook is live: the same guard around an import of a repo module fails the run
    before any of the module runs."""
    repo, sentinels, _ = hostile_repo(tmp_path)
    probe = GUARD.replace(
        "from transpile.entry import main", f"sys.path.insert(0, {str(repo)!r}); import fbhostile"
    )
    proc = run_guarded([], repo=repo, out=tmp_path / "out", script=probe)
    assert proc.returncode == 99 and "VIOLATION user module imported" in proc.stderr
    assert sorted(p.name for p in sentinels.iterdir()) == []
