"""The ``flowbridge`` command line.

Exit codes (computed in :func:`exit_code` only): 0 done, 1 error-level diagnostics,
2 usage error or unreadable input, 3 internal error (a bug in flowbridge).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import typer

from . import __version__

app = typer.Typer(
    name="flowbridge",
    help="Convert flows between Kestra YAML and Prefect Python through one IR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


@dataclass
class Outcome:
    """What a command saw: diagnostics, and counts for the summary."""

    diagnostics: list = field(default_factory=list)
    files: int = 0
    flows: int = 0
    written: int = 0
    usage_error: bool = False


def exit_code(outcome: Outcome) -> int:
    """The one place that turns what happened into an exit code."""
    from ir.codes import CATALOGUE

    if outcome.usage_error or any(
        CATALOGUE.get(d.code) is not None and CATALOGUE[d.code].unreadable and d.is_error
        for d in outcome.diagnostics
    ):
        return EXIT_INPUT
    if any(d.is_error for d in outcome.diagnostics):
        return EXIT_FINDINGS
    return EXIT_OK


def _emit(outcome: Outcome, verbose: bool = True) -> None:
    """Print diagnostics; information-level ones only when ``verbose`` (the summary counts
    them all)."""
    for diagnostic in outcome.diagnostics:
        if verbose or diagnostic.severity.value != "info":
            typer.echo(diagnostic.render(), err=True)


def _summary(outcome: Outcome) -> None:
    by_code = Counter(d.code for d in outcome.diagnostics)
    errors = sum(d.is_error for d in outcome.diagnostics)
    line = (
        f"flowbridge: {outcome.files} file(s), {outcome.flows} flow(s) read, "
        f"{outcome.written} file(s) written; {errors} error(s), "
        f"{len(outcome.diagnostics) - errors} other diagnostic(s)"
    )
    typer.echo(line, err=True)
    if by_code:
        typer.echo(
            "  by code: " + ", ".join(f"{c}×{n}" for c, n in sorted(by_code.items())), err=True
        )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flowbridge {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """flowbridge: Kestra YAML ⇄ Prefect Python."""


@app.command()
def convert(
    source: Path = typer.Argument(..., help="A flow file or a directory of flows."),
    to: str = typer.Option(..., "--to", help="Target format: kestra or prefect."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Output file or directory ('-' for stdout)."
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", help="Kestra namespace for flows read from Python."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Write a Markdown report of the conversion to this file."
    ),
    force: bool = typer.Option(False, "--force", help="Replace existing output files."),
    partial: bool = typer.Option(
        False, "--partial", help="Write flows even when they have error diagnostics."
    ),
    verbose: bool = typer.Option(
        False, "-v", "--verbose", help="Also print information-level diagnostics."
    ),
) -> None:
    """Convert a file or a directory tree (which keeps its layout) to the target format."""
    from ir import codes
    from ir.base import Span

    from .project import discover, output_paths, resolve_namespace, write_atomic
    from .registry import FORMATS, reader_for
    from .report import FlowReport, render_report
    from .result import Sibling, WriteContext, content_digest

    outcome = Outcome()
    target = FORMATS.get(to)
    if target is None or not target.can_write:
        known = ", ".join(n for n, f in FORMATS.items() if f.can_write)
        reason = f"writing {to} is not available yet" if target else f"unknown format {to!r}"
        typer.echo(f"flowbridge: error: {reason}; available: {known}", err=True)
        raise typer.Exit(EXIT_INPUT)
    if not source.exists() and not source.is_symlink():
        outcome.diagnostics.append(
            codes.F001.at(Span(file=str(source)), what="input", reason="no such file or directory")
        )
        _emit(outcome)
        raise typer.Exit(exit_code(outcome))

    if source.is_dir():
        readable = [s for f in FORMATS.values() if f.can_read for s in f.suffixes]
        files, found = discover(source, readable)
        outcome.diagnostics.extend(found)
        if not files and not found:
            outcome.diagnostics.append(codes.F006.at(Span(file=str(source)), path=str(source)))
    else:
        files = [source]
    ns = resolve_namespace(source, namespace)

    by_format: dict[str, list[Path]] = {}
    for path in files:
        fmt, problem = reader_for(path)
        if fmt is not None and source.is_dir() and not fmt.claims_file(path):
            continue  # a CI workflow, a chart, a tool config: not a flow
        outcome.files += 1
        if fmt is None:
            outcome.diagnostics.append(problem)
        else:
            by_format.setdefault(fmt.name, []).append(path)

    jobs: list[_Job] = []
    claimed: set[Path] = set()
    with _progress(sum(len(v) for v in by_format.values())) as advance:
        for name, paths in by_format.items():
            fmt = FORMATS[name]
            root = source if source.is_dir() else source.parent
            results = fmt.read_repo(root, paths, namespace=ns)
            for path in paths:
                advance()
                result = results[path]
                outcome.diagnostics.extend(result.diagnostics)
                outcome.flows += len(result.flows)
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
                    jobs.append(_Job(path, _unclaimed(out, claimed), flows, result.diagnostics))

    into_dir = source.is_dir() and str(output) != "-"
    siblings = {
        (flow.namespace, flow.id): Sibling(
            _relative(job.output, output), tuple(p.name for p in flow.parameters)
        )
        for job in jobs
        for flow in job.flows
        if into_dir
    }
    entries: list[FlowReport] = []
    written_modules: list[tuple[str, list]] = []
    for job in jobs:
        written = None
        if not any(d.is_error for d in job.diagnostics) or partial:
            context = WriteContext(
                source_name=_relative(job.source, source if source.is_dir() else source.parent),
                source_digest=content_digest(job.source.read_bytes()),
                output=_relative(job.output, output) if into_dir else None,
                siblings=siblings,
            )
            written, found = _write(target, job.flows, job.output, output, force, outcome, context)
            job.diagnostics = [*job.diagnostics, *found]
            if written is not None:
                written_modules.append((_relative(written, output), job.flows))
        entries += [FlowReport(f, job.source, written, job.diagnostics) for f in job.flows]
    if into_dir and written_modules:
        for relative, text, found in target.project_files(written_modules, ns):
            outcome.diagnostics.extend(found)
            _write_text(output / relative, text, force, outcome)
    if report is not None:
        problem = write_atomic(report, render_report(entries), force=True)
        if problem is not None:
            outcome.diagnostics.append(problem)
    _emit(outcome, verbose)
    _summary(outcome)
    raise typer.Exit(exit_code(outcome))


@dataclass
class _Job:
    """Flows read from ``source`` to be written to ``output``."""

    source: Path
    output: Path
    flows: list
    diagnostics: list


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, ``/``-separated (the path itself when outside it)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _unclaimed(out: Path, claimed: set[Path]) -> Path:
    """``out``, or ``out`` with a numeric suffix when this run already wrote that path (two
    modules of one folder defining flows with the same id)."""
    candidate, counter = out, 2
    while candidate in claimed:
        candidate = out.with_name(f"{out.stem}_{counter}{out.suffix}")
        counter += 1
    claimed.add(candidate)
    return candidate


def _write(
    target, flows, out: Path, output: Path, force: bool, outcome: Outcome, context
) -> tuple[Path | None, list]:
    """Write flows in the target format to ``out`` (or stdout): the path written, if any, and
    what the writer reported."""
    from ir import codes
    from ir.base import Span

    try:
        text, found = target.write(flows, context)
    except RecursionError:  # a flow nested past what the writer's recursion can take
        problem = codes.F005.at(
            Span(file=str(out)), reason="the flow is nested too deeply to write"
        )
        outcome.diagnostics.append(problem)
        return None, [problem]
    outcome.diagnostics.extend(found)
    if str(output) == "-":
        if outcome.written and target.name == "kestra":
            sys.stdout.write("---\n")  # several files: one YAML stream
        sys.stdout.write(text)
        outcome.written += 1
        return None, found
    return _write_text(out, text, force, outcome), found


def _write_text(out: Path, text: str, force: bool, outcome: Outcome) -> Path | None:
    """Write one output file atomically; the path written, if any."""
    from .project import write_atomic

    problem = write_atomic(out, text, force=force)
    if problem is not None:
        outcome.diagnostics.append(problem)
        return None
    outcome.written += 1
    typer.echo(f"wrote {out}", err=True)
    return out


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on an interactive terminal for long runs; silent otherwise."""
    if total < 20 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("converting", total=total)
        yield lambda: bar.advance(task)


@app.command("ir")
def show_ir(
    source: Path = typer.Argument(..., help="A flow file."),
) -> None:
    """Print the IR of a flow file as JSON (a JSON list when the file holds several flows)."""
    from ir.serde import dump_flow

    from .registry import reader_for

    outcome = Outcome(files=1)
    fmt, problem = reader_for(source)
    if fmt is None:
        outcome.diagnostics.append(problem)
    else:
        result = fmt.read(source)
        outcome.diagnostics.extend(result.diagnostics)
        outcome.flows = len(result.flows)
        dumps = [dump_flow(flow) for flow in result.flows]
        if len(dumps) == 1:
            typer.echo(dumps[0])
        elif dumps:
            typer.echo("[\n" + ",\n".join(dumps) + "\n]")
    _emit(outcome)
    raise typer.Exit(exit_code(outcome))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; never lets a traceback reach the user."""
    try:
        app(args=argv, prog_name="flowbridge", standalone_mode=True)
    except KeyboardInterrupt:
        typer.echo("flowbridge: interrupted", err=True)
        sys.exit(130)
    except RecursionError:
        typer.echo("flowbridge: error: input nested too deeply", err=True)
        sys.exit(EXIT_INPUT)
    except Exception as error:  # a bug: say so in one line instead of a traceback
        typer.echo(
            f"flowbridge: internal error: {type(error).__name__}: {error} "
            "(please report it with the input that caused it)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
