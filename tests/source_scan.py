"""Shared by the single-source inventory tests (issue 11): the code lines of a source file."""

from __future__ import annotations

import ast
from pathlib import Path


def code_lines(path: Path):
    """``(line number, text)`` of the lines of ``path`` outside docstrings, comments cut off."""
    src = path.read_text()
    doc_lines = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            if isinstance(node.value.value, str):
                doc_lines.update(range(node.lineno, node.end_lineno + 1))
    for i, line in enumerate(src.splitlines(), 1):
        if i not in doc_lines:
            yield i, line.split("#", 1)[0]
