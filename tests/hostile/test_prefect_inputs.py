"""Bad Prefect Python, case by case: each ends in one diagnostic at a position and a
documented exit code, within a time and memory bound, without a traceback or a crash.

``CASES`` is the matrix: name, content, code, line, column, exit code. ``NESTED`` holds the
inputs nested past what a parser can take: libcst's native parser overflows the C stack on
some of them (the process dies, no ``except`` helps), so they run the command line in a child
process. ``WRONG_TYPES`` is derived from the decorator options the reader models
(``grammars/prefect/surface.yaml``): each gets a constant of the wrong type. Exit codes: 2
for a file that cannot be read at all (F00x) and for Python that does not parse (P100), 0 for
what converts with a warning (P110) or only information (P106, P108).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grammars.prefect import surface
from transpile.prefect.reader import (
    _OPTION_TYPES,
    MAX_NAME_PARTS,
    MAX_SOURCE_BYTES,
    read_prefect_file,
)

from .matrix import (
    EXIT_INPUT,
    EXIT_OK,
    SECONDS,
    Case,
    assert_ends_in,
    bounded,
    cli,
    params,
    process,
    read_case,
    startup,
)

HEAD = "from prefect import flow, task\n\n\n"  # three lines
TASK = "@task\ndef hello(name: str) -> str:\n    return f'hello {name}'\n\n\n"  # five more
FLOW = HEAD + TASK + "@flow\ndef greet(name: str = 'x'):\n    hello(name)\n"
BODY = HEAD + "@flow\ndef f():\n"  # the flow's body starts on line 6


def _calls(*options: str) -> str:
    """A flow calling a task; ``options`` are the task decorator's keyword arguments (line 4)."""
    return HEAD + f"@task({', '.join(options)})\ndef t():\n    pass\n\n\n@flow\ndef f():\n    t()\n"


CASES = [
    # malformed Python: P100 where CPython says it is wrong
    Case(
        "unclosed-parenthesis", BODY.replace("f():", "f(:") + "    pass\n", "P100", 5, 7, EXIT_INPUT
    ),
    Case("unterminated-string", BODY + "    x = 'abc\n", "P100", 6, 9, EXIT_INPUT),
    Case("unexpected-indent", BODY + "    x = 1\n      y = 2\n", "P100", 7, 6, EXIT_INPUT),
    Case("python-2-print", "print 'hello'\n", "P100", 1, 1, EXIT_INPUT),
    Case("return-outside-function", HEAD + "return 1\n", "P100", 4, 1, EXIT_INPUT),
    Case("bad-escape", BODY + "    x = '\\N{NO SUCH NAME}'\n", "P100", 6, 9, EXIT_INPUT),
    Case("integer-past-digit-limit", BODY + f"    x = {'1' * 5000}\n", "P100", 6, 9, EXIT_INPUT),
    # binary files
    Case("nul-byte", BODY + "    x = 'a\x00b'\n", "P100", 6, 11, EXIT_INPUT),
    Case("png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "F002", 1, 1, EXIT_INPUT),
    Case("elf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, "P100", 1, 8, EXIT_INPUT),
    # encodings, byte order marks, line ends, tabs
    Case("latin-1", b"from prefect import flow\nx = 'caf\xe9'\n", "F002", 2, 9, EXIT_INPUT),
    Case("utf-16", "from prefect import flow\n".encode("utf-16"), "F002", 1, 1, EXIT_INPUT),
    Case("bom", b"\xef\xbb\xbf" + FLOW.encode(), None, exit=EXIT_OK),
    Case(
        "bom-then-error",
        "\ufeff" + BODY.replace("f():", "f(:") + "    pass\n",
        "P100",
        5,
        7,
        EXIT_INPUT,
    ),
    Case("crlf", FLOW.replace("\n", "\r\n"), None, exit=EXIT_OK),
    Case("cr", FLOW.replace("\n", "\r"), None, exit=EXIT_OK),
    Case(
        "crlf-then-error", (BODY + "    x = (1,\n").replace("\n", "\r\n"), "P100", 6, 9, EXIT_INPUT
    ),
    Case("tab-indentation", FLOW.replace("    ", "\t"), None, exit=EXIT_OK),
    Case("tabs-and-spaces", BODY + "    if True:\n\tpass\n", "P100", 7, 1, EXIT_INPUT),
    # duplicate keys: a keyword argument given twice does not compile
    Case("repeated-keyword", _calls("retries=1", "retries=2"), "P100", 4, 18, EXIT_INPUT),
    # unknown types, empty files
    Case(
        "unknown-annotation",
        HEAD + "@flow\ndef f(x: SomeType):\n    pass\n",
        "P106",
        5,
        10,
        EXIT_OK,
    ),
    # a module that does not mention prefect is not a flow file: nothing to say about it
    Case("empty", b"", None, exit=EXIT_OK),
    Case("comment-only", "# flows will be here\n", None, exit=EXIT_OK),
    Case("prefect-but-no-flow", HEAD + TASK, "P108", exit=EXIT_OK),
    # constants past what a duration or a count holds
    Case("timeout-infinite", _calls("timeout_seconds=1e400"), "P110", 4, 23, EXIT_OK),
    Case("timeout-negative", _calls("timeout_seconds=-5"), "P110", 4, 23, EXIT_OK),
    Case("retries-past-int32", _calls("retries=3_000_000_000"), "P110", 4, 15, EXIT_OK),
    Case(
        "delay-overflow",
        _calls("retries=1", "retry_delay_seconds=[1, 1e300]"),
        "P110",
        4,
        38,
        EXIT_OK,
    ),
    Case(
        "with-options-wrong-type",
        _calls().replace("    t()\n", "    t.with_options(retries='3')()\n"),
        "P110",
        11,
        28,
        EXIT_OK,
    ),
]


def _convert(capsys, path: Path, tmp_path: Path):
    out = tmp_path / "out"
    return cli(capsys, "convert", path, "--to", "kestra", "-o", out, "-v", "--namespace", "n")


@pytest.mark.parametrize("case", params(CASES))
def test_bad_python(case: Case, tmp_path: Path, capsys):
    path, result = read_case(case, tmp_path, ".py", read_prefect_file)
    ran = _convert(capsys, path, tmp_path)
    assert ran.code == case.exit, ran.stderr
    if case.code is not None:
        assert f"{path}:{case.line}:{case.col}: {case.code} " in ran.stderr
    written = list((tmp_path / "out").rglob("*.yaml")) if (tmp_path / "out").exists() else []
    assert bool(written) == (case.exit == EXIT_OK and bool(result.flows))


def test_50_mb_file_is_refused_before_it_is_read(tmp_path: Path, capsys):
    path = tmp_path / "huge.py"
    with open(path, "wb") as handle:
        handle.write(FLOW.encode())
        handle.write(b"X = 'padding padding padding padding padding padding padding'\n" * 850_000)
    assert path.stat().st_size > 50 * 10**6
    result = bounded(read_prefect_file, path, seconds=1, megabytes=1)
    assert_ends_in(result.diagnostics, Case("huge", b"", "F005", exit=EXIT_INPUT), path)
    assert f"the limit is {MAX_SOURCE_BYTES:,}" in result.diagnostics[0].message
    ran = _convert(capsys, path, tmp_path)
    assert ran.code == EXIT_INPUT and f"{path}:1:1: F005 " in ran.stderr


# --- nesting 5,000 deep, in a child process ------------------------------------------------

NESTED = [
    Case(
        "parentheses-5000",
        BODY + "    x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
        "P100",
        6,
        209,
        EXIT_INPUT,
    ),
    Case(
        "lists-5000", BODY + "    x = " + "[" * 5000 + "]" * 5000 + "\n", "P100", 6, 209, EXIT_INPUT
    ),
    Case(
        "dicts-5000",
        BODY + "    x = " + "{1: " * 5000 + "1" + "}" * 5000 + "\n",
        "P100",
        6,
        809,
        EXIT_INPUT,
    ),
    Case(  # CPython refuses 100 levels of indentation
        "ifs-500",
        BODY + "".join(" " * (i + 1) + "if x:\n" for i in range(500)) + " " * 501 + "pass\n",
        "P100",
        105,
        1,
        EXIT_INPUT,
    ),
    Case(  # 5,000 levels of indentation take 12.5 MB: refused for their size
        "ifs-5000",
        BODY + "".join(" " * (i + 1) + "if x:\n" for i in range(5000)) + " " * 5001 + "pass\n",
        "F005",
        exit=EXIT_INPUT,
    ),
    # ast keeps these flat, libcst nests them (and its native parser used to crash on them)
    Case(
        "and-chain-50000",
        BODY + "    x = " + " and ".join(["a"] * 50000) + "\n",
        "P100",
        6,
        9,
        EXIT_INPUT,
    ),
    Case(
        "or-chain-10000",
        BODY + "    x = " + " or ".join(["a"] * 10000) + "\n",
        "P100",
        6,
        9,
        EXIT_INPUT,
    ),
    Case(
        "dotted-import-50000",
        "import os\nimport a" + ".b" * 50000 + "\n",
        "P100",
        2,
        8 + 2 * MAX_NAME_PARTS,
        EXIT_INPUT,
    ),
    Case(
        "attribute-chain-50000",
        BODY + "    x = a" + ".b" * 50000 + "\n",
        "P100",
        6,
        9 + 2 * MAX_NAME_PARTS,
        EXIT_INPUT,
    ),
    # past CPython's own recursion limit: no finer position than the file
    Case("unary-minus-20000", BODY + "    x = " + "-" * 20000 + "1\n", "P100", exit=EXIT_INPUT),
    Case("lambdas-5000", BODY + "    x = " + "lambda: " * 5000 + "1\n", "P100", exit=EXIT_INPUT),
    Case(
        "sum-chain-100000",
        BODY + "    x = " + "+".join(["1"] * 100000) + "\n",
        "P100",
        exit=EXIT_INPUT,
    ),
    # legal Python nested past what the converter's recursion takes
    Case(
        "task-calls-150",
        HEAD + TASK + "@flow\ndef f():\n    " + "hello(" * 150 + "'x'" + ")" * 150 + "\n",
        "P100",
        exit=EXIT_INPUT,
    ),
]


@pytest.mark.parametrize("case", params(NESTED))
def test_deep_python_in_a_child_process(case: Case, tmp_path: Path):
    path = case.write(tmp_path, ".py")
    ran = process("convert", path, "--to", "kestra", "-o", tmp_path / "out", cwd=tmp_path)
    assert ran.code == case.exit, ran.stderr
    assert f"{path}:{case.line}:{case.col}: {case.code} " in ran.stderr
    assert ran.seconds < startup() + SECONDS, f"took {ran.seconds:.1f} s"
    assert ran.megabytes < 512, f"used {ran.megabytes:.0f} MB"
    assert not (tmp_path / "out").exists()


# --- wrong types for every modelled decorator option ----------------------------------------


def _wrong_options() -> list[Case]:
    """Every decorator option the reader converts, with a dict for its value (a dict is
    wrong for each of them: strings, counts, numbers of seconds, lists, booleans)."""
    cases = []
    s = surface()
    for decorator, table in (("task", s.task_options), ("flow", s.flow_options)):
        for key, spec in table.items():
            if spec.handler not in _OPTION_TYPES:
                continue  # carried as it is (P102/P104) or not a constant (cache_policy)
            line = f"@{decorator}({key}={{'wrong': 1}})"
            text = _calls().replace("@task()", line) if decorator == "task" else _calls()
            if decorator == "flow":
                text = text.replace("@flow\n", line + "\n")
            row = 4 if decorator == "task" else 9
            cases.append(Case(f"{decorator}.{key}", text, "P110", row, len(key) + 8, EXIT_OK))
    return cases


WRONG_TYPES = _wrong_options()


def test_every_modelled_option_is_in_the_matrix():
    names = {case.name for case in WRONG_TYPES}
    assert {"task.retries", "task.timeout_seconds", "task.tags", "flow.name"} <= names
    handlers = {spec.handler for spec in surface().task_options.values()}
    assert set(_OPTION_TYPES) <= handlers | {
        spec.handler for spec in surface().flow_options.values()
    }


@pytest.mark.parametrize("case", params(WRONG_TYPES))
def test_wrong_type(case: Case, tmp_path: Path, capsys):
    path, _ = read_case(case, tmp_path, ".py", read_prefect_file)
    ran = _convert(capsys, path, tmp_path)
    assert ran.code == EXIT_OK, ran.stderr
    assert f"{path}:{case.line}:{case.col}: P110 " in ran.stderr
    assert list((tmp_path / "out").rglob("*.yaml")), "the flow converts without the option"
    # and with an error elsewhere the run fails as it should
    broken = tmp_path / "broken.py"
    broken.write_text(case.content + "\n\ndef (:\n")
    assert _convert(capsys, broken, tmp_path).code == EXIT_INPUT
