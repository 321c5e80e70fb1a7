"""Set covering: by hand, by brute force, town by town, and proved by reduced-cost fixing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, milp
from siting_instances import SET_COVER, random_instance, town_instance

from carecircle.siting import _highs, _set_cover, _solve
from carecircle.siting import models as siting


def test_set_covering_lists_the_uncoverable_point():
    solution = siting.set_covering(sp.csc_matrix(SET_COVER))
    assert solution.uncoverable.tolist() == [6]
    assert solution.chosen.tolist() == [1, 2]
    assert solution.gains.tolist() == [3.0, 3.0]
    assert solution.objective == 2.0
    assert solution.bound == 2.0
    assert solution.gap == 0.0
    assert solution.status == "optimal"
    weighted = siting.set_covering(SET_COVER, weight=[1, 1, 1, 1, 1, 5, 9])
    assert weighted.chosen.tolist() == [2, 1]
    assert weighted.gains.tolist() == [7.0, 3.0]


def test_set_covering_with_nothing_to_do():
    solution = siting.set_covering(SET_COVER, covered=SET_COVER.any(axis=1))
    assert solution.chosen.size == 0
    assert solution.objective == 0.0
    assert solution.uncoverable.tolist() == [6]


@pytest.mark.parametrize("seed", range(25))
def test_set_covering_matches_brute_force(seed):
    _, cover, _, covered = random_instance(seed)
    need = ~covered & cover.any(axis=1)
    fewest = next(
        r
        for r in range(cover.shape[1] + 1)
        for sites in itertools.combinations(range(cover.shape[1]), r)
        if (cover[:, list(sites)].any(axis=1) | ~need).all()
    )
    solution = siting.set_covering(cover, covered=covered)
    assert solution.objective == fewest
    assert (cover[:, solution.chosen].any(axis=1) | ~need).all()
    assert solution.uncoverable.tolist() == np.flatnonzero(~covered & ~cover.any(axis=1)).tolist()


@pytest.mark.parametrize("seed", range(10))
def test_set_covering_town_by_town_matches_one_milp(seed, monkeypatch):
    _, cover, _, _ = town_instance(seed, n_towns=3, n_points=30, n_sites=12)
    whole = milp(
        np.ones(cover.shape[1]),
        constraints=LinearConstraint(cover.astype(float), 1.0, np.inf),
        integrality=np.ones(cover.shape[1]),
        bounds=(0, 1),
    )
    seen = []
    part = _set_cover.set_cover_part
    monkeypatch.setattr(
        siting, "set_cover_part", lambda *a, **kw: seen.append(a[1].size) or part(*a, **kw)
    )
    solution = siting.set_covering(cover)
    assert solution.objective == round(whole.fun)
    assert solution.status == "optimal"
    assert solution.bound == solution.objective
    assert cover[:, solution.chosen].any(axis=1).all()
    assert len(seen) >= 2  # the towns the reductions leave, one search each
    assert seen == sorted(seen)  # the smallest first


def test_fixing_proves_a_set_cover_optimal_when_nothing_better_survives(monkeypatch):
    # the MILP on the fixed model finds nothing strictly better: the heuristic is optimal
    def infeasible(c, constraints, upper, integrality, **_):
        return _highs._Run(None, None, None, optimal=False, timed_out=False, infeasible=True)

    monkeypatch.setattr(_solve, "solve_highs", infeasible)
    monkeypatch.setattr(_set_cover, "_greedy_set_cover", lambda matrix: np.arange(matrix.shape[1]))
    _, cover, _, _ = random_instance(3, n_demand=30, n_sites=8)
    solution = siting.set_covering(cover)
    assert solution.status == "optimal"
    assert solution.gap == 0
