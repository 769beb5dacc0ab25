"""``kdtheory audit --certified``: re-evaluate each claim's tightest case (and counterexample) in
arb ball arithmetic (:mod:`kdtheory.certified`).

Where a model can recompute a case's theorem values in ball arithmetic from the case's
parameters, it does (Model A: the THEORY §6 closed forms of
:mod:`kdtheory.models.gaussian_mean_arrays` run on arb balls, from the drawn constructor
parameters), so an equality witness (THEORY §6.4, tilt student) gives a slack ball containing 0:
"equal within the ball".  Otherwise the recorded double values are taken as exact points and
the result says so.
"""

from __future__ import annotations

from collections.abc import Callable

from ..certified import EQUAL, VIOLATED, certify, require_flint
from ..theorems.base import Status
from .engine import AuditReport, Claim, ClaimResult, claims

__all__ = [
    "register_ball_inputs",
    "certify_case",
    "certify_result",
    "certify_report",
    "certified_ok",
    "table_with_certified",
]

#: model name -> (``f(params record, prec) -> dict of arb values``, ``{name: relative radius}``)
_BALL_INPUTS: dict[str, tuple[Callable[[dict, int], dict], dict[str, float]]] = {}
POINTS = "recorded double values taken as exact points"


def register_ball_inputs(
    model: str, fn: Callable[[dict, int], dict], tolerances: dict[str, float] | None = None
) -> None:
    """Register how to recompute a model's theorem values in ball arithmetic from a record.

    ``tolerances`` gives recorded values the model cannot recompute (e.g. a quadrature result) a
    ball of that relative radius: their numerical method's tolerance, not a rigorous bound, and
    the certified result says so."""
    if model in _BALL_INPUTS:
        raise ValueError(f"ball inputs for model {model!r} are already registered")
    _BALL_INPUTS[model] = (fn, dict(tolerances or {}))


def _gaussian_mean_balls(params: dict, prec: int) -> dict:
    """Model A (THEORY §6): ``dgen``, ``gen_S``, ``gen_T``, ``K_n``, ``Esigma2`` as arb balls
    from the drawn constructor parameters (every recorded float is an exact point)."""
    from ..models import gaussian_mean_arrays as arr
    from .gaussian_cases import record_triple

    arb = require_flint().arb
    triple = record_triple(params, num=arb)
    vals = arr._theorem_values(*triple, phi=lambda x: x - 1 - x.log())
    return {**vals, "sigma_bar": arb.pos_inf()}


#: U0's E_D is a polar quadrature at epsrel 1e-11 (THEORY §6.4); 1e-10 is its stated accuracy
register_ball_inputs("gaussian-mean", _gaussian_mean_balls, {"E_D": 1e-10})


#: a recomputed value replaces a recorded one only if they agree to this relative accuracy (so a
#: claim that records a different quantity under the same name, e.g. a reversed divergence as
#: ``K_n`` in a negative control, keeps its recorded value)
AGREE_RTOL = 1e-8


def _recomputed(hook, params, recorded: dict, symbols: set) -> list[str]:
    """Names among ``symbols`` that ``hook`` recomputes from ``params`` and whose recomputed
    value agrees with the recorded one; ``[]`` if the record is not of the hook's format."""
    flint = require_flint()
    old = flint.ctx.prec
    flint.ctx.prec = 128
    try:
        balls = hook(params, 128)
    except (KeyError, TypeError, ValueError, IndexError):
        return []
    finally:
        flint.ctx.prec = old
    names = []
    for k in sorted(symbols & set(balls) & set(recorded)):
        x, mid = recorded[k], float(balls[k].mid())
        if x == mid or abs(x - mid) <= AGREE_RTOL * max(abs(x), abs(mid)):
            names.append(k)
    return names


def certify_case(claim: Claim, case: dict, prec: int = 128, max_prec: int = 1024) -> dict:
    """Certify one recorded case (``{"params", "values", ...}``) of ``claim``: the values the
    model can recompute in ball arithmetic from ``params`` (and that agree with the record) are
    recomputed at each precision, the others are taken from the record (see the module doc)."""
    hook, tolerances = _BALL_INPUTS.get(claim.model, (None, {}))
    recorded = {k: float(v) for k, v in case["values"].items()}
    symbols = set(claim.theorem.symbols)
    params = case.get("params")
    names = (
        _recomputed(hook, params, recorded, symbols) if hook and isinstance(params, dict) else []
    )
    if not names:
        return {
            **certify(claim.theorem, recorded, prec=prec, max_prec=max_prec).to_json(),
            "inputs": POINTS,
        }
    for k, rtol in tolerances.items():
        if k in recorded and k not in names:
            recorded[k] = (recorded[k], rtol * abs(recorded[k]))

    def values(p):
        balls = hook(params, p)
        return {**recorded, **{k: balls[k] for k in names}}

    how = f"recomputed in ball arithmetic from the case parameters: {', '.join(names)}"
    for k in sorted(symbols - set(names)):
        if k in tolerances:
            how += f"; {k}: recorded value +/- {tolerances[k]:g} relative (its numerical tolerance, not a rigorous bound)"
        else:
            how += f"; {k}: recorded double value taken as an exact point"
    res = certify(claim.theorem, values, prec=prec, max_prec=max_prec)
    return {**res.to_json(), "inputs": how}


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
    """No true claim's tightest case is certified violated, and every false claim's
    counterexample is certified violated."""
    for r in report.results:
        cert = r.extra.get("certified", {})
        if r.status == Status.FALSE.value:
            cx = cert.get("counterexample")
            if cx is not None and cx["verdict"] != VIOLATED:
                return False
        elif cert.get("tightest", {}).get("verdict") == VIOLATED:
            return False
    return True


def _summary(cert: dict) -> str:
    parts = []
    for key, label in (("tightest", "tightest"), ("counterexample", "cx")):
        if key in cert:
            v = cert[key]["verdict"]
            parts.append(
                f"{label}: {v}" + ("" if v != EQUAL else f" (rad {cert[key]['slack_rad']:.1e})")
            )
    return "; ".join(parts) if parts else "-"


def table_with_certified(report: AuditReport) -> str:
    """:meth:`AuditReport.table` with a ``certified`` column appended."""
    lines = report.table().split("\n")
    head, rule, rows = lines[0], lines[1], lines[2:]
    width = max(len(x) for x in lines)
    col = ["certified", "-" * 9] + [_summary(r.extra.get("certified", {})) for r in report.results]
    out = [head.ljust(width) + "  " + col[0], rule.ljust(width) + "  " + "-" * max(map(len, col))]
    out += [row.ljust(width) + "  " + c for row, c in zip(rows, col[2:], strict=True)]
    return "\n".join(out)
