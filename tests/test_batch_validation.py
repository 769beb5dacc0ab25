"""Validation once per batch (issue 15 item 6): a float or integer array is accepted from its
minimum and maximum (one sum for a real domain), and every array that fails takes the
elementwise path, so each error is the one the elementwise check gives (the same message as for
the same numbers in a list); the batch functions never return the caller's arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kdtheory.models import gaussian_mean as A
from kdtheory.symbols import (
    MODEL_COUNT,
    MODEL_REAL,
    MODEL_SCALE,
    MODEL_SCALE_OR_ZERO,
    NONNEGATIVE,
    POSITIVE,
    POSITIVE_INTEGER,
    POSITIVE_OR_INF,
    REAL,
    UNIT_CLOSED,
    UNIT_HALF_OPEN,
    check_in,
)

DOMAINS = {
    "REAL": REAL,
    "POSITIVE": POSITIVE,
    "NONNEGATIVE": NONNEGATIVE,
    "UNIT_CLOSED": UNIT_CLOSED,
    "UNIT_HALF_OPEN": UNIT_HALF_OPEN,
    "POSITIVE_INTEGER": POSITIVE_INTEGER,
    "POSITIVE_OR_INF": POSITIVE_OR_INF,
    "MODEL_SCALE": MODEL_SCALE,
    "MODEL_SCALE_OR_ZERO": MODEL_SCALE_OR_ZERO,
    "MODEL_REAL": MODEL_REAL,
    "MODEL_COUNT": MODEL_COUNT,
}
ODD = [math.nan, math.inf, -math.inf, -1.0, 0.0, 0.5, 1.0, 2.5, 1e31, -1e31, 2.0**53 + 2, 7.0]


def _valid(domain, rng, size=50):
    lo = max(domain.low, -10.0) if math.isfinite(domain.low) else -10.0
    hi = min(domain.high, 10.0) if math.isfinite(domain.high) else 10.0
    if domain.integer or (domain.math is not None and domain.math.integer):
        return rng.integers(int(max(lo, 1)), int(hi) + 1, size).astype(float)
    x = rng.uniform(lo, hi, size)
    return np.where(domain.contains(x), x, (lo + hi) / 2 if hi > lo else lo)


def _outcome(value, domain):
    try:
        return check_in("x", value, domain)
    except (ValueError, TypeError) as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize("name", list(DOMAINS))
@pytest.mark.parametrize("odd", ODD)
def test_array_check_equals_the_elementwise_check(name, odd):
    """An array with one odd entry: accepted or refused exactly as the same numbers in a list
    (the elementwise path), with the same message."""
    domain = DOMAINS[name]
    x = _valid(domain, np.random.default_rng(len(name)))
    x[17] = odd
    fast, slow = _outcome(x, domain), _outcome(x.tolist(), domain)
    if isinstance(slow, tuple):
        assert fast == slow
    else:
        assert np.array_equal(fast, slow)


@pytest.mark.parametrize("name", list(DOMAINS))
def test_valid_arrays_are_copied_unless_asked_not_to(name):
    domain = DOMAINS[name]
    x = _valid(domain, np.random.default_rng(3))
    out = check_in("x", x, domain)
    assert np.array_equal(out, x) and not np.shares_memory(out, x)
    assert check_in("x", x, domain, copy=False) is x
    ints = x.astype(np.int64) if np.all(np.floor(x) == x) else None
    if ints is not None:  # an integer array: converted (a new float array) either way
        got = check_in("x", ints, domain, copy=False)
        assert got.dtype == float and np.array_equal(got, ints)


def test_batch_functions_never_return_the_callers_arrays():
    rng = np.random.default_rng(0)
    n, d = 64, 3
    m, b = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    a, tau = rng.uniform(0.1, 1.0, n), rng.uniform(0.1, 1.0, n)
    ns, s = rng.integers(1, 20, n).astype(float), rng.uniform(0.5, 2.0, n)
    inputs = (m, b, a, tau, ns, s)
    outputs = [*A.tilt_student(a, b, tau, 0.3, m), *A.gibbs(tau, a, b)]
    outputs += list(A.theorem_values(m, ns, s, a, b, tau, a, b, tau).values())
    outputs += list(A.divergence_parts(m, ns, s, a, b, tau, a, b, tau).values())
    for out in outputs:
        assert not any(np.shares_memory(out, x) for x in inputs)
