"""The compile step's in-place numpy and fused kernels (issue 15 item 6).

* Every registered formula's compiled numpy function (CSE'd, in place on large float batches,
  :mod:`kdtheory.formulas.inplace`) equals ``sympy.lambdify`` of the same expression, printed the
  same way, bit for bit, on random batches; the rewrite never writes into an argument.
* The fused kernel of Theorem U's values (:func:`kdtheory.formulas.gaussian_mean.
  compiled_theorem_values`) equals the formulas compiled one by one to 1e-15 relative.
* The rewrite's own rules: no reuse of an array of a smaller shape, of an argument or of a
  function's result; integer, small and non-broadcasting inputs take the printed function.
"""

from __future__ import annotations

import importlib
import inspect
import linecache

import numpy as np
import pytest
import sympy as sp
from formula_checks import draw

from kdtheory.formulas import OVERRIDES
from kdtheory.formulas import gaussian_mean as FA
from kdtheory.formulas.inplace import INPLACE_MIN_SIZE, inplace_numpy

#: every formula module (``formulas()``, ``formula(name)``, ``compiled(name)``)
MODULES = (
    "gaussian_mean",
    "gaussian_cgf",
    "memoriser",
    "scalar_laws",
    "bump",
    "ball",
    "gaussian_pair",
    "linear_gaussian",
)
SIZE = 2 * INPLACE_MIN_SIZE  # a batch that takes the in-place path


def _cases():
    return [(m, name) for m in MODULES for name in importlib.import_module(_mod(m)).formulas()]


def _mod(m: str) -> str:
    return f"kdtheory.formulas.{m}"


def _printed(compiled, cse: bool):
    """``sympy.lambdify`` of the compiled expression with the registered stable forms."""
    np_mod = {name: ov.numpy for name, ov in OVERRIDES.items()}
    return sp.lambdify(compiled.args, compiled.expr, modules=[np_mod, "numpy"], cse=cse)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("module,name", _cases())
def test_compiled_numpy_equals_lambdify_bit_for_bit(module, name):
    fm = importlib.import_module(_mod(module))
    f, c = fm.formula(name), fm.compiled(name)
    rng = np.random.default_rng(sum(map(ord, f"{module}.{name}")))
    cols = [draw(rng, f.symbols[k], SIZE).astype(float) for k in f.args]
    before = [x.copy() for x in cols]
    printed = c.numpy.__wrapped__  # what lambdify printed, which the rewrite keeps
    cse = "x0" in inspect.getsource(printed)
    with np.errstate(all="ignore"):
        got = c.numpy(*cols)
        assert _same(got, printed(*cols))
        assert _same(got, _printed(c, cse)(*cols))  # and lambdify printed afresh
    assert all(np.array_equal(x, y) for x, y in zip(cols, before, strict=True))  # untouched


def test_the_rewrite_runs_in_place_for_most_formulas():
    sources = [
        importlib.import_module(_mod(m)).compiled(n).numpy.inplace_source for m, n in _cases()
    ]
    assert sum("out=" in s for s in sources) > 0.8 * len(sources)


def test_fused_theorem_values_equal_the_formulas_one_by_one():
    rng = np.random.default_rng(15)
    s = FA.SYMBOLS
    cols = {k: draw(rng, s[k], SIZE).astype(float) for k in FA.THEOREM_VALUE_ARGS if k != "d"}
    cols["d"] = 3
    cols["c_Delta2"] = rng.uniform(0.0, 10.0, SIZE)
    fused = FA.compiled_theorem_values()(*(cols[k] for k in FA.THEOREM_VALUE_ARGS))
    assert FA.compiled_theorem_values().outputs == len(FA.THEOREM_VALUES) == len(fused)
    for value, (_, name, renamed) in zip(fused, FA.THEOREM_VALUES, strict=True):
        f = FA.formula(name)
        args = [cols[renamed.get(k, k)] for k in f.args]
        one = FA.compiled(name)(*args)
        assert np.allclose(value, one, rtol=1e-15 * 4, atol=0.0), name


def test_fused_theorem_values_on_balls_and_symbols():
    """The fused kernel is a :class:`Compiled` like any other: arb balls enclose the numpy
    values, sympy arguments give the tuple of expressions."""
    flint = pytest.importorskip("flint")
    c = FA.compiled_theorem_values()
    xs = (2.0, 0.7, 0.4, 0.9, 1.3, 3, 7, 1.1)
    balls = c(*(np.array([flint.arb(x)], dtype=object) for x in xs))
    for ball, value in zip(balls, c(*xs), strict=True):
        assert ball[0].contains(flint.arb(float(value))) or abs(
            float(ball[0].mid()) - float(value)
        ) <= 1e-14 * abs(float(value))
    symbolic = c(*c.args)  # the formulas' own symbols: the expressions themselves
    assert isinstance(symbolic, tuple) and len(symbolic) == c.outputs
    assert symbolic[0] == FA.formula("dgen").expr and symbolic[3] == FA.formula("K_n").expr


def _fn(src: str):
    """A function printed as lambdify prints one (its source in ``linecache``)."""
    name = f"<test-printed-{len(linecache.cache)}>"
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    ns: dict = {"numpy": np}
    exec(compile(src, name, "exec"), ns)  # noqa: S102 - a test's own code
    return ns["f"]


def test_a_smaller_or_foreign_array_is_never_written_into():
    printed = _fn(
        "def f(x, y, z):\n"
        "    x0 = x - y\n"  # (N, 1): smaller than the batch shape (N, 3)
        "    return numpy.sqrt(x0) * z + numpy.asarray(x0) * 2\n"
    )
    fast = inplace_numpy(printed)
    rng = np.random.default_rng(0)
    n = 2 * INPLACE_MIN_SIZE
    x, y, z = rng.uniform(2, 3, (n, 1)), rng.uniform(0, 1, (n, 1)), rng.uniform(0, 1, (n, 3))
    kept = x.copy(), y.copy(), z.copy()
    assert _same(fast(x, y, z), printed(x, y, z))
    assert all(np.array_equal(a, b) for a, b in zip((x, y, z), kept, strict=True))
    # numpy.asarray returns its argument: x0 lives on as x1 after its last use by name
    printed = _fn(
        "def f(x, y):\n"
        "    x0 = x * y\n"
        "    x1 = numpy.asarray(x0)\n"
        "    x2 = x * 2\n"
        "    return x1 + x2\n"
    )
    fast = inplace_numpy(printed)
    assert "out=" in fast.inplace_source
    assert _same(fast(z, z), printed(z, z))


def test_other_inputs_take_the_printed_function():
    printed = _fn("def f(x, y):\n    return (x + y) * (x - y)\n")
    fast = inplace_numpy(printed)
    assert "out=" in fast.inplace_source
    n = 2 * INPLACE_MIN_SIZE
    ints = np.arange(n), np.arange(n)
    assert _same(fast(*ints), printed(*ints))  # integer arrays: integer arithmetic, as printed
    assert fast(2.0, 3.0) == printed(2.0, 3.0) and type(fast(2, 3)) is int
    small = np.ones(3), np.ones(3)
    assert _same(fast(*small), printed(*small))
    with pytest.raises(ValueError):  # shapes that do not broadcast: numpy's own error
        fast(np.ones(n), np.ones(n + 1))
    assert fast(x=np.ones(2), y=np.ones(2)).tolist() == [0.0, 0.0]  # keywords
