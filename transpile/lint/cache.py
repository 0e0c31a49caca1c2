"""Lint results remembered by content, as ruff's cache does: a file whose bytes, whose
imported modules, whose settings and whose flowbridge have not changed is not read again.

An entry is keyed by a SHA-256 of everything that can change a file's findings, so a stale
entry is never used; entries hold the findings before selection and suppression, which are
applied afresh on every run. The cache lives in ``.flowbridge_cache`` beside the project's
``pyproject.toml`` (or in ``FLOWBRIDGE_CACHE_DIR``), which ignores itself for git. Failing to
read or write it only costs time.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from .finding import Finding

CACHE_DIR_NAME = ".flowbridge_cache"
_PACKAGES = ("ir", "transpile", "grammars")


@cache
def build_id() -> str:
    """A digest of flowbridge's own files (names, sizes, modification times), so that
    upgrading or editing flowbridge invalidates every entry."""
    import hashlib
    import importlib.util

    digest = hashlib.sha256()
    for package in _PACKAGES:
        spec = importlib.util.find_spec(package)
        folders = list(spec.submodule_search_locations or []) if spec else []
        for folder in folders:
            for dirpath, dirnames, filenames in os.walk(folder):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for name in sorted(filenames):
                    if name.endswith((".py", ".yaml", ".json", ".lark", ".tsv", ".txt")):
                        stat = os.stat(os.path.join(dirpath, name))
                        digest.update(
                            f"{dirpath}/{name}:{stat.st_size}:{stat.st_mtime_ns};".encode()
                        )
    return digest.hexdigest()


class LintCache:
    """Entries under one folder; ``None`` as folder disables the cache."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @classmethod
    def for_root(cls, root: Path, enabled: bool = True) -> LintCache:
        if not enabled:
            return cls(None)
        configured = os.environ.get("FLOWBRIDGE_CACHE_DIR")
        return cls(Path(configured) if configured else root / CACHE_DIR_NAME)

    @property
    def enabled(self) -> bool:
        """False for ``--no-cache``: nothing is looked up, keyed or stored."""
        return self.folder is not None

    def key(self, *parts: bytes | str) -> str:
        """The entry's key: a SHA-256 of flowbridge's build and every part, each length-prefixed."""
        import hashlib

        digest = hashlib.sha256(build_id().encode())
        for part in parts:
            raw = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
            digest.update(len(raw).to_bytes(8, "big"))
            digest.update(raw)
        return digest.hexdigest()

    def get(self, key: str) -> list[Finding] | None:
        if self.folder is None:
            return None
        try:
            data = json.loads((self.folder / key[:2] / f"{key}.json").read_text("utf-8"))
            return [Finding(**item) for item in data]
        except (OSError, ValueError, TypeError):
            return None

    def put(self, key: str, findings: list[Finding]) -> None:
        if self.folder is None:
            return
        target = self.folder / key[:2] / f"{key}.json"
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / ".gitignore").write_text("# written by flowbridge\n*\n", "utf-8")
            target.parent.mkdir(exist_ok=True)
            temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            # O_EXCL: never written through a link or over a file found there
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump([f.as_dict() for f in findings], handle)
                os.replace(temporary, target)
            except OSError:
                temporary.unlink(missing_ok=True)
                raise
        except OSError:
            pass
