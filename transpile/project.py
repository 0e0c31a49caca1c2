"""Files: discovering inputs in a tree, mapping them to outputs, writing atomically."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

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

    ignored = gitignored(root) if root.is_dir() else (lambda _path: False)
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIPPED_DIRS and not d.startswith(".") and not ignored(here / d)
        )
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
            if path.suffix.lower() not in suffixes or ignored(path):
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


def gitignored(root: Path) -> Callable[[Path], bool]:
    """A predicate telling whether a path under ``root`` is ignored by the ``.gitignore``
    files of the tree (root and nested ones)."""
    import pathspec

    specs: list[tuple[Path, pathspec.PathSpec]] = []
    for ignore in sorted(root.rglob(".gitignore")):
        if any(part in SKIPPED_DIRS for part in ignore.relative_to(root).parts):
            continue
        try:
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        specs.append((ignore.parent, pathspec.PathSpec.from_lines("gitwildmatch", lines)))

    def ignored(path: Path) -> bool:
        for base, spec in specs:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            if spec.match_file(rel) or spec.match_file(rel + "/"):
                return True
        return False

    return ignored


def project_config(start: Path) -> dict[str, Any]:
    """``[tool.flowbridge]`` of the nearest ``pyproject.toml`` at or above ``start``."""
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
                return {}
            table = data.get("tool", {}).get("flowbridge", {})
            return table if isinstance(table, dict) else {}
    return {}


def slug_namespace(name: str) -> str:
    """A string as a Kestra namespace (lower case, letters, digits, '.', '_', '-')."""
    text = re.sub(r"[^a-z0-9._-]+", "_", name.lower()).strip("._-")
    return text or "default"


def resolve_namespace(source: Path, option: str | None) -> str:
    """The namespace: the command-line option, else ``[tool.flowbridge] namespace``, else the
    name of the converted repo (the source directory, or a file's directory)."""
    if option:
        return option
    configured = project_config(source.resolve()).get("namespace")
    if isinstance(configured, str) and configured:
        return configured
    folder = source.resolve() if source.is_dir() else source.resolve().parent
    return slug_namespace(folder.name)


def output_paths(
    source_root: Path, path: Path, flows: list, *, output: Path, per_flow: bool, suffix: str
) -> list[tuple[Path, list]]:
    """Where the flows read from ``path`` are written. A tree keeps its layout; a file that
    holds one flow per output (Prefect modules) gives ``<dir>/<flow id><suffix>`` each, with a
    numeric suffix when two flows of one folder share an id."""
    single = source_root == path
    if not per_flow:
        if single:
            target = output / path.name if output.is_dir() else output
        else:
            target = output / path.relative_to(source_root)
        return [(target.with_suffix(suffix) if target.suffix != suffix else target, flows)]
    if single and len(flows) == 1 and output.suffix == suffix and not output.is_dir():
        return [(output, flows)]
    folder = output if single else output / path.relative_to(source_root).parent
    planned: list[tuple[Path, list]] = []
    taken: set[Path] = set()
    for flow in flows:
        target = folder / f"{flow.id}{suffix}"
        counter = 2
        while target in taken:
            target = folder / f"{flow.id}_{counter}{suffix}"
            counter += 1
        taken.add(target)
        planned.append((target, [flow]))
    return planned
