"""Low-level TeX text helpers shared by theorem rendering and the documents: escaping plain text
and the Unicode characters that pdflatex must be told about.

Plain text (a theorem's name, its notes, a claim's description) may contain ``$...$`` math
segments; those are kept verbatim and only the text between them is escaped, so
``"Q << P, see $\\rho_0$"`` renders as text with a math segment.
"""

from __future__ import annotations

__all__ = ["tex_escape", "unicode_declarations", "UNICODE_TEX"]

_TEXT_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "§": r"\S{}",
}

#: Unicode characters likely to appear in names, notes and proof sketches, and the LaTeX that
#: pdflatex should typeset for them (declared in every preamble by :func:`unicode_declarations`).
UNICODE_TEX: dict[str, str] = {
    "≤": r"\ensuremath{\le}",
    "≥": r"\ensuremath{\ge}",
    "≠": r"\ensuremath{\ne}",
    "≈": r"\ensuremath{\approx}",
    "∝": r"\ensuremath{\propto}",
    "⊗": r"\ensuremath{\otimes}",
    "≪": r"\ensuremath{\ll}",
    "≫": r"\ensuremath{\gg}",
    "→": r"\ensuremath{\to}",
    "⇒": r"\ensuremath{\Rightarrow}",
    "⇔": r"\ensuremath{\Leftrightarrow}",
    "∞": r"\ensuremath{\infty}",
    "±": r"\ensuremath{\pm}",
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "′": r"\ensuremath{'}",
    "√": r"\ensuremath{\surd}",
    "∈": r"\ensuremath{\in}",
    "∑": r"\ensuremath{\sum}",
    "∫": r"\ensuremath{\int}",
    "‖": r"\ensuremath{\|}",
    "≻": r"\ensuremath{\succ}",
    "⪰": r"\ensuremath{\succeq}",
    "α": r"\ensuremath{\alpha}",
    "β": r"\ensuremath{\beta}",
    "γ": r"\ensuremath{\gamma}",
    "δ": r"\ensuremath{\delta}",
    "Δ": r"\ensuremath{\Delta}",
    "ε": r"\ensuremath{\varepsilon}",
    "η": r"\ensuremath{\eta}",
    "θ": r"\ensuremath{\theta}",
    "κ": r"\ensuremath{\kappa}",
    "λ": r"\ensuremath{\lambda}",
    "Λ": r"\ensuremath{\Lambda}",
    "μ": r"\ensuremath{\mu}",
    "ν": r"\ensuremath{\nu}",
    "π": r"\ensuremath{\pi}",
    "ρ": r"\ensuremath{\rho}",
    "σ": r"\ensuremath{\sigma}",
    "Σ": r"\ensuremath{\Sigma}",
    "τ": r"\ensuremath{\tau}",
    "φ": r"\ensuremath{\varphi}",
    "ϕ": r"\ensuremath{\phi}",
    "ψ": r"\ensuremath{\psi}",
    "ω": r"\ensuremath{\omega}",
    "ς": r"\ensuremath{\varsigma}",
}


def _escape_text(text: str) -> str:
    return "".join(_TEXT_SPECIAL.get(ch, ch) for ch in text)


def tex_escape(text: str) -> str:
    """Escape plain ``text`` for LaTeX text mode, keeping balanced ``$...$`` math segments.

    With an odd number of unescaped ``$`` signs nothing is treated as math and every ``$`` is
    escaped.  Unicode characters of :data:`UNICODE_TEX` are left as they are (the preamble
    declares them).
    """
    parts = text.split("$")
    if len(parts) % 2 == 0:  # unbalanced: all text
        return _escape_text(text).replace("$", r"\$")
    return "$".join(p if i % 2 else _escape_text(p) for i, p in enumerate(parts))


def unicode_declarations() -> str:
    r"""``\DeclareUnicodeCharacter`` lines for every character of :data:`UNICODE_TEX`."""
    return "\n".join(
        rf"\DeclareUnicodeCharacter{{{ord(ch):04X}}}{{{tex}}}" for ch, tex in UNICODE_TEX.items()
    )
