"""Rules about where state lives, checked on the source of search/ with `ast`.

No module-level caches: everything the query side keeps between requests belongs to the open
index it was read from (search.index.caches), so the warm-up fills what the server reads, two
indexes never share entries, and tests reach caches through a public owner. A module-level
statement (at the top of a module, in its `if`/`try`/`with` blocks, or in a class body) breaks
the rule when it binds a name to
  - an instance of a cache or container type (`CACHE_TYPES`), or
  - an empty dict, list or set (`{}`, `[]`, `dict()`, `list()`, `set()`): filled at run time, or
  - a dict, list or set (display, comprehension or constructor) that the module mutates: item
    assignment or deletion, augmented assignment, or a mutating method (`MUTATORS`), directly
    or through a local name bound to it;
and so does any `global` statement (module state rebound at run time). A memo is allowed only
as `functools.lru_cache` with a whole-number `maxsize`, on a function taking no index object
(`INDEX_PARAMETERS`), with a comment just above saying it is pure.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SEARCH = Path(__file__).resolve().parent.parent / "search"
CACHE_TYPES = frozenset(
    ("SizedCache", "IndexCaches", "OrderedDict", "defaultdict", "Counter", "deque")
    + ("WeakKeyDictionary", "WeakValueDictionary", "WeakSet", "ChainMap")
)
CONTAINER_CALLS = frozenset(("dict", "list", "set"))
MUTATORS = frozenset(
    ("setdefault", "update", "pop", "popitem", "clear", "add", "discard", "remove")
    + ("append", "extend", "insert", "put", "move_to_end", "__setitem__", "__delitem__")
)
INDEX_PARAMETERS = frozenset(("searcher", "reader", "ixreader", "index", "ix", "leaf", "segment"))


def module_state(source: str) -> list[str]:
    """What breaks the rules above in one module's source, as "line: reason"."""
    tree = ast.parse(source)
    problems = []
    containers: dict[str, int] = {}
    for statement in _module_level(tree.body):
        for name, value in _bindings(statement):
            kind = _kind(value)
            if kind == "cache":
                problems.append(f"{statement.lineno}: {name} holds a cache type")
            elif kind == "empty":
                problems.append(f"{statement.lineno}: {name} starts empty, to be filled")
            elif kind == "container":
                containers[name] = statement.lineno
    for name in sorted(_mutated(tree, set(containers))):
        problems.append(f"{containers[name]}: {name} is mutated at run time")
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            problems.append(f"{node.lineno}: global {', '.join(node.names)}")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            problems += _memo_problems(node, source.splitlines())
    return problems


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for statement in body:
        found.append(statement)
        if isinstance(statement, ast.ClassDef):
            found += _module_level(statement.body)
        elif isinstance(statement, ast.If | ast.With | ast.For | ast.While):
            found += _module_level(statement.body + statement.orelse)
        elif isinstance(statement, ast.Try):
            handlers = [s for handler in statement.handlers for s in handler.body]
            found += _module_level(statement.body + handlers + statement.orelse)
            found += _module_level(statement.finalbody)
    return found


def _bindings(statement: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(statement, ast.Assign):
        targets = [t for target in statement.targets for t in _names(target)]
        return [(name, statement.value) for name in targets]
    if isinstance(statement, ast.AnnAssign) and statement.value is not None:
        return [(name, statement.value) for name in _names(statement.target)]
    return []


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _names(element)]
    return []


def _kind(value: ast.expr) -> str | None:
    """ "cache", "empty", "container" (a dict, list or set with contents), or None."""
    if isinstance(value, ast.Call):
        called = _called_name(value.func)
        if called in CACHE_TYPES:
            return "cache"
        if called in CONTAINER_CALLS:
            return "container" if value.args or value.keywords else "empty"
        return None
    if isinstance(value, ast.Dict | ast.List | ast.Set):
        elements = value.keys if isinstance(value, ast.Dict) else value.elts
        return "container" if elements else "empty"
    if isinstance(value, ast.DictComp | ast.ListComp | ast.SetComp):
        return "container"
    return None


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _mutated(tree: ast.Module, names: set[str]) -> set[str]:
    """The names among `names` that the module mutates, directly or through a local alias."""
    found = set()
    scopes: list[ast.AST] = [tree] + [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    for scope in scopes:
        aliases = {name: name for name in names}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                for alias in (t.id for t in node.targets if isinstance(t, ast.Name)):
                    if node.value.id in names:
                        aliases[alias] = node.value.id
        for node in ast.walk(scope):
            target = _mutation_target(node)
            if target in aliases:
                found.add(aliases[target])
    return found


def _mutation_target(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
        return node.value.id if isinstance(node.value, ast.Name) else None
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if node.func.attr in MUTATORS and isinstance(owner, ast.Name):
            return owner.id
    return None


def _memo_problems(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> list[str]:
    problems = []
    for decorator in function.decorator_list:
        called = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = _called_name(called)
        where = f"{decorator.lineno}: {function.name}"
        if name == "cache":
            problems.append(f"{where} has an unbounded memo (functools.cache)")
        if name != "lru_cache":
            continue
        if not isinstance(decorator, ast.Call) or not _bounded(decorator):
            problems.append(f"{where} has a memo without a whole-number maxsize")
        parameters = [a.arg for a in function.args.args + function.args.kwonlyargs]
        if INDEX_PARAMETERS.intersection(parameters):
            problems.append(f"{where} has a memo keyed on an index object")
        if not _comment_above_says_pure(lines, decorator.lineno):
            problems.append(f"{where} has a memo without a comment saying it is pure")
    return problems


def _bounded(decorator: ast.Call) -> bool:
    sizes = decorator.args[:1] + [k.value for k in decorator.keywords if k.arg == "maxsize"]
    return bool(sizes) and all(
        isinstance(s, ast.Constant) and type(s.value) is int and s.value > 0 for s in sizes
    )


def _comment_above_says_pure(lines: list[str], lineno: int) -> bool:
    index = lineno - 2  # the line above the decorator, 0-based
    while index >= 0 and lines[index].lstrip().startswith(("#", "@")):
        if lines[index].lstrip().startswith("#") and "pure" in lines[index].lower():
            return True
        index -= 1
    return False


def search_modules() -> list[Path]:
    return sorted(SEARCH.rglob("*.py"))


def test_no_module_in_search_keeps_state_of_its_own() -> None:
    modules = search_modules()
    assert len(modules) > 40  # the whole package was read, not an empty glob
    problems = [
        f"{path.relative_to(SEARCH.parent)}:{problem}"
        for path in modules
        for problem in module_state(path.read_text(encoding="utf-8"))
    ]
    assert problems == []


PURE = "# A memo of a pure text function.\n"


@pytest.mark.parametrize(
    ("source", "broken"),
    [
        ("_CACHE = {}", True),
        ("_CACHE: dict[str, int] = {}", True),
        ("_SEEN = set()", True),
        ("_LIST: list[int] = []", True),
        ("_CACHE = SizedCache(10)", True),
        ("_CACHE = caches.SizedCache(10)", True),
        ("_LRU = OrderedDict()", True),
        ("if True:\n    _CACHE = dict()", True),
        ("class Holder:\n    cache = {}", True),
        ("_T = {'a': 1}\ndef f():\n    _T['b'] = 2", True),
        ("_T = {'a': 1}\ndef f():\n    del _T['a']", True),
        ("_T = {'a': 1}\ndef f():\n    _T.clear()", True),
        ("_T = [1]\ndef f():\n    held = _T\n    held.append(2)", True),
        ("_N = 0\ndef f():\n    global _N\n    _N = 1", True),
        ("from functools import cache\n@cache\ndef f(x): return x", True),
        (PURE + "@lru_cache(maxsize=None)\ndef f(x): return x", True),
        (PURE + "@lru_cache\ndef f(x): return x", True),
        (PURE + "@lru_cache(maxsize=8)\ndef f(searcher): return searcher", True),
        ("@lru_cache(maxsize=8)\ndef f(x): return x", True),
        (PURE + "@lru_cache(maxsize=8)\ndef f(x): return x", False),
        (PURE + "@functools.lru_cache(maxsize=8)\ndef f(x): return x", False),
        ("_T = {'a': 1}\ndef f():\n    return _T.get('a')", False),
        ("_T = {n: n for n in range(3)}", False),
        ("_SET = frozenset(('a', 'b'))", False),
        ("_T = [1]\ndef f():\n    local = []\n    local.append(1)", False),
        ("def f():\n    found = {}\n    found['a'] = 1\n    return found", False),
        ("class Holder:\n    def __init__(self):\n        self.cache = {}", False),
    ],
)
def test_the_rule_tells_module_caches_from_constants(source: str, broken: bool) -> None:
    assert bool(module_state(source)) is broken, module_state(source)
