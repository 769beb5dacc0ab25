"""``kdtheory audit --certified``: re-evaluate each claim's tightest case (and counterexample) in
arb ball arithmetic (:mod:`kdtheory.certified`).

Inputs of the ball evaluation, per claim:

* claims registered with :func:`register_ball_inputs` recompute their theorem values in ball
  arithmetic from the case's parameter record -- ``U1`` and ``U0`` on Model A: the THEORY §6
  closed forms of :mod:`kdtheory.models.gaussian_mean_arrays` run on arb balls from the drawn
  constructor parameters (exact floats), so an equality witness (THEORY §6.4, tilt student)
  gives a slack ball around 0 that shrinks with the precision: "equal within the ball";
* every other recorded value is the recorded double with a ball of radius
  ``POINT_RTOL |x| + POINT_ATOL`` = the audit's tolerances :data:`kdtheory.theorems.base.RTOL`
  (1e-9, relative) and :data:`~kdtheory.theorems.base.ATOL` (1e-12, absolute: it covers values
  recorded near zero, e.g. products that underflowed to subnormals): the accuracy the audit
  itself trusts a computed value to -- a stated allowance, not a rigorous bound.

What a verdict rests on is part of its label:

* every input recomputed in ball arithmetic from the case parameters: the ball verdict of
  :func:`kdtheory.certified.certify` as it is -- ``certified``, ``violated``, ``equal within the
  ball``, ``undecided``;
* some input taken from the record with an allowance: ``holds beyond the input allowance``,
  ``fails beyond the input allowance`` (the slack keeps its sign for every input within the
  allowance; rigorous only if the recorded doubles are that accurate), ``equal within the input
  allowance``, or ``undecided`` (e.g. a case recorded at ratio 1 up to rounding).  Such a case is
  never called plainly "certified".

Every result says which inputs were recomputed and which were taken from the record
(``inputs``), whether all were recomputed (``recomputed``) and the largest relative allowance
given to a recorded input (``allowance``, ``None`` when there is none).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..certified import CERTIFIED, EQUAL, UNDECIDED, VIOLATED, certify, require_flint
from ..theorems.base import ATOL, RTOL, Status
from .engine import AuditReport, Claim, ClaimResult, claims

__all__ = [
    "POINT_RTOL",
    "HOLDS_BEYOND_ALLOWANCE",
    "FAILS_BEYOND_ALLOWANCE",
    "EQUAL_WITHIN_ALLOWANCE",
    "register_ball_inputs",
    "certify_case",
    "certify_result",
    "certify_report",
    "certified_ok",
    "table_with_certified",
    "TABLE_LEGEND",
]

#: claim id -> (``f(params record, prec) -> dict of arb values``, ``{name: relative radius}``)
_BALL_INPUTS: dict[str, tuple[Callable[[dict, int], dict], dict[str, float]]] = {}

#: relative radius of the ball around a recorded double value (the audit's tolerance)
POINT_RTOL = RTOL
#: absolute radius added to it (the audit's absolute tolerance)
POINT_ATOL = ATOL

#: verdicts of a case with an input taken from the record (a double with an allowance) rather
#: than recomputed in ball arithmetic: never plainly "certified" (see the module doc)
HOLDS_BEYOND_ALLOWANCE = "holds beyond the input allowance"
FAILS_BEYOND_ALLOWANCE = "fails beyond the input allowance"
EQUAL_WITHIN_ALLOWANCE = "equal within the input allowance"
_ON_RECORDED_INPUTS = {
    CERTIFIED: HOLDS_BEYOND_ALLOWANCE,
    VIOLATED: FAILS_BEYOND_ALLOWANCE,
    EQUAL: EQUAL_WITHIN_ALLOWANCE,
    UNDECIDED: UNDECIDED,
}
#: verdicts that say the statement fails at the case (``certified_ok``)
_FAILS = (VIOLATED, FAILS_BEYOND_ALLOWANCE)


def register_ball_inputs(
    claim_ids, fn: Callable[[dict, int], dict], tolerances: dict[str, float] | None = None
) -> None:
    """Register, for the claims ``claim_ids``, how to recompute theorem values in ball arithmetic
    from a case's parameter record (``fn(params, prec) -> {name: arb}``).

    ``tolerances`` gives recorded values that ``fn`` does not recompute (e.g. a quadrature
    result) a ball of that relative radius: their numerical method's tolerance, not a rigorous
    bound, and the certified result says so."""
    for cid in [claim_ids] if isinstance(claim_ids, str) else claim_ids:
        if cid in _BALL_INPUTS:
            raise ValueError(f"ball inputs for claim {cid!r} are already registered")
        _BALL_INPUTS[cid] = (fn, dict(tolerances or {}))


def _gaussian_mean_balls(params: dict, prec: int) -> dict:
    """Model A (THEORY §6): ``dgen``, ``gen_S``, ``gen_T``, ``K_n``, ``Esigma2`` as arb balls
    from the drawn constructor parameters (every recorded float is an exact point)."""
    from ..models import gaussian_mean_arrays as arr
    from .gaussian_cases import record_triple

    triple = record_triple(params, num=require_flint().arb)
    return arr._theorem_values(*triple)


#: U0's E_D is a polar quadrature at epsrel 1e-11 (THEORY §6.4); 1e-10 is its stated accuracy
register_ball_inputs(("U1", "U0"), _gaussian_mean_balls, {"E_D": 1e-10})


def _point(x: float):
    """A recorded double as ``(mid, rad)`` with radius ``POINT_RTOL |x| + POINT_ATOL`` (exact if
    infinite)."""
    if not math.isfinite(x):
        return x
    return (x, POINT_RTOL * abs(x) + POINT_ATOL)


def certify_case(claim: Claim, case: dict, prec: int = 128, max_prec: int = 1024) -> dict:
    """Certify one recorded case (``{"params", "values", ...}``) of ``claim`` (see the module
    doc for where each input comes from and how that qualifies the verdict); the result's
    ``inputs``, ``recomputed`` and ``allowance`` say it."""
    hook, tolerances = _BALL_INPUTS.get(claim.id, (None, {}))
    recorded = {k: float(v) for k, v in case["values"].items()}
    symbols = set(claim.theorem.symbols)
    params = case.get("params")
    names: list[str] = []
    if hook is not None and isinstance(params, dict):
        names = sorted(symbols & set(hook(params, prec)))
    inputs = {}
    allowances: list[float] = []
    notes = []
    if names:
        notes.append(f"recomputed in ball arithmetic from the case parameters: {', '.join(names)}")
    for k in sorted(symbols - set(names)):
        if k not in recorded:
            continue
        if k in tolerances:
            inputs[k] = (recorded[k], tolerances[k] * abs(recorded[k]))
            allowances.append(tolerances[k])
            notes.append(
                f"{k}: recorded value +/- {tolerances[k]:g} relative (its numerical tolerance, "
                "not a rigorous bound)"
            )
        else:
            inputs[k] = _point(recorded[k])
            allowances.append(POINT_RTOL)
    rest = sorted(symbols - set(names) - set(tolerances))
    if rest:
        notes.append(
            f"{', '.join(rest)}: recorded doubles +/- {POINT_RTOL:g} relative "
            f"+ {POINT_ATOL:g} absolute"
        )

    def values(p):
        if not names:
            return inputs
        balls = hook(params, p)
        return {**inputs, **{k: balls[k] for k in names}}

    res = certify(claim.theorem, values, prec=prec, max_prec=max_prec).to_json()
    recomputed = not inputs
    if not recomputed:
        res["verdict"] = _ON_RECORDED_INPUTS[res["verdict"]]
    return {
        **res,
        "inputs": "; ".join(notes),
        "recomputed": recomputed,
        "allowance": max(allowances) if allowances else None,
    }


def certify_result(claim: Claim, result: ClaimResult) -> dict:
    """Certified verdicts of the result's tightest case and counterexample (when present)."""
    out = {}
    for key in ("tightest", "counterexample"):
        case = getattr(result, key)
        if case is not None:
            out[key] = certify_case(claim, case)
    return out


def certify_report(report: AuditReport) -> None:
    """Add ``extra["certified"]`` to every result of ``report`` (in place)."""
    require_flint()
    by_id = {c.id: c for c in claims()}
    for r in report.results:
        r.extra["certified"] = certify_result(by_id[r.id], r)


def certified_ok(report: AuditReport) -> bool:
    """No true claim's tightest case is violated (in ball arithmetic, or beyond the input
    allowance), and every false claim's counterexample is."""
    for r in report.results:
        cert = r.extra.get("certified", {})
        if r.status == Status.FALSE.value:
            cx = cert.get("counterexample")
            if cx is not None and cx["verdict"] not in _FAILS:
                return False
        elif cert.get("tightest", {}).get("verdict") in _FAILS:
            return False
    return True


def _summary(cert: dict) -> str:
    parts = []
    for key, label in (("tightest", "tightest"), ("counterexample", "cx")):
        if key in cert:
            c = cert[key]
            v = c["verdict"]
            if v == EQUAL:
                v += f" (rad {c['slack_rad']:.1e})"
            elif c.get("allowance") is not None and v != UNDECIDED:
                v += f" ({c['allowance']:.0e} rel.)"
            parts.append(f"{label}: {v}")
    return "; ".join(parts) if parts else "-"


#: printed under the table: what each kind of verdict rests on
TABLE_LEGEND = (
    f"ball arithmetic: '{CERTIFIED}' / '{VIOLATED}' / '{EQUAL}' when every input was recomputed "
    "in ball arithmetic from the case parameters;\n"
    f"'{HOLDS_BEYOND_ALLOWANCE}' / '{FAILS_BEYOND_ALLOWANCE}' when some inputs are recorded "
    "doubles taken +/- the stated relative allowance\n"
    f"(the audit's tolerance, {POINT_RTOL:g} relative + {POINT_ATOL:g} absolute; "
    "a quadrature's stated accuracy): not a rigorous bound."
)


def table_with_certified(report: AuditReport) -> str:
    """:meth:`AuditReport.table` with a ``ball arithmetic`` column appended and, under it,
    :data:`TABLE_LEGEND` (what the verdicts rest on)."""
    lines = report.table().split("\n")
    head, rule, rows = lines[0], lines[1], lines[2:]
    width = max(len(x) for x in lines)
    title = "ball arithmetic"
    col = [title, "-" * len(title)]
    col += [_summary(r.extra.get("certified", {})) for r in report.results]
    out = [head.ljust(width) + "  " + col[0], rule.ljust(width) + "  " + "-" * max(map(len, col))]
    out += [row.ljust(width) + "  " + c for row, c in zip(rows, col[2:], strict=True)]
    return "\n".join(out) + "\n\n" + TABLE_LEGEND
