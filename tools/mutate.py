"""Mutation testing for streamchat: change one small thing in a module, run the tests for
that module, and see whether any test notices.

A mutant is one AST edit (a comparison flipped, a condition negated, a constant nudged, a
call statement deleted, a return value dropped, ...). A mutant that no test kills points at
behaviour the tests do not pin, or at an edit that changes nothing (an "equivalent"
mutant, which the person reading the report judges and lists).

Usage (from the repository root; not part of the quick suite):

    python tools/mutate.py streamchat/framing.py
    python tools/mutate.py streamchat/wire/openai_chat.py -j 2
    python tools/mutate.py streamchat/worker.py --tests tests/test_stream_live.py
    python tools/mutate.py streamchat/framing.py --list          # the mutants, no runs
    python tools/mutate.py streamchat/framing.py --only 12,40    # rerun some by number

Each mutant runs in a child forked from a process that has already imported streamchat
and pytest: the child swaps the mutated functions' code objects into the live module (so
every reference to them, wherever it was imported, runs the mutant) and runs pytest with
`-x` on the module's tests. A child that outlives `--timeout` counts as killed (the mutant
made something hang). POSIX only (fork).

The tests for a module default to TESTS below; `--tests` replaces them.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import os
import pathlib
import signal
import sys
import time
import types
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

ROOT = pathlib.Path(__file__).resolve().parent.parent

TESTS: Dict[str, List[str]] = {
    "streamchat/framing.py": [
        "tests/test_framing_sse.py", "tests/test_framing_ndjson.py", "tests/test_framing_edges.py"
    ],
    "streamchat/wire/openai_chat.py": [
        "tests/test_wire_openai_chat.py", "tests/test_request_bodies.py",
        "tests/test_parts_wire.py", "tests/test_builtin_tools.py", "tests/test_logprobs.py",
    ],
    "streamchat/worker.py": [
        "tests/test_stream_live.py", "tests/test_fallback.py", "tests/test_fault_matrix.py",
        "tests/test_lifecycle.py", "tests/test_deadlines.py", "tests/test_rate_limits.py",
        "tests/test_observe.py", "tests/test_retry_policy.py", "tests/test_retry_after.py",
        "tests/test_hostile_servers.py", "tests/test_secrets.py", "tests/test_errors_after_200.py",
        "tests/test_otel.py", "tests/test_compression.py", "tests/test_connection_pool.py",
        "tests/test_pricing.py",
    ],
    "streamchat/wire/shapes.py": ["tests/test_frame_shapes.py"],
    "streamchat/stream.py": [
        "tests/test_stream_live.py", "tests/test_lifecycle.py", "tests/test_busy_process.py",
        "tests/test_web.py", "tests/test_chat.py", "tests/test_client.py",
        "tests/test_observe.py", "tests/test_structured_output.py", "tests/test_notebook.py",
        "tests/test_rate_limits.py",
    ],
}
"""The tests that pin each module; a module not listed needs `--tests`."""

_COMPARE_SWAPS = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt,
    ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In,
}
_BINOP_SWAPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr, ast.LShift: ast.RShift, ast.RShift: ast.LShift,
}


@dataclass
class Mutant:
    number: int
    line: int
    where: str
    """The enclosing function or class, dotted."""
    kind: str
    before: str
    after: str

    def describe(self) -> str:
        return (
            f"#{self.number} line {self.line} in {self.where}: [{self.kind}] "
            f"{self.before}  ->  {self.after}"
        )


class _Mutator(ast.NodeTransformer):
    """Walks a module; with `target` None it only records every mutation point, with a
    target number it applies that one edit and leaves the rest alone."""

    def __init__(self, target: Optional[int] = None) -> None:
        self.target = target
        self.count = 0
        self.found: List[Mutant] = []
        self.scope: List[str] = []
        self.applied = False

    # -- bookkeeping --------------------------------------------------------------------

    def _offer(self, node: ast.AST, kind: str, make: Any) -> Optional[ast.AST]:
        """Register a mutation point; build and return the mutant when it is the target."""
        number = self.count
        self.count += 1
        if self.target is None:
            mutated = make()
            self.found.append(Mutant(
                number, getattr(node, "lineno", 0), ".".join(self.scope) or "<module>", kind,
                _show(node), _show(mutated) if mutated is not None else "(deleted)",
            ))
            return None
        if number == self.target:
            self.applied = True
            return make()  # type: ignore[no-any-return]
        return None

    def _scoped(self, node: Any) -> Any:
        self.scope.append(node.name)
        try:
            node.decorator_list = [self.visit(d) for d in node.decorator_list]
            node.body = self._body(node.body)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                node.args = self.visit(node.args)
        finally:
            self.scope.pop()
        return node

    def _body(self, body: List[ast.stmt]) -> List[ast.stmt]:
        out: List[ast.stmt] = []
        for stmt in body:
            if _is_docstring(stmt):
                out.append(stmt)  # a docstring, or an attribute's docstring after it
                continue
            new = self.visit(stmt)
            if new is None:
                continue
            out.extend(new if isinstance(new, list) else [new])
        return out or [ast.Pass()]

    # -- what is left alone ---------------------------------------------------------------

    def visit_Module(self, node: ast.Module) -> Any:
        node.body = self._body(node.body)
        return node

    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped
    visit_ClassDef = _scoped

    def visit_arguments(self, node: ast.arguments) -> Any:
        return node  # annotations, and defaults (usually module constants, mutated there)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_Import(self, node: ast.Import) -> Any:
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        return node  # message text: a changed word is not behaviour

    def visit_Raise(self, node: ast.Raise) -> Any:
        # The exception raised matters; its message's words do not.
        if isinstance(node.exc, ast.Call):
            node.exc.args = [a if _is_text(a) else self.visit(a) for a in node.exc.args]
            node.exc.keywords = [self.visit(k) for k in node.exc.keywords]
        return node

    def visit_Assert(self, node: ast.Assert) -> Any:
        return node

    def visit_If(self, node: ast.If) -> Any:
        if _is_type_checking(node.test):
            return node
        self._negate(node)
        node.body = self._body(node.body)
        node.orelse = self._body(node.orelse) if node.orelse else []
        return node

    def visit_While(self, node: ast.While) -> Any:
        self._negate(node)
        node.body = self._body(node.body)
        node.orelse = self._body(node.orelse) if node.orelse else []
        return node

    def visit_For(self, node: ast.For) -> Any:
        node.iter = self.visit(node.iter)
        node.body = self._body(node.body)
        node.orelse = self._body(node.orelse) if node.orelse else []
        return node

    def visit_With(self, node: ast.With) -> Any:
        node.items = [self.visit(i) for i in node.items]
        node.body = self._body(node.body)
        return node

    def visit_Try(self, node: ast.Try) -> Any:
        node.body = self._body(node.body)
        for handler in node.handlers:
            handler.body = self._body(handler.body)
        node.orelse = self._body(node.orelse) if node.orelse else []
        node.finalbody = self._body(node.finalbody) if node.finalbody else []
        return node

    # -- the mutations --------------------------------------------------------------------

    def _negate(self, node: Any) -> None:
        test = node.test
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            node.test = self.visit(test)  # "not x" -> "x" is offered there
            return
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            node.test = self.visit(test)  # the operator swap is the same mutant
            return
        mutant = self._offer(test, "negate", lambda: ast.UnaryOp(ast.Not(), copy.deepcopy(test)))
        node.test = mutant if mutant is not None else self.visit(test)

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        self._negate(node)
        node.body = self.visit(node.body)
        node.orelse = self.visit(node.orelse)
        return node

    def visit_Compare(self, node: ast.Compare) -> Any:
        for position, op in enumerate(node.ops):
            swap = _COMPARE_SWAPS.get(type(op))
            if swap is None:
                continue

            def make(position: int = position, swap: Any = swap) -> ast.AST:
                new = copy.deepcopy(node)
                new.ops[position] = swap()
                return new

            mutant = self._offer(node, "compare", make)
            if mutant is not None:
                return mutant
        self.generic_visit(node)
        return node

    def _swap_operator(self, node: Union[ast.BinOp, ast.AugAssign]) -> Optional[ast.AST]:
        """Offer the node with its arithmetic operator swapped (+ for -, * for /, ...)."""
        swap = _BINOP_SWAPS.get(type(node.op))
        if swap is None:
            return None

        def make() -> ast.AST:
            new = copy.deepcopy(node)
            new.op = swap()
            return new

        return self._offer(node, "operator", make)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        if not _is_text(node.left):
            mutant = self._swap_operator(node)
            if mutant is not None:
                return mutant
        self.generic_visit(node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        mutant = self._swap_operator(node)
        if mutant is not None:
            return mutant
        node.value = self.visit(node.value)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        other = ast.Or if isinstance(node.op, ast.And) else ast.And

        def make() -> ast.AST:
            new = copy.deepcopy(node)
            new.op = other()
            return new

        mutant = self._offer(node, "boolean", make)
        if mutant is not None:
            return mutant
        self.generic_visit(node)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, (ast.Not, ast.USub)):
            mutant = self._offer(node, "unary", lambda: copy.deepcopy(node.operand))
            if mutant is not None:
                return mutant
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> Any:
        value = node.value
        replacement: Any
        if isinstance(value, bool):
            replacement = not value
        elif isinstance(value, (int, float)):
            replacement = value + 1
        elif isinstance(value, str):
            replacement = f"XX{value}XX"
        else:
            return node
        mutant = self._offer(node, "constant", lambda: ast.Constant(replacement))
        return mutant if mutant is not None else node

    def visit_Return(self, node: ast.Return) -> Any:
        if node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            mutant = self._offer(node, "return", lambda: ast.Return(ast.Constant(None)))
            if mutant is not None:
                return mutant
            node.value = self.visit(node.value)
        return node

    def visit_Break(self, node: ast.Break) -> Any:
        mutant = self._offer(node, "loop", ast.Continue)
        return mutant if mutant is not None else node

    def visit_Continue(self, node: ast.Continue) -> Any:
        mutant = self._offer(node, "loop", ast.Break)
        return mutant if mutant is not None else node

    def visit_Expr(self, node: ast.Expr) -> Any:
        if isinstance(node.value, (ast.Call, ast.Yield, ast.YieldFrom)):
            mutant = self._offer(node, "delete", lambda: ast.Pass())
            if mutant is not None:
                return mutant
        node.value = self.visit(node.value)
        return node

    def visit_Assign(self, node: ast.Assign) -> Any:
        if all(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets):
            mutant = self._offer(node, "delete", lambda: ast.Pass())
            if mutant is not None:
                return mutant
        if _is_all(node):
            return node
        node.value = self.visit(node.value)
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                target.slice = self.visit(target.slice)
        return node


def _show(node: ast.AST) -> str:
    text = ast.unparse(node) if not isinstance(node, ast.Pass) else "pass"
    text = " ".join(text.split())
    return text if len(text) <= 90 else text[:87] + "..."


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and _is_text(stmt.value)


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _is_type_checking(test: ast.AST) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _is_all(node: ast.Assign) -> bool:
    """`__all__` and `__slots__`: names, which a swap in the scratch copy cannot reach."""
    return any(
        isinstance(t, ast.Name) and t.id in ("__all__", "__slots__") for t in node.targets
    )


# -- finding and applying ---------------------------------------------------------------


def mutants_of(source: str) -> List[Mutant]:
    mutator = _Mutator()
    mutator.visit(ast.parse(source))
    return mutator.found


def mutated_tree(source: str, number: int) -> ast.Module:
    mutator = _Mutator(target=number)
    tree = mutator.visit(ast.parse(source))
    if not mutator.applied:
        raise LookupError(f"no mutant #{number}")
    return ast.fix_missing_locations(tree)  # type: ignore[no-any-return]


def module_name(path: pathlib.Path) -> str:
    relative = path.resolve().relative_to(ROOT).with_suffix("")
    return ".".join(relative.parts)


def install(module: types.ModuleType, tree: ast.Module, path: pathlib.Path) -> None:
    """Run the mutated module in a scratch namespace and move what it defines into the
    live module: functions and methods by code object (every existing reference then runs
    the mutant), classes member by member, everything else by value."""
    namespace: Dict[str, Any] = {
        "__name__": module.__name__,
        "__package__": module.__package__,
        "__file__": str(path),
        "__builtins__": __builtins__,
    }
    exec(compile(tree, str(path), "exec"), namespace)
    for name, new in namespace.items():
        if name.startswith("__") and name.endswith("__"):
            continue
        old = module.__dict__.get(name)
        if isinstance(new, type) and isinstance(old, type) and new.__module__ == module.__name__:
            _patch_class(old, new)
        elif isinstance(new, types.FunctionType) and isinstance(old, types.FunctionType):
            _patch_function(old, new)
        elif not isinstance(new, types.ModuleType):
            module.__dict__[name] = new


def _patch_function(old: types.FunctionType, new: types.FunctionType) -> None:
    old.__code__ = new.__code__
    old.__defaults__ = new.__defaults__
    old.__kwdefaults__ = new.__kwdefaults__


def _patch_class(old: type, new: type) -> None:
    for name, value in vars(new).items():
        if name in ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__"):
            continue
        current = vars(old).get(name)
        if isinstance(value, types.FunctionType) and isinstance(current, types.FunctionType):
            _patch_function(current, value)
        elif isinstance(value, property) and isinstance(current, property):
            for part in ("fget", "fset", "fdel"):
                new_part, old_part = getattr(value, part), getattr(current, part)
                if new_part is not None and old_part is not None:
                    _patch_function(old_part, new_part)
        elif isinstance(value, (staticmethod, classmethod)) and type(current) is type(value):
            _patch_function(current.__func__, value.__func__)  # type: ignore[union-attr]
        elif isinstance(value, type) and isinstance(current, type):
            _patch_class(current, value)
        elif not isinstance(value, (types.FunctionType, property, type, staticmethod,
                                    classmethod, types.MemberDescriptorType)):
            try:
                setattr(old, name, value)
            except (AttributeError, TypeError):
                pass


# -- running ------------------------------------------------------------------------------


def spawn(
    module: types.ModuleType, path: pathlib.Path, source: str, number: Optional[int],
    tests: Sequence[str], verbose: bool,
) -> int:
    """Fork a child that installs mutant `number` (none: the clean code) and runs the
    tests; its exit code is pytest's, or 4 when the mutant could not be installed."""
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        os.setpgid(0, 0)
        if number is not None:
            try:
                install(module, mutated_tree(source, number), path)
            except Exception as exc:  # a mutant that cannot even be built
                sys.stderr.write(f"mutant #{number} not installed: {exc!r}\n")
                os._exit(4)
        if not verbose:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
        import pytest

        code = int(pytest.main(
            # Plain asserts and no hypothesis plugin: a run only needs pass or fail, and
            # these are most of the time a forked child spends before the first test.
            [*tests, "-x", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
             "--assert=plain", "--no-header", "-W", "ignore"]
        ))
    finally:
        os._exit(code)


def outcome_of(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return "survived" if code == 0 else "error" if code == 4 else "killed"


def run_all(
    start: Callable[[Optional[int]], int], numbers: Sequence[Optional[int]], jobs: int,
    timeout: float,
) -> Iterator[Tuple[Optional[int], str, float]]:
    """Keep up to `jobs` children running; yield (number, outcome, seconds) as each
    ends. A child past `timeout` is killed with its process group and counts as hung.
    Children are forked from this single-threaded process only: a fork taken while
    another thread held a lock could hang for reasons that have nothing to do with
    the mutant."""
    waiting = list(numbers)
    running: Dict[int, Tuple[Optional[int], float]] = {}
    while waiting or running:
        while waiting and len(running) < max(1, jobs):
            number = waiting.pop(0)
            running[start(number)] = (number, time.monotonic())
        time.sleep(0.02)
        for pid, (number, began) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            elapsed = time.monotonic() - began
            if done:
                del running[pid]
                yield number, outcome_of(status), elapsed
            elif elapsed > timeout:
                _kill_group(pid)
                os.waitpid(pid, 0)
                del running[pid]
                yield number, "timeout", elapsed


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="path of the module to mutate, e.g. streamchat/framing.py")
    parser.add_argument("--tests", nargs="+", help="test files to run (default: TESTS)")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="mutants run at once")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before a mutant's run counts as a hang (default: "
                             "10 x the clean run, at least 20)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--only", help="comma-separated mutant numbers to run")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    args = parser.parse_args(argv)

    path = (ROOT / args.module).resolve()
    relative = path.relative_to(ROOT).as_posix()
    source = path.read_text()
    found = mutants_of(source)
    if args.list:
        for mutant in found:
            print(mutant.describe())
        print(f"{len(found)} mutants")
        return 0
    tests = args.tests or TESTS.get(relative)
    if not tests:
        parser.error(f"no tests known for {relative}: pass --tests")
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    module = importlib.import_module(module_name(path))
    if pathlib.Path(module.__file__ or "").resolve() != path:
        parser.error(f"{module.__name__} imports from {module.__file__}, not {path}")

    def start(number: Optional[int]) -> int:
        return spawn(module, path, source, number, tests, args.verbose)

    [(_, outcome, clean)] = list(run_all(start, [None], 1, 600.0))
    if outcome != "survived":
        print(f"the tests fail without any mutant ({outcome}): fix them first")
        return 2
    timeout = args.timeout or max(20.0, 10 * clean)
    work = found
    if args.only:
        wanted = {int(n) for n in args.only.split(",")}
        work = [m for m in found if m.number in wanted]
    print(f"{relative}: {len(work)} mutants, tests {' '.join(tests)} "
          f"(clean run {clean:.1f} s)", flush=True)
    counts: Dict[str, int] = {"killed": 0, "timeout": 0, "survived": 0, "error": 0}
    survivors: List[Mutant] = []
    by_number = {m.number: m for m in work}
    for number, outcome, _ in run_all(start, [m.number for m in work], args.jobs, timeout):
        assert number is not None
        mutant = by_number[number]
        counts[outcome] += 1
        done = sum(counts.values())
        if done % 25 == 0:
            print(f"... {done}/{len(work)} run, {counts['survived']} survived", flush=True)
        if outcome == "survived":
            survivors.append(mutant)
            print(f"SURVIVED {mutant.describe()}", flush=True)
        elif outcome == "error":
            print(f"ERROR    {mutant.describe()}", flush=True)
    scored = counts["killed"] + counts["timeout"] + counts["survived"]
    killed = counts["killed"] + counts["timeout"]
    score = 100.0 * killed / scored if scored else 100.0
    print(f"\n{relative}: {killed}/{scored} killed ({score:.1f}%): "
          f"{counts['killed']} failed a test, {counts['timeout']} hung, "
          f"{counts['survived']} survived, {counts['error']} not installable")
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
