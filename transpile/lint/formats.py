"""How findings are printed: one function per ``--output-format``, in a registry.

``text`` is ``path:line:col: CODE message [severity, fidelity]`` per line; ``json`` a list of
objects; ``github`` workflow commands that GitHub Actions shows as annotations; ``sarif`` a
SARIF 2.1.0 log that code-scanning tools read.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from .. import __version__
from .finding import Finding

INFORMATION_URI = "https://github.com/flowbridge/flowbridge"
RULES_URI = "docs/rules/{code}.md"


def text(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        tags = ", ".join(t for t in (f.severity, f.fidelity) if t)
        lines.append(f"{f.render()} [{tags}]")
    return "".join(line + "\n" for line in lines)


def as_json(findings: list[Finding]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False) + "\n"


_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands; property and message text escaped as the runner
    expects, so a message can neither end the command nor forge another one."""
    lines = []
    for f in findings:
        properties = ",".join(
            f"{key}={_escape(str(value), property=True)}"
            for key, value in (
                ("file", f.file),
                ("line", f.line),
                ("col", f.col),
                ("title", f"flowbridge {f.code}"),
            )
        )
        message = _escape(f"{f.code} {f.message}" + (f" ({f.hint})" if f.hint else ""))
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {properties}::{message}")
    return "".join(line + "\n" for line in lines)


def _escape(value: str, property: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif(findings: list[Finding]) -> str:
    """A SARIF 2.1.0 log with one run; every code reported is described as a rule."""
    from ir.codes import CATALOGUE

    used = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(used)}
    rules = []
    for code in used:
        entry = CATALOGUE.get(code)
        rule = {
            "id": code,
            "shortDescription": {"text": entry.message if entry else code},
            "fullDescription": {"text": entry.explanation if entry else code},
            "helpUri": RULES_URI.format(code=code),
            "defaultConfiguration": {
                "level": _SARIF_LEVEL[entry.severity.value] if entry else "warning"
            },
        }
        if entry is not None and entry.fidelity is not None:
            rule["properties"] = {"fidelity": entry.fidelity.value}
        rules.append(rule)
    results = []
    for f in findings:
        result = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" ({f.hint})" if f.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(f.file)},
                        "region": {"startLine": max(f.line, 1), "startColumn": max(f.col, 1)},
                    }
                }
            ],
        }
        if f.fidelity:
            result["properties"] = {"fidelity": f.fidelity}
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "flowbridge",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _uri(path: str) -> str:
    """A relative path as a URI reference (``/``-separated, percent-encoded)."""
    from urllib.parse import quote

    return quote(path.replace("\\", "/"))


def statistics(findings: list[Finding]) -> str:
    """Counts by code, most frequent first, as ``--statistics`` prints them."""
    from ir.codes import CATALOGUE

    from .rules_doc import template

    counts = Counter(f.code for f in findings)
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        entry = CATALOGUE.get(code)
        summary = template(entry.message) if entry else ""
        lines.append(f"{count:>6}  {code:<5} {summary}")
    return "".join(line + "\n" for line in lines)


FORMATTERS: dict[str, Callable[[list[Finding]], str]] = {
    "text": text,
    "json": as_json,
    "github": github,
    "sarif": sarif,
}
