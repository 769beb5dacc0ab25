"""The derived formulas, shipped: sympy's derivations are run once when the package is built
and their results loaded on first use, not re-derived by every process.

Every model quantity is *derived* by sympy from its definition (STYLE.md "one source of truth";
THEORY §1-§7): Model A's formulas, its joint CGF, the formula tables of the other models.  Those
derivations take seconds (``simplify``, ``integrate``); a process that evaluates a bound paid
them on first use -- every audit, every worker of ``kdtheory audit --workers N``, every test
process.  This module stores their results in ``derived.pickle`` next to it:

* each entry is the pickled result of one derivation function, registered with
  :func:`derivation` under a key;
* the file carries a *fingerprint*: a SHA-256 of the source of every module the derivations
  read (``kdtheory/formulas/*.py`` and ``kdtheory/symbols.py``), sympy's version and
  :data:`FORMAT`.  An entry is used only while the fingerprint matches; after any change to those
  sources, or under another sympy, the formulas are derived afresh (slower, never stale);
* ``python -m kdtheory.formulas`` re-derives every entry and rewrites the file
  (atomically); ``tests/test_formula_cache.py`` checks that the shipped file matches the
  sources and that every entry equals a fresh derivation, expression by expression.

So the cache is a build artefact of the derivations, never a second source: nothing in it is
typed by hand, and the test fails if it could differ from what sympy derives today.
``KDTHEORY_DERIVE=1`` in the environment ignores it (every formula derived in the process).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["FILE", "FORMAT", "derivation", "derivations", "fingerprint", "load", "rebuild"]

#: the shipped results, next to this module
FILE = Path(__file__).with_name("derived.pickle")
#: bump when the file's layout changes
FORMAT = 1
_ROOT = Path(__file__).resolve().parent.parent
#: the registered derivations: key -> the underived function
_DERIVATIONS: dict[str, Callable[[], object]] = {}


def _sources() -> list[Path]:
    return sorted(_ROOT.joinpath("formulas").glob("*.py")) + [_ROOT / "symbols.py"]


@functools.cache
def fingerprint() -> str:
    """SHA-256 of the derivations' sources, sympy's version and :data:`FORMAT`."""
    import sympy

    h = hashlib.sha256(f"format {FORMAT}; sympy {sympy.__version__}\n".encode())
    for path in _sources():
        h.update(path.relative_to(_ROOT).as_posix().encode() + b"\0")
        h.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return h.hexdigest()


@functools.cache
def load() -> dict[str, bytes]:
    """The shipped entries (key -> pickled result) if the file matches :func:`fingerprint`,
    else ``{}`` (a missing, stale or unreadable file: everything is derived afresh)."""
    if os.environ.get("KDTHEORY_DERIVE"):
        return {}
    try:
        with FILE.open("rb") as fh:
            stored = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return {}
    if not isinstance(stored, dict) or stored.get("fingerprint") != fingerprint():
        return {}
    return stored.get("entries", {})


def derivation(key: str):
    """Decorator of a zero-argument derivation: the result is the shipped entry ``key`` when it
    is current (:func:`load`), else the function's own result; either way computed once per
    process.  ``f.derive()`` always derives (what the rebuild and the test call)."""

    def wrap(fn: Callable[[], object]):
        if key in _DERIVATIONS:
            raise ValueError(f"derivation {key!r} is registered twice")
        _DERIVATIONS[key] = fn

        @functools.cache
        def cached():
            blob = load().get(key)
            if blob is not None:
                try:
                    return pickle.loads(blob)
                except Exception:  # a class renamed since the build: derive instead
                    pass
            return fn()

        cached.derive = fn
        cached.key = key
        functools.update_wrapper(cached, fn)
        return cached

    return wrap


def derivations() -> dict[str, Callable[[], object]]:
    """Every registered derivation (key -> the function that derives it), after importing the
    formula modules that register them."""
    from . import _all_modules

    _all_modules()
    return dict(_DERIVATIONS)


def rebuild(path: Path = FILE, progress: Callable[[str], None] | None = None) -> int:
    """Derive every entry afresh and write ``path`` atomically; returns the number of entries."""
    from ..outputs import atomic_write_bytes

    entries = {}
    for key, fn in derivations().items():
        if progress:
            progress(f"deriving {key} ...")
        entries[key] = pickle.dumps(fn(), protocol=4)
    blob = pickle.dumps({"fingerprint": fingerprint(), "entries": entries}, protocol=4)
    atomic_write_bytes(path, blob)
    load.cache_clear()
    return len(entries)


def main() -> int:
    """``python -m kdtheory.formulas``: re-derive every entry and rewrite :data:`FILE`."""
    n = rebuild(progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"wrote {FILE} ({n} derivations, {FILE.stat().st_size:,} bytes)")
    return 0
