"""When HiGHS runs out of time or highspy is missing, and when a model exceeds the size limit."""

from __future__ import annotations

import numpy as np
import pytest
from siting_instances import HAND, HAND_WEIGHT, SET_COVER, random_instance

from carecircle.siting import _highs, _solve
from carecircle.siting import models as siting

# ---------------------------------------------------------------------------------------------
# Fallbacks when HiGHS runs out of time, and the size limit.


def _time_out(x=None, bound=None):
    def fake(c, constraints, upper, integrality, **_):
        chosen = None if x is None else x(c)
        return _highs._Run(
            chosen,
            None if chosen is None else float(np.asarray(c) @ chosen),
            bound,
            optimal=False,
            timed_out=True,
        )

    return fake


def _no_branching(*_, **__):
    return None  # as when an LP of the branch-and-bound fails: HiGHS's MIP solver takes over


def test_time_limit_without_a_solution_falls_back_to_greedy(monkeypatch):
    monkeypatch.setattr(_solve, "branch_and_bound", _no_branching)
    monkeypatch.setattr(_solve, "solve_highs", _time_out())
    solution = siting.maximal_covering(HAND, HAND_WEIGHT, 2, time_limit_s=5.0)
    assert solution.method == "greedy"
    assert solution.status == "time_limit"
    assert solution.objective == 13.0  # greedy's Z + W, no swap helps
    assert solution.bound == pytest.approx(15.0)  # the LP relaxation
    assert solution.gap == pytest.approx(2 / 15, rel=1e-5)


def test_time_limit_with_a_worse_incumbent_keeps_greedy(monkeypatch):
    # the branch-and-bound "found" the empty set and a bound of 15
    def empty(relaxed, n_x, **_):
        return _highs._Run(np.zeros(n_x), 0.0, 15.0, optimal=False, timed_out=True)

    monkeypatch.setattr(_solve, "branch_and_bound", empty)
    solution = siting.maximal_covering(HAND, HAND_WEIGHT, 2)
    assert solution.method == "greedy"
    assert solution.status == "time_limit"
    assert solution.objective == 13.0


def test_branch_and_bound_starts_from_the_swapped_greedy_set(monkeypatch):
    seen = {}

    def spy(relaxed, n_x, **options):
        seen.update(options)
        return None

    monkeypatch.setattr(_solve, "branch_and_bound", spy)
    monkeypatch.setattr(_solve, "solve_highs", _spy_highs(seen))
    siting.maximal_covering(HAND, HAND_WEIGHT, 2)
    # kept sites X, Y, Z, W: greedy's Z and W
    assert seen["start"].tolist() == [2, 3]
    # HiGHS's MIP start when it takes over: x, then z for the two shared patterns
    mip_start = seen["mip_start"]
    assert mip_start[:4].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert set(mip_start[4:].tolist()) <= {0.0, 1.0}


def _spy_highs(seen):
    def spy(c, constraints, upper, integrality, **options):
        seen["mip_start"] = options["start"]
        return _time_out()(c, constraints, upper, integrality)

    return spy


@pytest.mark.parametrize("seed", range(12))
def test_scipy_fallback_without_highspy_gives_the_same_optimum(monkeypatch, seed):
    rng, cover, weight, covered = random_instance(seed)
    k = int(rng.integers(1, 4))
    with_highspy = siting.maximal_covering(cover, weight, k, covered=covered)
    fewest = siting.set_covering(cover, covered=covered)
    monkeypatch.setattr(_highs, "_highspy", lambda: None)
    without = siting.maximal_covering(cover, weight, k, covered=covered)
    assert without.objective == pytest.approx(with_highspy.objective)
    assert siting.set_covering(cover, covered=covered).objective == fewest.objective


def test_too_large_for_the_milp_uses_greedy():
    solution = siting.maximal_covering(HAND, HAND_WEIGHT, 2, max_variables=1)
    assert solution.method == "greedy"
    assert solution.status == "heuristic"
    assert solution.objective == 13.0
    assert solution.gap == pytest.approx(2 / 15, rel=1e-5)
    cover_all = siting.set_covering(SET_COVER, max_variables=1)
    assert cover_all.objective == 2.0  # the reductions alone solve it
