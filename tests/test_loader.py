"""The YAML loader: positions, scalar types and hostile input (each case within 2 s)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from transpile.kestra.loader import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_INPUT_BYTES,
    Document,
    load_documents,
    read_file,
)

BUDGET = 2.0  # seconds per hostile case


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    elapsed = time.perf_counter() - start
    assert elapsed < BUDGET, f"took {elapsed:.2f} s"
    return result


def only_diagnostic(result, code):
    documents, diagnostics = result
    assert documents == []
    assert [d.code for d in diagnostics] == [code], [d.render() for d in diagnostics]
    return diagnostics[0]


def load_one(source, file="flow.yaml") -> Document:
    documents, diagnostics = load_documents(source, file)
    assert diagnostics == []
    assert len(documents) == 1
    return documents[0]


def at(doc: Document, *path, key=False) -> tuple[int | None, int | None]:
    span = doc.span(path, key=key)
    return span.line, span.col


FLOW = """\
id: hello
namespace: company.team
labels:
  team: data
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }}"
  - id: second
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: [a, b, {deep: value}]
"""


# --- positions ------------------------------------------------------------------------------


def test_span_of_nested_values_and_keys():
    doc = load_one(FLOW)
    span = doc.span(("tasks", 0, "message"))
    assert (span.file, span.line, span.col, span.path) == ("flow.yaml", 8, 14, "/tasks/0/message")
    assert at(doc, "tasks", 0, "message", key=True) == (8, 5)
    assert at(doc, "tasks", 1, "tasks", 0, "id") == (12, 13)
    assert at(doc, "labels", "team") == (4, 9)
    assert at(doc, "labels", key=True) == (3, 1)


def test_span_of_sequence_items_and_flow_collections():
    doc = load_one(FLOW)
    assert at(doc, "tasks", 1) == (9, 5)
    path = ("tasks", 1, "tasks", 0, "message", 2, "deep")
    span = doc.span(path)
    assert (span.line, span.col, span.path) == (14, 32, "/tasks/1/tasks/0/message/2/deep")
    item = doc.span(("tasks", 1, "tasks", 0, "message", 1))
    assert (item.line, item.col) == (14, 22)
    assert doc.span(path, key=True).col == 26


def test_span_of_missing_path_is_nearest_ancestor():
    doc = load_one(FLOW)
    span = doc.span(("tasks", 0, "retry", "max"))
    assert (span.line, span.col, span.path) == (6, 5, "/tasks/0/retry/max")
    assert doc.span(("tasks", 7)).line == 6  # a block sequence starts at its first "-"
    assert doc.span(("tasks", -1)).line == 6
    assert doc.span(("id", "x")).line == 1


def test_span_of_root_and_pointer_escaping():
    doc = load_one("\n\n  a/b~c: 1\n  x: 2\n")
    assert (doc.span().line, doc.span().col, doc.span().path) == (3, 3, "")
    assert doc.span(("a/b~c",)).path == "/a~1b~0c"
    scalar = load_one("# c\n--- plain\n")
    assert (scalar.data, scalar.span().line, scalar.span().col) == ("plain", 2, 5)


def test_span_through_merge_and_alias():
    doc = load_one("base: &b\n  retries: 3\ntask:\n  <<: *b\n  id: t\n")
    assert doc.data["task"]["retries"] == 3
    assert doc.span(("task", "retries")).line == 2
    assert doc.span(("task", "id")).line == 5


# --- scalars and documents ------------------------------------------------------------------


def test_scalars_are_plain_builtins_in_commented_containers():
    doc = load_one(
        "s: text\nq: 'quoted'\nl: |\n  block\ni: 0x10\nf: 1.50\nb: true\nn: ~\n"
        "d: 2024-01-31\nt: 2024-01-31T10:00:00+02:00\nlist: [1, 2.5, on]\n1.5: key\n"
    )
    data = doc.data
    assert isinstance(data, CommentedMap) and isinstance(data["list"], CommentedSeq)
    expected = {
        "s": "text",
        "q": "quoted",
        "l": "block\n",
        "i": 16,
        "f": 1.5,
        "b": True,
        "n": None,
        "d": dt.date(2024, 1, 31),
        "t": dt.datetime(2024, 1, 31, 10, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    }
    for key, value in expected.items():
        assert data[key] == value and type(data[key]) is type(value), key
    assert [type(v) for v in data["list"]] == [int, float, str]
    assert [type(k) for k in data] == [str] * 10 + [float]
    assert list(data)[-1] == 1.5 and doc.span((1.5,)).line == 12


def test_multi_document_file_skips_empty_documents():
    source = "id: a\n---\n# only a comment\n---\nid: b\n...\n---\n~\n"
    documents, diagnostics = load_documents(source, "multi.yaml")
    assert diagnostics == []
    assert [(d.index, d.data["id"]) for d in documents] == [(0, "a"), (2, "b")]
    assert documents[1].span(("id",)).line == 5


@pytest.mark.parametrize("source", [b"", b"\n\n", b"# just\n# comments\n", b"---\n...\n"])
def test_empty_and_comment_only_files(source):
    assert timed(load_documents, source) == ([], [])


def test_bom_is_stripped():
    doc = load_one(b"\xef\xbb\xbfid: x\nnamespace: y\n")
    assert list(doc.data) == ["id", "namespace"]
    assert at(doc, "id") == (1, 5)
    assert load_one("\ufeffid: x\n").data == {"id": "x"}


def test_crlf_and_tabs_inside_values():
    doc = load_one(b'id: x\r\nmessage: "a\tb"\r\nscript: |\r\n  make:\r\n  \tgo build\r\nn: 2\r\n')
    assert doc.data["message"] == "a\tb"
    assert doc.data["script"] == "make:\n\tgo build\n"
    assert doc.span(("n",)).line == 6


def test_tab_in_plain_value_is_k100_with_hint():
    diagnostic = only_diagnostic(load_documents("id: x\nmessage: a\tb\n"), "K100")
    assert (diagnostic.span.line, diagnostic.span.col) == (2, 11)
    assert "tab" in diagnostic.hint


def test_legal_nesting_at_the_limit_loads_even_from_a_deep_stack():
    block = "".join(" " * i + "a:\n" for i in range(MAX_DEPTH - 1)) + " " * MAX_DEPTH + "x: 1\n"
    flow = "[" * MAX_DEPTH + "]" * MAX_DEPTH

    def nest(levels, fn):
        return fn() if levels == 0 else nest(levels - 1, fn)

    for source in (block, flow):
        documents, diagnostics = timed(nest, 300, lambda s=source: load_documents(s))
        assert diagnostics == [] and len(documents) == 1


def test_brackets_in_scalars_and_comments_do_not_count_as_nesting():
    deep = "[" * (MAX_DEPTH * 3)
    source = (
        f"a: \"{deep}\"\nb: '{deep}'\n# {deep}\nc: |\n  {deep}\nd: text {deep}\n"
        f'e: ["{deep}", x]  # {deep}\n'
    )
    doc = timed(load_one, source)
    assert doc.data["e"][0] == deep


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "col", "reason"),
    [
        ("id: x\ntasks: : [\n", 2, 8, "mapping values are not allowed here"),
        ("id: x\ntasks:\n  - id: a\n - id: b\n", 4, 2, "expected <block end>"),
        ("id: [a, b\n", 2, 1, "expected ',' or ']', but got '<stream end>'"),
        ("id: 'unterminated\n", 2, 1, "found unexpected end of stream"),
        ("a: *missing\n", 1, 4, "found undefined alias 'missing'"),
        ("a: b\x00c\n", 1, 5, "unacceptable character #x0000"),
        ("a: " + "1" * 5000 + "\n", 1, 4, "cannot build value"),
        ("when: 2024-13-45\n", 1, 7, "cannot build value"),
    ],
)
def test_malformed_yaml_is_k100_at_the_problem(source, line, col, reason):
    diagnostic = only_diagnostic(timed(load_documents, source, "bad.yaml"), "K100")
    assert (diagnostic.span.file, diagnostic.span.line, diagnostic.span.col) == (
        "bad.yaml",
        line,
        col,
    )
    assert reason in diagnostic.message
    assert "Traceback" not in diagnostic.message and "\n" not in diagnostic.message


def test_duplicate_key_is_k101_at_the_duplicate():
    source = "id: a\nnamespace: n\ntasks:\n  - id: t\n    type: x\n    id: u\n"
    diagnostic = only_diagnostic(timed(load_documents, source), "K101")
    assert diagnostic.message == "duplicate key 'id'"
    assert (diagnostic.span.line, diagnostic.span.col) == (6, 5)
    assert diagnostic.hint == "first defined at line 4"


def test_billion_laughs_is_f005():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    diagnostic = only_diagnostic(timed(load_documents, "\n".join(lines) + "\n"), "F005")
    assert "aliases expanded" in diagnostic.message
    # 10**5 nodes exceed the limit: the alias that crosses it is on the line of a4 or a5
    assert MAX_EXPANDED_NODES < 10**5 and diagnostic.span.line in (5, 6)


def test_expanded_node_limit_counts_merges():
    big = "{" + ", ".join(f"k{i}: v" for i in range(1000)) + "}"
    source = f"base: &b {big}\nitems:\n" + "  - <<: *b\n" * 60
    diagnostic = only_diagnostic(timed(load_documents, source), "F005")
    assert diagnostic.span.line > 2


@pytest.mark.parametrize(
    ("source", "line", "col"),
    [
        ("a: &a [*a]\n", 1, 8),
        ("a: &a {b: {c: *a}}\n", 1, 15),
        ("a: &a\n  <<: *a\n", 2, 7),
    ],
)
def test_recursive_alias_is_f005(source, line, col):
    diagnostic = only_diagnostic(timed(load_documents, source), "F005")
    assert "recursive" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.col) == (line, col)


@pytest.mark.parametrize(
    ("source", "line", "col"),
    [
        ("[" * 5000 + "]" * 5000, 1, MAX_DEPTH + 1),
        ("{a: " * 5000 + "x" + "}" * 5000, 1, 4 * MAX_DEPTH + 1),
        ("key:\n" + "[\n" * 5000 + "]" * 5000, MAX_DEPTH + 2, 1),
        ("- " * 5000 + "x\n", 1, 2 * MAX_DEPTH + 1),
        ("".join(" " * i + "a:\n" for i in range(1000)), MAX_DEPTH + 1, MAX_DEPTH + 1),
        ("".join("  " * i + "- a:\n" for i in range(300)), MAX_DEPTH // 2 + 1, MAX_DEPTH + 1),
    ],
    ids=["flow-seq", "flow-map", "flow-multiline", "block-seq", "block-map", "block-mixed"],
)
def test_deep_nesting_is_f005(source, line, col):
    diagnostic = only_diagnostic(timed(load_documents, source), "F005")
    assert f"nesting deeper than {MAX_DEPTH} levels" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.col) == (line, col)


def test_block_nesting_5000_deep_by_indentation_is_f005():
    source = "".join(" " * i + "a:\n" for i in range(5000))  # 12.5 MB: over the size limit too
    diagnostic = only_diagnostic(timed(load_documents, source), "F005")
    assert "limit" in diagnostic.message


def test_nested_collection_keys_are_f005():
    diagnostic = only_diagnostic(timed(load_documents, "? " * 40 + "x\n"), "F005")
    assert "keys nest" in diagnostic.message and diagnostic.span.line == 1
    via_aliases = "a: &k1 {? {x: 1}: 1}\nb: &k2 {? *k1 : 1}\nc: {? *k2 : 1}\n"
    assert only_diagnostic(timed(load_documents, via_aliases), "F005").span.line == 2


def test_oversized_input_is_f005():
    source = b"a: " + b"x" * MAX_INPUT_BYTES
    diagnostic = only_diagnostic(timed(load_documents, source, "big.yaml"), "F005")
    assert "limit" in diagnostic.message and diagnostic.span.file == "big.yaml"


@pytest.mark.parametrize(
    ("source", "line", "col", "byte"),
    [
        (b"id: x\nmessage: caf\xe9 au lait\n", 2, 13, 0xE9),
        ("id: x\nmsg: \u00e9\u00e9 ".encode() + b"\xff\n", 2, 9, 0xFF),
        (b"\xef\xbb\xbfa: 1\r\nb: \x80\r\n", 2, 4, 0x80),
        (b"\xff\xfea\x00", 1, 1, 0xFF),
    ],
)
def test_invalid_utf8_is_f002_at_the_first_bad_byte(source, line, col, byte):
    diagnostic = only_diagnostic(timed(load_documents, source, "enc.yaml"), "F002")
    assert (diagnostic.span.line, diagnostic.span.col) == (line, col)
    assert f"0x{byte:02x}" in diagnostic.message


# --- read_file ------------------------------------------------------------------------------


def test_read_file_reads_a_flow(tmp_path: Path):
    path = tmp_path / "flow.yaml"
    path.write_bytes(FLOW.encode())
    documents, diagnostics = read_file(path)
    assert diagnostics == [] and documents[0].span(("tasks",)).file == str(path)


def read_error(path, code="F001"):
    diagnostic = only_diagnostic(timed(read_file, path), code)
    assert diagnostic.span.file == str(path)
    return diagnostic


def test_read_file_missing(tmp_path: Path):
    assert "no such file" in read_error(tmp_path / "missing.yaml").message


def test_read_file_directory(tmp_path: Path):
    assert "directory" in read_error(tmp_path).message


def test_read_file_symlink_loop(tmp_path: Path):
    loop = tmp_path / "a"
    loop.symlink_to("a")
    assert "symbolic links" in read_error(loop).message


def test_read_file_dangling_symlink(tmp_path: Path):
    link = tmp_path / "link.yaml"
    link.symlink_to("nowhere.yaml")
    assert "dangling" in read_error(link).message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_read_file_fifo_does_not_block(tmp_path: Path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert "not a regular file" in read_error(fifo).message


def test_read_file_unreadable(tmp_path: Path):
    path = tmp_path / "secret.yaml"
    path.write_text("id: x\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod does not stop reading")
        assert "permission denied" in read_error(path).message
    finally:
        path.chmod(0o600)


def test_read_file_too_large_is_refused_before_reading(tmp_path: Path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(50 * MAX_INPUT_BYTES)  # sparse: nothing is written or read
    diagnostic = read_error(path, "F005")
    assert f"{50 * MAX_INPUT_BYTES:,} bytes" in diagnostic.message


def test_read_file_invalid_utf8_keeps_the_path(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"id: x\nmessage: caf\xe9\n")
    diagnostic = read_error(path, "F002")
    assert (diagnostic.span.line, diagnostic.span.col) == (2, 13)


def test_recursion_limit_is_untouched():
    before = sys.getrecursionlimit()
    load_documents("[" * 5000)
    assert sys.getrecursionlimit() == before
