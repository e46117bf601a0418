"""The public API list of the docs equals what the packages export, in both directions.

``docs/api/index.md`` ("Public names") lists, per package, every name of its ``__all__``. A
name exported but not listed is an undocumented public name; a name listed but not exported
(or not importable) is a documentation promise the code does not keep. The stable names of
DESIGN.md, imported in the page's first code block, must be among them, and every name the
docs, READMEs and notebooks import from a package must be exported by it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "src" / "crypto_strategy_lab"
API_INDEX = REPO / "docs" / "api" / "index.md"


def documented_exports() -> dict[str, set[str]]:
    """``package -> names`` from the "Public names" table of the API index."""
    text = API_INDEX.read_text()
    section = text.split("## Public names", 1)[1]
    rows = re.findall(r"^\| `(crypto_strategy_lab[\w.]*)` \| (.*) \|$", section, re.M)
    listed: dict[str, set[str]] = {}
    for package, cell in rows:
        assert package not in listed, f"{package} is listed twice"
        listed[package] = set(re.findall(r"`(\w+)`", cell))
    return listed


def actual_exports() -> dict[str, set[str]]:
    """``package -> __all__`` for every package of the source tree that exports a name."""
    exports = {}
    for init in sorted(PACKAGE_ROOT.rglob("__init__.py")):
        package = ".".join(init.parent.relative_to(PACKAGE_ROOT.parent).parts)
        names = set(getattr(importlib.import_module(package), "__all__", ()))
        if names:
            exports[package] = names
    return exports


def test_the_docs_list_exactly_what_each_package_exports() -> None:
    listed, exported = documented_exports(), actual_exports()
    undocumented = {p: sorted(n - listed.get(p, set())) for p, n in exported.items()}
    unexported = {p: sorted(n - exported.get(p, set())) for p, n in listed.items()}
    assert {p: n for p, n in undocumented.items() if n} == {}, "exported, not in the docs"
    assert {p: n for p, n in unexported.items() if n} == {}, "in the docs, not exported"


def test_every_listed_name_imports_from_its_package() -> None:
    for package, names in documented_exports().items():
        module = importlib.import_module(package)
        missing = [n for n in sorted(names) if not hasattr(module, n)]
        assert missing == [], f"{package} lists names it cannot give: {missing}"


def test_designs_stable_names_are_public() -> None:
    # the page's first code block imports DESIGN.md's "Public API" names
    block = API_INDEX.read_text().split("```python", 1)[1].split("```", 1)[0]
    imports = [n for n in ast.walk(ast.parse(block)) if isinstance(n, ast.ImportFrom)]
    listed = documented_exports()
    packages = [i.module for i in imports if i.module in listed]
    # module paths (strategies.lag_autocorr.signal) are not packages; the rest are
    assert len(packages) == 5
    for node in imports:
        if node.module in listed:
            stable = {a.name for a in node.names}
            assert stable <= listed[node.module], (node.module, stable - listed[node.module])


def _documentation_imports() -> list[tuple[str, str, str]]:
    """``(file, package, name)`` of every ``from <package> import name`` in the Python blocks
    of the docs pages, the README files and the notebooks."""
    pages = [REPO / "README.md", *(REPO / "docs").rglob("*.md"), *PACKAGE_ROOT.rglob("*.md")]
    sources = [
        (page, block)
        for page in pages
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    ]
    sources.extend(
        (notebook, "".join(cell["source"]))
        for notebook in (REPO / "notebooks").glob("*.ipynb")
        for cell in json.loads(notebook.read_text())["cells"]
        if cell["cell_type"] == "code"
    )
    found = []
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT  # README snippets await
    for path, source in sources:
        for node in ast.walk(compile(source, str(path), "exec", flags=flags)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "crypto_strategy_lab"
            ):
                found.extend((path.name, node.module, a.name) for a in node.names)
    return found


def test_the_documentation_imports_only_exported_names() -> None:
    # a name the docs import from a package is public: it must be exported (or be a module)
    exported = actual_exports()
    packages = {
        ".".join(i.parent.relative_to(PACKAGE_ROOT.parent).parts)
        for i in PACKAGE_ROOT.rglob("__init__.py")
    }
    imports = _documentation_imports()
    assert len(imports) > 20
    wrong = [
        (where, package, name)
        for where, package, name in imports
        if package in packages
        and name not in exported.get(package, set())
        and importlib.util.find_spec(f"{package}.{name}") is None
    ]
    assert wrong == []
