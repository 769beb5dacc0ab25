"""Equality witnesses judged against an error bound per case (kdtheory.audit.witness, issue 10),
and the audit's block-wise evaluation.

The planted defects these tests guard against: a loosened witness tolerance (1e-3 or 1.0),
a bound off by a constant factor ``1 + delta`` for ``delta`` down to 1e-13, a double
computation that disagrees with the exact one, and chunking that changes the results.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from kdtheory.audit import claims, run_audit
from kdtheory.audit import engine as E
from kdtheory.audit import witness as W
from kdtheory.audit.engine import Batch, SamplingClaim, claim_stream, witness_stream
from kdtheory.audit.linear_cases import linear_tilt_witness_batch
from kdtheory.audit.witness_balls import (
    dv_pair_exact,
    gaussian_law_exact,
    gaussian_mean_exact,
    linear_tilt_exact,
)
from kdtheory.theorems.registry import theorem

EPS = np.finfo(float).eps


def claim(cid: str):
    return next(c for c in claims() if c.id == cid)


# -- the rule ------------------------------------------------------------------------------------
def test_double_resolution_is_16_ulps_and_exact_tolerance_1e_30():
    """Pinned: loosening either constant (e.g. to 1e-3 or 1.0) must fail here."""
    assert W.DOUBLE_RESOLUTION == 16 * EPS
    assert W.EXACT_TOLERANCE == 1e-30
    assert W.CONSISTENCY == 64


def test_ratios_within_double_resolution_need_no_recomputation():
    out = W.judge_witnesses([1.0, 1 + 8 * EPS, 1 - 16 * EPS], deviation=None)
    assert out.ok and out.recomputed == 0 and out.cases == 3


def test_without_an_exact_hook_a_ratio_off_by_more_than_16_ulps_is_undecided():
    out = W.judge_witnesses([1.0, 1 + 1e-12], deviation=None)
    assert not out.ok and out.undecided == (1,) and "no exact" in out.note()
    nan = W.judge_witnesses([float("nan")], deviation=None)
    assert not nan.ok  # a NaN ratio is never accepted


def _linear_witnesses(seed: int, size: int = 20):
    batch = linear_tilt_witness_batch(np.random.default_rng(seed), size)
    ev = theorem("U1").evaluate(**batch.values)
    return batch, np.broadcast_to(ev.ratio, (size,))


def test_linear_tilt_witnesses_of_the_failing_seeds_are_exact():
    """Seeds 2, 3, 5, 7 of ``kdtheory audit`` failed U1@linear with a fixed 1e-12 tolerance
    (issue 10); their witness draws are judged exact (ratio 1 within 1e-30 in arb).  Their double
    ratios were off 1 by up to ~1e-11 while ``dgen`` of a matrix-path pair was the difference of
    two computed totals; from the differences of the stored matrices
    (:func:`kdtheory.models.linear_matrix.dgen`) they are within double resolution."""
    c = claim("U1@linear")
    for seed in (2, 3, 5, 7):
        wo = c.judge_witnesses(witness_stream(claim_stream(seed, c.id)), c.witness_cases)
        assert wo.ok, (seed, wo.note())
    for seed in (2, 3, 5, 7):
        _, ratios = _linear_witnesses(seed, 40)
        assert np.max(np.abs(ratios - 1)) <= W.DOUBLE_RESOLUTION, seed


@pytest.mark.parametrize("delta", [1e-6, 1e-10, 1e-13])
def test_a_bound_off_by_a_constant_factor_is_caught(delta):
    """``dgen`` scaled by ``1 + delta`` in the double values *and* in the exact recomputation
    (a statement that is off, not a rounding error): every witness misses."""
    batch, _ = _linear_witnesses(3)
    scaled = {**batch.values, "dgen": batch.values["dgen"] * (1 + delta)}
    ratios = theorem("U1").evaluate(**scaled).ratio

    def exact(rec, num):
        vals = linear_tilt_exact(rec, num)
        return {**vals, "dgen": vals["dgen"] * (1 + num(delta))}

    dev = W.statement_deviation(theorem("U1"), exact, batch.params)
    out = W.judge_witnesses(ratios, dev)
    assert not out.ok and len(out.missed) == out.recomputed == len(batch.params)


def test_a_double_computation_that_disagrees_with_the_exact_one_is_caught():
    """The exact recomputation is right, the double values are off by 1e-7 relative (e.g. a
    wrong student built by the double code): caught by the consistency check."""
    batch, _ = _linear_witnesses(3)
    wrong = {**batch.values, "dgen": batch.values["dgen"] * (1 + 1e-7)}
    ratios = theorem("U1").evaluate(**wrong).ratio
    dev = W.statement_deviation(theorem("U1"), linear_tilt_exact, batch.params)
    out = W.judge_witnesses(ratios, dev)
    assert not out.ok and out.missed


def test_a_claim_whose_witness_misses_is_inconclusive_with_the_deviation():
    c = claim("U1@linear")

    def off(rng, size):
        b = linear_tilt_witness_batch(rng, size)
        return Batch(b.params, {**b.values, "K_n": b.values["K_n"] * (1 + 1e-9)})

    def exact(rec, num):
        vals = linear_tilt_exact(rec, num)
        return {**vals, "K_n": vals["K_n"] * (1 + num(1e-9))}

    bad = replace(c, id="U1@linear-off", cases=2, witness=off, witness_exact=exact)
    res = bad.run(0)
    assert res.verdict == "inconclusive" and "missed ratio 1" in res.notes
    assert res.extra["witness"]["missed"]


@pytest.mark.parametrize(
    "cid, hook",
    [
        ("lemma-DV", dv_pair_exact),
        ("lemma-SG", gaussian_law_exact),
        ("U1", gaussian_mean_exact),
        ("U1@linear", linear_tilt_exact),
    ],
)
def test_exact_hooks_reproduce_the_double_values(cid, hook):
    """Each hook, on the records of a witness batch, encloses values that the double code
    computed to within 1e-9 relative (the hooks rebuild the same cases)."""
    import flint

    c = claim(cid)
    batch = c.witness(np.random.default_rng(5), 6)
    for i in range(6):
        vals = hook(batch.params[i], W.point)
        for k, ball in vals.items():
            x = float(np.broadcast_to(batch.values[k], (6,))[i])
            mid = float(flint.arb(ball).mid())
            assert mid == pytest.approx(x, rel=1e-9, abs=1e-12), (cid, k)


# -- blocks --------------------------------------------------------------------------------------
def test_block_streams_cover_the_cases_with_independent_streams():
    root = claim_stream(0, "x")
    sizes = [size for _, size in E.block_streams(root, 2 * E.BLOCK + 7)]
    assert sizes == [E.BLOCK, E.BLOCK, 7]
    firsts = [rng.random() for rng, _ in E.block_streams(root, 3 * E.BLOCK)]
    assert len(set(firsts)) == 3
    # block j's stream does not depend on the total (a prefix of blocks is drawn identically)
    again = [rng.random() for rng, _ in E.block_streams(root, 2 * E.BLOCK)]
    assert again == firsts[:2]


def test_blockwise_results_equal_one_evaluation_of_all_cases():
    """The merged per-block results (max ratio, tightest case, violations, counterexample)
    equal those of evaluating every case at once."""
    c = claim("lemma-SG")
    total = 2 * E.BLOCK + 123
    res = replace(c, cases=total, witness=None).run(claim_stream(4, c.id))
    root = claim_stream(4, c.id)
    batches = [c.sampler(rng, size) for rng, size in E.block_streams(root, total)]
    values = {k: np.concatenate([b.values[k] for b in batches]) for k in batches[0].values}
    ev = c.theorem.evaluate(**values)
    ratio = np.broadcast_to(ev.ratio, (total,))
    assert res.cases == total and res.violations == int(np.count_nonzero(~ev.holds)) == 0
    assert res.max_ratio == float(np.max(ratio))
    j = int(np.argmax(ratio))
    block, k = divmod(j, E.BLOCK)
    assert res.tightest["params"] == batches[block].params[k]


def test_violations_merge_across_blocks():
    u1 = theorem("U1")
    half = replace(claim("U1"), id="U1-half", witness=None)
    half = replace(
        half,
        theorem=type(u1)("U1h", "h", "false", "THEORY §3", u1.statement.func(u1.lhs, u1.rhs / 2)),
    )
    res = replace(half, cases=E.BLOCK + 50).run(claim_stream(1, "U1-half"))
    # the tilt students of the sampler exceed half the bound: violations in both blocks
    assert res.violations > 0 and res.counterexample["ratio"] > 1
    assert res.counterexample["ratio"] >= res.max_ratio - 1e-12


def test_memory_does_not_grow_with_the_number_of_cases():
    """Peak traced memory of a claim run at 10 blocks is within 1.5x of 2 blocks."""
    c = replace(claim("lemma-SG"), witness=None)

    def peak(cases):
        tracemalloc.start()
        replace(c, cases=cases).run(claim_stream(0, c.id))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(2 * E.BLOCK), peak(10 * E.BLOCK)
    assert large <= 1.5 * small, (small, large)


def test_absurd_scale_is_refused_with_the_estimate():
    with pytest.raises(ValueError, match=r"estimated run time is .* hours"):
        run_audit(scale=1e9)
    assert E.estimated_seconds(claims(), 1.0) < 600  # the default audit: minutes, not hours


def test_sampling_claim_runs_accept_a_generator_or_a_seed_sequence():
    c = replace(claim("lemma-SG"), cases=50)
    a = c.run(np.random.default_rng(3)).to_json()
    b = c.run(np.random.default_rng(3).bit_generator.seed_seq).to_json()
    for r in (a, b):
        r.pop("seconds")
    assert a == b and isinstance(c, SamplingClaim)
