"""Benchmark: read + write the whole Kestra corpus, as a ratio to ruamel's round-trip load
alone over the same files, measured in one process. Prints figures; asserts nothing.

    python bench/kestra_roundtrip.py [CORPUS_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ruamel.yaml import YAML  # noqa: E402
from timing import report  # noqa: E402

from transpile.kestra.reader import read_kestra  # noqa: E402
from transpile.kestra.writer import write_kestra  # noqa: E402


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/corpus/kestra"
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    texts = [p.read_bytes() for p in files]
    if not texts:
        print(f"no YAML files under {corpus}")
        return 1
    read_kestra(texts[0])  # warm up: grammar and catalogue are built once per process

    def ruamel_load() -> None:
        yaml = YAML(typ="rt")
        for text in texts:
            try:
                list(yaml.load_all(text))
            except Exception:
                pass

    def flowbridge() -> None:
        for text in texts:
            result = read_kestra(text)
            if result.flows:
                write_kestra(result.flows)

    report(("ruamel load", ruamel_load), ("flowbridge read+write", flowbridge))
    return 0


if __name__ == "__main__":
    sys.exit(main())
