"""Issue 12: checking a researcher's own bound -- plugins, conjectures, assumption discharge,
vacuity, identities and infima, navigation, per-call search spaces and strategies."""

from __future__ import annotations

import json
import math
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given

import kdtheory as kd
import kdtheory.strategies  # noqa: F401  (kd.strategies below)
from kdtheory import plugins
from kdtheory.assumptions import BoundedLoss, CentralCondition, SubGaussian
from kdtheory.audit import check, claims
from kdtheory.cli import EXIT, main
from kdtheory.navigation import ROOT, claims_of, proof_of, show_lines
from kdtheory.symbols import PARAMS, symbol

README = Path(__file__).resolve().parent.parent / "README.md"
dgen, K, E = symbol("dgen"), symbol("K_n"), symbol("Esigma2")


@pytest.fixture
def fresh():
    """A registry scope, and no plugin remembered as loaded, for the duration of a test."""
    before = dict(plugins._LOADED)
    mods = set(sys.modules)
    with kd.scoped():
        yield
    plugins._LOADED.clear()
    plugins._LOADED.update(before)
    for m in set(sys.modules) - mods:
        if m.startswith("kdtheory_plugin_") or m.startswith("ep_plug"):
            del sys.modules[m]


def _readme_plugin() -> str:
    """The plugin file shown in the README's "Check your own bound" section."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (code,) = [b for b in blocks if "from kdtheory.audit import claim" in b and ">>>" not in b]
    return code


def test_readme_plugin_refuted_by_cli_and_reproduced(fresh, tmp_path, capsys):
    path = tmp_path / "my_bounds.py"
    path.write_text(_readme_plugin())
    out_json = tmp_path / "a.json"
    argv = [
        "audit",
        "--plugin",
        str(path),
        "--claim",
        "half-U1",
        "--quiet",
        "--json",
        str(out_json),
    ]
    assert main(argv) == EXIT["ok"]  # a refuted conjecture does not fail the audit
    text = capsys.readouterr().out
    assert "half-U1  conjecture" in text and "refuted" in text
    first = json.loads(out_json.read_text())
    (res,) = first["claims"]
    cx = res["counterexample"]
    assert res["verdict"] == "refuted" and cx["ratio"] > 1.4  # sqrt(2) on a 1-d model
    assert cx["params"]["d"] == 1 and cx["params"]["kappa"] == 1.0  # shrunk to simple values
    line = [x for x in text.splitlines() if x.startswith("reproduce with: ")][0]
    assert f"--plugin {shlex.quote(str(path))}" in line
    # the reproduce line works (in a fresh scope: the plugin registers again)
    again = tmp_path / "b.json"
    argv2 = shlex.split(line.removeprefix("reproduce with: "))[1:]
    with kd.scoped():
        plugins._LOADED.pop(str(path), None)
        assert main([*argv2, "--quiet", "--json", str(again)]) == EXIT["ok"]
    second = json.loads(again.read_text())
    assert second["claims"][0]["counterexample"] == cx
    assert second["reproduce"] == first["reproduce"]


def test_plugin_list_and_show(fresh, tmp_path, capsys):
    path = tmp_path / "my_bounds.py"
    path.write_text(_readme_plugin())
    assert main(["list", "--plugin", str(path)]) == EXIT["ok"]
    row = [x for x in capsys.readouterr().out.splitlines() if x.startswith("half-U1")][0]
    assert "conjecture" in row and str(path) in row
    assert main(["show", "half-U1", "--plugin", str(path), "--latex"]) == EXIT["ok"]
    text = capsys.readouterr().out
    assert f"stated at:   {path}:" in text and "half-U1 (on gaussian-mean)" in text
    assert r"\begin{conjecture}" in text


def test_broken_plugin_is_one_line(fresh, tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom')\n")
    assert main(["list", "--plugin", str(bad)]) == EXIT["bad_arguments"]
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "boom" in err and "bad.py" in err
    assert main(["list", "--plugin", "no_such_module_xyz"]) == EXIT["bad_arguments"]
    assert "no module named" in capsys.readouterr().err
    assert main(["list", "--plugin", str(tmp_path / "missing.py")]) == EXIT["bad_arguments"]


def test_entry_point_plugin(fresh, tmp_path, monkeypatch, capsys):
    (tmp_path / "ep_plug.py").write_text(_readme_plugin().replace("half-U1", "ep-half"))
    info = tmp_path / "ep_plug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[kdtheory.plugins]\nmine = ep_plug\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["list"]) == EXIT["ok"]
    row = [x for x in capsys.readouterr().out.splitlines() if x.startswith("ep-half")][0]
    assert "ep_plug (entry point mine)" in row
    assert "ep-half" in {c.id for c in claims()}


def test_user_bound_with_inf_holds():
    """U1 in its Donsker-Varadhan form: |dgen| <= inf_lam K_n/lam + lam Esigma2/2 (= U1)."""
    lam = sp.Symbol("lam_dv", positive=True)
    thm = kd.Theorem(
        id="dv-form",
        name="U1 as an infimum",
        status="extension",
        ref="THEORY §3",
        statement=sp.Le(sp.Abs(dgen), kd.Inf(K / lam + lam * E / 2, lam)),
        assumptions=(SubGaussian(conditional=True),),
    )
    r = check(thm, "gaussian-mean", cases=200, search=80)
    assert r.verdict == "holds" and r.as_expected and r.counterexample is None
    assert r.max_ratio <= 1 + 1e-9
    ev = thm.evaluate(dgen=1.0, K_n=[1.0, 3.0], Esigma2=2.0)
    np.testing.assert_allclose(ev.rhs, [2.0, math.sqrt(12.0)], rtol=1e-9)
    np.testing.assert_allclose(ev.argmin["lam_dv"], [1.0, math.sqrt(3.0)], rtol=1e-5)
    # a value above the infimum is found, never one below it: a violation is genuine
    ev = thm.evaluate(dgen=2.0 + 1e-6, K_n=1.0, Esigma2=2.0)
    assert not ev.all_hold


def test_wrong_assumption_is_flagged():
    """A fixed sub-Gaussian parameter for Model A's gap: never met (its joint CGF has a finite
    domain, THEORY §6.5), so the claim is not reported as holding."""
    thm = kd.Theorem(
        id="small-sigma",
        name="fixed proxy",
        status="reconstructed",
        ref="test",
        statement=sp.Le(sp.Abs(dgen), sp.sqrt(2 * sp.Rational(1, 100) * K)),
        assumptions=(SubGaussian(sigma=0.1),),
    )
    r = check(thm, "gaussian-mean", cases=100, search=40)
    assert r.verdict == "inconclusive" and not r.as_expected
    assert r.cases == 0 and "assumption not met on" in r.notes
    assert r.extra["assumptions"]["not_met"] >= 100


def test_central_condition_checked_exactly():
    """eta beyond Model A's eta_c is not met; within it, met (exact joint CGF)."""
    from kdtheory.families import family

    fam = family("gaussian-mean-kd")
    pt = {"d": 2, "n": 5, "s": 1.0, "m": 0.3, "gamma_T": 2.0, "lam_T": 1.0, "m0_T": 0.0,
          "alpha": 0.5, "gamma_S": 1.0, "lam_S": 1.0, "m0_S": 0.0}  # fmt: skip
    from kdtheory.families import gaussian_mean_pair

    model, _, teacher = gaussian_mean_pair(pt)
    eta_c = model.eta_central(teacher)
    vals = fam.values(pt)
    assert fam.discharge(CentralCondition(eta=0.5 * eta_c, c=0.0), pt, vals) is True
    assert fam.discharge(CentralCondition(eta=1.5 * eta_c, c=0.0), pt, vals) is False


def test_vacuous_bound_is_flagged():
    thm = kd.Theorem(
        id="loose",
        name="a loose bound",
        status="conjecture",
        ref="test",
        statement=sp.Le(sp.Abs(dgen), 3 + sp.sqrt(K)),
        assumptions=(BoundedLoss(l_min=0.0, l_max=1.0),),
    )
    assert thm.trivial_bound() == 2  # |dgen| <= 2 (l_max - l_min)
    r = check(thm, "memoriser", cases=100, search=0)
    assert r.verdict == "no violation" and "vacuous on 100 of 100 cases" in r.summary()
    ev = thm.evaluate(dgen=0.1, K_n=[0.0, 1.0])
    assert ev.vacuous.tolist() == [True, True]
    tight = kd.Theorem(id="t", name="t", status="conjecture", ref="t",
                       statement=sp.Le(sp.Abs(dgen), sp.sqrt(K)),
                       assumptions=(BoundedLoss(0.0, 1.0),))  # fmt: skip
    assert tight.evaluate(dgen=0.1, K_n=[0.25, 9.0]).vacuous.tolist() == [False, True]


def test_identities():
    true_id = kd.Theorem(id="id-ok", name="dgen", status="extension", ref="THEORY §6",
                         statement=sp.Eq(dgen, symbol("gen_S") - symbol("gen_T")))  # fmt: skip
    r = check(true_id, "gaussian-mean", cases=200, search=40)
    assert true_id.kind == "identity" and r.verdict == "holds"
    false_id = kd.Theorem(id="id-bad", name="2 dgen", status="false", ref="test",
                          statement=sp.Eq(dgen, 2 * (symbol("gen_S") - symbol("gen_T"))))  # fmt: skip
    r = check(false_id, "gaussian-mean", cases=200, search=40)
    assert r.verdict == "refuted" and r.as_expected


def test_per_call_ranges_and_pins():
    thm = kd.Theorem(id="half", name="half", status="conjecture", ref="t",
                     statement=sp.Le(sp.Abs(dgen), sp.sqrt(E * K)))  # fmt: skip
    r = check(thm, "gaussian-mean", cases=200, search=100, ranges={"kappa": (0.2, 0.8)},
              pinned={"d": 1})  # fmt: skip
    p = r.counterexample["params"]
    assert r.verdict == "refuted" and p["d"] == 1 and 0.2 <= p["kappa"] <= 0.8
    with pytest.raises(KeyError, match="unknown coordinate"):
        check(thm, "gaussian-mean", ranges={"nope": (0, 1)})
    with pytest.raises(ValueError, match="does not supply"):
        check(kd.Theorem(id="x", name="x", status="conjecture", ref="x",
                         statement=sp.Le(symbol("E_Q_f"), K)), "gaussian-mean")  # fmt: skip


def test_define_validates_and_reaches_the_legend():
    with kd.scoped():
        beta = kd.define("beta_mine", r"\beta_{m}", (0, math.inf), "my constant")
        assert beta.is_positive and kd.define("beta_mine", r"\beta_{m}", (0, math.inf), "x") is beta
        with pytest.raises(ValueError, match="already defined"):
            kd.define("beta_mine", r"\beta", (0, 1), "other")
        with pytest.raises(ValueError, match="toolkit's parameters"):
            kd.define("K_n", "K", (0, 1), "x")
        with pytest.raises(ValueError, match="identifier"):
            kd.define("not a name", "x", (0, 1), "x")
        thm = kd.Theorem(id="b", name="b", status="conjecture", ref="b",
                         statement=sp.Le(sp.Abs(dgen), beta * K))  # fmt: skip
        assert r"$\beta_{m}$: my constant" in thm.symbol_legend()
        with pytest.raises(ValueError, match="beta_mine"):
            thm.evaluate(dgen=1.0, K_n=1.0, beta_mine=-1.0)
    assert "beta_mine" not in PARAMS  # the scope forgot it


def test_registry_ergonomics():
    import types

    assert isinstance(kd.theorems, types.ModuleType)  # no function shadows the subpackage
    assert kd.theorems.register is kd.register
    with kd.scoped():
        t = kd.Theorem(id="mine-1", name="m", status="conjecture", ref="m",
                       statement=sp.Le(dgen, K))  # fmt: skip
        kd.register(t)
        with pytest.raises(ValueError, match="replace=True"):
            kd.register(t)
        assert kd.register(t, replace=True) is t  # a notebook cell run twice
        assert kd.theorems.origin("mine-1") == "session"
        with pytest.raises(ValueError, match="toolkit's theorems"):
            kd.register(kd.Theorem(id="U1", name="x", status="conjecture", ref="x",
                                   statement=sp.Le(dgen, K)), replace=True)  # fmt: skip
    assert "mine-1" not in {t.id for t in kd.all_theorems()}
    with pytest.raises(ValueError, match="status"):
        kd.Theorem(id="s", name="s", status="maybe", ref="s", statement=sp.Le(dgen, K))


def test_show_L_lists_existing_proof_claim_and_tests():
    text = "\n".join(show_lines("L"))
    assert (
        "proof:       proofs/lower_bound.py" in text and "claims:      L (on gaussian-mean)" in text
    )
    assert "stated at:   kdtheory/theorems/lower.py:" in text
    for t in kd.theorem("L").tests:
        assert (ROOT / t).is_file()


@pytest.mark.parametrize("thm", kd.all_theorems(), ids=lambda t: t.id)
def test_every_theorem_has_claims_proof_and_tests(thm):
    """Navigation meta-test: a claim, a proof script that exists (or why there is none), and
    test files that exist and name the theorem."""
    assert claims_of(thm), f"{thm.id} is not checked by any claim"
    if thm.proof:
        assert (ROOT / thm.proof).is_file()
    else:
        assert thm.status is kd.Status.FALSE and proof_of(thm).startswith("none: a negative")
    assert thm.tests
    for t in thm.tests:
        assert f'"{thm.id}"' in (ROOT / t).read_text(), f"{t} does not name {thm.id}"


@given(kd.strategies.gaussian_mean_cases(pinned={"n": 7, "s": 1.5}, ranges={"alpha": (0.2, 0.3)},
                                         student_kinds=("kd",)))  # fmt: skip
def test_strategy_pins_and_ranges(case):
    assert case.model.n == 7 and case.model.s == 1.5
    assert 0.2 <= case.params["student"]["alpha"] <= 0.3


@given(kd.strategies.linear_gaussian_cases(pinned={"lin_k": 2}))
def test_strategy_linear(case):
    assert case.model.W_star.shape[0] == 2 and np.isfinite(case.model.gen(case.teacher))


@given(kd.strategies.ball_cases(pinned={"n": 3}))
def test_strategy_ball(case):
    assert case.model.n == 3 and case.model.distillation_divergence(case.student, case.teacher) >= 0


@given(kd.strategies.bump_cases(pinned={"omega": 2.0}))
def test_strategy_bump(case):
    assert case.model.gen(case.teacher) <= 1


@given(kd.strategies.memoriser_cases(pinned={"p_T": 0.5}))
def test_strategy_memoriser(case):
    assert case.teacher.p == 0.5 and 0 <= case.model.gen(case.student) <= 1


@given(kd.strategies.family_values("memoriser", pinned={"n": 4}))
def test_strategy_family_values(pv):
    point, values = pv
    assert point["n"] == 4 and values["n"] == 4 and values["K_n"] >= 0


def test_profiles_importable():
    from hypothesis import settings

    from kdtheory.strategies import load_profile

    load_profile("ci")
    assert settings().derandomize and settings().max_examples == 40
    with pytest.raises(ValueError, match="unknown profile"):
        load_profile("nope")


@pytest.mark.skipif(
    __import__("kdtheory.latex").latex.pdflatex_path() is None, reason="pdflatex not on PATH"
)
def test_user_theorem_latex_compiles(tmp_path):
    """A user's conjecture with its own quantity, an infimum and an assumption compiles."""
    from kdtheory import latex as klatex

    with kd.scoped():
        c = kd.define("c_tex", r"c_{\mathrm{tex}}", (0, math.inf), "a user's constant")
        lam = sp.Symbol("lam", positive=True)
        thm = kd.Theorem(
            id="tex-mine",
            name="My bound & its infimum",
            status="conjecture",
            ref="notes §2",
            statement=sp.Le(sp.Abs(dgen), kd.Inf(c * K / lam + lam * E / 2, lam)),
            assumptions=(SubGaussian(conditional=True),),
        )
        tex = tmp_path / "mine.tex"
        tex.write_text(klatex.theorems_document([thm]))
    assert r"\begin{conjecture}" in tex.read_text() and r"\inf_{" in tex.read_text()
    result = klatex.compile_pdf(tex)
    assert result.ok, result.message
    assert result.pages >= 1


def test_negative_controls_check_their_hypotheses_per_point():
    """N5's refutation counts only where its central condition (c = 0) holds: every search
    point is checked with Model A's exact CGF (none fails: eta = u eta_c, u < 1)."""
    from kdtheory.audit import run_audit

    (res,) = run_audit(seed=0, scale=0.3, only=["N5"]).results
    counts = res.extra["assumptions"]
    assert res.verdict == "refuted" and counts == {"not_met": 0, "unchecked": 0}


def test_a_sampling_claim_with_a_wrong_hypothesis_is_flagged():
    """The toolkit's sampled claims check their hypotheses on a sample of their cases (and the
    tightest): U1's sampler with a fixed sub-Gaussian parameter is flagged, U1 itself is not."""
    import dataclasses

    from kdtheory.audit.discharge import SAMPLE

    u1 = next(c for c in claims() if c.id == "U1")
    res = u1.run(0, scale=0.01)
    assert res.extra["assumptions"] == {"checked": SAMPLE + 1, "not_met": 0, "unchecked": 0}
    wrong = kd.Theorem(id="U1-fixed", name="x", status="reconstructed", ref="x",
                       statement=u1.theorem.statement, assumptions=(SubGaussian(sigma=0.1),))  # fmt: skip
    res = dataclasses.replace(u1, id="U1-fixed", theorem=wrong).run(0, scale=0.01)
    assert res.verdict == "inconclusive" and not res.as_expected
    assert res.extra["assumptions"]["not_met"] == SAMPLE + 1
    assert "assumption not met on" in res.notes


@pytest.mark.parametrize("side", ["upper", "lower"])
def test_sub_gamma_check_accepts_model_a_constants_and_refuses_smaller(side):
    """Model A's own (V_g, b_g) pass the grid check of the exact centred CGF (THEORY §6.5); a
    variance factor 100 times smaller does not (the CGF's curvature at 0 is Var g)."""
    from kdtheory.assumptions import SubGamma
    from kdtheory.families import family, gaussian_mean_pair

    fam = family("gaussian-mean")
    pt = {"d": 2, "n": 4, "s": 1.2, "m": 0.4, "a_T": 0.7, "b_T": 0.1, "tau_T": 0.5,
          "kappa": 0.1, "db": 0.0, "tau_factor": 1.0}  # fmt: skip
    model, _, teacher = gaussian_mean_pair(pt)
    v, b = model.sub_gamma_constants(teacher, side)
    vals = fam.values(pt)
    assert fam.discharge(SubGamma(v=v, b=b, side=side), pt, vals) is True
    assert fam.discharge(SubGamma(v=v / 100, b=b, side=side), pt, vals) is False


def test_search_alone_passes_the_statements_own_parameter():
    """With no sampled cases, the differential-evolution search must still evaluate a statement
    that has its own parameter: U1 with a constant c in (1, 3) in place of 2 is refuted by the
    search alone (at c = 1 the tilt student gives ratio sqrt(2)), and with c = 2 (Theorem U1)
    the search reaches ratio ~1 without a violation."""
    with kd.scoped():
        c = kd.define("c_search", "c", (0, math.inf), "a user's constant")
        thm = kd.Theorem(id="c-U1", name="c-U1", status="conjecture", ref="t",
                         statement=sp.Le(sp.Abs(dgen), sp.sqrt(c * E * K)))  # fmt: skip
        r = check(thm, "gaussian-mean", cases=0, search=200, ranges={"c_search": (1, 3)})
        assert r.verdict == "refuted" and r.counterexample["params"]["c_search"] < 2
        r = check(thm, "gaussian-mean", cases=0, search=200, pinned={"c_search": 2})
        assert r.verdict == "no violation" and 0.99 < r.max_ratio <= 1 + 1e-9
