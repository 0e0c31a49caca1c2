"""What every reader returns, and what a writer may know beyond the flows it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ir.base import Record

if TYPE_CHECKING:  # annotations only: importing the IR models is not free
    from ir.diagnostics import Diagnostic
    from ir.flow import Flow


@dataclass
class ReadResult:
    """The flows a read produced (one per YAML document or per ``@flow``) and the diagnostics."""

    flows: list[Flow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


class Sibling(Record):
    """A flow written in the same run: its output path relative to the output root
    (``/``-separated) and its input ids in order."""

    output: str
    inputs: tuple[str, ...] = ()


class WriteContext(Record):
    """Where the flows being written come from and where they go.

    ``source_name`` and ``source_digest`` (see :func:`content_digest`) go into the header of
    generated files, so that a stale counterpart can be detected later. ``output`` is the path
    of the file being written, relative to the output root (``/``-separated), and ``siblings``
    maps ``(namespace, flow id)`` of every flow written in the same run to where it goes, so
    that a writer can turn a call of another converted flow into a direct call.
    ``source_root`` lets ``flowbridge check`` find the source again from the output.
    ``dry_run`` asks for the diagnostics only (``flowbridge lint``): a writer may then leave
    out the steps that only make the text (emitting, formatting) and return empty text."""

    source_name: str = "<input>"
    source_digest: str = ""
    output: str | None = None
    source_root: str | None = None  # the root read, relative to the output file's folder
    siblings: dict[tuple[str | None, str], Sibling] = field(default_factory=dict)
    dry_run: bool = False


def content_digest(data: bytes | str) -> str:
    """The short content hash that generated files carry of their source."""
    import hashlib  # a dry run (lint) hashes nothing

    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()[:16]
