"""User code type-checks: tests/typing/user_code.py (written the way README.rst and docs/
write it) and every python block of README.rst pass mypy --strict, user_code.py passes
pyright's strict mode too, and tests/typing/typing_errors.py fails with exactly the errors
it predicts, so the typed parts cannot quietly become Any.

Both checkers see streamchat the way an installed copy is seen: through its `py.typed`,
with no plugin and without reporting errors inside streamchat itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
from test_doc_examples import python_blocks

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
USER_CODE = "user_code.py"
MISTAKES = "typing_errors.py"
MYPY_CACHE = ROOT / ".mypy_cache" / "user-code"
"""Kept between runs (ignored by git): a warm cache checks in a fraction of the time."""


def expected_error_lines() -> Set[int]:
    lines = (TYPING / MISTAKES).read_text("utf-8").splitlines()
    return {number for number, line in enumerate(lines, 1) if "# error:" in line}


@pytest.fixture
def checked_copy(tmp_path) -> Path:
    """The two files in a folder of their own, so no project configuration applies."""
    for name in (USER_CODE, MISTAKES):
        shutil.copy(TYPING / name, tmp_path / name)
    return tmp_path


TYPED_PAGES = ("README.rst", "docs/logging.rst")
"""Pages whose python blocks are held to mypy --strict as well as run."""


def readme_files(folder: Path) -> List[str]:
    """The python blocks of TYPED_PAGES, one module each."""
    names = []
    for page in TYPED_PAGES:
        for block in python_blocks((ROOT / page).read_text("utf-8"), page):
            name = f"{Path(page).stem.lower()}_line{block.line}.py"
            (folder / name).write_text(block.code)
            names.append(name)
    return names


def run_mypy(folder: Path, *extra: str) -> Tuple[int, str]:
    config = folder / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--follow-imports=silent",
         "--cache-dir", str(MYPY_CACHE), "--no-error-summary",
         USER_CODE, MISTAKES, *extra],
        capture_output=True, text=True, cwd=str(folder), env=env, timeout=170,
    )
    return result.returncode, result.stdout + result.stderr


def test_user_code_passes_mypy_strict(checked_copy):
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")
    readme = readme_files(checked_copy)
    assert readme, "README.rst has no python block to check"
    _, output = run_mypy(checked_copy, *readme)
    errors: Dict[str, List[int]] = {USER_CODE: [], MISTAKES: []}
    for match in re.finditer(r"^([\w.]+):(\d+): error:", output, re.MULTILINE):
        errors.setdefault(match.group(1), []).append(int(match.group(2)))
    assert errors[USER_CODE] == [], f"user code fails mypy --strict:\n{output}"
    assert set(errors[MISTAKES]) == expected_error_lines(), (
        f"mypy must report exactly the predicted mistakes:\n{output}"
    )
    assert set(errors) == {USER_CODE, MISTAKES}, f"README examples fail mypy --strict:\n{output}"


def pyright_command() -> List[str]:
    try:
        import pyright  # noqa: F401  (the PyPI wrapper; it fetches pyright itself)
    except ImportError:
        pytest.skip("pyright is not installed: pip install 'pyright[nodejs]' to check with it")
    return [sys.executable, "-m", "pyright"]


def test_user_code_passes_pyright_strict(checked_copy):
    command = pyright_command()
    (checked_copy / "pyrightconfig.json").write_text(json.dumps({
        "include": [USER_CODE, MISTAKES],
        "extraPaths": [str(ROOT)],
        "typeCheckingMode": "strict",
        "pythonVersion": "3.9",
    }))
    result = subprocess.run(
        [*command, "--outputjson", "--pythonpath", sys.executable],
        capture_output=True, text=True, cwd=str(checked_copy), timeout=170,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"pyright could not run here: {(result.stderr or result.stdout)[-300:]}")
    errors: Dict[str, Set[int]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            name = Path(diagnostic["file"]).name
            errors.setdefault(name, set()).add(diagnostic["range"]["start"]["line"] + 1)
    assert USER_CODE not in errors, f"user code fails pyright strict: {result.stdout}"
    assert errors.get(MISTAKES) == expected_error_lines(), result.stdout
