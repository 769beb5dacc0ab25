"""Figures of the report (matplotlib, the ``plot`` extra, imported lazily):

* :func:`smoothing_figure` — the smoothing bound ``B(rho)`` against ``rho`` with ``rho_*`` and
  the tightness radius ``rho_0^sm`` marked (THEORY §5, §6.6);
* :func:`tightness_figure` — Theorem U1 and the exact ``dgen`` against ``K_n`` for a family of
  students, with the tilt students on the line ratio = 1 (THEORY §3, §6.4);
* :func:`rank_figure` — the rank-bottleneck cost against the student rank ``r`` (THEORY §7);
* :func:`experiment_figure` — a real distillation (:mod:`kdtheory.experiment`): the measured
  ``dgen`` and every applicable bound against the KD weight ``alpha`` (THEORY §3-§5).

The data of each figure comes from the models' exact quantities and, for bounds, from the
theorem's sympy statement (:meth:`kdtheory.theorems.Theorem.evaluate`), never from a formula typed
here.  A figure whose model API is missing raises :class:`FigureUnavailable` with the reason;
figures are drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot, no global backend).

Every figure is drawn at its final size in the report (:data:`COLUMN_WIDTH_IN` wide, included at
``width=\\linewidth``, so scale 1) with every text at :data:`FONT_PT` points, and carries no title:
the report's caption says what it shows.  Axes autoscale to show every point; a point that
violates its bound is drawn in :data:`VIOLATION_COLOUR`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .outputs import OutputError, atomic_path

__all__ = [
    "FigureUnavailable",
    "require",
    "tightness_family",
    "smoothing_curve",
    "smoothing_figure",
    "tightness_figure",
    "draw_tightness",
    "ratio_limits",
    "rank_figure",
    "experiment_figure",
]


class FigureUnavailable(RuntimeError):
    """A figure cannot be drawn; ``str(exc)`` is the reason shown in the report."""


#: the report's text width: ``\linewidth`` of its document (letter paper, 8.5 in, less two
#: 2.5 cm margins; :func:`kdtheory.latex.preamble`)
COLUMN_WIDTH_IN = 8.5 - 5.0 / 2.54
#: the size of every text in a figure, in points at the final size
FONT_PT = 9.0
#: the colour of a point that violates its bound
VIOLATION_COLOUR = "#d62728"
#: relative tolerance above 1 before a ratio counts as a violation
RATIO_TOL = 1e-9

_RC = {
    "font.size": FONT_PT,
    "axes.labelsize": FONT_PT,
    "axes.titlesize": FONT_PT,
    "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT,
    "legend.fontsize": FONT_PT,
    "pdf.fonttype": 42,
}


def _new_figure(height_in: float):
    """A bare figure :data:`COLUMN_WIDTH_IN` wide with a constrained layout (so the saved page
    is exactly that size and nothing is scaled when the report includes it)."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise FigureUnavailable(
            "matplotlib is not installed (pip install 'kdtheory[plot]')"
        ) from None
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(COLUMN_WIDTH_IN, height_in), layout="constrained")


def _rc():
    import matplotlib

    return matplotlib.rc_context(_RC)


def require(obj, *names: str, what: str = "") -> None:
    """:class:`FigureUnavailable` unless ``obj`` has every attribute in ``names``."""
    missing = [n for n in names if not hasattr(obj, n)]
    if missing:
        owner = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        raise FigureUnavailable(
            f"{owner} has no {', '.join(missing)}" + (f" ({what})" if what else "")
        )


def _save(fig, path) -> Path:
    """Save ``fig`` to ``path`` atomically (:mod:`kdtheory.outputs`): a failed or interrupted
    save leaves any previous figure file as it was.  Creates the missing folders."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError.from_oserror(path.parent, exc) from exc
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or None)
    return path


# -- 1. smoothing bound B(rho) ----------------------------------------------------------------


def smoothing_curve(model, student, teacher, num: int = 200) -> dict:
    """``rho`` grid on ``[0, 2.5 max(rho_0, rho_*)]`` (or ``[0, 3 tau_T]`` when both vanish),
    ``B(rho)`` from ``model.smoothing_bound``, and ``rho_0 = model.tightness_radius``,
    ``rho_* = model.optimal_radius`` (THEORY §5, §6.6)."""
    require(
        model,
        "smoothing_bound",
        "tightness_radius",
        "optimal_radius",
        what="the smoothing-bound API of THEORY §6.6",
    )
    if not isinstance(num, int) or num < 2:
        raise ValueError(f"num must be an integer >= 2, got {num!r}")
    rho0 = float(model.tightness_radius(student, teacher))
    rho_star = float(model.optimal_radius(student, teacher))
    top = 2.5 * max(rho0, rho_star)
    if not (top > 0 and math.isfinite(top)):
        top = 3.0 * float(teacher.tau)
    rho = np.linspace(0.0, top, num)
    bound = np.array([float(model.smoothing_bound(student, teacher, float(r))) for r in rho])
    return {"rho": rho, "B": bound, "rho_0": rho0, "rho_star": rho_star}


def smoothing_figure(model, student, teacher, path) -> Path:
    """Plot ``B(rho)`` with ``B(0)``, ``rho_*`` (minimiser) and ``rho_0`` (tightness radius)."""
    c = smoothing_curve(model, student, teacher)
    b0 = float(model.smoothing_bound(student, teacher, 0.0))
    with _rc():
        fig = _new_figure(2.2)
        ax = fig.add_subplot()
        if c["rho_0"] > 0:
            ax.axvspan(0.0, c["rho_0"], color="C0", alpha=0.08, lw=0, label=r"$B(\rho)<B(0)$")
        ax.plot(c["rho"], c["B"], color="C0", label=r"$B(\rho)$")
        ax.axhline(b0, color="0.5", lw=0.8, ls=":", label=r"$B(0)$ (no smoothing)")
        for x, color, style, lab in (
            (c["rho_star"], "C2", "--", r"$\rho_*$ (minimiser)"),
            (c["rho_0"], "C4", "-.", r"$\rho_0^{\mathrm{sm}}$ (tightness radius)"),
        ):
            ax.axvline(x, color=color, ls=style, lw=1.0, label=lab)
        ax.set_xlabel(r"smoothing radius $\rho$")
        ax.set_ylabel(r"bound on $\mathrm{gen}_S$")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        return _save(fig, path)


# -- 2. Theorem U1 against K_n --------------------------------------------------------------


def tightness_family(model, teacher, theorem_id: str = "U1") -> dict:
    """A family of students of one teacher in the Gaussian mean model (THEORY §6): tilt students
    (``kappa`` in ``±[1e-2, 10]``, the equality witnesses of THEORY §6.4), KD students (``alpha``
    in ``[0, 1]``, four inverse temperatures) and tilt students with another spread
    (``kappa = 0.5``, ``tau_S = f tau_T``, so ``r != 1`` and the ratio is below 1).

    Returns arrays ``kind``, ``K_n``, ``dgen``, ``bound`` (the theorem's right-hand side from
    :meth:`Theorem.evaluate`) and the theorem's ``ratio`` (``|dgen| / bound`` for U1), plus ``Esigma2``.
    """
    from .theorems.registry import theorem

    thm = theorem(theorem_id)
    students = []
    for kappa in np.geomspace(1e-2, 10.0, 13):
        for sign in (1.0, -1.0):
            students.append(("tilt", model.tilt_student(teacher, sign * float(kappa))))
    for gamma_s in (0.5, 1.0, 2.0, 4.0):
        for alpha in np.linspace(0.0, 1.0, 6):
            students.append(("KD", model.kd_student(teacher, float(alpha), gamma_s, 2.0)))
    for f in np.geomspace(0.3, 3.0, 9):
        if f != 1.0:  # tilt kappa = 0.5 with a different spread: r != 1, below the line
            tilt = model.tilt_student(teacher, 0.5)
            students.append(("spread", model.kernel(a=tilt.a, b=tilt.b, tau=float(f) * tilt.tau)))
    rows = [model.theorem_values(s, teacher) for _, s in students]
    values = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    ev = thm.evaluate(**values)
    bound = np.broadcast_to(ev.rhs, values["K_n"].shape).astype(float)
    dgen = values["dgen"]
    ratio = np.broadcast_to(ev.ratio, dgen.shape).astype(float)
    return {
        "kind": np.array([k for k, _ in students]),
        "K_n": values["K_n"],
        "dgen": dgen,
        "bound": bound,
        "ratio": ratio,
        "Esigma2": float(values["Esigma2"][0]),
        "theorem": thm,
    }


def ratio_limits(ratio) -> tuple[float, float]:
    """The y-range of a ratio panel: from 0 to at least 1.1, and above the largest finite ratio
    (with a 5 % margin), so that no point, in particular no violation, is clipped."""
    r = np.asarray(ratio, dtype=float)
    r = r[np.isfinite(r)]
    top = max(1.1, 1.05 * float(r.max())) if r.size else 1.1
    bottom = min(0.0, 1.05 * float(r.min())) if r.size else 0.0
    return bottom, top


def draw_tightness(fig, fam: dict):
    """Draw :func:`tightness_family`'s ``fam`` on ``fig``: left, ``|dgen|`` and the bound
    against ``K_n``; right, the ratio with the line 1.  Points whose ratio exceeds 1 are
    violations: drawn in :data:`VIOLATION_COLOUR` (as a cross) on both panels.  Returns the two
    axes."""
    thm = fam["theorem"]
    k = fam["K_n"]
    grid = np.geomspace(max(k[k > 0].min(), 1e-12) / 2, k.max() * 2, 200)
    # The bound as a function of K_n at this teacher's proxy; the left side is not needed for
    # the curve, dgen = 0 is passed only because evaluate() takes both sides.
    curve = np.asarray(thm.evaluate(K_n=grid, Esigma2=fam["Esigma2"], dgen=np.zeros_like(grid)).rhs)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(grid, curve, color="k", lw=1.0, label=f"{thm.id} bound")
    ratio = fam["ratio"]
    bad = ratio > 1.0 + RATIO_TOL
    markers = {"tilt": "o", "KD": "s", "spread": "^"}
    labels = {"tilt": "tilt", "KD": "KD", "spread": r"tilt, $\tau_S\neq\tau_T$"}
    for i, kind in enumerate(("tilt", "KD", "spread")):
        sel = (fam["kind"] == kind) & ~bad
        style = dict(s=12, marker=markers[kind], color=f"C{i}")
        ax1.scatter(k[sel], np.abs(fam["dgen"][sel]), label=labels[kind], **style)
        ax2.scatter(k[sel], ratio[sel], **style)
    if bad.any():
        style = dict(s=30, marker="x", color=VIOLATION_COLOUR, zorder=3)
        ax1.scatter(k[bad], np.abs(fam["dgen"][bad]), label="violation", **style)
        ax2.scatter(k[bad], ratio[bad], **style)
    ax2.axhline(1.0, color="k", lw=0.8, ls="--", label="ratio 1")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel(r"$K_n$")
    ax1.set_yscale("log")
    ax1.set_ylabel(r"$|\Delta\mathrm{gen}|$ and bound")
    ax2.set_ylabel(r"$|\Delta\mathrm{gen}|\,/\,$bound")
    ax2.set_ylim(*ratio_limits(ratio))
    ax1.legend(loc="upper left", handletextpad=0.2, borderaxespad=0.3)
    ax2.legend(loc="lower left", borderaxespad=0.3)
    return ax1, ax2


def tightness_figure(model, teacher, path, theorem_id: str = "U1") -> Path:
    """Left: ``|dgen|`` of each student and the bound as a function of ``K_n``; right: the ratio
    ``|dgen| / bound`` (the tilt students sit on the line 1, THEORY §6.4); see
    :func:`draw_tightness`."""
    fam = tightness_family(model, teacher, theorem_id)
    with _rc():
        fig = _new_figure(2.35)
        draw_tightness(fig, fam)
        return _save(fig, path)


# -- 3. rank bottleneck -------------------------------------------------------------------------

_RANK_KEYS = ("rank", "rank_bottleneck", "K_n")


def rank_figure(model, teacher, path) -> Path:
    """Bars: the rank-bottleneck cost ``(1/2) sum_{i>r} varsigma_i^2`` for each student rank
    ``r``; line: ``K_n`` at rank ``r`` (THEORY §7), from
    ``model.rank_profile(teacher)`` (a dict with arrays ``rank``, ``rank_bottleneck``, ``K_n``)."""
    require(model, "rank_profile", what="the rank-profile API of THEORY §7")
    prof = model.rank_profile(teacher)
    missing = [key for key in _RANK_KEYS if key not in prof]
    if missing:
        raise FigureUnavailable(f"rank_profile() returned no {', '.join(missing)}")
    r = np.asarray(prof["rank"], dtype=float)
    cost = np.asarray(prof["rank_bottleneck"], dtype=float)
    kn = np.asarray(prof["K_n"], dtype=float)
    if not (r.shape == cost.shape == kn.shape) or r.ndim != 1 or r.size == 0:
        raise FigureUnavailable(
            f"rank_profile() arrays must be 1-D of one length, got shapes "
            f"{r.shape}, {cost.shape}, {kn.shape}"
        )
    with _rc():
        fig = _new_figure(1.9)
        ax = fig.add_subplot()
        ax.bar(r, cost, width=0.6, color="C1", label="rank-bottleneck cost")
        ax.plot(r, kn, "o-", color="C0", label=r"$K_n$ at rank $r$")
        ax.set_xlabel("student rank $r$")
        ax.set_ylabel("nats")
        ax.set_xticks(r)
        ax.set_xticklabels([f"{x:g}" for x in r])
        ax.legend()
        return _save(fig, path)


# -- 4. a real distillation: measured dgen and the bounds against alpha ------------------------

#: the bound families of :func:`experiment_figure`: (upper id, lower id, colour, label)
_EXPERIMENT_FAMILIES = (
    ("U-uniform", "U-uniform", "C0", r"U-uniform $\sqrt{2K_n}$"),
    ("U-gamma", "L-gamma", "C1", "U-gamma / L-gamma"),
    ("U-joint", "U-joint-lower", "C2", "U-joint / lower"),
    ("S-smooth", None, "C3", "S-smooth"),
    (None, "L", "C4", "L (central)"),
)


def _dgen_side(bound: dict, upper: bool) -> float | None:
    """A bound's conservative end as a bound on ``dgen``: its own right side for a ``dgen``
    bound (``-rhs`` for the lower side of ``|dgen| <= rhs``), the paired form for a bound on
    ``gen_S`` (:func:`kdtheory.experiment.paired_form`); ``None`` if not applicable."""
    if not bound.get("applicable"):
        return None
    if bound["bounds"] == "gen_S":
        lo, hi = bound["dgen_form"]["rhs"]
    else:
        lo, hi = bound["rhs"]
    if bound["kind"] == "upper bound":
        return hi if upper else -hi
    return lo


def experiment_figure(doc: dict, path) -> Path:
    """The figure of a real distillation (:mod:`kdtheory.experiment`): one row per dataset,
    student and kernel inverse temperature ``beta``, one column per KD temperature; against the KD weight ``alpha``, the measured ``dgen``
    with its interval (black) and every applicable bound as a bound on ``dgen`` (bounds on
    ``gen_S`` through their paired form), upper bounds solid, lower ones dashed, hollow where
    the bound is vacuous; the grey lines are the trivial bounds ``|dgen| <= 2`` of the 0-1
    loss.  Symmetric-log axis (linear within ``1e-3``); values beyond the trivial bound are drawn
    at the axis edge.  All values are estimated, not certified.  Not a report figure: each panel
    has a title naming its dataset, student, ``beta`` and ``T``."""
    groups: dict = {}
    for name, d in doc["datasets"].items():
        for r in d["settings"]:
            key = (name, r["student"], r["beta"])
            groups.setdefault(key, {}).setdefault(r["temperature"], []).append(r)
    if not groups:
        raise FigureUnavailable("the experiment has no results")
    temps = sorted({t for g in groups.values() for t in g})
    trivial = 2.0 * (doc["loss"]["l_max"] - doc["loss"]["l_min"])
    cap = 1.6 * trivial
    with _rc():
        fig = _new_figure(0.6 + 1.7 * len(groups))
        axes = fig.subplots(len(groups), len(temps), squeeze=False, sharex=True)
        handles = {}
        for row, ((name, student, beta), by_t) in enumerate(groups.items()):
            for col, temp in enumerate(temps):
                ax = axes[row][col]
                rows = sorted(by_t.get(temp, []), key=lambda r: r["alpha"])
                if not rows:
                    ax.set_visible(False)
                    continue
                alpha = np.array([r["alpha"] for r in rows])
                for y in (trivial, -trivial):
                    handles["trivial"] = ax.axhline(y, color="0.6", lw=0.8, ls="--")
                ax.axhline(0.0, color="0.85", lw=0.6)
                for up_id, lo_id, colour, label in _EXPERIMENT_FAMILIES:
                    for thm_id, upper, style in ((up_id, True, "-"), (lo_id, False, "--")):
                        if thm_id is None:
                            continue
                        vals, vac = [], []
                        for r in rows:
                            b = next(b for b in r["bounds"] if b["theorem"] == thm_id)
                            v = _dgen_side(b, upper)
                            vals.append(np.nan if v is None else float(np.clip(v, -cap, cap)))
                            vac.append(bool(b.get("vacuous")))
                        vals, vac = np.array(vals), np.array(vac)
                        (line,) = ax.plot(alpha, vals, style, color=colour, lw=1.0)
                        handles.setdefault(label, line)
                        ax.scatter(alpha[~vac], vals[~vac], s=10, color=colour, zorder=3)
                        ax.scatter(
                            alpha[vac],
                            vals[vac],
                            s=14,
                            facecolors="none",
                            edgecolors=colour,
                            zorder=3,
                        )
                dg = np.array(
                    [[r["dgen"]["value"], r["dgen"]["low"], r["dgen"]["high"]] for r in rows]
                )
                handles["measured"] = ax.errorbar(
                    alpha,
                    dg[:, 0],
                    yerr=[dg[:, 0] - dg[:, 1], dg[:, 2] - dg[:, 0]],
                    color="k",
                    marker="o",
                    ms=3,
                    lw=1.2,
                    capsize=2,
                    zorder=4,
                )
                ax.set_yscale("symlog", linthresh=1e-3)
                ax.set_ylim(-cap * 1.05, cap * 1.05)
                ax.set_title(f"{name}, {student}, $\\beta$={beta:g}, T={temp:g}")
                if col == 0:
                    ax.set_ylabel(r"$\Delta\mathrm{gen}$ and bounds")
                if row == len(groups) - 1:
                    ax.set_xlabel(r"KD weight $\alpha$")
        labels = ["measured"] + [f[3] for f in _EXPERIMENT_FAMILIES] + ["trivial"]
        names = {
            "measured": r"measured $\Delta\mathrm{gen}$ (95 %)",
            "trivial": r"trivial $|\Delta\mathrm{gen}|\leq 2$",
        }
        fig.legend(
            [handles[k] for k in labels if k in handles],
            [names.get(k, k) for k in labels if k in handles],
            loc="outside upper center",
            ncol=3,
            frameon=False,
        )
        return _save(fig, path)
