"""The house rules, checked on the source: pure layers stay pure, threads and queues stay
in the threading layer, no module imports itself back through another, and no module
grows past what one reader takes in at once."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parent.parent / "streamchat"
PURE = ["types", "errors.py", "framing.py", "accumulate.py", "options.py", "wire"]
FORBIDDEN = {"requests", "urllib3", "threading", "queue", "socket", "time", "select", "http"}
MAX_MODULE_LINES = 450


def modules(names=None):
    for name in names or [p.name for p in PACKAGE.iterdir()]:
        path = PACKAGE / name
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        elif path.suffix == ".py":
            yield path


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path):
    """Every streamchat module `path` imports, wherever the import stands: at the top, in
    a function, or under TYPE_CHECKING (a circle hidden there is still a circle)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    known = {module_name(p) for p in modules()}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from .pkg import name` imports pkg.name when that is a module.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


@pytest.mark.parametrize("path", list(modules(PURE)), ids=lambda p: module_name(p))
def test_pure_modules_import_no_io(path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{path.name} imports {imported & FORBIDDEN}"


def test_transport_leaves_threads_to_the_worker():
    for path in modules(["transport"]):
        text = path.read_text()
        assert "import threading" not in text and "import queue" not in text, path.name


def test_only_the_threading_layer_owns_a_queue():
    owners = sorted(p.name for p in PACKAGE.rglob("*.py") if "import queue" in p.read_text())
    assert owners == ["stream.py", "worker.py"]


def test_no_import_circles():
    graph = {module_name(p): imports_of(p) for p in modules()}
    circles = []
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_circle_check_sees_circles(tmp_path, monkeypatch):
    """The check above must be able to fail: a lazy import inside a function counts."""
    package = tmp_path / "streamchat"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("def x():\n    from .a import y\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", package)
    assert imports_of(package / "b.py") == {"streamchat.a"}
    with pytest.raises(AssertionError, match=r"streamchat\.a -> streamchat\.b -> streamchat\.a"):
        test_no_import_circles()


@pytest.mark.parametrize("path", list(modules()), ids=lambda p: module_name(p))
def test_modules_stay_readable_in_one_sitting(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"{module_name(path)} has {lines} lines: split it by its jobs before it grows further"
    )
