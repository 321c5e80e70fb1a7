"""Capacitated covering: by hand, by brute force over the assignment LP, and its inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from carecircle.errors import InputError
from carecircle.siting import models as siting

# ---------------------------------------------------------------------------------------------
# Capacitated covering.


def test_capacity_smaller_than_the_demand_a_site_reaches():
    # p0 and p1 hold 10 residents each. A reaches both but serves 8; B reaches p1, serves 6.
    cover = np.array([[1, 0], [1, 1]], dtype=bool)
    weight = np.array([10.0, 10.0])
    one = siting.capacitated_covering(cover, weight, [8.0, 6.0], 1)
    assert one.chosen.tolist() == [0]  # 8 > 6, though A reaches 20
    assert one.objective == pytest.approx(8.0)
    two = siting.capacitated_covering(cover, weight, [8.0, 6.0], 2)
    assert two.chosen.tolist() == [0, 1]
    assert two.gains == pytest.approx([8.0, 6.0])
    assert two.objective == pytest.approx(14.0)
    assert two.status == "optimal"
    served = two.assignment.multiply(weight[:, None]).toarray()
    assert served.sum(axis=0) == pytest.approx([8.0, 6.0])  # both sites full
    assert served[0, 1] == 0.0  # B does not reach p0
    assert (two.assignment.sum(axis=1) <= 1 + 1e-9).all()


def test_existing_capacity_is_used_first():
    # Existing E reaches p0 and p1 (10 residents each) and serves 10: alone it serves 10.
    # A reaches p0 and serves 10; B reaches both and serves 4. With A, E takes p1 and A takes
    # p0: 20 in all, 10 newly served; with B only 14, 4 newly served.
    cover = np.array([[1, 1], [0, 1]], dtype=bool)
    weight = np.array([10.0, 10.0])
    existing = np.array([[1], [1]], dtype=bool)
    solution = siting.capacitated_covering(
        cover, weight, [10.0, 4.0], 1, covered_capacity=[10.0], existing_cover=existing
    )
    assert solution.chosen.tolist() == [0]
    assert solution.objective == pytest.approx(10.0)
    assert solution.bound == pytest.approx(10.0)
    assert solution.assignment.shape == (2, 2)  # E, then A
    assert solution.assignment.toarray() == pytest.approx(np.array([[0.0, 1.0], [1.0, 0.0]]))


def test_existing_facility_serving_everyone_leaves_nothing_to_build():
    cover = np.array([[1, 1], [0, 1]], dtype=bool)
    solution = siting.capacitated_covering(
        cover,
        [10.0, 10.0],
        [10.0, 4.0],
        2,
        covered_capacity=[np.inf],
        existing_cover=np.ones((2, 1), dtype=bool),
    )
    assert solution.chosen.size == 0
    assert solution.objective == 0.0
    assert solution.assignment.sum() == pytest.approx(2.0)  # both points fully served by E


def _served_by_lp(cover, existing, weight, capacity, existing_capacity, sites):
    """Most residents served when ``sites`` are open, as a plain dense LP (independent code)."""
    reach = np.hstack([existing, cover[:, list(sites)]])
    limit = np.concatenate([existing_capacity, capacity[list(sites)]])
    pairs = np.argwhere(reach)  # (point, facility) pairs, one variable each
    if pairs.size == 0:
        return 0.0
    a_ub = np.zeros((reach.shape[0] + reach.shape[1], len(pairs)))
    a_ub[pairs[:, 0], np.arange(len(pairs))] = 1.0
    a_ub[reach.shape[0] + pairs[:, 1], np.arange(len(pairs))] = 1.0
    b_ub = np.concatenate([weight, limit])
    result = linprog(-np.ones(len(pairs)), A_ub=a_ub, b_ub=b_ub, method="highs")
    return -result.fun


@pytest.mark.parametrize("seed", range(6))
def test_capacitated_covering_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    cover = rng.random((8, 5)) < 0.35
    existing = rng.random((8, 2)) < 0.3
    weight = rng.integers(0, 10, 8).astype(float)
    capacity = rng.integers(1, 15, 5).astype(float)
    existing_capacity = rng.integers(1, 10, 2).astype(float)
    k = 2
    baseline = _served_by_lp(cover, existing, weight, capacity, existing_capacity, [])
    best = max(
        _served_by_lp(cover, existing, weight, capacity, existing_capacity, list(sites))
        for r in range(k + 1)
        for sites in itertools.combinations(range(5), r)
    )
    solution = siting.capacitated_covering(
        cover,
        weight,
        capacity,
        k,
        covered_capacity=existing_capacity,
        existing_cover=existing,
    )
    assert solution.objective == pytest.approx(best - baseline, abs=1e-6)
    assert solution.gains.sum() == pytest.approx(solution.objective, abs=1e-6)
    served = solution.assignment.multiply(weight[:, None]).toarray()
    assert served.sum() == pytest.approx(best, abs=1e-6)
    limits = np.concatenate([existing_capacity, capacity[solution.chosen]])
    assert (served.sum(axis=0) <= limits + 1e-6).all()
    reach = np.hstack([existing, cover[:, solution.chosen]])
    assert (served[~reach] == 0).all()


def test_bad_capacitated_inputs():
    cover = np.ones((2, 2), dtype=bool)
    with pytest.raises(InputError, match=r"capacity\[1\] \(candidate 1\) is nan"):
        siting.capacitated_covering(cover, [1.0, 1.0], [1.0, np.nan], 1)
    with pytest.raises(InputError, match="existing_cover was given without covered_capacity"):
        siting.capacitated_covering(
            cover, [1.0, 1.0], [1.0, 1.0], 1, existing_cover=np.ones((2, 1), dtype=bool)
        )
    with pytest.raises(InputError, match=r"existing_cover has 3 rows; expected 2"):
        siting.capacitated_covering(
            cover,
            [1.0, 1.0],
            [1.0, 1.0],
            1,
            covered_capacity=[1.0],
            existing_cover=np.ones((3, 1), dtype=bool),
        )
