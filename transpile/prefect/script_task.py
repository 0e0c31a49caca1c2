"""A Kestra python ``Script`` task → the body of a Prefect ``@task`` function.

Kestra renders the script's Pebble expressions (``{{ inputs.name }}``, ``{{ secret('X') }}``)
into its text and then runs it with python. Splicing a value into Python source is code
injection, so the conversion goes the other way round: every ``{{ }}`` becomes a parameter of
the task and the flow passes its value as data.

1. Each interpolation is replaced by a unique placeholder identifier and the text is parsed
   (CPython's parser first, as a guard against inputs libcst cannot take, then libcst, which
   keeps comments and formatting).
2. A placeholder used as a value becomes the parameter's name; one inside a string literal
   turns the literal into an f-string with the parameter as a replacement field (the user's own
   literal text is kept, escapes included). Anywhere else (a comment, part of a name, an
   import) the script is not converted.
3. The Kestra API is rewritten: ``Kestra.outputs(x)`` calls make the function return the
   outputs, ``Kestra.logger()`` becomes ``get_run_logger()``, metrics are dropped with a
   diagnostic. ``if __name__ == "__main__":`` blocks are unwrapped, module-level ``global``
   statements dropped, ``global`` in nested functions turned into ``nonlocal`` where the name
   now lives in the task function.
4. Secrets are never parameters (their values would show in run parameters): the body loads
   them with ``Secret.load(…).get()``.

What cannot be converted (template blocks, invalid Python, constructs that only work at module
level) becomes a function that keeps the script in comments and raises
``NotImplementedError``, with a P206 diagnostic. User code is parsed and compiled, never run.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import symtable
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    ClassScope,
    ExpressionContext,
    ExpressionContextProvider,
    GlobalScope,
    ScopeProvider,
)

from ir import codes
from ir.base import Span
from ir.diagnostics import Diagnostic
from ir.expressions import (
    KV,
    Attr,
    Call,
    Env,
    ExecutionInfo,
    Expr,
    Filter,
    Index,
    Interpolation,
    Literal,
    LoopItem,
    Now,
    Param,
    Raw,
    Secret,
    TaskOutput,
    Template,
    Var,
    walk,
)

from .pyexpr import comment_lines, pebble_text, secret_block_name

__all__ = ["ScriptFunction", "script_task"]


@dataclass
class ScriptFunction:
    """A python script converted to an undecorated function.

    ``function`` is ``def <name>(<parameters>): <body>``; ``arguments`` pairs each parameter,
    in order, with the IR expression whose value the flow passes; ``imports`` lists the
    module-level ``(module, name)`` imports the body needs beyond the script's own;
    ``returns_outputs`` tells whether the function returns the dict of Kestra outputs."""

    function: cst.FunctionDef
    arguments: list[tuple[str, Expr]] = field(default_factory=list)
    imports: set[tuple[str, str]] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    returns_outputs: bool = False


def script_task(
    name: str, source: Expr, *, task_id: str | None = None, span: Span | None = None
) -> ScriptFunction:
    """Convert the python script ``source`` (a :class:`Template` or a :class:`Literal`) of the
    Kestra task ``task_id`` to a function called ``name``. Never raises on user input: a script
    that cannot be converted gives a function raising ``NotImplementedError`` and a P206."""
    task_id = task_id or name
    try:
        return _Converter(name, span, _with_placeholders(source)).convert()
    except _Unconvertible as exc:
        return _fallback(name, task_id, source, span, exc.reason)
    except (RecursionError, MemoryError):
        return _fallback(name, task_id, source, span, "the script is nested too deeply")


class _Unconvertible(Exception):
    """The script cannot become a function body; ``reason`` says why (for P206)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- the template: text with placeholders -----------------------------------------------------

_JSON_FILTERS = frozenset({"json", "toJson"})
_RAW_BLOCK = re.compile(r"\{%\s*(raw|verbatim)\s*%\}(.*)\{%\s*end\1\s*%\}\Z", re.S)


@dataclass
class _Text:
    """The script with each interpolation replaced by a placeholder identifier."""

    text: str
    pattern: re.Pattern[str]
    interpolations: dict[str, Interpolation]


def _template_parts(source: Expr) -> Sequence[str | Interpolation | Raw]:
    if isinstance(source, Literal):
        return ("" if source.value is None else str(source.value),)
    if isinstance(source, Template):
        return source.parts
    raise _Unconvertible("the whole script is the value of an expression")


def _raw_text(part: Raw) -> str:
    """What Pebble renders for a part kept raw, when it renders plain text."""
    if part.text.startswith("{#") and part.text.endswith("#}"):
        return ""  # a template comment renders as nothing
    block = _RAW_BLOCK.match(part.text)
    if block is not None:
        return block.group(2)
    raise _Unconvertible(f"the template part {_short(part.text)} is rendered by Kestra first")


def _placeholder_pattern(literal_text: str) -> tuple[str, re.Pattern[str]]:
    n = 0
    while True:
        prefix = "__flowbridge_arg_" if n == 0 else f"__flowbridge{n}_arg_"
        if prefix not in literal_text:
            return prefix, re.compile(re.escape(prefix) + r"\d+__")
        n += 1


def _with_placeholders(source: Expr) -> _Text:
    parts = [
        p if isinstance(p, (str, Interpolation)) else _raw_text(p) for p in _template_parts(source)
    ]
    literal_text = "".join(p for p in parts if isinstance(p, str))
    prefix, pattern = _placeholder_pattern(literal_text)
    chunks: list[str] = []
    interpolations: dict[str, Interpolation] = {}
    for part in parts:
        if isinstance(part, Interpolation):
            placeholder = f"{prefix}{len(interpolations)}__"
            interpolations[placeholder] = part
            part = placeholder
        chunks.append(part)
    text = "".join(chunks).removeprefix("\ufeff")
    # Python reads \r\n and \r as \n, in string literals too.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(pattern.findall(text)) != len(interpolations):
        raise _Unconvertible("the script text cannot be told apart from its expressions")
    return _Text(text, pattern, interpolations)


# --- parsing and module-level checks ----------------------------------------------------------


def _parse(text: str) -> tuple[cst.Module, symtable.SymbolTable]:
    """libcst's module and CPython's symbol table of ``text``. CPython's parser looks first:
    it has hard limits where libcst's native parser can overflow the C stack or hang."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the script's own warnings are not ours to print
            tree = ast.parse(text)
            table = symtable.symtable(text, "<script>", "exec")
    except SyntaxError as exc:
        raise _Unconvertible(f"it is not valid Python 3 ({exc.msg}, line {exc.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _Unconvertible(f"it cannot be parsed ({_short(str(exc))})") from None
    _check_module_level(tree)
    try:
        return cst.parse_module(text), table
    except cst.ParserSyntaxError as exc:
        raise _Unconvertible(f"it is not valid Python 3 ({_short(exc.message)})") from None


def _top_level(tree: ast.Module) -> Iterator[ast.AST]:
    """The nodes of the script that run in the module's own scope."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _check_module_level(tree: ast.Module) -> None:
    """Reject what only works at module level (or changes meaning inside a function)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                raise _Unconvertible(f"'from {node.module} import *' is not allowed in a function")
            if node.module == "__future__":
                raise _Unconvertible("a __future__ import only works at module level")
    for node in _top_level(tree):
        if isinstance(node, ast.Return):
            raise _Unconvertible("it has a return statement outside a function")
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            raise _Unconvertible("it yields outside a function")
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            raise _Unconvertible("it awaits outside a function")


def _script_names(table: symtable.SymbolTable, pattern: re.Pattern[str]) -> set[str]:
    """Every name any scope of the script binds or reads."""
    names: set[str] = set()
    stack = [table]
    while stack:
        scope = stack.pop()
        names.update(scope.get_identifiers())
        stack.extend(scope.get_children())
    return {n for n in names if not pattern.fullmatch(n)}


def _module_locals(table: symtable.SymbolTable) -> set[str]:
    """Names bound at the script's top level: locals of the task function once converted."""
    return {s.get_name() for s in table.get_symbols() if s.is_local()}


# --- parameter names --------------------------------------------------------------------------

_BUILTINS = frozenset(dir(builtins))
_GENERIC_SEGMENTS = frozenset({"value", "values", "vars", "outputs"})


def _snake(text: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower()
    return f"arg_{name}" if name[:1].isdigit() else name


def _candidates(expr: Expr) -> list[str]:
    """Parameter names for ``expr``, the most readable first."""
    if isinstance(expr, Param):
        return [expr.name, f"input_{expr.name}"]
    if isinstance(expr, Var):
        return [expr.name, f"var_{expr.name}"]
    if isinstance(expr, Env):
        return [expr.name, f"env_{expr.name}"]
    if isinstance(expr, KV):
        return [expr.key, f"kv_{expr.key}"]
    if isinstance(expr, Secret):
        return [expr.name, f"{expr.name}_secret"]
    if isinstance(expr, TaskOutput):
        return _output_candidates(expr)
    if isinstance(expr, LoopItem):
        word = "item" if expr.field == "value" else expr.field
        return [word, f"loop_{word}"] if expr.depth == 0 else [f"parent_{word}"]
    if isinstance(expr, Attr):
        return [expr.name, f"{_candidates(expr.obj)[0]}_{expr.name}"]
    if isinstance(expr, Index):
        key = expr.index.value if isinstance(expr.index, Literal) else None
        outer = _candidates(expr.obj)
        return [str(key), f"{outer[0]}_{key}"] if isinstance(key, (str, int)) else outer
    if isinstance(expr, Filter):
        return [f"{_candidates(expr.value)[0]}_{expr.name}"]
    if isinstance(expr, ExecutionInfo):
        return ["_".join((expr.root, *expr.path))]
    if isinstance(expr, Now):
        return ["now"]
    if isinstance(expr, Call):
        return _candidates(expr.args[0]) if expr.args else [expr.name]
    return ["value"]


def _output_candidates(expr: TaskOutput) -> list[str]:
    path = expr.path[1:] if expr.path[:1] == ("vars",) else expr.path
    if not path:
        return [expr.task, f"{expr.task}_outputs"]
    qualified = f"{expr.task}_{path[-1]}"
    return [qualified] if path[-1] in _GENERIC_SEGMENTS else [path[-1], qualified]


class _Names:
    """Allocates readable names that no scope of the script uses."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)

    def take(self, candidates: list[str]) -> str:
        cleaned = [name for name in map(_snake, candidates) if name] or ["value"]
        for name in cleaned:
            if self._free(name):
                return self._keep(name)
        n = 2
        while not self._free(f"{cleaned[-1]}_{n}"):
            n += 1
        return self._keep(f"{cleaned[-1]}_{n}")

    def _free(self, name: str) -> bool:
        return not (
            keyword.iskeyword(name)
            or name in self.taken
            or name in _BUILTINS
            or name.startswith("__flowbridge")
        )

    def _keep(self, name: str) -> str:
        self.taken.add(name)
        return name


# --- placeholders → parameters ----------------------------------------------------------------


def _argument(expr: Expr, in_code: bool) -> Expr:
    """The value passed for an interpolation: in code, ``x | json`` renders ``x`` as a Python
    literal, so the script gets ``x`` itself."""
    if (
        in_code
        and isinstance(expr, Filter)
        and expr.name in _JSON_FILTERS
        and not expr.args
        and not expr.kwargs
    ):
        return expr.value
    return expr


_OCTAL = "01234567"
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}


def _escape_end(text: str, i: int) -> int | None:
    """Where the escape sequence at ``text[i] == '\\'`` ends; None when the text ends first."""
    if i + 1 >= len(text):
        return None
    kind = text[i + 1]
    if kind == "N" and text.startswith("{", i + 2):
        close = text.find("}", i + 3)
        return close + 1 if close >= 0 else None
    if kind in _HEX_DIGITS:
        end = i + 2 + _HEX_DIGITS[kind]
        return end if end <= len(text) else None
    if kind in _OCTAL:
        end = i + 2
        while end < min(len(text), i + 4) and text[end] in _OCTAL:
            end += 1
        return end
    return i + 2


def _fstring_text(text: str, raw: bool, double_braces: bool, before_value: bool) -> str:
    """The user's literal text ``text`` as f-string text: braces doubled when it came from a
    plain string (not those of ``\\N{…}``). Raises when an escape sequence is cut by the
    value that follows, since Kestra would render the value into the escape."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and not raw:
            end = _escape_end(text, i)
            cut_octal = end == len(text) and text[i + 1] in _OCTAL and end - i < 4
            if end is None or (before_value and cut_octal):
                raise _Unconvertible("an expression is inside an escape sequence of a string")
            out.append(text[i:end])
            i = end
            continue
        out.append(char * 2 if double_braces and char in "{}" else char)
        i += 1
    return "".join(out)


class _Substitute(cst.CSTTransformer):
    """Placeholders used as values become parameter names; inside string literals, f-string
    replacement fields. Placeholders anywhere else are left for the caller to find."""

    METADATA_DEPENDENCIES = (ExpressionContextProvider,)

    def __init__(
        self,
        pattern: re.Pattern[str],
        bind: Callable[[str, bool], str],
        describe: Callable[[str], str],
    ) -> None:
        super().__init__()
        self.pattern = pattern
        self.bind = bind
        self.describe = describe
        self.not_values: set[int] = set()
        self.raw_fstrings: list[bool] = []

    # Names that are not values although libcst reads them in a load context.
    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> bool:
        return False

    def visit_Nonlocal(self, node: cst.Nonlocal) -> bool:
        return False

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.not_values.add(id(node.keyword))

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self.not_values.add(id(node.name))

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self.not_values.add(id(node.name))

    def visit_MatchKeywordElement(self, node: cst.MatchKeywordElement) -> None:
        self.not_values.add(id(node.key))

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self.not_values.add(id(node.rest))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if not self.pattern.fullmatch(updated_node.value) or id(original_node) in self.not_values:
            return updated_node
        context = self.get_metadata(ExpressionContextProvider, original_node, None)
        if context is not ExpressionContext.LOAD:
            return updated_node
        return updated_node.with_changes(value=self.bind(updated_node.value, True))

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        value = original_node.value
        if isinstance(value, cst.Name) and self.pattern.fullmatch(value.value):
            raise _Unconvertible(f"{self.describe(value.value)} renders a whole statement")
        return updated_node

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        if not self.pattern.search(updated_node.value):
            return updated_node
        prefix, quote = updated_node.prefix, updated_node.quote
        if "b" in prefix.lower():
            raise _Unconvertible("an expression is inside a bytes literal")
        raw = "r" in prefix.lower()
        body = updated_node.value[len(prefix) + len(quote) : -len(quote)]
        return cst.FormattedString(
            parts=self._split(body, raw, double_braces=True),
            start="".join(c for c in prefix if c in "rR") + "f" + quote,
            end=quote,
            lpar=updated_node.lpar,
            rpar=updated_node.rpar,
        )

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.raw_fstrings.append("r" in node.prefix.lower())

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        raw = self.raw_fstrings.pop()
        return updated_node.with_changes(parts=self._split_parts(updated_node.parts, raw))

    def leave_FormattedStringExpression(
        self,
        original_node: cst.FormattedStringExpression,
        updated_node: cst.FormattedStringExpression,
    ) -> cst.FormattedStringExpression:
        value = original_node.expression
        if original_node.equal is not None and isinstance(value, cst.Name):
            if self.pattern.fullmatch(value.value):
                raise _Unconvertible(f"{self.describe(value.value)} is printed with '='")
        if updated_node.format_spec is None:
            return updated_node
        spec = self._split_parts(updated_node.format_spec, self.raw_fstrings[-1])
        return updated_node.with_changes(format_spec=spec)

    def _split_parts(
        self, parts: Sequence[cst.BaseFormattedStringContent], raw: bool
    ) -> list[cst.BaseFormattedStringContent]:
        out: list[cst.BaseFormattedStringContent] = []
        for part in parts:
            if isinstance(part, cst.FormattedStringText) and self.pattern.search(part.value):
                out.extend(self._split(part.value, raw, double_braces=False))
            else:
                out.append(part)
        return out

    def _split(
        self, text: str, raw: bool, double_braces: bool
    ) -> list[cst.BaseFormattedStringContent]:
        """String text with placeholders → f-string parts: text and replacement fields."""
        parts: list[cst.BaseFormattedStringContent] = []
        pos = 0
        for match in self.pattern.finditer(text):
            if match.start() > pos:
                piece = _fstring_text(text[pos : match.start()], raw, double_braces, True)
                parts.append(cst.FormattedStringText(piece))
            name = self.bind(match.group(), False)
            parts.append(cst.FormattedStringExpression(expression=cst.Name(name)))
            pos = match.end()
        if pos < len(text):
            parts.append(
                cst.FormattedStringText(_fstring_text(text[pos:], raw, double_braces, False))
            )
        return parts


# --- statement removal that keeps comments ----------------------------------------------------


class _Remover(cst.CSTTransformer):
    """A transformer that may remove small statements: a line left empty disappears, its
    leading comments move to the next statement of its block."""

    def __init__(self) -> None:
        super().__init__()
        self.emptied: dict[int, Sequence[cst.EmptyLine]] = {}

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if not updated_node.body:
            self.emptied[id(original_node)] = original_node.leading_lines
        elif len(updated_node.body) < len(original_node.body):
            last = updated_node.body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(body=[*updated_node.body[:-1], last])
        return updated_node

    def _keep_comments(
        self, original: Sequence[cst.BaseStatement], updated: Sequence[cst.BaseStatement]
    ) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
        kept = iter(updated)
        body: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []
        for statement in original:
            if id(statement) in self.emptied:
                carried.extend(self.emptied[id(statement)])
                continue
            new = next(kept)
            if carried:
                new = new.with_changes(leading_lines=[*carried, *new.leading_lines])
                carried = []
            body.append(new)
        return body, carried

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body, carried = self._keep_comments(original_node.body, updated_node.body)
        return updated_node.with_changes(body=body, footer=[*carried, *updated_node.footer])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body, carried = self._keep_comments(original_node.body, updated_node.body)
        return updated_node.with_changes(body=body, footer=[*carried, *updated_node.footer])


def _without(names: Sequence[cst.ImportAlias], drop: Callable[[cst.ImportAlias], bool]):
    kept = [alias for alias in names if not drop(alias)]
    if kept and len(kept) < len(names):
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return kept


# --- the Kestra API ---------------------------------------------------------------------------


class _KestraImports(cst.CSTVisitor):
    """Which names stand for the ``Kestra`` class and the ``kestra`` module."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: set[str] = set()
        self.modules: set[str] = set()

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = get_full_name_for_node(alias.name) or ""
            if name == "kestra":
                self.modules.add(alias.evaluated_alias or name)
            elif name.startswith("kestra."):
                raise _Unconvertible(f"it imports {name}")

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = get_full_name_for_node(node.module) if node.module is not None else None
        if node.relative or module is None or module.split(".")[0] != "kestra":
            return
        for alias in node.names if isinstance(node.names, Sequence) else ():
            if module != "kestra" or alias.evaluated_name != "Kestra":
                raise _Unconvertible(f"it imports {alias.evaluated_name} from {module}")
            self.classes.add(alias.evaluated_alias or "Kestra")

    @property
    def aliases(self) -> set[str]:
        return self.classes | self.modules

    def method(self, node: cst.BaseExpression) -> str | None:
        """``m`` when ``node`` is a call ``Kestra.m(…)``."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
            return None
        owner = node.func.value
        if isinstance(owner, cst.Name) and owner.value in self.classes:
            return node.func.attr.value
        if (
            isinstance(owner, cst.Attribute)
            and isinstance(owner.value, cst.Name)
            and owner.value.value in self.modules
            and owner.attr.value == "Kestra"
        ):
            return node.func.attr.value
        return None


class _CountOutputs(cst.CSTVisitor):
    def __init__(self, kestra: _KestraImports) -> None:
        super().__init__()
        self.kestra = kestra
        self.count = 0

    def visit_Call(self, node: cst.Call) -> None:
        if self.kestra.method(node) == "outputs":
            self.count += 1


def _count_outputs(module: cst.Module, kestra: _KestraImports) -> int:
    """How many ``Kestra.outputs(…)`` calls the script makes (in its text)."""
    if not kestra.aliases:
        return 0
    counter = _CountOutputs(kestra)
    module.visit(counter)
    return counter.count


def _final_outputs_call(module: cst.Module, kestra: _KestraImports) -> cst.Expr | None:
    """The ``Kestra.outputs(…)`` statement that ends the script, if one does."""
    if not module.body or not isinstance(module.body[-1], cst.SimpleStatementLine):
        return None
    last = module.body[-1].body[-1]
    if isinstance(last, cst.Expr) and kestra.method(last.value) == "outputs":
        return last
    return None


class _RewriteKestra(_Remover):
    """``Kestra.outputs`` → ``return``/``outputs.update``, ``Kestra.logger()`` →
    ``get_run_logger()``, metrics removed, kestra imports removed."""

    def __init__(
        self,
        kestra: _KestraImports,
        accumulator: str | None,
        final: cst.Expr | None,
        report: Callable[[], None],
    ) -> None:
        super().__init__()
        self.kestra = kestra
        self.accumulator = accumulator
        self.final = final
        self.report_metric = report
        self.statement_calls: set[int] = set()
        self.uses_logger = False

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import):
        names = _without(updated_node.names, lambda a: get_full_name_for_node(a.name) == "kestra")
        return updated_node.with_changes(names=names) if names else cst.RemoveFromParent()

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        module = get_full_name_for_node(updated_node.module) if updated_node.module else None
        if module == "kestra" and not updated_node.relative:
            return cst.RemoveFromParent()
        return updated_node

    def visit_Expr(self, node: cst.Expr) -> None:
        self.statement_calls.add(id(node.value))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        method = self.kestra.method(original_node)
        if method is None:
            return updated_node
        if method in ("outputs", "counter", "timer"):
            if id(original_node) not in self.statement_calls:
                raise _Unconvertible(f"the value of Kestra.{method}() is used")
            return updated_node
        if method == "logger" and not updated_node.args:
            self.uses_logger = True
            return updated_node.with_changes(func=cst.Name("get_run_logger"))
        raise _Unconvertible(f"Kestra.{method}() has no Prefect counterpart")

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr):
        method = self.kestra.method(updated_node.value)
        if method in ("counter", "timer"):
            self.report_metric()
            return cst.RemoveFromParent()
        if method != "outputs":
            return updated_node
        call = updated_node.value
        assert isinstance(call, cst.Call)
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            raise _Unconvertible("Kestra.outputs() takes one dict")
        if original_node is self.final:
            return cst.Return(value=call.args[0].value, semicolon=updated_node.semicolon)
        update = cst.Attribute(value=cst.Name(str(self.accumulator)), attr=cst.Name("update"))
        return updated_node.with_changes(value=call.with_changes(func=update))


class _KestraLeft(cst.CSTVisitor):
    """Finds uses of the Kestra class or module that were not rewritten."""

    def __init__(self, aliases: set[str]) -> None:
        super().__init__()
        self.aliases = aliases

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.aliases:
            raise _Unconvertible(f"it uses {node.value} in a way that has no Prefect counterpart")


# --- module-level statements ------------------------------------------------------------------


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    pair = (test.left, target.comparator)
    names = [s for s in pair if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [s for s in pair if isinstance(s, cst.SimpleString)]
    return len(names) == 1 and len(strings) == 1 and strings[0].evaluated_value == "__main__"


def _unwrap_main(module: cst.Module) -> cst.Module:
    """Top-level ``if __name__ == "__main__":`` blocks run under Kestra: keep their body."""
    body: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for statement in module.body:
        if not (isinstance(statement, cst.If) and _is_main_guard(statement.test)):
            if carried:
                statement = statement.with_changes(
                    leading_lines=[*carried, *statement.leading_lines]
                )
                carried = []
            body.append(statement)
            continue
        lines = [*carried, *statement.leading_lines]
        suite = statement.body
        if suite.header.comment is not None:
            lines.append(cst.EmptyLine(comment=suite.header.comment))
        if isinstance(suite, cst.SimpleStatementSuite):
            inner: list[cst.BaseStatement] = [
                cst.SimpleStatementLine(
                    body=suite.body, trailing_whitespace=suite.trailing_whitespace
                )
            ]
            carried = []
        else:
            inner = list(suite.body)
            carried = list(suite.footer)
        inner[0] = inner[0].with_changes(leading_lines=[*lines, *inner[0].leading_lines])
        body.extend(inner)
    return module.with_changes(body=body, footer=[*carried, *module.footer])


class _Globals(_Remover):
    """``global`` at top level does nothing: removed. In a nested function, a name bound at top
    level now lives in the task function: ``nonlocal``."""

    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, top_level: set[str]) -> None:
        super().__init__()
        self.top_level = top_level

    def leave_Global(self, original_node: cst.Global, updated_node: cst.Global):
        scope = self.get_metadata(ScopeProvider, original_node, None)
        if isinstance(scope, GlobalScope):
            return cst.RemoveFromParent()
        local = [item for item in updated_node.names if item.name.value in self.top_level]
        if not local or scope is None:
            return updated_node
        for item in local:
            self._check_enclosing(scope.parent, item.name.value)
        others = [item for item in updated_node.names if item.name.value not in self.top_level]
        nonlocal_ = cst.Nonlocal(names=_last_without_comma(local))
        if not others:
            return nonlocal_.with_changes(semicolon=updated_node.semicolon)
        return cst.FlattenSentinel(
            [nonlocal_, updated_node.with_changes(names=_last_without_comma(others))]
        )

    @staticmethod
    def _check_enclosing(scope, name: str) -> None:
        while scope is not None and not isinstance(scope, GlobalScope):
            if not isinstance(scope, ClassScope) and scope.assignments[name]:
                raise _Unconvertible(f"a nested function declares 'global {name}' that it hides")
            scope = scope.parent


def _last_without_comma(items: list[cst.NameItem]) -> list[cst.NameItem]:
    return [*items[:-1], items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]


# --- the converter ----------------------------------------------------------------------------


class _Converter:
    """One conversion: the names it allocates and what it reports."""

    def __init__(self, name: str, span: Span | None, text: _Text) -> None:
        self.name = name
        self.span = span
        self.text = text
        self.diagnostics: list[Diagnostic] = []
        self.imports: set[tuple[str, str]] = set()
        self.params: dict[Expr, str] = {}
        self.secrets: dict[str, str] = {}  # block name → local variable
        self.names = _Names(set())

    def convert(self) -> ScriptFunction:
        module, table = _parse(self.text.text)
        taken = _script_names(table, self.text.pattern) | {"Secret", "get_run_logger", self.name}
        self.names = _Names(taken)
        module = _unwrap_main(module)
        kestra = _KestraImports()
        if "kestra" in self.text.text:  # nothing to rewrite in a script that never names it
            module.visit(kestra)
        count = _count_outputs(module, kestra)
        returns_at_end = count == 1 and _final_outputs_call(module, kestra) is not None
        accumulator = None
        if count and not returns_at_end:
            accumulator = self.names.take(["outputs", "kestra_outputs"])
        module = self._substitute(module)
        module = self._rewrite_kestra(module, kestra, accumulator, returns_at_end)
        if "global" in self.text.text:
            globals_ = _Globals(_module_locals(table))
            module = cst.MetadataWrapper(module, unsafe_skip_copy=True).visit(globals_)
        function = self._function(module, accumulator)
        code = cst.Module(body=[function]).code
        self._check_no_placeholder(code)
        _check_compiles(code)
        return ScriptFunction(
            function=function,
            arguments=[(name, expr) for expr, name in self.params.items()],
            imports=self.imports,
            diagnostics=self.diagnostics,
            returns_outputs=count > 0,
        )

    def _rewrite_kestra(
        self,
        module: cst.Module,
        kestra: _KestraImports,
        accumulator: str | None,
        returns_at_end: bool,
    ) -> cst.Module:
        if not kestra.aliases:
            return module
        final = _final_outputs_call(module, kestra) if returns_at_end else None
        rewrite = _RewriteKestra(kestra, accumulator, final, self._report_metric)
        module = module.visit(rewrite)
        module.visit(_KestraLeft(kestra.aliases))
        if rewrite.uses_logger:
            self.imports.add(("prefect", "get_run_logger"))
        return module

    # placeholders

    def _substitute(self, module: cst.Module) -> cst.Module:
        if not self.text.interpolations:
            return module
        substitute = _Substitute(self.text.pattern, self._bind, self._describe)
        # The tree is this converter's own copy: no need for the wrapper to copy it again.
        return cst.MetadataWrapper(module, unsafe_skip_copy=True).visit(substitute)

    def _describe(self, placeholder: str) -> str:
        return _short(pebble_text(self.text.interpolations[placeholder]))

    def _bind(self, placeholder: str, in_code: bool) -> str:
        """The parameter (or secret variable) standing for ``placeholder``."""
        expr = _argument(self.text.interpolations[placeholder].expr, in_code)
        if isinstance(expr, Secret):
            return self._secret(expr)
        if any(isinstance(node, Secret) for node in walk(expr)):
            what = self._describe(placeholder)
            raise _Unconvertible(f"{what} computes with a secret, which cannot be a parameter")
        if expr not in self.params:
            self.params[expr] = self.names.take(_candidates(expr))
        return self.params[expr]

    def _secret(self, secret: Secret) -> str:
        block = secret_block_name(secret.name)
        if block not in self.secrets:
            self.secrets[block] = self.names.take(_candidates(secret))
            self.imports.add(("prefect.blocks.system", "Secret"))
            if block != secret.name:
                self.diagnostics.append(
                    codes.P205.at(self.span, what="secret", name=secret.name, target=block)
                )
        return self.secrets[block]

    def _report_metric(self) -> None:
        self.diagnostics.append(
            codes.P203.at(
                self.span,
                what="Kestra metric",
                reason="Prefect has no task metrics; the call is removed",
            )
        )

    def _check_no_placeholder(self, code: str) -> None:
        left = self.text.pattern.search(code)
        if left is not None:
            what = self._describe(left.group())
            raise _Unconvertible(
                f"{what} is where Python cannot take a value (a comment, a name, an import, "
                "an assignment target)"
            )

    # the function

    def _function(self, module: cst.Module, accumulator: str | None) -> cst.FunctionDef:
        statements = list(module.body)
        docstring = statements[:1] if statements and _is_docstring(statements[0]) else []
        prologue = [_assign(accumulator, cst.Dict([]))] if accumulator else []
        prologue += [_assign(local, _secret_load(block)) for block, local in self.secrets.items()]
        body = [*docstring, *prologue, *statements[len(docstring) :]]
        footer = list(module.footer)
        if accumulator:
            done = cst.SimpleStatementLine(
                [cst.Return(cst.Name(accumulator))], leading_lines=footer
            )
            body.append(done)
            footer = []
        if not body:
            body = [cst.SimpleStatementLine([cst.Pass()])]
        body[0] = body[0].with_changes(leading_lines=[*module.header, *body[0].leading_lines])
        params = [cst.Param(cst.Name(name)) for name in self.params.values()]
        return cst.FunctionDef(
            name=cst.Name(self.name),
            params=cst.Parameters(params=params),
            body=cst.IndentedBlock(body=body, footer=footer),
        )


def _is_docstring(statement: cst.BaseStatement) -> bool:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    small = statement.body[0]
    return isinstance(small, cst.Expr) and isinstance(
        small.value, (cst.SimpleString, cst.ConcatenatedString)
    )


def _assign(target: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(
        [cst.Assign(targets=[cst.AssignTarget(cst.Name(target))], value=value)]
    )


def _secret_load(block: str) -> cst.BaseExpression:
    load = cst.Call(
        func=cst.Attribute(value=cst.Name("Secret"), attr=cst.Name("load")),
        args=[cst.Arg(cst.SimpleString(f'"{block}"'))],  # a block name: [a-z0-9-] only
    )
    return cst.Call(func=cst.Attribute(value=load, attr=cst.Name("get")))


def _check_compiles(code: str) -> None:
    """The function must compile with this Python (the module writer then formats it with
    black, which reads whatever compiles); compiling does not run anything."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the script's own invalid escapes and the like
            compile(code, "<script>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        reason = getattr(exc, "msg", None) or str(exc)
        raise _Unconvertible(f"it does not compile inside a function ({_short(reason)})") from None


# --- fallback ---------------------------------------------------------------------------------


def _fallback(
    name: str, task_id: str, source: Expr, span: Span | None, reason: str
) -> ScriptFunction:
    message = (
        f"python script of task {task_id!r} was not converted to Prefect; "
        "rewrite it from the comments above"
    )
    error = cst.Call(
        func=cst.Name("NotImplementedError"), args=[cst.Arg(cst.SimpleString(repr(message)))]
    )
    statement = cst.SimpleStatementLine(
        [cst.Raise(exc=error)], leading_lines=comment_lines(pebble_text(source))
    )
    function = cst.FunctionDef(
        name=cst.Name(name), params=cst.Parameters(), body=cst.IndentedBlock([statement])
    )
    return ScriptFunction(
        function=function, diagnostics=[codes.P206.at(span, id=task_id, reason=reason)]
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."
