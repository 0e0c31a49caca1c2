"""The formats flowbridge reads and writes, by name. The CLI only talks to this registry,
never to a reader's internals (as pandoc and sqlglot do). Readers and writers are imported
lazily so that commands pay only for what they use."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

from ir.base import Record


class Format(Record):
    """One side: file suffixes, a reader (path → ReadResult) and a writer (flows → text,
    diagnostics), given as ``module:function`` and resolved on first use."""

    name: str
    suffixes: tuple[str, ...]
    output_suffix: str
    reader: str | None
    writer: str | None
    repo_reader: str | None = None  # (root, files, *, namespace) -> {path: ReadResult}
    claims: str | None = None  # (path) -> bool: may a file found in a tree be of this format
    one_file_per_flow: bool = False  # a source file may hold several flows, written apart
    output_stem: str | None = None  # (stem) -> stem: how an output file's name must be spelled
    project_writer: str | None = None  # (modules, project) -> files beside a directory's output
    counterpart: str | None = None  # the other side: where lint dry-runs a conversion

    def _resolve(self, target: str | None, what: str) -> Callable[..., Any]:
        if target is None:
            raise NotImplementedError(f"the {self.name} {what} is not available yet")
        module, _, name = target.partition(":")
        return getattr(import_module(module), name)

    def read(self, path: Path, *, namespace: str | None = None) -> Any:
        """Read a file of this format: an object with ``flows`` and ``diagnostics``."""
        reader = self._resolve(self.reader, "reader")
        return reader(path) if self.repo_reader is None else reader(path, namespace=namespace)

    def read_repo(self, root: Path, files: list[Path], *, namespace: str) -> dict[Path, Any]:
        """Read the files of one tree together (cross-file references resolved)."""
        if self.repo_reader is None:
            return {path: self.read(path) for path in files}
        return self._resolve(self.repo_reader, "reader")(root, files, namespace=namespace)

    def write(self, flows: list[Any], context: Any = None) -> tuple[str, list[Any]]:
        """Write flows in this format; ``context`` is a :class:`transpile.result.WriteContext`."""
        return self._resolve(self.writer, "writer")(flows, context)

    def output_name(self, stem: str) -> str:
        """An output file's stem as this format needs it spelled (Python module names)."""
        return stem if self.output_stem is None else self._resolve(self.output_stem, "writer")(stem)

    def project_files(self, modules: list[tuple[str, list[Any]]], project: str) -> list:
        """Files written beside the output of a directory: ``(relative path, text,
        diagnostics)``."""
        if self.project_writer is None:
            return []
        return self._resolve(self.project_writer, "writer")(modules, project)

    def claims_file(self, path: Path) -> bool:
        """Whether a file met while walking a tree is worth reading as this format."""
        return self.claims is None or self._resolve(self.claims, "reader")(path)

    @property
    def can_read(self) -> bool:
        return self.reader is not None

    @property
    def can_write(self) -> bool:
        return self.writer is not None


FORMATS: dict[str, Format] = {
    "kestra": Format(
        name="kestra",
        suffixes=(".yaml", ".yml"),
        output_suffix=".yaml",
        reader="transpile.kestra.reader:read_kestra_file",
        writer="transpile.kestra.writer:write_kestra",
        claims="transpile.kestra.claims:looks_like_flow",
        counterpart="prefect",
    ),
    "prefect": Format(
        name="prefect",
        suffixes=(".py",),
        output_suffix=".py",
        reader="transpile.prefect.reader:read_prefect_file",
        writer="transpile.prefect.writer:write_prefect_text",
        repo_reader="transpile.prefect.reader:read_prefect_repo",
        one_file_per_flow=True,
        output_stem="transpile.prefect.names:module_name",
        project_writer="transpile.prefect.project_files:project_files",
        counterpart="kestra",
    ),
}


def format_of(path: Path) -> Format | None:
    """The format a file's suffix says it is in."""
    suffix = path.suffix.lower()
    return next((f for f in FORMATS.values() if suffix in f.suffixes), None)


def reader_for(path: Path) -> tuple[Format | None, Any]:
    """The format that can read ``path``, or None and the diagnostic that says why not."""
    from ir import codes
    from ir.base import Span

    fmt = format_of(path)
    if fmt is not None and fmt.can_read:
        return fmt, None
    known = ", ".join(n for n, f in FORMATS.items() if f.can_read)
    return None, codes.F007.at(Span(file=str(path)), name=path.suffix or path.name, known=known)
