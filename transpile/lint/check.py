"""``flowbridge check``: are the committed generated files still those of their sources?

A generated file names its source and the source's content hash in its header (see
:mod:`transpile.provenance`). A file is stale when the source's hash has changed (L101) or
the source is gone (L102). Given a source rather than a generated file, check looks for the
generated files that name it under the project. ``--diff`` converts the sources again, in
memory, and shows how each stale file would change.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..provenance import Provenance, read_provenance
from ..result import content_digest
from .config import Config, enclosing_folder
from .finding import Finding

GENERATED_SUFFIXES = (".py", ".yaml", ".yml")
_SKIPPED = {".git", ".venv", "venv", "node_modules", "__pycache__", ".flowbridge_cache"}


@dataclass(frozen=True)
class Pair:
    """A generated file and what its header says of its source."""

    generated: Path
    provenance: Provenance
    source: Path | None


@dataclass
class CheckResult:
    pairs: list[Pair] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    stale: list[Pair] = field(default_factory=list)


def check_paths(paths: list[Path], config: Config) -> CheckResult:
    """Check the generated files among ``paths`` (folders are walked) and those generated
    from the sources among them."""
    result = CheckResult()
    generated: dict[Path, Provenance] = {}
    sources: list[Path] = []
    for path in paths:
        if path.is_dir():
            generated.update(_walk(path))
        elif not path.exists():
            result.findings.append(
                Finding.of_code("F001", str(path), what="input", reason="no such file")
            )
        else:
            provenance = read_provenance(path)
            if provenance is not None:
                generated[path] = provenance
            else:
                sources.append(path)
    if sources:
        wanted = {_real(s) for s in sources}
        for path, provenance in _walk(_search_root(sources, config)).items():
            source = provenance.source_path(path)
            if source is not None and _real(source) in wanted:
                generated.setdefault(path, provenance)
    for path in sorted(generated):
        provenance = generated[path]
        pair = Pair(path, provenance, provenance.source_path(path))
        result.pairs.append(pair)
        finding = _staleness(pair)
        if finding is not None:
            result.findings.append(finding)
            result.stale.append(pair)
    return result


def _staleness(pair: Pair) -> Finding | None:
    if pair.source is None or pair.provenance.digest is None:
        return None  # written without a recorded source: nothing to compare
    try:
        if pair.source.exists() and not pair.source.is_file():  # a FIFO would block
            return Finding.of_code(
                "F001", str(pair.source), what=str(pair.source), reason="not a file"
            )
        data = pair.source.read_bytes()
    except FileNotFoundError:
        return Finding.of_code("L102", str(pair.generated), source=pair.provenance.source)
    except OSError as error:
        return Finding.of_code(
            "F001", str(pair.source), what=str(pair.source), reason=error.strerror
        )
    current = content_digest(data)
    if current == pair.provenance.digest:
        return None
    return Finding.of_code(
        "L101",
        str(pair.generated),
        source=pair.provenance.source,
        recorded=pair.provenance.digest,
        current=current,
    )


def _walk(root: Path) -> dict[Path, Provenance]:
    """Generated files under ``root`` (only their first bytes are read)."""
    found: dict[Path, Provenance] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(GENERATED_SUFFIXES):
                path = Path(dirpath) / name
                provenance = read_provenance(path)
                if provenance is not None:
                    found[path] = provenance
    return found


def _search_root(sources: list[Path], config: Config) -> Path:
    """Where the counterparts of sources are looked for: the repository holding the first
    source (its folder with ``.git``), else the configured project, else the working
    directory."""
    repository = enclosing_folder(_real(sources[0]).parent, (".git",))
    if repository is not None:
        return repository
    return config.root if config.source is not None else Path.cwd()


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def regenerate(pair: Pair, config: Config, plans: dict | None = None) -> str | None:
    """What converting the pair's source again would write to the generated file; None
    when the source cannot be converted to it. The source's whole root is converted, as
    ``convert`` did, so that names and cross-flow calls come out the same; ``plans`` keeps
    those conversions for the other stale files of one run."""
    from ..conversion import plan_conversion, render
    from ..registry import format_of

    target = format_of(pair.generated)
    root = pair.provenance.root_path(pair.generated)
    if target is None or root is None or pair.source is None or not pair.source.is_file():
        return None
    output_root = pair.generated.parent
    for _ in Path(pair.provenance.source).parent.parts:
        output_root = output_root.parent
    namespace = config.namespace or _recorded_namespace(pair.generated, target.name)
    plans = {} if plans is None else plans
    wanted = _real(pair.generated)
    attempts = [(root, output_root), (pair.source, pair.generated)]
    for source, output in attempts:
        key = (_real(source), target.name, _real(output), namespace)
        if key not in plans:
            plans[key] = plan_conversion(source, target, output, namespace=namespace)
        plan = plans[key]
        for job in plan.jobs:
            if _real(job.output) == wanted:
                text, _ = render(plan, job)
                return text
    return None


def _recorded_namespace(generated: Path, target: str) -> str | None:
    """The namespace a generated Kestra flow was written with (a ``--namespace`` given to
    ``convert`` is not in the configuration, but it is in the flow)."""
    if target != "kestra":
        return None
    try:
        text = generated.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"^namespace:\s*['\"]?([\w.-]+)", text, re.MULTILINE)
    return match.group(1) if match else None


def unified_diff(pair: Pair, new: str) -> str:
    """The change from the committed file to ``new``, as a unified diff."""
    try:
        old = pair.generated.read_text(encoding="utf-8", errors="replace")
    except OSError:
        old = ""
    name = pair.generated.as_posix()
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{name} (committed)",
            tofile=f"{name} (from {pair.provenance.source})",
        )
    )
