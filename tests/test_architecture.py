"""The layout's rules, checked on the source with `ast`: no module of `declutr/` over 400 lines, no
function over 60 lines (its docstring excluded), no import cycle between `declutr` modules, and a
test tree that mirrors the package."""

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

from tests import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "declutr"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> Dict[str, Path]:
    """Every module of the package by dotted name (`declutr.data` for its `__init__.py`)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def functions(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def function_lines(node: ast.AST) -> int:
    """Lines from `def` to the end, less the docstring's."""
    lines = node.end_lineno - node.lineno + 1
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            lines -= body[0].end_lineno - body[0].lineno + 1
    return lines


def imports(name: str, path: Path, known: Set[str]) -> Set[str]:
    """The `declutr` modules that module `name` imports, anywhere in it (a package's parents,
    which Python imports first, are not counted)."""
    imported = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                imported.add(target)
    return imported


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle as a list of modules, or `[]`."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph[node]):
            if state.get(successor) == 1:
                return path[path.index(successor) :] + [successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_no_module_is_over_400_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_is_over_60_lines():
    long: List[Tuple[str, str, int]] = []
    for name, path in modules().items():
        for node in functions(ast.parse(path.read_text(encoding="utf-8"))):
            if (lines := function_lines(node)) > MAX_FUNCTION_LINES:
                long.append((name, node.name, lines))
    assert long == []


def test_no_import_cycle():
    found = modules()
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    # Given a -> b -> c -> a, and d apart
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    # Then
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    "folder", ["data", "models", "modules", "losses", "predictors", "inference", "compat"]
)
def test_tests_mirror_the_package(folder):
    # Every subpackage with modules of its own has a test folder of the same name.
    assert (PACKAGE / folder).is_dir()
    assert (PROJECT_ROOT / "tests" / folder).is_dir()


def test_inference_imports_allennlp_only_to_load_an_archive():
    # Module-level imports of declutr.inference: an exported or Hugging Face model needs no
    # allennlp code of theirs (loading.py imports it inside the archive loader).
    for path in sorted((PACKAGE / "inference").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(name.split(".")[0] == "allennlp" for name in names), path.name
