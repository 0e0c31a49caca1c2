"""Lint: read each file, dry-run its conversion toward the other side, and report what the
readers, the writer and the rules found — without writing anything but the cache.

Python files are read together with the modules of their project that they import (found
statically, by name), so that a flow whose tasks live in a sibling module is understood as
``convert`` would understand it; only the named files are reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from ..registry import FORMATS, Format, format_of
from .cache import LintCache
from .config import Config, enclosing_folder
from .finding import Finding
from .selection import Selection
from .suppression import apply as apply_suppressions

_MAX_IMPORTED = 200  # modules read besides the linted files, per run
# Larger files are left to the readers, which refuse them (F005) without reading them whole.
_MAX_LINTED_BYTES = 2 * 1024 * 1024


@dataclass
class LintResult:
    """What one run found, file by file (already selected and suppressed)."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    from_cache: int = 0


@dataclass
class _File:
    path: Path
    root: Path
    fmt: Format
    text: str = ""
    key: str = ""
    findings: list[Finding] | None = None
    readable: bool = True
    cached: bool = False
    imports: list[Path] | None = None  # the project modules it imports, once found


def lint_paths(paths: list[Path], config: Config, *, use_cache: bool = True) -> LintResult:
    """Lint files and trees. Problems with the paths themselves are findings too."""
    result = LintResult()
    selection = Selection.of(config)
    cache = LintCache.for_root(config.root, use_cache)
    files, problems = _expand(paths, config)
    raw: dict[str, list[Finding]] = {}
    for item in files:
        try:
            data = _read_bounded(item.path)
        except OSError as error:
            problems.append(
                Finding.of_code("F001", str(item.path), what=str(item.path), reason=error.strerror)
            )
            item.readable = False
            continue
        if data is None:  # past every reader's limit: the reader says so (F005), uncached
            continue
        item.text = data.decode("utf-8", errors="replace")
        if cache.enabled:
            item.key = cache.key(
                str(item.path), data, *_context(item, config), *_imported_content(item)
            )
            item.findings = cache.get(item.key)
            item.cached = item.findings is not None
            result.from_cache += item.cached
    _read_missing([f for f in files if f.readable and not f.cached], config)
    for item in files:
        if item.findings is None:
            continue
        if not item.cached and item.key:
            cache.put(item.key, item.findings)
        found = apply_suppressions(list(item.findings), item.text, item.path.suffix, str(item.path))
        raw[str(item.path)] = found
    result.files = sum(f.readable for f in files)
    for finding in problems + [f for found in raw.values() for f in found]:
        if selection.reports(finding.code, finding.file):
            result.findings.append(finding)
    result.findings.sort()
    return result


def _context(item: _File, config: Config) -> tuple[str, ...]:
    return (item.fmt.name, str(item.root), repr(config.digest_fields))


def _expand(paths: list[Path], config: Config) -> tuple[list[_File], list[Finding]]:
    """The files to lint, each with the root its Python imports are resolved from."""
    files: list[_File] = []
    problems: list[Finding] = []
    seen: set[Path] = set()
    excluded = _exclusions(config)
    for path in paths:
        if path.is_dir():
            from ..conversion import gather

            by_format, found, _ = gather(path)
            problems.extend(Finding.of(d, str(path)) for d in found)
            for name, members in by_format.items():
                for member in members:
                    if member not in seen and not excluded(member):
                        seen.add(member)
                        files.append(_File(member, path, FORMATS[name]))
            continue
        if not path.exists():
            problems.append(Finding.of_code("F001", str(path), what="input", reason="no such file"))
            continue
        if not path.is_file():  # a FIFO would block; a device is no flow
            problems.append(
                Finding.of_code("F001", str(path), what="input", reason="not a regular file")
            )
            continue
        fmt = format_of(path)
        if fmt is None or not fmt.can_read:
            known = ", ".join(n for n, f in FORMATS.items() if f.can_read)
            problems.append(
                Finding.of_code("F007", str(path), name=path.suffix or path.name, known=known)
            )
            continue
        if not fmt.claims_file(path):
            continue  # a CI workflow or tool config that pre-commit passed along
        if path not in seen and not excluded(path):
            seen.add(path)
            files.append(_File(path, _project_root(path, config), fmt))
    return files, problems


def _exclusions(config: Config):
    if not config.exclude:
        return lambda _path: False
    from ..patterns import gitignore_spec

    spec = gitignore_spec(config.exclude)

    def excluded(path: Path) -> bool:
        try:
            return spec.match_file(path.resolve().relative_to(config.root.resolve()).as_posix())
        except ValueError:
            return False

    return excluded


def _project_root(path: Path, config: Config) -> Path:
    """Where a file's imports are resolved from: the configured project, else the nearest
    folder above it holding ``.git`` or ``pyproject.toml``, else its own folder."""
    if config.source is not None:
        return config.root
    folder = path.resolve().parent
    return enclosing_folder(folder, (".git", "pyproject.toml")) or folder


def _read_bounded(path: Path) -> bytes | None:
    """A file's bytes, or None when it is larger than any reader accepts."""
    with open(path, "rb") as handle:
        data = handle.read(_MAX_LINTED_BYTES + 1)
    return None if len(data) > _MAX_LINTED_BYTES else data


def _imported_content(item: _File) -> list[bytes]:
    """The bytes of the project modules a Python file imports (directly or not): they
    change what the file's flows mean, so they are part of its cache key."""
    if item.fmt.name != "prefect":
        return []
    found = []
    for module in _imports_of(item):
        try:
            found.append(_read_bounded(module) or b"<too large>")
        except OSError:
            found.append(b"<unreadable>")
    return found


def _imports_of(item: _File) -> list[Path]:
    """The project modules ``item`` imports, found once (the cache key and the read use them)."""
    if item.imports is None:
        item.imports = imported_modules(item.path, item.root, item.text)
    return item.imports


def imported_modules(path: Path, root: Path, text: str | None = None) -> list[Path]:
    """Modules of the project under ``root`` that ``path`` imports, transitively (at most
    ``_MAX_IMPORTED``), found by name without running anything."""
    found: list[Path] = []
    seen = {path.resolve()}
    queue = [(path, text)]
    while queue and len(found) < _MAX_IMPORTED:
        current, source = queue.pop()
        for candidate in _import_candidates(current, root, source):
            if not candidate.is_file():  # most candidates do not exist: one stat, no resolve
                continue
            real = candidate.resolve()
            if real not in seen:
                seen.add(real)
                found.append(candidate)
                queue.append((candidate, None))
    return sorted(found)


def _import_candidates(path: Path, root: Path, text: str | None) -> list[Path]:
    try:
        source = text if text is not None else _read_bounded(path)
        if source is None or len(source) > _MAX_LINTED_BYTES:
            return []
        tree = ast.parse(source)
    except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
        return []
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.append((node.level, base))
            names.extend((node.level, f"{base}.{a.name}" if base else a.name) for a in node.names)
    candidates = []
    for level, dotted in names:
        if level:
            anchor = path.parent
            for _ in range(level - 1):
                anchor = anchor.parent
            bases = [anchor]
        else:
            bases = [root, root / "src", path.parent]
        parts = [p for p in dotted.split(".") if p]
        for base in bases:
            target = base.joinpath(*parts) if parts else base
            candidates += [target.with_suffix(".py"), target / "__init__.py"]
    return candidates


def _read_missing(files: list[_File], config: Config) -> None:
    """Read, dry-run and check the files the cache did not answer."""
    kestra = [f for f in files if f.fmt.name == "kestra"]
    for item in kestra:
        result = item.fmt.read(item.path)
        item.findings = _findings(item, result)
    by_root: dict[Path, list[_File]] = {}
    for item in files:
        if item.fmt.name == "prefect":
            by_root.setdefault(item.root, []).append(item)
    for root, members in by_root.items():
        from ..project import resolve_namespace

        extra: list[Path] = []
        named = {m.path.resolve() for m in members}
        for member in members:
            extra += _imports_of(member)
        extra = sorted({p for p in extra if p.resolve() not in named})
        namespace = resolve_namespace(root, config.namespace)
        results = members[0].fmt.read_repo(
            root, [m.path for m in members] + extra, namespace=namespace
        )
        for member in members:
            member.findings = _findings(member, results[member.path])


def _findings(item: _File, result) -> list[Finding]:
    """A read's diagnostics, plus those of writing its flows to the other side."""
    from ir import codes
    from ir.base import Span

    from ..result import WriteContext

    diagnostics = list(result.diagnostics)
    target = FORMATS[item.fmt.counterpart]
    if result.flows and not any(d.is_error for d in diagnostics):
        groups = [[f] for f in result.flows] if item.fmt.one_file_per_flow else [result.flows]
        for flows in groups:
            try:
                _, found = target.write(
                    flows, WriteContext(source_name=item.path.name, dry_run=True)
                )
            except RecursionError:
                found = [
                    codes.F005.at(
                        Span(file=str(item.path)), reason="the flow is nested too deeply to write"
                    )
                ]
            diagnostics.extend(found)
    findings = {Finding.of(d, str(item.path)) for d in diagnostics}
    return sorted(findings)
