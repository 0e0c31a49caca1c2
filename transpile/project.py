"""Files: discovering inputs in a tree, mapping them to outputs, writing atomically."""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        "build",
        "dist",
    }
)


def discover(root: Path, suffixes: Iterable[str]) -> tuple[list[Path], list[Diagnostic]]:
    """Files under ``root`` with one of ``suffixes``, sorted; symlinks are not followed out of
    the tree, and broken or looping links are reported instead of crashing."""
    suffixes = tuple(s.lower() for s in suffixes)
    found: list[Path] = []
    diagnostics: list[Diagnostic] = []

    def onerror(error: OSError) -> None:
        diagnostics.append(
            codes.F001.at(
                Span(file=error.filename), what="directory", reason=error.strerror or str(error)
            )
        )

    ignored = gitignored(root) if root.is_dir() else (lambda _path: False)
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIPPED_DIRS and not d.startswith(".") and not ignored(here / d)
        )
        for name in [*dirnames, *filenames]:
            path = here / name
            if not path.is_symlink():
                continue
            try:
                path.stat()
            except OSError as error:
                diagnostics.append(
                    codes.F001.at(Span(file=str(path)), what="link", reason=_link_reason(error))
                )
        for name in sorted(filenames):
            path = here / name
            if path.suffix.lower() not in suffixes or ignored(path):
                continue
            try:
                mode = path.stat().st_mode  # through a link: broken ones are reported above
            except (OSError, RuntimeError):
                continue
            if not stat.S_ISREG(mode):  # a FIFO would block the reader, a device never end
                diagnostics.append(
                    codes.F001.at(
                        Span(file=str(path)), what=repr(str(path)), reason="not a regular file"
                    )
                )
                continue
            found.append(path)
    return found, diagnostics


def _link_reason(error: OSError) -> str:
    if error.errno == 40:  # ELOOP
        return "symbolic link loop"
    return error.strerror or str(error)


def read_input(path: Path | str, limit: int) -> tuple[bytes | None, Diagnostic | None]:
    """The bytes of an input file, or the diagnostic saying why it cannot be read (F001, or
    F005 past ``limit`` bytes, a UTF-8 byte order mark not counted). Never raises on a bad
    path and never blocks: only regular files are read (not directories, FIFOs or devices),
    the size is checked with ``fstat`` before reading, and the read stops one byte past the
    limit, so that a huge file costs nothing."""
    name = os.fspath(path)
    where = Span(file=str(name))
    flags = os.O_RDONLY
    for flag in ("O_NONBLOCK", "O_CLOEXEC", "O_NOCTTY", "O_BINARY"):
        flags |= getattr(os, flag, 0)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    try:
        fd = os.open(name, flags)
    except (OSError, ValueError) as exc:
        return None, codes.F001.at(where, what=repr(str(name)), reason=_os_reason(exc, name))
    allowed = limit + len(codecs.BOM_UTF8)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            reason = "is a directory, not a file" if stat.S_ISDIR(info.st_mode) else None
            reason = reason or "not a regular file"
            return None, codes.F001.at(where, what=repr(str(name)), reason=reason)
        if info.st_size > allowed:
            return None, too_large(where, info.st_size, limit)
        chunks: list[bytes] = []
        total = 0
        while total <= allowed:
            chunk = os.read(fd, min(1 << 20, allowed + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > allowed:  # the file grew after fstat
            return None, too_large(where, total, limit)
    except OSError as exc:
        return None, codes.F001.at(where, what=repr(str(name)), reason=_os_reason(exc, name))
    finally:
        os.close(fd)
    return b"".join(chunks), None


def too_large(where: Span, size: int, limit: int) -> Diagnostic:
    """The F005 diagnostic of an input of ``size`` bytes over ``limit``."""
    return codes.F005.at(where, reason=f"{size:,} bytes, the limit is {limit:,}")


def decode_utf8(raw: bytes, file: str | None) -> tuple[str, Diagnostic | None]:
    """Input bytes as text (a UTF-8 byte order mark dropped), or an F002 diagnostic at the
    line and column of the first byte that is not UTF-8."""
    hint = None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        hint = "the file starts with a UTF-16 byte order mark; save it as UTF-8"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8")  # everything before the first bad byte is valid
        line, col = line_col(prefix, len(prefix))
        span = Span(file=file, line=line, col=col)
        return "", codes.F002.at(span, hint=hint, byte=raw[exc.start])


def line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``; ``\\r\\n``, ``\\n`` and ``\\r`` each end a
    line (as in YAML and Python)."""
    head = text[:index]
    line = head.count("\n") + head.count("\r") - head.count("\r\n") + 1
    start = max(head.rfind("\n"), head.rfind("\r")) + 1
    return line, index - start + 1


def _os_reason(exc: BaseException, name: str) -> str:
    if isinstance(exc, ValueError):
        return "invalid path name"
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT:
        try:
            if Path(name).is_symlink():
                return "dangling symbolic link"
        except (OSError, ValueError):
            pass
        return "no such file or directory"
    if code == errno.ELOOP:
        return "too many levels of symbolic links (symlink loop?)"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.EISDIR:
        return "is a directory, not a file"
    strerror = getattr(exc, "strerror", None)
    return (strerror or str(exc) or type(exc).__name__).lower()


def write_atomic(
    path: Path, text: str, *, force: bool, root: Path | None = None
) -> Diagnostic | None:
    """Write ``text`` to ``path`` via a temporary file and a rename, so that a reader (or a
    crash) sees the old file or the new one, never a partial one. Refuses to replace an
    existing file (or symbolic link, even a broken one) unless ``force``, and, given ``root``,
    to write anywhere but under it (a symlinked folder inside ``root`` may point elsewhere).
    A new file gets the permissions the umask allows; a replaced file keeps its own."""
    span = Span(file=str(path))
    if root is not None and not is_within(path.parent, root):
        return codes.F004.at(
            span, path=str(path), reason=f"it is outside the output directory {root}"
        )
    existing = path.exists() or path.is_symlink()
    if existing and not force:
        return codes.F003.at(span, path=str(path), hint="pass --force to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path)
        mode = _default_mode()
        if existing and not path.is_symlink():  # a link is replaced, its target left alone
            mode = path.stat().st_mode & 0o7777
        import tempfile  # only writing needs it; readers share this module

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as error:
        return codes.F004.at(span, path=str(path), reason=error.strerror or str(error))
    return None


def is_within(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or under it once symbolic links are followed."""
    return path.resolve().is_relative_to(root.resolve())


def _temp_prefix(path: Path) -> str:
    # The process id lets a later run tell a temporary file left by a killed run (removed)
    # from one a running conversion is still writing (kept); the name is cut so that the
    # temporary name stays within the file system's limit.
    return f".{path.name[:128]}.flowbridge.{os.getpid()}."


_TEMP_TAIL = re.compile(r"(?P<pid>[0-9]+)\.[a-z0-9_]{8}\.tmp")


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temporary files that runs killed while writing ``path`` left beside it (a
    kill between creating the temporary file and renaming it cannot clean up after itself);
    the paths removed. Files of a process still alive are kept."""
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return []
    prefix = _temp_prefix(path).rsplit(".", 2)[0] + "."
    removed: list[Path] = []
    try:
        entries = [e.name for e in os.scandir(path.parent) if e.name.startswith(prefix)]
    except OSError:
        return removed
    for name in entries:
        match = _TEMP_TAIL.fullmatch(name[len(prefix) :])
        if match is None or _alive(int(match["pid"])):
            continue
        stale = path.parent / name
        try:
            stale.unlink()
        except OSError:
            continue
        removed.append(stale)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM), or unknown: assume it is running
        return True
    return True


def _default_mode() -> int:
    """Permissions of a new file under the current umask (mkstemp alone gives 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def gitignored(root: Path) -> Callable[[Path], bool]:
    """A predicate telling whether a path under ``root`` is ignored by the ``.gitignore``
    files of the tree (root and nested ones)."""
    from .patterns import gitignore_spec

    specs: list[tuple[Path, Any]] = []
    for ignore in sorted(root.rglob(".gitignore")):
        if any(part in SKIPPED_DIRS for part in ignore.relative_to(root).parts):
            continue
        try:
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        specs.append((ignore.parent, gitignore_spec(lines)))

    def ignored(path: Path) -> bool:
        for base, spec in specs:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            if spec.match_file(rel) or spec.match_file(rel + "/"):
                return True
        return False

    return ignored


def slug_namespace(name: str) -> str:
    """A string as a Kestra namespace (lower case, letters, digits, '.', '_', '-')."""
    from grammars.kestra.ids import make_id

    return make_id(name.lower(), "namespace", "default")


def resolve_namespace(source: Path, option: str | None) -> str:
    """The namespace: the one given (by the command line, else by ``[tool.flowbridge]``),
    else the name of the converted repo (the source directory, or a file's directory)."""
    if option:
        return option
    try:
        folder = source.resolve() if source.is_dir() else source.resolve().parent
    except (OSError, RuntimeError):  # a link that loops: the reader reports it
        folder = source.absolute().parent
    return slug_namespace(folder.name)


def output_paths(
    source_root: Path, path: Path, flows: list, *, output: Path, per_flow: bool, suffix: str
) -> list[tuple[Path, list]]:
    """Where the flows read from ``path`` are written. A tree keeps its layout; a file that
    holds one flow per output (Prefect modules) gives ``<dir>/<flow id><suffix>`` each, with a
    numeric suffix when two flows of one folder share an id."""
    single = source_root == path
    if not per_flow:
        if single:
            target = output / path.name if output.is_dir() else output
        else:
            target = output / path.relative_to(source_root)
        return [(target.with_suffix(suffix) if target.suffix != suffix else target, flows)]
    if single and len(flows) == 1 and output.suffix == suffix and not output.is_dir():
        return [(output, flows)]
    folder = output if single else output / path.relative_to(source_root).parent
    planned: list[tuple[Path, list]] = []
    taken: set[Path] = set()
    for flow in flows:
        target = folder / f"{flow.id}{suffix}"
        counter = 2
        while target in taken:
            target = folder / f"{flow.id}_{counter}{suffix}"
            counter += 1
        taken.add(target)
        planned.append((target, [flow]))
    return planned
