"""Notebook display (issue 13, item 5): evaluations, claim results, audit reports and the rank
profile as HTML tables, assumptions as display math.

The HTML is parsed with :mod:`html.parser`: every element must be closed in order, the table
cells must say what the objects hold, and text from the objects must arrive as text (escaped),
never as markup.  Scalar evaluations must read as Python numbers, never ``array(0.5)``,
``np.float64(0.5)`` or ``np.True_``.
"""

import math
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest
import sympy as sp

import kdtheory
from kdtheory import display
from kdtheory.assumptions import (
    Assumption,
    BoundedLoss,
    CentralCondition,
    Sharpness,
    SubGamma,
    SubGaussian,
)
from kdtheory.audit import SearchClaim, run_audit
from kdtheory.audit.engine import AuditReport, ClaimResult
from kdtheory.models import smallest_rank
from kdtheory.models.linear import RankProfile
from kdtheory.symbols import symbol, to_latex
from kdtheory.theorems.base import Inf, Theorem

NUMPY_REPR = ("np.", "array(", "float64", "True_", "False_")
VOID = {"br", "hr", "img", "col", "wbr", "meta", "input"}


class Html(HTMLParser):
    """A parsed fragment: the tags opened, the nesting errors, the rows of every table (header
    and data cells as text) and the text of ``<strong>``, ``<caption>`` and ``<p>`` elements."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.errors: list[str] = []
        self.stack: list[str] = []
        self.rows: list[list[str]] = []
        self.texts: dict[str, list[str]] = {"strong": [], "caption": [], "p": []}
        self._open: dict[str, list[str]] = {}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th", *self.texts):
            self._open[tag] = []

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        text = "".join(self._open.pop(tag, []))
        if tag in ("td", "th"):
            self.rows[-1].append(text)
        elif tag in self.texts:
            self.texts[tag].append(text)

    def handle_data(self, data):
        for parts in self._open.values():
            parts.append(data)

    @property
    def balanced(self) -> bool:
        return not self.errors and not self.stack


def parse(markup: str) -> Html:
    doc = Html(markup)
    assert doc.balanced, (doc.errors, doc.stack, markup)
    return doc


@pytest.mark.parametrize(
    "markup", ["<table><tr><td>x</tr></table>", "<p>open", "<div><p>a</div></p>", "</p>"]
)
def test_the_balance_check_rejects_broken_markup(markup):
    assert not Html(markup).balanced


def _fields(text: str) -> dict[str, str]:
    """``key=value`` pairs of a one-level repr such as ``Evaluation(lhs=0.5, holds=True)``."""
    return dict(re.findall(r"(\w+)=([^,()]+)", text))


# -- evaluations ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dgen,holds", [(0.5, True), (3.0, False)])
def test_a_scalar_evaluation_reads_as_python_numbers(dgen, holds):
    ev = kdtheory.theorem("U1").evaluate(dgen=dgen, Esigma2=2.0, K_n=1.0)
    text = repr(ev)
    assert not any(s in text for s in NUMPY_REPR), text
    fields = _fields(text)
    assert list(fields) == ["lhs", "rhs", "slack", "ratio", "holds"]
    for k in ("lhs", "rhs", "slack", "ratio"):
        assert float(fields[k]) == float(getattr(ev, k))  # the exact repr of each float
    assert fields["holds"] == str(holds)

    doc = parse(ev._repr_html_())
    head, row = doc.rows
    assert head == ["lhs", "rhs", "slack", "ratio", "holds"]
    assert not any(s in "".join(row) for s in NUMPY_REPR)
    for k, cell in zip(head[:4], row[:4], strict=True):
        assert float(cell) == pytest.approx(float(getattr(ev, k)), rel=1e-9)
    assert row[4] == str(holds)


def test_an_array_evaluation_is_summarised():
    ev = kdtheory.theorem("U1").evaluate(dgen=np.array([0.5, 3.0, -1.0]), Esigma2=2.0, K_n=1.0)
    cells = dict(parse(ev._repr_html_()).rows[1:])
    assert cells["shape"] == "(3,)"
    assert cells["holds"] == "2 of 3"
    assert cells["worst ratio"] == "1.5 at index (1,)"  # |dgen| = 3 against sqrt(2 * 2 * 1) = 2
    assert cells["lhs, rhs there"] == "3, 2"
    assert "holds 2 of 3" in repr(ev) and "worst ratio 1.4999" in repr(ev)

    big = kdtheory.theorem("U1").evaluate(dgen=np.linspace(-3, 3, 10_001), Esigma2=2.0, K_n=1.0)
    text = repr(big)
    assert len(text) < 300 and "array(" not in text, text  # a summary, not 10,001 numbers
    assert "holds 6667 of 10001" in text  # |dgen| <= 2 on 2/3 of the grid, ends included


def test_vacuous_and_the_minimiser_of_an_infimum_are_shown():
    dgen, k_n, e = symbol("dgen"), symbol("K_n"), symbol("Esigma2")
    lam = sp.Symbol("lam_display", positive=True)
    thm = Theorem(  # inf over lam of K_n/lam + lam Esigma2/2 is sqrt(2 Esigma2 K_n), at lam = 1
        id="display-inf",
        name="U1 as an infimum",
        status="conjecture",
        ref="test",
        statement=sp.Le(sp.Abs(dgen), Inf(k_n / lam + lam * e / 2, lam)),
        assumptions=(BoundedLoss(l_min=0.0, l_max=1.0),),
    )
    ev = thm.evaluate(dgen=0.5, K_n=1.0, Esigma2=2.0)
    text = repr(ev)
    assert not any(s in text for s in NUMPY_REPR), text
    assert "vacuous=True" in text  # the bound 2 is the trivial bound 2 (l_max - l_min)
    assert float(re.search(r"'lam_display': ([\d.e+-]+)", text).group(1)) == pytest.approx(1.0)
    head, row = parse(ev._repr_html_()).rows
    cells = dict(zip(head, row, strict=True))
    assert cells["vacuous"] == "True" and cells["holds"] == "True"
    assert float(cells["argmin lam_display"]) == pytest.approx(1.0, rel=1e-6)

    arr = thm.evaluate(dgen=0.5, K_n=np.array([0.5, 1.0]), Esigma2=2.0)
    cells = dict(parse(arr._repr_html_()).rows[1:])
    assert cells["vacuous"] == "1 of 2"  # rhs 1.414 < 2 and rhs 2 >= 2
    low, high = (float(x) for x in cells["argmin lam_display"].split(" .. "))
    assert low == pytest.approx(math.sqrt(0.5), rel=1e-6) and high == pytest.approx(1.0, rel=1e-6)


# -- claim results and reports ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_report():
    return run_audit(seed=3, scale=0.01, only=["U1"])


def _refuted(params):
    real = {"params": params, "values": {"dgen": 3.0, "Esigma2": 2.0, "K_n": 1.0}}  # ratio 1.5
    claim = SearchClaim(
        id="display-real",
        theorem=kdtheory.theorem("U1"),
        model="none",
        search=lambda rng, budget: (budget, real, np.float64(2.1)),
    )
    return claim.run(np.random.default_rng(0))


def test_a_claim_result_repr_is_one_short_line():
    res = _refuted({"m": np.arange(5000.0)})  # a large record stays out of the repr
    text = repr(res)
    assert "\n" not in text and len(text) < 200, text
    assert not any(s in text for s in NUMPY_REPR), text
    fields = _fields(text)
    assert fields["id"] == "'display-real'" and fields["verdict"] == "'refuted'"
    assert int(fields["cases"]) == res.cases and int(fields["violations"]) == 1
    assert isinstance(res.max_ratio, np.float64)  # the search's own best, kept by the engine
    assert fields["max_ratio"] == "2.1"


def test_a_claim_result_shows_its_counterexample_as_a_parameter_table():
    res = _refuted({"model": {"d": 2, "m": np.array([1.0, -2.5])}, "label": "<b>x & y</b>"})
    doc = parse(res._repr_html_())
    assert "b" not in doc.tags  # the record's text is text, not markup
    assert doc.texts["caption"] == ["counterexample"]
    assert doc.texts["strong"] == ["display-real", "refuted"]
    rows = doc.rows[1:]
    assert ["parameter", "model.d", "2"] in rows
    assert ["parameter", "model.m", "[1, -2.5]"] in rows
    assert ["parameter", "label", "<b>x & y</b>"] in rows
    assert ["theorem value", "dgen", "3"] in rows
    assert ["", "ratio", "1.5"] in rows and ["", "rhs", "2"] in rows


def test_a_claim_result_that_holds_shows_its_tightest_case(small_report):
    res = small_report.results[0]
    assert res.verdict == "holds" and res.counterexample is None
    doc = parse(res._repr_html_())
    assert doc.texts["caption"] == ["tightest case"]
    assert doc.texts["strong"] == ["U1", "holds"]
    cells = {(kind, name): value for kind, name, value in doc.rows[1:]}
    for side in ("lhs", "rhs", "ratio"):
        assert float(cells[("", side)]) == pytest.approx(res.tightest[side], rel=1e-9)
    for k, v in res.tightest["values"].items():
        assert float(cells[("theorem value", k)]) == pytest.approx(v, rel=1e-9)
    assert f"in {res.cases} cases, 0 violations" in doc.texts["p"][0]


def test_text_from_a_claim_is_escaped():
    script = "<script>alert(1)</script>"
    res = ClaimResult(script, "T&1", "conjecture", 'm"o', "holds", 1, 0, None, notes="a < b & c")
    doc = parse(res._repr_html_())
    assert "script" not in doc.tags
    assert doc.texts["strong"][0] == script
    assert "a < b & c" in doc.texts["p"] and "max ratio -" in doc.texts["p"][0]
    report = AuditReport([res], seed=0, scale=1.0, seconds=0.0, unaudited=[])
    doc = parse(report._repr_html_())
    assert "script" not in doc.tags and doc.rows[1][0] == script


def test_an_audit_report_displays_its_table_and_status(small_report):
    doc = parse(small_report._repr_html_())
    text = small_report.table().splitlines()
    del text[1]  # the rule under the header
    assert doc.rows == [re.split(r"\s{2,}", line) for line in text]  # the cells of table()
    assert doc.rows[0] == list(AuditReport.TABLE_HEAD) and doc.rows[1][:4] == [
        "U1",
        "reconstructed",
        "gaussian-mean",
        "holds",
    ]
    assert doc.texts["strong"] == ["OK"] and doc.texts["p"] == [small_report.status_line()]
    assert small_report.status_line().startswith("OK: 1 claim, seed 3, ")

    bad = ClaimResult("X", "U1", "paper", "m", "refuted", 5, 1, 1.2)  # a true claim refuted
    failed = AuditReport([bad, *small_report.results], 3, 0.01, 1.0, [])
    doc = parse(failed._repr_html_())
    assert doc.texts["strong"] == ["FAILED"] and doc.texts["p"][0].startswith("FAILED: 2 claims")
    assert doc.rows[1][3] == "refuted (!)" and doc.rows[2][3] == "holds"


# -- assumptions ---------------------------------------------------------------------------------
ASSUMPTIONS = [
    SubGaussian(),
    SubGaussian(conditional=True),
    SubGaussian(sigma=2.0, of=None, under="any law"),
    BoundedLoss(l_min=0.0, l_max=1.0),
    SubGamma(),
    SubGamma(v=1.0, b=0.5, side="lower"),
    CentralCondition(eta=0.5, c=0.0),
    Sharpness(),
]


def test_every_assumption_class_is_displayed():
    assert {type(a) for a in ASSUMPTIONS} == set(Assumption.__subclasses__())


def _braces_balanced(tex: str) -> bool:
    depth = 0
    for ch in tex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("a", ASSUMPTIONS, ids=str)
def test_an_assumption_displays_its_predicate_and_quantifier_as_display_math(a):
    tex = a._repr_latex_()
    assert tex.startswith("$$") and tex.endswith("$$")
    body = tex[2:-2]
    assert "$" not in body  # MathJax and KaTeX: no inline math inside \text{...}
    assert _braces_balanced(body)
    assert rf"\textbf{{{a.title}}}" in body
    for c in a.conditions():
        assert to_latex(c) in body
    q = a.quantifier()
    for math_part in q.split("$")[1::2]:  # the quantifier's math, now in math mode
        assert math_part in body
    for text_part in q.split("$")[::2]:  # its words, in \text{...}
        if text_part.strip():
            assert rf"\text{{{text_part.strip()}}}" in body


def test_the_conditional_proxy_says_for_all_lambda_conditionally_on_d():
    tex = SubGaussian(conditional=True)._repr_latex_()
    assert r"\text{for all}\ \lambda\in\mathbb{R}\text{, conditionally on}\ D" in tex
    assert "conditionally" not in SubGaussian()._repr_latex_()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not on PATH")
def test_the_assumption_display_compiles_in_latex(tmp_path):
    from kdtheory.latex import compile_pdf

    doc = "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage{amsmath,amssymb}",
            r"\begin{document}",
            *(a._repr_latex_() for a in ASSUMPTIONS),
            r"\end{document}",
        ]
    )
    tex = tmp_path / "assumptions.tex"
    tex.write_text(doc)
    result = compile_pdf(tex, runs=1, keep_log=False)
    assert result.ok, result.message


def test_math_text_puts_words_in_text_and_keeps_math():
    assert display.math_text("for all $x$ and $y$") == r"\text{for all}\ x\ \text{and}\ y"
    assert display.math_text("a $b") == r"\text{a b}"  # unbalanced: no math, no $


# -- rank profile --------------------------------------------------------------------------------
def test_the_rank_profile_is_still_a_dict_and_displays_as_a_table():
    x = np.array(
        [
            [1.0, 0.5, -1.0, 2.0, 0.0, 1.0],
            [0.0, 1.0, 1.0, -1.0, 2.0, 0.5],
            [1.0, -1.0, 0.5, 0.0, 1.0, -2.0],
        ]
    )
    lin = kdtheory.LinearGaussianModel(x, W_star=np.diag([3.0, 1.0, 0.1]), nu=1.0)
    prof = lin.rank_profile(lin.bayes_teacher(lam=1.0, temperature=1.0))
    assert isinstance(prof, dict) and isinstance(prof, RankProfile)
    assert set(prof) == {"rank", "rank_bottleneck", "K_n", "projection"}
    assert prof == dict(prof) and smallest_rank(prof, budget=2.0) == 2
    doc = parse(prof._repr_html_())
    assert doc.rows[0] == ["rank r", "rank bottleneck", "K_n (best rank-r student)", "projection"]
    assert len(doc.rows) == 1 + len(prof["rank"]) == 5
    for i, (r, cost, k_n, side) in enumerate(doc.rows[1:]):
        assert int(r) == prof["rank"][i] and side == prof["projection"][i]
        assert float(cost) == pytest.approx(prof["rank_bottleneck"][i], rel=1e-9, abs=1e-300)
        assert float(k_n) == pytest.approx(prof["K_n"][i], rel=1e-9, abs=1e-300)
    assert float(doc.rows[1][2]) == pytest.approx(35.869, abs=5e-4)  # the README's K_n[0]

    bare = RankProfile(rank=np.arange(2), rank_bottleneck=np.ones(2), K_n=np.ones(2))
    assert parse(bare._repr_html_()).rows[0] == [
        "rank r",
        "rank bottleneck",
        "K_n (best rank-r student)",
    ]
