"""The Examples sections of the package's docstrings run, and show what they say.

Every module of the installed package is searched for doctests (``>>>`` lines), which run here
as part of the test command. pytest's own ``--doctest-modules`` cannot import the package from
its folder, ``coverage/``, whose name is not the package's.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import carecircle

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(carecircle.__path__, prefix="carecircle.")
    if not info.name.startswith("carecircle.data")
)
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _tests(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(module, name) if test.examples]


@pytest.mark.parametrize("name", ["carecircle", *MODULES])
def test_examples_run(name: str) -> None:
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    for test in _tests(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_main_verbs_have_examples() -> None:
    """The verbs a notebook user starts from each show a runnable example."""
    verbs = {
        "carecircle.pipeline": "analyze",
        "carecircle.inputs.readers": "read_communities",
        "carecircle.siting.sites": "propose",
        "carecircle.outputs.write": "write_all",
        "carecircle.outputs.maps": "build",
        "carecircle.costing.costs": "cost",
    }
    missing = [
        f"{module}.{verb}"
        for module, verb in verbs.items()
        if not any(t.name.endswith(f".{verb}") and t.examples for t in _tests(module))
    ]
    assert missing == []
