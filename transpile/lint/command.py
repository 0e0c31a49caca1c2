"""``flowbridge lint`` itself: read the paths, report the findings, return the exit code.

Called by the typer command (:func:`transpile.cli.lint`) and by the console script's direct
route (:mod:`transpile.entry`), with the same arguments; it imports neither typer nor pydantic.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..outcome import EXIT_INPUT, Outcome, exit_code


def run_lint(
    paths: list[Path] | None = None,
    *,
    output_format: str = "text",
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    extend_select: list[str] | None = None,
    exit_zero: bool = False,
    statistics: bool = False,
    strict: bool = False,
    no_cache: bool = False,
    config_file: Path | None = None,
) -> int:
    """Lint ``paths`` (the working directory when empty); print the findings in
    ``output_format`` on standard output and a summary on standard error; the exit code."""
    from .config import ConfigError, load_config
    from .engine import lint_paths
    from .formats import FORMATTERS
    from .formats import statistics as render_statistics
    from .selection import code_list

    paths = list(paths or [Path(".")])
    formatter = FORMATTERS.get(output_format)
    if formatter is None:
        known = ", ".join(FORMATTERS)
        sys.stderr.write(
            f"flowbridge: error: unknown output format {output_format!r}; use {known}\n"
        )
        return EXIT_INPUT
    try:
        config = load_config(paths[0], config_file).with_flags(
            select=code_list(select),
            ignore=code_list(ignore),
            extend_select=code_list(extend_select),
        )
    except ConfigError as error:
        sys.stderr.write(error.render() + "\n")
        return EXIT_INPUT
    result = lint_paths(paths, config, use_cache=not no_cache)
    outcome = Outcome(diagnostics=result.findings, files=result.files)
    sys.stdout.write(
        render_statistics(result.findings) if statistics else formatter(result.findings)
    )
    if output_format == "text" and not statistics:
        errors = sum(f.is_error for f in result.findings)
        sys.stderr.write(
            f"flowbridge lint: {result.files} file(s), {errors} error(s), "
            f"{len(result.findings) - errors} other finding(s)\n"
        )
    return exit_code(outcome, strict=strict, exit_zero=exit_zero)
