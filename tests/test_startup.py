"""Fast start (issue 15 item 5): what ``import kdtheory``, ``kdtheory --help`` and ``kdtheory list``
load, read from ``sys.modules`` of a fresh interpreter (the timings are in
``benchmarks/bench_startup.py``, not here); and the lazily imported public names still work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kdtheory

ROOT = Path(__file__).resolve().parent.parent

#: heavy packages a command that only prints text should not load
HEAVY = ("scipy", "matplotlib")


def _loaded_after(code: str) -> set[str]:
    """The module names in ``sys.modules`` after running ``code`` in a fresh interpreter (printed
    as JSON on stderr, after whatever ``code`` printed)."""
    script = (
        "import json, sys\n"
        f"{code}\n"
        "print('\\nMODULES ' + json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    line = [x for x in out.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(json.loads(line[len("MODULES ") :]))


def _cli(*args: str) -> str:
    return (
        "from kdtheory.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass"
    )


def _heavy(mods: set[str], roots=HEAVY) -> list[str]:
    return sorted(m for m in mods if m.split(".")[0] in roots)


def test_import_kdtheory_loads_nothing_heavy():
    mods = _loaded_after("import kdtheory")
    assert _heavy(mods, (*HEAVY, "sympy", "numpy")) == []
    assert "kdtheory.theorems" not in mods


def test_help_loads_neither_scipy_nor_matplotlib_nor_the_registry():
    for args in (["--help"], ["audit", "--help"], []):
        mods = _loaded_after(_cli(*args))
        assert _heavy(mods) == [], args
        assert "scipy.stats" not in mods and "matplotlib" not in mods
        assert "kdtheory.theorems" not in mods, args  # the registry: not needed for help


def test_list_loads_the_statements_but_neither_scipy_nor_numpy():
    mods = _loaded_after(_cli("list"))
    assert "kdtheory.theorems.upper" in mods
    assert _heavy(mods, (*HEAVY, "numpy")) == []


def test_numpy_bound_on_first_use_is_numpy_itself():
    """The modules that bind ``np`` lazily (:func:`kdtheory._lazy.lazy_module`) hold numpy itself
    once it is used: no stand-in is left in a hot path."""
    import numpy as np

    from kdtheory import display, symbols
    from kdtheory.theorems import base, sharpness

    symbols.check_in("x", np.ones(3), symbols.REAL)
    base.Theorem  # noqa: B018
    for module in (display, symbols, base, sharpness):
        module.np.ndarray  # noqa: B018 - first use rebinds the global
        assert module.np is np


def test_public_names_resolve_lazily():
    """Every name of ``kdtheory.__all__`` resolves (importing its module on first use), is
    listed by ``dir(kdtheory)``, and is the object its defining module holds."""
    from kdtheory import models, theorems

    for name in kdtheory.__all__:
        assert getattr(kdtheory, name) is not None
        assert name in dir(kdtheory)
    assert kdtheory.GaussianMeanModel is models.GaussianMeanModel
    assert kdtheory.theorem("U1") is theorems.theorem("U1")
    assert kdtheory.check.__module__.startswith("kdtheory.audit")
    assert kdtheory.symbols.PARAMS["n"].name == "n"
    with pytest.raises(AttributeError, match="no_such_name"):
        kdtheory.no_such_name  # noqa: B018
