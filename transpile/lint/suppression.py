"""Inline suppressions: ``# flowbridge: ignore[P101, K117]`` in Python and in YAML.

A suppression comment at the end of a line applies to findings on that line; a comment alone
on its line applies to the next line that is not blank or a comment (so a YAML block or a
decorated function can be annotated above). ``# flowbridge: ignore`` without codes applies to
every code. A suppression that hides nothing is reported (L001), as is an unknown code (L002).
Only real comments count: Python is tokenized, and YAML is scanned with quotes and block
scalars (``script: |``) in mind, so text inside strings never suppresses anything.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from ir.codes import CATALOGUE

from .finding import Finding
from .selection import code_list

_DIRECTIVE = re.compile(
    r"#\s*flowbridge:\s*ignore(?:\[(?P<codes>[^\]]*)\])?(?=\s|$|#)", re.IGNORECASE
)


@dataclass
class Suppression:
    """One ``ignore`` comment: where it is, the line it covers and its codes (empty: all)."""

    line: int
    col: int
    target: int
    codes: tuple[str, ...]
    used: set[str] = field(default_factory=set)

    def covers(self, finding: Finding) -> bool:
        return finding.line == self.target and (not self.codes or finding.code in self.codes)


def find_suppressions(text: str, suffix: str) -> list[Suppression]:
    """The suppression comments of a file's text (``suffix`` says its language)."""
    if "flowbridge" not in text.lower():  # every directive names flowbridge: none here
        return []
    comments = _python_comments(text) if suffix == ".py" else _yaml_comments(text)
    lines = text.splitlines()
    found = []
    for line, col, comment, alone in comments:
        match = _DIRECTIVE.search(comment)
        if match is None:
            continue
        listed = match.group("codes")
        codes = tuple(code_list([listed]) or ())
        target = _next_code_line(lines, line) if alone else line
        found.append(Suppression(line, col + match.start(), target, codes))
    return found


def apply(findings: list[Finding], text: str, suffix: str, path: str) -> list[Finding]:
    """``findings`` without those suppressed, plus L001/L002 for suppressions that are unused
    or name unknown codes."""
    suppressions = find_suppressions(text, suffix)
    if not suppressions:
        return findings
    kept = []
    for finding in findings:
        hiding = next((s for s in suppressions if s.covers(finding)), None)
        if finding.file != path:  # a finding in another file (a prefect.yaml) is not hidden
            hiding = None
        if hiding is None or finding.code.startswith("L"):
            kept.append(finding)
        else:
            hiding.used.add(finding.code)
    for s in suppressions:
        unknown = [c for c in s.codes if c not in CATALOGUE]
        for code in unknown:
            kept.append(Finding.of_code("L002", path, s.line, s.col + 1, code=code))
        unused = [c for c in s.codes if c in CATALOGUE and c not in s.used]
        if unused or (not s.codes and not s.used):
            kept.append(
                Finding.of_code(
                    "L001", path, s.line, s.col + 1, codes=", ".join(unused) or "every code"
                )
            )
    return kept


def _next_code_line(lines: list[str], line: int) -> int:
    """The first line after ``line`` (1-based) that holds something besides a comment."""
    for number in range(line + 1, len(lines) + 1):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            return number
    return line


def _python_comments(text: str) -> list[tuple[int, int, str, bool]]:
    """``(line, col, comment, alone on its line)`` for each comment token of Python source;
    a file that does not tokenize gives the comments of the lines it reached."""
    import tokenize

    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                line, col = token.start
                alone = not token.line[:col].strip()
                found.append((line, col, token.string, alone))
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return found


_BLOCK_SCALAR = re.compile(r"(?:^|[\s:\-])[|>][0-9+\-]*\s*(?:#.*)?$")


def _yaml_comments(text: str) -> list[tuple[int, int, str, bool]]:
    """``(line, col, comment, alone)`` for each YAML comment: a ``#`` at the start of a line
    or after whitespace, outside quotes and outside block scalars."""
    found = []
    block_indent: int | None = None  # inside a block scalar whose parent is this indented
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block_indent is not None:
            if not stripped.strip() or indent > block_indent:
                continue
            block_indent = None
        col = _comment_start(line)
        if col is not None:
            found.append((number, col, line[col:], not line[:col].strip()))
        code = line[:col] if col is not None else line
        if _BLOCK_SCALAR.search(code.rstrip()):
            block_indent = indent if not stripped.startswith("- ") else indent + 1
    return found


def _comment_start(line: str) -> int | None:
    """Where a YAML comment starts on ``line``, skipping quoted scalars."""
    quote = None
    for index, ch in enumerate(line):
        if quote == "'":
            if ch == "'":
                quote = None  # a doubled '' re-enters at once: still inside, harmless here
        elif quote == '"':
            if ch == '"' and line[index - 1] != "\\":
                quote = None
        elif ch in "'\"" and (index == 0 or line[index - 1] in " \t:-[{,"):
            quote = ch
        elif ch == "#" and (index == 0 or line[index - 1] in " \t"):
            return index
    return None
