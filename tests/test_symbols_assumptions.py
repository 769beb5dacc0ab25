"""Parameters: one domain drives sympy assumptions, validation and strategies (STYLE.md)."""

import math

import pytest
import sympy as sp
from hypothesis import given

from kdtheory.assumptions import BoundedLoss, CentralCondition, Sharpness, SubGamma, SubGaussian
from kdtheory.strategies import values
from kdtheory.symbols import PARAMS, param, symbol, to_latex


def test_sympy_assumptions_follow_domains():
    assert symbol("sigma").is_positive
    assert symbol("K_n").is_nonnegative and symbol("K_n").is_positive is None
    assert symbol("n").is_integer and symbol("n").is_positive
    assert symbol("c").is_nonnegative and symbol("dgen").is_real
    assert symbol("sigma") is symbol("sigma")  # one object per name


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_strategy_draws_are_valid(name):
    @given(values(name))
    def check(x):
        assert param(name).domain.contains(x)
        param(name).validate(x)

    check()


@pytest.mark.parametrize(
    "name,value",
    [
        ("sigma", 0.0),
        ("sigma", -1.0),
        ("sigma", math.nan),
        ("c", 1.0),
        ("c", -0.1),
        ("eta", 0.0),
        ("K_n", -1e-3),
        ("n", 2.5),
        ("n", 0),
        ("rho", -1.0),
    ],
)
def test_validation_names_the_parameter(name, value):
    with pytest.raises(ValueError, match=name):
        param(name).validate(value)


def test_validation_type_errors():
    with pytest.raises(TypeError, match="sigma"):
        param("sigma").validate("big")
    with pytest.raises(TypeError, match="sigma"):
        param("sigma").validate(None)


def test_unknown_parameter():
    with pytest.raises(KeyError, match="unknown parameter"):
        param("nope")


def test_latex_uses_project_names():
    assert to_latex(symbol("gen_S")) == r"\mathrm{gen}_S"
    assert to_latex(symbol("K_n")) == "K_n"
    assert to_latex(symbol("rho_0")) == r"\rho_0"


@pytest.mark.parametrize(
    "make,field",
    [
        (lambda: SubGaussian(sigma=0), "sigma"),
        (lambda: SubGaussian(sigma=math.inf), "sigma"),
        (lambda: CentralCondition(eta=-1), "eta"),
        (lambda: CentralCondition(eta=1, c=1), "c"),
        (lambda: SubGamma(v=0, b=1), "v"),
        (lambda: SubGamma(v=1, b=-1), "b"),
        (lambda: Sharpness(beta=-1), "beta"),
        (lambda: Sharpness(rho=math.nan), "rho"),
        (lambda: BoundedLoss(1.0, 0.0), "l_max"),
    ],
)
def test_assumption_validation(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_assumption_latex_and_predicates():
    sg = SubGaussian(conditional=True)
    assert r"\sigma_D" in sg.latex()
    assert isinstance(sg.predicate(), sp.LessThan)
    cc = CentralCondition()
    assert r"\eta" in cc.latex() and r"\mathrm{gen}_T" in cc.latex()
    assert r"\rho" in Sharpness().latex() and r"\beta" in Sharpness().latex()
    assert "V_g" in SubGamma().latex()


def test_bounded_loss_implies_hoeffding_proxy():
    bl = BoundedLoss(-0.5, 2.0)
    assert float(bl.sigma()) == 2.5
    assert bl.implies().sigma == 2.5
    assert sp.simplify(BoundedLoss().sigma() - (symbol("l_max") - symbol("l_min"))) == 0
