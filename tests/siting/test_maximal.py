"""Maximal covering and its greedy: by hand, with demand already covered, by brute force, spopt."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from siting_instances import HAND, HAND_WEIGHT, random_instance

from carecircle.siting import models as siting

# spopt builds its models with PuLP, whose 3.x releases warn about APIs PuLP 4 drops; only
# those two warnings are let through, the rest stay errors.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Constructing LpVariable:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated:DeprecationWarning"),
]


# HAND (siting_instances): greedy and its swaps take Z and W for 13; the optimum, X and Y, is 15.


def test_maximal_covering_beats_greedy_by_hand():
    solution = siting.maximal_covering(sp.csr_array(HAND), HAND_WEIGHT, 2)
    assert solution.method == "milp"
    assert solution.status == "optimal"
    assert solution.chosen.tolist() == [0, 1]
    assert solution.gains.tolist() == [8.0, 7.0]
    assert solution.objective == 15.0
    assert solution.bound == pytest.approx(15.0)
    assert solution.gap == pytest.approx(0.0, abs=1e-6)
    assert solution.uncoverable.size == 0
    assert solution.assignment is None


def test_greedy_by_hand_with_its_bound():
    greedy = siting.greedy_maximal_covering(HAND, HAND_WEIGHT, 2)
    # Z (9) then W (4); the LP relaxation bound is 15, so the gap is (15 - 13) / 15
    assert greedy.method == "greedy"
    assert greedy.status == "heuristic"
    assert greedy.chosen.tolist() == [2, 3]
    assert greedy.gains.tolist() == [9.0, 4.0]
    assert greedy.objective == 13.0
    assert greedy.bound == pytest.approx(15.0)
    assert greedy.gap == pytest.approx(2 / 15, rel=1e-5)


def test_maximal_covering_one_site_and_none():
    one = siting.maximal_covering(HAND, HAND_WEIGHT, 1)
    assert one.chosen.tolist() == [2]  # Z reaches 9, more than X (8)
    assert one.objective == 9.0
    none = siting.maximal_covering(HAND, HAND_WEIGHT, 0)
    assert none.chosen.size == 0
    assert none.objective == 0.0
    assert none.status == "optimal"


# ---------------------------------------------------------------------------------------------
# Existing coverage: p0 (100 residents) is already covered.
#
#   point  weight  covered  reached by       A=0 reaches p0 p1: new weight 1 (p0 counts 0)
#   p0     100     yes      A, C             B=1 reaches p2:    new weight 2
#   p1     1       no       A                C=2 reaches p0:    new weight 0, never chosen
#   p2     2       no       B
EXISTING = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=bool)


EXISTING_WEIGHT = np.array([100.0, 1.0, 2.0])


EXISTING_COVERED = np.array([True, False, False])


def test_covered_demand_never_attracts_a_site():
    without = siting.maximal_covering(EXISTING, EXISTING_WEIGHT, 1)
    assert without.chosen.tolist() == [0]  # 101 when nothing is covered yet
    one = siting.maximal_covering(EXISTING, EXISTING_WEIGHT, 1, covered=EXISTING_COVERED)
    assert one.chosen.tolist() == [1]
    assert one.objective == 2.0
    # k larger than useful: B (2) then A (1); C would add nothing and is not proposed
    many = siting.maximal_covering(EXISTING, EXISTING_WEIGHT, 3, covered=EXISTING_COVERED)
    assert many.chosen.tolist() == [1, 0]
    assert many.gains.tolist() == [2.0, 1.0]
    assert many.objective == 3.0
    assert many.status == "optimal"


def test_covered_demand_in_set_and_budgeted_covering():
    cover_all = siting.set_covering(EXISTING, covered=EXISTING_COVERED)
    assert sorted(cover_all.chosen.tolist()) == [0, 1]
    weighted = siting.set_covering(EXISTING, covered=EXISTING_COVERED, weight=EXISTING_WEIGHT)
    assert weighted.chosen.tolist() == [1, 0]  # B adds 2 residents, A 1
    assert weighted.gains.tolist() == [2.0, 1.0]
    # C is free but reaches only covered demand; B fits the budget exactly
    budgeted = siting.budgeted_covering(
        EXISTING, EXISTING_WEIGHT, [1.0, 1.0, 0.0], 1.0, covered=EXISTING_COVERED
    )
    assert budgeted.chosen.tolist() == [1]
    assert budgeted.objective == 2.0


# ---------------------------------------------------------------------------------------------
# Brute force on small random instances.


def _best_cover(cover, weight, k):
    return max(
        weight[cover[:, list(sites)].any(axis=1)].sum() if sites else 0.0
        for r in range(k + 1)
        for sites in itertools.combinations(range(cover.shape[1]), r)
    )


@pytest.mark.parametrize("seed", range(25))
def test_maximal_and_budgeted_covering_match_brute_force(seed):
    rng, cover, weight, covered = random_instance(seed)
    new = np.where(covered, 0.0, weight)
    k = int(rng.integers(1, 4))
    solution = siting.maximal_covering(cover, weight, k, covered=covered)
    assert solution.objective == pytest.approx(_best_cover(cover, new, k))
    assert solution.chosen.size <= k
    cost = rng.integers(0, 6, cover.shape[1]).astype(float)
    budget = float(rng.integers(0, 12))
    best = max(
        new[cover[:, list(sites)].any(axis=1)].sum() if sites else 0.0
        for r in range(cover.shape[1] + 1)
        for sites in itertools.combinations(range(cover.shape[1]), r)
        if cost[list(sites)].sum() <= budget
    )
    budgeted = siting.budgeted_covering(cover, weight, cost, budget, covered=covered)
    assert budgeted.objective == pytest.approx(best)
    assert cost[budgeted.chosen].sum() <= budget


@pytest.mark.parametrize("seed", range(30))
def test_greedy_gap_is_never_below_the_true_gap(seed):
    rng, cover, weight, covered = random_instance(seed, n_demand=30, n_sites=9)
    k = int(rng.integers(1, 5))
    exact = siting.maximal_covering(cover, weight, k, covered=covered)
    greedy = siting.greedy_maximal_covering(cover, weight, k, covered=covered)
    assert exact.status == "optimal"
    assert greedy.bound >= exact.objective - 1e-9
    true_gap = (exact.objective - greedy.objective) / max(exact.objective, 1e-12)
    assert greedy.gap >= true_gap - 1e-9
    assert greedy.objective <= exact.objective + 1e-9


def test_duplicate_rows_give_the_same_answer_as_summed_weights():
    rng = np.random.default_rng(7)
    cover = rng.random((10, 6)) < 0.3
    weight = rng.integers(1, 9, 10).astype(float)
    doubled = siting.maximal_covering(np.vstack([cover, cover]), np.concatenate([weight] * 2), 2)
    single = siting.maximal_covering(cover, 2 * weight, 2)
    assert doubled.objective == single.objective


# ---------------------------------------------------------------------------------------------
# Invariants.


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(0, 5),
)
def test_invariants(seed, k):
    _, cover, weight, covered = random_instance(seed, n_demand=20, n_sites=8)
    solution = siting.maximal_covering(cover, weight, k, covered=covered)
    more = siting.maximal_covering(cover, weight, k + 1, covered=covered)
    reachable = ~covered & cover.any(axis=1)
    assert solution.objective <= weight[reachable].sum() + 1e-9
    assert more.objective >= solution.objective - 1e-9  # more sites never cover less
    assert np.all(np.diff(solution.gains) <= 1e-9)  # marginal gains never grow
    assert (solution.gains > 0).all()
    assert solution.gains.sum() == pytest.approx(solution.objective)
    newly = cover[:, solution.chosen].any(axis=1) & ~covered
    assert weight[newly].sum() == pytest.approx(solution.objective)


# ---------------------------------------------------------------------------------------------
# Comparison with PySAL spopt on random instances.


def _spopt_solver(name):
    pulp = pytest.importorskip("pulp")
    if name == "highs":
        if not pulp.HiGHS(msg=False).available():
            pytest.skip("PuLP finds no highspy")
        return pulp.HiGHS(msg=False)
    if not hasattr(pulp, "PULP_CBC_CMD") or not pulp.PULP_CBC_CMD().available():
        pytest.skip("this PuLP ships no CBC binary")
    return pulp.PULP_CBC_CMD(msg=False)


def _spopt_instance(seed):
    rng = np.random.default_rng(seed)
    cost = rng.random((60, 15))
    weight = rng.integers(1, 100, 60)
    return cost, weight


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("seed", range(10))
def test_same_optimum_as_spopt(seed, solver):
    locate = pytest.importorskip("spopt.locate")
    cost, weight = _spopt_instance(seed)
    radius = 0.2
    cover = cost <= radius
    p = 3
    mclp = locate.MCLP.from_cost_matrix(cost, weight, service_radius=radius, p_facilities=p)
    mclp = mclp.solve(_spopt_solver(solver))
    ours = siting.maximal_covering(sp.csr_array(cover), weight, p)
    assert ours.objective == pytest.approx(mclp.problem.objective.value())
    reachable = cover.any(axis=1)
    lscp = locate.LSCP.from_cost_matrix(cost[reachable], radius).solve(_spopt_solver(solver))
    cover_all = siting.set_covering(cover)
    assert cover_all.objective == pytest.approx(lscp.problem.objective.value())
    assert cover_all.uncoverable.tolist() == np.flatnonzero(~reachable).tolist()
