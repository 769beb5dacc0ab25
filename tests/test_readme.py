"""The README's tour is executable documentation: run it as a doctest."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_tour():
    res = doctest.testfile(
        str(README),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert res.attempted >= 10
    assert res.failed == 0


def test_readme_commands_match_ci():
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install . && kdtheory audit" in text
    assert 'pip install ".[test]" && python -m pytest' in text
    assert "python -m pytest" in ci and '".[test]"' in ci
