"""Helpers shared by the command-line tests."""

from __future__ import annotations

import traceback
from pathlib import Path

from typer.testing import CliRunner

from transpile.cli import app


def convert(*args: object):
    """``flowbridge convert ARGS`` in-process; a crash (not an exit) fails the test."""
    result = CliRunner().invoke(app, ["convert", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"flowbridge crashed:\n{trace}\n{result.output}")
    return result


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root``; ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
