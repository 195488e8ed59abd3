"""The layering: the library (``harness``) never imports the systems it
tests (``reference_system``, ``examples``), at module level or inside a
function, and no two packages import each other."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "reference_system", "examples")
SYSTEMS = ("reference_system", "examples")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in ``path`` names (absolute imports)."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
    return out


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py") if (ROOT / pkg).is_dir() else ():
            for _, mod in _imports(path):
                top = mod.split(".", 1)[0]
                if top in PACKAGES and top != pkg:
                    graph[pkg].add(top)
    return graph


def test_the_harness_imports_no_system_under_test() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {mod}"
        for path in sorted((ROOT / "harness").rglob("*.py"))
        for line, mod in _imports(path)
        if mod.split(".", 1)[0] in SYSTEMS
    ]
    assert not found, "harness/ must not import a system under test:\n" + "\n".join(found)


def test_no_two_packages_import_each_other() -> None:
    graph = _package_graph()
    assert graph["reference_system"] == {"harness"}  # the reference system uses the harness, nothing else
    circles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and a in graph.get(b, set()))
    assert not circles, f"import circles between packages: {', '.join(circles)}"


def test_the_walker_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The check would pass vacuously if it missed lazy imports; it does not."""
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from reference_system import deploy\n    import examples.counter\n")
    assert [m for _, m in _imports(p)] == ["reference_system", "examples.counter"]


def test_the_reference_system_is_a_distribution_of_its_own() -> None:
    """Installed beside the harness, not inside it: the harness's distribution
    ships no reference_system module, and the reference system's declares
    its own package."""
    import tomllib

    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert root["tool"]["setuptools"]["packages"]["find"]["include"] == ["harness*"]
    ref = tomllib.loads((ROOT / "reference_system" / "pyproject.toml").read_text())
    assert ref["project"]["name"] != root["project"]["name"]
    assert "reference_system" in ref["tool"]["setuptools"]["packages"]
    assert (ROOT / "reference_system" / "py.typed").exists()
