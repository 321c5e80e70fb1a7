"""Budgeted covering with one budget: by hand, by brute force, and how many sites a budget buys."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from siting_instances import random_instance

from carecircle.errors import InputError
from carecircle.siting import models as siting

# ---------------------------------------------------------------------------------------------
# Budgeted covering.
#
#   point  weight  reached by      site  reaches   cost   alone
#   p0     4       A, B            A=0   p0        2      4
#   p1     3       B               B=1   p0 p1     4      7
#   p2     5       C               C=2   p2        3      5
#
# budget 1.99: nothing fits. 2.99: A (4). 3: C, exactly its cost (5 > A's 4). 5: A + C (9)
# beats B (7). 7: B + C (12); greedy by gain per yuan takes A (2/yuan), then C, then cannot
# afford B: 9, so the MILP is needed. 9 or more: everything, 12.
BUDGET_COVER = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)


BUDGET_WEIGHT = np.array([4.0, 3.0, 5.0])


BUDGET_COST = np.array([2.0, 4.0, 3.0])


@pytest.mark.parametrize(
    ("budget", "chosen", "objective"),
    [
        (1.99, [], 0.0),
        (2.99, [0], 4.0),
        (3.0, [2], 5.0),
        (5.0, [2, 0], 9.0),
        (7.0, [1, 2], 12.0),
        (100.0, [1, 2], 12.0),
    ],
)
def test_budgeted_covering_at_below_and_above_a_cost(budget, chosen, objective):
    solution = siting.budgeted_covering(BUDGET_COVER, BUDGET_WEIGHT, BUDGET_COST, budget)
    assert solution.chosen.tolist() == chosen
    assert solution.objective == objective
    assert BUDGET_COST[solution.chosen].sum() <= budget
    assert solution.status == "optimal"


def test_budgeted_covering_needs_the_milp():
    solution = siting.budgeted_covering(BUDGET_COVER, BUDGET_WEIGHT, BUDGET_COST, 7.0)
    assert solution.method == "milp"
    assert solution.gains.tolist() == [7.0, 5.0]


def test_budgeted_covering_rejects_a_nan_cost():
    with pytest.raises(InputError, match=r"cost\[1\] \(candidate 1\) is nan"):
        siting.budgeted_covering(BUDGET_COVER, BUDGET_WEIGHT, [2.0, np.nan, 3.0], 5.0)
    with pytest.raises(InputError, match=r"budget is -1\.0"):
        siting.budgeted_covering(BUDGET_COVER, BUDGET_WEIGHT, BUDGET_COST, -1.0)
    with pytest.raises(InputError, match=r"cost has shape \(2,\); expected \(3,\)"):
        siting.budgeted_covering(BUDGET_COVER, BUDGET_WEIGHT, [1.0, 2.0], 5.0)

    with pytest.raises(InputError, match=r"years is 0; expected a whole number of years ≥ 1"):
        siting.budgeted_covering(BUDGET_COVER, BUDGET_WEIGHT, BUDGET_COST, 5.0, years=0)
    with pytest.raises(InputError, match=r"years is True"):
        siting.budgeted_covering(BUDGET_COVER, BUDGET_WEIGHT, BUDGET_COST, 5.0, years=True)


@pytest.mark.parametrize("seed", range(25))
def test_a_budget_at_one_price_buys_a_number_of_sites(seed, monkeypatch):
    rng, cover, weight, covered = random_instance(seed)
    new = np.where(covered, 0.0, weight)
    price = float(rng.choice([0.0, 0.1, 3.0, 200_000.0]))
    budget = price * float(rng.integers(0, 5)) + float(rng.choice([0.0, price / 2]))
    best = max(
        new[cover[:, list(sites)].any(axis=1)].sum() if sites else 0.0
        for r in range(cover.shape[1] + 1)
        for sites in itertools.combinations(range(cover.shape[1]), r)
        if price * len(sites) <= budget
    )
    counts = []
    solve = siting._solve_coverage
    monkeypatch.setattr(
        siting, "_solve_coverage", lambda *a, **kw: counts.append(kw["k"]) or solve(*a, **kw)
    )
    cost = np.full(cover.shape[1], price)
    solution = siting.budgeted_covering(cover, weight, cost, budget, covered=covered)
    assert solution.objective == pytest.approx(best)
    assert price * solution.chosen.size <= budget
    # solved as maximal covering for the number of sites the budget pays for
    bought = max(m for m in range(cover.shape[1] + 1) if price * m <= budget)
    assert counts == [bought]


def test_a_budget_pays_for_as_many_sites_as_it_covers_and_no_more():
    assert 1.0 // 0.1 == 9.0 and 10 * 0.1 <= 1.0  # floor division alone would lose one
    assert siting.affordable(1.0, 0.1) == 10
    assert 3 * 0.1 > 0.3  # and three at 0.1 cost more than 0.3
    assert siting.affordable(0.3, 0.1) == 2
    assert siting.affordable(600_000.0, 200_000.0) == 3
    assert siting.affordable(599_999.0, 200_000.0) == 2
    assert siting.affordable(0.0, 5.0) == 0
