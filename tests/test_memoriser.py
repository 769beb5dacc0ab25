"""The memoriser (THEORY §8 N2): closed forms against brute-force enumeration, N2's violation
growing with n, and Theorem U-uniform holding with the legitimate proxy 1/4."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdtheory import MemoriserModel, theorem
from kdtheory.models.memoriser import binary_kl
from kdtheory.sampling import RANGES

probabilities = RANGES["p"].strategy()


@given(st.integers(1, 5), st.integers(1, 4), probabilities, probabilities)
def test_closed_forms_equal_brute_force(M, n, p_s, p_t):
    """gen = p (1-1/M)^n and K_n = kl(p_S || p_T) against enumeration of all M^n datasets,
    to 1e-12 (THEORY §8 N2); the gap lies in [0, 1]."""
    model = MemoriserModel(M, n)
    s_, t = model.kernel(p_s), model.kernel(p_t)
    bf = model.brute_force(s_, t)
    assert math.isclose(bf["gen_S"], model.gen(s_), rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(bf["gen_T"], model.gen(t), rel_tol=1e-12, abs_tol=1e-12)
    k_n = model.distillation_divergence(s_, t)
    if math.isinf(k_n):
        assert math.isinf(bf["K_n"]) and k_n.reason
    else:
        assert math.isclose(bf["K_n"], k_n, rel_tol=1e-12, abs_tol=1e-12)
    g_min, g_max = bf["g_range"]
    assert 0.0 <= g_min <= g_max <= 1.0


@given(st.integers(2, 10**6), probabilities, probabilities)
def test_n2_violation_grows_with_n(M, p_s, p_t):
    """N2's ratio is (p_S - p_T)(1-1/M)^n / sqrt(kl/(2n)): at fixed (M, p_S, p_T) with
    p_S > p_T it is proportional to sqrt(n) (1-1/M)^n, strictly increasing along n = 1, 2, 4, ...
    while 2n <= M/2 (each doubling multiplies it by sqrt(2) (1-1/M)^n >= sqrt(2) 3/4 > 1)."""
    if p_s == p_t:
        return
    lo, hi = sorted((p_s, p_t))
    ratios = []
    for n in (1, 2, 4, 8, 16):
        if n > 1 and n > M // 2:
            break
        model = MemoriserModel(M, n)
        vals = model.theorem_values(model.kernel(hi), model.kernel(lo))
        if not math.isfinite(vals["K_n"]) or vals["K_n"] == 0:
            return
        ratios.append(float(theorem("N2").evaluate(**vals).ratio))
    assert all(b > a for a, b in zip(ratios, ratios[1:], strict=False))


def test_n2_golden_ratios():
    """THEORY §8 N2: M = 10^6, p_T = .5, p_S = .6: ratio ~1.41, 3.15, 9.97 at n = 2, 10, 100
    (quoted to 3 digits: rtol 5e-3), while Theorem U holds (ratio 0.997)."""
    for n, expected in ((2, 1.41), (10, 3.15), (100, 9.97)):
        model = MemoriserModel(10**6, n)
        vals = model.theorem_values(model.kernel(0.6), model.kernel(0.5))
        ev = theorem("N2").evaluate(**vals)
        assert not ev.all_hold
        assert math.isclose(float(ev.ratio), expected, rel_tol=5e-3)
        u = theorem("U-uniform").evaluate(**vals)
        assert u.all_hold and math.isclose(float(u.ratio), 0.997, rel_tol=5e-4)


@given(st.integers(1, 10**6), st.integers(1, 200), probabilities, probabilities)
def test_u_uniform_holds_on_the_memoriser(M, n, p_s, p_t):
    """|dgen| <= sqrt(2 (1/2)^2 K_n) (Pinsker, with the factor (1-1/M)^n <= 1)."""
    model = MemoriserModel(M, n)
    vals = model.theorem_values(model.kernel(p_s), model.kernel(p_t))
    assert theorem("U-uniform").evaluate(**vals).all_hold


def test_binary_kl():
    assert binary_kl(0.3, 0.3) == 0.0
    assert binary_kl(0.0, 0.0) == 0.0 and binary_kl(1.0, 1.0) == 0.0
    assert math.isclose(binary_kl(0.6, 0.5), 0.6 * math.log(1.2) + 0.4 * math.log(0.8))
    inf = binary_kl(0.5, 1.0)
    assert math.isinf(inf) and "not <<" in inf.reason
    assert binary_kl(0.0, 0.5) == math.log(2)


def test_degenerate_models():
    one = MemoriserModel(1, 3)  # a single symbol: every fresh Z is in D, gen = 0
    assert one.gen(one.kernel(0.7)) == 0.0
    assert one.miss_probability() == 0.0
    m = MemoriserModel(10**6, 10)
    assert math.isclose(m.miss_probability(), (1 - 1e-6) ** 10, rel_tol=1e-13)


_M = MemoriserModel(3, 2)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: MemoriserModel(0, 1), ValueError, "M"),
        (lambda: MemoriserModel(2.5, 1), ValueError, "M"),
        (lambda: MemoriserModel("3", 1), TypeError, "M"),
        (lambda: MemoriserModel(3, 0), ValueError, "n"),
        (lambda: _M.kernel(1.5), ValueError, "p"),
        (lambda: _M.kernel(float("nan")), ValueError, "p"),
        (lambda: _M.gen(0.5), TypeError, "kernel"),
        (lambda: _M.distillation_divergence(_M.kernel(0.5), 0.5), TypeError, "teacher"),
        (lambda: binary_kl(0.5, -0.1), ValueError, "q"),
        (
            lambda: MemoriserModel(10, 10).brute_force(_M.kernel(0.5), _M.kernel(0.5)),
            ValueError,
            "M\\^n",
        ),
    ],
)
def test_invalid_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
