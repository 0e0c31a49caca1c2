"""Prefect Python → IR.

Everything is static: the user's code is parsed with libcst and never imported or run. Names are
resolved from each module's own imports (:mod:`.scope`); what counts as a flow, a task, a
logger, a secret or a decorator option is read from ``grammars/prefect/surface.yaml``. Each
``@flow`` function becomes one :class:`~ir.flow.Flow`: its signature the parameters, its body
the steps (task calls, submits, maps, loops, branches, subflow calls, log calls), its return
value the outputs. A statement that cannot be mapped is carried as a python Script step with a
diagnostic; nothing is dropped silently.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import math
import re
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from grammars.kestra.ids import make_id
from grammars.prefect import OptionSpec, Surface, surface
from ir import codes
from ir.base import Record, Span
from ir.diagnostics import Diagnostic, Severity
from ir.expressions import (
    KV,
    Attr,
    BinOp,
    Compare,
    Conditional,
    Expr,
    Index,
    Interpolation,
    ListValue,
    Literal,
    LoopItem,
    MapEntry,
    MapValue,
    Negate,
    Not,
    Param,
    Raw,
    Secret,
    TaskOutput,
    Template,
    Timestamp,
    Var,
    task_references,
    walk,
)
from ir.flow import Flow, FlowOutput
from ir.parameters import Parameter, ParamType
from ir.policies import CachePolicy, RetryKind, RetryPolicy
from ir.steps import (
    AllowFailure,
    Branch,
    Dag,
    Fail,
    Log,
    Loop,
    Parallel,
    Pause,
    PythonFunction,
    Script,
    Sequence,
    Sleep,
    Step,
    SubflowCall,
    TaskStep,
)

from ..project import decode_utf8, line_col, read_input, too_large
from ..result import ReadResult
from .names import EXTRAS_KEY, identifier
from .scope import Binding, ModuleScope, Repo, bundle, distributions, dotted, module_name
from .shapes import is_bare_raise, lone_call

_BOUND = ("result", "future")  # how the Prefect writer names a task's result and future

MAX_SOURCE_BYTES = 512 * 1024
"""Largest Python module read, in bytes of UTF-8. libcst parses 60 to 150 KiB a second and
holds about 1 GB per MiB of source, so a larger module is refused (F005) before it is read:
reading one takes at most some 5 s (dense one-line statements up to 10 s) and 600 MB.
Hand-written modules are a few KiB; Prefect's own largest are about 200 KiB."""

MAX_NAME_PARTS = 500
"""Most parts of a dotted name (``a.b.c`` has three). libcst builds one nested node per part
with recursive Python code (it fails at some 1,000 parts) and CPython's parser takes
quadratic time over them; real names have a handful."""

MAX_SYNTAX_DEPTH = 2000
"""Deepest nesting handed to libcst, counting a chain ``a and b and …`` as nested as libcst
builds it. Its native parser overflows the C stack (the process dies) past some 5,000 levels;
CPython's parser, which looks first, bounds the rest."""


# --- public API -----------------------------------------------------------------------------


def read_prefect_source(
    source: str | bytes, file: str | None = None, *, namespace: str | None = None
) -> ReadResult:
    """Read the flows of one Python module given as text. Syntax errors become a P100
    diagnostic, never an exception."""
    parsed = _parse(source, file)
    if isinstance(parsed, ReadResult):
        return parsed
    name = Path(file).stem if file else "__main__"
    repo = Repo()
    module, text, tree = parsed
    scope = ModuleScope(module, text, name, file, tree=tree)
    repo.add(scope)
    return _Reader(repo, namespace).read_all([scope])[scope.name]


def read_prefect_file(path: Path, *, namespace: str | None = None) -> ReadResult:
    """Read the flows of one Python file; I/O and syntax problems become diagnostics."""
    data, problem = read_input(path, MAX_SOURCE_BYTES)
    if problem is not None:
        return ReadResult(diagnostics=[problem])
    return read_prefect_source(data, str(path), namespace=namespace)


def read_prefect_repo(root: Path, files: list[Path], *, namespace: str) -> dict[Path, ReadResult]:
    """Read every file of a repository, parsing each once. Tasks, flows, helpers and constants
    imported from other modules of the repo (absolute, aliased or relative imports) are
    resolved, so that each task's bundled source is complete."""
    results: dict[Path, ReadResult] = {}
    repo = Repo()
    scopes: dict[str, Path] = {}
    real_root = _real(Path(root))
    real = {path: _real(Path(path)) for path in files}
    for path in files:
        data, problem = read_input(path, MAX_SOURCE_BYTES)
        if problem is not None:
            results[path] = ReadResult(diagnostics=[problem])
            continue
        parsed = _parse(data, str(path))
        if isinstance(parsed, ReadResult):
            results[path] = parsed
            continue
        name, is_package = module_name(real_root, path, real[path])
        module, text, tree = parsed
        scope = ModuleScope(module, text, name, str(path), is_package, tree=tree)
        repo.add(scope)
        scopes[scope.name] = path
    reader = _Reader(repo, namespace)
    read = reader.read_all([repo.modules[n] for n in scopes])
    for name, path in scopes.items():
        results[path] = read[name]
    _attach_prefect_yaml(real_root, results, reader.flow_functions, real)
    return {path: results[path] for path in files if path in results}


def _real(path: Path) -> Path:
    """``path`` with its links resolved; as it is (absolute) when they loop, which reading
    the file reports."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _prefect_yaml_files(root: Path, files: list[Path]) -> list[Path]:
    """The ``prefect.yaml`` files that can name the converted files as entrypoints: those in
    a converted file's folder or in a folder above it, up to ``root``. Looking only there
    (rather than searching the tree) keeps a one-file conversion from walking its parent
    folder, and skips whatever discovery skipped. ``root`` and ``files`` are resolved."""
    folders: set[Path] = set()
    for path in files:
        folder = path.parent
        while folder not in folders and folder.is_relative_to(root):
            folders.add(folder)
            if folder == root:
                break
            folder = folder.parent
    return sorted(f / "prefect.yaml" for f in folders if (f / "prefect.yaml").is_file())


def _attach_prefect_yaml(
    root: Path,
    results: dict[Path, ReadResult],
    functions: list[tuple[Flow, str, str]],
    real: dict[Path, Path],
) -> None:
    """Triggers from the deployments of ``prefect.yaml`` files in the repo, put on the flows
    their entrypoints name. Entrypoints are relative to the folder holding the file.
    ``root`` is resolved; ``real`` maps the paths of ``results`` to their resolved form."""
    from .deployments import triggers_from_prefect_yaml

    for config in _prefect_yaml_files(root, [real[path] for path in results]):
        base = config.parent
        by_entrypoint: dict[str, str] = {}
        by_name: dict[str, str] = {}
        owner: dict[str, Path] = {}
        for flow, file, function in functions:
            path = Path(file)
            try:
                rel = real[path].relative_to(base).as_posix()
            except ValueError:
                continue  # outside this prefect.yaml's project
            by_entrypoint[f"{rel}:{function}"] = flow.id
            by_name[flow.id] = by_name[function] = flow.id
            owner[flow.id] = path
        triggers, diagnostics = triggers_from_prefect_yaml(
            config, by_entrypoint, flow_ids_by_name=by_name
        )
        for path, result in results.items():
            result.flows = [
                (
                    flow.replace(triggers=(*flow.triggers, *triggers.get(flow.id, ())))
                    if triggers.get(flow.id) and owner.get(flow.id) == path
                    else flow
                )
                for flow in result.flows
            ]
        if diagnostics:
            target = next(iter(owner.values()), None) or next(iter(results), None)
            if target is not None:
                results[target].diagnostics.extend(diagnostics)


def _parse(
    source: str | bytes, file: str | None
) -> tuple[cst.Module, str, ast.Module | None] | ReadResult:
    """The libcst module, the text and the stdlib ``ast`` (None when CPython's parser does
    not accept the text) of a source; problems become diagnostics."""
    if isinstance(source, bytes):
        source, problem = decode_utf8(source, file)
        if problem is not None:
            return ReadResult(diagnostics=[problem])
    source = source.removeprefix("\ufeff")
    size = len(source.encode("utf-8", "replace")) if len(source) * 4 > MAX_SOURCE_BYTES else 0
    if size > MAX_SOURCE_BYTES:
        return ReadResult(diagnostics=[too_large(Span(file=file), size, MAX_SOURCE_BYTES)])
    nul = source.find("\x00")
    if nul >= 0:  # CPython refuses it; libcst does not, and evaluating its literals then fails
        line, col = line_col(source, nul)
        reason = "a NUL character (is this a binary file?)"
        return ReadResult(
            diagnostics=[codes.P100.at(Span(file=file, line=line, col=col), reason=reason)]
        )
    tree = _syntax_tree(source, file)
    if isinstance(tree, Diagnostic):
        return ReadResult(diagnostics=[tree])
    rejected, tree = (tree, None) if isinstance(tree, SyntaxError) else (None, tree)
    try:
        return cst.parse_module(source), source, tree
    except cst.ParserSyntaxError as exc:
        span = Span(file=file, line=exc.editor_line, col=exc.editor_column)
        reason = exc.message.split(": ", 2)[-1] if ": " in exc.message else exc.message
        reason = _short(reason)
        if rejected is not None and rejected.lineno:
            # Both parsers reject it: CPython says what is wrong and where (libcst says where
            # it noticed, often the next line, and its tokenizer errors have no position).
            span = Span(file=file, line=rejected.lineno, col=rejected.offset or 1)
            reason = _short(str(rejected.msg))
        return ReadResult(diagnostics=[codes.P100.at(span, reason=reason)])
    except (RecursionError, ValueError) as exc:  # pathological nesting, bad literals
        return ReadResult(diagnostics=[codes.P100.at(Span(file=file), reason=str(exc))])
    except (cst.CSTValidationError, cst.CSTLogicError) as exc:  # U+13D71; ""t"" (a t-string)
        reason = _short(str(rejected.msg) if rejected is not None else str(exc))
        return ReadResult(diagnostics=[codes.P100.at(Span(file=file), reason=reason)])


_DEPTH_WORDS = ("nested", "stack", "recursion", "too complex", "levels of indentation")


def _syntax_tree(source: str, file: str | None) -> ast.Module | Diagnostic | SyntaxError:
    """CPython's ``ast`` of the source; a P100 when the source nests deeper than a parser can
    take safely, mixes tabs and spaces, or holds a literal no Python evaluates; CPython's
    error when it rejects the source otherwise.

    libcst's native parser overflows the C stack on a few thousand nested brackets (the
    process dies), so CPython's own parser, which has hard limits and is ~9x cheaper, looks
    first, and :func:`_too_deep` measures what it keeps flat. Its other complaints are left
    to libcst, which knows more Python versions. The tree serves name analysis, which is
    much cheaper on it than on libcst's."""
    where = _long_dotted_name(source) if source.count(".") >= MAX_NAME_PARTS else None
    if where is not None:
        reason = f"nested too deeply to parse safely (a name of more than {MAX_NAME_PARTS} parts)"
        return codes.P100.at(Span(file=file, line=where[0], col=where[1]), reason=reason)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        message = str(exc.msg or "")
        span = Span(file=file, line=exc.lineno, col=exc.offset)
        if any(word in message.lower() for word in _DEPTH_WORDS):
            return codes.P100.at(span, reason=f"nested too deeply to parse safely ({message})")
        if isinstance(exc, TabError):  # no Python 3 accepts it, whatever libcst says
            return codes.P100.at(span, reason=message)
        return _bad_literal(source, file) or exc
    except (RecursionError, MemoryError, ValueError) as exc:
        reason = f"nested too deeply to parse safely ({type(exc).__name__})"
        return codes.P100.at(Span(file=file), reason=reason)
    where = _too_deep(tree) if len(_BOOLEAN.findall(source)) > MAX_SYNTAX_DEPTH // 2 else None
    if where is not None:
        span = Span(file=file, line=where[0], col=where[1])
        reason = f"nested too deeply to parse safely (more than {MAX_SYNTAX_DEPTH:,} levels)"
        return codes.P100.at(span, reason=reason)
    try:  # what the parser lets through and no Python runs: a repeated keyword argument,
        # ``return`` outside a function, a repeated parameter
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(tree, file or "<input>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return codes.P100.at(Span(file=file, line=exc.lineno, col=exc.offset), reason=exc.msg)
    except (RecursionError, MemoryError, ValueError) as exc:
        reason = f"nested too deeply to compile safely ({type(exc).__name__})"
        return codes.P100.at(Span(file=file), reason=reason)
    return tree


_BOOLEAN = re.compile(r"\b(?:and|or)\b")


def _too_deep(tree: ast.Module) -> tuple[int, int] | None:
    """Where ``tree`` nests deeper than :data:`MAX_SYNTAX_DEPTH` as libcst builds it, if it
    does. ``ast`` keeps ``a and b and c`` flat; libcst nests it, one level per operand.
    (Walking the tree costs about as much as parsing it, so this runs only when the text
    holds enough ``and``/``or`` to matter: what else nests is bounded by CPython's parser,
    and dotted names by :func:`_long_dotted_name`.)"""
    stack: list[tuple[ast.AST, int, tuple[int, int]]] = [(tree, 0, (1, 1))]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, (ast.expr, ast.stmt)):
            where = (node.lineno, node.col_offset + 1)
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 1
        if depth > MAX_SYNTAX_DEPTH:
            return where
        stack.extend((child, depth + 1, where) for child in ast.iter_child_nodes(node))
    return None


_DOTTED = re.compile(r"(\.)|(\w+)|([^.\w]+)")


def _long_dotted_name(source: str) -> tuple[int, int] | None:
    """Where a dotted name (``a.b.c``, spaces and line continuations allowed around the dots)
    gets more than :data:`MAX_NAME_PARTS` parts, if one does; one pass over the text."""
    parts, after_dot = 0, False
    for match in _DOTTED.finditer(source):
        if match.lastindex == 1:
            parts, after_dot = (0 if after_dot else parts), True
        elif match.lastindex == 2:
            parts = parts + 1 if after_dot else 1
            after_dot = False
            if parts > MAX_NAME_PARTS:
                return line_col(source, match.start())
        elif match[3].strip(" \t\\\r\n"):
            parts, after_dot = 0, False
    return None


_PREFIX = re.compile(r"[A-Za-z]*")


def _bad_literal(source: str, file: str | None) -> Diagnostic | None:
    """A P100 at the first string or number literal that no Python can evaluate (a bad
    escape, an integer past the digit limit), else None: CPython rejected the source, and
    libcst, which may accept it as newer syntax, evaluates such literals by CPython's rules."""
    import tokenize  # only for a file CPython rejected

    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in (tokenize.STRING, tokenize.NUMBER):
                continue
            if token.type == tokenize.STRING and "f" in _PREFIX.match(token.string)[0].lower():
                continue  # an f-string: libcst does not evaluate it
            try:
                with warnings.catch_warnings():  # an invalid escape is only a warning
                    warnings.simplefilter("ignore")
                    ast.literal_eval(token.string)
            except (SyntaxError, ValueError, MemoryError) as exc:
                line, col = token.start
                reason = f"invalid literal: {_short(str(getattr(exc, 'msg', None) or exc))}"
                return codes.P100.at(Span(file=file, line=line, col=col + 1), reason=reason)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # libcst reports what is wrong
    return None


# --- definitions ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Callable:
    """A task or flow object visible by name: its function, the module it was defined in and
    its options (decorator keywords, merged with ``with_options`` ones)."""

    kind: str  # "task" | "flow"
    scope: ModuleScope  # where the function is defined
    fn: cst.FunctionDef
    options: dict[str, tuple[ModuleScope, cst.BaseExpression]]
    owner: ModuleScope  # where the task/flow object is bound
    name: str
    node: cst.CSTNode

    @property
    def key(self) -> tuple[str, str]:
        return (self.owner.name, self.name)


@dataclass
class _Options:
    """Decorator options lowered once per task or flow."""

    name: str | None = None
    description: str | None = None
    retry: RetryPolicy | None = None
    timeout: dt.timedelta | None = None
    tags: tuple[str, ...] = ()
    cache: CachePolicy | None = None
    log_prints: bool = False
    extras: dict[str, str] = field(default_factory=dict)


_NO = object()  # "not a constant"
_LOGGER = object()  # a variable holding get_run_logger()
_BARRIER = object()  # `.result()`/`.wait()` as a statement: ends a group of submits


class _LoopVar(Record):
    level: int
    index: int | None = None


class _Reader:
    """Reads the modules of one repo; caches what is shared between flows and modules."""

    def __init__(self, repo: Repo, namespace: str | None) -> None:
        self.repo = repo
        self.namespace = namespace
        self.s: Surface = surface()
        self.diagnostics: dict[str, list[Diagnostic]] = {}
        # Each flow read, with its file and function name (prefect.yaml entrypoints use them).
        self.flow_functions: list[tuple[Flow, str, str]] = []
        self._callables: dict[tuple[str, str], _Callable | None] = {}
        # By the callable itself, which the key keeps alive: derived ones (`t.with_options()`
        # at a call site) are made per call, and a freed one's id may be given to the next.
        self._options: dict[_Callable, _Options] = {}
        self._bundles: dict[int, tuple[str, tuple[str, ...]]] = {}

    # --- spans and diagnostics ----------------------------------------------------------------

    def span(self, scope: ModuleScope, node: cst.CSTNode | None) -> Span:
        """Where ``node`` is; positions are computed once per module, on first need."""
        if node is None:
            return Span(file=scope.file)
        where = scope.positions.start(node)
        if where is None:
            return Span(file=scope.file)
        return Span(file=scope.file, line=where[0], col=where[1])

    def report(
        self,
        code: codes.Code,
        scope: ModuleScope,
        node: cst.CSTNode | None,
        severity: str | None = None,
        **fields: Any,
    ) -> None:
        level = Severity(severity) if severity else None
        found = code.at(self.span(scope, node), severity=level, **fields)
        self.diagnostics.setdefault(scope.name, []).append(found)

    # --- reading ------------------------------------------------------------------------------

    def read_all(self, scopes: list[ModuleScope]) -> dict[str, ReadResult]:
        """A ReadResult per module name."""
        flows: dict[str, list[tuple[_Callable, Flow]]] = {}
        for scope in scopes:
            try:
                flows[scope.name] = self.read_module(scope)
            except RecursionError:  # legal Python, but nested past what the IR can hold
                flows[scope.name] = []
                self.diagnostics.setdefault(scope.name, []).append(
                    codes.P100.at(Span(file=scope.file), reason="nested too deeply to convert")
                )
        triggers = self.triggers(scopes)
        results = {}
        for scope in scopes:
            found = []
            for cal, flow in flows[scope.name]:
                extra = triggers.get(cal.key)
                if extra:
                    flow = flow.replace(triggers=(*flow.triggers, *extra))
                found.append(flow)
                self.flow_functions.append((flow, scope.file or "", cal.fn.name.value))
            diagnostics = sorted(
                self.diagnostics.get(scope.name, []),
                key=lambda d: (d.span.line or 0, d.span.col or 0) if d.span else (0, 0),
            )
            results[scope.name] = ReadResult(flows=found, diagnostics=diagnostics)
        return results

    def read_module(self, scope: ModuleScope) -> list[tuple[_Callable, Flow]]:
        """The flows defined in ``scope``, in source order."""
        flows = []
        seen: set[tuple[str, str]] = set()
        for stmt in scope.module.body:
            for name in _defined_names(stmt):
                cal = self.callable(scope, name)
                if cal is None or cal.kind != "flow" or cal.owner is not scope or cal.key in seen:
                    continue
                seen.add(cal.key)
                flows.append((cal, _FlowLowering(self, cal).flow()))
            if isinstance(stmt, cst.With):
                self._prefect1(scope, stmt)
        prefect1 = any(d.code == "P109" for d in self.diagnostics.get(scope.name, []))
        if not flows and not prefect1 and "prefect" in scope.text:
            self.report(codes.P108, scope, None, path=scope.file or scope.name)
        return flows

    def _prefect1(self, scope: ModuleScope, stmt: cst.With) -> None:
        for item in stmt.items:
            call = item.item
            if isinstance(call, cst.Call) and scope.qualify(call.func) in self.s.prefect1_flows:
                self.report(codes.P109, scope, stmt, what="with Flow(...)")

    def triggers(self, scopes: list[ModuleScope]) -> dict[tuple[str, str], list[Any]]:
        """Triggers from ``serve``/``deploy``/``Deployment.build_from_flow`` calls, by flow."""
        try:
            from .deployments import triggers_from_module
        except ImportError:  # the deployments module lands separately
            return {}
        found: dict[tuple[str, str], list[Any]] = {}
        for scope in scopes:
            if not any(word in scope.text for word in ("serve", "deploy", "Deployment")):
                continue
            visible = {}
            for name in scope.bindings:
                cal = self.callable(scope, name)
                if cal is not None and cal.kind == "flow":
                    visible[name] = cal
            if not visible:
                continue
            flow_ids = {name: self.flow_id(cal)[0] for name, cal in visible.items()}
            by_name, diagnostics = triggers_from_module(
                scope.module, flow_ids, scope.file, positions=scope.positions
            )
            self.diagnostics.setdefault(scope.name, []).extend(diagnostics)
            for name, triggers in by_name.items():
                if name in visible:
                    found.setdefault(visible[name].key, []).extend(triggers)
        return found

    # --- tasks and flows by name ----------------------------------------------------------------

    def callable(self, scope: ModuleScope, name: str) -> _Callable | None:
        """The task or flow ``name`` means in ``scope`` (following repo imports), if any."""
        key = (scope.name, name)
        if key not in self._callables:
            self._callables[key] = None  # a cycle resolves to "not a callable"
            found = self.repo.lookup(scope, name)
            if found is not None:
                self._callables[key] = self._definition(*found)
        return self._callables[key]

    def callee(self, scope: ModuleScope, node: cst.BaseExpression) -> _Callable | None:
        """The task or flow an expression in call position refers to: ``t``, ``mod.t`` or
        ``t.with_options(...)``."""
        if isinstance(node, cst.Name):
            return self.callable(scope, node.value)
        if isinstance(node, cst.Attribute):
            qualified = scope.qualify(node)
            if qualified is not None:
                found = self.repo.resolve_qualified(qualified)
                if found is not None:
                    owner, name, _ = found
                    return self.callable(owner, name)
            return None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value in self.s.with_options_methods:
                base = self.callee(scope, node.func.value)
                if base is not None:
                    return _derive(base, scope, node)
        return None

    def _definition(self, scope: ModuleScope, name: str, binding: Binding) -> _Callable | None:
        if binding.kind == "def" and isinstance(binding.node, cst.FunctionDef):
            fn = binding.node
            for decorator in fn.decorators:
                expr = decorator.decorator
                call = expr if isinstance(expr, cst.Call) else None
                kind = self.decorator_kind(scope, call.func if call else expr)
                if kind:
                    options = _keywords(scope, call) if call else {}
                    return _Callable(kind, scope, fn, options, scope, name, fn)
            return None
        value = binding.value
        if binding.kind != "assign" or not isinstance(value, cst.Call):
            return None
        # `t = task(fn, retries=2)`, `t = task(retries=2)(fn)`, `t2 = t.with_options(...)`
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in self.s.with_options_methods:
            base = self.callee(scope, func.value)
            return None if base is None else _derive(base, scope, value, owner=scope, name=name)
        options_call, kind = value, self.decorator_kind(scope, value.func)
        if kind is None and isinstance(value.func, cst.Call):
            options_call, kind = value.func, self.decorator_kind(scope, value.func.func)
        positional = [a for a in value.args if a.keyword is None and not a.star]
        if kind is None or not positional or not isinstance(positional[0].value, cst.Name):
            return None
        found = self.repo.lookup(scope, positional[0].value.value)
        if found is None or not isinstance(found[2].node, cst.FunctionDef):
            return None
        options = _keywords(scope, options_call)
        return _Callable(kind, found[0], found[2].node, options, scope, name, binding.node)

    def decorator_kind(self, scope: ModuleScope, node: cst.BaseExpression) -> str | None:
        qualified = scope.qualify(node)
        if qualified in self.s.flow_decorators:
            return "flow"
        if qualified in self.s.task_decorators:
            return "task"
        return None

    def is_prefect(self, scope: ModuleScope, decorator: cst.Decorator) -> bool:
        expr = decorator.decorator
        qualified = scope.qualify(expr.func if isinstance(expr, cst.Call) else expr) or ""
        return qualified == "prefect" or qualified.startswith("prefect.")

    def flow_id(self, cal: _Callable) -> tuple[str, str]:
        """The Kestra id of a flow and the Prefect name it came from."""
        name = self.options(cal).name or cal.fn.name.value
        return make_id(name, "flow", "flow"), name

    def source(self, cal: _Callable) -> tuple[str, tuple[str, ...]]:
        """A task's self-contained source and its PyPI dependencies (cached)."""
        key = id(cal.fn)
        if key not in self._bundles:
            found = bundle(self.repo, cal.scope, cal.fn, self.is_prefect)
            deps = distributions(
                found.modules, self.repo, self.s.excluded_modules, self.s.distribution
            )
            self._bundles[key] = (found.source, deps)
        return self._bundles[key]

    # --- options --------------------------------------------------------------------------------

    def options(self, cal: _Callable) -> _Options:
        """A task's or flow's options, lowered once (diagnostics reported once)."""
        if cal not in self._options:
            table = self.s.flow_options if cal.kind == "flow" else self.s.task_options
            self._options[cal] = self._lower_options(cal, table)
        return self._options[cal]

    def _lower_options(self, cal: _Callable, table: dict[str, OptionSpec]) -> _Options:
        result = _Options()
        retry: dict[str, Any] = {}
        for key, (scope, value) in cal.options.items():
            spec = table.get(key) or OptionSpec(key, "extra", "P102")
            handler = _OPTION_HANDLERS.get(spec.handler)
            try:
                ok = handler(self, scope, value, result, retry) if handler else False
            except (OverflowError, ValueError):  # a constant past what the IR can hold
                ok = False
            if not ok:
                self._extra_option(spec, scope, value, result.extras)
        result.retry = self._retry(cal, retry, result.extras)
        return result

    def _extra_option(
        self, spec: OptionSpec, scope: ModuleScope, value: cst.BaseExpression, extras: dict
    ) -> None:
        text = scope.code(value)
        extras[spec.key] = text
        if spec.handler != "extra" and spec.code is None:
            known = self.const(scope, value)
            if known is None:  # spelled out at Prefect's default
                return
            if known is not _NO:  # a constant, of the wrong type
                expected = _OPTION_TYPES.get(spec.handler, "of the type Prefect declares")
                self.report(
                    codes.P110, scope, value, option=spec.key, value=_short(text), expected=expected
                )
                return
            # A modelled option whose value could not be read statically.
            self.report(codes.P103, scope, value, option=spec.key, reason="value is not static")
            return
        code = getattr(codes, spec.code or "P102")
        fields = {"option": spec.key, "value": _short(text), "hook": spec.key}
        fields["reason"] = spec.reason or "no exact counterpart"
        self.report(code, scope, value, severity=spec.severity, **fields)

    def _retry(self, cal: _Callable, retry: dict[str, Any], extras: dict) -> RetryPolicy | None:
        retries = retry.get("retries")
        if not retries:
            return None
        policy: dict[str, Any] = {"max_attempts": retries + 1}
        delay = retry.get("delay")
        if isinstance(delay, (int, float)):
            policy.update(kind=RetryKind.CONSTANT, interval=dt.timedelta(seconds=delay))
        elif isinstance(delay, list):
            policy.update(
                kind=RetryKind.EXPLICIT, delays=tuple(dt.timedelta(seconds=d) for d in delay)
            )
        elif isinstance(delay, tuple):  # exponential_backoff(backoff_factor=f)
            policy.update(
                kind=RetryKind.EXPONENTIAL, interval=dt.timedelta(seconds=delay[1]), factor=2.0
            )
        if retry.get("jitter") is not None:
            policy["jitter"] = retry["jitter"]
        return RetryPolicy(**policy)

    # --- constants --------------------------------------------------------------------------------

    def const(self, scope: ModuleScope, node: cst.BaseExpression, depth: int = 0) -> Any:
        """The value of a statically known expression (literals, containers, module constants,
        enum members, ``timedelta``/``datetime`` calls), else ``_NO``."""
        if depth > 20:
            return _NO
        handler = _CONSTS.get(type(node))
        return handler(self, scope, node, depth + 1) if handler else _NO

    def module_const(self, scope: ModuleScope, name: str, depth: int) -> Any:
        found = self.repo.lookup(scope, name)
        if found is None or found[2].kind != "assign" or found[2].value is None:
            return _NO
        if not _is_constant_name(found[1]) and found[0] is scope and depth > 1:
            return _NO
        return self.const(found[0], found[2].value, depth)

    def enum_member(self, scope: ModuleScope, node: cst.Attribute, depth: int) -> Any:
        if not isinstance(node.value, cst.Name):
            return _NO
        found = self.repo.lookup(scope, node.value.value)
        if found is None or not isinstance(found[2].node, cst.ClassDef):
            return _NO
        for name, value in _class_assignments(found[2].node):
            if name == node.attr.value:
                return self.const(found[0], value, depth)
        return _NO


def _derive(
    base: _Callable,
    scope: ModuleScope,
    call: cst.Call,
    owner: ModuleScope | None = None,
    name: str | None = None,
) -> _Callable:
    options = {**base.options, **_keywords(scope, call)}
    return _Callable(
        base.kind, base.scope, base.fn, options, owner or base.owner, name or base.name, call
    )


def _keywords(scope: ModuleScope, call: cst.Call) -> dict[str, tuple[ModuleScope, Any]]:
    return {arg.keyword.value: (scope, arg.value) for arg in call.args if arg.keyword is not None}


def _defined_names(stmt: cst.CSTNode) -> list[str]:
    if isinstance(stmt, cst.FunctionDef):
        return [stmt.name.value]
    if isinstance(stmt, cst.SimpleStatementLine):
        return [
            t.target.value
            for small in stmt.body
            if isinstance(small, cst.Assign)
            for t in small.targets
            if isinstance(t.target, cst.Name)
        ]
    return []


def _class_assignments(cls: cst.ClassDef):
    for stmt in cls.body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
                    yield small.targets[0].target.value, small.value
                elif (
                    isinstance(small, cst.AnnAssign)
                    and isinstance(small.target, cst.Name)
                    and small.value is not None
                ):
                    yield small.target.value, small.value


def _is_plain_data(value: Any) -> bool:
    """JSON-like data: what a Kestra variable can hold."""
    if isinstance(value, (list, tuple)):
        return all(_is_plain_data(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain_data(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool))


def _description(options: _Options, fn: cst.FunctionDef) -> str | None:
    """A task's or flow's ``description=`` (even empty), else its docstring."""
    return options.description if options.description is not None else fn.get_docstring()


def _is_constant_name(name: str) -> bool:
    return name.isupper() or name.strip("_").isupper()


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


# --- option handlers (named by `as:` in surface.yaml) ----------------------------------------


def _opt_id(r: _Reader, scope, value, out: _Options, retry) -> bool:
    name = r.const(scope, value)
    if isinstance(name, str):
        out.name = name
        return True
    return False


def _opt_description(r: _Reader, scope, value, out: _Options, retry) -> bool:
    text = r.const(scope, value)
    if isinstance(text, str):
        out.description = text
        return True
    return False


_MAX_RETRIES = 2**31 - 2  # Kestra counts attempts (retries + 1) in a Java int

# What each modelled option takes, for the P110 that a constant of another type gets.
_OPTION_TYPES = {
    "id": "a string",
    "description": "a string",
    "retries": f"an integer from 0 to {_MAX_RETRIES:,}",
    "retry_delay": "a non-negative number of seconds, a list of them or exponential_backoff(...)",
    "jitter": "a non-negative finite number",
    "timeout": "a non-negative number of seconds or timedelta",
    "tags": "a list of strings",
    "cache_expiration": "a non-negative number of seconds or timedelta",
    "log_prints": "a boolean",
}


def _seconds(value: Any) -> dt.timedelta | None:
    """A number of seconds or a timedelta as a timedelta; None for anything else, and for a
    negative, infinite or NaN number, or one past what a timedelta holds."""
    if isinstance(value, dt.timedelta):
        return value if value >= dt.timedelta(0) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return dt.timedelta(seconds=value) if math.isfinite(value) and value >= 0 else None
    except OverflowError:
        return None


def _number(value: Any) -> bool:
    """Whether ``value`` is a number (not a timedelta) that :func:`_seconds` takes."""
    return not isinstance(value, dt.timedelta) and _seconds(value) is not None


def _opt_retries(r: _Reader, scope, value, out: _Options, retry) -> bool:
    count = r.const(scope, value)
    if isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= _MAX_RETRIES:
        retry["retries"] = count
        return True
    return False


def _opt_retry_delay(r: _Reader, scope, value, out: _Options, retry) -> bool:
    if isinstance(value, cst.Call) and scope.qualify(value.func) in r.s.exponential_backoff:
        args = _keywords(scope, value)
        factor = r.const(scope, args["backoff_factor"][1]) if "backoff_factor" in args else _NO
        if factor is _NO and value.args and value.args[0].keyword is None:
            factor = r.const(scope, value.args[0].value)
        if _number(factor):
            retry["delay"] = ("exponential", factor)
            return True
        return False
    delay = r.const(scope, value)
    if isinstance(delay, dt.timedelta):
        delay = delay.total_seconds()
    if _number(delay):
        retry["delay"] = delay
        return True
    if isinstance(delay, (list, tuple)) and all(_number(d) for d in delay):
        retry["delay"] = list(delay)
        return True
    return False


def _opt_jitter(r: _Reader, scope, value, out: _Options, retry) -> bool:
    jitter = r.const(scope, value)
    if _number(jitter):
        retry["jitter"] = float(jitter)
        return True
    return False


def _opt_timeout(r: _Reader, scope, value, out: _Options, retry) -> bool:
    timeout = _seconds(r.const(scope, value))
    if timeout is not None:
        out.timeout = timeout
        return True
    return False


def _opt_tags(r: _Reader, scope, value, out: _Options, retry) -> bool:
    tags = r.const(scope, value)
    if isinstance(tags, (list, tuple, set)) and all(isinstance(t, str) for t in tags):
        out.tags = tuple(tags)
        return True
    return False


def _opt_cache_policy(r: _Reader, scope, value, out: _Options, retry) -> bool:
    key = r.s.cache_policies.get(scope.qualify(value) or "")
    if key is None:
        out.extras["cache_policy"] = scope.code(value)
        r.report(
            codes.P103,
            scope,
            value,
            option="cache_policy",
            reason="Kestra caches on the task's inputs",
        )
        key = "inputs"
    out.cache = CachePolicy(ttl=out.cache.ttl if out.cache else None, key=key)
    return True


def _opt_cache_key_fn(r: _Reader, scope, value, out: _Options, retry) -> bool:
    key = r.s.cache_policies.get(scope.qualify(value) or "")
    if key is None:
        return False
    out.cache = CachePolicy(ttl=out.cache.ttl if out.cache else None, key=key)
    return True


def _opt_cache_expiration(r: _Reader, scope, value, out: _Options, retry) -> bool:
    ttl = _seconds(r.const(scope, value))
    if ttl is None:
        return False
    out.cache = CachePolicy(ttl=ttl, key=out.cache.key if out.cache else None)
    return True


def _opt_log_prints(r: _Reader, scope, value, out: _Options, retry) -> bool:
    enabled = r.const(scope, value)
    if not isinstance(enabled, bool):
        return False
    out.log_prints = enabled
    out.extras["log_prints"] = scope.code(value)  # kept so the Prefect side can say it again
    return True


_OPTION_HANDLERS: dict[str, Callable[..., bool]] = {
    "id": _opt_id,
    "description": _opt_description,
    "retries": _opt_retries,
    "retry_delay": _opt_retry_delay,
    "jitter": _opt_jitter,
    "timeout": _opt_timeout,
    "tags": _opt_tags,
    "cache_policy": _opt_cache_policy,
    "cache_key_fn": _opt_cache_key_fn,
    "cache_expiration": _opt_cache_expiration,
    "log_prints": _opt_log_prints,
}


# --- constant evaluation ----------------------------------------------------------------------


def _c_literal(r: _Reader, scope, node, depth) -> Any:
    value = node.evaluated_value
    return _NO if value is None or isinstance(value, bytes) else value


def _c_name(r: _Reader, scope, node: cst.Name, depth) -> Any:
    if node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    return r.module_const(scope, node.value, depth)


def _c_sequence(r: _Reader, scope, node, depth) -> Any:
    items = []
    for element in node.elements:
        if not isinstance(element, cst.Element):
            return _NO
        value = r.const(scope, element.value, depth)
        if value is _NO:
            return _NO
        items.append(value)
    return tuple(items) if isinstance(node, cst.Tuple) else items


def _c_dict(r: _Reader, scope, node: cst.Dict, depth) -> Any:
    result = {}
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            return _NO
        key, value = r.const(scope, element.key, depth), r.const(scope, element.value, depth)
        if key is _NO or value is _NO or isinstance(key, (list, dict)):
            return _NO
        result[key] = value
    return result


def _c_unary(r: _Reader, scope, node: cst.UnaryOperation, depth) -> Any:
    value = r.const(scope, node.expression, depth)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(node.operator, cst.Minus):
            return -value
        if isinstance(node.operator, cst.Plus):
            return value
    return _NO


_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    cst.Add: lambda a, b: a + b,
    cst.Subtract: lambda a, b: a - b,
    cst.Multiply: lambda a, b: a * b,
    cst.Divide: lambda a, b: a / b,
    cst.FloorDivide: lambda a, b: a // b,
}


def _c_binary(r: _Reader, scope, node: cst.BinaryOperation, depth) -> Any:
    op = _ARITHMETIC.get(type(node.operator))
    left, right = r.const(scope, node.left, depth), r.const(scope, node.right, depth)
    if op is None or left is _NO or right is _NO:
        return _NO
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
    if not numbers and not (isinstance(left, str) and isinstance(right, str)):
        return _NO
    try:
        return op(left, right)
    except (ArithmeticError, TypeError):
        return _NO


def _c_call(r: _Reader, scope, node: cst.Call, depth) -> Any:
    qualified = scope.qualify(node.func) or ""
    if isinstance(node.func, cst.Attribute) and not node.args:
        # `timedelta(minutes=5).total_seconds()`
        if node.func.attr.value == "total_seconds":
            base = r.const(scope, node.func.value, depth)
            if isinstance(base, dt.timedelta):
                return base.total_seconds()
        return _NO
    builder = {
        **dict.fromkeys(r.s.timedelta, dt.timedelta),
        "datetime.datetime": dt.datetime,
        "datetime.date": dt.date,
        "datetime.time": dt.time,
    }.get(qualified)
    if builder is None:
        return _NO
    args, kwargs = [], {}
    for arg in node.args:
        value = r.const(scope, arg.value, depth)
        if value is _NO or arg.star:
            return _NO
        if arg.keyword is None:
            args.append(value)
        else:
            kwargs[arg.keyword.value] = value
    try:
        return builder(*args, **kwargs)
    except (TypeError, ValueError, OverflowError):
        return _NO


def _c_attribute(r: _Reader, scope, node: cst.Attribute, depth) -> Any:
    base = r.const(scope, node.value, depth)
    if isinstance(base, dt.timedelta) and node.attr.value in ("seconds", "days"):
        return getattr(base, node.attr.value)
    member = r.enum_member(scope, node, depth)
    if member is not _NO:
        return member
    qualified = scope.qualify(node)
    found = r.repo.resolve_qualified(qualified) if qualified else None
    if found is not None and found[2].kind == "assign" and found[2].value is not None:
        return r.const(found[0], found[2].value, depth)  # `config.BASE_URL`
    return _NO


_CONSTS: dict[type, Callable[..., Any]] = {
    cst.SimpleString: _c_literal,
    cst.ConcatenatedString: _c_literal,
    cst.Integer: _c_literal,
    cst.Float: _c_literal,
    cst.Name: _c_name,
    cst.List: _c_sequence,
    cst.Tuple: _c_sequence,
    cst.Dict: _c_dict,
    cst.UnaryOperation: _c_unary,
    cst.BinaryOperation: _c_binary,
    cst.Call: _c_call,
    cst.Attribute: _c_attribute,
}


def _data(value: Any) -> Expr:
    """An expression for a constant value."""
    if isinstance(value, dict):
        return MapValue(entries=tuple(MapEntry(key=k, value=_data(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set)):
        return ListValue(items=tuple(_data(v) for v in value))
    if isinstance(value, (dt.datetime, dt.date)):
        return Timestamp(value=value)
    if isinstance(value, dt.timedelta):
        return Literal(value=_iso_duration(value))
    if isinstance(value, dt.time):
        return Literal(value=value.isoformat())
    if value is None or isinstance(value, (bool, int, float, str)):
        return Literal(value=value)
    return Literal(value=str(value))


def _iso_duration(value: dt.timedelta) -> str:
    seconds = value.total_seconds()
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    secs += seconds - int(seconds)
    text = "P" + (f"{days}D" if days else "")
    clock = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{secs:g}S" if secs else "")
    )
    return text + ("T" + clock if clock else ("" if days else "T0S"))


# --- one flow ---------------------------------------------------------------------------------

_COMPARE_OPS = {
    cst.Equal: "==",
    cst.NotEqual: "!=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.In: "in",
    cst.NotIn: "not in",
    cst.Is: "==",
    cst.IsNot: "!=",
}
_BINARY_OPS = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
}
_PERCENT = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdifr]")


class _FlowLowering:
    """Lowers one flow function: parameters, body and return value."""

    def __init__(self, reader: _Reader, cal: _Callable) -> None:
        self.r = reader
        self.cal = cal
        self.scope = cal.scope
        self.s = reader.s
        self.env: dict[str, Any] = {}
        self.ids: set[str] = set()
        self.depth = 0  # enclosing loops
        self.nested = 0  # enclosing blocks (if, for): a return there is not the flow's result
        self.variables: dict[str, Expr] = {}  # module constants the flow reads
        self.out: list[Any] = []
        self.outputs: list[FlowOutput] = []
        self.submitted: set[str] = set()
        self.wait_for: dict[str, tuple[str, ...]] = {}
        self.log_prints = False

    # --- helpers ----------------------------------------------------------------------------

    def span(self, node: cst.CSTNode | None) -> Span:
        return self.r.span(self.scope, node)

    def report(self, code: codes.Code, node: cst.CSTNode | None, **fields: Any) -> None:
        self.r.report(code, self.scope, node, **fields)

    def unique(self, base: str) -> str:
        """A Kestra-safe step id, unique in the flow (``_2``, ``_3`` on repeats)."""
        candidate = make_id(base, "task", "step", self.ids)
        self.ids.add(candidate)
        return candidate

    def code(self, node: cst.CSTNode, without: Collection[cst.CSTNode] = ()) -> str:
        return self.scope.code(node, without).strip().rstrip(";").strip()

    def raw(self, node: cst.CSTNode) -> Raw:
        return Raw(text=self.code(node), dialect="python", span=self.span(node))

    # --- the flow ---------------------------------------------------------------------------

    def flow(self) -> Flow:
        fn = self.cal.fn
        options = self.r.options(self.cal)
        self.log_prints = options.log_prints
        flow_id, name = self.r.flow_id(self.cal)
        if flow_id != name:
            self.report(codes.P107, self.cal.node, name=name, id=flow_id)
        parameters = self.parameters(fn)
        for parameter in parameters:
            self.env[parameter.name] = Param(name=parameter.name, span=parameter.span)
        steps = self.block(self.body(fn))
        on_failure: tuple[Step, ...] = ()
        finally_steps: tuple[Step, ...] = ()
        if len(steps) == 1 and isinstance(steps[0], Sequence) and self.body_is_one_try(fn):
            # The whole body in one try: Kestra's flow-level `errors` and `finally`.
            steps, on_failure, finally_steps = (
                steps[0].steps,
                steps[0].on_failure,
                steps[0].finally_steps,
            )
        extras = {EXTRAS_KEY: dict(options.extras)} if options.extras else {}
        if fn.asynchronous is not None:
            extras.setdefault(EXTRAS_KEY, {})["async"] = "True"
        return Flow(
            id=flow_id,
            namespace=self.r.namespace,
            description=_description(options, fn),
            parameters=tuple(parameters),
            steps=steps,
            on_failure=on_failure,
            finally_steps=finally_steps,
            outputs=tuple(self.outputs),
            variables=dict(sorted(self.variables.items())),
            retry=options.retry,
            extras=extras,
            span=self.span(self.cal.node),
        )

    def body_is_one_try(self, fn: cst.FunctionDef) -> bool:
        """The body's steps all come from one ``try`` (beside logger set-up and the return)."""
        tries = [s for s in self.body(fn) if isinstance(s, cst.Try)]
        return len(tries) == 1

    def body(self, fn: cst.FunctionDef) -> list[cst.CSTNode]:
        statements = list(_statements(fn.body))
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        return statements

    # --- parameters ---------------------------------------------------------------------------

    def parameters(self, fn: cst.FunctionDef) -> list[Parameter]:
        params = fn.params
        found = []
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            found.append(self.parameter(param))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.report(
                    codes.P106,
                    star,
                    name=star.name.value,
                    reason="variadic parameters are not converted",
                )
        return found

    def parameter(self, param: cst.Param) -> Parameter:
        name = param.name.value
        fields: dict[str, Any] = {"name": name, "span": self.span(param)}
        required = True
        annotation = param.annotation.annotation if param.annotation else None
        if annotation is not None:
            typed = self.param_type(annotation)
            if typed.get("optional"):
                required = False
            if typed.get("reason"):
                self.report(codes.P106, annotation, name=name, reason=typed["reason"])
            fields.update({k: v for k, v in typed.items() if k not in ("optional", "reason")})
        if param.default is not None:
            required = False
            value = self.r.const(self.scope, param.default)
            if value is _NO:
                fields["default"] = self.raw(param.default)
            elif value is not None:
                fields["default"] = _data(value).replace(span=self.span(param.default))
        fields["required"] = required
        return Parameter(**fields)

    def param_type(self, node: cst.BaseExpression) -> dict[str, Any]:
        """IR type fields for an annotation: type, item_type, values, and whether it is
        optional; ``reason`` when the mapping is approximate."""
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            return self._union([node.left, node.right])
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            value = node.evaluated_value  # a string annotation: parse what it says
            if isinstance(value, str):
                try:
                    return self.param_type(cst.parse_expression(value))
                except cst.ParserSyntaxError:
                    pass
        base, args = node, []
        if isinstance(node, cst.Subscript):
            base = node.value
            args = [el.slice.value for el in node.slice if isinstance(el.slice, cst.Index)]
        qualified = self.scope.qualify(base) or ""
        if qualified in self.s.optional_types and args:
            return {**self.param_type(args[0]), "optional": True}
        if qualified in self.s.union_types and args:
            return self._union(args)
        if qualified in self.s.annotated_types and args:
            return {**self.param_type(args[0]), **self._field_description(args[1:])}
        if qualified in self.s.literal_types and args:
            values = [self.r.const(self.scope, a) for a in args]
            if all(v is not _NO for v in values):
                return {"type": ParamType.SELECT, "values": tuple(str(v) for v in values)}
        if qualified in self.s.array_types or qualified in ("list", "tuple", "set"):
            result: dict[str, Any] = {"type": ParamType.ARRAY}
            if args:
                item = self.param_type(args[0])
                if item.get("type") is ParamType.SELECT:
                    return {"type": ParamType.MULTISELECT, "values": item["values"]}
                if item.get("type") and not item.get("reason"):
                    result["item_type"] = item["type"]
            return result
        if qualified in self.s.param_types:
            return {"type": ParamType(self.s.param_types[qualified])}
        if qualified in self.s.approx_param_types:
            kind, reason = self.s.approx_param_types[qualified]
            return {"type": ParamType(kind), "reason": reason}
        user = self._user_class(base)
        if user is not None:
            return user
        return {
            "type": ParamType.STRING,
            "reason": f"type {self.code(node)!r} is read as STRING",
        }

    def _field_description(self, metadata: list[cst.BaseExpression]) -> dict[str, Any]:
        """``description`` from a ``pydantic.Field(description=...)`` of ``Annotated``."""
        for node in metadata:
            if isinstance(node, cst.Call) and self.scope.qualify(node.func) in self.s.field_calls:
                for arg in node.args:
                    if arg.keyword is not None and arg.keyword.value == "description":
                        text = self.r.const(self.scope, arg.value)
                        if isinstance(text, str):
                            return {"description": text}
        return {}

    def _union(self, members: list[cst.BaseExpression]) -> dict[str, Any]:
        non_null = [m for m in members if not (isinstance(m, cst.Name) and m.value == "None")]
        result = self.param_type(non_null[0]) if len(non_null) == 1 else None
        if result is None:
            result = {"type": ParamType.JSON, "reason": "a union of several types is read as JSON"}
        return {**result, "optional": len(non_null) < len(members) or result.get("optional")}

    def _user_class(self, node: cst.BaseExpression) -> dict[str, Any] | None:
        if not isinstance(node, cst.Name):
            return None
        found = self.r.repo.lookup(self.scope, node.value)
        if found is None or not isinstance(found[2].node, cst.ClassDef):
            return None
        owner, cls = found[0], found[2].node
        bases = {owner.qualify(b.value) for b in cls.bases}
        if bases & self.s.enum_bases:
            values = []
            for name, value in _class_assignments(cls):
                member = self.r.const(owner, value)
                values.append(str(member) if isinstance(member, (str, int, float)) else name)
            return {"type": ParamType.SELECT, "values": tuple(values)}
        if bases & self.s.model_bases:
            return {"type": ParamType.JSON}
        return None

    # --- blocks and statements ----------------------------------------------------------------

    def block(self, statements) -> tuple[Step, ...]:
        """Lower statements into steps, grouping consecutive independent submits."""
        saved, self.out = self.out, []
        try:
            for statement in statements:
                handler = _STATEMENTS.get(type(statement))
                if handler is None:
                    self.carry(statement)
                else:
                    handler(self, statement)
            return self.group(self.out)
        finally:
            self.out = saved

    def carry(self, node: cst.CSTNode, code: codes.Code | None = None, **fields: Any) -> None:
        """Keep a statement verbatim as a python Script step, with a diagnostic."""
        base, span = "script", self.span(node)
        comments = getattr(node, "leading_lines", ())  # comments above are not the statement
        if isinstance(node, (cst.Assign, cst.AnnAssign)):
            targets = node.targets if isinstance(node, cst.Assign) else [node]
            names = [n for t in targets for n in _names_of(t.target)]
            base = names[0] if names else base
            for name in names:
                self.env[name] = Raw(text=name, dialect="python")
        step = TaskStep(
            id=self.unique(base),
            action=Script(language="python", source=Literal(value=self.code(node, comments))),
            span=span,
        )
        self.out.append(step)
        self.r.diagnostics.setdefault(self.scope.name, []).append(
            (code or codes.P101).at(span, **fields)
        )

    def emit(self, statement: cst.CSTNode, make: Callable[[], Any], strict: bool = False) -> Any:
        """Run ``make`` (which may emit steps). When it gives None (nothing it could lower),
        or, if ``strict``, a value holding Raw python, undo its steps and carry the statement
        instead. Returns the value, or None when carried."""
        mark, ids = len(self.out), set(self.ids)
        value = make()
        if value is None or (strict and any(isinstance(n, Raw) for n in walk(value))):
            del self.out[mark:]
            self.ids = ids
            callee = _callee_name(statement)
            # P105 for names the module binds (an imported integration task, a helper);
            # builtins and other code are plain unmappable statements.
            if callee is not None and callee.value in self.scope.bindings:
                self.carry(statement, codes.P105, name=self.code(callee))
            else:
                self.carry(statement)
            return None
        return value

    def st_line(self, line: cst.SimpleStatementLine | cst.SimpleStatementSuite) -> None:
        for small in line.body:
            handler = _STATEMENTS.get(type(small))
            if handler is None:
                self.carry(small)
            else:
                handler(self, small)

    def st_pass(self, node: cst.Pass) -> None:
        """Nothing to run."""

    def st_expr(self, node: cst.Expr) -> None:
        value = _unawait(node.value)
        if isinstance(value, cst.Call):
            if self.result_barrier(value):
                return
            self.emit(node, lambda: self.call(value, None, statement=True))
        elif not isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
            self.carry(node)

    def st_assign(self, node: cst.Assign | cst.AnnAssign) -> None:
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        else:
            targets = [node.target]
        value = _unawait(node.value) if node.value is not None else None
        names = _names_of(targets[0])
        if value is None or len(targets) != 1 or not names:
            self.carry(node)
            return
        if isinstance(value, cst.Call) and self.is_logger(value):
            for name in names:
                self.env[name] = _LOGGER
            return
        hint = names[0] if isinstance(targets[0], cst.Name) else None
        # A pure binding (no step) must be fully understood, or the statement is carried.
        result = self.emit(node, lambda: self.expr(value, hint), strict=True)
        if result is None:
            return
        if isinstance(targets[0], cst.Name):
            self.env[names[0]] = result
        else:
            for i, name in enumerate(names):
                self.env[name] = Index(obj=result, index=Literal(value=i))

    def st_return(self, node: cst.Return) -> None:
        if node.value is None:
            return
        if self.nested or self.outputs:  # an early return: Kestra outputs are not conditional
            self.carry(node)
            return
        value = _unawait(node.value)
        if isinstance(value, cst.Dict) and all(
            isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
            for e in value.elements
        ):
            outputs = []
            for element in value.elements:
                expr = self.emit(node, lambda el=element: self.expr(el.value))
                if expr is None:
                    return
                key = element.key.evaluated_value  # type: ignore[union-attr]
                outputs.append(FlowOutput(id=str(key), value=expr, span=self.span(element)))
            self.outputs.extend(outputs)
            return
        expr = self.emit(node, lambda: self.expr(value))
        if expr is not None and not (isinstance(expr, Literal) and expr.value is None):
            self.outputs.append(FlowOutput(id="result", value=expr, span=self.span(node)))

    def st_raise(self, node: cst.Raise) -> None:
        exc = node.exc
        message: Any = None
        if isinstance(exc, cst.Call) and len(exc.args) == 1 and exc.args[0].keyword is None:
            message = self.expr(exc.args[0].value)
        elif exc is None:
            self.carry(node)
            return
        self.out.append(
            TaskStep(
                id=self.unique("fail"),
                action=Fail(message=message if message is not None else self.raw(exc)),
                span=self.span(node),
            )
        )

    def st_if(self, node: cst.If) -> None:
        condition = self.expr(node.test)
        branch_id = self.unique("if")
        self.nested += 1
        try:
            then = self.block(_statements(node.body))
            otherwise: tuple[Step, ...] = ()
            if isinstance(node.orelse, cst.Else):
                otherwise = self.block(_statements(node.orelse.body))
            elif isinstance(node.orelse, cst.If):
                otherwise = self.block([node.orelse])
        finally:
            self.nested -= 1
        if not then:  # Kestra's If needs a `then`: test the opposite instead
            then, otherwise, condition = otherwise, (), Not(operand=condition)
        if not then:  # nothing to run either way
            return
        guard = then[0] if len(then) == 1 and not otherwise else None
        if isinstance(guard, TaskStep) and isinstance(guard.action, Fail):
            if guard.action.condition is None and guard.run_if is None:
                # `if cond: raise …` is Kestra's Fail with a condition.
                action = guard.action.replace(condition=condition)
                self.out.append(guard.replace(action=action, span=self.span(node)))
                return
        self.out.append(
            Branch(
                id=branch_id,
                condition=condition,
                then=then,
                otherwise=otherwise,
                span=self.span(node),
            )
        )

    def st_try(self, node: cst.Try) -> None:
        """``try`` whose one handler catches everything and re-raises (Kestra ``errors``), or
        only logs a warning (a failure allowed), with an optional ``finally``."""
        handler = node.handlers[0] if len(node.handlers) == 1 else None
        catches_all = handler is not None and (
            handler.type is None
            or self.scope.qualify(handler.type) in ("Exception", "BaseException")
        )
        body = list(_statements(handler.body)) if handler is not None else []
        reraises = bool(body) and is_bare_raise(body[-1])
        warns = len(body) == 1 and self._is_warning(body[0])
        if node.orelse is not None or (
            handler is not None and not (catches_all and (reraises or warns))
        ):
            self.carry(node)
            return
        self.nested += 1
        try:
            steps = self.block(_statements(node.body))
            on_failure = self.block(body[:-1]) if reraises else ()
            final = self.block(_statements(node.finalbody.body)) if node.finalbody else ()
        finally:
            self.nested -= 1
        span = self.span(node)
        if warns:
            block: Step = AllowFailure(id=self.unique("allow_failure"), steps=steps, span=span)
            if final:
                block = Sequence(
                    id=self.unique("try"), steps=(block,), finally_steps=final, span=span
                )
        else:
            block = Sequence(
                id=self.unique("try"),
                steps=steps,
                on_failure=on_failure,
                finally_steps=final,
                span=span,
            )
        self.out.append(block)

    def _is_warning(self, statement: cst.CSTNode) -> bool:
        call = lone_call(statement)
        func = call.func if call is not None else None
        return (
            isinstance(func, cst.Attribute)
            and self.s.log_levels.get(func.attr.value) == "WARN"
            and self.is_log_target(func.value)
        )

    def st_for(self, node: cst.For) -> None:
        names = _names_of(node.target)
        if node.orelse is not None or node.asynchronous is not None or not names:
            self.carry(node)
            return
        items = self.expr(node.iter)
        loop_id = self.unique(f"for_{names[0]}")
        saved = {name: self.env.get(name) for name in names}
        single = isinstance(node.target, cst.Name)
        for i, name in enumerate(names):
            self.env[name] = _LoopVar(self.depth, None if single else i)
        self.depth += 1
        self.nested += 1
        try:
            steps = self.block(_statements(node.body))
        finally:
            self.depth -= 1
            self.nested -= 1
            for name, value in saved.items():
                if value is None:
                    self.env.pop(name, None)
                else:
                    self.env[name] = value
        parallel = bool(steps) and all(s.id in self.submitted for s in steps)
        self.out.append(
            Loop(
                id=loop_id,
                items=items,
                steps=steps,
                concurrency=0 if parallel else 1,
                span=self.span(node),
            )
        )

    # --- calls --------------------------------------------------------------------------------

    def result_barrier(self, call: cst.Call) -> bool:
        """``future.result()`` / ``.wait()`` as a statement: an ordering point, no step."""
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in self.s.result_methods
            and isinstance(func.value, cst.Name)
            and func.value.value in self.env
        ):
            self.out.append(_BARRIER)
            return True
        return False

    def is_logger(self, call: cst.Call) -> bool:
        return self.scope.qualify(call.func) in self.s.loggers

    def call(self, call: cst.Call, hint: str | None, statement: bool = False) -> Expr | None:
        """Lower a call that runs something (task, subflow, map, log, pause); emits the step
        and returns the expression of its result, or None when it is no such call."""
        func = call.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in self.s.submit_methods or method in self.s.map_methods:
                cal = self.r.callee(self.scope, func.value)
                if cal is not None and cal.kind == "task":
                    if method in self.s.map_methods:
                        return self.map_step(cal, call, hint)
                    return self.task_step(cal, call, hint, submitted=True)
            if method in self.s.log_levels and self.is_log_target(func.value):
                return self.log_step(call, self.s.log_levels[method])
        cal = self.r.callee(self.scope, func)
        if cal is not None:
            if cal.kind == "flow":
                return self.subflow_step(cal, call, hint)
            return self.task_step(cal, call, hint, submitted=False)
        qualified = self.scope.qualify(func) or ""
        if qualified in self.s.pause:
            return self.pause_step(call)
        if qualified in self.s.sleep and statement:
            return self.sleep_step(call)
        if qualified == "print" and self.log_prints and statement:
            return self.print_step(call)
        return None

    def is_log_target(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return self.env.get(node.value) is _LOGGER
        return isinstance(node, cst.Call) and self.is_logger(node)

    def arguments(
        self, cal: _Callable, call: cst.Call, mapped: bool = False
    ) -> tuple[dict[str, Any], list[tuple[str, cst.BaseExpression]], dict[str, cst.CSTNode]]:
        """Bind a call's arguments to the function's parameter names. Returns the bound
        argument nodes (in order), the mapped ones (``.map``) and Prefect call options."""
        params = cal.fn.params
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        star = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else "args"
        bound: dict[str, Any] = {}
        options: dict[str, cst.CSTNode] = {}
        index = 0
        for arg in call.args:
            if arg.keyword is not None:
                name = arg.keyword.value
                if name in self.s.call_options and name not in _param_names(cal.fn):
                    options[name] = arg.value
                    continue
                bound[name] = arg.value
            elif arg.star:
                bound[arg.star] = arg
            else:
                name = positional[index] if index < len(positional) else f"{star}_{index}"
                bound[name] = arg.value
                index += 1
        mapped_args: list[tuple[str, cst.BaseExpression]] = []
        if mapped:
            for name, value in list(bound.items()):
                if self.is_unmapped(value):
                    bound[name] = value.args[0].value
                elif isinstance(value, cst.BaseExpression) and not _is_scalar(value):
                    mapped_args.append((name, value))
        return bound, mapped_args, options

    def is_unmapped(self, node: Any) -> bool:
        return (
            isinstance(node, cst.Call)
            and bool(node.args)
            and self.scope.qualify(node.func) in self.s.unmapped
        )

    def step_options(self, cal: _Callable, options: dict[str, cst.CSTNode]) -> dict[str, Any]:
        """StepBase fields from a task's decorator options and the call's Prefect options."""
        lowered = self.r.options(cal)
        extras = dict(lowered.extras)
        fields: dict[str, Any] = {
            "retry": lowered.retry,
            "timeout": lowered.timeout,
            "tags": lowered.tags,
            "cache": lowered.cache,
            "description": _description(lowered, cal.fn),
        }
        for name, value in options.items():
            spec = self.s.call_options[name]
            if spec.handler == "wait_for":
                continue
            extras[name] = self.code(value)
            self.report(
                getattr(codes, spec.code or "P102"), value, option=name, value=self.code(value)
            )
        if extras:
            fields["extras"] = {EXTRAS_KEY: extras}
        return fields

    def task_step(
        self, cal: _Callable, call: cst.Call, hint: str | None, submitted: bool
    ) -> TaskOutput:
        step_id = self.unique(self.task_step_id(cal, hint))
        bound, _, options = self.arguments(cal, call)
        arguments = {name: self.argument(value) for name, value in bound.items()}
        self.out.append(self._task(cal, call, step_id, arguments, options))
        if submitted:
            self.submitted.add(step_id)
        if "wait_for" in options:
            wait = self.expr(options["wait_for"])  # type: ignore[arg-type]
            self.wait_for[step_id] = tuple(sorted(task_references(wait)))
        return TaskOutput(task=step_id, span=self.span(call))

    def task_step_id(self, cal: _Callable, hint: str | None) -> str:
        """A task call's step id: the variable its result goes to, else the task's name. A
        variable named after the task (``load_result = load(...)``, as the Prefect writer
        spells it) adds nothing to the task's name, which is then the id."""
        name = self.r.options(cal).name or cal.fn.name.value
        spelled = {
            identifier(f"{n}_{suffix}", suffix)
            for n in (name, cal.fn.name.value)
            if re.search("[0-9a-zA-Z]", n)  # else the variable would be just "result"
            for suffix in _BOUND
        }
        return hint if hint and hint not in spelled else name

    def _task(self, cal, call, step_id, arguments, options) -> TaskStep:
        source, dependencies = self.r.source(cal)
        action = PythonFunction(
            function=cal.fn.name.value,
            source=source,
            arguments=arguments,
            dependencies=dependencies,
            span=self.span(call),
        )
        return TaskStep(
            id=step_id, action=action, span=self.span(call), **self.step_options(cal, options)
        )

    def argument(self, value: Any) -> Expr:
        if isinstance(value, cst.Arg):  # *args / **kwargs spread
            return Raw(text=self.code(value), dialect="python", span=self.span(value))
        return self.expr(value)

    def map_step(self, cal: _Callable, call: cst.Call, hint: str | None) -> TaskOutput:
        step_id = self.unique(self.task_step_id(cal, hint))
        loop_id = self.unique(f"{step_id}_map")
        bound, mapped, options = self.arguments(cal, call, mapped=True)
        mapped_names = [name for name, _ in mapped]
        if len(mapped) == 1:
            items = self.expr(mapped[0][1])
        else:
            items = Raw(
                text=f"zip({', '.join(self.code(v) for _, v in mapped)})",
                dialect="python",
                span=self.span(call),
            )
        self.depth += 1
        try:
            arguments = {}
            for name, value in bound.items():
                if name in mapped_names:
                    item = LoopItem()
                    if len(mapped) > 1:
                        item = Index(obj=item, index=Literal(value=mapped_names.index(name)))
                    arguments[name] = item
                else:
                    arguments[name] = self.argument(value)
        finally:
            self.depth -= 1
        task = self._task(cal, call, step_id, arguments, options)
        self.out.append(
            Loop(id=loop_id, items=items, steps=(task,), concurrency=0, span=self.span(call))
        )
        return TaskOutput(task=step_id, span=self.span(call))

    def subflow_step(self, cal: _Callable, call: cst.Call, hint: str | None) -> TaskOutput:
        flow_id, _ = self.r.flow_id(cal)
        step_id = self.unique(hint or flow_id)
        bound, _, _ = self.arguments(cal, call)
        inputs = MapValue(
            entries=tuple(
                MapEntry(key=name, value=self.argument(value)) for name, value in bound.items()
            )
        )
        self.out.append(
            SubflowCall(
                id=step_id,
                namespace=Literal(value=self.r.namespace),
                flow_id=Literal(value=flow_id),
                inputs=inputs,
                wait=True,
                span=self.span(call),
            )
        )
        return TaskOutput(task=step_id, span=self.span(call))

    def log_step(self, call: cst.Call, level: str) -> Expr | None:
        args = [a for a in call.args if a.keyword is None and not a.star]
        if not args:
            return None
        message = self.expr(args[0].value)
        if len(args) > 1 and isinstance(message, Literal) and isinstance(message.value, str):
            message = self.percent(message.value, [a.value for a in args[1:]])
        self.out.append(
            TaskStep(
                id=self.unique("log"),
                action=Log(message=message, level=level),
                span=self.span(call),
            )
        )
        return Literal(value=None)

    def percent(self, fmt: str, args: list[cst.BaseExpression]) -> Expr:
        """``logger.info("%s rows", n)`` as a template."""
        pieces = _PERCENT.split(fmt)
        if len(pieces) - 1 != len(args):
            return Raw(text=fmt, dialect="python")
        parts: list[Any] = []
        for text, arg in zip(pieces, [*args, None], strict=True):
            if text:
                parts.append(text)
            if arg is not None:
                parts.append(Interpolation(expr=self.expr(arg)))
        return Template(parts=tuple(parts))

    def print_step(self, call: cst.Call) -> Expr | None:
        args = [a for a in call.args if a.keyword is None and not a.star]
        if len(args) != len(call.args) or not args:
            return None
        exprs = [self.expr(a.value) for a in args]
        if len(exprs) == 1:
            message = exprs[0]
        else:
            parts: list[Any] = []
            for i, expr in enumerate(exprs):
                if i:
                    parts.append(" ")
                if isinstance(expr, Literal) and isinstance(expr.value, str):
                    parts.append(expr.value)
                else:
                    parts.append(Interpolation(expr=expr))
            message = Template(parts=tuple(parts))
        self.out.append(
            TaskStep(
                id=self.unique("log"),
                action=Log(message=message, level="INFO"),
                span=self.span(call),
            )
        )
        return Literal(value=None)

    def sleep_step(self, call: cst.Call) -> Expr | None:
        """``time.sleep(seconds)`` with a constant duration → Sleep."""
        args = [a for a in call.args if a.keyword is None and not a.star]
        seconds = (
            self.r.const(self.scope, args[0].value) if len(call.args) == len(args) == 1 else _NO
        )
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            return None
        step_id = self.unique("sleep")
        duration = dt.timedelta(seconds=seconds)
        self.out.append(TaskStep(id=step_id, action=Sleep(duration=duration), span=self.span(call)))
        return Literal(value=None)

    def pause_step(self, call: cst.Call) -> Expr:
        kwargs = _keywords(self.scope, call)
        duration = None
        extras = {}
        for name, (_, value) in kwargs.items():
            seconds = self.r.const(self.scope, value) if name == "timeout" else _NO
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                duration = dt.timedelta(seconds=seconds)
                self.report(
                    codes.P103,
                    value,
                    option="pause_flow_run timeout",
                    reason="Kestra resumes after the duration; Prefect fails the paused run",
                )
            else:
                extras[name] = self.code(value)
                self.report(codes.P102, value, option=name, value=_short(self.code(value)))
        self.out.append(
            Pause(
                id=self.unique("pause"),
                duration=duration,
                extras={EXTRAS_KEY: extras} if extras else {},
                span=self.span(call),
            )
        )
        return Literal(value=None)

    # --- grouping -------------------------------------------------------------------------------

    def group(self, items: list[Any]) -> tuple[Step, ...]:
        """Runs of consecutive submitted tasks become a Parallel (independent) or a Dag (with
        depends_on from data and ``wait_for``)."""
        steps: list[Step] = []
        run: list[TaskStep] = []

        def flush() -> None:
            if len(run) < 2:
                steps.extend(run)
            else:
                steps.append(self.parallel(run))
            run.clear()

        for item in items:
            if isinstance(item, TaskStep) and item.id in self.submitted:
                run.append(item)
                continue
            flush()
            if item is not _BARRIER:
                steps.append(item)
        flush()
        return tuple(steps)

    def parallel(self, run: list[TaskStep]) -> Step:
        ids = {step.id for step in run}
        edges = {}
        for step in run:
            refs = set(self.wait_for.get(step.id, ()))
            for value in getattr(step.action, "arguments", {}).values():
                refs |= task_references(value)
            edges[step.id] = tuple(sorted(refs & ids))
        if not any(edges.values()):
            return Parallel(id=self.unique("parallel"), steps=tuple(run), span=run[0].span)
        return Dag(
            id=self.unique("dag"),
            steps=tuple(step.replace(depends_on=edges[step.id]) for step in run),
            span=run[0].span,
        )

    # --- expressions ----------------------------------------------------------------------------

    def expr(self, node: cst.BaseExpression, hint: str | None = None) -> Expr:
        """The IR expression for a Python expression; task and flow calls inside it are
        lowered to steps first. What cannot be understood becomes Raw python."""
        handler = _EXPRS.get(type(node))
        result = handler(self, node, hint) if handler else None
        if result is None:
            result = self.raw(node)
        if result.span is None:
            result = result.replace(span=self.span(node))
        return result

    def e_name(self, node: cst.Name, hint) -> Expr | None:
        value = node.value
        bound = self.env.get(value)
        if isinstance(bound, _LoopVar):
            item = LoopItem(depth=self.depth - 1 - bound.level)
            if bound.index is None:
                return item
            return Index(obj=item, index=Literal(value=bound.index))
        if bound is _LOGGER:
            return None
        if bound is not None:
            return bound
        constant = self.r.const(self.scope, node)
        if constant is _NO:
            return None
        if _is_constant_name(value) and _is_plain_data(constant):
            # A module constant is a flow variable (Kestra `vars.x`), not a value copied in.
            self.variables.setdefault(value.lower(), _data(constant))
            return Var(name=value.lower(), span=self.span(node))
        return _data(constant)

    def e_literal(self, node, hint) -> Expr | None:
        value = node.evaluated_value
        return None if value is None or isinstance(value, bytes) else Literal(value=value)

    def e_sequence(self, node: cst.List | cst.Tuple, hint) -> Expr | None:
        items = []
        for element in node.elements:
            if not isinstance(element, cst.Element):
                return None
            items.append(self.expr(element.value))
        return ListValue(items=tuple(items))

    def e_dict(self, node: cst.Dict, hint) -> Expr | None:
        entries = []
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return None
            key = self.r.const(self.scope, element.key)
            if key is _NO or isinstance(key, (list, dict, tuple)):
                return None
            entries.append(MapEntry(key=key, value=self.expr(element.value)))
        return MapValue(entries=tuple(entries))

    def e_fstring(self, node: cst.FormattedString, hint) -> Expr | None:
        prefix = node.start[:-1].replace("f", "").replace("F", "")
        quote = node.start[len(node.start.rstrip("'\"")) :]
        parts: list[Any] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = part.value.replace("{{", "{").replace("}}", "}")
                try:
                    text = ast.literal_eval(prefix + quote + text + quote)
                except (SyntaxError, ValueError):
                    pass
                parts.append(text)
            elif part.conversion or part.format_spec or part.equal:
                parts.append(Raw(text=self.code(part), dialect="python", span=self.span(part)))
            else:
                parts.append(Interpolation(expr=self.expr(part.expression)))
        return Template(parts=tuple(parts))

    def e_call(self, node: cst.Call, hint) -> Expr | None:
        lowered = self.call(node, hint)
        if lowered is not None:
            return lowered
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in self.s.result_methods and not node.args:
                return self.expr(func.value)  # future.result()
            if method in self.s.secret_getters and isinstance(func.value, (cst.Call, cst.Await)):
                loader = _unawait(func.value)
                if isinstance(loader, cst.Call) and (
                    self.scope.qualify(loader.func) in self.s.secret_loaders
                ):
                    name = self._first_string(loader)
                    if name is not None:
                        return Secret(name=name)
        if self.scope.qualify(func) in self.s.variable_getters:
            key = self._first_string(node)
            if key is not None:
                return KV(key=key)
        return None

    def _first_string(self, call: cst.Call) -> str | None:
        args = [a for a in call.args if a.keyword in (None,) or a.keyword.value == "name"]
        if not args:
            return None
        value = self.r.const(self.scope, args[0].value)
        return value if isinstance(value, str) else None

    def e_attribute(self, node: cst.Attribute, hint) -> Expr | None:
        constant = self.r.const(self.scope, node)
        if constant is not _NO:
            return _data(constant)
        path = dotted(node)
        if path is not None and path.split(".")[0] not in self.env:
            return None  # a module attribute (os.environ, …): Raw python
        return Attr(obj=self.expr(node.value), name=node.attr.value)

    def e_subscript(self, node: cst.Subscript, hint) -> Expr | None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return None
        base = self.expr(node.value)
        key = self.r.const(self.scope, node.slice[0].slice.value)
        if isinstance(base, TaskOutput) and isinstance(key, str):
            return base.replace(path=(*base.path, key))
        index = _data(key) if key is not _NO else self.expr(node.slice[0].slice.value)
        return Index(obj=base, index=index)

    def e_compare(self, node: cst.Comparison, hint) -> Expr | None:
        result = None
        left = self.expr(node.left)
        for target in node.comparisons:
            op = _COMPARE_OPS.get(type(target.operator))
            if op is None:
                return None
            right = self.expr(target.comparator)
            if isinstance(target.operator, (cst.Is, cst.IsNot)) and not isinstance(right, Literal):
                return None
            compare = Compare(op=op, left=left, right=right)
            result = compare if result is None else BinOp(op="and", left=result, right=compare)
            left = right
        return result

    def e_boolean(self, node: cst.BooleanOperation, hint) -> Expr:
        op = "and" if isinstance(node.operator, cst.And) else "or"
        return BinOp(op=op, left=self.expr(node.left), right=self.expr(node.right))

    def e_binary(self, node: cst.BinaryOperation, hint) -> Expr | None:
        op = _BINARY_OPS.get(type(node.operator))
        if op is None:
            return None
        return BinOp(op=op, left=self.expr(node.left), right=self.expr(node.right))

    def e_unary(self, node: cst.UnaryOperation, hint) -> Expr | None:
        if isinstance(node.operator, cst.Not):
            return Not(operand=self.expr(node.expression))
        constant = self.r.const(self.scope, node)
        if constant is not _NO:
            return _data(constant)
        if isinstance(node.operator, cst.Minus):
            return Negate(operand=self.expr(node.expression))
        return None

    def e_ifexp(self, node: cst.IfExp, hint) -> Expr:
        return Conditional(
            condition=self.expr(node.test),
            then=self.expr(node.body),
            otherwise=self.expr(node.orelse),
        )

    def e_await(self, node: cst.Await, hint) -> Expr:
        return self.expr(node.expression, hint)

    def e_listcomp(self, node: cst.ListComp, hint) -> Expr | None:
        """``[f.result() for f in futures]`` is ``futures``; anything else is Raw."""
        comp = node.for_in
        if comp.ifs or comp.inner_for_in is not None or not isinstance(comp.target, cst.Name):
            return None
        elt = node.elt
        if isinstance(elt, cst.Call) and isinstance(elt.func, cst.Attribute) and not elt.args:
            if elt.func.attr.value in self.s.result_methods:
                elt = elt.func.value
        if isinstance(elt, cst.Name) and elt.value == comp.target.value:
            source = self.expr(comp.iter)
            return source if isinstance(source, TaskOutput) else None
        return None


def _unawait(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.expression if isinstance(node, cst.Await) else node


def _statements(block: cst.BaseSuite) -> list[cst.CSTNode]:
    if isinstance(block, cst.SimpleStatementSuite):
        return list(block.body)
    return list(block.body)  # type: ignore[attr-defined]


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _names_of(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)) and all(
        isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in target.elements
    ):
        return [e.value.value for e in target.elements]  # type: ignore[union-attr]
    return []


def _param_names(fn: cst.FunctionDef) -> set[str]:
    params = fn.params
    return {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}


def _is_scalar(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)) or (
        isinstance(node, cst.Name) and node.value in ("True", "False", "None")
    )


def _callee_name(statement: cst.CSTNode) -> cst.BaseExpression | None:
    """The plain name called by a statement such as ``x = helper(...)``, if any."""
    value = getattr(statement, "value", None)
    value = _unawait(value) if isinstance(value, cst.BaseExpression) else None
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
        return value.func
    return None


_STATEMENTS: dict[type, Callable[[_FlowLowering, Any], None]] = {
    cst.SimpleStatementLine: _FlowLowering.st_line,
    cst.SimpleStatementSuite: _FlowLowering.st_line,
    cst.Expr: _FlowLowering.st_expr,
    cst.Assign: _FlowLowering.st_assign,
    cst.AnnAssign: _FlowLowering.st_assign,
    cst.Return: _FlowLowering.st_return,
    cst.Raise: _FlowLowering.st_raise,
    cst.Pass: _FlowLowering.st_pass,
    cst.If: _FlowLowering.st_if,
    cst.For: _FlowLowering.st_for,
    cst.Try: _FlowLowering.st_try,
}

_EXPRS: dict[type, Callable[[_FlowLowering, Any, Any], Expr | None]] = {
    cst.Name: _FlowLowering.e_name,
    cst.SimpleString: _FlowLowering.e_literal,
    cst.ConcatenatedString: _FlowLowering.e_literal,
    cst.Integer: _FlowLowering.e_literal,
    cst.Float: _FlowLowering.e_literal,
    cst.List: _FlowLowering.e_sequence,
    cst.Tuple: _FlowLowering.e_sequence,
    cst.Dict: _FlowLowering.e_dict,
    cst.FormattedString: _FlowLowering.e_fstring,
    cst.Call: _FlowLowering.e_call,
    cst.Attribute: _FlowLowering.e_attribute,
    cst.Subscript: _FlowLowering.e_subscript,
    cst.Comparison: _FlowLowering.e_compare,
    cst.BooleanOperation: _FlowLowering.e_boolean,
    cst.BinaryOperation: _FlowLowering.e_binary,
    cst.UnaryOperation: _FlowLowering.e_unary,
    cst.IfExp: _FlowLowering.e_ifexp,
    cst.Await: _FlowLowering.e_await,
    cst.ListComp: _FlowLowering.e_listcomp,
}
