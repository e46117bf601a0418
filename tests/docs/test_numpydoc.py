"""Every exported name of a numpydoc package has the sections its signature calls for.

ruff's pydocstyle rules (``D``, numpy convention, with ``D417``) check the form of docstrings
and that a Parameters section, when present, lists every parameter; they cannot require the
section. This test does, for the names users learn: everything in a package's ``__all__`` and
the public methods those classes define. A function with parameters has ``Parameters``, one
that returns a value has ``Returns`` (properties excepted); a class with fields or constructor
parameters has ``Parameters`` or ``Attributes`` (enums and exceptions excepted).

The packages are those ruff checks with ``D``: every package except the ones
``pyproject.toml``'s per-file-ignores exempt as "not converted yet", so converting a package is
one edit there.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "src" / "crypto_strategy_lab"


def _exempt_packages() -> set[str]:
    """Packages whose whole tree ignores ``D`` (``src/crypto_strategy_lab/{a,b}/**``)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    ignores = config["tool"]["ruff"]["lint"]["per-file-ignores"]
    exempt: set[str] = set()
    for pattern, rules in ignores.items():
        match = re.fullmatch(r"src/crypto_strategy_lab/\{?([\w,]+)\}?/\*\*", pattern)
        if match and "D" in rules:
            exempt.update(match.group(1).split(","))
    return exempt


def _packages() -> list[str]:
    exempt = _exempt_packages()
    packages = (p for p in PACKAGE_ROOT.iterdir() if (p / "__init__.py").is_file())
    return sorted(p.name for p in packages if p.name not in exempt)


def _has(doc: str, section: str) -> bool:
    return re.search(rf"^{section}\n-{{3,}}$", doc, re.M) is not None


def _missing_function_sections(func: object) -> list[str]:
    doc = inspect.getdoc(func) or ""
    if not doc:
        return ["docstring"]
    signature = inspect.signature(func)  # type: ignore[arg-type]
    missing = []
    if any(p not in ("self", "cls") for p in signature.parameters) and not _has(doc, "Parameters"):
        missing.append("Parameters")
    returns = signature.return_annotation
    if returns not in (None, "None", inspect.Signature.empty) and not (
        _has(doc, "Returns") or _has(doc, "Yields")
    ):
        missing.append("Returns")
    return missing


def _missing_class_sections(cls: type) -> list[str]:
    doc = inspect.getdoc(cls) if cls.__doc__ else ""
    if not doc:
        return ["docstring"]
    if issubclass(cls, enum.Enum | BaseException):
        return []
    try:
        fields = [p for p in inspect.signature(cls).parameters if p not in ("args", "kwargs")]
    except (TypeError, ValueError):
        fields = []
    if fields and not (_has(doc, "Parameters") or _has(doc, "Attributes")):
        return ["Parameters or Attributes"]
    return []


def _public_names(package: str) -> Iterator[tuple[str, list[str]]]:
    """``(qualified name, missing sections)`` of each exported name and its public methods."""
    module = importlib.import_module(f"crypto_strategy_lab.{package}")
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        where = f"crypto_strategy_lab.{package}.{name}"
        if inspect.isclass(obj):
            yield where, _missing_class_sections(obj)
            for attr, member in vars(obj).items():
                func = getattr(member, "__func__", member)  # static and class methods
                if attr.startswith("_") or not inspect.isfunction(func):
                    continue
                if func.__qualname__.startswith(obj.__qualname__):  # defined here
                    yield f"{where}.{attr}", _missing_function_sections(func)
        elif callable(obj):
            yield where, _missing_function_sections(obj)


def test_the_numpydoc_scope_is_the_ruff_scope() -> None:
    # every package is converted (no per-file exemption leaves a whole package out of
    # scope); a package pattern that the regex misread would drop one of them from the test
    assert _exempt_packages() == set()
    assert {"validation", "stats", "risk", "backtest", "strategies", "engine"} <= set(_packages())


@pytest.mark.parametrize("package", _packages())
def test_exported_names_have_their_numpydoc_sections(package: str) -> None:
    gaps = {name: missing for name, missing in _public_names(package) if missing}
    assert gaps == {}, f"exported names without their numpydoc sections: {gaps}"


def _strategy_packages() -> list[str]:
    root = PACKAGE_ROOT / "strategies"
    return sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())


@pytest.mark.parametrize("strategy", _strategy_packages())
def test_each_strategy_package_has_its_numpydoc_sections(strategy: str) -> None:
    # the strategy packages (strategies/<name>/) export their Signal class; a docstring edit
    # there keeps their trials' identities (research.identity hashes docstring-free ASTs)
    gaps = {name: missing for name, missing in _public_names(f"strategies.{strategy}") if missing}
    assert gaps == {}, f"exported names without their numpydoc sections: {gaps}"


# -- every public function, exported or not ------------------------------------------------------
#
# The tests above import the packages and see what ``__all__`` exports; this one reads every
# public module's source (AST, no import), so a public helper that no package exports, a
# method of a class kept out of ``__all__`` and a typer command in ``cli/`` are held to the
# same rule: a function with parameters other than ``self``/``cls`` has ``Parameters``, one
# that returns a value has ``Returns`` or ``Yields`` (properties excepted). ``__init__`` is
# documented on its class; Alembic migrations' ``upgrade``/``downgrade`` take nothing and
# return nothing, and the revision's module docstring says what they do.

_MIGRATION_STEPS = frozenset({"upgrade", "downgrade"})
_NO_VALUE = frozenset({"None", "NoReturn", "Never", "typing.NoReturn", "typing.Never"})


def _section(doc: str, section: str) -> bool:
    return re.search(rf"^\s*{section}\n\s*-{{3,}}\s*$", doc, re.M) is not None


def _own_nodes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """The nodes of ``func``'s body, not those of functions, lambdas or classes inside it."""
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _returns_value(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Annotated: unless ``None``/``NoReturn``; unannotated: a ``return x`` or a ``yield``."""
    if func.returns is not None:
        return ast.unparse(func.returns) not in _NO_VALUE
    for node in _own_nodes(func):
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        value = node.value if isinstance(node, ast.Return) else None
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            return True
    return False


def _public_modules() -> Iterator[Path]:
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        parts = path.relative_to(PACKAGE_ROOT).parts
        if not any(p.startswith("_") and p != "__init__.py" for p in parts):
            yield path


def _function_gaps(source: str, where: str, *, migration: bool = False) -> Iterator[str]:
    """``where:line name: missing sections`` of each public function of a module's source."""

    def visit(body: list[ast.stmt], owner: str) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from visit(node.body, f"{owner}{node.name}.")
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if node.name.startswith("_") or (migration and node.name in _MIGRATION_STEPS):
                continue
            decorators = [ast.unparse(d) for d in node.decorator_list]
            if any(d.endswith((".setter", ".deleter", "overload")) for d in decorators):
                continue
            prop = any(d.endswith(("property", "cached_property")) for d in decorators)
            args = node.args
            named = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            named += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
            doc = ast.get_docstring(node) or ""
            missing = [] if doc else ["docstring"]
            if doc and any(a not in ("self", "cls") for a in named):
                missing += [] if _section(doc, "Parameters") else ["Parameters"]
            documented = _section(doc, "Returns") or _section(doc, "Yields")
            if doc and not prop and _returns_value(node) and not documented:
                missing.append("Returns or Yields")
            if missing:
                yield f"{where}:{node.lineno} {owner}{node.name}: {', '.join(missing)}"

    yield from visit(ast.parse(source).body, "")


def _module_gaps(path: Path) -> Iterator[str]:
    migration = "migrations" in path.relative_to(PACKAGE_ROOT).parts
    where = path.relative_to(REPO).as_posix()
    yield from _function_gaps(path.read_text(), where, migration=migration)


def test_every_public_function_has_its_numpydoc_sections() -> None:
    gaps = [gap for path in _public_modules() for gap in _module_gaps(path)]
    assert not gaps, (
        f"{len(gaps)} public functions without their numpydoc sections (the docstring, "
        "Parameters for arguments, Returns/Yields for a value):\n" + "\n".join(gaps)
    )


def test_the_function_walk_sees_what_it_must() -> None:
    # the walk is only as good as what it visits: the engine's methods, a typer command and a
    # migration module must all be in scope, else the test above passes vacuously
    modules = {p.relative_to(PACKAGE_ROOT).as_posix() for p in _public_modules()}
    assert {"engine/orders.py", "journal/audit.py"} <= modules
    assert any(m.startswith("cli/") for m in modules)
    assert any(m.startswith("journal/migrations/versions/") for m in modules)
    source = '''
def documented(x: int) -> int:
    """Twice ``x``.

    Parameters
    ----------
    x : int
        A number.

    Returns
    -------
    int
        ``2 * x``.
    """
    return 2 * x


def bare(x):
    """No sections."""
    return x


def upgrade():
    pass


class Book:
    """A book."""

    def __init__(self, cash: int) -> None:
        self.cash = cash

    @property
    def value(self) -> int:
        """The cash."""
        return self.cash

    async def stream(self):
        """The cash, once."""
        yield self.cash

    def _private(self, x):
        return x
'''
    assert list(_function_gaps(source, "m.py")) == [
        "m.py:18 bare: Parameters, Returns or Yields",
        "m.py:23 upgrade: docstring",
        "m.py:38 Book.stream: Returns or Yields",
    ]
    # in a migration module only upgrade/downgrade are exempt
    assert len(list(_function_gaps(source, "m.py", migration=True))) == 2
