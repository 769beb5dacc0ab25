"""The theorem objects and their registry (THEORY §0, §2-§3)."""

import math

import numpy as np
import pytest
import sympy as sp

import kdtheory
from kdtheory.symbols import symbol
from kdtheory.theorems import E_D, Status, Theorem, all_theorems, register, theorem


def test_foundation_theorems_registered():
    ids = {t.id for t in all_theorems()}
    assert {"lemma-DV", "lemma-SG", "U0", "U1", "U-uniform"} <= ids
    assert kdtheory.theorem("U1") is theorem("U1")
    assert theorem("lemma-DV").status is Status.PAPER
    assert theorem("U1").status is Status.RECONSTRUCTED
    assert all(t in all_theorems() for t in all_theorems(status="paper"))


def test_every_theorem_is_complete():
    for t in all_theorems():
        assert t.id and t.name and t.ref.startswith("THEORY §"), t.id
        assert isinstance(t.statement, (sp.LessThan, sp.GreaterThan)), t.id
        assert t.status in Status
        assert t.latex().count(r"\begin{") >= 1


def test_duplicate_registration_refused():
    with pytest.raises(ValueError, match="already registered"):
        register(theorem("U1"))
    with pytest.raises(TypeError):
        register("U1")


def test_unknown_theorem():
    with pytest.raises(KeyError, match="registered"):
        theorem("no-such-theorem")


def test_evaluate_u1_from_the_sympy_statement():
    ev = theorem("U1").evaluate(dgen=0.5, Esigma2=2.0, K_n=1.0)
    assert float(ev.rhs) == pytest.approx(2.0, rel=1e-15)  # sqrt(2 * 2 * 1)
    assert ev.all_hold and float(ev.ratio) == pytest.approx(0.25)
    bad = theorem("U1").evaluate(dgen=-2.5, Esigma2=2.0, K_n=1.0)  # |dgen| counts
    assert not bad.all_hold and float(bad.ratio) > 1


def test_evaluate_broadcasts_and_handles_infinite_kl():
    ev = theorem("U1").evaluate(
        dgen=np.array([0.0, 1.0, 5.0]), Esigma2=1.0, K_n=np.array([0.0, 0.5, math.inf])
    )
    assert ev.holds.tolist() == [True, True, True]
    assert ev.rhs[2] == math.inf and ev.ratio[2] == 0.0


@pytest.mark.parametrize(
    "values,match",
    [
        ({"dgen": 0.1, "Esigma2": 1.0}, "missing"),
        ({"dgen": 0.1, "Esigma2": -1.0, "K_n": 1.0}, "Esigma2"),
        ({"dgen": math.nan, "Esigma2": 1.0, "K_n": 1.0}, "dgen"),
        ({"dgen": 0.1, "Esigma2": 1.0, "K_n": -0.5}, "K_n"),
    ],
)
def test_evaluate_rejects_bad_values(values, match):
    with pytest.raises(ValueError, match=match):
        theorem("U1").evaluate(**values)


def test_u0_integrand_and_expectation_key():
    t = theorem("U0")
    assert t.integrand == sp.sqrt(2 * symbol("sigma_D") ** 2 * symbol("KL_D"))
    assert float(t.integrand_function({"sigma_D": 2.0, "KL_D": 0.5})) == pytest.approx(2.0)
    assert float(t.evaluate(dgen=0.3, E_D=0.6).ratio) == pytest.approx(0.5)


def test_lower_bound_ratio_uses_reference():
    gen_s, gen_t, k = symbol("gen_S"), symbol("gen_T"), symbol("K_n")
    thm = Theorem(
        "toy-lower", "toy", "extension", "THEORY §4", sp.Ge(gen_s, gen_t - k), reference=gen_t
    )
    ok = thm.evaluate(gen_S=0.5, gen_T=1.0, K_n=1.0)
    assert ok.all_hold and float(ok.ratio) == pytest.approx(0.5)
    bad = thm.evaluate(gen_S=-0.5, gen_T=1.0, K_n=1.0)
    assert not bad.all_hold and float(bad.ratio) == pytest.approx(1.5)


def test_statement_must_be_an_inequality_or_identity():
    with pytest.raises(TypeError, match="sympy.Le, sympy.Ge or sympy.Eq"):
        Theorem("x", "x", "extension", "THEORY §1", sp.Lt(symbol("K_n"), 0))
    assert Theorem("x", "x", "extension", "THEORY §1", sp.Eq(symbol("K_n"), 0)).is_identity
    with pytest.raises(ValueError):
        Theorem("x", "x", "proven", "THEORY §1", sp.Le(symbol("K_n"), 1))


def test_latex_has_assumptions_and_status():
    tex = theorem("U1").latex()
    assert r"\begin{theorem}" in tex and "reconstructed" in tex
    assert r"\sigma_D" in tex and "K_n" in tex and r"\Delta\mathrm{gen}" in tex
    assert theorem("U1")._repr_latex_().startswith("$")
    assert r"\mathbb{E}_D" in theorem("U0").latex()
    assert len(theorem("U0").statement.atoms(E_D)) == 1
