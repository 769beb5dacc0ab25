"""Paper-ready LaTeX (issue 13): math typed as LaTeX, the root-combining printer rule, names that
do not repeat the environment's word, shared proof sketches printed once, an upright legend,
paper mode without provenance, the printed preamble, and typesetting: both theorem documents
compile with no overfull box wider than 1 pt, and a pasted theorem compiles in a minimal
``article`` with only the printed preamble."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import kdtheory.latex as klatex
from kdtheory.cli import main
from kdtheory.symbols import symbol, to_latex
from kdtheory.theorems import Status, all_theorems

THEOREMS = all_theorems()
BY_ID = {t.id: t for t in THEOREMS}
needs_pdflatex = pytest.mark.skipif(
    klatex.pdflatex_path() is None, reason="pdflatex not on PATH (kdtheory.latex.pdflatex_path)"
)
_OVERFULL = re.compile(r"Overfull \\hbox \(([\d.]+)pt too wide\)")


def _cli(*argv) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(list(argv))
    return rc, buf.getvalue()


def _text_outside_math(latex_text: str) -> str:
    """The text of ``latex_text`` outside ``$...$`` and ``\\[...\\]``."""
    no_display = re.sub(r"\\\[.*?\\\]", " ", latex_text, flags=re.S)
    return "".join(p for i, p in enumerate(no_display.split("$")) if i % 2 == 0)


# -- 1. math everywhere it is math ---------------------------------------------------------------


def test_products_of_roots_print_as_one_root():
    esigma2, k_n = symbol("Esigma2"), symbol("K_n")
    expr = sp.sqrt(2 * esigma2 * k_n)
    assert expr.is_Mul  # sympy splits it into three roots: the rule is needed
    assert to_latex(expr) == r"\sqrt{2 \mathbb{E}_D\sigma_D^2 K_n}"
    assert to_latex(sp.sqrt(2 * k_n / symbol("n"))) == r"\sqrt{\frac{2 K_n}{n}}"
    assert to_latex(-symbol("eta") * expr) == r"- \eta \sqrt{2 \mathbb{E}_D\sigma_D^2 K_n}"


def test_an_upright_factor_is_set_off_by_a_thin_space():
    """``c gen_T`` must not read as the word "cgen"; no space after a number or a relation."""
    c, gen_t = symbol("c"), symbol("gen_T")
    assert to_latex(c * gen_t) == r"c\,\mathrm{gen}_T"
    assert to_latex(2 * gen_t) == r"2 \mathrm{gen}_T"
    assert to_latex(sp.Le(c, gen_t)) == r"c \leq \mathrm{gen}_T"


def test_roots_of_factors_of_unknown_sign_stay_apart():
    """``sqrt(a) sqrt(b) = sqrt(a b)`` needs ``a, b >= 0``: not combined otherwise."""
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    assert to_latex(sp.sqrt(x) * sp.sqrt(y)).count(r"\sqrt") == 2


@given(
    st.lists(st.sampled_from(["Esigma2", "K_n", "n", "d", "eta", "V_g"]), min_size=2, max_size=4),
    st.integers(1, 7),
)
def test_a_root_of_a_product_of_positive_factors_prints_one_root(names, k):
    expr = sp.sqrt(k * sp.Mul(*[symbol(n) for n in dict.fromkeys(names)]))
    text = to_latex(expr)
    assert text.count(r"\sqrt") == (1 if expr.has(sp.Pow) else 0), text


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_notes_and_sketches_hold_latex_not_ascii_pseudo_math(thm):
    for text in (thm.notes, thm.proof_sketch):
        assert text.count("$") % 2 == 0, (thm.id, text)
        outside = _text_outside_math(text)
        for ascii_math in ("sqrt(", "<<", "_", "^", "sigma", "eta ", "rho", "theta", "Lambda"):
            assert ascii_math not in outside, (thm.id, ascii_math, outside)
    assert "\\" not in thm.notes_text and "$" not in thm.notes_text  # the plain-text reading


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_names_do_not_repeat_the_environment_word_or_the_id(thm):
    first = thm.name.split()[0].rstrip(":,")
    assert first not in {"Theorem", "Lemma", "Conjecture", "Claim", "Remark", thm.id}, thm.name
    assert not re.match(r"\(|.*\(.*\(", thm.name), thm.name  # no nested parentheses in a heading


@pytest.mark.parametrize("paper", [False, True])
def test_a_shared_proof_sketch_is_printed_once_and_referenced(paper):
    doc = klatex.theorems_document(paper=paper)
    shared = BY_ID["U0"].proof_sketch
    assert shared == BY_ID["U1"].proof_sketch and BY_ID["U-uniform"].proof_sketch.startswith(shared)
    assert doc.count(shared) == 1
    assert doc.count(r"As for Theorem~\ref{thm:U0}.") == 2
    assert "Hoeffding's lemma).\n" in doc.split(r"\label{thm:U-uniform}")[1]  # its extra sentence


def test_the_symbol_legend_is_upright():
    legend = BY_ID["U1"].symbol_legend()
    assert legend.startswith(r"\par{\upshape") and legend.endswith(r"\par}")


# -- 2. paper mode -------------------------------------------------------------------------------


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_paper_mode_has_no_provenance(thm):
    text = thm.latex(paper=True)
    assert "THEORY" not in text and r"\texttt" not in text and r"\S" not in text
    assert not re.search(r"\b(reconstructed|extension|negative control)\b", text)
    assert text.startswith(rf"\begin{{{thm.environment}}}")
    assert "THEORY" in thm.latex()  # non-paper mode keeps it (honest status labels)
    assert rf"\emph{{{'false' if thm.status is Status.FALSE else thm.status}" in thm.latex()


def test_paper_environments():
    envs = {t.id: t.environment for t in THEOREMS}
    assert envs["lemma-DV"] == envs["lemma-SG"] == "lemma"
    assert envs["U1"] == "theorem" and envs["N1"] == "remark"
    doc = klatex.theorems_document(paper=True)
    assert not any(rf"\label{{thm:{t.id}}}" in doc for t in THEOREMS if t.status is Status.FALSE)
    assert all(rf"\label{{thm:{t.id}}}" in doc for t in THEOREMS if t.status is not Status.FALSE)


def _defined_environments(preamble: str) -> set[str]:
    return set(re.findall(r"\\newtheorem\*?\{(\w+)\}", preamble))


@pytest.mark.parametrize("ids", [["U1"], ["lemma-DV"], ["N5"], ["U1", "N5"], None])
def test_the_preamble_defines_exactly_the_environments_used(ids):
    thms = THEOREMS if ids is None else [BY_ID[i] for i in ids]
    pre = klatex.theorem_preamble(thms, paper=True)
    used = {t.environment for t in thms}
    numbered = used - {"remark"}
    assert _defined_environments(pre) == used | ({"theorem"} if numbered else set())
    assert pre.splitlines()[0] == klatex.PACKAGES


def test_cli_latex_id_paper_and_preamble():
    rc, out = _cli("latex", "--id", "U1", "--paper")
    assert rc == 0 and out.strip() == BY_ID["U1"].latex(paper=True)
    rc, out = _cli("latex", "--id", "U0", "--id", "U1")
    assert rc == 0 and out.count(r"\begin{theorem}") == 2 and r"\ref{thm:U0}" in out
    rc, out = _cli("latex", "--preamble", "--paper")
    assert rc == 0 and out.strip() == klatex.theorem_preamble(paper=True)
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
        main(["latex", "--id", "no-such-theorem"])
    assert exc.value.code == 2


# -- 3. typesetting ------------------------------------------------------------------------------


def _compile_and_count(tmp_path, name: str, tex: str) -> list[float]:
    path = tmp_path / f"{name}.tex"
    path.write_text(tex, encoding="utf-8")
    result = klatex.compile_pdf(path, keep_log=True)
    assert result.ok, result.message
    log = result.log.read_text(encoding="latin-1")
    return [float(w) for w in _OVERFULL.findall(log)]


@needs_pdflatex
def test_the_overfull_box_count_sees_a_wide_box(tmp_path):
    """The parser of the log finds a box that is too wide (so a count of 0 means something)."""
    wide = "\\mbox{" + "x" * 150 + "}"  # an unbreakable word much wider than the text
    tex = f"\\documentclass{{article}}\\begin{{document}}\n{wide}\n\\end{{document}}\n"
    widths = _compile_and_count(tmp_path, "wide", tex)
    assert len(widths) == 1 and widths[0] > 100


@needs_pdflatex
@pytest.mark.parametrize("paper", [False, True], ids=["normal", "paper"])
def test_the_theorems_document_has_no_overfull_box(tmp_path, paper):
    tex = tmp_path / "theorems.tex"
    rc, _ = _cli("latex", "-o", str(tex), *(["--paper"] if paper else []))
    assert rc == 0
    widths = _compile_and_count(tmp_path, "theorems", tex.read_text(encoding="utf-8"))
    assert [w for w in widths if w > 1.0] == []


@needs_pdflatex
@pytest.mark.parametrize("ids", [["U1"], ["U1", "lemma-DV", "N5", "S-smooth", "L-gamma"]])
def test_a_pasted_theorem_compiles_in_a_minimal_article(tmp_path, ids):
    """``--preamble --paper`` plus the ``--id ... --paper`` body in ``\\documentclass{article}``
    (10 pt, its default, narrower text than the toolkit's documents) and nothing else."""
    id_args = [a for i in ids for a in ("--id", i)]
    rc, pre = _cli("latex", "--preamble", "--paper", *id_args)
    assert rc == 0
    rc, body = _cli("latex", "--paper", *id_args)
    assert rc == 0
    tex = f"\\documentclass{{article}}\n{pre}\\begin{{document}}\n{body}\n\\end{{document}}\n"
    widths = _compile_and_count(tmp_path, "pasted", tex)
    assert [w for w in widths if w > 1.0] == []


def test_paper_document_has_a_paper_title_and_no_provenance_in_its_head():
    from kdtheory.latex import PAPER_TITLE, theorems_document

    head = theorems_document(paper=True).split(r"\begin{document}")[0]
    assert rf"\title{{{PAPER_TITLE}}}" in head and r"\author{}" in head
    assert "kdtheory" not in head
    assert r"\author{generated by kdtheory}" in theorems_document().split(r"\begin{document}")[0]
