"""Converting a repo never runs its code: modules that delete files, spawn processes or open
sockets at import time convert without any of it happening. Proven twice: a sentinel file
the module would create stays absent, and an audit hook fails the run on process, socket,
file-removal and import-of-user-module events."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import ROOT

HOSTILE_MODULE = '''
"""Looks like a flow module; its import-time code must never run."""
import os
import pathlib
import socket
import subprocess

pathlib.Path({sentinel!r}).write_text("imported!")
os.system("echo pwned > {sentinel}.system")
subprocess.run(["true"])
socket.create_connection(("127.0.0.1", 9))
os.remove({victim!r})

from prefect import flow, task


@task
def extract() -> int:
    return 1


@flow
def hostile_flow() -> int:
    return extract()
'''

GUARD = textwrap.dedent("""
    import sys

    FORBIDDEN = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
                 "socket.connect", "socket.bind", "os.remove", "os.unlink", "shutil.rmtree")

    def hook(event, args):
        if event.startswith(FORBIDDEN):
            raise RuntimeError(f"forbidden during conversion: {event} {args!r}")
        if event == "import" and args and str(args[0]).split(".")[0] in ("hostile", "repo"):
            raise RuntimeError(f"user module imported: {args[0]}")

    from transpile.cli import main
    sys.addaudithook(hook)
    sys.argv = ["flowbridge", *sys.argv[1:]]
    main()
    """)


def test_conversion_runs_nothing_from_the_repo(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "hostile").mkdir(parents=True)
    sentinel = tmp_path / "sentinel"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (repo / "hostile" / "__init__.py").write_text("")
    (repo / "hostile" / "flows.py").write_text(
        HOSTILE_MODULE.format(sentinel=str(sentinel), victim=str(victim))
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            GUARD,
            "convert",
            str(repo),
            "--to",
            "kestra",
            "-o",
            str(tmp_path / "out"),
            "--namespace",
            "safe",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    assert "forbidden during conversion" not in proc.stderr, proc.stderr
    assert "user module imported" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not sentinel.exists() and not Path(f"{sentinel}.system").exists()
    assert victim.read_text() == "keep me"
    outputs = list((tmp_path / "out").rglob("*.yaml"))
    assert [p.name for p in outputs] == ["hostile_flow.yaml"], proc.stderr
    # The import-time statements are module code, not flow code: nothing of them is carried.
    assert "pwned" not in outputs[0].read_text()
