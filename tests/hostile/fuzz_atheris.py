"""Coverage-guided fuzzing of the readers (and the writers on what they read) with atheris.

    python -m tests.hostile.fuzz_atheris TARGET CORPUS_DIR [libFuzzer options]

Targets: ``kestra_bytes`` and ``prefect_bytes`` give the raw input to a reader (encodings,
BOMs, invalid UTF-8 included); ``kestra_text`` and ``prefect_text`` decode it to text first,
so that the fuzzer spends its time on syntax. Each reader's flows then go through both writers
and back (tests/hostile/fuzz_targets.py). The corpus starts from the repository's own flows.
Only flowbridge's packages are instrumented. ``make fuzz`` runs every target
(tests/hostile/fuzz.py).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["ir", "transpile", "grammars"]):
    from tests.hostile.fuzz_targets import seeds, target_kestra_reader, target_prefect_reader


def _text(data: bytes) -> str:
    return atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))


TARGETS = {
    "kestra_bytes": ("kestra", target_kestra_reader),
    "prefect_bytes": ("prefect", target_prefect_reader),
    "kestra_text": ("kestra", lambda data: target_kestra_reader(_text(data))),
    "prefect_text": ("prefect", lambda data: target_prefect_reader(_text(data))),
}


def _reported(target):
    """``target``, printing the traceback of a failure before atheris ends the process (it
    does not always print it)."""

    def run(data: bytes) -> None:
        try:
            target(data)
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            raise

    return run


def main(argv: list[str]) -> None:
    name, corpus = argv[1], Path(argv[2])
    side, target = TARGETS[name]
    corpus.mkdir(parents=True, exist_ok=True)
    for number, text in enumerate(seeds()[side]):
        seed = text.encode("utf-8")
        if name.endswith("_text"):  # what ConsumeUnicodeNoSurrogates reads as this text
            seed = b"\x00" + seed
        (corpus / f"seed-{number}").write_bytes(seed)
    atheris.Setup([argv[0], str(corpus), *argv[3:]], _reported(target))
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
