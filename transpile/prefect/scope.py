"""Static name resolution for the Prefect reader, without libcst's scope providers.

A module's top-level bindings (imports, functions, classes, assignments) are collected in one
cheap pass over its body; import aliases are resolved from the module's own import statements
(``from prefect import flow as f`` makes ``f`` mean ``prefect.flow``). A :class:`Repo` follows
imports between the modules of one repository, and :func:`bundle` assembles the
self-contained source of a task: the imports and module-level helpers it uses, transitively,
then the function itself with its Prefect decorators removed.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from .positions import Positions

STDLIB = frozenset(sys.stdlib_module_names)


@dataclass
class Binding:
    """What a module-level name is bound to. ``kind`` is import, def, class or assign;
    ``node`` the statement (a FunctionDef, ClassDef or SimpleStatementLine); for imports,
    ``target`` is the dotted name imported and ``text`` a minimal statement binding just
    this name."""

    kind: str
    node: cst.CSTNode
    target: str | None = None
    text: str | None = None
    relative: bool = False
    value: cst.BaseExpression | None = None  # assignments: the value assigned


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _module_text(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    return dotted(node) or ""  # type: ignore[arg-type]


class ModuleScope:
    """One parsed module: its name, its top-level bindings and how to qualify names in it."""

    def __init__(
        self,
        module: cst.Module,
        text: str,
        name: str,
        file: str | None,
        is_package: bool = False,
        *,
        tree: ast.Module | None = None,
    ) -> None:
        """``tree`` is the stdlib ``ast`` of ``text``, when CPython parses it: names are
        analysed on it rather than on libcst's tree."""
        self.module = module
        self.text = text  # the source as read (regenerating it from the tree is not free)
        self.name = name
        self.file = file
        self.package = name if is_package else name.rpartition(".")[0]
        self.bindings: dict[str, Binding] = {}
        self.positions = Positions(module)  # computed on the first span or source asked for
        # The ast statements of the statements bindings are collected from, by libcst node id.
        self._syntax: dict[int, list[ast.stmt]] = {}
        self._collect(module.body, tree.body if tree is not None else None)

    # --- collection ---------------------------------------------------------------------------

    def _collect(self, body, syntax: list[ast.stmt] | None) -> None:
        paired = _pair(body, syntax) if syntax is not None else None
        for i, stmt in enumerate(body):
            same = paired[i] if paired is not None else None
            if same is not None:
                self._syntax[id(stmt)] = same
            if isinstance(stmt, cst.FunctionDef):
                self.bindings[stmt.name.value] = Binding("def", stmt)
            elif isinstance(stmt, cst.ClassDef):
                self.bindings[stmt.name.value] = Binding("class", stmt)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self._small(small, stmt)
            elif isinstance(stmt, cst.If) and not _is_main_guard(stmt):
                # Conditional imports and definitions (`if TYPE_CHECKING:`, version checks).
                self._collect(stmt.body.body, same[0].body if same else None)  # type: ignore
            elif isinstance(stmt, cst.Try):
                # `try: import x / except ImportError:`
                self._collect(stmt.body.body, same[0].body if same else None)  # type: ignore

    def _small(self, small: cst.BaseSmallStatement, line: cst.SimpleStatementLine) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                full = _module_text(alias.name)
                if alias.asname is not None:
                    local = alias.asname.name.value  # type: ignore[union-attr]
                    self.bindings[local] = Binding(
                        "import", line, full, f"import {full} as {local}"
                    )
                else:
                    top = full.split(".")[0]
                    self.bindings[top] = Binding("import", line, top, f"import {full}")
        elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            dots = len(small.relative)
            base = _module_text(small.module)
            source = "." * dots + base
            absolute = self._absolute(dots, base)
            for alias in small.names:
                name = alias.name.value  # type: ignore[union-attr]
                local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
                text = f"from {source} import {name}" + (f" as {local}" if local != name else "")
                target = f"{absolute}.{name}" if absolute else name
                self.bindings[local] = Binding("import", line, target, text, relative=dots > 0)
        elif isinstance(small, (cst.Assign, cst.AnnAssign)):
            targets = (
                [t.target for t in small.targets]
                if isinstance(small, cst.Assign)
                else [small.target]
            )
            for target in targets:
                for name in _target_names(target):
                    self.bindings[name] = Binding("assign", line, value=small.value)

    def _absolute(self, dots: int, base: str) -> str:
        if dots == 0:
            return base
        parts = self.package.split(".") if self.package else []
        if dots > 1:
            parts = parts[: len(parts) - (dots - 1)]
        return ".".join(p for p in (*parts, *([base] if base else [])) if p)

    # --- queries ------------------------------------------------------------------------------

    def qualify(self, node: cst.BaseExpression) -> str | None:
        """The dotted name ``node`` refers to through this module's imports: ``pf.flow`` with
        ``import prefect as pf`` is ``prefect.flow``; a local definition ``x`` is
        ``<module>.x``; an unbound name (a builtin) is itself."""
        text = dotted(node)
        if text is None:
            return None
        root, _, rest = text.partition(".")
        binding = self.bindings.get(root)
        if binding is None:
            return text
        base = binding.target if binding.kind == "import" else f"{self.name}.{root}"
        return f"{base}.{rest}" if rest else base

    def free_names(self, node: cst.CSTNode) -> tuple[list[str], list[str]]:
        """:func:`free_names` of a statement bindings were collected from, found on the stdlib
        ``ast`` of the statement when there is one (walking it is far cheaper)."""
        syntax = self._syntax.get(id(node))
        if syntax is None:
            return free_names(node)
        names = _SyntaxNames()
        if isinstance(node, cst.FunctionDef):
            names.function(syntax[0], with_header=False)  # type: ignore[arg-type]
        else:
            names.visit_all(syntax)
        return [n for n in names.loaded if n not in names.stored], names.imports

    def code(self, node: cst.CSTNode, without: Collection[cst.CSTNode] = ()) -> str:
        """The exact source of ``node``, less its leading lines and decorators listed in
        ``without``."""
        text = self.positions.code_of(node, without)
        if text is not None:
            return text
        if without:
            changes = {
                name: [part for part in getattr(node, name) if part not in without]
                for name in ("leading_lines", "decorators")
                if hasattr(node, name)
            }
            node = node.with_changes(**changes)
        return self.module.code_for_node(node)


_AST_NAMES = {"Del": "Delete"}  # libcst statement class names that ast spells differently


def _pair(body, syntax: list[ast.stmt]) -> list[list[ast.stmt]] | None:
    """The ast statements of each libcst statement of a block (several for a line such as
    ``a = 1; b = 2``), or None when the two trees do not line up."""
    paired, at = [], 0
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            parts = stmt.body
        elif isinstance(stmt, cst.BaseCompoundStatement):
            parts = [stmt]
        else:
            return None
        same = syntax[at : at + len(parts)]
        if len(same) != len(parts) or any(
            type(b).__name__.removeprefix("Async")
            != _AST_NAMES.get(type(a).__name__, type(a).__name__)
            for a, b in zip(parts, same, strict=True)
        ):
            return None
        paired.append(same)
        at += len(parts)
    return paired if at == len(syntax) else None


def _is_main_guard(stmt: cst.If) -> bool:
    test = stmt.test
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
    )


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for el in target.elements for n in _target_names(el.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


# --- free names -----------------------------------------------------------------------------


class _Names(cst.CSTVisitor):
    """Names read and names bound anywhere inside a definition."""

    def __init__(self) -> None:
        self.loaded: dict[str, None] = {}  # insertion-ordered set
        self.stored: set[str] = set()
        self.imports: list[str] = []  # modules imported inside the definition

    def visit_Name(self, node: cst.Name) -> None:
        self.loaded.setdefault(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # a keyword's name is not a read
        return False

    def visit_Param(self, node: cst.Param) -> bool:
        self.stored.add(node.name.value)
        for part in (node.annotation, node.default):
            if part is not None:
                part.visit(self)
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.stored.update(_target_names(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.stored.update(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.stored.update(_target_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self.stored.update(_target_names(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.stored.update(_target_names(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:
        self.stored.update(_target_names(node.name))  # type: ignore[arg-type]

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.stored.update(_target_names(node.target))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stored.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stored.add(node.name.value)

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            full = _module_text(alias.name)
            self.imports.append(full)
            self.stored.add(
                alias.asname.name.value if alias.asname else full.split(".")[0]  # type: ignore
            )
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not node.relative:
            self.imports.append(_module_text(node.module))
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                self.stored.add(
                    alias.asname.name.value if alias.asname else alias.name.value  # type: ignore
                )
        return False


class _SyntaxNames:
    """What :class:`_Names` finds, in the same order, from the stdlib ``ast`` of the same
    code: libcst visits in source order (but a class's keywords after all its bases) and
    counts every ``Name`` node as read, including ``global`` names, ``match`` captures and
    ``True``/``False``/``None``, which ``ast`` holds as plain strings or constants."""

    def __init__(self) -> None:
        self.loaded: dict[str, None] = {}
        self.stored: set[str] = set()
        self.imports: list[str] = []

    def visit(self, node: ast.AST) -> None:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is not None:
            method(node)
        else:
            for child in ast.iter_child_nodes(node):
                self.visit(child)

    def visit_all(self, nodes) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def read(self, name: str | None) -> None:
        if name is not None:
            self.loaded.setdefault(name)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, with_header: bool) -> None:
        if with_header:  # a nested definition: its name is bound, its decorators are read
            self.stored.add(node.name)
            self.visit_all(node.decorator_list)
            self.visit_all(getattr(node, "type_params", ()))
        self.visit(node.args)
        self.visit_all((node.returns, *node.body))

    def param(self, arg: ast.arg, default: ast.expr | None) -> None:
        self.stored.add(arg.arg)
        self.visit_all((arg.annotation, default))

    def visit_Name(self, node: ast.Name) -> None:
        self.read(node.id)
        if isinstance(node.ctx, ast.Store):
            self.stored.add(node.id)

    def visit_Constant(self, node: ast.Constant) -> None:
        if node.value is None or node.value is True or node.value is False:
            self.read(str(node.value))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.function(node, with_header=True)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stored.add(node.name)
        self.visit_all((*node.decorator_list, *getattr(node, "type_params", ()), *node.bases))
        self.visit_all((*node.keywords, *node.body))

    def visit_arguments(self, node: ast.arguments) -> None:
        positional = [*node.posonlyargs, *node.args]
        defaults = [None] * (len(positional) - len(node.defaults)) + list(node.defaults)
        for arg, default in zip(positional, defaults, strict=True):
            self.param(arg, default)
        if node.vararg is not None:
            self.param(node.vararg, None)
        for arg, default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
            self.param(arg, default)
        if node.kwarg is not None:
            self.param(node.kwarg, None)

    def visit_Call(self, node: ast.Call) -> None:
        self.visit(node.func)
        arguments: list[ast.AST] = [*node.args, *node.keywords]
        if node.keywords and any(isinstance(a, ast.Starred) for a in node.args):
            # `f(a=1, *rest)`: the only way a positional argument follows a keyword one
            arguments.sort(key=lambda a: (a.lineno, a.col_offset))
        self.visit_all(arguments)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            self.visit_all((key, value))

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.visit_all((node.body, node.test, node.orelse))

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self.visit_all((node.type,))
        if node.name is not None:
            self.stored.add(node.name)
        self.visit_all(node.body)

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        for name in node.names:
            self.read(name)

    visit_Nonlocal = visit_Global

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append(alias.name)
            self.stored.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.level:
            self.imports.append(node.module or "")
        for alias in node.names:
            if alias.name != "*":
                self.stored.add(alias.asname or alias.name)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.visit_all((node.pattern,))
        self.read(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self.read(node.name)

    def visit_MatchSingleton(self, node: ast.MatchSingleton) -> None:
        self.read(str(node.value))

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        for key, pattern in zip(node.keys, node.patterns, strict=True):
            self.visit_all((key, pattern))
        self.read(node.rest)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        self.visit_all((node.cls, *node.patterns))
        for attr, pattern in zip(node.kwd_attrs, node.kwd_patterns, strict=True):
            self.read(attr)
            self.visit(pattern)

    def visit_TypeVar(self, node: ast.AST) -> None:  # Python 3.12 type parameters
        self.read(node.name)  # type: ignore[attr-defined]
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    visit_ParamSpec = visit_TypeVarTuple = visit_TypeVar


def free_names(node: cst.CSTNode) -> tuple[list[str], list[str]]:
    """Names ``node`` reads but does not bind itself (in first-use order), and the modules it
    imports inside its body."""
    names = _Names()
    if isinstance(node, cst.FunctionDef):
        # The function's own name is not a dependency, nor are its (removed) decorators.
        for part in (node.params, node.returns, node.body):
            if part is not None:
                part.visit(names)
    else:
        node.visit(names)
    return [n for n in names.loaded if n not in names.stored], names.imports


# --- the repository -------------------------------------------------------------------------


def module_name(real_root: Path, path: Path, real_path: Path) -> tuple[str, bool]:
    """The dotted module name of ``path`` under a repository's root and whether it is a
    package. ``real_root`` and ``real_path`` are the root and the path resolved (resolving
    costs system calls: callers do it once per path)."""
    try:
        parts = list(real_path.relative_to(real_root).with_suffix("").parts)
    except ValueError:
        parts = [path.stem]
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts) or path.stem, is_package


class Repo:
    """The modules of one repository, by dotted name, and lookups that follow imports."""

    def __init__(self) -> None:
        self.modules: dict[str, ModuleScope] = {}
        # free_names of definitions, by node id: helpers shared by many tasks are walked once
        self.free_names: dict[int, tuple[list[str], list[str]]] = {}

    def add(self, scope: ModuleScope) -> None:
        self.modules[scope.name] = scope
        if scope.name.startswith("src."):  # the src layout: importable without the prefix
            self.modules.setdefault(scope.name[4:], scope)

    @property
    def top_levels(self) -> set[str]:
        return {name.split(".")[0] for name in self.modules}

    def split(self, qualified: str) -> tuple[ModuleScope, str | None] | None:
        """The repo module a dotted name lives in and the attribute inside it (None when the
        name is the module itself)."""
        parts = qualified.split(".")
        for n in range(len(parts), 0, -1):
            scope = self.modules.get(".".join(parts[:n]))
            if scope is not None:
                rest = parts[n:]
                if len(rest) > 1:
                    return None  # an attribute of an attribute: not followed
                return scope, rest[0] if rest else None
        return None

    def lookup(
        self, scope: ModuleScope, name: str, _seen: frozenset[tuple[str, str]] = frozenset()
    ) -> tuple[ModuleScope, str, Binding] | None:
        """Where ``name`` (as seen from ``scope``) is defined: the module, the name there and
        its binding. Imports of repo modules are followed; other imports stop at the import."""
        key = (scope.name, name)
        binding = scope.bindings.get(name)
        if binding is None or key in _seen:
            return None
        if binding.kind == "import" and binding.target:
            found = self.split(binding.target)
            if found is None and not binding.relative and scope.package:
                # Script-style imports of siblings (`from utils.tasks import t` next to the
                # flow file): Python finds them because the script's folder is on sys.path.
                found = self.split(f"{scope.package}.{binding.target}")
            if found is not None:
                target_scope, attr = found
                if attr is not None:
                    deeper = self.lookup(target_scope, attr, _seen | {key})
                    if deeper is not None:
                        return deeper
                    submodule = self.modules.get(f"{target_scope.name}.{attr}")
                    if submodule is not None:
                        return submodule, attr, binding
        return scope, name, binding

    def resolve_qualified(self, qualified: str) -> tuple[ModuleScope, str, Binding] | None:
        """Look up a dotted name such as ``pkg.tasks.extract``."""
        found = self.split(qualified)
        if found is None or found[1] is None:
            return None
        return self.lookup(found[0], found[1])


# --- bundling -------------------------------------------------------------------------------


@dataclass
class Bundle:
    """The self-contained source of a function and the modules it imports."""

    source: str
    modules: list[str] = field(default_factory=list)


def bundle(
    repo: Repo,
    scope: ModuleScope,
    fn: cst.FunctionDef,
    is_prefect: Callable[[ModuleScope, cst.Decorator], bool],
) -> Bundle:
    """The source of ``fn`` preceded by the module-level imports, constants, classes and
    helper functions it uses (transitively, across the repo's modules), with decorators that
    ``is_prefect`` recognises removed. Imports of repo modules are replaced by the code they
    import."""
    imports: dict[str, None] = {}
    modules: list[str] = []
    definitions: list[str] = []
    done: set[int] = set()
    repo_tops = repo.top_levels

    def render(where: ModuleScope, node: cst.CSTNode) -> str:
        without: list[cst.CSTNode] = []
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.SimpleStatementLine)):
            without.extend(node.leading_lines)
        if isinstance(node, cst.FunctionDef):
            without.extend(d for d in node.decorators if is_prefect(where, d))
        return where.code(node, without).strip("\n")

    def visit(where: ModuleScope, node: cst.CSTNode) -> None:
        known = repo.free_names.get(id(node))
        if known is None:
            known = repo.free_names[id(node)] = where.free_names(node)
        names, inner_imports = known
        modules.extend(m for m in inner_imports if m.split(".")[0] not in repo_tops)
        for name in names:
            found = repo.lookup(where, name)
            if found is None:
                continue
            owner, defined, binding = found
            if binding.kind == "import":
                # A repo import still here could not be inlined (a whole module): kept as is.
                imports.setdefault(binding.text or "")
                if not binding.relative:
                    modules.append(binding.target or "")
                continue
            if id(binding.node) not in done:
                done.add(id(binding.node))
                visit(owner, binding.node)
                definitions.append(render(owner, binding.node))
            if defined != name:  # imported under another name: `from .h import f as g`
                definitions.append(f"{name} = {defined}")

    visit(scope, fn)
    parts = [p for p in ("\n".join(imports), *definitions, render(scope, fn)) if p]
    return Bundle(source="\n\n\n".join(parts) + "\n", modules=modules)


def distributions(
    modules: list[str], repo: Repo, excluded: frozenset[str], name_of: Callable[[str], str]
) -> tuple[str, ...]:
    """Sorted PyPI distribution names of third-party ``modules`` (stdlib, repo modules and
    ``excluded`` left out)."""
    repo_tops = repo.top_levels
    found = set()
    for module in modules:
        top = module.split(".")[0]
        if not top or top in STDLIB or top in excluded or top in repo_tops:
            continue
        found.add(name_of(module))
    return tuple(sorted(found))
