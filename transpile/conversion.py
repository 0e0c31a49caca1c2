"""A conversion as data: which files are read, which flows go to which output, and the text
each output would hold. ``convert`` writes the texts; ``lint`` and ``check --diff`` only look
at them, so all three see exactly the same conversion."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic

from .project import discover, output_paths, resolve_namespace
from .registry import FORMATS, Format, reader_for
from .result import Sibling, WriteContext, content_digest


@dataclass
class Job:
    """Flows read from ``source`` (in ``reader`` format) to be written to ``output``."""

    source: Path
    output: Path
    flows: list
    diagnostics: list[Diagnostic]
    reader: Format


@dataclass
class Plan:
    """Everything read for one conversion, and where each flow goes."""

    source: Path
    target: Format
    output: Path
    namespace: str
    jobs: list[Job] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    flows: int = 0

    @property
    def root(self) -> Path:
        """The folder the source paths are named relative to."""
        return self.source if self.source.is_dir() else self.source.parent

    @property
    def into_dir(self) -> bool:
        return self.source.is_dir() and str(self.output) != "-"

    @property
    def siblings(self) -> dict[tuple[str | None, str], Sibling]:
        """Every flow written to a folder in this run, by ``(namespace, id)``."""
        if not self.into_dir:
            return {}
        return {
            (flow.namespace, flow.id): Sibling(
                relative(job.output, self.output), tuple(p.name for p in flow.parameters)
            )
            for job in self.jobs
            for flow in job.flows
        }


def gather(source: Path) -> tuple[dict[str, list[Path]], list[Diagnostic], int]:
    """The flow files of a file or a tree, by reader format; the problems met; how many files
    were considered. In a tree, files a format does not claim (CI workflows, charts, tool
    configs) are skipped; a file named explicitly is always read."""
    found: list[Diagnostic] = []
    if source.is_dir():
        readable = [s for f in FORMATS.values() if f.can_read for s in f.suffixes]
        files, found = discover(source, readable)
        if not files and not found:
            found.append(codes.F006.at(Span(file=str(source)), path=str(source)))
    else:
        files = [source]
    by_format: dict[str, list[Path]] = {}
    count = 0
    for path in files:
        fmt, problem = reader_for(path)
        if fmt is not None and source.is_dir() and not fmt.claims_file(path):
            continue
        count += 1
        if fmt is None:
            found.append(problem)
        else:
            by_format.setdefault(fmt.name, []).append(path)
    return by_format, found, count


def plan_conversion(
    source: Path,
    target: Format,
    output: Path,
    *,
    namespace: str | None = None,
    advance: Any = None,
) -> Plan:
    """Read ``source`` (a file or a tree) and decide where each flow goes under ``output``."""
    plan = Plan(source, target, output, resolve_namespace(source, namespace))
    if not source.exists() and not source.is_symlink():
        plan.diagnostics.append(
            codes.F001.at(Span(file=str(source)), what="input", reason="no such file or directory")
        )
        return plan
    by_format, found, plan.files = gather(source)
    plan.diagnostics.extend(found)
    claimed: set[Path] = set()
    for name, paths in by_format.items():
        fmt = FORMATS[name]
        results = fmt.read_repo(plan.root, paths, namespace=plan.namespace)
        for path in paths:
            if advance is not None:
                advance()
            result = results[path]
            plan.diagnostics.extend(result.diagnostics)
            plan.flows += len(result.flows)
            if not result.flows:
                continue
            planned = output_paths(
                source,
                path,
                result.flows,
                output=output,
                per_flow=fmt.one_file_per_flow and fmt is not target,
                suffix=target.output_suffix if fmt is not target else path.suffix,
            )
            for out, flows in planned:
                if out != output:  # a name chosen for the user, spelled as the target needs
                    out = out.with_name(target.output_name(out.stem) + out.suffix)
                job = Job(path, _unclaimed(out, claimed), flows, list(result.diagnostics), fmt)
                plan.jobs.append(job)
    return plan


def render(plan: Plan, job: Job, siblings: dict | None = None) -> tuple[str, list[Diagnostic]]:
    """The text ``job``'s output would hold, and what the writer reported. Raises
    RecursionError for a flow nested past what the writer's recursion can take."""
    crossing = job.reader is not plan.target
    try:
        digest = content_digest(job.source.read_bytes()) if crossing else ""
    except OSError:
        digest = ""
    to_file = str(plan.output) != "-"
    context = WriteContext(
        source_name=relative(job.source, plan.root),
        source_digest=digest,
        output=relative(job.output, plan.output) if plan.into_dir else None,
        siblings=plan.siblings if siblings is None else siblings,
        source_root=_link(plan.root, job.output.parent) if crossing and to_file else None,
    )
    return plan.target.write(job.flows, context)


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, ``/``-separated (the path itself when outside it)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _link(target: Path, start: Path) -> str:
    """``target`` relative to the folder ``start``, ``/``-separated (``..`` allowed)."""
    return Path(os.path.relpath(os.path.abspath(target), os.path.abspath(start))).as_posix()


def _unclaimed(out: Path, claimed: set[Path]) -> Path:
    """``out``, or ``out`` with a numeric suffix when this run already wrote that path (two
    modules of one folder defining flows with the same id)."""
    candidate, counter = out, 2
    while candidate in claimed:
        candidate = out.with_name(f"{out.stem}_{counter}{out.suffix}")
        counter += 1
    claimed.add(candidate)
    return candidate
