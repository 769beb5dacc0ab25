"""LaTeX of theorems and documents (kdtheory.latex, kdtheory.tex, Theorem.latex).

Round trips: (1) every statement survives ``sympify(srepr(...))``; (2) the document's LaTeX of a
statement is, character for character, the project's printer's LaTeX of that statement with every
symbol renamed to a placeholder ``x_{1NN}`` and the placeholders then replaced by the project's
LaTeX names and the thin spaces before upright factors added (so the document shows exactly
the printed expression); (3) where
``sympy.parsing.latex.parse_latex`` works (it needs antlr4-python3-runtime 4.11), the placeholder
LaTeX parses back to an expression equal (``simplify(a - b) == 0``) to the theorem's.
"""

from __future__ import annotations

import re
import shutil

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import kdtheory.latex as klatex
from kdtheory.assumptions import BoundedLoss, SubGaussian
from kdtheory.symbols import PARAMS, latex_names, symbol, to_latex, upright_spacing
from kdtheory.tex import UNICODE_TEX, tex_escape, unicode_declarations
from kdtheory.theorems import E_D, Status, Theorem, all_theorems

THEOREMS = all_theorems()
needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex not on PATH (apt-get install texlive-latex-base texlive-latex-recommended)",
)


def _parse_latex_or_reason():
    try:
        from sympy.parsing.latex import parse_latex

        parse_latex("x + 1")
    except Exception as exc:  # ImportError, or antlr4 of the wrong version
        return None, f"sympy parse_latex unavailable: {str(exc).splitlines()[0]}"
    return parse_latex, ""


PARSE_LATEX, PARSE_REASON = _parse_latex_or_reason()


def _symbols_of(expr) -> list[sp.Symbol]:
    return sorted(expr.free_symbols, key=lambda s: s.name)


def _placeholder_latex(thm):
    """The project's printer (:func:`to_latex`) with every symbol renamed ``x_{1NN}``."""
    syms = _symbols_of(thm.statement)
    placeholders = {s: f"x_{{{100 + i}}}" for i, s in enumerate(syms)}
    return to_latex(thm.statement, symbol_names=placeholders), placeholders


# -- theorem LaTeX --------------------------------------------------------------------------


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_latex_contains_the_symbols_of_the_assumptions_and_the_statement(thm):
    names = latex_names()
    text = thm.latex()
    for a in thm.assumptions:
        for s in a.predicate().free_symbols:
            if s in names:
                assert names[s] in text, (thm.id, a, names[s])
    stmt = thm.statement_latex()
    legend = thm.symbol_legend()
    for s in thm.statement.free_symbols:
        assert names[s] in stmt, (thm.id, s)
        if s.name in PARAMS:  # theory parameters are explained in the legend
            p = PARAMS[s.name]
            assert f"${p.latex}$: {tex_escape(p.meaning)}" in legend, (thm.id, s)
    assert stmt in text and legend in text


def _environment(thm):
    if thm.status is Status.FALSE:
        return "claim"
    return "lemma" if "lemma" in thm.tags else "theorem"


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_latex_is_a_theorem_environment_with_name_status_and_proof(thm):
    env = _environment(thm)
    text = thm.latex()
    assert text.startswith(rf"\begin{{{env}}}[{{{tex_escape(thm.name)}}}]\label{{thm:{thm.id}}}")
    assert rf"\end{{{env}}}" in text
    assert tex_escape(str(thm.status)) in text and tex_escape(thm.ref) in text
    assert text.count(r"\item ") == len(thm.assumptions)
    if thm.proof_sketch:
        assert r"\begin{proof}[Proof sketch]" in text and thm.proof_sketch in text
    assert r"\begin{proof}" not in thm.latex(proof=False)
    if thm.notes:  # notes are LaTeX text: inserted as they are, not escaped
        assert thm.notes in text


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_repr_latex_shows_name_hypotheses_and_statement(thm):
    r = thm._repr_latex_()
    assert r.startswith(r"$\displaystyle \begin{array}{l}") and r.endswith(r"\end{array}$")
    assert thm.statement_latex() in r
    for a in thm.assumptions:
        for c in a.conditions():
            assert to_latex(c) in r


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_srepr_round_trip(thm):
    assert sp.sympify(sp.srepr(thm.statement)) == thm.statement


@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_document_latex_is_the_printed_expression_up_to_symbol_names(thm):
    """The project's printer with placeholder names, renamed back, is the document's LaTeX: the
    statement is the printed expression, only the symbol names differ."""
    text, placeholders = _placeholder_latex(thm)
    names = latex_names()
    for s, p in placeholders.items():
        text = text.replace(p, names[s])
    assert upright_spacing(text) == thm.statement_latex()


@pytest.mark.skipif(PARSE_LATEX is None, reason=PARSE_REASON or "parse_latex available")
@pytest.mark.parametrize("thm", THEOREMS, ids=lambda t: t.id)
def test_parse_latex_round_trip(thm):
    if thm.statement.atoms(E_D):
        pytest.skip(f"{thm.id}: E_D(...) has no LaTeX grammar in sympy's parser")
    text, placeholders = _placeholder_latex(thm)
    text = text.replace(r"\left|{", "|").replace(r"}\right|", "|")  # the parser's |x| syntax
    try:
        parsed = PARSE_LATEX(text)
    except Exception as exc:  # the grammar does not cover every construct (e.g. Max, Piecewise)
        pytest.skip(f"{thm.id}: sympy cannot parse {text!r}: {type(exc).__name__}")
    back = {sp.Symbol(p): s for s, p in placeholders.items()}
    back[sp.Symbol("e")] = sp.E  # the parser reads the printer's e^{x} as a symbol e
    assert type(parsed) is type(thm.statement)
    for got, want in ((parsed.lhs, thm.lhs), (parsed.rhs, thm.rhs)):
        assert sp.simplify(got.xreplace(back) - want) == 0, (thm.id, text)


# -- escaping ---------------------------------------------------------------------------------

ESCAPES = [
    ("a_b & c", r"a\_b \& c"),
    ("50% #1", r"50\% \#1"),
    ("Q << P", r"Q \textless{}\textless{} P"),
    ("{x}^~", r"\{x\}\textasciicircum{}\textasciitilde{}"),
    ("P_S|D", r"P\_S\textbar{}D"),
    ("THEORY §6.6", r"THEORY \S{}6.6"),
    (r"a\b", r"a\textbackslash{}b"),
    ("see $\\rho_0$ and a_b", "see $\\rho_0$ and a\\_b"),
    ("costs $5", r"costs \$5"),
    ("ρ ≤ σ", "ρ ≤ σ"),
]


@pytest.mark.parametrize(("text", "expected"), ESCAPES)
def test_tex_escape_table(text, expected):
    assert tex_escape(text) == expected


_SPECIAL = set("\\&%#_{}~^<>|$")
_ESCAPED = re.compile(
    r"\\textbackslash\{\}|\\textasciitilde\{\}|\\textasciicircum\{\}|\\textless\{\}"
    r"|\\textgreater\{\}|\\textbar\{\}|\\S\{\}|\\[&%#_{}$]"
)


@given(st.text(alphabet=st.sampled_from(list("ab xy\\&%#_{}~^<>|§$")), max_size=40))
def test_escaped_text_has_no_bare_special_characters(text):
    """Outside math segments every TeX special character is escaped."""
    out = tex_escape(text)
    parts = text.split("$")
    if len(parts) % 2 == 1 and len(parts) > 1:  # balanced: check only the text segments
        for i, seg in enumerate(parts):
            if i % 2 == 0:
                assert not (_SPECIAL & set(_ESCAPED.sub("", tex_escape(seg))))
    else:
        assert not (_SPECIAL & set(_ESCAPED.sub("", out)))


def test_unicode_declarations_cover_the_table():
    decl = unicode_declarations()
    assert decl.count(r"\DeclareUnicodeCharacter") == len(UNICODE_TEX)
    assert r"\DeclareUnicodeCharacter{2264}{\ensuremath{\le}}" in decl
    assert decl in klatex.preamble("t")


# -- documents and compilation ------------------------------------------------------------------


def test_theorems_document_groups_every_theorem_by_status():
    doc = klatex.theorems_document()
    heads = {s: doc.index(klatex.STATUS_TITLES[s]) for s in Status if all_theorems(s)}
    assert list(heads.values()) == sorted(heads.values())  # THEORY §0 order
    for t in THEOREMS:
        pos = doc.index(rf"\label{{thm:{t.id}}}")
        nearest = max((h, s) for s, h in heads.items() if h < pos)[1]
        assert nearest is t.status, t.id


#: a theorem with every awkward ingredient: specials and Unicode in name and notes, a false
#: status (the ``claim`` environment), two assumptions, an E_D term and a math segment.
NASTY = Theorem(
    id="test_nasty-1",
    name="Test [S']: 50% of {x} & Q << P_1 ≤ σ′ ~ #2",
    status=Status.FALSE,
    ref="THEORY §8 (test only)",
    statement=sp.Ge(
        symbol("gen_S"), E_D(symbol("sigma_D") ** 2) - symbol("Esigma2") ** 2 / symbol("eta")
    ),
    assumptions=(SubGaussian(conditional=True), BoundedLoss(l_min=0, l_max=1)),
    proof_sketch=r"By $\rho_0$ and ≤.",
    notes=r"Not registered; $K_n \to 0$ keeps a\_b \^{} \~{} \# ∝ ⊗ literal.",
)


@needs_pdflatex
def test_documents_compile_with_pdflatex(tmp_path):
    """The registry, a synthetic awkward theorem and every ``_repr_latex_`` compile with
    ``pdflatex -halt-on-error -interaction=nonstopmode``."""
    doc = klatex.theorems_document(THEOREMS + [NASTY])
    reprs = "\n\n".join(t._repr_latex_() + r"\par" for t in THEOREMS + [NASTY])
    doc = doc.replace(r"\end{document}", reprs + "\n\\end{document}")
    tex = tmp_path / "all.tex"
    tex.write_text(doc, encoding="utf-8")
    result = klatex.compile_pdf(tex)
    assert result.ok, result.message
    assert result.pdf.stat().st_size > 1000 and result.pdf.read_bytes()[:5] == b"%PDF-"
    assert result.pages >= 1
    log = result.log.read_text(encoding="latin-1")
    assert "Missing character" not in log and "undefined" not in log.lower()


@needs_pdflatex
def test_compile_reports_the_first_tex_error(tmp_path):
    tex = tmp_path / "bad.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    result = klatex.compile_pdf(tex)
    assert not result.ok and result.pdf is None
    assert "! Undefined control sequence." in result.message


def test_compile_without_pdflatex_says_so(tmp_path, monkeypatch):
    tex = tmp_path / "a.tex"
    tex.write_text(klatex.theorems_document())
    monkeypatch.setattr(klatex, "pdflatex_path", lambda: None)
    result = klatex.compile_pdf(tex)
    assert not result.ok and result.message == klatex.PDFLATEX_MISSING
    assert "texlive-latex-base" in result.message


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tex_path": "/nonexistent/x.tex"}, FileNotFoundError, "tex_path"),
        ({"runs": 0}, ValueError, "runs must be an integer >= 1, got 0"),
        ({"runs": 1.5}, ValueError, "runs must be an integer >= 1, got 1.5"),
    ],
)
def test_compile_invalid_input(tmp_path, kwargs, error, match):
    tex = tmp_path / "a.tex"
    tex.write_text("x")
    with pytest.raises(error, match=re.escape(match)):
        klatex.compile_pdf(**{"tex_path": tex, **kwargs})
