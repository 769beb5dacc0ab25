"""Random Gaussian pairs with quadratic test functions for Lemma DV (THEORY §2), drawn and
evaluated as stacked arrays (one block per dimension ``d``, multinomial block sizes)."""

from __future__ import annotations

import math

import numpy as np

from ..models import gaussian_pair_arrays as _gp
from .engine import Batch, LazyRecords

__all__ = ["DIMS", "dv_batch", "dv_values", "random_spd", "haar_orthogonal"]

#: the dimensions of the pairs, drawn uniformly
DIMS = (1, 2, 3, 4)


def haar_orthogonal(rng: np.random.Generator, size: int, d: int) -> np.ndarray:
    """``size`` Haar-distributed orthogonal ``d x d`` matrices (QR of Gaussian matrices with the
    signs of ``diag R`` moved into ``Q``; Mezzadri 2007), shape ``(size, d, d)``."""
    q, r = np.linalg.qr(rng.standard_normal((size, d, d)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def random_spd(rng: np.random.Generator, size: int, d: int, lo=0.2, hi=3.0) -> np.ndarray:
    """``size`` symmetric positive definite matrices ``Q diag(e) Q'``: ``Q`` Haar, eigenvalues
    ``e`` log-uniform on ``[lo, hi]``; symmetrised after rounding, so each is *exactly*
    symmetric (a covariance; the exact recomputation of a witness relies on it)."""
    q = haar_orthogonal(rng, size, d)
    e = np.exp(rng.uniform(math.log(lo), math.log(hi), (size, d)))
    c = (q * e[..., None, :]) @ np.swapaxes(q, -1, -2)
    return (c + np.swapaxes(c, -1, -2)) / 2


class _PairRecords(LazyRecords):
    """Per-case records ``{"d", "P", "Q", "f"}`` of a :func:`dv_batch`, built on access."""

    def __init__(self, blocks: list[dict], size: int):
        self._blocks, self._size = blocks, size
        self._starts = np.array([b["start"] for b in blocks], dtype=int)

    def _record(self, i: int) -> dict:
        b = self._blocks[int(np.searchsorted(self._starts, i, side="right")) - 1]
        j = i - b["start"]
        return {
            "d": b["d"],
            "P": {"mean": b["mp"][j].tolist(), "cov": b["cp"][j].tolist()},
            "Q": {"mean": b["mq"][j].tolist(), "cov": b["cq"][j].tolist()},
            "f": {"a": b["a"][j].tolist(), "B": b["B"][j].tolist(), "form": "a'x + x'Bx/2"},
        }


def _block(rng, cnt: int, d: int, witness: bool) -> dict:
    mp, mq = rng.standard_normal((cnt, d)), rng.standard_normal((cnt, d))
    cp, cq = random_spd(rng, cnt, d), random_spd(rng, cnt, d)
    if witness:  # f = log dQ/dP (up to a constant): equality in Lemma DV
        a, B = _gp._log_density_ratio_quadratic(mp, cp, mq, cq)
    else:  # B with cov_p^{1/2} B cov_p^{1/2} having eigenvalues in (-2, 0.9)
        linv = np.linalg.inv(np.linalg.cholesky(cp))
        c = random_spd(rng, cnt, d, 0.05, 2.9) - 2.0 * np.eye(d)
        B = np.swapaxes(linv, -1, -2) @ c @ linv
        B = (B + np.swapaxes(B, -1, -2)) / 2
        a = rng.standard_normal((cnt, d))
    return {"d": d, "mp": mp, "cp": cp, "mq": mq, "cq": cq, "a": a, "B": B}


def dv_values(a, B, mp, cp, mq, cq) -> dict:
    """Lemma DV's symbols for stacked pairs: ``E_Q_f``, ``KL = KL(Q || P)``, ``logE_P_expf``."""
    return {
        "E_Q_f": _gp._expectation_quadratic(a, B, mq, cq),
        "KL": _gp._kl_gaussian(mq, cq, mp, cp),
        "logE_P_expf": _gp._log_mgf_quadratic(a, B, mp, cp),
    }


def dv_batch(rng: np.random.Generator, size: int, witness: bool = False) -> Batch:
    """``size`` Gaussian pairs ``P = N(mp, cp)``, ``Q = N(mq, cq)`` (``d`` uniform on
    :data:`DIMS`, means standard normal, covariances :func:`random_spd`) with a quadratic ``f``:
    with ``witness`` ``f = log dQ/dP`` (equality), else ``B`` with ``cp^{1/2} B cp^{1/2}``
    having eigenvalues in ``(-2, 0.9)`` and ``a`` standard normal.  Values by the stacked closed
    forms of :mod:`kdtheory.models.gaussian_pair_arrays`; record ``i`` holds ``d, P, Q, f``."""
    counts = rng.multinomial(int(size), np.full(len(DIMS), 1.0 / len(DIMS)))
    values = {k: np.empty(int(size)) for k in ("E_Q_f", "KL", "logE_P_expf")}
    blocks, start = [], 0
    for d, cnt in zip(DIMS, counts, strict=True):
        if cnt == 0:
            continue
        b = _block(rng, int(cnt), d, witness)
        for k, v in dv_values(b["a"], b["B"], b["mp"], b["cp"], b["mq"], b["cq"]).items():
            values[k][start : start + cnt] = v
        blocks.append({**b, "start": start})
        start += int(cnt)
    return Batch(_PairRecords(blocks, int(size)), values)
