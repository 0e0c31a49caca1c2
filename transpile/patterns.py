"""gitignore-style path patterns, as ``.gitignore``, ``exclude`` and ``per-file-ignores`` use
them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def gitignore_spec(lines: Iterable[str]) -> Any:
    """A :class:`pathspec.PathSpec` of gitignore patterns (``**`` crosses folders; a pattern
    without ``/`` matches a name in any folder)."""
    import pathspec

    lines = list(lines)
    try:
        return pathspec.PathSpec.from_lines("gitignore", lines)
    except (KeyError, LookupError):  # pathspec before "gitignore" was registered
        return pathspec.PathSpec.from_lines("gitwildmatch", lines)
