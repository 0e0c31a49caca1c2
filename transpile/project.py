"""Files: discovering inputs in a tree, mapping them to outputs, writing atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        "build",
        "dist",
    }
)


def discover(root: Path, suffixes: Iterable[str]) -> tuple[list[Path], list[Diagnostic]]:
    """Files under ``root`` with one of ``suffixes``, sorted; symlinks are not followed out of
    the tree, and broken or looping links are reported instead of crashing."""
    suffixes = tuple(s.lower() for s in suffixes)
    found: list[Path] = []
    diagnostics: list[Diagnostic] = []

    def onerror(error: OSError) -> None:
        diagnostics.append(
            codes.F001.at(
                Span(file=error.filename), what="directory", reason=error.strerror or str(error)
            )
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            path = here / name
            if not path.is_symlink():
                continue
            try:
                path.stat()
            except OSError as error:
                diagnostics.append(
                    codes.F001.at(Span(file=str(path)), what="link", reason=_link_reason(error))
                )
        for name in sorted(filenames):
            path = here / name
            if path.suffix.lower() not in suffixes:
                continue
            if path.is_symlink():
                try:
                    if not path.resolve(strict=True).is_file():
                        continue
                except (OSError, RuntimeError):
                    continue  # already reported above
            found.append(path)
    return found, diagnostics


def _link_reason(error: OSError) -> str:
    if error.errno == 40:  # ELOOP
        return "symbolic link loop"
    return error.strerror or str(error)


def write_atomic(path: Path, text: str, *, force: bool) -> Diagnostic | None:
    """Write ``text`` to ``path`` via a temporary file and a rename, so that a reader (or a
    crash) sees the old file or the new one, never a partial one. Refuses to replace an
    existing file unless ``force``."""
    span = Span(file=str(path))
    if path.exists() and not force:
        return codes.F003.at(span, path=str(path), hint="pass --force to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as error:
        return codes.F004.at(span, path=str(path), reason=error.strerror or str(error))
    return None
