"""The import structure: no cycles among the project's modules, Whoosh's privates kept in
search/index. (The layer order itself is import-linter's contract in pyproject.toml.)"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("cli", "web", "indexer", "search")
PRIVATE_READERS = ROOT / "search" / "index"  # the one place that may read Whoosh's privates
PRIVATE_CALLS = ("getattr", "setattr", "hasattr", "delattr")
# Underscored names the scan finds that are not Whoosh's: (file, expression) -> why allowed.
NOT_WHOOSH = {
    ("web/serve.py", "server._map"): "waitress's socket map, which a worker closes and reopens",
    ("web/serve.py", "os._exit"): "the documented exit of a forked child, without cleanup",
}


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Every import that closes a cycle, as the chain importer -> imported -> ... -> importer
    (a module that can reach itself through its imports, function-level ones included)."""
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append((importer, *back))
    return cycles


def _module_names(tree: ast.Module) -> set[str]:
    """Names the module itself defines at top level (its own privates are its business)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_accesses(source: str) -> list[str]:
    """Reads of another object's underscored attribute: `x._name`, or getattr and its kin
    with a literal "_name", on anything but self, cls or a name the module defines."""
    tree = ast.parse(source)
    own = _module_names(tree) | {"self", "cls"}

    def foreign(owner: ast.expr) -> bool:
        return not (isinstance(owner, ast.Name) and owner.id in own)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr) and foreign(node.value):
            found.append(ast.unparse(node))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in PRIVATE_CALLS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
            and foreign(node.args[0])
        ):
            found.append(ast.unparse(node))
    return found


def scanned_files() -> list[Path]:
    """The project's code outside search/index."""
    files = [p for package in PROJECT_PACKAGES for p in (ROOT / package).rglob("*.py")]
    return sorted(p for p in files if not p.is_relative_to(PRIVATE_READERS))


def test_no_module_can_reach_itself_through_its_imports() -> None:
    graph = grimp.build_graph(*PROJECT_PACKAGES, cache_dir=None)
    assert {"cli", "web.pages", "indexer.build", "search.engine"} <= graph.modules
    assert import_cycles(graph) == []


@pytest.mark.parametrize(
    ("modules", "cycles"),
    [
        ({"a": "from planted import b", "b": "import json"}, []),
        (
            {"a": "from planted import b", "b": "from planted.a import x"},
            [("planted.a", "planted.b", "planted.a"), ("planted.b", "planted.a", "planted.b")],
        ),
        (  # an import inside a function closes a cycle too
            {"a": "import planted.b", "b": "def f():\n    from planted import a"},
            [("planted.a", "planted.b", "planted.a"), ("planted.b", "planted.a", "planted.b")],
        ),
        (
            {"a": "import planted.b", "b": "import planted.c", "c": "import planted.a"},
            [
                ("planted.a", "planted.b", "planted.c", "planted.a"),
                ("planted.b", "planted.c", "planted.a", "planted.b"),
                ("planted.c", "planted.a", "planted.b", "planted.c"),
            ],
        ),
    ],
)
def test_import_cycles_are_found(
    modules: dict[str, str],
    cycles: list[tuple[str, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(grimp.build_graph("planted", cache_dir=None)) == cycles


def test_only_search_index_touches_private_attributes() -> None:
    found = {
        (path.relative_to(ROOT).as_posix(), expression)
        for path in scanned_files()
        for expression in private_accesses(path.read_text(encoding="utf-8"))
    }
    assert len(scanned_files()) > 40
    assert found - NOT_WHOOSH.keys() == set()


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("searcher._ix.doc_count()", ["searcher._ix"]),
        ('getattr(searcher, "_ix")', ["getattr(searcher, '_ix')"]),
        ('hasattr(reader, "_segment")', ["hasattr(reader, '_segment')"]),
        (
            "searcher.get_parent()._offset_for_subsearcher(s)",
            ["searcher.get_parent()._offset_for_subsearcher"],
        ),
        ("reader._segment._codec", ["reader._segment._codec", "reader._segment"]),
        ("from whoosh import searching\nsearching._cache", ["searching._cache"]),
        ("self._cache", []),
        ("cls._made", []),
        ('getattr(self, "_lock")', []),
        ("_LOCAL = object()\n_LOCAL._x", []),
        ("def _helper(): pass\n_helper._calls", []),
        ("reader.__class__", []),
        ('getattr(reader, "__dict__")', []),
        ("reader.segment", []),
    ],
)
def test_private_access_scan(source: str, found: list[str]) -> None:
    assert private_accesses(source) == found
