"""Which codes a run reports: ``select``, ``extend-select``, ``ignore`` and per-file ignores,
resolved as ruff resolves them — an entry is a code, a code prefix (``P1``) or ``ALL``, and
when a selection and an ignore both match a code the more specific (longer) entry wins."""

from __future__ import annotations

from pathlib import Path

from ir.base import Record
from ir.codes import CATALOGUE

from .config import Config


def code_list(values: list[str] | None) -> list[str] | None:
    """Codes written as repeated and/or comma-separated entries (``--select K1,P101``,
    ``ignore[K1, p101]``), upper-cased; None when none are given."""
    if not values:
        return None
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def default_selection() -> tuple[str, ...]:
    """Codes reported when ``select`` is not configured: every error and warning (information
    codes, such as a deprecated spelling read, are opt-in)."""
    return tuple(c for c, code in CATALOGUE.items() if code.severity.value != "info")


def _specificity(entries: tuple[str, ...], code: str) -> int:
    """The length of the longest entry matching ``code`` (``ALL`` matches with length 0);
    -1 when none does."""
    best = -1
    for entry in entries:
        if entry == "ALL":
            best = max(best, 0)
        elif code.startswith(entry):
            best = max(best, len(entry))
    return best


class Selection(Record):
    """The resolved selection of a run."""

    select: tuple[str, ...]
    ignore: tuple[str, ...]
    per_file: tuple[tuple[str, tuple[str, ...]], ...]
    root: Path

    @classmethod
    def of(cls, config: Config) -> Selection:
        chosen = config.select if config.select is not None else default_selection()
        return cls(
            select=tuple(chosen) + tuple(config.extend_select),
            ignore=tuple(config.ignore),
            per_file=config.per_file_ignores,
            root=config.root,
        )

    def reports(self, code: str, path: str) -> bool:
        """Whether ``code`` is reported for the file ``path``. A file that cannot be read at
        all is always reported: ignoring that would pass a file nobody checked."""
        entry = CATALOGUE.get(code)
        if entry is not None and entry.unreadable and entry.severity.value == "error":
            return True
        ignore = self.ignore + self._file_ignores(path)
        return _specificity(self.select, code) > _specificity(ignore, code)

    def _file_ignores(self, path: str) -> tuple[str, ...]:
        if not self.per_file:
            return ()
        relative = _relative_posix(Path(path), self.root)
        found: list[str] = []
        for pattern, codes in self.per_file:
            if _glob(relative, pattern):
                found.extend(codes)
        return tuple(found)


def _relative_posix(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def _glob(relative: str, pattern: str) -> bool:
    """gitignore-style matching (``**`` crosses folders; a pattern without ``/`` matches the
    file name in any folder)."""
    from ..patterns import gitignore_spec

    return gitignore_spec([pattern]).match_file(relative)
