"""Notebook display: the HTML (``_repr_html_``) and readable ``__repr__`` text of evaluations,
claim results, audit reports and rank profiles, and math-mode text for ``_repr_latex_``.

Every renderer here is a function of plain data (numbers, arrays, strings, dicts), so the layers
that display something (theorems, models, the audit) import this module and never each other.
Numbers are shown as Python numbers: a scalar evaluation reads ``lhs=0.5``, never ``array(0.5)``,
``np.float64(0.5)`` or ``np.True_``.  Every piece of text that goes into HTML passes through
:func:`html.escape`, and the markup is built from balanced elements only (:func:`table`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

from ._lazy import lazy_module

np = lazy_module("numpy", globals())  # numpy on first use: kdtheory list needs none

__all__ = [
    "plain",
    "number",
    "value_text",
    "table",
    "paragraph",
    "math_text",
    "evaluation_repr",
    "evaluation_html",
    "case_html",
    "count",
    "rank_profile_html",
]

#: significant digits of a number in HTML (a ratio of 0.9999999999 must not read as 1)
DIGITS = 10
#: at most this many elements of an array are written out in a parameter cell
MAX_ITEMS = 8


def plain(x):
    """``x`` as a Python scalar when it is a numpy scalar or a one-element 0-d array (``float``,
    ``bool``, ``int``, ``str``); anything else unchanged."""
    if isinstance(x, np.generic) or (isinstance(x, np.ndarray) and x.ndim == 0):
        return x.item()
    return x


def number(x, digits: int = DIGITS) -> str:
    """A number as short text: ``True``/``False`` for booleans, integers in full, floats to
    ``digits`` significant digits (``inf``, ``-inf``, ``nan`` spelled out)."""
    x = plain(x)
    if isinstance(x, (bool, int, str)):
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def value_text(v) -> str:
    """A parameter value as text: numbers by :func:`number`, sequences and arrays as ``[a, b]``
    (at most :data:`MAX_ITEMS` elements, then ``...`` and the length), mappings as ``k: v``."""
    v = plain(v)
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k}: {value_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        items = [value_text(x) for x in v[:MAX_ITEMS]]
        if len(v) > MAX_ITEMS:
            items.append(f"... ({len(v)} elements)")
        return "[" + ", ".join(items) + "]"
    if isinstance(v, (bool, int, float, np.number)):
        return number(v)
    return str(v)


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def table(head: Sequence[str], rows: Sequence[Sequence], caption: str = "", cls: str = "") -> str:
    """An HTML table of text: every header, cell and the caption escaped; a cell that is not a
    string goes through :func:`value_text`.  ``cls`` is the table's CSS class."""
    klass = f' class="{_esc(cls)}"' if cls else ""
    out = [f"<table{klass}>"]
    if caption:
        out.append(f"<caption>{_esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in head) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        cells = (c if isinstance(c, str) else value_text(c) for c in row)
        out.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def paragraph(*parts: tuple[str, bool] | str) -> str:
    """``<p>`` of text pieces, each escaped; a piece ``(text, True)`` is set in bold."""
    body = []
    for p in parts:
        text, bold = (p, False) if isinstance(p, str) else p
        body.append(f"<strong>{_esc(text)}</strong>" if bold else _esc(text))
    return "<p>" + "".join(body) + "</p>"


def math_text(text: str) -> str:
    r"""LaTeX *text* with ``$...$`` math segments (as an assumption's quantifier) in math mode:
    the math segments as they are, the text between them in ``\text{...}`` with its outer
    spaces as ``\ `` (so it is valid in LaTeX, MathJax and KaTeX, which all keep no ``$``
    inside ``\text``).  With unbalanced ``$`` the whole text is one ``\text`` without them."""
    parts = text.split("$")
    if len(parts) % 2 == 0:
        parts = [text.replace("$", "")]
    out = []
    for i, p in enumerate(parts):
        if i % 2:
            out.append(p)
        elif p:
            core = p.strip()
            lead = r"\ " if p[:1].isspace() else ""
            trail = r"\ " if p[-1:].isspace() else ""
            out.append(lead + (rf"\text{{{core}}}" if core else "") + trail)
    return "".join(out)


# -- evaluations ---------------------------------------------------------------------------------
_SIDES = ("lhs", "rhs", "slack", "ratio", "holds")


def _shape(ev) -> tuple:
    arrays = [getattr(ev, k) for k in _SIDES]
    if ev.vacuous is not None:
        arrays.append(ev.vacuous)
    return np.broadcast_shapes(*(np.shape(a) for a in arrays))


def _worst(ev, shape: tuple) -> tuple[int, np.ndarray]:
    """``(flat index of the largest ratio, the ratios)``; NaN ratios (``inf/inf``) come last."""
    ratio = np.broadcast_to(np.asarray(ev.ratio, dtype=float), shape).ravel()
    key = np.where(np.isnan(ratio), -np.inf, ratio)
    return int(np.argmax(key)), ratio


def _flat(x, shape: tuple) -> np.ndarray:
    return np.broadcast_to(np.asarray(x), shape).ravel()


def _summary(ev, shape: tuple) -> dict:
    """The facts shown for an array evaluation: cases, how many hold, the worst case."""
    k, ratio = _worst(ev, shape)
    holds = _flat(ev.holds, shape)
    out = {
        "shape": shape,
        "cases": int(holds.size),
        "hold": int(np.count_nonzero(holds)),
        "worst ratio": float(ratio[k]),
        "at index": tuple(int(i) for i in np.unravel_index(k, shape)),
        "lhs there": float(_flat(ev.lhs, shape)[k]),
        "rhs there": float(_flat(ev.rhs, shape)[k]),
    }
    if ev.vacuous is not None:
        out["vacuous"] = int(np.count_nonzero(_flat(ev.vacuous, shape)))
    return out


def _argmin_items(argmin: dict | None) -> list[tuple[str, str]]:
    """``argmin`` of each infimum variable: its value, or the range of its values."""
    items = []
    for lam, where in (argmin or {}).items():
        w = np.asarray(where, dtype=float)
        text = number(w) if w.ndim == 0 else f"{number(w.min())} .. {number(w.max())}"
        items.append((f"argmin {lam}", text))
    return items


def evaluation_repr(ev) -> str:
    """``Evaluation(lhs=0.5, rhs=2.0, slack=1.5, ratio=0.25, holds=True)`` for scalar inputs
    (Python numbers, the exact ``repr`` of each float; then ``vacuous`` and ``argmin`` when
    set); for arrays the shape, how many hold, the worst ratio, where, and the two sides there,
    then the arrays themselves when they have at most :data:`MAX_ITEMS` elements."""
    shape = _shape(ev)
    fields = {k: getattr(ev, k) for k in _SIDES}
    if ev.vacuous is not None:
        fields["vacuous"] = ev.vacuous
    if shape == ():
        fields = {k: plain(np.asarray(v)) for k, v in fields.items()}
        if ev.argmin:
            fields["argmin"] = {k: plain(np.asarray(v)) for k, v in ev.argmin.items()}
        return "Evaluation(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"
    s = _summary(ev, shape)
    text = (
        f"Evaluation(shape={shape}, holds {s['hold']} of {s['cases']}, "
        f"worst ratio {s['worst ratio']!r} at {s['at index']} "
        f"(lhs {s['lhs there']!r}, rhs {s['rhs there']!r})"
    )
    if "vacuous" in s:
        text += f", vacuous {s['vacuous']} of {s['cases']}"
    if s["cases"] <= MAX_ITEMS:
        text += "; " + ", ".join(f"{k}={np.asarray(v)!r}" for k, v in fields.items())
    return text + ")"


def evaluation_html(ev) -> str:
    """A scalar evaluation as one row lhs / rhs / slack / ratio / holds (and vacuous, argmin);
    an array evaluation as a summary: shape, how many hold, the worst ratio, lhs and rhs there."""
    shape = _shape(ev)
    extra = _argmin_items(ev.argmin)
    if shape == ():
        head = [*_SIDES]
        row = [number(np.asarray(getattr(ev, k))) for k in _SIDES]
        if ev.vacuous is not None:
            head.append("vacuous")
            row.append(number(np.asarray(ev.vacuous)))
        head += [k for k, _ in extra]
        row += [v for _, v in extra]
        return table(head, [row], cls="kdtheory-evaluation")
    s = _summary(ev, shape)
    rows = [
        ("shape", str(shape)),
        ("holds", f"{s['hold']} of {s['cases']}"),
        ("worst ratio", f"{number(s['worst ratio'])} at index {s['at index']}"),
        ("lhs, rhs there", f"{number(s['lhs there'])}, {number(s['rhs there'])}"),
    ]
    if "vacuous" in s:
        rows.append(("vacuous", f"{s['vacuous']} of {s['cases']}"))
    rows += extra
    return table(("evaluation", ""), rows, cls="kdtheory-evaluation")


# -- audit results -------------------------------------------------------------------------------
def _flatten(mapping: Mapping, prefix: str = "") -> list[tuple[str, object]]:
    """``(dotted name, value)`` of a nested mapping (``{"teacher": {"gamma": 2}}`` gives
    ``("teacher.gamma", 2)``)."""
    out = []
    for k, v in mapping.items():
        name = f"{prefix}{k}"
        out += _flatten(v, name + ".") if isinstance(v, Mapping) else [(name, v)]
    return out


def case_html(case: Mapping, caption: str) -> str:
    """A recorded case (``{"params", "values", "lhs", "rhs", "ratio", ...}``) as a table of
    ``kind / name / value``: the parameters (nested records flattened to dotted names), the
    values of the theorem's symbols, then the two sides, the ratio and any other entry."""
    rows = [("parameter", k, v) for k, v in _flatten(case.get("params") or {})]
    rows += [("theorem value", k, v) for k, v in (case.get("values") or {}).items()]
    rows += [("", k, v) for k, v in case.items() if k not in ("params", "values")]
    return table(("kind", "name", "value"), rows, caption=caption, cls="kdtheory-case")


def count(n: int, noun: str) -> str:
    """``1 case``, ``2 cases``."""
    n = int(n)
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- rank profile --------------------------------------------------------------------------------
_RANK_COLUMNS = (
    ("rank", "rank r"),
    ("rank_bottleneck", "rank bottleneck"),
    ("K_n", "K_n (best rank-r student)"),
    ("projection", "projection"),
)


def rank_profile_html(profile: Mapping) -> str:
    """One row per rank: ``rank``, ``rank_bottleneck``, ``K_n`` and, if present, the side of the
    best student (``projection``)."""
    cols = [(k, label) for k, label in _RANK_COLUMNS if k in profile]
    arrays = [np.asarray(profile[k]).ravel() for k, _ in cols]
    rows = [[number(a[i]) for a in arrays] for i in range(min((a.size for a in arrays), default=0))]
    return table([label for _, label in cols], rows, caption="rank profile", cls="kdtheory-rank")
