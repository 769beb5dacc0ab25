"""Shared by the formula tests (issue 11): the single-source inventory scan, a ``derive``
runner and random points in a symbol's domain."""

from __future__ import annotations

import ast
import io
import math
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


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


def hits_outside_formulas(pattern: str) -> list[str]:
    """``path:line: text`` of every code line of ``kdtheory/`` outside ``kdtheory/formulas/``
    matching ``pattern`` (a telltale of a formula that must be written only there)."""
    return [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in sorted((ROOT / "kdtheory").rglob("*.py"))
        if "formulas" not in p.parts
        for i, line in code_lines(p)
        if re.search(pattern, line)
    ]


def run_derive(*argv) -> tuple[int, str]:
    """``(exit code, stdout)`` of ``kdtheory derive ARGV``."""
    from kdtheory.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["derive", *argv])
    return rc, buf.getvalue()


def draw(rng, param, size):
    """Values in ``param``'s domain: integers 1..40, [0, 1] uniform, log-uniform positives in
    [0.05, 20], uniform reals in [-3, 3]."""
    dom = param.domain
    if dom.integer:
        return rng.integers(1, 41, size)
    if dom.low == 0 and dom.high == 1:
        return rng.uniform(0.0, 1.0, size)
    if dom.low == 0:
        return np.exp(rng.uniform(math.log(0.05), math.log(20.0), size))
    return rng.uniform(-3.0, 3.0, size)
