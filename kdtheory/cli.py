"""Command line: ``kdtheory audit | list | show | latex | prove | theory | derive | design``.

Results go to stdout; progress goes to stderr only (and only once a run has lasted
:data:`PROGRESS_DELAY` seconds; ``--quiet`` silences it).  Every output file is written
atomically (:mod:`kdtheory.outputs`).  A user's mistake or a problem of the environment (a bad
path, a full disk, Ctrl-C, a closed pipe) ends with one line on stderr and the exit code of
:data:`EPILOG`, never a traceback, so that exit 1 always means "a claim failed".
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
from pathlib import Path

from .outputs import OutputError, output_dir_problem, output_file_problem

__all__ = ["main", "DelayedProgress", "PROGRESS_DELAY", "EXIT", "EPILOG"]

#: The exit codes (listed in ``--help`` and README.md).
EXIT = {
    "ok": 0,
    "audit_failed": 1,
    "bad_arguments": 2,
    "no_pdf": 3,
    "write_failed": 4,
    "interrupted": 130,  # 128 + SIGINT, what a shell reports for a Ctrl-C'd program
    "broken_pipe": 141,  # 128 + SIGPIPE, what `yes | head -1` gives; never confused with 0 or 1
}

EPILOG = """exit codes: 0 success (audit: every true claim holds and every false claim is
refuted; a conjecture never fails); 1 audit failure; 2 bad arguments (including an output path
that cannot be written, found before the run, an absurd --scale, and a plugin that cannot be
loaded); 3 a requested PDF could not be made (pdflatex
missing or failed; the .tex file is written); 4 an output file could not be written (full
disk, I/O error; the previous file is left intact); 130 interrupted (Ctrl-C); 141 stdout was
closed early (e.g. piped into head; output files are still written)."""

#: ``kdtheory derive --model NAME``: the module of kdtheory.formulas holding NAME's formulas
DERIVE_MODELS = {
    "gaussian-mean": ("gaussian_mean", "Model A, THEORY §6"),
    "memoriser": ("memoriser", "THEORY §8 N2"),
    "scalar-laws": ("scalar_laws", "the laws of Lemma SG, THEORY §2"),
    "bump": ("bump", "Model A-bump, THEORY §6 A-bump"),
    "ball-kernel": ("ball", "uniform-ball kernels with the bump loss, THEORY §5, §6 A-bump"),
    "gaussian-pair": ("gaussian_pair", "the 1-d Gaussian pairs of Lemma DV, THEORY §2"),
    "linear-gaussian": ("linear_gaussian", "Model C in the spectral form, THEORY §7"),
}

#: progress lines appear once a run has lasted this many seconds (shorter runs stay silent)
PROGRESS_DELAY = 1.0


class DelayedProgress:
    """A progress callback that writes lines to ``stream`` (default: ``sys.stderr`` at
    construction), but only once ``delay`` seconds have passed since it was made: lines of the
    first ``delay`` seconds are held back and written together when a timer fires, so a run
    that ends sooner prints nothing.  Call :meth:`close` when the run ends."""

    def __init__(self, stream=None, delay: float = PROGRESS_DELAY):
        self.stream = sys.stderr if stream is None else stream
        self._held: list[str] = []
        self._lock = threading.Lock()
        self._live = delay <= 0
        self._timer = None
        if not self._live:
            self._timer = threading.Timer(delay, self.release)
            self._timer.daemon = True
            self._timer.start()

    def __call__(self, message: str) -> None:
        with self._lock:
            if self._live:
                self._write(message)
            else:
                self._held.append(message)

    def _write(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def release(self) -> None:
        """Write the held lines and every later one at once (the timer calls this)."""
        with self._lock:
            self._live = True
            for m in self._held:
                self._write(m)
            self._held.clear()

    def close(self) -> None:
        """Stop the timer; lines still held are dropped (the run was shorter than the delay)."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._held.clear()


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (x > 0 and x < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return x


def _int_at_least(low: int, what: str):
    """An argparse type: an integer ``>= low``, else ``expected WHAT, got 'TEXT'``."""

    def parse(text: str) -> int:
        try:
            x = int(text)
        except ValueError:
            x = low - 1
        if x < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return x

    return parse


_nonneg_int = _int_at_least(0, "a non-negative integer")
_positive_int = _int_at_least(1, "a positive integer")


def _version() -> str:
    """The installed distribution's version, else the package's ``__version__``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kdtheory")
    except PackageNotFoundError:
        from . import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kdtheory",
        description=(
            "State, derive and check the generalization bounds of knowledge distillation "
            "(Li & He, arXiv:2605.13143)."
        ),
        epilog=EPILOG,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    plugins = argparse.ArgumentParser(add_help=False)
    plugins.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help=(
            "load your own theorems and claims from a .py file or an importable module "
            "(repeatable); installed packages' 'kdtheory.plugins' entry points are always loaded"
        ),
    )

    a = sub.add_parser(
        "audit",
        parents=[plugins, _parallel_options()],
        help="check every registered claim on exact toy models and print a table",
        description=(
            "Check every registered claim on many random parameter draws of the exact toy "
            "models (true claims must hold, false ones must be refuted by search) and print a "
            "table: claim, status, model, verdict, cases, violations, tightest ratio "
            "(lhs - ref)/(rhs - ref) (<= 1 iff the bound holds), and the ratio reached by "
            "equality witnesses."
        ),
        epilog=EPILOG,
    )
    a.add_argument("--seed", type=_nonneg_int, default=0, help="random seed (default 0)")
    a.add_argument(
        "--scale",
        type=_positive_float,
        default=1.0,
        help="multiply every claim's number of cases by this factor (default 1)",
    )
    a.add_argument(
        "--json",
        metavar="PATH",
        help="also write the results as JSON to PATH (atomically: a failed run keeps the old file)",
    )
    a.add_argument(
        "--claim", action="append", metavar="ID", help="audit only this claim (repeatable)"
    )
    a.add_argument(
        "--report",
        metavar="DIR",
        help=(
            "write DIR/report.tex (audit table, counterexamples, figures in DIR/figures/, every "
            "theorem) and compile DIR/report.pdf when pdflatex is on PATH; DIR is created if "
            "missing, only these files are written, and they are listed"
        ),
    )
    a.add_argument(
        "--quiet",
        action="store_true",
        help=f"no progress output on stderr (shown for runs longer than {PROGRESS_DELAY:g} s)",
    )
    a.add_argument(
        "--certified",
        action="store_true",
        help=(
            "re-evaluate each claim's tightest case (and counterexample) in arb ball arithmetic "
            "(needs python-flint: pip install 'kdtheory[rigorous]')"
        ),
    )

    ls = sub.add_parser(
        "list",
        parents=[plugins],
        help="list the registered theorems: id, status, kind, reference, where they came from",
        epilog=EPILOG,
    )
    ls.add_argument(
        "--families",
        action="store_true",
        help="list the model families a statement can be checked on, with their coordinates",
    )
    sh = sub.add_parser(
        "show",
        parents=[plugins],
        help="print one theorem: statement, assumptions, status, source, claims, proof, tests",
        epilog=EPILOG,
    )
    sh.add_argument("id", metavar="ID", help="a theorem id (kdtheory list shows them)")
    sh.add_argument("--latex", action="store_true", help="print its LaTeX as well")

    lx = sub.add_parser(
        "latex",
        parents=[plugins],
        help="write every registered theorem as a LaTeX document",
        epilog=EPILOG,
    )
    lx.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="output .tex file (default stdout); '.tex' is added to a name without a suffix, "
        "any other suffix is refused",
    )
    lx.add_argument(
        "--pdf",
        action="store_true",
        help="also compile FILE.pdf next to it with pdflatex (needs -o; says so when pdflatex "
        "is missing; an existing FILE.pdf is replaced only by a complete new one)",
    )
    lx.add_argument(
        "--paper",
        action="store_true",
        help="paper mode: no ids, status labels or THEORY references; amsthm environments "
        "(theorem, lemma, conjecture); negative controls left out of the document (with --id, "
        "printed as a remark)",
    )
    lx.add_argument(
        "--id",
        action="append",
        dest="ids",
        metavar="ID",
        help="only theorem ID (repeatable): prints the theorems' LaTeX alone, for pasting into "
        "a document whose preamble has what --preamble prints (with -o/--pdf: a document of "
        "them)",
    )
    lx.add_argument(
        "--preamble",
        action="store_true",
        help="print exactly the packages and environments the theorems' LaTeX needs (of the "
        "--id theorems if given; --paper environments with --paper)",
    )
    pv = sub.add_parser(
        "prove",
        help="run a theorem's proof script and print its steps (PROVED / EVIDENCE / FAILED)",
        description=(
            "Run the executable derivation of theorem ID (its proof script, shipped with the "
            "package) and print each step: PROVED (exact, in general), EVIDENCE (numeric, or "
            "exact only at a fixed size) or FAILED. Exit 0 if no step failed, 1 otherwise."
        ),
        epilog=EPILOG,
    )
    pv.add_argument("id", metavar="ID", help="a theorem id with a proof script (kdtheory list)")
    sub.add_parser(
        "theory",
        help="print the path of the mathematical reference every 'THEORY §x' cites",
        epilog=EPILOG,
    )
    dv = sub.add_parser(
        "derive",
        help="print a model quantity's closed form, its derivative and stationary points",
        description=(
            "Print the closed form of QUANTITY in the model (derived from the definitions by "
            "the exact Gaussian-moment engine or sympy summation/integration, "
            "kdtheory.formulas), its symbols and their "
            "meanings, and with --wrt its derivative in PARAM and the stationary points "
            "(from sympy.solve where the derivative is a rational function of PARAM; "
            "otherwise the output says none were sought). QUANTITY is a formula name of the "
            "model (an unknown name lists them); for gaussian-mean: (gen, "
            "K_n, offset, estimation, spread, Esigma2, mutual_information, "
            "lautum_information, symmetrized_information, the kernel maps gibbs_*, kd_*, "
            "tilt_*, bayes_gamma, K_n_kd: K_n of a KD student of a Gibbs teacher (kdtheory design "
            "minimises it); the joint CGF: "
            "joint_cgf, centred_cgf, cgf_p, chaos_mu_plus, chaos_mu_minus, cgf_lo, cgf_hi, "
            "gap_variance, b_g_upper, b_g_lower, central_cgf (eta_c is its root); smoothing: "
            "smoothing_bound, smoothing_h, optimal_radius, tightness_radius, tightness_ratio) "
            "or a theorem id whose symbols the model supplies (e.g. U1, U-gamma: its bound side "
            "in the model's parameters). "
            "Model C (linear-gaussian) gives gen, K_n, its parts, Esigma2 and the "
            "informations as sums over the eigenvalues s[i] of X X^T of per-direction terms "
            "(themselves formulas: gen_dir, K_n_dir, ..., the kernel maps gibbs_*, kd_*, "
            "tilt_*, projection_*; the design sums K_n_kd, gen_S_kd, gen_T_gibbs, "
            "Esigma2_gibbs and the theorem U1 for a KD student of a Gibbs teacher). "
            "Example: kdtheory derive K_n_kd --model gaussian-mean --wrt alpha"
        ),
        epilog=EPILOG,
    )
    dv.add_argument("quantity", metavar="QUANTITY", help="formula name or theorem id")
    dv.add_argument(
        "--model",
        choices=list(DERIVE_MODELS),
        default="gaussian-mean",
        help="the model: "
        + "; ".join(f"{k} ({v[1]})" for k, v in DERIVE_MODELS.items())
        + " (default gaussian-mean)",
    )
    dv.add_argument("--wrt", metavar="PARAM", help="differentiate in PARAM and solve d/dPARAM = 0")
    dv.add_argument("--latex", action="store_true", help="print the expressions as LaTeX")
    _add_design_parser(sub)
    _add_experiment_parser(sub)
    return p


#: ``kdtheory design --help`` (argparse reflows it)
DESIGN_DESCRIPTION = """Find the student's parameter PARAM (--wrt: alpha, the KD weight;
gamma_S, its inverse temperature; T_S, its temperature, gamma_S = n/(2 s^2 T_S); lam_S, its
prior precision) that minimises TARGET (K_n, the distillation divergence, or U1, the bound
sqrt(2 Esigma2 K_n) on gen_S - gen_T) for a KD student (mean soft labels) of a Gibbs teacher in
the Gaussian mean model (THEORY §6). The stationary points come from sympy.solve of
d TARGET/d PARAM = 0 (symbolic); where sympy gives none (or with --numeric) a bounded scipy
minimisation is used (numeric); the output says which and why. Without numbers it prints the
stationary points in the symbols (e.g. alpha* = gamma_T lam_S/(gamma_S lam_T) with
--zero-prior-means); with --set NAME=VALUE for every other symbol (gamma_T or T_T, lam_T, m0_T,
gamma_S or T_S, lam_S, m0_S, alpha, m_sq = ||m||^2, m_sum = sum_j m_j, d, n, s) it prints the
minimiser and the minimum. Solving in the symbols takes from seconds (alpha) to a minute (T_S);
at numbers, about a second. Example: kdtheory design K_n --wrt alpha --zero-prior-means;
kdtheory design U1 --wrt T_S --set gamma_T=2 lam_T=0.7 m0_T=0.2 alpha=0.3 lam_S=2 m0_S=0
m_sq=5.25 m_sum=1.5 d=3 n=7 s=1.3"""


def _add_design_parser(sub) -> None:
    """``kdtheory design``: :func:`kdtheory.formulas.gaussian_mean.design` from the command line."""
    ds = sub.add_parser(
        "design",
        help="choose the KD weight, temperature or regulariser of a student minimising K_n or U1",
        description=DESIGN_DESCRIPTION,
        epilog=EPILOG,
    )
    ds.add_argument("target", metavar="TARGET", help="K_n or U1")
    ds.add_argument(
        "--set",
        dest="values",
        metavar="NAME=VALUE",
        nargs="+",
        action="extend",
        default=[],
        help="numbers for the other symbols, e.g. --set n=7 s=1.3 (repeatable)",
    )
    ds.add_argument(
        "--wrt",
        metavar="PARAM",
        default="alpha",
        help="alpha, gamma_S, T_S or lam_S (default alpha)",
    )
    ds.add_argument(
        "--zero-prior-means", action="store_true", help="set the prior means m0_T = m0_S = 0"
    )
    ds.add_argument(
        "--numeric", action="store_true", help="skip sympy.solve: scipy bounded minimisation"
    )
    ds.add_argument("--latex", action="store_true", help="print the expressions as LaTeX")


#: ``kdtheory experiment --help`` (argparse reflows it)
EXPERIMENT_DESCRIPTION = """Run a real distillation end to end and evaluate every applicable
bound on it (kdtheory.experiment). On scikit-learn's breast_cancer (2 classes) and digits (10
classes; both ship with scikit-learn, nothing is downloaded), with mu the empirical distribution
of the whole dataset: many training sets of n points drawn iid from mu; on each, a teacher (L2
softmax regression on every input, hard labels) and KD students trained on (1 - alpha) y + alpha
softmax(z_T / T), on every input ('same') or on a feature bottleneck ('bottleneck'); each a
Laplace kernel N(W*, (beta Hess F)^-1) at every --beta, predictors drawn from it, 0-1 loss. It
prints, per dataset, beta and setting (student, alpha, T), the population error of the
student's drawn predictors, the measured gen_S and dgen = gen_S - gen_T with 95% intervals over
the training sets, K_n (the exact Gaussian KL per set, averaged), and each registered bound's
conservative end with its verdict (ok = holds over the whole intervals, VIOLATED, ? =
undecided) and 'vac' where it is vacuous (at or past the 0-1 loss's trivial bound |dgen| <= 2,
|gen_S| <= 1). Everything is estimated, not certified. The default size runs both datasets in
about a minute on one core; progress goes to stderr. Exit 0, or 1 if some bound is
VIOLATED."""


def _size(text: str) -> str:
    from .experiment import SIZES

    if text in SIZES:
        return text
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if not (x > 0 and x < float("inf")) or x * SIZES["default"][0] > 1e6:
        raise argparse.ArgumentTypeError(
            f"expected {', '.join(SIZES)} or a positive number (a multiple of the default "
            f"number of training sets), got {text!r}"
        )
    return text


def _unit_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return x


def _parallel_options() -> argparse.ArgumentParser:
    """``--workers N`` and ``--scheduler ADDRESS`` (audit and experiment share them)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help=(
            "run on N local worker processes (default: every usable core; 1 runs everything "
            "in this process); the results do not depend on N"
        ),
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "send the work to an existing dask.distributed cluster, e.g. tcp://host:8786 "
            "(needs pip install 'kdtheory[distributed]' here and kdtheory, plus any --plugin, "
            "on the workers); the results equal a local run's"
        ),
    )
    return p


def _add_experiment_parser(sub) -> None:
    """``kdtheory experiment``: :func:`kdtheory.experiment.run_experiment` from the command line."""
    ex = sub.add_parser(
        "experiment",
        parents=[_parallel_options()],
        help="a real distillation (scikit-learn datasets): measured dgen, K_n and every bound",
        description=EXPERIMENT_DESCRIPTION,
        epilog=EPILOG,
    )
    ex.add_argument(
        "--dataset",
        choices=("breast_cancer", "digits", "all"),
        default="all",
        help="the dataset (default all: both)",
    )
    ex.add_argument(
        "--size",
        type=_size,
        default="default",
        help="tiny (3 training sets, 4 draws; seconds), small (12, 10), default (40, 20), "
        "large (160, 40), or a positive number multiplying the default 40 sets",
    )
    ex.add_argument("--seed", type=_nonneg_int, default=0, help="random seed (default 0)")
    ex.add_argument(
        "--alpha",
        type=_unit_float,
        nargs="+",
        metavar="A",
        help="KD weights in [0, 1] (default 0 0.25 0.5 0.75 1)",
    )
    ex.add_argument(
        "--temperature",
        type=_positive_float,
        nargs="+",
        metavar="T",
        help="KD temperatures (default 1 4)",
    )
    ex.add_argument(
        "--student",
        choices=("same", "bottleneck", "both"),
        default="both",
        help="student inputs: the teacher's, a feature bottleneck, or both (default both)",
    )
    ex.add_argument(
        "--n",
        type=int,
        metavar="N",
        help="training-set size (default 100 for breast_cancer, 300 for digits)",
    )
    ex.add_argument(
        "--beta",
        type=_positive_float,
        nargs="+",
        metavar="B",
        help="inverse temperatures of the Gibbs (Laplace) kernels N(W*, (beta Hess F)^-1): 1 is "
        "the Bayes posterior (diffuse: poor drawn predictors, small K_n); 100 concentrates the "
        "draws at the MAP and multiplies the mean part of every KL_D by 100; default 1 100",
    )
    ex.add_argument(
        "--lam",
        type=_positive_float,
        default=1.0,
        help="L2 regularisation = prior precision of the weights (default 1)",
    )
    ex.add_argument(
        "--chunk",
        type=int,
        default=4,
        metavar="K",
        help="training sets per task unit (default 4; the results do not depend on it)",
    )
    ex.add_argument(
        "--json",
        metavar="PATH",
        help="also write the results as JSON to PATH (atomically: a failed run keeps the old file)",
    )
    ex.add_argument(
        "--figure",
        metavar="PATH",
        help="also draw dgen and the bounds against alpha to PATH (.png, .pdf or .svg; needs "
        "matplotlib)",
    )
    ex.add_argument(
        "--quiet",
        action="store_true",
        help=f"no progress output on stderr (shown for runs longer than {PROGRESS_DELAY:g} s)",
    )


def _experiment(args, parser, out: _Stdout) -> int:
    from . import experiment as ex

    try:
        ex._sklearn_datasets()
    except ImportError as exc:
        parser.error(_one_line(exc))
    sets, draws = ex.config_for_size(args.size)
    defaults = ex.Config()
    try:
        config = ex.Config(
            datasets=tuple(ex.DATASETS) if args.dataset == "all" else (args.dataset,),
            sets=sets,
            draws=draws,
            n=args.n,
            alphas=tuple(args.alpha) if args.alpha else defaults.alphas,
            temperatures=tuple(args.temperature) if args.temperature else defaults.temperatures,
            students=ex.STUDENTS if args.student == "both" else (args.student,),
            lam=args.lam,
            betas=tuple(args.beta) if args.beta else defaults.betas,
            seed=args.seed,
            chunk=args.chunk,
        )
    except ValueError as exc:
        parser.error(_one_line(exc))
    for opt, path in (("--json", args.json), ("--figure", args.figure)):
        if path:  # checked, never created or truncated: the old file survives a failed run
            problem = output_file_problem(path)
            if problem:
                parser.error(f"cannot write {opt} {path}: {problem}")
    if args.figure:
        if Path(args.figure).suffix.lower() not in (".png", ".pdf", ".svg"):
            parser.error(f"--figure {args.figure}: expected a .png, .pdf or .svg file")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--figure needs matplotlib: pip install 'kdtheory[plot]'")
    from .audit.parallel import ParallelError, parallel_imap, usable_cores

    workers = args.workers or usable_cores()

    def mapper(fn, items):
        return parallel_imap(fn, items, workers, args.scheduler)

    progress = None if args.quiet else DelayedProgress(sys.stderr, PROGRESS_DELAY)
    try:
        doc = ex.run_experiment(config, mapper=mapper, progress=progress)
    except ParallelError as exc:
        print(f"kdtheory experiment: {_one_line(exc)}", file=sys.stderr)
        return EXIT["bad_arguments"]
    finally:
        if progress is not None:
            progress.close()
    out(ex.tables(doc))
    out(f"\n{len(doc['datasets'])} dataset(s), seed {config.seed}, {doc['seconds']:.1f} s")
    if args.json:
        from .outputs import atomic_write_text

        atomic_write_text(args.json, ex.to_json(doc))
        out(f"json: wrote {args.json}")
    if args.figure:
        from .figures import experiment_figure

        experiment_figure(doc, args.figure)
        out(f"figure: wrote {args.figure}")
    violated = [b for _, _, b in ex.iter_bounds(doc) if b.get("verdict") == "violated"]
    return EXIT["audit_failed"] if violated else EXIT["ok"]


class _Stdout:
    """Results on stdout that survive a reader going away: after a ``BrokenPipeError`` (e.g.
    ``kdtheory audit | head -1``) stdout is pointed at ``os.devnull`` as the Python docs
    recommend (so the interpreter's final flush cannot fail again), later lines are dropped,
    ``broken`` is set and the run goes on, so that the files it was asked for are still
    written."""

    def __init__(self):
        self.broken = False

    def __call__(self, text: str = "", end: str = "\n") -> None:
        if self.broken:
            return
        try:
            print(text, end=end, flush=True)
        except BrokenPipeError:
            self.silence()

    def silence(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file descriptor (a test's stream)
            sys.stdout = _Discard()


class _Discard(io.TextIOBase):
    """A text stream that drops what it is given (stdout after a broken pipe, when stdout has
    no file descriptor to point at ``os.devnull``)."""

    def write(self, text: str) -> int:
        return len(text)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see :data:`EPILOG`).  ``SystemExit(2)`` for
    arguments argparse refuses."""
    out = _Stdout()
    try:
        rc = _main(argv, out)
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("kdtheory: interrupted", file=sys.stderr)
        return EXIT["interrupted"]
    except BrokenPipeError:
        out.silence()
    except OutputError as exc:
        print(f"kdtheory: {exc}", file=sys.stderr)
        return EXIT["write_failed"]
    if out.broken:
        return EXIT["broken_pipe"]
    return rc


def _main(argv, out: _Stdout) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT["bad_arguments"]
    if args.command in ("audit", "list", "show", "latex"):
        from .plugins import PluginError, load_entry_points, load_plugin

        try:
            load_entry_points()
            for spec in args.plugin:
                load_plugin(spec)
        except PluginError as exc:
            print(f"kdtheory {args.command}: {_one_line(exc)}", file=sys.stderr)
            return EXIT["bad_arguments"]
    if args.command == "audit":
        return _audit(args, parser, out)
    if args.command == "list":
        from .navigation import family_lines, theorem_lines

        for line in family_lines() if args.families else theorem_lines():
            out(line)
        return EXIT["ok"]
    if args.command == "show":
        from .navigation import show_lines
        from .theorems import all_theorems

        known = {t.id for t in all_theorems()}
        if args.id not in known:
            print(
                f"kdtheory show: no theorem {args.id!r}; known: {', '.join(sorted(known))}",
                file=sys.stderr,
            )
            return EXIT["bad_arguments"]
        for line in show_lines(args.id, latex=args.latex):
            out(line)
        return EXIT["ok"]
    if args.command == "latex":
        return _latex(args, parser, out)
    if args.command == "derive":
        return _derive(args, parser, out)
    if args.command == "prove":
        return _prove(args, out)
    if args.command == "theory":
        from .proof import theory_document

        doc = theory_document()
        if doc is None:  # pragma: no cover - both the wheel and a checkout have it
            print(
                "kdtheory theory: the theory document is missing from this install", file=sys.stderr
            )
            return EXIT["bad_arguments"]
        out(str(doc))
        return EXIT["ok"]
    if args.command == "design":
        return _design(args, parser, out)
    if args.command == "experiment":
        return _experiment(args, parser, out)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT["bad_arguments"]


def _tex_output(parser, output: str) -> Path:
    """``-o`` as a .tex path: ``.tex`` added to a name without a suffix, any other suffix (such
    as ``.pdf``, which ``--pdf`` would then overwrite) refused; its folder must be writable."""
    path = Path(output)
    if path.suffix == "":
        path = path.with_name(path.name + ".tex")
    elif path.suffix != ".tex":
        parser.error(
            f"-o {output}: expected a .tex file (or a name without a suffix, which gets "
            f"'.tex'); the PDF of --pdf is written next to it"
        )
    problem = output_file_problem(path)
    if problem:
        parser.error(f"cannot write -o {path}: {problem}")
    return path


def _selected_theorems(parser, ids):
    """The registered theorems, or those named by ``--id`` in the order given (an unknown id
    is a usage error naming the known ones)."""
    from .theorems.registry import all_theorems

    known = {t.id: t for t in all_theorems()}
    if not ids:
        return list(known.values())
    unknown = [i for i in ids if i not in known]
    if unknown:
        parser.error(f"unknown theorem id {unknown[0]!r}; known: {', '.join(known)}")
    return [known[i] for i in dict.fromkeys(ids)]


def _latex(args, parser, out: _Stdout) -> int:
    from . import theorems  # noqa: F401  (registers every theorem)
    from .latex import compile_pdf, theorem_latex, theorem_preamble, theorems_document
    from .outputs import atomic_write_text

    if args.pdf and not args.output:
        parser.error("--pdf needs -o FILE.tex (the PDF is written next to it)")
    if args.preamble and (args.output or args.pdf):
        parser.error("--preamble prints to stdout; it does not take -o or --pdf")
    thms = _selected_theorems(parser, args.ids)
    if args.preamble:
        out(theorem_preamble(thms, paper=args.paper))
        return EXIT["ok"]
    tex = _tex_output(parser, args.output) if args.output else None
    if args.ids and tex is None:
        out("\n\n".join(theorem_latex(thms, paper=args.paper)))
        return EXIT["ok"]
    doc = theorems_document(thms, paper=args.paper)
    if tex is None:
        out(doc, end="")
        return EXIT["ok"]
    atomic_write_text(tex, doc)
    if not args.pdf:
        out(f"wrote {tex}")
        return EXIT["ok"]
    pdf = tex.with_suffix(".pdf")
    result = compile_pdf(tex, pdf_path=pdf, keep_log=False)
    if not result.ok:
        print(
            f"kdtheory latex: {result.message}; wrote {tex} only ({pdf} not updated)",
            file=sys.stderr,
        )
        return EXIT["no_pdf"]
    out(f"wrote {tex} and {pdf} ({result.pages} pages)")
    return EXIT["ok"]


def _derive(args, parser, out: _Stdout) -> int:
    import importlib

    import sympy as sp

    from .formulas import gaussian_mean

    fm = importlib.import_module(f"kdtheory.formulas.{DERIVE_MODELS[args.model][0]}")
    # a model whose quantities are sums over a spectrum solves with its sums held constant
    stationary_points = getattr(fm, "stationary_points", gaussian_mean.stationary_points)
    try:
        expr, meaning = fm.expression(args.quantity)
    except KeyError as exc:
        parser.error(_one_line(exc).strip("'\""))
    except ValueError as exc:
        parser.error(_one_line(exc))
    # the indexed terms of a spectral sum (s[i]) are listed by their base symbol (s)
    syms = {str(x) for x in expr.free_symbols if not isinstance(x, sp.Indexed)}
    if args.wrt is not None and isinstance(expr, sp.Rel):
        parser.error(f"--wrt {args.wrt}: {args.quantity} is a relation, not a quantity")
    if args.wrt is not None and args.wrt not in syms:
        parser.error(
            f"--wrt {args.wrt}: not a symbol of {args.quantity}; its symbols: "
            f"{', '.join(sorted(syms))}"
        )
    names = {p.symbol: p.latex for p in fm.SYMBOLS.values()}

    def show(e) -> str:
        return sp.latex(e, symbol_names=names) if args.latex else sp.sstr(e)

    out(f"{args.quantity} ({args.model}): {meaning}")
    out(f"  {args.quantity} = {show(expr)}")
    out("symbols:")
    for k in sorted(syms):
        p = fm.SYMBOLS[k]
        out(f"  {k:<9} {p.meaning}; {p.domain.describe()}")
    from .formulas.compile import OVERRIDES

    used = sorted({type(f).__name__ for f in expr.atoms(sp.Function)} & set(OVERRIDES))
    for name in used:  # the registered stable functions, by their definitions
        ov = OVERRIDES[name]
        arity = min(ov.function.nargs) if ov.function.nargs.is_finite_set else 1
        xs = sp.symbols("x y z w v")[:arity]
        args_s = ", ".join(map(str, xs))
        out(f"where {name}({args_s}) = {show(ov.definition(*xs))}")
    if args.wrt is not None:
        wrt = fm.SYMBOLS[args.wrt].symbol
        deriv, points, how = stationary_points(expr, wrt)
        out(f"d/d{args.wrt} = {show(deriv)}")
        if points is None:
            out(f"stationary points in {args.wrt}: {how}")
        else:
            shown = ", ".join(show(x) for x in points) if points else "none"
            out(f"stationary points in {args.wrt} (sympy.solve, symbolic): {shown}")
    return EXIT["ok"]


def _prove(args, out: _Stdout) -> int:
    from .proof import proof_script, run_proof_file
    from .theorems import all_theorems

    by_id = {t.id: t for t in all_theorems()}
    if args.id not in by_id:
        print(
            f"kdtheory prove: no theorem {args.id!r}; known: {', '.join(sorted(by_id))}",
            file=sys.stderr,
        )
        return EXIT["bad_arguments"]
    thm = by_id[args.id]
    if not thm.proof:
        print(f"kdtheory prove: {thm.id} has no proof script ({thm.status.value})", file=sys.stderr)
        return EXIT["bad_arguments"]
    path = proof_script(thm.proof)
    if path is None:
        print(f"kdtheory prove: {thm.proof} is missing from this install", file=sys.stderr)
        return EXIT["bad_arguments"]
    out(f"{thm.id}: {thm.name} -- {thm.proof}")
    proof = run_proof_file(path)
    out(proof.report())
    return EXIT["ok"] if proof.ok else EXIT["audit_failed"]


def _design(args, parser, out: _Stdout) -> int:
    import sympy as sp

    from .formulas import gaussian_mean as fm

    values = {}
    for item in args.values:
        name, eq, text = item.partition("=")
        try:
            if not eq:
                raise ValueError("not NAME=VALUE")
            values[name] = float(text)
        except ValueError:
            parser.error(f"{item}: expected NAME=VALUE with a number (e.g. n=7)")
    try:
        res = fm.design(
            args.target,
            args.wrt,
            zero_prior_means=args.zero_prior_means,
            method="numeric" if args.numeric else "auto",
            **values,
        )
    except (KeyError, ValueError, TypeError) as exc:
        parser.error(_one_line(exc).strip("'\""))
    names = {p.symbol: p.latex for p in fm.SYMBOLS.values()}

    def show(e) -> str:
        return sp.latex(e, symbol_names=names) if args.latex else sp.sstr(e)

    out(
        f"design (gaussian-mean): minimise {res.target}, {fm.DESIGN_TARGETS[res.target]}, over "
        f"{res.wrt} for a KD student (mean soft labels) of a Gibbs teacher (THEORY §6)"
    )
    if args.numeric:
        out(f"stationary points in {res.wrt}: not sought (--numeric)")
    elif res.stationary is None:
        out(f"stationary points in {res.wrt}: none from sympy.solve")
    else:
        at = " at the given numbers" if res.value is not None else ""
        shown = [show(sp.N(r, 15) if res.value is not None else r) for r in res.stationary]
        out(
            f"stationary points in {res.wrt}{at} (sympy.solve, symbolic): "
            f"{', '.join(shown) if shown else 'none'}"
        )
    if res.value is None:
        out(f"minimiser: needs numbers (--set NAME=VALUE) for {', '.join(res.missing)}")
    else:
        out(f"minimiser: {res.wrt} = {res.value!r}")
        out(f"minimum: {res.target} = {res.minimum!r}")
    out(f"how: {res.kind}: {res.why}")
    return EXIT["ok"]


def _audit(args, parser, out: _Stdout) -> int:
    from .audit import claims

    if args.claim:
        known = {c.id for c in claims()}
        unknown = [c for c in args.claim if c not in known]
        if unknown:
            parser.error(
                f"unknown claim id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
    if args.json:  # checked, never created or truncated: the old file survives a failed run
        problem = output_file_problem(args.json)
        if problem:
            parser.error(f"cannot write --json {args.json}: {problem}")
    if args.certified:
        from .certified import flint_available

        if not flint_available():
            parser.error(
                "--certified needs python-flint (arb ball arithmetic), which is not installed: "
                "pip install 'kdtheory[rigorous]'  (or: pip install python-flint)"
            )
    if args.report:  # created when the report is written, after the audit
        problem = output_dir_problem(args.report, create=True)
        if problem:
            parser.error(f"cannot create --report directory {args.report}: {problem}")
    progress = None if args.quiet else DelayedProgress(sys.stderr, PROGRESS_DELAY)
    try:
        return _run_audit(args, progress, out)
    finally:
        if progress is not None:
            progress.close()


def _run_audit(args, progress, out: _Stdout) -> int:
    from .audit import run_audit
    from .audit.engine import AuditRequestError
    from .audit.parallel import usable_cores

    try:
        report = run_audit(
            seed=args.seed,
            scale=args.scale,
            only=args.claim,
            progress=progress,
            workers=args.workers or usable_cores(),
            scheduler=args.scheduler,
        )
    except AuditRequestError as exc:  # e.g. a --scale whose estimated run time is absurd
        print(f"kdtheory audit: {_one_line(exc)}", file=sys.stderr)
        return EXIT["bad_arguments"]
    ok = report.ok
    if args.certified:
        from .audit.certify import certified_ok, certify_report, table_with_certified

        certify_report(report)
        ok = ok and certified_ok(report)
        out(table_with_certified(report))
    else:
        out(report.table())
    if report.witness_summary():
        out(report.witness_summary())
    notes = report.hypothesis_notes()
    if notes:
        out("\nassumptions and vacuity:")
        out(notes)
    cx = report.counterexamples()
    if cx:
        out("\ncounterexamples:")
        out(cx)
    if report.unaudited:
        out(f"\nregistered theorems without a numeric check: {', '.join(report.unaudited)}")
    if report.plugins or report.session_claims:
        out(f"\nreproduce with: {report.reproduce_command()}")
    out(
        f"\n{'OK' if ok else 'FAILED'}: {len(report.results)} claim{'' if len(report.results) == 1 else 's'}, seed {report.seed}, "
        f"{report.seconds:.1f} s"
        + (
            ", tightest cases and counterexamples re-evaluated in ball arithmetic ('certified' "
            "only where every input was recomputed; otherwise 'holds/fails beyond the input "
            "allowance')"
            if args.certified
            else ""
        )
    )
    if args.json:
        report.write_json(args.json)
    rc = EXIT["ok"] if ok else EXIT["audit_failed"]
    if args.report:
        from .report import write_report

        files = write_report(report, args.report, pdf=True, progress=progress)
        for f in files.figures:
            if f.path is None:
                print(f"figure {f.name} unavailable: {f.reason}", file=sys.stderr)
        c = files.compiled
        out()
        for path in files.written:
            pages = f" ({c.pages} pages)" if c is not None and path == c.pdf else ""
            out(f"report: wrote {path}{pages}")
        if c is not None and not c.ok:
            print(f"kdtheory audit: report.pdf not made: {c.message}", file=sys.stderr)
            if c.log is not None and rc == EXIT["ok"]:  # pdflatex ran and failed: a bug, say so
                rc = EXIT["no_pdf"]
    return rc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
