"""Benchmark: converting Prefect repos to Kestra YAML, as a ratio to ``libcst.parse_module``
over the same files in the same process. Prints figures; asserts nothing.

    python bench/prefect_convert.py [REPO_DIR ...]   (default: fixtures/prefect/*, examples/prefect)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import libcst  # noqa: E402
from timing import report  # noqa: E402

from transpile.kestra.writer import write_kestra  # noqa: E402
from transpile.prefect.reader import read_prefect_repo  # noqa: E402
from transpile.project import discover  # noqa: E402


def main() -> int:
    repos = [Path(a) for a in sys.argv[1:]] or [
        *sorted(p for p in (ROOT / "fixtures" / "prefect").iterdir() if p.is_dir()),
        ROOT / "examples" / "prefect",
    ]
    trees = [(repo, discover(repo, [".py"])[0]) for repo in repos]
    sources = [p.read_bytes() for _, files in trees for p in files]
    print(f"repos: {len(trees)}, python files: {len(sources)}")

    def parse_only() -> None:
        for source in sources:
            try:
                libcst.parse_module(source)
            except Exception:
                pass

    def convert() -> None:
        for repo, files in trees:
            for result in read_prefect_repo(repo, files, namespace="bench").values():
                for flow in result.flows:
                    write_kestra(flow)

    convert()  # warm-up: grammars and catalogues load once per process
    report(("libcst.parse_module", parse_only), ("flowbridge convert", convert))
    return 0


if __name__ == "__main__":
    sys.exit(main())
