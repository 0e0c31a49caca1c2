"""Kestra's identifiers as its Java model constrains them (the ``@Pattern`` of ``Flow.id``,
``Flow.namespace``, ``Task.id`` and trigger ids, ``Input.id``, ``Output.id``): which characters
each kind of id may use, and the nearest id of a kind for any text. The Kestra reader validates
with :data:`PATTERNS`; whatever makes a Kestra id out of other text (a Prefect flow's name, a
variable, a dict key) goes through :func:`make_id`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

# kind -> (the characters the id may start with, those it may go on with)
_SPELLING = {
    "flow": ("a-zA-Z0-9", "a-zA-Z0-9._-"),
    "namespace": ("a-z0-9", "a-z0-9._-"),
    "task": ("a-zA-Z0-9", "a-zA-Z0-9_-"),  # triggers' ids too
    "input": ("a-zA-Z0-9", ".a-zA-Z0-9_-"),
    "output": ("a-zA-Z0-9", ".a-zA-Z0-9_-"),
}

PATTERNS: dict[str, str] = {
    kind: rf"^[{first}][{rest}]*$" for kind, (first, rest) in _SPELLING.items()
}


@cache
def _valid(kind: str) -> re.Pattern[str]:
    first, rest = _SPELLING[kind]
    return re.compile(rf"[{first}][{rest}]*")


@cache
def _invalid_run(kind: str) -> re.Pattern[str]:
    return re.compile(rf"[^{_SPELLING[kind][1]}]+")


def is_valid(kind: str, text: str) -> bool:
    """True when ``text`` is a ``kind`` id Kestra accepts."""
    return _valid(kind).fullmatch(text) is not None


def make_id(text: str, kind: str, fallback: str, taken: Iterable[str] = ()) -> str:
    """The nearest ``kind`` id to ``text``: each run of characters the kind does not allow
    becomes ``_``, the ends lose their ``.``, ``_`` and ``-``, nothing left is ``fallback``;
    then ``_2``, ``_3`` … until it is not in ``taken``."""
    base = _invalid_run(kind).sub("_", text).strip("._-") or fallback
    taken = set(taken)
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"
    return candidate
