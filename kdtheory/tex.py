"""Low-level TeX text helpers shared by theorem rendering and the documents: escaping plain text
and the Unicode characters that pdflatex must be told about.

Plain text (a theorem's name, a claim's description) may contain ``$...$`` math
segments; those are kept verbatim and only the text between them is escaped, so
``"Q << P, see $\\rho_0$"`` renders as text with a math segment.  LaTeX text (a theorem's
notes and proof sketch) goes the other way for the terminal: :func:`latex_to_text` renders it as
readable plain text (``$\\bar\\sigma^2\\le\\sigma$`` -> ``σ̄^2 ≤ σ``).
"""

from __future__ import annotations

import re

__all__ = ["tex_escape", "unicode_declarations", "UNICODE_TEX", "latex_to_text"]

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
    "–": "--",
}

#: Unicode characters likely to appear in names, notes and proof sketches, and the LaTeX that
#: pdflatex should typeset for them (declared in every preamble by :func:`unicode_declarations`).
UNICODE_TEX: dict[str, str] = {
    "§": r"\S{}",
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


_MATH = "\\ensuremath{\\"
#: LaTeX control words and the plain text :func:`latex_to_text` writes for them (the Greek
#: letters and relations of :data:`UNICODE_TEX`, read backwards, plus a few more).
_TEXT_OF_COMMAND: dict[str, str] = {
    **{
        tex[len(_MATH) : -1]: ch
        for ch, tex in UNICODE_TEX.items()
        if tex.startswith(_MATH) and tex[len(_MATH) : -1].isalpha()
    },
    "le": "≤",
    "ge": "≥",
    "leq": "≤",
    "geq": "≥",
    "not": "not ",
    "mid": "|",
    "S": "§",
    "infty": "∞",
    "inf": "inf ",
    "sup": "sup ",
    "log": "log ",
    "exp": "exp ",
    "quad": " ",
    "qquad": " ",
}
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_GROUP = re.compile(r"([_^])\{([^{}]*)\}")
_UNWRAP = re.compile(
    r"\\(?:mathrm|mathbb|mathcal|operatorname|text|textnormal|emph|texttt|bigl|bigr|Bigl|Bigr)"
    r"\{([^{}]*)\}"
)
_SQRT = re.compile(r"\\sqrt\{([^{}]*)\}")
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_ACCENT = re.compile(r"\\(?:bar|overline)\s*\{?\\?([A-Za-z]+)\}?")


def latex_to_text(text: str) -> str:
    r"""A plain-text reading of LaTeX text for the terminal (``kdtheory show``): math delimiters
    dropped, ``\frac{a}{b}`` -> ``(a)/(b)``, ``\sqrt{x}`` -> ``sqrt(x)``, Greek letters and
    relations as Unicode, ``\mathrm{KL}`` -> ``KL``, ``~`` -> space.  Not a TeX interpreter: it
    reads the notation the project's notes use (an unknown command loses only its backslash)."""
    out = text.replace(r"\[", " ").replace(r"\]", " ").replace("$", "")
    out = re.sub(r"\\[,;:! ]", " ", out).replace("~", " ")
    out = re.sub(r"(\\[A-Za-z]+)(?=\\[A-Za-z])", r"\1 ", out)  # keep adjacent words apart
    out = out.replace(r"\left", "").replace(r"\right", "").replace(r"\|", "||")
    for _ in range(4):  # nested groups, innermost first
        out = _UNWRAP.sub(r"\1", out)
        out = _ACCENT.sub(lambda m: _TEXT_OF_COMMAND.get(m.group(1), m.group(1)) + "\u0304", out)
        out = _FRAC.sub(r"(\1)/(\2)", out)
        out = _SQRT.sub(r"sqrt(\1)", out)
        out = _GROUP.sub(lambda m: m.group(1) + _group(m.group(2)), out)
    out = re.sub(r"\\[Bb]ig[lr]", "", out)
    out = _COMMAND.sub(lambda m: _TEXT_OF_COMMAND.get(m.group(1), m.group(1)), out)
    out = out.replace("{", "").replace("}", "").replace("--", "-")
    return re.sub(r"[ \t]+", " ", out).strip()


def _group(body: str) -> str:
    """A sub- or superscript group as text: ``x`` for one token, ``(x y)`` otherwise."""
    return (
        body
        if re.fullmatch(r"\\?[A-Za-z0-9]+|\\?[A-Za-z]+[,*]?[A-Za-z0-9]*", body)
        else f"({body})"
    )
