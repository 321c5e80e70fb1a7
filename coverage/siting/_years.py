"""Budgeted covering over several years: each site is paid for out of one year's budget.

A budget spread over ``years`` equal yearly budgets cannot pay for every set whose total fits:
at 300,000 yuan a year, sites of 200,000 and 150,000 and 150,000 yuan fit the 600,000 of two
years but no year holds two of them with the 200,000 one. :func:`in_years` takes the best set
for the whole budget (a relaxation: its bound holds for the yearly problem too) and looks for
a year for each of its sites (:func:`_pack`). When there is one, that set is also the best for
the yearly budgets. When there is none, :func:`by_year` solves the model with one budget per
year exactly, with HiGHS's MIP solver, started from the sites that fit (:func:`_yearly`).

That model comes in two forms. Over a few prices (the subsidies of a profile's tiers, say), a
year is described by how many sites of each price it builds, and the model chooses how many
years follow each of the fullest such patterns (:func:`_patterns`, :func:`_pattern_program`).
The years are then not told apart, so the search does not go through the same plan again with
its years swapped, and the LP relaxation knows what one year can hold. Over many prices each
site is given its year (:func:`_yearly_program`). When a year pays for only a few sites,
:func:`prefer_at_once` has the pattern model solved at once, without the whole budget first.

The sites come back ordered year by year and, within a year, by marginal gain given the
earlier years (:func:`_order_in_years`), so the gains add up to the coverage after each year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint

from ._highs import solve_highs
from ._outcome import GREEDY, HEURISTIC, MILP, OPTIMAL, TIME_LIMIT
from ._reduction import Reduced, objective_of, reduce_model
from ._solve import greedy_sites, order_by_gain

logger = logging.getLogger(__name__)

_MONEY_TOL = 1e-9
"""Relative slack on a year's spending, for sums of costs in floating point."""

_MAX_PATTERNS = 1_000
"""Most ways of filling a year (counts of sites at each price) for which the yearly model is
written over them (:func:`_pattern_program`); above it, over each site's year."""

_MAX_PRICES = 12
"""Most distinct prices the ways of filling a year are counted for."""

_FEW_A_YEAR = 8
"""Most sites at the lowest price a year may pay for for the yearly model to be solved at once
(:func:`prefer_at_once`). On the benchmark's 20,000 × 2,000 instances with three prices, yearly
budgets buying 2–6 such sites were proved in 2–24 s at once, against 5 s to more than 30 s
with the whole budget first; at 10 and 13 a year the whole budget first was the faster."""
"""Most distinct prices the ways of filling a year are counted for."""


@dataclass(frozen=True)
class _Phased:
    """Sites (candidate indices) ordered year by year, their gains and years, and the proof."""

    chosen: np.ndarray
    gains: np.ndarray
    year: np.ndarray
    bound: float
    status: str
    method: str


def in_years(
    matrix: sp.csr_array,
    weight: np.ndarray,
    mask: np.ndarray,
    cost: np.ndarray,
    *,
    chosen: np.ndarray,
    bound: float,
    status: str,
    method: str,
    yearly: float,
    years: int,
    deadline: float,
    mip_rel_gap: float,
    max_variables: int,
) -> _Phased:
    """The best sites for ``years`` budgets of ``yearly`` yuan, from the best for their sum.

    ``chosen``, ``bound``, ``status`` and ``method`` are the solution of budgeted covering for
    the whole budget over the candidates no dearer than ``yearly`` (columns of ``matrix``, with
    ``cost``). When its sites fit the years it is kept as it is; otherwise the yearly model is
    solved (:func:`by_year`).
    """
    chosen = np.asarray(chosen, dtype=np.int64)
    year = _pack(cost[chosen], yearly, years, deadline=deadline)
    if year is None:
        return by_year(
            matrix,
            weight,
            mask,
            cost,
            first_choice=chosen,
            bound=bound,
            yearly=yearly,
            years=years,
            deadline=deadline,
            mip_rel_gap=mip_rel_gap,
            max_variables=max_variables,
        )
    left, left_weight = _left(matrix, weight, mask)
    chosen, gains, year = _order_in_years(left, left_weight, chosen, year, years)
    return _Phased(chosen, gains, year, bound, status, method)


def by_year(
    matrix: sp.csr_array,
    weight: np.ndarray,
    mask: np.ndarray,
    cost: np.ndarray,
    *,
    first_choice: np.ndarray | None,
    bound: float,
    yearly: float,
    years: int,
    deadline: float,
    mip_rel_gap: float,
    max_variables: int,
) -> _Phased:
    """The model with one budget per year solved (:func:`_yearly`), first years first.

    Arguments as :func:`_yearly`. The model's years are interchangeable, so its sites are
    shared out again in their order of gain, the first years taking the sites that bring in
    the most; with no time left for that, its own years are kept, the empty ones dropped.
    """
    chosen, year, bound, status, method = _yearly(
        matrix,
        weight,
        mask,
        cost,
        first_choice=first_choice,
        bound=bound,
        yearly=yearly,
        years=years,
        deadline=deadline,
        mip_rel_gap=mip_rel_gap,
        max_variables=max_variables,
    )
    left, left_weight = _left(matrix, weight, mask)
    ordered, _ = order_by_gain(left, left_weight, chosen)
    again = _pack(cost[ordered], yearly, years, deadline=deadline)
    if again is not None:
        chosen, year = ordered, again
    else:
        year = np.unique(year, return_inverse=True)[1].astype(np.int64)
    chosen, gains, year = _order_in_years(left, left_weight, chosen, year, years)
    return _Phased(chosen, gains, year, bound, status, method)


def _model(matrix: sp.csr_array, weight: np.ndarray, mask: np.ndarray, cost: np.ndarray) -> Reduced:
    """The reduced model of the points still to cover that some site reaches."""
    rows = np.flatnonzero(~mask & (weight > 0) & (np.diff(matrix.indptr) > 0))
    return reduce_model(sp.csr_array(matrix[rows]), weight[rows], cost)


def _left(
    matrix: sp.csr_array, weight: np.ndarray, mask: np.ndarray
) -> tuple[sp.csr_array, np.ndarray]:
    """The rows of the points still to cover, and their weights."""
    rows = np.flatnonzero(~mask & (weight > 0))
    return sp.csr_array(matrix[rows]), weight[rows]


def _pack(cost: np.ndarray, yearly: float, years: int, *, deadline: float) -> np.ndarray | None:
    """A year (0 for the first) for each site so that no year spends more than ``yearly``.

    The sites are in their order of choice, and earlier years take earlier sites where they
    can: the sites are placed in turn in the first year with room (first fit), and only when
    that leaves one out is the assignment solved exactly as a bin-packing MILP that keeps the
    order as far as it can (earlier sites weigh more for earlier years). None when no
    assignment exists or none was found by ``deadline``.
    """
    first = _first_fit(cost, yearly, years)
    if (first >= 0).all():
        return first
    room = yearly * (1.0 + _MONEY_TOL)
    if float(cost.sum()) > years * room:
        return None
    n = cost.size
    rank = np.arange(n, 0, -1, dtype=np.float64)  # the first site weighs the most
    c = (rank[:, None] * np.arange(years, 0, -1, dtype=np.float64)[None, :]).ravel()
    once = sp.kron(sp.eye_array(n), np.ones((1, years)), format="csr")
    spend = sp.kron(cost[None, :], sp.eye_array(years), format="csr")
    run = solve_highs(
        c,
        [LinearConstraint(once, 1.0, 1.0), LinearConstraint(spend, -np.inf, room)],
        np.ones(n * years),
        np.ones(n * years),
        deadline=deadline,
        mip_rel_gap=0.0,
        maximize=True,
    )
    if run.x is None:
        return None
    return np.argmax(run.x.reshape(n, years), axis=1).astype(np.int64)


def _first_fit(cost: np.ndarray, yearly: float, years: int) -> np.ndarray:
    """Each site in turn in the first year with room for it; -1 where no year has room."""
    room = yearly * (1.0 + _MONEY_TOL)
    spent = np.zeros(years)
    year = np.full(cost.size, -1, dtype=np.int64)
    for i, price in enumerate(cost):
        fits = np.flatnonzero(spent + price <= room)
        if fits.size:
            year[i] = int(fits[0])
            spent[year[i]] += price
    return year


def _yearly(
    matrix: sp.csr_array,
    weight: np.ndarray,
    mask: np.ndarray,
    cost: np.ndarray,
    *,
    first_choice: np.ndarray | None,
    bound: float,
    yearly: float,
    years: int,
    deadline: float,
    mip_rel_gap: float,
    max_variables: int,
) -> tuple[np.ndarray, np.ndarray, float, str, str]:
    """Sites, their years, bound, status and method of the model with one budget per year.

    Written over the ways of filling a year (:func:`_pattern_program`) when there are at most
    :data:`_MAX_PATTERNS` of them, otherwise over each site's year (:func:`_yearly_program`),
    and solved with HiGHS until ``deadline``. It starts from the sites of ``first_choice``
    (candidate indices, the whole budget's best) that fit the years in their order (first
    fit), or, when None, from greedy's sites for the whole budget that do; those are also the
    answer when the model has more than ``max_variables`` variables or HiGHS finds nothing
    better. ``bound`` (the whole budget's; ``math.inf`` when not known) stays a bound, and so
    does greedy's.
    """
    model = _model(matrix, weight, mask, cost)
    n, m = model.own.size, model.weight.size
    own_cost = cost[model.candidates]
    start_method = MILP
    if first_choice is None:
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, 0.0, OPTIMAL, MILP
        by_gain, greedy_bound = greedy_sites(model, k=None, cost=own_cost, budget=yearly * years)
        first_choice, bound = model.candidates[by_gain], min(bound, greedy_bound)
        start_method = GREEDY
    year = _first_fit(cost[first_choice], yearly, years)
    fits = year >= 0
    start_sites, start_years = first_choice[fits], year[fits]
    position = np.full(matrix.shape[1], -1, dtype=np.int64)
    position[model.candidates] = np.arange(n)
    # the whole budget was solved on the same reductions, so its sites are all kept here; one
    # that were not would only be left out of the start, which stays feasible
    placed = position[start_sites] >= 0
    picked, picked_years = position[start_sites[placed]], start_years[placed]
    start_value = objective_of(model, picked)
    prices = _prices(own_cost)
    patterns = _patterns(prices, yearly)
    size = n * (years + 1) + m if patterns is None else n + m + patterns.shape[0]
    if size > max_variables:
        logger.warning(
            "yearly model has %d variables (max_variables=%d); the sites that fit kept",
            size,
            max_variables,
        )
        return start_sites, start_years, bound, HEURISTIC, start_method
    start: np.ndarray | None
    if patterns is None:
        c, constraints, upper, integrality = _yearly_program(model, own_cost, yearly, years)
        start = np.zeros(c.size)
        start[n + m + picked * years + picked_years] = 1.0
    else:
        c, constraints, upper, integrality = _pattern_program(
            model, own_cost, prices, patterns, years
        )
        start = np.zeros(c.size)
        start[n + m :] = _pattern_use(own_cost[picked], picked_years, prices, patterns)
    start[picked] = 1.0
    start[n : n + m] = np.minimum(model.matrix[:, picked].sum(axis=1), 1.0)
    run = solve_highs(
        c,
        constraints,
        upper,
        integrality,
        deadline=deadline,
        mip_rel_gap=mip_rel_gap,
        maximize=True,
        start=start,
    )
    proved = min(bound, run.bound) if run.bound is not None else bound
    status = OPTIMAL if run.optimal else TIME_LIMIT
    if run.x is None or run.value is None or run.value <= start_value:
        logger.debug(
            "yearly model: the sites that fit (%.8g) kept, bound %.8g", start_value, proved
        )
        return start_sites, start_years, proved, status, MILP
    x = run.x
    built = np.flatnonzero(x[:n] > 0.5)
    if patterns is None:
        when = np.argmax(x[n + m :].reshape(n, years)[built], axis=1).astype(np.int64)
    else:
        when = _pattern_years(own_cost[built], prices, patterns, x[n + m :])
    return model.candidates[built], when, proved, status, MILP


def prefer_at_once(
    matrix: sp.csr_array,
    weight: np.ndarray,
    mask: np.ndarray,
    cost: np.ndarray,
    *,
    yearly: float,
    years: int,
) -> bool:
    """Whether to solve the yearly model at once, without the whole budget first.

    So when a year pays for at most :data:`_FEW_A_YEAR` sites at the lowest price, the ways
    of filling a year are few enough to write the model over them, and greedy's sites for the
    whole budget (by gain per yuan) do not fit the years. The best set for the whole budget
    then seldom fits either, and what the years leave unspent is a large share of the money.
    Otherwise the search for the whole budget usually finds a set that fits, faster.
    """
    prices = _prices(cost)
    if prices.size == 0 or affordable(yearly, float(prices[0])) > _FEW_A_YEAR:
        return False
    if _patterns(prices, yearly) is None:
        return False
    model = _model(matrix, weight, mask, cost)
    picked, _ = greedy_sites(model, k=None, cost=cost[model.candidates], budget=yearly * years)
    return bool(np.any(_first_fit(cost[model.candidates[picked]], yearly, years) < 0))


def _prices(cost: np.ndarray) -> np.ndarray:
    """The distinct prices above zero, lowest first (a free site fits in any year)."""
    return np.unique(cost[cost > 0])


def _patterns(prices: np.ndarray, yearly: float) -> np.ndarray | None:
    """Every way of filling one year: how many sites of each price, with room for no more.

    Rows are the patterns, columns the ``prices`` (distinct, above zero, lowest first); every
    set of sites one year's budget pays for fits in one of them. None when there are no
    prices, more than :data:`_MAX_PRICES` of them or more than :data:`_MAX_PATTERNS` patterns.
    """
    if not 0 < prices.size <= _MAX_PRICES:
        return None
    found: list[tuple[int, ...]] = []

    def fill(i: int, left: float, dearer: tuple[int, ...]) -> bool:
        """The counts of prices ``i`` down to 0 in ``left`` yuan; False once too many."""
        most = affordable(left, float(prices[i]))
        if i == 0:  # the cheapest takes what is left: no row has room for another site
            found.append((most, *dearer))
            return len(found) <= _MAX_PATTERNS
        return all(
            fill(i - 1, left - taken * float(prices[i]), (taken, *dearer))
            for taken in range(most, -1, -1)
        )

    if not fill(prices.size - 1, yearly * (1.0 + _MONEY_TOL), ()):
        return None
    return np.asarray(found, dtype=np.int64)


def affordable(budget: float, price: float) -> int:
    """How many sites at ``price`` (> 0) yuan a ``budget`` pays for, never more."""
    count = int(budget // price)
    while (count + 1) * price <= budget:
        count += 1
    while count > 0 and count * price > budget:
        count -= 1
    return count


def _pattern_program(
    model: Reduced, cost: np.ndarray, prices: np.ndarray, patterns: np.ndarray, years: int
) -> tuple[np.ndarray, list[LinearConstraint], np.ndarray, np.ndarray]:
    """Maximal covering with one budget per year, over the ways of filling a year.

    Variables: ``x`` (site built), ``z`` (pattern of demand reached, continuous) and ``w``
    (how many years follow each row of ``patterns``, a whole number, at ``n + m + q``). ``max
    own @ x + weight @ z`` subject to ``z_i ≤ Σ x_j`` over the sites reaching demand pattern
    ``i``, ``Σ_q w_q ≤ years`` and, for each price, the sites built at that price ``≤ Σ_q
    patterns[q, price] w_q``: each year holds at most what one of its patterns holds. Free
    sites are not counted.
    """
    n, m, q = model.own.size, model.weight.size, patterns.shape[0]
    paid = np.flatnonzero(cost > 0)
    member = sp.csr_array(
        (np.ones(paid.size), (np.searchsorted(prices, cost[paid]), paid)),
        shape=(prices.size, n),
    )
    link = sp.hstack([-model.matrix, sp.eye_array(m, format="csr"), sp.csr_array((m, q))])
    held = sp.hstack([member, sp.csr_array((prices.size, m)), sp.csr_array(-patterns.T)])
    count = sp.hstack([sp.csr_array((1, n + m)), sp.csr_array(np.ones((1, q)))])
    constraints = [
        LinearConstraint(sp.csr_array(link), -np.inf, 0.0),
        LinearConstraint(sp.csr_array(held, dtype=np.float64), -np.inf, 0.0),
        LinearConstraint(sp.csr_array(count), -np.inf, float(years)),
    ]
    c = np.concatenate([model.own, model.weight, np.zeros(q)])
    upper = np.concatenate([np.ones(n + m), np.full(q, float(years))])
    integrality = np.concatenate([np.ones(n), np.zeros(m), np.ones(q)])
    return c, constraints, upper, integrality


def _held(cost: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """How many of the sites (their ``cost``) are at each of the ``prices``."""
    paid = cost[cost > 0]
    return np.bincount(np.searchsorted(prices, paid), minlength=prices.size)


def _pattern_use(
    cost: np.ndarray, year: np.ndarray, prices: np.ndarray, patterns: np.ndarray
) -> np.ndarray:
    """How many years follow each pattern, for sites (their ``cost``) given their ``year``.

    Each year that builds anything takes the first pattern holding its sites.
    """
    use = np.zeros(patterns.shape[0])
    for t in np.unique(year):
        holds = np.all(patterns >= _held(cost[year == t], prices), axis=1)
        use[np.argmax(holds)] += 1.0
    return use


def _pattern_years(
    cost: np.ndarray, prices: np.ndarray, patterns: np.ndarray, use: np.ndarray
) -> np.ndarray:
    """A year for each site (its ``cost``) from how many years follow each pattern (``use``).

    The years are the patterns in turn, each repeated ``use`` times; the sites at each price
    take the places that price has in them, in order. Free sites go to the first year.
    """
    rows = np.repeat(np.arange(patterns.shape[0]), np.rint(use).astype(np.int64))
    year = np.zeros(cost.size, dtype=np.int64)
    at = np.searchsorted(prices, cost)
    for i in range(prices.size):
        these = np.flatnonzero((cost > 0) & (at == i))
        places = np.repeat(np.arange(rows.size), patterns[rows, i])
        year[these] = places[: these.size]
    return year


def _yearly_program(
    model: Reduced, cost: np.ndarray, yearly: float, years: int
) -> tuple[np.ndarray, list[LinearConstraint], np.ndarray, np.ndarray]:
    """Maximal covering with one budget per year, on a reduced model.

    Variables: ``x`` (site built), ``z`` (pattern reached, continuous) and ``u`` (site built in
    year ``t``, at ``n + m + j * years + t``). ``max own @ x + weight @ z`` subject to ``z_i ≤
    Σ x_j`` over the sites reaching pattern ``i``, ``x_j = Σ_t u_jt`` and, for each year,
    ``Σ_j cost_j u_jt ≤ yearly``.
    """
    n, m = model.own.size, model.weight.size
    identity_m = sp.eye_array(m, format="csr")
    link = sp.hstack([-model.matrix, identity_m, sp.csr_array((m, n * years))], format="csr")
    assign = sp.hstack(
        [
            sp.eye_array(n, format="csr"),
            sp.csr_array((n, m)),
            -sp.kron(sp.eye_array(n), np.ones((1, years)), format="csr"),
        ],
        format="csr",
    )
    spend = sp.hstack(
        [sp.csr_array((years, n + m)), sp.kron(cost[None, :], sp.eye_array(years))], format="csr"
    )
    constraints = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(assign, 0.0, 0.0),
        LinearConstraint(spend, -np.inf, yearly * (1.0 + _MONEY_TOL)),
    ]
    c = np.concatenate([model.own, model.weight, np.zeros(n * years)])
    integrality = np.concatenate([np.ones(n), np.zeros(m), np.ones(n * years)])
    return c, constraints, np.ones(c.size), integrality


def _order_in_years(
    matrix: sp.csr_array, weight: np.ndarray, chosen: np.ndarray, year: np.ndarray, years: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sites year by year, each year's in order of marginal gain given the years before.

    ``matrix`` and ``weight`` hold the points not yet covered. Sites that add nothing at their
    turn are left out, as :func:`carecircle.siting._solve.order_by_gain` does.
    """
    left = np.ones(matrix.shape[0], dtype=bool)
    csc = sp.csc_array(matrix)
    order: list[np.ndarray] = []
    gains: list[np.ndarray] = []
    when: list[np.ndarray] = []
    for t in range(years):
        these = chosen[year == t]
        rows = np.flatnonzero(left)
        ordered, gained = order_by_gain(sp.csr_array(matrix[rows]), weight[rows], these)
        order.append(ordered)
        gains.append(gained)
        when.append(np.full(ordered.size, t, dtype=np.int64))
        if ordered.size:
            left[_reached(csc, ordered)] = False
    return np.concatenate(order), np.concatenate(gains), np.concatenate(when)


def _reached(csc: sp.csc_array, sites: np.ndarray) -> np.ndarray:
    """Rows any of ``sites`` reaches."""
    return np.unique(csc[:, sites].indices)
