"""The ``flowbridge`` console script.

``flowbridge lint`` is what pre-commit and editors run on every save or commit, so its start-up
time is most of its cost. The typer application (:mod:`transpile.cli`) is the command line's
one definition, with help, completion and usage errors, but loading it costs more than linting
a file: typer itself, and pydantic, through which typer ≥ 0.29 checks every parameter. So a
``lint`` whose arguments are all plain (known options with their values, paths) is parsed here
from :data:`LINT_OPTIONS` and run directly by :func:`transpile.lint.command.run_lint`, which
the typer command calls too. Anything else (``--help``, an unknown or malformed option, any
other command) goes to the typer application, which reports it as usual.

``tests/test_entry.py`` holds :data:`LINT_OPTIONS` to the typer command's parameters and
checks that both routes pass the same arguments for the same command line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# option -> (parameter of run_lint, how it takes its value)
#   flag: no value, True when given; one: the last value given wins; many: every value,
#   in order; path: one value, as a path
LINT_OPTIONS: dict[str, tuple[str, str]] = {
    "--output-format": ("output_format", "one"),
    "--select": ("select", "many"),
    "--ignore": ("ignore", "many"),
    "--extend-select": ("extend_select", "many"),
    "--exit-zero": ("exit_zero", "flag"),
    "--statistics": ("statistics", "flag"),
    "--strict": ("strict", "flag"),
    "--no-cache": ("no_cache", "flag"),
    "--config": ("config_file", "path"),
}


def parse_lint_arguments(argv: Sequence[str]) -> dict[str, Any] | None:
    """The keyword arguments of :func:`run_lint` for ``flowbridge lint ARGV``, or None when
    the arguments are not all plain and the typer application should read them."""
    arguments: dict[str, Any] = {"paths": []}
    index, only_paths = 0, False
    while index < len(argv):
        word = argv[index]
        index += 1
        if only_paths or not word.startswith("-"):
            arguments["paths"].append(Path(word))
            continue
        if word == "--":
            only_paths = True
            continue
        option, equals, value = word.partition("=")
        parameter, kind = LINT_OPTIONS.get(option, (None, None))
        if parameter is None:
            return None  # --help, a short option, an unknown or misspelt one: typer says
        if kind == "flag":
            if equals:
                return None
            arguments[parameter] = True
            continue
        if not equals:
            if index >= len(argv) or argv[index].startswith("-"):
                return None
            value = argv[index]
            index += 1
        if kind == "many":
            arguments.setdefault(parameter, []).append(value)
        else:
            arguments[parameter] = Path(value) if kind == "path" else value
    return arguments


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: ``flowbridge ARGS``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["lint"]:
        arguments = parse_lint_arguments(args[1:])
        if arguments is not None:
            from .lint.command import run_lint
            from .outcome import guarded

            sys.exit(guarded(lambda: run_lint(**arguments)))
    from .cli import main as run_application

    run_application(args)
