"""The shipped derivations (kdtheory.formulas.cache): the file matches today's sources, every
entry equals what sympy derives now, and a stale or missing file means deriving afresh."""

from __future__ import annotations

import pickle

import pytest
import sympy as sp

from kdtheory.formulas import cache
from kdtheory.formulas.table import Formula

REBUILD = "stale: run `python -m kdtheory.formulas` and commit kdtheory/formulas/derived.pickle"


def test_the_shipped_file_matches_the_sources():
    stored = pickle.loads(cache.FILE.read_bytes())
    assert stored["fingerprint"] == cache.fingerprint(), REBUILD
    assert set(stored["entries"]) == set(cache.derivations()), REBUILD


def _same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, Formula):
        assert isinstance(b, Formula), where
        for field in ("name", "args", "meaning", "ref", "how", "coordinate", "cse"):
            assert getattr(a, field) == getattr(b, field), f"{where}.{field}"
        assert a.expr == b.expr, f"{where}: {a.expr} != {b.expr}"  # structural equality
        assert sp.srepr(a.expr) == sp.srepr(b.expr), where
        assert a.table == b.table, f"{where}.table"
    else:
        assert a == b, where


def test_every_entry_equals_a_fresh_derivation(tmp_path):
    """Re-derive everything (what `python -m kdtheory.formulas` does) into a scratch file and
    compare it with the shipped one, expression by expression."""
    fresh_file = tmp_path / "derived.pickle"
    n = cache.rebuild(fresh_file)
    assert n == len(cache.derivations()) >= 8
    fresh = pickle.loads(fresh_file.read_bytes())
    shipped = pickle.loads(cache.FILE.read_bytes())
    assert fresh["fingerprint"] == shipped["fingerprint"], REBUILD
    for key, blob in fresh["entries"].items():
        _same(pickle.loads(shipped["entries"][key]), pickle.loads(blob), key)


def test_a_shipped_entry_is_what_the_formulas_return():
    from kdtheory.formulas import gaussian_mean, memoriser

    assert cache.load(), REBUILD
    table = pickle.loads(cache.load()["gaussian-mean"])
    assert gaussian_mean.formulas()["K_n"].expr == table["K_n"].expr
    assert memoriser.TABLE.derivation.key == "table:memoriser"


@pytest.fixture
def scratch_key(monkeypatch):
    """A derivation registered for one test only."""
    monkeypatch.setattr(cache, "_DERIVATIONS", dict(cache._DERIVATIONS))
    calls = []

    @cache.derivation("test:square")
    def square():
        calls.append(1)
        x = sp.Symbol("x")
        return {"f": x**2}

    return square, calls


def test_a_stale_or_missing_file_means_deriving_afresh(scratch_key, monkeypatch, tmp_path):
    square, calls = scratch_key
    x = sp.Symbol("x")
    bogus = {"test:square": pickle.dumps({"f": x**3})}
    monkeypatch.setattr(cache, "load", lambda: bogus)  # a current file with that entry: used
    assert square() == {"f": x**3} and calls == []
    square.cache_clear()
    monkeypatch.setattr(cache, "load", lambda: {})  # stale, missing or KDTHEORY_DERIVE=1
    assert square() == {"f": x**2} and calls == [1]
    assert square.derive() == {"f": x**2} and calls == [1, 1]


def test_load_refuses_a_wrong_fingerprint_and_honours_kdtheory_derive(monkeypatch, tmp_path):
    path = tmp_path / "derived.pickle"
    path.write_bytes(pickle.dumps({"fingerprint": "0" * 64, "entries": {"k": b""}}))
    monkeypatch.setattr(cache, "FILE", path)
    cache.load.cache_clear()
    try:
        assert cache.load() == {}
        path.write_bytes(pickle.dumps({"fingerprint": cache.fingerprint(), "entries": {"k": b""}}))
        cache.load.cache_clear()
        assert cache.load() == {"k": b""}
        monkeypatch.setenv("KDTHEORY_DERIVE", "1")
        cache.load.cache_clear()
        assert cache.load() == {}
        path.write_bytes(b"not a pickle")
        monkeypatch.delenv("KDTHEORY_DERIVE")
        cache.load.cache_clear()
        assert cache.load() == {}
    finally:
        cache.load.cache_clear()


def test_registering_a_key_twice_is_refused(scratch_key):
    with pytest.raises(ValueError, match="registered twice"):
        cache.derivation("test:square")(lambda: None)
