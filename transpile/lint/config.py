"""The ``[tool.flowbridge]`` table of ``pyproject.toml``.

Keys are spelled in kebab-case, as ruff and black spell theirs::

    [tool.flowbridge]
    namespace = "company.sales"          # Kestra namespace of flows read from Python
    select = ["K", "P1"]                 # codes or code prefixes; "ALL" for every code
    ignore = ["P105"]
    extend-select = ["K117"]
    exclude = ["legacy/**"]              # gitignore-style patterns, relative to the project
    per-file-ignores = { "tests/**" = ["P101"] }
    target-version = { kestra = "0.20", prefect = "3" }
    output = { kestra = "kestra/", prefect = "prefect_flows/" }   # convert's default -o

Unknown keys are rejected with the nearest known key as a suggestion; command-line flags win
over the file. Everything here is plain data so that loading it costs almost nothing.
"""

from __future__ import annotations

import sys
from dataclasses import field
from pathlib import Path
from typing import Any

from ir.base import Record

# Versions whose spelling the writers produce: Kestra's `io.kestra.plugin.core.*` types date
# from 0.17, and the Prefect writer targets the Prefect 3 API.
SUPPORTED_TARGETS = {"kestra": (0, 17), "prefect": (3, 0)}


class ConfigError(ValueError):
    """The configuration is invalid; ``str()`` says why, naming the key."""

    def __init__(self, reason: str, source: str | None = None) -> None:
        super().__init__(reason)
        self.source = source

    def render(self) -> str:
        """The one-line report every command prints (exit 2)."""
        return f"{self.source or '<command line>'}:1:1: F008 invalid configuration: {self}"


class Config(Record):
    """Resolved settings for one run. ``root`` is the folder of the ``pyproject.toml`` the
    settings came from (the working directory when there is none)."""

    root: Path = field(default_factory=Path.cwd)
    source: str | None = None  # the file the settings were read from
    namespace: str | None = None
    select: tuple[str, ...] | None = None  # None: the default selection
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    target_version: tuple[tuple[str, str], ...] = ()
    output: tuple[tuple[str, str], ...] = ()

    def with_flags(self, **flags: Any) -> Config:
        """These settings with the command line's flags applied (a None flag is not given)."""
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in flags.items()}
        given = {k: v for k, v in given.items() if v is not None and v != ()}
        for key, value in given.items():
            if key in ("select", "ignore", "extend_select"):
                _codes(value, key.replace("_", "-"))
        return self.replace(**given)

    def output_for(self, target: str) -> Path | None:
        """The configured output folder of a target format, relative to the project."""
        value = dict(self.output).get(target)
        return None if value is None else self.root / value

    @property
    def digest_fields(self) -> tuple[Any, ...]:
        """What of the settings can change a file's diagnostics (for the lint cache)."""
        return (self.namespace, self.target_version)


_KEYS = {
    "namespace": str,
    "select": list,
    "ignore": list,
    "extend-select": list,
    "exclude": list,
    "per-file-ignores": dict,
    "target-version": dict,
    "output": dict,
}


def enclosing_folder(folder: Path, marks: tuple[str, ...]) -> Path | None:
    """The nearest folder at or above ``folder`` (resolved) that holds one of ``marks``
    (``.git``, ``pyproject.toml``), if any."""
    folder = folder.resolve()
    return next(
        (f for f in (folder, *folder.parents) if any((f / mark).exists() for mark in marks)),
        None,
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.flowbridge]``
    table, stopping at a repository's root (a folder holding ``.git``)."""
    try:
        folder = start.resolve()
        if not folder.is_dir():
            folder = folder.parent
    except (OSError, RuntimeError):  # a symlink loop: the readers report it
        folder = Path.cwd().resolve()
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "flowbridge" in pyproject.read_text(encoding="utf-8", errors="replace"):
                    return pyproject
            except OSError:
                pass
        if (candidate / ".git").exists():
            return None
    return None


def load_config(start: Path | None = None, explicit: Path | None = None) -> Config:
    """The settings that apply to ``start`` (a path being processed; the working directory
    when None), or those of ``explicit`` when given. Raises :class:`ConfigError`."""
    path = explicit if explicit is not None else find_pyproject(start or Path.cwd())
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}", str(path)) from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}", str(path)) from None
    if explicit is None and "flowbridge" not in text:
        # No spelling of [tool.flowbridge] lacks the word: nothing of ours to parse (and the
        # TOML parser is most of what loading settings costs a one-file lint).
        return Config(root=path.parent.resolve(), source=str(path))
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}", str(path)) from None
    table = data.get("tool", {}).get("flowbridge")
    if table is None:
        if explicit is not None:
            raise ConfigError(f"{path} has no [tool.flowbridge] table", str(path))
        return Config(root=path.parent.resolve(), source=str(path))
    return parse_table(table, root=path.parent.resolve(), source=str(path))


def parse_table(table: Any, *, root: Path, source: str | None = None) -> Config:
    """Validate a ``[tool.flowbridge]`` table and turn it into a :class:`Config`."""
    if not isinstance(table, dict):
        raise ConfigError("[tool.flowbridge] must be a table", source)
    for key, value in table.items():
        expected = _KEYS.get(key)
        if expected is None:
            raise ConfigError(_unknown("key", key, _KEYS, "tool.flowbridge"), source)
        if not isinstance(value, expected):
            raise ConfigError(
                f"tool.flowbridge.{key} must be a {_TYPE_NAMES[expected]}, "
                f"not {type(value).__name__}",
                source,
            )
    lists = {k: _strings(table.get(k, []), k, source) for k in _KEYS if _KEYS[k] is list}
    for key in ("select", "ignore", "extend-select"):
        _codes(lists[key], key, source)
    per_file = []
    for pattern, ignored in table.get("per-file-ignores", {}).items():
        values = _strings(ignored, f"per-file-ignores.{pattern!r}", source)
        per_file.append((pattern, _codes(values, f"per-file-ignores.{pattern!r}", source)))
    targets = _table(table.get("target-version", {}), "target-version", SUPPORTED_TARGETS, source)
    for name, version in targets:
        _check_version(name, version, source)
    outputs = _table(table.get("output", {}), "output", SUPPORTED_TARGETS, source)
    return Config(
        root=root,
        source=source,
        namespace=table.get("namespace"),
        select=tuple(lists["select"]) if "select" in table else None,
        ignore=tuple(lists["ignore"]),
        extend_select=tuple(lists["extend-select"]),
        exclude=tuple(lists["exclude"]),
        per_file_ignores=tuple(per_file),
        target_version=targets,
        output=outputs,
    )


_TYPE_NAMES = {str: "string", list: "list", dict: "table"}


def _unknown(what: str, key: str, known: Any, where: str) -> str:
    import difflib  # only a mistake needs it

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
    return f"unknown {what} {key!r} in {where}{hint}"


def _strings(value: Any, key: str, source: str | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"tool.flowbridge.{key} must be a list of strings", source)
    return value


def _table(value: dict, key: str, known: dict, source: str | None) -> tuple[tuple[str, str], ...]:
    for name, item in value.items():
        if name not in known:
            raise ConfigError(_unknown("target", name, known, f"tool.flowbridge.{key}"), source)
        if not isinstance(item, str):
            raise ConfigError(f"tool.flowbridge.{key}.{name} must be a string", source)
    return tuple(sorted(value.items()))


def _check_version(name: str, version: str, source: str | None) -> None:
    try:
        parts = tuple(int(p) for p in version.split("."))
    except ValueError:
        raise ConfigError(
            f"tool.flowbridge.target-version.{name} {version!r} is not a version like "
            f"'{'.'.join(map(str, SUPPORTED_TARGETS[name]))}'",
            source,
        ) from None
    if parts < SUPPORTED_TARGETS[name]:
        floor = ".".join(map(str, SUPPORTED_TARGETS[name]))
        raise ConfigError(
            f"tool.flowbridge.target-version.{name} {version!r} is older than {floor}, the "
            f"oldest {name} version flowbridge writes for",
            source,
        )


def _codes(values: tuple[str, ...] | list[str], key: str, source: str | None = None) -> tuple:
    """Check that each entry is a known code, a prefix of one, or ALL."""
    from ir.codes import CATALOGUE

    for value in values:
        if value == "ALL" or (value and any(code.startswith(value) for code in CATALOGUE)):
            continue
        raise ConfigError(_unknown("code", value, CATALOGUE, key), source)
    return tuple(values)
