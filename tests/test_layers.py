"""The pure layers stay pure: no sockets, threads, clocks or requests below transport."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parent.parent / "streamchat"
PURE = ["types.py", "errors.py", "framing.py", "accumulate.py", "options.py", "wire"]
FORBIDDEN = {"requests", "urllib3", "threading", "queue", "socket", "time", "select", "http"}


def modules():
    for name in PURE:
        path = PACKAGE / name
        yield from sorted(path.glob("*.py")) if path.is_dir() else [path]


@pytest.mark.parametrize("path", list(modules()), ids=lambda p: p.name)
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
    text = (PACKAGE / "transport.py").read_text()
    assert "import threading" not in text and "import queue" not in text


def test_only_the_worker_owns_a_queue():
    owners = [p.name for p in PACKAGE.rglob("*.py") if "import queue" in p.read_text()]
    assert owners == ["worker.py"]
