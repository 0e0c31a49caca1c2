"""Benchmark: Kestra YAML → Prefect Python over the Kestra corpus, as a ratio to the floor of
the same work: ruamel's round-trip load of each file plus black formatting the generated module.
Measured in one process. Prints figures; asserts nothing.

    python bench/kestra_to_prefect.py [CORPUS_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import black  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402
from timing import report  # noqa: E402

from transpile.kestra.reader import read_kestra  # noqa: E402
from transpile.prefect.writer import write_prefect  # noqa: E402


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/corpus/kestra"
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    texts = [p.read_bytes() for p in files]
    flows = [read_kestra(text).flows for text in texts]
    jobs = [(text, found) for text, found in zip(texts, flows, strict=True) if found]
    if not jobs:
        print(f"no Kestra flows under {corpus}")
        return 1
    outputs = [write_prefect(found).code for _, found in jobs]  # also warms caches up
    print(f"files with flows: {len(jobs)}")
    mode = black.Mode()

    def floor() -> None:
        yaml = YAML(typ="rt")
        for (text, _), code in zip(jobs, outputs, strict=True):
            list(yaml.load_all(text))
            black.format_str(code, mode=mode)

    def flowbridge() -> None:
        for text, _ in jobs:
            write_prefect(read_kestra(text).flows)

    report(("ruamel load + black", floor), ("flowbridge yaml->python", flowbridge))
    return 0


if __name__ == "__main__":
    sys.exit(main())
