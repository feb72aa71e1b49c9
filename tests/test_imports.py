"""No import cycles in coach/: every `import` and `from … import`, read from the source (inside functions too)."""
import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: Path) -> dict[str, Path]:
    return {module_name(p, package.parent): p for p in sorted(package.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The coach modules that `name` (at `path`) imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def add(target: str) -> None:
        # `import a.b.c` loads a, a.b and a.b.c; the edge that matters is the deepest module we know.
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:       # `from coach.screen import render` imports a module
                full = f"{source}.{alias.name}"
                add(full if full in known else source)
    return out


def graph(package: Path = ROOT / "coach") -> dict[str, set[str]]:
    """{module: the package's modules it imports}. An import names the module it loads, not the packages
    around it (whose `__init__` runs first but imports no submodule of its own in coach)."""
    mods = modules(package)
    known = set(mods)
    return {name: imported(name, path, known) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(path_through(sorted(component), edges))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def path_through(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A concrete cycle inside a strongly connected component, starting and ending at its first module."""
    inside = set(component)
    start = component[0]
    prev: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & inside):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [*reversed(path), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return component


def test_the_walker_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for f, text in {"__init__.py": "", "sub/__init__.py": "",
                    "a.py": "def later():\n    from .sub import b\n",          # relative, inside a function
                    "sub/b.py": "from ..c import X\nfrom . import d\n",         # two levels up; a sibling module
                    "c.py": "import os\nimport pkg.a\nX = 1\n",               # plain import; outside ones ignored
                    "sub/d.py": "from pkg import sub\n"}.items():             # a package's name is the package
        (pkg / f).write_text(text)
    edges = graph(pkg)
    assert edges == {"pkg": set(), "pkg.sub": set(), "pkg.a": {"pkg.sub.b"}, "pkg.sub.b": {"pkg.c", "pkg.sub.d"},
                     "pkg.c": {"pkg.a"}, "pkg.sub.d": {"pkg.sub"}}
    assert cycles(edges) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_coach():
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_screens_know_neither_the_session_nor_the_renderer():
    edges = graph()
    assert "coach.core.session" not in edges["coach.core.screens"]       # they draw from a Moment
    assert "coach.screen.render" not in edges["coach.screen.cards"]       # cards draw with widgets
    assert "coach.screen.widgets" in edges["coach.screen.cards"]
    assert "coach.screen.widgets" in edges["coach.screen.render"]
