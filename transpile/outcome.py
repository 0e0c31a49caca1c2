"""What a command saw, and the one place that turns it into an exit code.

Exit codes: 0 clean; 1 findings (error-level diagnostics, warnings too under ``--strict``) or
stale generated files; 2 usage, configuration or input error (a file that cannot be read at
all); 3 internal error (a bug in flowbridge). Kept apart from the typer application so that
``flowbridge lint`` can run without loading it (:mod:`transpile.entry`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class Outcome:
    """What a command saw: diagnostics (IR diagnostics or lint findings: anything with a
    ``code``, a ``severity`` and ``is_error``), and counts for the summary."""

    diagnostics: list = field(default_factory=list)
    files: int = 0
    flows: int = 0
    written: int = 0
    usage_error: bool = False


def severity(diagnostic) -> str:
    """The severity of a diagnostic or finding as text (``error``, ``warning``, ``info``)."""
    return getattr(diagnostic.severity, "value", diagnostic.severity)


def exit_code(outcome: Outcome, *, strict: bool = False, exit_zero: bool = False) -> int:
    """The one place that turns what happened into an exit code. ``strict`` makes warnings
    fail; ``exit_zero`` reports findings without failing (input and usage errors still do)."""
    from ir.codes import CATALOGUE

    if outcome.usage_error or any(
        CATALOGUE.get(d.code) is not None and CATALOGUE[d.code].unreadable and d.is_error
        for d in outcome.diagnostics
    ):
        return EXIT_INPUT
    if exit_zero:
        return EXIT_OK
    failing = ("error", "warning") if strict else ("error",)
    if any(severity(d) in failing for d in outcome.diagnostics):
        return EXIT_FINDINGS
    return EXIT_OK


def guarded(run: Callable[[], int | None]) -> int:
    """Run a command and never let a traceback reach the user: an interrupt is 130, input
    nested past Python's recursion limit is an input error, anything else escaping is a bug
    (exit 3), said in one line. ``SystemExit`` passes through."""
    try:
        return run() or EXIT_OK
    except KeyboardInterrupt:
        sys.stderr.write("flowbridge: interrupted\n")
        return EXIT_INTERRUPTED
    except RecursionError:
        sys.stderr.write("flowbridge: error: input nested too deeply\n")
        return EXIT_INPUT
    except Exception as error:  # a bug: say so in one line instead of a traceback
        sys.stderr.write(
            f"flowbridge: internal error: {type(error).__name__}: {error} "
            "(please report it with the input that caused it)\n"
        )
        return EXIT_INTERNAL
