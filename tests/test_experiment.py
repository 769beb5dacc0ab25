"""The real distillation (kdtheory.experiment, kdtheory.learners; issue 14, items 5-6): the
learners' algebra against independent references, the experiment's invariances (chunking,
mapper, extension of a smaller run), its wiring into the registered theorems, and the command
line at the tiny size (JSON, figure, vacuity labels, exit codes)."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp

pytest.importorskip("sklearn")

import kdtheory.cli as cli  # noqa: E402
from kdtheory import experiment as ex  # noqa: E402
from kdtheory import learners  # noqa: E402
from kdtheory.divergences import FullGaussian, kl  # noqa: E402
from kdtheory.estimate import ESTIMATED, kn_gaussian  # noqa: E402
from kdtheory.symbols import symbol  # noqa: E402
from kdtheory.theorems.registry import theorem  # noqa: E402

BOUND_IDS = {"U0", "U1", "U-uniform", "U-gamma", "U-joint", "U-joint-lower", "L", "L-gamma"}
BOUND_IDS |= {"S-smooth", "S"}


def _posterior(rng, dim, scale=1.0):
    a = rng.normal(size=(dim, dim))
    precision = a @ a.T / dim + scale * np.eye(dim)
    return learners.GaussianPosterior(rng.normal(size=dim), np.linalg.cholesky(precision))


# -- learners -----------------------------------------------------------------------------------
def _registry_kl(p, q, extra=0.0):
    return float(
        kl(FullGaussian(p.mean, p.covariance()), FullGaussian(q.mean, q.covariance() + extra))
    )


@pytest.mark.parametrize("seed", range(4))
def test_gaussian_kl_and_smoothed_kl_equal_the_registry(seed):
    """At every inverse temperature beta (both laws tempered) and smoothing radius rho."""
    rng = np.random.default_rng(seed)
    p, q = _posterior(rng, 6), _posterior(rng, 6, 0.3)
    betas, rhos = (1.0, 0.3, 40.0), [0.0, 0.1, 1.0]
    smooth = learners.smoothed_kl(p, learners.covariance_eig(q), q.mean, rhos, betas)
    assert smooth.shape == (3, 3)
    for i, beta in enumerate(betas):
        pb, qb = p.tempered(beta), q.tempered(beta)
        ref = _registry_kl(pb, qb)
        assert learners.gaussian_kl(p, q, beta) == pytest.approx(ref, rel=1e-10)
        assert learners.gaussian_kl(pb, qb) == pytest.approx(ref, rel=1e-10)
        for j, rho in enumerate(rhos):
            assert smooth[i, j] == pytest.approx(_registry_kl(pb, qb, rho**2 * np.eye(6)))
    assert learners.gaussian_kl(p, p) == 0.0


def test_draws_have_the_kernel_covariance():
    """``draws(z) = mean + L^-T z``: over the rows of the identity, the outer products sum to
    ``(L L')^-1`` exactly (up to rounding)."""
    p = _posterior(np.random.default_rng(5), 5)
    dev = p.draws(np.eye(5)) - p.mean
    np.testing.assert_allclose(dev.T @ dev, p.covariance(), rtol=1e-12, atol=1e-14)


def _small_problem(name="digits", n=60, seed=0):
    data = ex.load(name)
    idx = np.random.default_rng(seed).integers(0, data.y.shape[0], n)
    return data, data.Xb[idx], np.eye(data.n_classes)[data.y[idx]]


def test_fit_is_stationary_and_the_hessian_is_the_gradients_derivative():
    data, Xb, Y = _small_problem()
    w, L = learners.fit_map(Xb, Y, lam=1.0)
    H = learners.hessian(w, Xb, Y.shape[1], 1.0)
    np.testing.assert_allclose(L @ L.T, H, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(learners.objective(w, Xb, Y, 1.0)[1])) < 1e-8
    v = np.random.default_rng(1).normal(size=w.size)
    h = 1e-5
    fd = (
        learners.objective(w + h * v, Xb, Y, 1.0)[1] - learners.objective(w - h * v, Xb, Y, 1.0)[1]
    ) / (2 * h)
    np.testing.assert_allclose(H @ v, fd, rtol=1e-6, atol=1e-6)


def test_binary_fit_is_sklearns_logistic_regression():
    """For two classes the model is L2 logistic regression with a penalised bias: scikit-learn's
    ``LogisticRegression(C=1/lam, fit_intercept=False)`` on the same inputs (the last class is
    the reference, so the weights change sign)."""
    from sklearn.linear_model import LogisticRegression

    data, Xb, Y = _small_problem("breast_cancer", n=120)
    w, _ = learners.fit_map(Xb, Y, lam=2.0)
    ref = LogisticRegression(C=0.5, fit_intercept=False, tol=1e-12, max_iter=10_000)
    ref.fit(Xb, Y.argmax(axis=1))
    np.testing.assert_allclose(w, -ref.coef_.ravel(), rtol=1e-5, atol=1e-6)


def test_bottleneck_student_hidden_weights_follow_the_prior():
    data, Xb, Y = _small_problem("breast_cancer")
    mask = ex.bottleneck_mask("breast_cancer", Xb.shape[1])
    post, _ = learners.laplace_posterior(Xb, Y, lam=2.0, beta=0.5, mask=mask)
    hidden = ~mask
    assert np.all(post.mean[hidden] == 0)
    prec = post.chol @ post.chol.T
    np.testing.assert_allclose(prec[np.ix_(hidden, hidden)], 1.0 * np.eye(hidden.sum()))
    assert np.all(prec[np.ix_(hidden, mask)] == 0)
    with pytest.raises(ValueError, match="keeps the bias"):
        learners.laplace_posterior(Xb, Y, 1.0, 1.0, mask=~mask)


def test_soft_targets():
    y = np.eye(3)[[0, 2]]
    z = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    assert np.array_equal(learners.soft_targets(y, z, 0.0, 4.0), y)
    t = learners.soft_targets(y, z, 0.5, 2.0)
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        learners.soft_targets(y, z, 1.5, 1.0)


# -- the experiment -----------------------------------------------------------------------------
SMALL = ex.Config(datasets=("breast_cancer",), sets=4, draws=4, chunk=1)


def _datasets_json(doc):
    return json.dumps(doc["datasets"], sort_keys=True)


@pytest.fixture(scope="module")
def small():
    return ex.run_experiment(SMALL)


def test_results_do_not_depend_on_chunking_or_mapper(small):
    from dataclasses import replace

    with ThreadPoolExecutor(2) as pool:
        other = ex.run_experiment(replace(SMALL, chunk=3), mapper=pool.map)
    assert _datasets_json(other) == _datasets_json(small)
    assert len(ex.tasks(SMALL)) == 4 and len(ex.tasks(replace(SMALL, chunk=3))) == 2


def test_local_workers_and_a_dask_cluster_give_the_same_results(small, dask_cluster):
    """The CLI's mappers: two local processes (kdtheory.audit.parallel.parallel_imap) and a
    two-worker Dask LocalCluster."""
    from kdtheory.audit.parallel import parallel_imap

    two = ex.run_experiment(SMALL, mapper=lambda f, xs: parallel_imap(f, xs, workers=2))
    assert _datasets_json(two) == _datasets_json(small)
    addr = dask_cluster.scheduler_address
    dask = ex.run_experiment(SMALL, mapper=lambda f, xs: parallel_imap(f, xs, scheduler=addr))
    assert _datasets_json(dask) == _datasets_json(small)


def test_a_larger_run_extends_a_smaller_one():
    from dataclasses import replace

    a = ex.run_task(ex.Task("breast_cancer", 1, 3, SMALL))
    b = ex.run_task(ex.Task("breast_cancer", 1, 3, replace(SMALL, sets=9)))
    for k in ("g_T", "kl", "pop_S", "kl_rho"):
        assert np.array_equal(a[k], b[k])


def test_kn_is_kn_gaussian_of_the_same_kernels(small):
    """K_n of every setting: the registry-free per-set KLs averaged equal
    :func:`kdtheory.estimate.kn_gaussian` on the same kernels (means and covariances stacked)."""
    fits = [ex.kernels("breast_cancer", SMALL, j) for j in range(SMALL.sets)]
    rows = small["datasets"]["breast_cancer"]["settings"]
    assert {r["beta"] for r in rows} == set(SMALL.betas)
    for row in rows:
        key = ex._key(row["student"], row["alpha"], row["temperature"])
        students = [f[2][key] for f in fits]
        ref = kn_gaussian(
            np.stack([s.mean for s in students]),
            np.stack([s.covariance() / row["beta"] for s in students]),
            np.stack([f[1].mean for f in fits]),
            np.stack([f[1].covariance() / row["beta"] for f in fits]),
        )
        got = row["K_n"]
        for k in ("value", "low", "high"):
            assert got[k] == pytest.approx(getattr(ref, k), rel=1e-8, abs=1e-10)


def test_alpha_zero_student_with_the_teachers_inputs_is_the_teacher(small):
    for row in small["datasets"]["breast_cancer"]["settings"]:
        if row["student"] == "same" and row["alpha"] == 0:
            assert row["K_n"]["value"] == 0 and row["K_n"]["high"] == 0
            assert row["dgen"]["value"] == row["dgen"]["low"] == row["dgen"]["high"] == 0


def test_bounds_are_wired_to_the_estimates(small):
    """U-uniform's right side is sqrt(2 K_n) at K_n's interval ends (proxy 1 for a 0-1 loss);
    U0's is the mean of sqrt(2 KL_D), which is at most it by Jensen."""
    for row in small["datasets"]["breast_cancer"]["settings"]:
        by = {b["theorem"]: b for b in row["bounds"]}
        k = row["K_n"]
        want = [math.sqrt(2 * max(k["low"], 0)), math.sqrt(2 * k["high"])]
        assert by["U-uniform"]["rhs"] == pytest.approx(want, rel=1e-12, abs=1e-15)
        assert by["U0"]["rhs"][0] <= math.sqrt(2 * k["value"]) + 1e-12
        assert by["U1"]["rhs"] == pytest.approx(by["U-uniform"]["rhs"])


@pytest.mark.parametrize("thm_id", ["L", "L-gamma", "S-smooth"])
def test_paired_form_is_the_same_statement_on_dgen(thm_id):
    thm, paired = theorem(thm_id), ex.paired_form(thm_id)
    gen_t, dgen = symbol("gen_T"), symbol("dgen")
    assert paired.lhs == dgen and paired.is_upper == thm.is_upper
    assert sp.simplify(paired.rhs + gen_t - thm.rhs) == 0
    assert paired.rhs.count(gen_t) <= 1  # interval arithmetic sees gen_T once
    with pytest.raises(ValueError, match="not a statement on gen_S"):
        ex.paired_form("U1")


def test_config_validation():
    for kwargs, match in (
        ({"alphas": (1.5,)}, "alpha must lie in"),
        ({"datasets": ("iris",)}, "unknown dataset"),
        ({"students": ("tiny",)}, "unknown student"),
        ({"sets": 1}, "sets must be an integer >= 2"),
        ({"betas": (0.0,)}, "betas must be positive"),
        ({"alphas": (0.5, 0.5)}, "alphas has repeated values"),
        ({"temperatures": ()}, "temperatures must not be empty"),
    ):
        with pytest.raises(ValueError, match=match):
            ex.Config(**kwargs)
    assert ex.config_for_size("tiny") == ex.SIZES["tiny"]
    assert ex.config_for_size(0.5) == (20, ex.SIZES["default"][1])
    with pytest.raises(ValueError, match="size must be"):
        ex.config_for_size("huge")


# -- the command line at the tiny size ----------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_cli(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp")
    js, fig = out / "exp.json", out / "exp.png"
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = cli.main(
            ["experiment", "--size", "tiny", "--json", str(js), "--figure", str(fig), "--quiet"]
        )
    return rc, json.loads(js.read_text()), fig, stdout.getvalue(), stderr.getvalue()


def test_tiny_run_writes_json_and_figure(tiny_cli):
    rc, doc, fig, stdout, stderr = tiny_cli
    assert rc == 0 and stderr == ""  # --quiet: no progress
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["label"] == ESTIMATED and doc["loss"] == {"name": "0-1", "l_min": 0.0, "l_max": 1.0}
    assert set(doc["datasets"]) == {"breast_cancer", "digits"}
    for name, d in doc["datasets"].items():
        assert d["sets"] == ex.SIZES["tiny"][0] and d["draws"] == ex.SIZES["tiny"][1]
        assert [t["beta"] for t in d["teachers"]] == [1.0, 100.0]
        assert all({"gen_T", "risk_T", "V_g"} <= set(t) for t in d["teachers"])
        assert len(d["settings"]) == 2 * 2 * 2 * 5  # betas x students x temperatures x alphas
        assert f"{name}: mu = the empirical distribution" in stdout
        for r in d["settings"]:
            for k in ("gen_S", "dgen", "K_n"):
                assert r[k]["low"] <= r[k]["value"] <= r[k]["high"]
            assert {b["theorem"] for b in r["bounds"]} == BOUND_IDS
    assert "json: wrote" in stdout and "figure: wrote" in stdout


def test_every_bound_has_a_verdict_and_none_is_violated(tiny_cli):
    """The theorems are true, so no verdict may be 'violated' (an honest check: a sign error in
    the wiring or a bad estimate would show here); S is not applicable, with its reason."""
    _, doc, *_ = tiny_cli
    for _, _, b in ex.iter_bounds(doc):
        if b["theorem"] == "S":
            assert not b["applicable"] and "unbounded support" in b["reason"]
            continue
        if not b["applicable"]:
            assert b["reason"]
            continue
        assert b["verdict"] in ("holds", "undecided"), b
        assert b["label"] == ESTIMATED


def test_vacuous_bounds_are_labelled_vacuous(tiny_cli):
    """Vacuity is the rhs against the 0-1 loss's trivial bound (|dgen| <= 2, |gen_S| <= 1), and
    the printed table marks every vacuous bound 'vac'; the tiny run has some of each kind."""
    _, doc, _, stdout, _ = tiny_cli
    seen = set()
    for _, _, b in ex.iter_bounds(doc):
        if not b["applicable"]:
            continue
        t = 2.0 if b["bounds"] == "dgen" else 1.0
        lo, hi = b["rhs"]
        if b["kind"] == "upper bound":
            expect = "vacuous" if lo >= t else "not vacuous" if hi < t else "undecided"
        else:
            expect = "vacuous" if hi <= -t else "not vacuous" if lo > -t else "undecided"
        assert b["vacuity"] == expect and b["vacuous"] == (expect == "vacuous"), b
        seen.add(expect)
    assert {"vacuous", "not vacuous"} <= seen
    # the table: the digits row with alpha = 1, T = 4 has U-uniform vacuous (K_n ~ 300)
    row = next(
        r
        for r in doc["datasets"]["digits"]["settings"]
        if r["student"] == "same" and r["alpha"] == 1 and r["temperature"] == 4 and r["beta"] == 1
    )
    uu = next(b for b in row["bounds"] if b["theorem"] == "U-uniform")
    assert uu["vacuous"]
    lines = stdout.splitlines()
    digits = lines[next(i for i, x in enumerate(lines) if x.startswith("digits:")) :]
    rows = [ln for ln in digits if ln.split()[:3] == ["same", "1.00", "4"]]
    assert len(rows) == 4  # the measured table and the bounds table, at beta = 1 and 100
    assert ex._cell(uu) in rows[1] and " vac" in ex._cell(uu)


BAD = [
    (["--alpha", "2"], "expected a number in [0, 1], got '2'"),
    (["--size", "0"], "expected tiny, small, default, large or a positive number"),
    (["--size", "huge"], "expected tiny, small, default, large or a positive number"),
    (["--dataset", "iris"], "invalid choice: 'iris'"),
    (["--temperature", "-1"], "expected a positive number, got '-1'"),
    (["--beta", "0"], "expected a positive number, got '0'"),
    (["--alpha", "0.5", "0.5"], "alphas has repeated values"),
    (["--n", "1"], "n must be an integer >= 2"),
    (["--chunk", "0"], "chunk must be an integer >= 1"),
    (["--json", "NOT_A_DIR/x.json"], "cannot write --json"),
    (["--figure", "plot.txt"], "expected a .png, .pdf or .svg file"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv, message):
    f = tmp_path / "file"
    f.write_text("x")
    argv = [a.replace("NOT_A_DIR", str(f)) for a in argv]
    with pytest.raises(SystemExit) as exc:
        cli.main(["experiment", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert message in err.strip().splitlines()[-1]


def test_write_failure_exits_4(capsys):
    rc = cli.main(
        ["experiment", "--size", "tiny", "--dataset", "breast_cancer", "--quiet"]
        + ["--alpha", "0", "--temperature", "1", "--student", "same", "--beta", "1"]
        + ["--json", "/dev/full"]
    )
    assert rc == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write /dev/full" in err


def test_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        cli.main(["experiment", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in ("breast_cancer", "estimated, not certified", "vacuous", "--size", "Laplace"):
        assert text in out
