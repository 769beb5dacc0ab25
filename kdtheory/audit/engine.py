"""The audit engine: claims pair a theorem with a model, are evaluated on many parameter draws
(or searched for a counterexample), and get a verdict (STYLE.md, "audit.py").

Verdicts: ``holds`` (no case violates the statement beyond the tolerance of
:mod:`kdtheory.theorems.base`), ``refuted`` (a concrete counterexample was found),
``inconclusive`` (no case could be evaluated, a search found nothing, or an equality witness
missed ratio 1 or could not be decided).  The audit succeeds when every true claim holds and
every ``false`` claim is refuted.

Cases are drawn and evaluated in blocks (:data:`BLOCK`) from per-block child streams of
``SeedSequence([seed, claim id])`` and merged, so memory is bounded by one block and the results
do not depend on how blocks are grouped -- nor on where they run: :mod:`kdtheory.audit.parallel`
evaluates claims and blocks on a local process pool or a Dask cluster and merges the blocks in
order; equality witnesses are judged case by case against an error bound
(:mod:`kdtheory.audit.witness`).
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import display
from ..theorems.base import Status, Theorem
from .witness import WitnessOutcome, judge_witnesses, statement_deviation

__all__ = [
    "Claim",
    "SamplingClaim",
    "SearchClaim",
    "ClaimResult",
    "AuditReport",
    "Batch",
    "LazyRecords",
    "register_claim",
    "claims",
    "run_audit",
    "BLOCK",
    "block_streams",
    "claim_stream",
    "witness_stream",
    "estimated_seconds",
    "MAX_SECONDS",
    "AuditRequestError",
]

HOLDS, REFUTED, INCONCLUSIVE = "holds", "refuted", "inconclusive"
#: the verdict on a conjecture nothing refuted (neutral: it is not a proof)
NO_VIOLATION = "no violation"


class AuditRequestError(ValueError):
    """A request :func:`run_audit` refuses before running: an unknown claim id, or a scale
    whose estimated run time is absurd (the CLI answers it with one line and exit 2)."""


#: cases are drawn and evaluated in blocks of this size: case ``i`` of a claim at seed ``s``
#: comes from the random stream of block ``i // BLOCK`` (:func:`block_streams`), so the
#: results do not depend on how blocks are grouped, and memory is bounded by one block
BLOCK = 100_000
#: the spawn key of a claim's equality-witness stream (apart from every block's)
_WITNESS_KEY = 2**32 - 1
#: a run whose estimated time exceeds this is refused (:func:`estimated_seconds`): one day
MAX_SECONDS = 86_400.0


def claim_stream(seed, claim_id: str | None = None) -> np.random.SeedSequence:
    """The root seed sequence of a claim: from an int seed and the claim id, or taken from a
    ``SeedSequence`` / ``Generator`` given directly (tests pass ``default_rng(k)``)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return seed.bit_generator.seed_seq
    return np.random.SeedSequence([int(seed), _stable_hash(claim_id or "")])


def _child(root: np.random.SeedSequence, key: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(key)))
    )


def witness_stream(root: np.random.SeedSequence) -> np.random.Generator:
    """The generator of a claim's equality witnesses (apart from every block's stream)."""
    return _child(root, _WITNESS_KEY)


def _block_sizes(total: int) -> list[int]:
    full, rest = divmod(int(total), BLOCK)
    return [BLOCK] * full + ([rest] if rest else [])


def block_streams(root: np.random.SeedSequence, total: int):
    """``(generator, size)`` for each block of ``total`` cases: block ``j`` covers cases
    ``j*BLOCK .. (j+1)*BLOCK - 1`` and draws from the child stream ``j`` of ``root``."""
    for j, size in enumerate(_block_sizes(total)):
        yield _child(root, j), size


class LazyRecords(Sequence):
    """Per-case parameter records of a vectorised batch, built on access (no 1e5 dicts up
    front).  Subclasses set ``_size`` and implement ``_record(i)`` for ``0 <= i < _size``."""

    _size: int

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._size))]
        i = int(i)
        if not -self._size <= i < self._size:
            raise IndexError(f"record index {i} out of range for {self._size} cases")
        return self._record(i % self._size)

    def _record(self, i: int) -> dict:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass
class Batch:
    """Evaluated cases: one parameter record per case and the values of the theorem's symbols
    (arrays of equal length)."""

    params: list[dict]
    values: dict[str, np.ndarray]

    @classmethod
    def from_rows(cls, params: list[dict], rows: list[dict]) -> Batch:
        """Stack per-case value dicts (one per record, same keys) into float arrays."""
        keys = rows[0].keys() if rows else []
        return cls(params, {k: np.array([r[k] for r in rows], dtype=float) for k in keys})


@dataclass
class ClaimResult:
    id: str
    theorem: str
    status: str
    model: str
    verdict: str
    cases: int
    violations: int
    max_ratio: float | None
    counterexample: dict | None = None
    tightest: dict | None = None
    witness_ratio: float | None = None
    witness_cases: int = 0
    seconds: float = 0.0
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def as_expected(self) -> bool:
        """A false claim is refuted, a true one holds; a conjecture is never a failure."""
        if self.status == Status.CONJECTURE.value:
            return True
        if self.status == Status.FALSE.value:
            return self.verdict == REFUTED
        return self.verdict == HOLDS

    def summary(self) -> str:
        """One line: the verdict with its evidence (a conjecture's is worded neutrally)."""
        if self.counterexample is not None:
            cx = self.counterexample
            return f"refuted (ratio {cx['ratio']:.6g} at {json.dumps(_jsonable(cx['params']))})"
        search = self.extra.get("search_evaluations")
        found = f"{self.cases} cases" + (
            f" and {search} search evaluations" if search is not None else ""
        )
        line = f"{self.verdict} in {found}"
        a = self.extra.get("assumptions") or {}
        if a.get("not_met") or a.get("unchecked") or self.extra.get("vacuous"):
            line += f" ({self.notes})"
        return line

    def to_json(self) -> dict:
        return _jsonable(asdict(self))

    def __repr__(self) -> str:
        return (
            f"ClaimResult(id={self.id!r}, model={self.model!r}, verdict={self.verdict!r}, "
            f"cases={int(self.cases)}, violations={int(self.violations)}, "
            f"max_ratio={display.plain(self.max_ratio)!r})"
        )

    def _repr_html_(self) -> str:
        """Notebook display: the verdict with its evidence, the notes, and the counterexample
        (or, if none, the tightest case) as a parameter table."""
        ratio = "-" if self.max_ratio is None else display.number(self.max_ratio)
        line = [
            (self.id, True),
            f" (theorem {self.theorem}, {self.status}) on {self.model}: ",
            (self.verdict, True),
            "" if self.as_expected else " (not as expected)",
            f" in {display.count(self.cases, 'case')}, "
            f"{display.count(self.violations, 'violation')}, max ratio {ratio}",
        ]
        if self.witness_ratio is not None:
            line.append(
                f"; equality witnesses: ratio {display.number(self.witness_ratio, 16)} "
                f"in {display.count(self.witness_cases, 'case')}"
            )
        out = [display.paragraph(*line)]
        if self.notes:
            out.append(display.paragraph(self.notes))
        if self.counterexample is not None:
            out.append(display.case_html(self.counterexample, "counterexample"))
        elif self.tightest is not None:
            out.append(display.case_html(self.tightest, "tightest case"))
        return "<div>" + "".join(out) + "</div>"


@dataclass
class Claim:
    """A theorem checked on a model.  Subclasses implement :meth:`run`."""

    id: str
    theorem: Theorem
    model: str
    description: str = ""
    #: rough seconds per planned case on one core (for :func:`estimated_seconds` only)
    seconds_per_case: float = 2e-6

    @property
    def status(self) -> str:
        return self.theorem.status.value

    def run(self, seed, scale: float = 1.0) -> ClaimResult:  # pragma: no cover
        """Evaluate the claim; ``seed`` is a ``SeedSequence`` (the audit's, per claim), or a
        ``Generator`` whose seed sequence is used (see :func:`claim_stream`)."""
        raise NotImplementedError

    def planned_cases(self, scale: float = 1.0) -> int | None:
        """How many cases :meth:`run` will evaluate at ``scale`` (for progress output), if known."""
        return None

    def _result(self, **kw) -> ClaimResult:
        return ClaimResult(
            id=self.id, theorem=self.theorem.id, status=self.status, model=self.model, **kw
        )

    def _search_result(self, verdict, tried, cx, max_ratio, t0, notes, extra=None) -> ClaimResult:
        """The result of a claim decided by a search (at most one, re-verified, counterexample)."""
        return self._result(
            verdict=verdict,
            cases=tried,
            violations=int(cx is not None),
            max_ratio=max_ratio,
            counterexample=cx,
            seconds=time.perf_counter() - t0,
            notes=notes,
            extra=extra or {},
        )


@dataclass
class SamplingClaim(Claim):
    """A true claim checked on ``cases`` random draws (``sampler(rng, size) -> Batch``) and, if
    given, on equality witnesses (``witness(rng, size) -> Batch``) that must reach ratio 1.

    Cases are drawn and evaluated block by block (:data:`BLOCK`, :func:`block_streams`) and the
    results merged, so memory does not grow with the number of cases.  Witnesses are judged by
    :func:`kdtheory.audit.witness.judge_witnesses`; ``witness_exact(record, prec) -> {symbol:
    arb}`` recomputes a witness case from its parameter record in ball arithmetic for the cases
    whose double ratio is off 1 by more than double resolution."""

    sampler: Callable[[np.random.Generator, int], Batch] | None = None
    cases: int = 1000
    witness: Callable[[np.random.Generator, int], Batch] | None = None
    witness_cases: int = 20
    witness_exact: Callable[[dict, int], dict] | None = None

    def planned_cases(self, scale: float = 1.0) -> int:
        return max(1, int(round(self.cases * scale)))

    def planned_witnesses(self, scale: float = 1.0) -> int:
        """Witness cases at ``scale`` (a scale below 1 shrinks them, never below 1)."""
        return max(1, int(round(self.witness_cases * min(scale, 1.0))))

    def block_sizes(self, scale: float = 1.0) -> list[int]:
        """The sizes of the blocks :meth:`run` evaluates at ``scale`` (:func:`block_streams`)."""
        return _block_sizes(self.planned_cases(scale))

    def evaluate_block(self, root: np.random.SeedSequence, j: int, size: int) -> _Tally:
        """Draw and evaluate block ``j`` (``size`` cases from child stream ``j`` of ``root``):
        the tally of one block, merged by :meth:`_Tally.merge` in block order.  The first
        block also keeps its evenly spaced sample for the assumption checks."""
        from .discharge import block_sample

        batch = self.sampler(_child(root, j), size)
        tally = _Tally()
        tally.add(batch, self.theorem.evaluate(**batch.values))
        if self.theorem.assumptions:
            tally.sample = block_sample(batch)
        return tally

    def run(self, seed, scale: float = 1.0) -> ClaimResult:
        t0 = time.perf_counter()
        root = claim_stream(seed, self.id)
        tally = _Tally()
        for j, size in enumerate(self.block_sizes(scale)):
            tally.merge(self.evaluate_block(root, j, size))
        return self.finish(root, tally, scale, t0)

    def finish(
        self, root: np.random.SeedSequence, tally: _Tally, scale: float, t0: float, spent=0.0
    ) -> ClaimResult:
        """The result from the merged tally of every block: the assumption checks on the first
        block's sample and the tightest case, then the equality witnesses (from their own
        stream).  ``seconds`` is the time since ``t0`` plus ``spent`` (the blocks' time when
        they ran elsewhere, :mod:`kdtheory.audit.parallel`)."""
        from .discharge import discharge_cases

        n = tally.n
        verdict = INCONCLUSIVE if n == 0 else (REFUTED if tally.violations else HOLDS)
        notes = self.description
        extra = {}
        sample = list(tally.sample)
        if tally.tightest is not None:
            sample.append((tally.tightest["params"], tally.tightest["values"]))
        counts = discharge_cases(self, sample)
        if counts is not None:
            extra["assumptions"] = counts
            if counts["not_met"]:
                verdict = INCONCLUSIVE
                notes = (
                    f"assumption not met on {counts['not_met']} of {counts['checked']} checked "
                    "cases: the sampled cases are not evidence for the theorem"
                )
        w_ratio, w_n = None, 0
        if self.witness is not None:
            wo = self.judge_witnesses(witness_stream(root), self.planned_witnesses(scale))
            w_ratio, w_n = wo.ratio, wo.cases
            extra["witness"] = wo.to_json()
            if not wo.ok:
                verdict = INCONCLUSIVE
                notes = wo.note()
        return self._result(
            verdict=verdict,
            cases=n,
            violations=tally.violations,
            max_ratio=tally.max_ratio,
            counterexample=tally.counterexample,
            tightest=None if tally.violations else tally.tightest,
            witness_ratio=w_ratio,
            witness_cases=w_n,
            seconds=time.perf_counter() - t0 + spent,
            notes=notes,
            extra=extra,
        )

    def judge_witnesses(self, rng: np.random.Generator, size: int) -> WitnessOutcome:
        """Draw ``size`` witnesses and judge them (:mod:`kdtheory.audit.witness`)."""
        wb = self.witness(rng, size)
        wev = self.theorem.evaluate(**wb.values)
        ratios = np.broadcast_to(wev.ratio, (len(wb.params),))
        dev = None
        if self.witness_exact is not None:
            dev = statement_deviation(self.theorem, self.witness_exact, wb.params)
        return judge_witnesses(ratios, dev)


class _Tally:
    """The merge of evaluated blocks: case count, violations, the largest finite ratio and the
    record attaining it (the first one on ties, in case order), and the worst violation."""

    def __init__(self):
        self.n = 0
        self.violations = 0
        self.max_ratio: float | None = None
        self.tightest: dict | None = None
        self.counterexample: dict | None = None
        self._worst_bad = -np.inf
        #: the first block's evenly spaced ``(params, values)`` records (assumption checks)
        self.sample: list = []

    def merge(self, later: _Tally) -> _Tally:
        """Add the tally of the blocks that come after this one's, exactly as if their cases
        had been added here in order: ties keep the earlier case, so the merged counts, max
        ratio, tightest case and counterexample do not depend on how blocks were grouped."""
        self.n += later.n
        self.violations += later.violations
        if later.max_ratio is not None and (
            self.max_ratio is None or later.max_ratio > self.max_ratio
        ):
            self.max_ratio, self.tightest = later.max_ratio, later.tightest
        elif self.tightest is None:
            self.tightest = later.tightest
        if later.counterexample is not None and (
            self.counterexample is None or later._worst_bad > self._worst_bad
        ):
            self.counterexample, self._worst_bad = later.counterexample, later._worst_bad
        if not self.sample:
            self.sample = later.sample
        return self

    def add(self, batch: Batch, ev) -> None:
        n = len(batch.params)
        if n == 0:
            return
        holds = np.broadcast_to(ev.holds, (n,))
        ratio = np.broadcast_to(ev.ratio, (n,))
        self.n += n
        finite = np.where(np.isfinite(ratio), ratio, -np.inf)
        worst = int(np.argmax(finite))
        if np.isfinite(finite[worst]) and (
            self.max_ratio is None or float(finite[worst]) > self.max_ratio
        ):
            self.max_ratio = float(finite[worst])
            self.tightest = _case_record(batch, ev, worst)
        elif self.tightest is None:
            self.tightest = _case_record(batch, ev, worst)
        bad = np.flatnonzero(~holds)
        self.violations += int(bad.size)
        if bad.size:
            k = int(bad[np.argmax(ratio[bad])])
            if self.counterexample is None or ratio[k] > self._worst_bad:
                self._worst_bad = float(ratio[k])
                self.counterexample = _case_record(batch, ev, k)


@dataclass
class SearchClaim(Claim):
    """A claim decided by a search for a counterexample (the negative controls, THEORY §8).

    ``search(rng, budget) -> (cases_tried, counterexample or None, max_ratio)`` where a
    counterexample is a dict with at least ``params``, ``lhs``, ``rhs``, ``ratio``; it must be
    re-verified by :meth:`Theorem.evaluate` on ``values`` (done here), never taken on trust.
    """

    search: Callable[[np.random.Generator, int], tuple[int, dict | None, float]] | None = None
    budget: int = 200

    def planned_cases(self, scale: float = 1.0) -> int:
        """The search budget (an upper bound on the cases tried)."""
        return max(1, int(round(self.budget * scale)))

    #: seconds per search evaluation (for :func:`estimated_seconds`)
    seconds_per_case: float = 0.02

    def run(self, seed, scale: float = 1.0) -> ClaimResult:
        t0 = time.perf_counter()
        budget = self.planned_cases(scale)
        tried, cx, max_ratio = self.search(_child(claim_stream(seed, self.id), 0), budget)
        cx, max_ratio = reverified(self.theorem, cx, max_ratio)
        verdict = REFUTED if cx is not None else (HOLDS if tried else INCONCLUSIVE)
        counts = getattr(self.search, "counts", None)  # hypotheses checked per point, if any
        extra = {} if counts is None else {"assumptions": dict(counts)}
        notes = self.description
        if counts and counts.get("not_met"):
            notes += f"; assumption not met on {counts['not_met']} search points (not counted)"
        if counts and counts.get("unchecked"):
            notes += f"; assumptions not checkable on {counts['unchecked']} search points"
        return self._search_result(verdict, tried, cx, max_ratio, t0, notes, extra)


def reverified(thm: Theorem, cx: dict | None, max_ratio):
    """``(counterexample, max ratio)`` after re-evaluating a search's counterexample from its
    ``values`` with the statement (never taken on trust): ``None`` if it does not survive; its
    ratio raises ``max_ratio`` (a shrunk point may be more extreme than the search's best)."""
    if cx is None:
        return None, max_ratio
    ev = thm.evaluate(**cx["values"])
    if ev.all_hold:
        return None, max_ratio
    cx = {**cx, "lhs": float(ev.lhs), "rhs": float(ev.rhs), "ratio": float(ev.ratio)}
    return cx, cx["ratio"] if max_ratio is None else max(max_ratio, cx["ratio"])


def _case_record(batch: Batch, ev, i: int) -> dict:
    n = len(batch.params)

    def pick(x):
        return float(np.broadcast_to(x, (n,))[i])

    return {
        "params": batch.params[i],
        "values": {k: pick(v) for k, v in batch.values.items()},
        "lhs": pick(ev.lhs),
        "rhs": pick(ev.rhs),
        "ratio": pick(ev.ratio),
    }


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else ("inf" if x > 0 else "-inf" if x < 0 else "nan")
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


# -- registry ---------------------------------------------------------------------------------
_CLAIMS: dict[str, Claim] = {}
_CLAIM_ORIGIN: dict[str, str] = {}


def register_claim(claim: Claim, replace: bool = False) -> Claim:
    """Add ``claim`` to the audit; a taken id raises ``ValueError`` unless ``replace=True``
    (never for the toolkit's own claims).  The origin is recorded as for theorems
    (:func:`kdtheory.theorems.registry.loading`)."""
    from ..theorems.registry import add_entry

    if not isinstance(claim, Claim):
        raise TypeError(f"register_claim expects a Claim, got {type(claim).__name__}")
    return add_entry(_CLAIMS, _CLAIM_ORIGIN, claim.id, claim, replace, "claim")


def claim_origin(id: str) -> str:
    """Where claim ``id`` was registered from (``"kdtheory"``, a plugin, or ``"session"``)."""
    return _CLAIM_ORIGIN[id]


def claims() -> list[Claim]:
    return list(_CLAIMS.values())


@dataclass
class AuditReport:
    results: list[ClaimResult]
    seed: int
    scale: float
    seconds: float
    unaudited: list[str]
    #: the ``--plugin`` options that registered the audited claims (:mod:`kdtheory.plugins`)
    plugins: list[str] = field(default_factory=list)
    #: audited claims registered from a Python session (no command line reproduces them)
    session_claims: list[str] = field(default_factory=list)
    #: whether every registered claim was audited (else the reproduce line names them); ``None``:
    #: decided by comparing the results with the registered claims
    complete: bool | None = None

    @property
    def ok(self) -> bool:
        return all(r.as_expected for r in self.results)

    def reproduce_command(self) -> str:
        """The command line that reruns this audit (without output options)."""
        parts = ["kdtheory audit", f"--seed {self.seed}", f"--scale {self.scale:g}"]
        parts += [f"--plugin {shlex.quote(p)}" for p in self.plugins]
        complete = self.complete
        if complete is None:
            complete = {r.id for r in self.results} == {c.id for c in claims()}
        if not complete:
            parts += [f"--claim {shlex.quote(r.id)}" for r in self.results]
        return " ".join(parts)

    def to_json(self) -> dict:
        return {
            "seed": self.seed,
            "scale": self.scale,
            "seconds": self.seconds,
            "ok": self.ok,
            "claims": [r.to_json() for r in self.results],
            "unaudited_theorems": self.unaudited,
            "reproduce": self.reproduce_command(),
        }

    def write_json(self, path) -> None:
        """Write :meth:`to_json` to ``path`` atomically: a full disk or Ctrl-C leaves the previous
        file intact (:mod:`kdtheory.outputs`, which raises ``OutputError`` on failure)."""
        from ..outputs import atomic_write_text  # the engine's only file output

        atomic_write_text(path, json.dumps(self.to_json(), indent=2) + "\n")

    #: the columns of :meth:`table` and of the notebook display
    TABLE_HEAD = ("claim", "status", "model", "verdict", "cases", "viol.", "max ratio", "witness")

    def table_rows(self) -> list[tuple[str, ...]]:
        """The cells of :meth:`table`, one tuple of text per claim (an unexpected verdict is
        marked ``(!)``)."""
        rows = []
        for r in self.results:
            wit = "" if r.witness_ratio is None else f"{r.witness_ratio:.15f}"
            rows.append(
                (
                    r.id,
                    r.status,
                    r.model,
                    r.verdict + ("" if r.as_expected else " (!)"),
                    str(r.cases),
                    str(r.violations),
                    "-" if r.max_ratio is None else f"{r.max_ratio:.6g}",
                    wit,
                )
            )
        return rows

    def status_line(self) -> str:
        """``OK: 24 claims, seed 0, 27.1 s`` (``FAILED`` when a claim is not as expected)."""
        n = len(self.results)
        return (
            f"{'OK' if self.ok else 'FAILED'}: {n} claim{'' if n == 1 else 's'}, "
            f"seed {self.seed}, {self.seconds:.1f} s"
        )

    def _repr_html_(self) -> str:
        """Notebook display: the rows of :meth:`table` as an HTML table, then the status line."""
        verdict, line = "OK" if self.ok else "FAILED", self.status_line()
        return (
            "<div>"
            + display.table(self.TABLE_HEAD, self.table_rows(), cls="kdtheory-audit")
            + display.paragraph((verdict, True), line[len(verdict) :])
            + "</div>"
        )

    def table(self) -> str:
        head = self.TABLE_HEAD
        rows = [head, *self.table_rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def witness_summary(self) -> str:
        """One line on how the equality witnesses were judged (:mod:`kdtheory.audit.witness`)."""
        ws = [r.extra["witness"] for r in self.results if "witness" in r.extra]
        if not ws:
            return ""
        cases = sum(w["cases"] for w in ws)
        recomputed = sum(w["recomputed"] for w in ws)
        exact = max((w["exact_deviation"] or 0.0) for w in ws)
        bad = sum(len(w["missed"]) + len(w["undecided"]) for w in ws)
        return (
            f"witness: the ratio of {cases} equality witnesses in double precision; "
            f"{recomputed} off 1 by more than 16 ulps were recomputed in arb from their "
            f"parameters: " + (f"{bad} not exact" if bad else f"all exact within {exact:.0e}")
        )

    def hypothesis_notes(self) -> str:
        """Lines on cases excluded because an assumption was not met, cases the model family
        could not check, and vacuous bounds (:mod:`kdtheory.audit.statement`)."""
        out = []
        for r in self.results:
            a = r.extra.get("assumptions") or {}
            if a.get("not_met") or a.get("unchecked") or r.extra.get("vacuous"):
                out.append(f"{r.id}: {r.notes}")
        return "\n".join(out)

    def counterexamples(self) -> str:
        out = []
        for r in self.results:
            if r.counterexample is not None:
                cx = r.counterexample
                out.append(
                    f"{r.id}: lhs = {cx['lhs']:.10g}, rhs = {cx['rhs']:.10g}, "
                    f"ratio = {cx['ratio']:.6g} at {json.dumps(_jsonable(cx['params']))}"
                )
        return "\n".join(out)


def run_audit(
    seed: int = 0,
    scale: float = 1.0,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> AuditReport:
    """Run every registered claim (or those in ``only``) with a seeded generator per claim.

    ``workers=1`` (the default here; the CLI's default is every usable core) runs the claims one
    after the other in this process; ``workers > 1`` on a local process pool; ``scheduler`` (an
    address) on an existing ``dask.distributed`` cluster (:mod:`kdtheory.audit.parallel`).  The
    results are the same in every case, timings aside."""
    from ..theorems.registry import all_theorems

    selected = claims()
    if only:
        known = {c.id for c in selected}
        unknown = [i for i in only if i not in known]
        if unknown:
            raise AuditRequestError(f"unknown claim id(s) {unknown}; known: {sorted(known)}")
        selected = [c for c in selected if c.id in only]
    est = estimated_seconds(selected, scale)
    if est > MAX_SECONDS:
        raise AuditRequestError(
            f"scale {scale:g} is refused: the estimated run time is {est / 3600:,.0f} hours "
            f"(more than {MAX_SECONDS / 3600:g} h on one core); use a smaller --scale"
        )
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise AuditRequestError(f"workers must be a positive integer, got {workers!r}")
    from ..plugins import loaded

    origins = [_CLAIM_ORIGIN.get(c.id, "kdtheory") for c in selected]
    t0 = time.perf_counter()
    if not scheduler:  # never more processes than tasks (one claim runs in this process)
        from .parallel import task_count

        workers = min(workers, task_count(selected, scale))
    if workers == 1 and not scheduler:
        results = []
        with single_blas_thread():
            for k, claim in enumerate(selected):
                results.append(_run_one(claim, k, len(selected), seed, scale, progress))
    else:
        from . import parallel

        pool = parallel.executor(workers, scheduler, tuple(loaded("plugin")))
        if progress:
            progress(f"running {len(selected)} claims {pool.where}")
        session = {c.id for c, o in zip(selected, origins, strict=True) if o == "session"}
        results = parallel.run_claims(selected, seed, scale, pool, session, progress)
    audited = {c.theorem.id for c in claims()}
    unaudited = [t.id for t in all_theorems() if t.id not in audited]
    return AuditReport(
        results,
        seed,
        scale,
        time.perf_counter() - t0,
        unaudited,
        plugins=[p for p in loaded("plugin") if p in origins],
        session_claims=[c.id for c, o in zip(selected, origins, strict=True) if o == "session"],
        complete=len(selected) == len(claims()),
    )


def single_blas_thread():
    """A context in which BLAS/LAPACK use one thread: every matrix of the audit is at most
    12 x 12, and a second thread only adds synchronisation (on a busy 2-core machine a 4 x 4
    triangular solve took 31 ms with two OpenBLAS threads against ~20 us with one)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _run_one(claim: Claim, k: int, count: int, seed: int, scale: float, progress):
    if progress:
        planned = claim.planned_cases(scale)
        size = "" if planned is None else f" ({planned} cases)"
        progress(f"[{k + 1}/{count}] {claim.id} on {claim.model}{size} ...")
    res = claim.run(claim_stream(seed, claim.id), scale)
    if progress:
        progress(f"    {res.verdict}: {res.cases} cases in {res.seconds:.2f} s")
    return res


def estimated_seconds(selected, scale: float) -> float:
    """A rough estimate of the run time of ``selected`` claims at ``scale`` on one core: each
    claim's planned cases times its ``seconds_per_case`` (measured once, see the claim
    modules); used only to refuse absurd scales and to start the longest tasks first on a pool
    (:mod:`kdtheory.audit.parallel`), never in a verdict."""
    total = 0.0
    for c in selected:
        planned = c.planned_cases(scale)
        total += (planned or 0) * c.seconds_per_case
    return total


def _stable_hash(text: str) -> int:
    h = 0
    for ch in text.encode():
        h = (h * 131 + ch) % (2**31 - 1)
    return h


def stderr_progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
