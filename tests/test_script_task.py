"""Kestra python scripts → Prefect task functions: expressions become parameters (values are
data, never code), the Kestra API is rewritten, and what cannot be converted falls back to a
function that keeps the script in comments and raises NotImplementedError (P206). Every
converted function is compiled and run here with fake Prefect helpers."""

from __future__ import annotations

import ast
import re

import libcst as cst
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ir.expressions import Filter, Literal, Param, TaskOutput, Template
from transpile.kestra.pebble import parse_text
from transpile.prefect.pyexpr import secret_block_name
from transpile.prefect.script_task import ScriptFunction, script_task

# --- helpers ----------------------------------------------------------------------------------


def convert(text: str) -> ScriptFunction:
    source, _ = parse_text(text)
    return script_task("load_data", source, task_id="load-data")


def code_of(converted: ScriptFunction) -> str:
    return cst.Module(body=[converted.function]).code


class FakeSecret:
    """Stands for prefect.blocks.system.Secret: records the blocks loaded."""

    loaded: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def load(cls, name: str) -> FakeSecret:
        cls.loaded.append(name)
        return cls(name)

    def get(self) -> str:
        return f"value-of-{self.name}"


class FakeLogger:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)


def load(converted: ScriptFunction, printed: list[str] | None = None, **names):
    """The converted function, compiled from its code in a namespace of fakes."""
    namespace: dict = {"Secret": FakeSecret, **names}
    if printed is not None:
        namespace["print"] = lambda *args: printed.append(" ".join(map(str, args)))
    exec(compile(code_of(converted), "<generated>", "exec"), namespace)
    return namespace[converted.function.name.value]


def run(converted: ScriptFunction, **arguments):
    """Call the converted function; what it returns and what it printed."""
    printed: list[str] = []
    result = load(converted, printed)(**arguments)
    return result, printed


def body_statements(converted: ScriptFunction) -> list[ast.stmt]:
    return ast.parse(code_of(converted)).body[0].body


def assert_converted(converted: ScriptFunction) -> None:
    assert not [d for d in converted.diagnostics if d.code == "P206"], converted.diagnostics


def assert_fallback(converted: ScriptFunction, reason: str) -> None:
    assert [d.code for d in converted.diagnostics] == ["P206"]
    assert "load-data" in converted.diagnostics[0].message
    assert reason in converted.diagnostics[0].message, converted.diagnostics[0].message
    assert converted.arguments == [] and converted.imports == set()
    assert converted.returns_outputs is False
    assert converted.function.params.params == ()
    statements = body_statements(converted)
    assert len(statements) == 1 and isinstance(statements[0], ast.Raise)
    with pytest.raises(NotImplementedError, match="load-data"):
        load(converted)()


# --- plain scripts ----------------------------------------------------------------------------


def test_script_without_expressions_keeps_code_and_comments():
    converted = convert("# add one\nx = 41\n\n\nprint(x + 1)  # the answer\n")
    assert_converted(converted)
    assert converted.arguments == [] and converted.imports == set()
    assert converted.diagnostics == [] and converted.returns_outputs is False
    code = code_of(converted)
    assert code.startswith("def load_data():\n    # add one\n    x = 41\n")
    assert "    print(x + 1)  # the answer\n" in code
    assert run(converted) == (None, ["42"])


def test_literal_source_is_the_script():
    converted = script_task("f", Literal(value="print('plain')"), task_id="t")
    assert run(converted) == (None, ["plain"])


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n"])
def test_empty_script_gives_pass(text):
    converted = convert(text)
    assert_converted(converted)
    assert [type(s) for s in body_statements(converted)] == [ast.Pass]
    assert "# and another" in code_of(converted) or "another" not in text
    assert run(converted) == (None, [])


def test_nested_blocks_are_reindented_tabs_bom_and_unicode():
    text = "\ufeffdef greet(who):\n\tif who:\n\t\treturn 'héllo ' + who\n\nprint(greet('wörld'))\n"
    converted = convert(text)
    assert_converted(converted)
    assert run(converted) == (None, ["héllo wörld"])


def test_crlf_line_endings():
    converted = convert("x = 1\r\nif x:\r\n    print('{{ inputs.name }}', x)\r\n")
    assert_converted(converted)
    assert "\r" not in code_of(converted)
    assert run(converted, name="Bob") == (None, ["Bob 1"])


# --- expressions become parameters ------------------------------------------------------------

NASTY = 'O\'Brien "q" {x} \\ {{ y }}\n'


@pytest.mark.parametrize(
    "literal, expected",
    [
        ('"Hello {{ inputs.name }}!"', "Hello <V>!"),
        ("'Hello {{ inputs.name }}!'", "Hello <V>!"),
        ('"""Hello\n{{ inputs.name }}!"""', "Hello\n<V>!"),
        ("'''{ {{ inputs.name }} }'''", "{ <V> }"),
        ('f"{greeting} {{ inputs.name }}!"', "hi <V>!"),
        ('f"{greeting:>4} {{ inputs.name }}"', "  hi <V>"),
        ('r"C:\\dir\\{{ inputs.name }}\\n"', "C:\\dir\\<V>\\n"),
        ('rf"{greeting}\\{{ inputs.name }}"', "hi\\<V>"),
        ('"tab\\t{{ inputs.name }}\\N{BULLET}\\x41"', "tab\t<V>\N{BULLET}A"),
        ('u"{{ inputs.name }}"', "<V>"),
        ('"a" "{{ inputs.name }}"', "a<V>"),
        ('"{{ inputs.name }}{{ inputs.name }}"', "<V><V>"),
    ],
)
def test_input_inside_string_literals(literal, expected):
    converted = convert(f'greeting = "hi"\nprint({literal})\n')
    assert_converted(converted)
    assert converted.arguments == [("name", Param(name="name"))]
    assert run(converted, name=NASTY) == (None, [expected.replace("<V>", NASTY)])


def test_input_in_code_position_is_passed_as_a_value():
    converted = convert("n = {{ inputs.count }}\nprint(n * 2, {{ inputs.count }} + 1)\n")
    assert converted.arguments == [("count", Param(name="count"))]
    assert run(converted, count=21) == (None, ["42 22"])


def test_same_reference_twice_is_one_parameter():
    converted = convert('a = "{{ inputs.x }}"\nb = {{ inputs.x }}\nprint(a, b, "{{inputs.x}}")\n')
    assert converted.arguments == [("x", Param(name="x"))]
    assert run(converted, x=7) == (None, ["7 7 7"])


def test_outputs_of_other_tasks_and_json_filter():
    rows = TaskOutput(task="extract", path=("vars", "rows"))
    converted = convert(
        "rows = {{ outputs.extract.vars.rows | json }}\n"
        'print(len(rows), "{{ outputs.extract.vars.rows | json }}", {{ outputs.other.value }})\n'
    )
    assert_converted(converted)
    # In code the script reads the value itself; in a string it reads the JSON text.
    assert converted.arguments == [
        ("extract_rows", rows),
        ("rows_json", Filter(value=rows, name="json")),
        ("other_value", TaskOutput(task="other", path=("value",))),
    ]
    result = run(converted, extract_rows=[1, 2, 3], rows_json="[1,2,3]", other_value=5)
    assert result == (None, ["3 [1,2,3] 5"])


def test_loop_item_and_variables():
    converted = convert("print({{ taskrun.value }}, '{{ vars.env }}', {{ parent.taskrun.value }})")
    assert [name for name, _ in converted.arguments] == ["item", "env", "parent_item"]
    assert run(converted, item=1, env="prod", parent_item=2) == (None, ["1 prod 2"])


def test_names_never_clash_with_the_script():
    converted = convert(
        'name = "local"\n'
        "def f(rows):\n    return rows\n"
        'print(name, "{{ inputs.name }}", f({{ outputs.extract.vars.rows }}), '
        "{{ inputs.type }}, {{ inputs.class }}, {{ inputs['2x'] }})\n"
    )
    assert_converted(converted)
    names = [name for name, _ in converted.arguments]
    assert names == ["input_name", "extract_rows", "input_type", "input_class", "arg_2x"]
    _, printed = run(
        converted, input_name="Bob", extract_rows=3, input_type=1, input_class=2, arg_2x=4
    )
    assert printed == ["local Bob 3 1 2 4"]


def test_secrets_are_loaded_in_the_body_not_passed():
    FakeSecret.loaded.clear()
    converted = convert(
        "key = '{{ secret('API_KEY') }}'\n"
        'headers = {"Authorization": "Bearer {{ secret(\'API_KEY\') }}"}\n'
        "token = {{ secret('db.token') }}\n"
        'print(key, headers["Authorization"], token)\n'
    )
    assert_converted(converted)
    assert converted.arguments == []
    assert converted.imports == {("prefect.blocks.system", "Secret")}
    first = body_statements(converted)[0]
    assert ast.unparse(first) == "api_key = Secret.load('api-key').get()"
    result = run(converted)
    assert result == (None, ["value-of-api-key Bearer value-of-api-key value-of-db-token"])
    assert FakeSecret.loaded == ["api-key", "db-token"]
    assert {d.code for d in converted.diagnostics} == {"P205"}


def test_secret_name_slug():
    assert secret_block_name("API_KEY") == "api-key"
    assert secret_block_name("my..Secret--2") == "my-secret-2"
    assert secret_block_name("__") == "secret"


# --- the Kestra API ---------------------------------------------------------------------------


def test_one_final_outputs_call_becomes_return():
    converted = convert(
        'from kestra import Kestra\n\nrows = [1, 2]\nKestra.outputs({"count": len(rows)})\n'
    )
    assert_converted(converted)
    assert converted.returns_outputs is True
    assert isinstance(body_statements(converted)[-1], ast.Return)
    assert "kestra" not in code_of(converted).lower()
    assert run(converted) == ({"count": 2}, [])


def test_several_outputs_calls_are_merged():
    converted = convert(
        "import kestra\n"
        'kestra.Kestra.outputs({"a": 1, "b": 1})\n'
        "def more():\n"
        '    kestra.Kestra.outputs({"b": 2})\n'
        "more()\nprint('done')\n"
    )
    assert_converted(converted)
    assert converted.returns_outputs is True
    assert run(converted) == ({"a": 1, "b": 2}, ["done"])


def test_outputs_inside_an_if():
    converted = convert(
        "from kestra import Kestra\nif {{ inputs.flag }}:\n    Kestra.outputs({'seen': True})\n"
    )
    assert converted.returns_outputs is True
    assert run(converted, flag=True) == ({"seen": True}, [])
    assert run(converted, flag=False) == ({}, [])


def test_outputs_accumulator_does_not_clash():
    converted = convert(
        "from kestra import Kestra\noutputs = 3\nKestra.outputs({'a': outputs})\nprint(outputs)\n"
    )
    assert run(converted) == ({"a": 3}, ["3"])
    assert "kestra_outputs = {}" in code_of(converted)


def test_logger_becomes_get_run_logger():
    logger = FakeLogger()
    converted = convert(
        "from kestra import Kestra\nlog = Kestra.logger()\nlog.info('hi {{ inputs.name }}')\n"
    )
    assert_converted(converted)
    assert converted.imports == {("prefect", "get_run_logger")}
    load(converted, get_run_logger=lambda: logger)(name="Bob")
    assert logger.messages == ["hi Bob"]


def test_metrics_are_removed_with_a_diagnostic():
    converted = convert(
        "from kestra import Kestra\n"
        "# count the rows\n"
        "Kestra.counter('rows', 3, {})\n"
        "if True: Kestra.timer('t', 1.5)\n"
        "print('after')\n"
    )
    assert_converted(converted)
    assert [d.code for d in converted.diagnostics] == ["P203", "P203"]
    assert "Kestra metric" in converted.diagnostics[0].message
    assert "counter" not in code_of(converted) and "# count the rows" in code_of(converted)
    assert run(converted) == (None, ["after"])


def test_main_block_is_unwrapped():
    converted = convert(
        "def main():\n    print('main ran')\n\n"
        'if __name__ == "__main__":  # entry point\n    main()\n'
    )
    assert_converted(converted)
    assert not any(isinstance(s, ast.If) for s in body_statements(converted))
    assert "# entry point" in code_of(converted)
    assert run(converted) == (None, ["main ran"])


def test_globals_follow_the_names_into_the_function():
    converted = convert(
        "global total\n"
        "total = 0\n"
        "def add(n):\n    global total\n    total += n\n"
        "add(2)\nadd(3)\nprint(total)\n"
    )
    assert_converted(converted)
    assert "nonlocal total" in code_of(converted) and "global" not in code_of(converted)
    assert run(converted) == (None, ["5"])


# --- fallbacks --------------------------------------------------------------------------------


def test_template_block_falls_back_with_the_text_in_comments():
    text = "{% if inputs.verbose %}\nprint('verbose')\n{% endif %}\nprint('done')\n"
    converted = convert(text)
    assert_fallback(converted, "{% if inputs.verbose %}")
    comments = re.findall(r"^    # ?(.*)$", code_of(converted), re.M)
    assert comments == text.splitlines()


def test_raw_block_and_template_comment_are_rendered():
    converted = convert('print({% raw %}"{{ literally }}"{% endraw %}{# note #})')
    assert_converted(converted)
    assert run(converted) == (None, ["{{ literally }}"])


@pytest.mark.parametrize(
    "text, reason",
    [
        ("def broken(:\n    pass\n", "not valid Python 3"),
        ("print 'python 2'\n", "not valid Python 3"),
        ("# greet {{ inputs.name }}\nprint('hi')\n", "{{ inputs.name }}"),
        ("x__{{ inputs.name }} = 1\n", "{{ inputs.name }}"),
        ("import os\nos.{{ inputs.attr }}()\n", "{{ inputs.attr }}"),
        ("import {{ inputs.module }}\n", "{{ inputs.module }}"),
        ("{{ inputs.target }} = 1\n", "{{ inputs.target }}"),
        ("print(b'{{ inputs.name }}')\n", "bytes literal"),
        ("print('\\1{{ inputs.name }}')\n", "escape sequence"),
        ("{{ inputs.code }}\n", "whole statement"),
        ("from os import *\n", "import *"),
        ("from __future__ import annotations\n", "__future__"),
        ("return 1\n", "return"),
        ("print({{ inputs.a }\n", "{{ inputs.a }"),
        ("print('{{ secret(\"A\") | upper }}')\n", "secret"),
        ("from kestra import Kestra\nfn = Kestra.outputs\n", "Kestra"),
        ("from kestra import Kestra\nKestra.something()\n", "Kestra.something()"),
        ("x = 1\ndef f():\n    x = 2\n    def g():\n        global x\n", "global x"),
    ],
)
def test_unconvertible_scripts_fall_back(text, reason):
    assert_fallback(convert(text), reason)


def test_fallback_comments_cannot_leave_the_comment():
    text = "{% if x %}\nline\rbreak\u2028sep\x0cfeed\x00nul\r\nend\n"
    converted = convert(text)
    assert_fallback(converted, "{% if x %}")
    code = code_of(converted)
    assert "\r" not in code and "\u2028" not in code and "\x00" not in code
    assert "# line\\rbreak\\u2028sep\\x0cfeed\\x00nul" in code


def test_fallback_keeps_a_very_long_script():
    text = "{% if a %}{% endif %}\n" + "x = 1\n" * 20_000
    converted = convert(text)
    assert_fallback(converted, "{% if a %}")
    assert code_of(converted).count("# x = 1") == 20_000


def test_deeply_nested_script_falls_back():
    assert_fallback(convert("x = " + "+".join(["1"] * 100_000) + "\n"), "cannot be parsed")


def test_long_script_converts():
    text = "".join(f"v{i} = '{{{{ inputs.p{i % 7} }}}}' * {i}\n" for i in range(2_000))
    converted = convert(text + "print(len(v1999))\n")
    assert_converted(converted)
    assert [name for name, _ in converted.arguments] == [f"p{i}" for i in range(7)]
    assert run(converted, **{f"p{i}": "ab" for i in range(7)}) == (None, ["3998"])


def test_template_not_text_falls_back():
    converted = script_task("f", Param(name="code"), task_id="load-data")
    assert_fallback(converted, "value of an expression")


# --- values are data, never code --------------------------------------------------------------

PIECES = st.sampled_from(
    ["a", " ", "'", '"', "\\\\", "\\n", "\\t", "\\x41", "\\N{BULLET}", "\\'", '\\"']
    + ["{", "}", "}}", "é", "#", "\n", "\\1", "%s", "\\\n", "0"]
)
LITERAL_TEXT = st.lists(PIECES, max_size=8).map("".join)
OCTAL_AT_END = re.compile(r"(?<!\\)(?:\\\\)*\\[0-7]{1,2}\Z")


def _literal(prefix: str, quote: str, body: str) -> str | None:
    try:
        value = ast.literal_eval(f"{prefix}{quote}{body}{quote}")
    except (SyntaxError, ValueError):
        return None
    return value if isinstance(value, str) else None


@given(
    prefix=st.sampled_from(["", "r", "u", "R"]),
    quote=st.sampled_from(['"', "'", '"""', "'''"]),
    before=LITERAL_TEXT,
    after=LITERAL_TEXT,
    value=st.text(max_size=30),
)
def test_values_in_strings_are_data(prefix, quote, before, after, value):
    head, tail = _literal(prefix, quote, before), _literal(prefix, quote, after)
    assume(head is not None and tail is not None)
    assume(_literal(prefix, quote, before + "X" + after) is not None)
    text = f"print({prefix}{quote}{before}{{{{ inputs.name }}}}{after}{quote})\n"
    source, _ = parse_text(text)
    assume(
        isinstance(source, Template)
        and [type(p).__name__ for p in source.parts if not isinstance(p, str)] == ["Interpolation"]
    )
    converted = script_task("load_data", source, task_id="load-data")
    if not prefix.lower().count("r") and OCTAL_AT_END.search(before):
        assert_fallback(converted, "escape sequence")  # Kestra would extend the escape
        return
    assert_converted(converted)
    assert converted.arguments == [("name", Param(name="name"))]
    (statement,) = body_statements(converted)
    call = statement.value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    assert call.func.id == "print" and len(call.args) == 1
    fields = [v for v in call.args[0].values if isinstance(v, ast.FormattedValue)]
    assert [ast.unparse(f.value) for f in fields] == ["name"]
    assert run(converted, name=value) == (None, [head + value + tail])


@given(value=st.text(max_size=40))
def test_values_in_code_are_data(value):
    converted = convert("x = {{ inputs.name }}\nprint(x, {{ inputs.name | json }})\n")
    assert [type(s) for s in body_statements(converted)] == [ast.Assign, ast.Expr]
    assert run(converted, name=value) == (None, [f"{value} {value}"])


TOKENS = st.sampled_from(
    ["x", " ", "\n", "\r\n", "\r", "\t", "'", '"', '"""', "\\", "{", "}", "(", ")", "=", ":"]
    + ["{{ inputs.a }}", "{{ secret('K') }}", "{% if x %}", "{# c #}", "f", "b", "r", "#"]
    + ["from kestra import Kestra\n", "Kestra.outputs(", "Kestra.logger()", "global ", "    "]
    + ["def g():\n", "if __name__ == '__main__':\n", "import ", "\\N{", "1", "\x0c", "\x00"]
    + ["\u2028", "\ufeff", "é", "print(", ",", "return ", "yield ", "await ", "nonlocal "]
    + ["{{ outputs.t.vars.rows | json }}", "{{ taskrun.value }}", "Kestra.counter('a', 1)\n"]
)


@given(st.lists(TOKENS, max_size=30).map("".join))
def test_any_script_gives_a_function_that_compiles(text):
    converted = convert(text)
    compile(code_of(converted), "<generated>", "exec")
    fallback = [d for d in converted.diagnostics if d.code == "P206"]
    assert not fallback or converted.arguments == []
    params = [p.name.value for p in converted.function.params.params]
    assert params == [name for name, _ in converted.arguments]
