"""Running the audit's claims on several processes, or on an existing Dask cluster.

The audit is cut into *tasks*: a whole claim, or -- for a :class:`SamplingClaim` with more than
one block of cases -- one block (drawn from its own child stream of the claim's
``SeedSequence``, :func:`kdtheory.audit.engine.block_streams`) and then the claim's *finish*
(assumption checks and equality witnesses) on the blocks' merged tally.  Tallies are merged in
block order with ties kept on the earlier case (:meth:`kdtheory.audit.engine._Tally.merge`), so
the verdict, counts, max ratio, tightest case and counterexample are the same whatever the
number of workers, the order in which tasks finish, or where they ran; only ``seconds`` differ.

Executors:

* :class:`LocalPool` -- ``workers=N > 1``: a ``concurrent.futures`` process pool on this machine
  (fork where it is safe, else forkserver or spawn), each worker pinned to one BLAS thread;
* :class:`DaskPool` -- ``scheduler=ADDRESS``: the tasks are submitted to an existing
  ``dask.distributed`` scheduler (``pip install 'kdtheory[distributed]'``); no networking of
  our own.

A worker finds a claim by its id: it imports :mod:`kdtheory.audit` (the toolkit's claims), the
installed packages' plugin entry points, and the ``--plugin`` specs the parent loaded (paths as
given: a Dask worker on another machine needs the same file at the same path, or an importable
module).  Claims registered from a Python session exist only in the parent, which runs them
itself.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from .engine import AuditRequestError, Claim, ClaimResult, SamplingClaim, claim_stream

__all__ = [
    "usable_cores",
    "task_count",
    "parallel_imap",
    "parallel_map",
    "run_claims",
    "LocalPool",
    "DaskPool",
    "ParallelError",
]


class ParallelError(AuditRequestError):
    """The workers could not be started or reached (e.g. no Dask scheduler at the address, or
    ``distributed`` is not installed); the CLI answers it with one line and exit 2."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class _Task:
    """One unit of work: ``kind`` is ``"claim"`` (the whole claim), ``"block"`` (block ``j`` of
    ``size`` cases of a sampling claim) or ``"finish"`` (a sampling claim's result from the
    merged ``tally`` of its blocks, which took ``spent`` seconds)."""

    kind: str
    claim: str
    seed: int
    scale: float
    j: int = 0
    size: int = 0
    tally: object = None
    spent: float = 0.0


# -- the worker side ------------------------------------------------------------------------------
_READY: set[tuple[str, ...]] = set()


def _setup(plugins: tuple[str, ...]) -> None:
    """Make the claims known in this process (once per plugin list): the toolkit's, the entry
    points' and the parent's ``--plugin`` specs (already loaded in a forked worker)."""
    if plugins in _READY:
        return
    from .. import plugins as plug  # kdtheory.audit, imported with this module, has the claims

    plug.load_entry_points()
    for spec in plugins:
        plug.load_plugin(spec)
    _READY.add(plugins)


def _init_worker(plugins: tuple[str, ...]) -> None:
    """A local pool worker: Ctrl-C is the parent's to handle (it stops the pool), and the
    claims are registered before the first task arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _setup(plugins)


def _work(task: _Task, plugins: tuple[str, ...]):
    """Run one task where it landed (a pool worker, a Dask worker, or this process)."""
    from .engine import _CLAIMS, single_blas_thread

    _setup(plugins)
    claim = _CLAIMS.get(task.claim)
    if claim is None:
        raise LookupError(
            f"claim {task.claim!r} is not registered on this worker (is the plugin that "
            f"registers it importable here?)"
        )
    root = claim_stream(task.seed, task.claim)
    t0 = time.perf_counter()
    with single_blas_thread():
        if task.kind == "claim":
            return claim.run(root, task.scale)
        if task.kind == "block":
            return claim.evaluate_block(root, task.j, task.size), time.perf_counter() - t0
        return claim.finish(root, task.tally, task.scale, t0, task.spent)


# -- executors -----------------------------------------------------------------------------------
def _start_method() -> str:
    """``fork`` where it is safe and cheap (Linux, Python < 3.12, which does not yet warn about
    forking a process with threads); else ``forkserver`` or ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and sys.version_info < (3, 12) and "fork" in methods:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class LocalPool:
    """A process pool of ``workers`` processes on this machine."""

    def __init__(self, workers: int, plugins: tuple[str, ...] = ()):
        from concurrent.futures import ProcessPoolExecutor

        self.workers = int(workers)
        self.plugins = plugins
        self.where = f"on {self.workers} local worker processes"
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(_start_method()),
            initializer=_init_worker,
            initargs=(plugins,),
        )
        self._keys: dict = {}

    def submit(self, key, fn, *args) -> None:
        """Run ``fn(*args)`` on a worker (``fn`` a module-level function); ``key`` names it."""
        self._keys[self._pool.submit(fn, *args)] = key

    def next_done(self):
        from concurrent.futures import FIRST_COMPLETED, wait

        done = ()
        while not done:  # a timeout keeps the wait interruptible by Ctrl-C
            done, _ = wait(list(self._keys), timeout=0.25, return_when=FIRST_COMPLETED)
        fut = min(done, key=lambda f: self._keys[f])  # deterministic among simultaneous ones
        return self._keys.pop(fut), fut.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def terminate(self) -> None:
        """Stop now: cancel what has not started and kill the workers (Ctrl-C, an error)."""
        procs = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        kill = getattr(self._pool, "terminate_workers", None)  # Python >= 3.14
        if kill is not None:
            kill()
            return
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=5)


#: seconds to wait for a Dask scheduler to answer before giving up
CONNECT_TIMEOUT = 10.0


class DaskPool:
    """The workers of an existing ``dask.distributed`` cluster, reached at ``address``."""

    def __init__(self, address: str, plugins: tuple[str, ...] = ()):
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise ParallelError(
                "--scheduler needs dask.distributed, which is not installed: "
                "pip install 'kdtheory[distributed]'"
            ) from None
        try:  # a malformed address is refused before a Client exists (its cleanup would hang)
            from distributed.comm import get_address_host_port

            get_address_host_port(address)
        except Exception as exc:
            raise ParallelError(
                f"--scheduler {address}: not a Dask scheduler address ({exc})"
            ) from None
        try:
            self._client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, ValueError on a bad address
            raise ParallelError(
                f"cannot reach the Dask scheduler at {address}: {type(exc).__name__}: {exc}"
            ) from None
        n = len(self._client.scheduler_info().get("workers", {}))
        self.workers = max(1, n)
        self.where = f"on the Dask cluster at {address} ({n} workers)"
        self.plugins = plugins
        self._as_completed = as_completed(loop=self._client.loop)
        self._keys: dict = {}

    def submit(self, key, fn, *args) -> None:
        """Run ``fn(*args)`` on a worker of the cluster; ``key`` names it."""
        fut = self._client.submit(fn, *args, pure=False)
        self._keys[fut.key] = key
        self._as_completed.add(fut)

    def next_done(self):
        fut = next(self._as_completed)
        return self._keys.pop(fut.key), fut.result()

    def close(self) -> None:
        self._client.close()

    def terminate(self) -> None:
        try:
            self._client.cancel(list(self._as_completed.futures))
        finally:
            self._client.close()


def executor(workers: int = 1, scheduler: str | None = None, plugins: tuple[str, ...] = ()):
    """The executor for ``workers > 1`` local processes, or for the Dask ``scheduler`` address
    (with ``workers=1`` and no scheduler, :func:`kdtheory.audit.run_audit` runs the claims in
    this process, one after the other)."""
    if scheduler:
        return DaskPool(scheduler, plugins)
    return LocalPool(int(workers), plugins)


# -- the scheduler ---------------------------------------------------------------------------------
def _tasks(claim: Claim, seed: int, scale: float) -> list[tuple[float, _Task]]:
    """A claim's first tasks with their estimated seconds (longest first is scheduled first)."""
    per_case = claim.seconds_per_case
    if isinstance(claim, SamplingClaim):
        sizes = claim.block_sizes(scale)
        if len(sizes) > 1:
            return [
                (size * per_case, _Task("block", claim.id, seed, scale, j, size))
                for j, size in enumerate(sizes)
            ]
    planned = claim.planned_cases(scale) or 0
    return [(planned * per_case, _Task("claim", claim.id, seed, scale))]


def parallel_imap(fn, items, workers: int = 1, scheduler: str | None = None):
    """``fn(x) for x in items``, computed on ``workers`` local processes or the Dask cluster at
    ``scheduler`` (``fn`` a module-level function, each ``x`` picklable), yielded in the order
    of ``items`` as soon as each is ready (a ``map`` for any sweep, e.g. ``kdtheory
    experiment``).  On any exception (Ctrl-C included) the workers are stopped at once."""
    items = list(items)
    if not scheduler and (workers <= 1 or len(items) <= 1):
        yield from map(fn, items)
        return
    pool = executor(min(workers, len(items)), scheduler)
    ready: dict = {}
    try:
        for k, x in enumerate(items):
            pool.submit(k, fn, x)
        for k in range(len(items)):
            while k not in ready:
                key, res = pool.next_done()
                ready[key] = res
            yield ready.pop(k)
    except BaseException:
        pool.terminate()
        raise
    pool.close()


def parallel_map(fn, items, workers: int = 1, scheduler: str | None = None, progress=None):
    """``[fn(x) for x in items]`` by :func:`parallel_imap`; ``progress(done, total)`` is called
    as results arrive in order."""
    items = list(items)
    out = []
    for res in parallel_imap(fn, items, workers, scheduler):
        out.append(res)
        if progress:
            progress(len(out), len(items))
    return out


def task_count(selected: list[Claim], scale: float) -> int:
    """How many tasks ``selected`` start with at ``scale`` (claims, or blocks of claims)."""
    return sum(len(_tasks(c, 0, scale)) for c in selected)


def run_claims(
    selected: list[Claim],
    seed: int,
    scale: float,
    pool,
    local: set[str] = frozenset(),
    progress: Callable[[str], None] | None = None,
) -> list[ClaimResult]:
    """The results of ``selected`` (in their order), computed by the executor ``pool``; the
    claims whose ids are in ``local`` run in this process (claims of a Python session, which a
    worker cannot import).  On any exception (Ctrl-C included) the pool is stopped at once."""
    results: dict[str, ClaimResult] = {}
    blocks: dict[str, dict] = {}  # claim id -> blocks wanted, blocks got (by index)
    count = len(selected)
    done = 0

    def report(res: ClaimResult) -> None:
        nonlocal done
        done += 1
        results[res.id] = res
        if progress:
            progress(
                f"[{done}/{count}] {res.id} on {res.model}: {res.verdict}, {res.cases} cases "
                f"in {res.seconds:.2f} s"
            )

    queued = []
    for claim in selected:
        if claim.id in local:
            continue
        first = _tasks(claim, seed, scale)
        if first[0][1].kind == "block":
            blocks[claim.id] = {"want": len(first), "got": {}}
        queued.extend(first)
    queued.sort(key=lambda ct: -ct[0])  # longest first (stable: ties in claim order)
    try:
        for k, (_, task) in enumerate(queued):
            pool.submit((k, task.kind, task.claim, task.j), _work, task, pool.plugins)
        for claim in selected:
            if claim.id in local:
                report(claim.run(claim_stream(seed, claim.id), scale))
        pending = len(queued)
        extra = 0
        while pending:
            (k, kind, cid, j), out = pool.next_done()
            pending -= 1
            if kind != "block":
                report(out)
                continue
            state = blocks[cid]
            state["got"][j] = out
            if len(state["got"]) == state["want"]:
                tally, spent = None, 0.0
                for jj in sorted(state["got"]):
                    part, secs = state["got"][jj]
                    tally = part if tally is None else tally.merge(part)
                    spent += secs
                extra += 1
                finish = _Task("finish", cid, seed, scale, tally=tally, spent=spent)
                pool.submit((len(queued) + extra, "finish", cid, 0), _work, finish, pool.plugins)
                pending += 1
    except BaseException:
        pool.terminate()
        raise
    pool.close()
    return [results[c.id] for c in selected]
