"""The sailor package imports its own modules one way: relatively (sailor/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import elasticio_sailor

PACKAGE = Path(elasticio_sailor.__file__).parent


def absolute_self_imports(source: str) -> list[int]:
    """Line numbers of imports that name ``elasticio_sailor`` instead of ``.``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        if any(name.split(".")[0] == "elasticio_sailor" for name in names):
            lines.append(node.lineno)
    return lines


def test_the_check_sees_both_absolute_forms() -> None:
    source = "import elasticio_sailor.log\nfrom elasticio_sailor import x\nfrom . import y\n"
    assert absolute_self_imports(source) == [1, 2]


def test_every_module_imports_its_siblings_relatively() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 20
    offenders = {
        path.name: lines
        for path in modules
        if (lines := absolute_self_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
