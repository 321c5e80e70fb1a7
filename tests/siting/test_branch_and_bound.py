"""The branch-and-bound on its own, with a floor, and the bounds and fixings it relies on."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, linprog
from siting_instances import all_sets, random_instance

from carecircle.siting import _highs, _reduction, _solve
from carecircle.siting import models as siting

# ---------------------------------------------------------------------------------------------
# The branch-and-bound on its own: started from nothing, it must find and prove the optimum.


def _programme(cover, weight, side, rhs):
    model = _reduction.Reduced(
        matrix=sp.csr_array(cover.astype(float)),
        weight=weight,
        own=np.zeros(cover.shape[1]),
        candidates=np.arange(cover.shape[1]),
    )
    c, constraints, upper, _ = _solve.coverage_program(model, side, rhs)
    relaxed = _highs.relaxation(c, constraints, upper, deadline=np.inf, maximize=True)

    def value_of(sites):
        return float(weight[cover[:, sites].any(axis=1)].sum())

    return relaxed, value_of


def _search(relaxed, value_of, n_x, *, size=None, start=(), deadline=np.inf, patterns=None):
    """The branch-and-bound over ``n_x`` binaries (of ``size`` variables) from ``start``."""
    size = n_x if size is None else size
    return _highs.branch_and_bound(
        relaxed,
        n_x,
        lower=np.zeros(size),
        upper=np.ones(size),
        start=np.asarray(start, dtype=np.int64),
        value_of=value_of,
        maximize=True,
        deadline=deadline,
        mip_rel_gap=0.0,
        patterns=patterns,
    )


@pytest.mark.parametrize("by_pattern", [False, True])
@pytest.mark.parametrize("seed", range(30))
def test_branch_and_bound_from_the_empty_set_matches_brute_force(seed, by_pattern):
    pytest.importorskip("highspy")
    rng, cover, weight, _ = random_instance(seed, n_demand=18, n_sites=9)
    budget = rng.random() < 0.5
    cost = rng.integers(1, 6, cover.shape[1]).astype(float) if budget else np.ones(9)
    rhs = float(rng.integers(3, 10)) if budget else float(rng.integers(1, 4))
    relaxed, value_of = _programme(cover, weight, cost, rhs)
    size = 9 + cover.shape[0]  # x, then one z per demand row
    patterns = sp.csr_array(cover.astype(float)) if by_pattern else None
    run = _search(relaxed, value_of, 9, size=size, patterns=patterns)
    feasible = [s for s in all_sets(9) if cost[s].sum() <= rhs]
    best = max(value_of(s) for s in feasible)
    picked = np.flatnonzero(run.x > 0.5)
    assert run.optimal and not run.timed_out
    assert cost[picked].sum() <= rhs + 1e-9
    assert value_of(picked) == best == run.value
    assert best - 1e-9 <= run.bound <= best * (1 + 1e-6) + 1e-9


# the LP's optimum puts every site at 1/2 for 15; two sites cover 14 at most (0 with 1 or 3)
HALVES = np.array(
    [[1, 0, 0, 1], [0, 0, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 1, 0, 1], [1, 1, 0, 0]],
    dtype=bool,
)


HALVES_WEIGHT = np.array([3.0, 2.0, 4.0, 2.0, 1.0, 4.0])


def test_branch_and_bound_closes_a_fractional_lp():
    relaxed, value_of = _programme(HALVES, HALVES_WEIGHT, np.ones(4), 2.0)
    assert relaxed.x is not None
    assert relaxed.x[:4] == pytest.approx([0.5] * 4)
    assert relaxed.value == pytest.approx(15.0)
    run = _search(relaxed, value_of, 4)
    assert np.flatnonzero(run.x).tolist() in ([0, 1], [0, 3])
    assert run.value == 14.0
    assert run.optimal
    assert run.bound == pytest.approx(14.0)  # branching closed the LP's gap


def test_maximal_covering_proves_greedy_optimal_by_branching():
    solution = siting.maximal_covering(HALVES, HALVES_WEIGHT, 2)
    assert solution.status == "optimal"
    assert solution.objective == 14.0
    assert solution.bound == pytest.approx(14.0)


def test_branch_and_bound_at_its_deadline_keeps_the_start_and_the_root_bound():
    relaxed, value_of = _programme(HALVES, HALVES_WEIGHT, np.ones(4), 2.0)
    run = _search(relaxed, value_of, 4, start=[2, 3], deadline=0.0)  # long past
    assert run.timed_out and not run.optimal
    assert np.flatnonzero(run.x).tolist() == [2, 3]
    assert run.value == value_of(np.array([2, 3])) == 12.0
    assert run.bound == pytest.approx(15.0)  # the root's, nothing explored


# ---------------------------------------------------------------------------------------------
# A floor: the search need only show that nothing beats it.


@pytest.mark.parametrize("seed", range(12))
def test_branch_and_bound_with_a_floor_proves_nothing_beats_it_or_finds_the_optimum(seed):
    pytest.importorskip("highspy")
    rng, cover, weight, _ = random_instance(seed, n_demand=18, n_sites=9)
    k = int(rng.integers(1, 4))
    best = max(weight[cover[:, s].any(axis=1)].sum() for s in all_sets(9, k))
    patterns = sp.csr_array(cover.astype(float))
    for floor, found in ((best + 0.5, False), (best - 0.5, True)):
        relaxed, value_of = _programme(cover, weight, np.ones(9), float(k))
        run = _highs.branch_and_bound(
            relaxed,
            9,
            lower=np.zeros(9 + cover.shape[0]),
            upper=np.ones(9 + cover.shape[0]),
            start=np.zeros(0, dtype=np.int64),
            value_of=value_of,
            maximize=True,
            deadline=np.inf,
            mip_rel_gap=0.0,
            patterns=patterns,
            floor=floor,
        )
        assert run.optimal
        if found:  # the optimum beats the floor: found and proved
            assert run.value == best
            assert run.bound == pytest.approx(best, rel=1e-6)
        else:  # nothing beats the floor: the bound says so, whatever was found
            assert run.value <= best
            assert best <= run.bound <= floor * (1 + 1e-6)


def test_branch_and_bound_leaves_the_root_lp_for_the_next_solve():
    pytest.importorskip("highspy")
    relaxed, value_of = _programme(HALVES, HALVES_WEIGHT, np.ones(4), 2.0)
    _search(relaxed, value_of, 4, size=4 + HALVES.shape[0])
    again = _highs.with_row_bound(relaxed, HALVES.shape[0], 2.0, deadline=np.inf, maximize=True)
    assert again is not None
    assert again.value == pytest.approx(15.0)  # not a node's bounds, not the last node's value


@pytest.mark.parametrize("seed", range(10))
def test_moving_the_count_gives_the_lp_solved_afresh(seed):
    pytest.importorskip("highspy")
    _, cover, weight, _ = random_instance(seed, n_demand=30, n_sites=10)
    relaxed, _ = _programme(cover, weight, np.ones(10), 1.0)
    for count in (3.0, 2.0, 5.0, 1.0):
        moved = _highs.with_row_bound(
            relaxed, cover.shape[0], count, deadline=np.inf, maximize=True
        )
        fresh, _ = _programme(cover, weight, np.ones(10), count)
        assert moved is not None
        assert moved.value == pytest.approx(fresh.value, rel=1e-7)


# ---------------------------------------------------------------------------------------------
# Reduced-cost fixing never cuts off an optimum.


@pytest.mark.parametrize("seed", range(30))
def test_the_lagrangian_bound_is_never_below_the_lp_and_comes_near_it(seed):
    rng, cover, weight, _ = random_instance(seed, n_demand=30, n_sites=10)
    active = cover.any(axis=1) & (weight > 0)
    model = _reduction.reduce_model(sp.csr_array(cover[active]), weight[active], None)
    n = model.own.size
    budgeted = seed % 2 == 1
    cost = rng.integers(1, 4, n).astype(float) if budgeted else None
    side, rhs = (cost, 4.0) if budgeted else (np.ones(n), float(rng.integers(1, 4)))
    c, constraints, upper, _ = _solve.coverage_program(model, side, rhs)
    lp = -linprog(
        -c,
        A_ub=sp.vstack([constraint.A for constraint in constraints]),
        b_ub=np.concatenate([constraint.ub for constraint in constraints]),
        bounds=list(zip(np.zeros(c.size), upper, strict=True)),
        method="highs",
    ).fun
    bound = _solve.lagrangian_bound(
        model,
        k=None if budgeted else int(rhs),
        cost=cost,
        budget=rhs if budgeted else None,
        floor=0.0,
        deadline=np.inf,
    )
    assert bound >= lp - 1e-6 * max(1.0, lp)  # weak duality: every L(u) is at least the LP
    assert bound <= 1.1 * lp + 1e-9  # and the steps bring it near
    everything = float(model.own.sum() + model.weight.sum())
    assert bound <= everything + 1e-9


@pytest.mark.parametrize("seed", range(40))
def test_reduced_cost_fixing_keeps_every_optimum(seed):
    pytest.importorskip("highspy")
    rng, cover, weight, _ = random_instance(seed, n_demand=16, n_sites=8)
    k = int(rng.integers(1, 4))
    model = _reduction.Reduced(
        matrix=sp.csr_array(cover.astype(float)),
        weight=weight,
        own=np.zeros(cover.shape[1]),
        candidates=np.arange(cover.shape[1]),
    )
    c, constraints, upper, _ = _solve.coverage_program(model, np.ones(cover.shape[1]), float(k))
    relaxed = _highs.relaxation(c, constraints, upper, deadline=np.inf, maximize=True)
    values = {tuple(s): weight[cover[:, s].any(axis=1)].sum() for s in all_sets(8, k)}
    best = max(values.values())
    # the cutoff at the optimum: every optimal set must survive
    zero, one = _highs.fixings(relaxed, 8, best, maximize=True)
    for sites, value in values.items():
        if value == best:
            assert not set(sites) & set(zero.tolist())
            assert set(one.tolist()) <= set(sites)
    # set covering, strictly better than a cover one site too large: every optimum survives
    need = cover.any(axis=1)
    lp = [LinearConstraint(cover[need].astype(float), 1.0, np.inf)]
    relaxed = _highs.relaxation(np.ones(8), lp, np.ones(8), deadline=np.inf, maximize=False)
    covers = [s for s in all_sets(8) if cover[need][:, s].any(axis=1).all()]
    fewest = min(len(s) for s in covers)
    zero, one = _highs.fixings(relaxed, 8, float(fewest), maximize=False)
    for sites in covers:
        if len(sites) == fewest:
            assert not set(sites) & set(zero.tolist())
            assert set(one.tolist()) <= set(sites)
