"""Budgeted covering over several years: each site paid for out of one year's budget."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from carecircle.siting import models as siting

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
