"""Which YAML files met in a tree are worth reading as Kestra flows. Kept apart from the
reader so that walking a tree (``lint`` answered from its cache) does not load the IR."""

from __future__ import annotations

from pathlib import Path

_NOT_FLOWS = frozenset(
    {
        "prefect.yaml",
        "prefect.yml",
        ".pre-commit-config.yaml",
        ".pre-commit-hooks.yaml",
        "mkdocs.yml",
        "mkdocs.yaml",
    }
)


def looks_like_flow(path: Path) -> bool:
    """Whether a YAML file found while walking a repo may be a Kestra flow. Repos hold CI
    workflows, Helm charts and tool configs too; a flow names a namespace and tasks, or a
    Kestra type. ``convert`` always reads a file named on its command line."""
    if path.name in _NOT_FLOWS:
        return False
    try:
        if not path.is_file():  # a FIFO would block open(): the reader reports it instead
            return True
        with open(path, "rb") as handle:
            head = handle.read(256 * 1024)
    except OSError:
        return True  # let the reader report it
    return b"io.kestra" in head or (b"namespace:" in head and b"tasks:" in head)
