"""Siting models: hand-solved instances, brute force, spopt, bounds and the fallbacks."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import LinearConstraint, linprog, milp

from carecircle.errors import InputError
from carecircle.siting import _highs, _reduction, _set_cover, _solve, _towns
from carecircle.siting import models as siting

# spopt builds its models with PuLP, whose 3.x releases warn about APIs PuLP 4 drops; only
# those two warnings are let through, the rest stay errors.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Constructing LpVariable:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated:DeprecationWarning"),
]

# ---------------------------------------------------------------------------------------------
# Hand instance for maximal covering, where greedy (and greedy + one swap) is not optimal.
#
#   point  weight  reached by        site  reaches          alone
#   p0     5       X, Z              X=0   p0 p2 p4         5+2+1 = 8
#   p1     4       Y, Z              Y=1   p1 p3 p5         4+2+1 = 7
#   p2     2       X, W              Z=2   p0 p1            5+4   = 9
#   p3     2       Y, W              W=3   p2 p3            2+2   = 4
#   p4     1       X
#   p5     1       Y
#
# k = 2. Greedy takes Z (9), then W (+4: p2, p3; X would add p2+p4 = 3, Y p3+p5 = 3): 13.
# No single swap helps: {X,W} 10, {Y,W} 9, {Z,X} 12, {Z,Y} 12. The optimum is {X, Y}, every
# point, 15; in order of marginal gain X (8) then Y (7). The LP bound is 15 as well.
HAND = np.array(
    [
        [1, 0, 1, 0],
        [0, 1, 1, 0],
        [1, 0, 0, 1],
        [0, 1, 0, 1],
        [1, 0, 0, 0],
        [0, 1, 0, 0],
    ],
    dtype=bool,
)
HAND_WEIGHT = np.array([5.0, 4.0, 2.0, 2.0, 1.0, 1.0])


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
# Set covering with a point no candidate reaches.
#
#   site  reaches        p5 is reached only by S2, p4 by S1 or S3, and S1 ∪ S2 reach p0..p5:
#   S0    p0 p1 p2 p3    two sites. Greedy would start with S0 (4 points) and need three.
#   S1    p0 p2 p4       p6 is reached by nobody: listed in ``uncoverable``.
#   S2    p1 p3 p5       Order (points): S1 3, S2 3, tie → lower index first.
#   S3    p4             With weights [1,1,1,1,1,5,9]: S2 7, S1 3.
SETS = [[0, 1, 2, 3], [0, 2, 4], [1, 3, 5], [4]]
SET_COVER = np.zeros((7, 4), dtype=bool)
for _site, _points in enumerate(SETS):
    SET_COVER[_points, _site] = True


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


# ---------------------------------------------------------------------------------------------
# Budgeted covering over several years: each site paid for out of one year's budget.
#
#   site  cost  reaches (residents)     two years of 300: the three together cost 550 ≤ 600,
#   A     200   10                      but no two of them fit one year's 300, so the best
#   B     200   8                       plan builds A and B, one a year (18), not all three
#   C     150   7                       (25, the whole budget's optimum and so a bound).

YEARS_COVER = np.eye(3, dtype=bool)
YEARS_WEIGHT = np.array([10.0, 8.0, 7.0])
YEARS_COST = np.array([200.0, 200.0, 150.0])


def test_budgeted_covering_over_years_pays_each_site_out_of_one_year():
    whole = siting.budgeted_covering(YEARS_COVER, YEARS_WEIGHT, YEARS_COST, 600.0)
    assert whole.objective == 25.0 and whole.year is None
    solution = siting.budgeted_covering(YEARS_COVER, YEARS_WEIGHT, YEARS_COST, 600.0, years=2)
    assert solution.chosen.tolist() == [0, 1]
    assert sorted(solution.year.tolist()) == [0, 1]
    assert solution.objective == 18.0 and solution.gains.tolist() == [10.0, 8.0]
    assert solution.status == "optimal" and solution.method == "milp"
    # 450 a year pays for two of them in one year: the whole budget's best is kept
    roomy = siting.budgeted_covering(YEARS_COVER, YEARS_WEIGHT, YEARS_COST, 900.0, years=2)
    assert sorted(roomy.chosen.tolist()) == [0, 1, 2] and roomy.objective == 25.0
    assert np.bincount(roomy.year, weights=YEARS_COST[roomy.chosen]).max() <= 450.0
    # a year's 190 buys C alone, whatever the two years hold together
    dear = siting.budgeted_covering(YEARS_COVER, YEARS_WEIGHT, YEARS_COST, 380.0, years=2)
    assert dear.chosen.tolist() == [2] and dear.objective == 7.0


def test_sites_that_first_fit_leaves_out_are_shared_out_exactly():
    from carecircle.siting import _years

    cost = np.array([150.0, 100.0, 200.0, 150.0])  # first fit: 150 + 100, 200, then no room
    assert _years._first_fit(cost, 300.0, 2).tolist() == [0, 0, 1, -1]
    year = _years._pack(cost, 300.0, 2, deadline=math.inf)
    assert year is not None and year[0] == 0  # the first site stays in the first year
    assert np.bincount(year, weights=cost, minlength=2).tolist() == [300.0, 300.0]
    assert _years._pack(np.array([200.0, 200.0, 150.0]), 300.0, 2, deadline=math.inf) is None


def test_the_yearly_models_years_are_shared_out_again_first_years_first(monkeypatch):
    from carecircle.siting import _years

    # the yearly model leaves the first year empty: A and B both in the second
    def yearly(*args, **kwargs):
        return np.array([1, 0]), np.array([1, 1]), 30.0, "optimal", "milp"

    monkeypatch.setattr(_years, "_yearly", yearly)
    common = dict(bound=25.0, status="optimal", method="milp", deadline=math.inf, mip_rel_gap=0.0)
    phased = _years.in_years(
        sp.csr_array(YEARS_COVER), YEARS_WEIGHT, np.zeros(3, dtype=bool), YEARS_COST,
        chosen=np.array([0, 1, 2]), yearly=300.0, years=2, max_variables=10**6, **common,
    )  # fmt: skip
    assert phased.chosen.tolist() == [0, 1] and phased.year.tolist() == [0, 1]
    assert phased.gains.tolist() == [10.0, 8.0] and phased.bound == 30.0
    # with no packing found in time the years stay, the empty first one dropped
    monkeypatch.setattr(_years, "_pack", lambda *args, **kwargs: None)
    kept = _years.in_years(
        sp.csr_array(YEARS_COVER), YEARS_WEIGHT, np.zeros(3, dtype=bool), YEARS_COST,
        chosen=np.array([0, 1, 2]), yearly=300.0, years=2, max_variables=10**6, **common,
    )  # fmt: skip
    assert kept.year.tolist() == [0, 0] and kept.chosen.tolist() == [0, 1]


def test_the_ways_of_filling_a_year_are_every_full_one():
    from carecircle.siting import _years

    prices = np.array([150.0, 250.0, 450.0])
    patterns = _years._patterns(prices, 700.0)
    # brute force: every count vector one year pays for with no room left for another site
    full = {
        counts
        for counts in itertools.product(range(5), range(3), range(2))
        if prices @ counts <= 700.0 and (700.0 - prices @ counts) < 150.0
    }
    assert {tuple(row) for row in patterns.tolist()} == full
    assert full == {(4, 0, 0), (3, 1, 0), (1, 2, 0), (0, 1, 1), (1, 0, 1)}
    assert _years._patterns(np.array([200_000.0]), 600_000.0).tolist() == [[3]]
    assert _years._patterns(np.array([]), 600_000.0) is None
    assert _years._patterns(np.arange(1.0, 40.0), 1_000.0) is None  # too many prices


def test_the_years_of_a_pattern_plan_hold_their_sites():
    from carecircle.siting import _years

    prices = np.array([150.0, 250.0, 450.0])
    patterns = _years._patterns(prices, 700.0)
    cost = np.array([450.0, 250.0, 150.0, 250.0, 0.0, 150.0, 250.0])
    year = _years._first_fit(cost, 700.0, 3)  # 450 + 250 + 0, 150 + 250 + 150, 250
    assert year.tolist() == [0, 0, 1, 1, 0, 1, 2]
    use = _years._pattern_use(cost, year, prices, patterns)
    assert use.sum() == 3
    assert np.all(use @ patterns >= _years._held(cost, prices))
    back = _years._pattern_years(cost, prices, patterns, use)
    assert np.bincount(back, weights=cost).max() <= 700.0 and back.max() <= 2
    assert back[4] == 0  # the free site
    # one year of three at 150 and one at 250, one of four at 150, in the patterns' order
    use = np.zeros(len(patterns))
    use[patterns.tolist().index([3, 1, 0])] = use[patterns.tolist().index([4, 0, 0])] = 1
    seven = np.array([150.0, 150.0, 250.0, 150.0, 150.0, 150.0, 150.0, 150.0])
    assert _years._pattern_years(seven, prices, patterns, use).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_the_yearly_model_is_solved_at_once_when_greedy_does_not_fit_the_years(monkeypatch):
    from carecircle.siting import _years

    mask = np.zeros(3, dtype=bool)
    cover = sp.csr_array(YEARS_COVER)
    # greedy by gain per yuan: A, C, then B, which no year of 300 has room for beside them
    assert _years.prefer_at_once(cover, YEARS_WEIGHT, mask, YEARS_COST, yearly=300.0, years=2)
    assert not _years.prefer_at_once(cover, YEARS_WEIGHT, mask, YEARS_COST, yearly=450.0, years=2)
    # a year of 300 pays for 2 sites at 150: more than "few" at 1, the whole budget first
    monkeypatch.setattr(_years, "_FEW_A_YEAR", 1)
    assert not _years.prefer_at_once(cover, YEARS_WEIGHT, mask, YEARS_COST, yearly=300.0, years=2)
    monkeypatch.setattr(_years, "_FEW_A_YEAR", 2)

    def whole(*args, **kwargs):
        raise AssertionError("the whole budget solved first")

    monkeypatch.setattr(siting, "_solve_coverage", whole)
    solution = siting.budgeted_covering(YEARS_COVER, YEARS_WEIGHT, YEARS_COST, 600.0, years=2)
    assert solution.chosen.tolist() == [0, 1] and solution.status == "optimal"
    with pytest.raises(AssertionError, match="whole budget"):
        siting.budgeted_covering(YEARS_COVER, YEARS_WEIGHT, YEARS_COST, 900.0, years=2)


def _best_over_years(cover, weight, cost, yearly, years):
    """Brute force: the most weight of a site set whose sites can be shared out over the years."""
    best = 0.0
    for size in range(cost.size + 1):
        for subset in itertools.combinations(range(cost.size), size):
            fits = any(
                (np.bincount(when, weights=cost[list(subset)], minlength=years) <= yearly).all()
                for when in itertools.product(range(years), repeat=size)
            )
            if fits:
                best = max(best, float(weight[cover[:, list(subset)].any(axis=1)].sum()))
    return best


def _years_instance(seed):
    """25 points × 6 candidates of 200–500 yuan, 2–3 years of 500–700 yuan."""
    rng = np.random.default_rng(seed)
    cover = rng.random((25, 6)) < 0.3
    weight = rng.integers(1, 20, 25).astype(float)
    cost = rng.integers(2, 6, 6) * 100.0
    return cover, weight, cost, int(rng.integers(2, 4)), float(rng.integers(5, 8) * 100)


@pytest.mark.parametrize("patterns", [True, False], ids=["over_patterns", "over_site_years"])
@pytest.mark.parametrize("seed", range(20))
def test_budgeted_covering_over_years_matches_brute_force(seed, patterns, monkeypatch):
    from carecircle.siting import _years

    if not patterns:  # no ways of filling a year counted: each site is given its year
        monkeypatch.setattr(_years, "_MAX_PATTERNS", 0)
    cover, weight, cost, years, yearly = _years_instance(seed)
    solution = siting.budgeted_covering(cover, weight, cost, years * yearly, years=years)
    assert solution.objective == _best_over_years(cover, weight, cost, yearly, years)
    assert solution.status == "optimal"
    spent = np.bincount(solution.year, weights=cost[solution.chosen], minlength=years)
    assert spent.size == years and (spent <= yearly).all()
    assert solution.gains.sum() == weight[cover[:, solution.chosen].any(axis=1)].sum()
    assert np.all(np.diff(solution.year) >= 0)  # year by year
    assert set(solution.year) == set(range(solution.year.max(initial=-1) + 1))  # none empty


def test_the_brute_force_instances_need_the_yearly_budgets():
    """Several of the instances above have a whole-budget optimum no yearly plan reaches."""
    differ = 0
    for seed in range(20):
        cover, weight, cost, years, yearly = _years_instance(seed)
        whole = siting.budgeted_covering(cover[:, cost <= yearly], weight, cost[cost <= yearly],
                                         years * yearly)  # fmt: skip
        yearly_plan = siting.budgeted_covering(cover, weight, cost, years * yearly, years=years)
        differ += whole.objective > yearly_plan.objective
    assert differ >= 5  # 8 of the 20 when written


@pytest.mark.parametrize("seed", range(20))
def test_a_proved_optimum_reports_its_own_value_as_the_bound(seed):
    """Once the branch-and-bound's tree is exhausted its bound is the incumbent's value.

    A subtree that a fixing at the root excludes holds nothing better than the incumbent the
    fixing was made at; on seed 0 its parent's LP value (157.4) was once reported for 154.
    """
    cover, weight, cost, years, yearly = _years_instance(seed)
    fits, budget = cost <= yearly, years * yearly
    whole = siting.budgeted_covering(cover[:, fits], weight, cost[fits], budget)
    assert whole.objective == _best_over_years(cover[:, fits], weight, cost[fits], budget, 1)
    assert whole.status == "optimal"
    assert whole.bound == pytest.approx(whole.objective, rel=1e-6)


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


# ---------------------------------------------------------------------------------------------
# Brute force on small random instances.


def _best_cover(cover, weight, k):
    return max(
        weight[cover[:, list(sites)].any(axis=1)].sum() if sites else 0.0
        for r in range(k + 1)
        for sites in itertools.combinations(range(cover.shape[1]), r)
    )


def _random(seed, n_demand=14, n_sites=7):
    rng = np.random.default_rng(seed)
    cover = rng.random((n_demand, n_sites)) < rng.uniform(0.1, 0.45)
    weight = rng.integers(0, 10, n_demand).astype(float)
    covered = rng.random(n_demand) < 0.2
    return rng, cover, weight, covered


@pytest.mark.parametrize("seed", range(25))
def test_maximal_and_budgeted_covering_match_brute_force(seed):
    rng, cover, weight, covered = _random(seed)
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


@pytest.mark.parametrize("seed", range(25))
def test_a_budget_at_one_price_buys_a_number_of_sites(seed, monkeypatch):
    rng, cover, weight, covered = _random(seed)
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


@pytest.mark.parametrize("seed", range(25))
def test_set_covering_matches_brute_force(seed):
    _, cover, _, covered = _random(seed)
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


@pytest.mark.parametrize("seed", range(30))
def test_greedy_gap_is_never_below_the_true_gap(seed):
    rng, cover, weight, covered = _random(seed, n_demand=30, n_sites=9)
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
    _, cover, weight, covered = _random(seed, n_demand=20, n_sites=8)
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
    rng, cover, weight, covered = _random(seed)
    k = int(rng.integers(1, 4))
    with_highspy = siting.maximal_covering(cover, weight, k, covered=covered)
    fewest = siting.set_covering(cover, covered=covered)
    monkeypatch.setattr(_highs, "_highspy", lambda: None)
    without = siting.maximal_covering(cover, weight, k, covered=covered)
    assert without.objective == pytest.approx(with_highspy.objective)
    assert siting.set_covering(cover, covered=covered).objective == fewest.objective


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
    rng, cover, weight, _ = _random(seed, n_demand=18, n_sites=9)
    budget = rng.random() < 0.5
    cost = rng.integers(1, 6, cover.shape[1]).astype(float) if budget else np.ones(9)
    rhs = float(rng.integers(3, 10)) if budget else float(rng.integers(1, 4))
    relaxed, value_of = _programme(cover, weight, cost, rhs)
    size = 9 + cover.shape[0]  # x, then one z per demand row
    patterns = sp.csr_array(cover.astype(float)) if by_pattern else None
    run = _search(relaxed, value_of, 9, size=size, patterns=patterns)
    feasible = [s for s in _all_sets(9) if cost[s].sum() <= rhs]
    best = max(value_of(s) for s in feasible)
    picked = np.flatnonzero(run.x > 0.5)
    assert run.optimal and not run.timed_out
    assert cost[picked].sum() <= rhs + 1e-9
    assert value_of(picked) == best == run.value
    assert best - 1e-9 <= run.bound <= best * (1 + 1e-6) + 1e-9


@pytest.mark.parametrize("seed", range(20))
def test_a_restricted_model_keeps_the_value_of_every_set_of_kept_sites(seed):
    rng, cover, weight, _ = _random(seed, n_demand=30, n_sites=10)
    active = sp.csr_array(cover[cover.any(axis=1)])
    model = _reduction.reduce_model(active, weight[cover.any(axis=1)], None)
    keep = np.flatnonzero(rng.random(model.own.size) < 0.6)
    smaller = _reduction.restricted(model, keep)
    assert smaller.candidates.tolist() == model.candidates[keep].tolist()
    assert smaller.weight.size <= model.weight.size
    for sites in _all_sets(keep.size, 3):
        at = np.asarray(sites, dtype=np.int64)
        assert _reduction.objective_of(smaller, at) == pytest.approx(
            _reduction.objective_of(model, keep[at])
        )


def _subsets(sets):
    """Brute force: pairs (i, r), i != r, with set i within set r."""
    return {(i, r) for i, a in enumerate(sets) for r, b in enumerate(sets) if i != r and a <= b}


@pytest.mark.parametrize("chunk", [1, 7, 20_000_000])
@pytest.mark.parametrize("seed", range(6))
def test_dominance_matches_brute_force_whatever_the_blocks(monkeypatch, seed, chunk):
    monkeypatch.setattr(_reduction, "_CHUNK_WORK", chunk)
    rng = np.random.default_rng(seed)
    dense = rng.random((40, 12)) < 0.25
    dense[:, 3] = False  # an empty column, always dropped
    dense = dense[dense.any(axis=1)]
    matrix, _ = _reduction.merge_rows(sp.csr_array(dense), np.zeros(len(dense)))
    rows = [set(np.flatnonzero(row)) for row in matrix.toarray()]
    cols = [set(np.flatnonzero(col)) for col in matrix.toarray().T]

    implied = {r for i, r in _subsets(rows) if len(rows[r]) > len(rows[i])}
    assert set(np.flatnonzero(_reduction.dominated_rows(matrix))) == implied
    cost = rng.integers(1, 3, len(cols)).astype(float)
    beaten = {
        i
        for i, j in _subsets(cols)
        if (len(cols[j]) > len(cols[i]) and cost[j] <= cost[i])
        or (len(cols[j]) == len(cols[i]) and (cost[j] < cost[i] or (cost[j] == cost[i] and j < i)))
    } | {i for i, col in enumerate(cols) if not col}
    assert set(np.flatnonzero(_reduction.dominated_columns(matrix, cost))) == beaten
    assert 3 in beaten and implied  # the instance has something to find


def test_dominance_on_no_rows():
    empty = sp.csr_array((0, 3), dtype=np.bool_)
    assert _reduction.dominated_rows(empty).size == 0
    assert _reduction.dominated_columns(empty, None).tolist() == [True, True, True]


def test_dominance_is_skipped_beyond_its_work_limit(monkeypatch, caplog):
    monkeypatch.setattr(_reduction, "_DOMINANCE_WORK", 2)
    matrix = sp.csr_array(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0]], dtype=bool))
    with caplog.at_level("DEBUG", logger="carecircle.siting._reduction"):
        assert not _reduction.dominated_rows(matrix).any()
        assert _reduction.dominated_columns(matrix, None).tolist() == [False, False, True]
    assert "row dominance skipped" in caplog.text and "column dominance skipped" in caplog.text


def _weak_start(monkeypatch):
    """The exact search starts from the first k sites, so it must improve and fix, then restart."""
    for module in (siting, _towns):  # the modules that call greedy
        monkeypatch.setattr(module, "greedy_sites", lambda model, k, **_: (np.arange(k), np.inf))
    for module in (siting, _towns, _solve):  # and the swaps
        monkeypatch.setattr(module, "swap_search", lambda model, picked, **_: picked)
    monkeypatch.setattr(_towns, "_RESTART_SHARE", 1e-9)  # restart at the first new fixing


def test_a_restart_on_the_free_sites_reaches_the_same_optimum(monkeypatch, caplog):
    instances = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        points, sites = rng.uniform(0, 20, (800, 2)), rng.uniform(0, 20, (120, 2))
        cover = np.linalg.norm(points[:, None] - sites[None], axis=2) < 3.0
        weight = rng.integers(1, 20, 800).astype(float)
        instances.append((cover, weight, siting.maximal_covering(cover, weight, 10)))
    assert _weak_start_runs_saying(monkeypatch, caplog, instances, 10, "restart on") >= 2


def _weak_start_runs_saying(monkeypatch, caplog, instances, k, message):
    """Solve each (cover, weight, plain answer) again from a weak start: the same optimum,
    proved. Returns how many of those runs logged ``message``."""
    _weak_start(monkeypatch)
    saying = 0
    for cover, weight, plain in instances:
        caplog.clear()
        with caplog.at_level("DEBUG", logger="carecircle.siting._towns"):
            again = siting.maximal_covering(cover, weight, k)
        saying += any(message in record.getMessage() for record in caplog.records)
        assert plain.status == again.status == "optimal"
        assert again.objective == pytest.approx(plain.objective)
        assert weight[cover[:, again.chosen].any(axis=1)].sum() == again.objective
        assert again.bound == pytest.approx(again.objective, rel=1e-6)
        assert again.chosen.size <= k
    return saying


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
    rng, cover, weight, _ = _random(seed, n_demand=18, n_sites=9)
    k = int(rng.integers(1, 4))
    best = max(weight[cover[:, s].any(axis=1)].sum() for s in _all_sets(9, k))
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
    _, cover, weight, _ = _random(seed, n_demand=30, n_sites=10)
    relaxed, _ = _programme(cover, weight, np.ones(10), 1.0)
    for count in (3.0, 2.0, 5.0, 1.0):
        moved = _highs.with_row_bound(
            relaxed, cover.shape[0], count, deadline=np.inf, maximize=True
        )
        fresh, _ = _programme(cover, weight, np.ones(10), count)
        assert moved is not None
        assert moved.value == pytest.approx(fresh.value, rel=1e-7)


# ---------------------------------------------------------------------------------------------
# Independent parts: each solved alone, the count shared out between them.


def _town_instance(seed, n_towns=3, n_points=10, n_sites=5):
    """A model of towns no site links (a block-diagonal coverage), with their brute force."""
    rng = np.random.default_rng(seed)
    blocks = [rng.random((n_points, n_sites)) < rng.uniform(0.25, 0.5) for _ in range(n_towns)]
    cover = sp.block_diag(blocks).toarray().astype(bool)
    cover = cover[cover.any(axis=1)]
    weight = rng.integers(1, 10, cover.shape[0]).astype(float)
    model = _reduction.Reduced(
        matrix=sp.csr_array(cover.astype(float)),
        weight=weight,
        own=np.zeros(cover.shape[1]),
        candidates=np.arange(cover.shape[1]),
    )
    return rng, cover, weight, model


def test_parts_are_the_sites_linked_by_shared_patterns():
    matrix = np.array([[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 1, 0, 0, 0]], dtype=float)
    model = _reduction.Reduced(sp.csr_array(matrix), np.ones(3), np.zeros(5), np.arange(5))
    labels = _towns.part_labels(model.matrix)
    assert labels[0] == labels[1]
    assert labels[2] == labels[3]
    assert len({labels[0], labels[2], labels[4]}) == 3  # site 4 shares nothing: alone


@pytest.mark.parametrize("seed", range(20))
def test_sharing_the_count_out_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    tables = [rng.integers(0, 20, int(rng.integers(1, 5))).astype(float) for _ in range(3)]
    k = int(rng.integers(0, 7))
    value, counts = _towns._allocate(tables, k)
    best = max(
        sum(table[m] for table, m in zip(tables, ms, strict=True))
        for ms in itertools.product(*(range(table.size) for table in tables))
        if sum(ms) <= k
    )
    assert value == best
    assert sum(counts) <= k
    assert sum(table[m] for table, m in zip(tables, counts, strict=True)) == best


@pytest.mark.parametrize("seed", range(20))
def test_a_concave_bound_is_never_below_the_function(seed):
    rng = np.random.default_rng(seed)
    steps = np.sort(rng.uniform(0, 10, 12))[::-1]  # falling increments: concave
    function = np.concatenate([[0.0], np.cumsum(steps)])
    counts = rng.choice(13, size=int(rng.integers(1, 5)), replace=False)
    known: dict[int, float | None] = {int(m): float(function[m]) for m in counts}
    known[int(rng.integers(0, 13))] = None  # a count whose LP failed is left out
    bound = _towns._concave_bound(known, 13)
    assert np.all(bound >= function - 1e-9)
    for m, value in known.items():
        if value is not None:
            assert bound[m] == pytest.approx(value)


def _solved_by_parts(model, k, start, *, floor=None, workers=1, deadline=np.inf):
    """:func:`_towns._by_parts` on a model's own parts, exactly, with no bound known."""
    return _towns._by_parts(
        model,
        _towns.part_labels(model.matrix),
        k,
        start=start,
        bound=np.inf,
        deadline=deadline,
        mip_rel_gap=0.0,
        floor=floor,
        workers=workers,
    )


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("seed", range(20))
def test_solving_by_parts_matches_brute_force(seed, workers):
    pytest.importorskip("highspy")
    rng, cover, weight, model = _town_instance(seed)
    k = int(rng.integers(1, 6))
    best = max(weight[cover[:, s].any(axis=1)].sum() for s in _all_sets(cover.shape[1], k))
    start, _ = _solve.greedy_sites(model, k=k, cost=None, budget=None)
    for floor, exact in ((None, True), (best - 0.5, True), (best + 0.5, False)):
        outcome = _solved_by_parts(model, k, start, floor=floor, workers=workers)
        assert outcome.status == "optimal"
        assert outcome.picked.size <= k
        value = _reduction.objective_of(model, outcome.picked)
        if exact:
            assert value == best
            assert outcome.bound == pytest.approx(best, rel=1e-6)
        else:  # nothing beats the floor, and the bound shows it
            assert value <= best <= outcome.bound <= floor * (1 + 1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_solving_by_parts_past_its_deadline_keeps_the_start_and_a_true_bound(seed):
    rng, cover, weight, model = _town_instance(seed)
    k = int(rng.integers(2, 6))
    best = max(weight[cover[:, s].any(axis=1)].sum() for s in _all_sets(cover.shape[1], k))
    start, _ = _solve.greedy_sites(model, k=k, cost=None, budget=None)
    outcome = _solved_by_parts(model, k, start, deadline=0.0)  # long past
    assert outcome.picked.size <= k
    assert _reduction.objective_of(model, outcome.picked) >= _reduction.objective_of(model, start)
    assert outcome.bound >= best - 1e-9
    assert outcome.status in ("optimal", "time_limit")
    if outcome.status == "optimal":  # greedy values alone met the bounds
        assert _reduction.objective_of(model, outcome.picked) == best


@pytest.mark.parametrize("seed", range(20))
def test_the_upper_hull_is_the_least_concave_function_above(seed):
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.uniform(0, 10, int(rng.integers(1, 12))))
    hull = _towns._upper_hull(values)
    assert np.all(hull >= values - 1e-9)
    assert np.all(np.diff(hull, 2) <= 1e-9)  # concave
    assert hull[0] == values[0] and hull[-1] == values[-1]
    # least: every value of the hull lies on a chord between two of the values
    for c in range(values.size):
        chords = [
            values[a] + (values[b] - values[a]) * (c - a) / (b - a)
            for a in range(c + 1)
            for b in range(c, values.size)
            if a < b
        ]
        assert hull[c] == pytest.approx(max(chords, default=values[c]))
    steps = np.sort(rng.uniform(0, 10, 8))[::-1]
    concave = np.concatenate([[0.0], np.cumsum(steps)])
    assert np.allclose(_towns._upper_hull(concave), concave)


@pytest.mark.parametrize("seed", range(20))
def test_a_part_searched_with_its_count_free_matches_brute_force(seed):
    pytest.importorskip("highspy")
    rng, cover, weight, model = _town_instance(seed, n_towns=1, n_points=14, n_sites=7)
    k = int(rng.integers(2, 8))
    n = cover.shape[1]
    value = [
        max(weight[cover[:, s].any(axis=1)].sum() for s in _all_sets(n, min(m, n)))
        for m in range(k + 1)
    ]
    # what the other parts give with c sites: known (low) and a bound (high); not concave
    low = np.concatenate([[0.0], np.cumsum(rng.integers(0, 12, k))]).astype(float)
    exact = seed % 2 == 0
    high = low if exact else low + rng.integers(0, 4, k + 1)
    first = int(rng.integers(0, k))
    last = int(rng.integers(first, k + 1))
    sites, theirs, bound = _towns._free_search(
        model,
        k,
        low=low,
        high=high,
        counts=(first, last),
        known=None,
        floor=-np.inf,
        deadline=np.inf,
        mip_rel_gap=0.0,
        stop=None,
    )
    assert first <= theirs <= last
    assert sites.size <= k - theirs
    got = _reduction.objective_of(model, sites) + low[theirs]
    best_low = max(value[k - c] + low[c] for c in range(first, last + 1))
    best_high = max(value[k - c] + high[c] for c in range(first, last + 1))
    assert bound >= best_high - 1e-6
    if exact and got < best_low - 1e-6:
        # low meets high but its hull may rise above it where low is not concave: the search
        # then cannot tell, and its bound says so
        assert bound > got + 1e-6
    if exact and np.allclose(_towns._upper_hull(low[first : last + 1]), low[first : last + 1]):
        assert got == best_low
        assert bound == pytest.approx(best_low, rel=1e-6)


def _multi_town(seed):
    """Two to four towns of 150 points and 10 to 40 sites, a count, and one MILP's optimum."""
    rng = np.random.default_rng(seed)
    towns = []
    for _ in range(int(rng.integers(2, 5))):
        points = rng.uniform(0, 10, (150, 2))
        sites = rng.uniform(0, 10, (int(rng.integers(10, 40)), 2))
        towns.append(np.linalg.norm(points[:, None] - sites[None], axis=2) < rng.uniform(1.5, 3))
    cover = sp.block_diag(towns).toarray().astype(bool)
    cover = cover[cover.any(axis=1)]
    weight = rng.integers(1, 20, cover.shape[0]).astype(float)
    k = int(rng.integers(3, 20))
    m, n = cover.shape
    model = _reduction.Reduced(sp.csr_array(cover.astype(float)), weight, np.zeros(n), np.arange(n))
    link = sp.hstack([-sp.csr_array(cover.astype(float)), sp.identity(m)], format="csr")
    count = np.concatenate([np.ones(n), np.zeros(m)])[None, :]
    whole = milp(
        -np.concatenate([np.zeros(n), weight]),
        constraints=[LinearConstraint(link, -np.inf, 0), LinearConstraint(count, -np.inf, k)],
        integrality=np.concatenate([np.ones(n), np.zeros(m)]),
        bounds=(0, 1),
    )
    return model, k, -whole.fun


def test_solving_by_parts_with_the_largest_count_free_matches_one_milp(monkeypatch):
    pytest.importorskip("highspy")
    free = _towns._free_search
    seen = []
    monkeypatch.setattr(_towns, "_free_search", lambda *a, **kw: seen.append(1) or free(*a, **kw))
    used = 0
    for seed in range(12):
        model, k, best = _multi_town(seed)
        start, _ = _solve.greedy_sites(model, k=k, cost=None, budget=None)
        before = len(seen)
        for workers in (1, 2):
            outcome = _solved_by_parts(model, k, start, workers=workers)
            value = _reduction.objective_of(model, outcome.picked)
            assert outcome.status == "optimal"
            assert outcome.picked.size <= k
            assert value == pytest.approx(best)
            assert outcome.bound == pytest.approx(value, rel=1e-6)
        used += len(seen) > before
    # most of these instances need the exact search on their largest town, with the count free
    assert used >= 3


@pytest.mark.parametrize("seed", range(10))
def test_set_covering_town_by_town_matches_one_milp(seed, monkeypatch):
    _, cover, _, _ = _town_instance(seed, n_towns=3, n_points=30, n_sites=12)
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


def test_maximal_covering_on_towns_shares_the_sites_out_after_a_restart(monkeypatch, caplog):
    instances = []
    for seed in range(6):
        _, cover, weight, _ = _town_instance(seed, n_towns=4, n_points=40, n_sites=10)
        instances.append((cover, weight, siting.maximal_covering(cover, weight, 6)))
    assert _weak_start_runs_saying(monkeypatch, caplog, instances, 6, "parts:") >= 3


# ---------------------------------------------------------------------------------------------
# Reduced-cost fixing never cuts off an optimum.


@pytest.mark.parametrize("seed", range(30))
def test_the_lagrangian_bound_is_never_below_the_lp_and_comes_near_it(seed):
    rng, cover, weight, _ = _random(seed, n_demand=30, n_sites=10)
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


def _all_sets(n, k=None):
    top = n if k is None else k
    return (list(sites) for r in range(top + 1) for sites in itertools.combinations(range(n), r))


@pytest.mark.parametrize("seed", range(40))
def test_reduced_cost_fixing_keeps_every_optimum(seed):
    pytest.importorskip("highspy")
    rng, cover, weight, _ = _random(seed, n_demand=16, n_sites=8)
    k = int(rng.integers(1, 4))
    model = _reduction.Reduced(
        matrix=sp.csr_array(cover.astype(float)),
        weight=weight,
        own=np.zeros(cover.shape[1]),
        candidates=np.arange(cover.shape[1]),
    )
    c, constraints, upper, _ = _solve.coverage_program(model, np.ones(cover.shape[1]), float(k))
    relaxed = _highs.relaxation(c, constraints, upper, deadline=np.inf, maximize=True)
    values = {tuple(s): weight[cover[:, s].any(axis=1)].sum() for s in _all_sets(8, k)}
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
    covers = [s for s in _all_sets(8) if cover[need][:, s].any(axis=1).all()]
    fewest = min(len(s) for s in covers)
    zero, one = _highs.fixings(relaxed, 8, float(fewest), maximize=False)
    for sites in covers:
        if len(sites) == fewest:
            assert not set(sites) & set(zero.tolist())
            assert set(one.tolist()) <= set(sites)


def test_fixing_proves_a_set_cover_optimal_when_nothing_better_survives(monkeypatch):
    # the MILP on the fixed model finds nothing strictly better: the heuristic is optimal
    def infeasible(c, constraints, upper, integrality, **_):
        return _highs._Run(None, None, None, optimal=False, timed_out=False, infeasible=True)

    monkeypatch.setattr(_solve, "solve_highs", infeasible)
    monkeypatch.setattr(_set_cover, "_greedy_set_cover", lambda matrix: np.arange(matrix.shape[1]))
    _, cover, _, _ = _random(3, n_demand=30, n_sites=8)
    solution = siting.set_covering(cover)
    assert solution.status == "optimal"
    assert solution.gap == 0


def test_too_large_for_the_milp_uses_greedy():
    solution = siting.maximal_covering(HAND, HAND_WEIGHT, 2, max_variables=1)
    assert solution.method == "greedy"
    assert solution.status == "heuristic"
    assert solution.objective == 13.0
    assert solution.gap == pytest.approx(2 / 15, rel=1e-5)
    cover_all = siting.set_covering(SET_COVER, max_variables=1)
    assert cover_all.objective == 2.0  # the reductions alone solve it


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


# ---------------------------------------------------------------------------------------------
# Inputs.


def test_inputs_are_not_mutated_and_results_are_frozen():
    cover = sp.csr_matrix(HAND.astype(float))
    before = cover.copy()
    weight = HAND_WEIGHT.copy()
    covered = np.zeros(6, dtype=bool)
    solution = siting.maximal_covering(cover, weight, 2, covered=covered)
    assert (cover != before).nnz == 0
    assert cover.dtype == np.float64
    assert weight.tolist() == HAND_WEIGHT.tolist()
    assert not covered.any()
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.objective = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        solution.chosen[0] = 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": [1.0, 2.0]}, r"weight has shape \(2,\); expected \(6,\)"),
        ({"weight": [1, 1, -2, 1, 1, 1]}, r"weight\[2\] \(demand point 2\) is -2\.0"),
        ({"weight": [1, 1, 1, np.inf, 1, 1]}, r"weight\[3\] .* is inf; expected a finite"),
        ({"k": -1}, r"k is -1; expected a whole number"),
        ({"k": 2.5}, r"k is 2\.5; expected a whole number"),
        ({"k": True}, r"k is True; expected a whole number"),
        ({"covered": [True, False]}, r"covered has shape \(2,\); expected \(6,\)"),
        ({"cover": np.full((6, 4), 2)}, r"cover\[0, 0\] is 2; expected booleans"),
        ({"cover": np.ones(6)}, r"cover has 1 dimension"),
        ({"time_limit_s": 0}, r"time_limit_s is 0; expected a number of seconds > 0"),
        ({"mip_rel_gap": 1.5}, r"mip_rel_gap is 1\.5"),
    ],
)
def test_bad_inputs_say_what_was_found_and_expected(kwargs, message):
    args = {"cover": HAND, "weight": HAND_WEIGHT, "k": 2} | kwargs
    with pytest.raises(InputError, match=message):
        siting.maximal_covering(args.pop("cover"), args.pop("weight"), args.pop("k"), **args)


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
