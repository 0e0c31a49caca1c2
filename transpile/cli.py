"""The ``flowbridge`` command line: ``convert``, ``lint``, ``check``, ``explain`` and ``ir``.

Exit codes are computed in :func:`transpile.outcome.exit_code` only: 0 clean; 1 findings
(error-level diagnostics, warnings too under ``--strict``) or stale generated files; 2 usage,
configuration or input error (a file that cannot be read at all); 3 internal error (a bug in
flowbridge). Every command imports what it needs when it runs, so ``lint`` of one file does
not pay for the writers it does not use. The console script is :mod:`transpile.entry`, which
runs a plain ``lint`` without loading this application.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from . import __version__
from .lint.command import run_lint
from .outcome import EXIT_INPUT, EXIT_OK, Outcome, exit_code, guarded
from .outcome import severity as _severity

app = typer.Typer(
    name="flowbridge",
    help="Convert flows between Kestra YAML and Prefect Python through one IR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _emit(outcome: Outcome, verbose: bool = True) -> None:
    """Print diagnostics; information-level ones only when ``verbose`` (the summary counts
    them all)."""
    for diagnostic in outcome.diagnostics:
        if verbose or _severity(diagnostic) != "info":
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
    source: Path = typer.Argument(..., help="A flow file or a directory of flows.", readable=False),
    to: str = typer.Option(..., "--to", help="Target format: kestra or prefect."),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="Output file or directory ('-' for stdout); default: [tool.flowbridge] output.",
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", help="Kestra namespace for flows read from Python."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Write a Markdown report of the conversion to this file."
    ),
    force: bool = typer.Option(False, "--force", help="Replace existing output files."),
    partial: bool = typer.Option(
        False,
        "--partial",
        help="Write what converted even when the run has error diagnostics (by default a run "
        "with errors writes nothing).",
    ),
    verbose: bool = typer.Option(
        False, "-v", "--verbose", help="Also print information-level diagnostics."
    ),
) -> None:
    """Convert a file or a directory tree (which keeps its layout) to the target format."""
    from .conversion import plan_conversion
    from .project import write_atomic
    from .registry import FORMATS
    from .report import FlowReport, render_report

    outcome = Outcome()
    target = FORMATS.get(to)
    if target is None or not target.can_write:
        known = ", ".join(n for n, f in FORMATS.items() if f.can_write)
        reason = f"writing {to} is not available yet" if target else f"unknown format {to!r}"
        typer.echo(f"flowbridge: error: {reason}; available: {known}", err=True)
        raise typer.Exit(EXIT_INPUT)
    config = _load_config(source, None)
    output = output if output is not None else config.output_for(to)
    if output is None:
        typer.echo(
            f"flowbridge: error: no output: pass -o, or set [tool.flowbridge] output.{to}",
            err=True,
        )
        raise typer.Exit(EXIT_INPUT)
    namespace = namespace or config.namespace
    with _progress(_count_hint(source)) as advance:
        plan = plan_conversion(source, target, output, namespace=namespace, advance=advance)
    outcome.diagnostics.extend(plan.diagnostics)
    outcome.files, outcome.flows = plan.files, plan.flows

    files = _render_all(plan, outcome)
    if not force and str(output) != "-":
        files = _refuse_overwrites(files, outcome)
    written: set[Path] = set()
    held_back = any(d.is_error for d in outcome.diagnostics) and not partial
    if not held_back:
        written = {path for path, text in files if _write_one(plan, path, text, force, outcome)}
    if report is not None:
        entries = [
            FlowReport(
                f, job.source, job.output if job.output in written else None, job.diagnostics
            )
            for job in plan.jobs
            for f in job.flows
        ]
        problem = write_atomic(report, render_report(entries), force=force)
        if problem is not None:
            outcome.diagnostics.append(problem)
    _emit(outcome, verbose)
    _summary(outcome)
    if held_back and files:
        typer.echo(
            "flowbridge: nothing written, because of the errors above "
            "(--partial writes what converted)",
            err=True,
        )
    raise typer.Exit(exit_code(outcome))


def _render_all(plan, outcome: Outcome) -> list[tuple[Path, str]]:
    """The text of every output of the conversion, flows then project files (nothing is
    written yet, so that a run with errors can write nothing at all)."""
    from ir import codes
    from ir.base import Span

    from .conversion import relative, render

    siblings = plan.siblings
    files: list[tuple[Path, str]] = []
    modules: list[tuple[str, list]] = []
    for job in plan.jobs:
        try:
            text, found = render(plan, job, siblings)
        except RecursionError:  # a flow nested past what the writer's recursion can take
            found = [
                codes.F005.at(
                    Span(file=str(job.source)), reason="the flow is nested too deeply to write"
                )
            ]
            text = None
        job.diagnostics = [*job.diagnostics, *found]
        outcome.diagnostics.extend(found)
        if text is not None:
            files.append((job.output, text))
            modules.append((relative(job.output, plan.output), job.flows))
    if plan.into_dir and modules:
        for path, text, found in plan.target.project_files(modules, plan.namespace):
            outcome.diagnostics.extend(found)
            files.append((plan.output / path, text))
    return files


def _refuse_overwrites(files: list[tuple[Path, str]], outcome: Outcome) -> list:
    """The outputs that do not exist yet; an F003 for each one that does (or is a link)."""
    from ir import codes
    from ir.base import Span

    fresh = []
    for path, text in files:
        if path.exists() or path.is_symlink():
            outcome.diagnostics.append(
                codes.F003.at(
                    Span(file=str(path)), path=str(path), hint="pass --force to replace it"
                )
            )
        else:
            fresh.append((path, text))
    return fresh


def _write_one(plan, path: Path, text: str, force: bool, outcome: Outcome) -> bool:
    """Write one output (or print it, for ``-o -``); whether it was written. Nothing is
    written outside the output folder, even through a symbolic link inside it."""
    from .project import write_atomic

    if str(plan.output) == "-":
        if outcome.written and plan.target.name == "kestra":
            sys.stdout.write("---\n")  # several files: one YAML stream
        sys.stdout.write(text)
        outcome.written += 1
        return True
    root = plan.output if path != plan.output else None
    problem = write_atomic(path, text, force=force, root=root)
    if problem is not None:
        outcome.diagnostics.append(problem)
        return False
    outcome.written += 1
    typer.echo(f"wrote {path}", err=True)
    return True


def _count_hint(source: Path) -> int:
    """Roughly how many files a run will read (at most 50): enough to decide on a progress
    bar, without walking a large tree twice."""
    if not source.is_dir() or not sys.stderr.isatty():
        return 0
    return sum(1 for _ in zip(range(50), source.rglob("*.*"), strict=False))


@contextmanager
def _progress(hint: int) -> Iterator[Callable[[], None]]:
    """A progress counter on an interactive terminal for long runs; silent otherwise."""
    if hint < 20 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("reading", total=None)
        yield lambda: bar.advance(task)


def _load_config(start: Path, explicit: Path | None, **flags):
    """The settings for a run: the project's file, then the flags. A bad configuration is a
    usage error (exit 2), reported as ``path:1:1: F008 ...``."""
    from .lint.config import ConfigError, load_config

    try:
        return load_config(start, explicit).with_flags(**flags)
    except ConfigError as error:
        typer.echo(error.render(), err=True)
        raise typer.Exit(EXIT_INPUT) from None


@app.command()
def lint(
    paths: list[Path] = typer.Argument(
        None, help="Files or folders (default: the current one).", readable=False
    ),
    output_format: str = typer.Option(
        "text", "--output-format", help="text, json, github or sarif."
    ),
    select: list[str] = typer.Option(None, "--select", help="Codes or prefixes to report."),
    ignore: list[str] = typer.Option(None, "--ignore", help="Codes or prefixes not to report."),
    extend_select: list[str] = typer.Option(
        None, "--extend-select", help="Codes or prefixes to report besides the selection."
    ),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even with findings."),
    statistics: bool = typer.Option(False, "--statistics", help="Print counts by code."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too (exit 1)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Read every file afresh."),
    config_file: Path | None = typer.Option(
        None, "--config", help="A pyproject.toml to use instead of the nearest one."
    ),
) -> None:
    """Report what a conversion of these files would lose or approximate, without writing.

    Each finding is ``path:line:col: CODE message``; ``flowbridge explain CODE`` says more.
    """
    raise typer.Exit(
        run_lint(
            paths,
            output_format=output_format,
            select=select,
            ignore=ignore,
            extend_select=extend_select,
            exit_zero=exit_zero,
            statistics=statistics,
            strict=strict,
            no_cache=no_cache,
            config_file=config_file,
        )
    )


@app.command()
def check(
    paths: list[Path] = typer.Argument(
        None,
        help="Generated files, their sources, or folders (default: the current one).",
        readable=False,
    ),
    diff: bool = typer.Option(False, "--diff", help="Show how each stale file would change."),
    output_format: str = typer.Option(
        "text", "--output-format", help="text, json, github or sarif."
    ),
    config_file: Path | None = typer.Option(
        None, "--config", help="A pyproject.toml to use instead of the nearest one."
    ),
) -> None:
    """Exit 1 when a generated file is stale: its source changed since it was generated
    (the content hash in its header no longer matches) or is gone. Writes nothing."""
    from .lint.check import check_paths, regenerate, unified_diff

    paths = list(paths or [Path(".")])
    formatter = _formatter(output_format)
    config = _load_config(paths[0], config_file)
    result = check_paths(paths, config)
    sys.stdout.write(formatter(result.findings))
    if diff:
        plans: dict = {}
        for pair in result.stale:
            new = regenerate(pair, config, plans)
            if new is None:
                typer.echo(
                    f"{pair.generated}: cannot convert {pair.provenance.source} again", err=True
                )
            else:
                sys.stdout.write(unified_diff(pair, new))
    typer.echo(
        f"flowbridge check: {len(result.pairs)} generated file(s), {len(result.stale)} stale",
        err=True,
    )
    raise typer.Exit(exit_code(Outcome(diagnostics=result.findings)))


def _formatter(name: str):
    from .lint.formats import FORMATTERS

    formatter = FORMATTERS.get(name)
    if formatter is None:
        typer.echo(
            f"flowbridge: error: unknown output format {name!r}; use {', '.join(FORMATTERS)}",
            err=True,
        )
        raise typer.Exit(EXIT_INPUT)
    return formatter


@app.command()
def explain(code: str = typer.Argument(..., help="A diagnostic code, e.g. P101.")) -> None:
    """Explain a diagnostic code: what it means, its fidelity, a bad and a good example."""
    from ir.codes import CATALOGUE

    from .lint.rules_doc import render_rule

    entry = CATALOGUE.get(code.strip().upper())
    if entry is None:
        import difflib

        close = difflib.get_close_matches(code.upper(), list(CATALOGUE), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        typer.echo(f"flowbridge: error: unknown code {code!r}{hint}", err=True)
        raise typer.Exit(EXIT_INPUT)
    sys.stdout.write(render_rule(entry))


@app.command("ir")
def show_ir(
    source: Path = typer.Argument(..., help="A flow file.", readable=False),
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
    """Run the typer application; never lets a traceback reach the user."""
    sys.exit(guarded(lambda: app(args=argv, prog_name="flowbridge", standalone_mode=True)))
