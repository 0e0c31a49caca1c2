"""The catalogue as documentation: one Markdown page per code under ``docs/rules/`` and an
index, rendered from :mod:`ir.codes` and the examples in ``ir/examples/<CODE>/``.

Each code's folder holds ``bad.<ext>`` (input that gets the code) and ``good.<ext>`` (the same
intent, written so that it does not); ``.py`` and ``.yaml`` examples are linted by the tests,
``.txt`` ones describe a situation (a command line and what is on disk). ``flowbridge
explain CODE`` prints the same page. Regenerate the docs with
``python -m transpile.lint.rules_doc``; a test fails when they are stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ir.codes import CATALOGUE, GROUPS, Code

_FIELD = re.compile(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules"
_LANGUAGE = {".py": "python", ".yaml": "yaml", ".txt": "console"}


def examples_folder() -> Path:
    """Where the examples are: beside the ``ir`` package, installed or not."""
    import ir

    return Path(ir.__file__).resolve().parent / "examples"


def example(code: str, kind: str) -> Path | None:
    """The ``bad`` or ``good`` example file of a code, if it has one."""
    folder = examples_folder() / code
    matches = sorted(folder.glob(f"{kind}.*")) if folder.is_dir() else []
    return matches[0] if matches else None


def group_of(code: str) -> str:
    return next(name for prefix, name in GROUPS.items() if code.startswith(prefix))


def render_rule(entry: Code) -> str:
    """One code's page: message, severity, fidelity, explanation, examples."""
    lines = [f"# {entry.code}", "", f"**{_markdown(entry.message)}**", ""]
    facts = [f"Severity: {entry.severity.value}", f"Group: {group_of(entry.code)}"]
    if entry.fidelity is not None:
        facts.append(f"Fidelity: {entry.fidelity.value}")
    if entry.unreadable:
        facts.append("The input cannot be read: exit code 2")
    lines += ["- " + fact for fact in facts] + ["", entry.explanation, ""]
    for kind, title in (("bad", "Gets {code}"), ("good", "Does not get {code}")):
        path = example(entry.code, kind)
        if path is None:
            continue
        text = path.read_text(encoding="utf-8").rstrip("\n")
        lines += [f"## {title.format(code=entry.code)}", "", f"`{_shown(path)}`:", ""]
        lines += [f"```{_LANGUAGE.get(path.suffix, '')}", text, "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _shown(path: Path) -> str:
    """An example's name as the docs show it: from the ``ir`` package on, ``/``-separated,
    so that the page is the same wherever the project is checked out."""
    return "ir/examples/" + path.relative_to(examples_folder()).as_posix()


def template(message: str) -> str:
    """A message template with its fields shown as ``<field>``."""
    return _FIELD.sub(r"<\1>", message)


def _markdown(message: str) -> str:
    """A message template for a page: each field a ``<field>`` code span (bare, a Markdown
    renderer would take ``<path>`` for an HTML tag and show nothing)."""
    return _FIELD.sub(r"`<\1>`", message)


def render_index() -> str:
    lines = [
        "# Diagnostic codes",
        "",
        "Generated from `ir/codes.py` and `ir/examples/` by `python -m transpile.lint.rules_doc`;"
        " do not edit. `flowbridge explain CODE` prints a code's page.",
        "",
    ]
    current = None
    for code, entry in CATALOGUE.items():
        group = group_of(code)
        if group != current:
            lines += ["", f"## {group}", "", "| Code | Severity | Message |", "|---|---|---|"]
            current = group
        message = _markdown(entry.message).replace("|", "\\|")
        lines.append(f"| [{code}]({code}.md) | {entry.severity.value} | {message} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def rendered() -> dict[str, str]:
    """Every page of ``docs/rules``, by file name."""
    pages = {f"{code}.md": render_rule(entry) for code, entry in CATALOGUE.items()}
    pages["README.md"] = render_index()
    return pages


def write_docs(folder: Path = DOCS) -> list[str]:
    """Write ``docs/rules``; the names of the files that changed (stale pages removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = rendered()
    changed = []
    for name, text in pages.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(name)
    for path in folder.glob("*.md"):
        if path.name not in pages:
            path.unlink()
            changed.append(path.name)
    return changed


if __name__ == "__main__":
    changed = write_docs()
    print(f"docs/rules: {len(changed)} page(s) written" if changed else "docs/rules: up to date")
    sys.exit(0)
