"""Budgeted covering over several years: each site is paid for out of one year's budget.

A budget spread over ``years`` equal yearly budgets cannot pay for every set whose total fits:
at 300,000 yuan a year, sites of 200,000 and 150,000 and 150,000 yuan fit the 600,000 of two
years but no year holds two of them with the 200,000 one. :func:`_in_years` takes the best set
for the whole budget (a relaxation: its bound holds for the yearly problem too) and looks for
a year for each of its sites (:func:`_pack`). When there is one, that set is also the best for
the yearly budgets. When there is none, :func:`_yearly_program` solves the model with one
budget per year exactly, with HiGHS's MIP solver, started from the sites that fit.

The sites come back ordered year by year and, within a year, by marginal gain given the
earlier years (:func:`_order_in_years`), so the gains add up to the coverage after each year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint

from ._highs import _highs
from ._outcome import HEURISTIC, MILP, OPTIMAL, TIME_LIMIT
from ._reduction import _reduce, _Reduced, _value
from ._solve import _order_by_gain

logger = logging.getLogger(__name__)

_MONEY_TOL = 1e-9
"""Relative slack on a year's spending, for sums of costs in floating point."""


@dataclass(frozen=True)
class _Phased:
    """Sites (candidate indices) ordered year by year, their gains and years, and the proof."""

    chosen: np.ndarray
    gains: np.ndarray
    year: np.ndarray
    bound: float
    status: str
    method: str


def _in_years(
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
    max_variables: int,
) -> _Phased:
    """The best sites for ``years`` budgets of ``yearly`` yuan, from the best for their sum.

    ``chosen``, ``bound``, ``status`` and ``method`` are the solution of budgeted covering for
    the whole budget over the candidates no dearer than ``yearly`` (columns of ``matrix``, with
    ``cost``). When its sites fit the years it is kept as it is; otherwise the yearly model is
    solved (:func:`_yearly_program`) until ``deadline``, or, above ``max_variables``, the sites
    that fit in their order of choice are kept, as a heuristic.
    """
    rows = np.flatnonzero(~mask & (weight > 0))
    left, left_weight = sp.csr_array(matrix[rows]), weight[rows]
    chosen = np.asarray(chosen, dtype=np.int64)
    year = _pack(cost[chosen], yearly, years, deadline=deadline)
    if year is None:
        chosen, year, bound, status, method = _yearly(
            matrix,
            weight,
            mask,
            cost,
            first_choice=chosen,
            bound=bound,
            yearly=yearly,
            years=years,
            deadline=deadline,
            max_variables=max_variables,
        )
        # the yearly model's years are interchangeable: share the sites out again so that
        # the first years build the sites that bring in the most
        ordered, _ = _order_by_gain(left, left_weight, chosen)
        again = _pack(cost[ordered], yearly, years, deadline=deadline)
        if again is not None:
            chosen, year = ordered, again
        else:  # no time left: the same years, the empty ones dropped
            year = np.unique(year, return_inverse=True)[1].astype(np.int64)
    chosen, gains, year = _order_in_years(left, left_weight, chosen, year, years)
    return _Phased(chosen, gains, year, bound, status, method)


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
    run = _highs(
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
    first_choice: np.ndarray,
    bound: float,
    yearly: float,
    years: int,
    deadline: float,
    max_variables: int,
) -> tuple[np.ndarray, np.ndarray, float, str, str]:
    """Sites, their years, bound, status and method of the model with one budget per year.

    Started from the sites of ``first_choice`` that fit the years in their order (first fit),
    which are also the answer when the model has more than ``max_variables`` variables or
    HiGHS finds nothing better by ``deadline``. ``bound`` (the whole budget's) stays a bound.
    """
    year = _first_fit(cost[first_choice], yearly, years)
    fits = year >= 0
    start_sites, start_years = first_choice[fits], year[fits]
    rows = np.flatnonzero(~mask & (weight > 0) & (np.diff(matrix.indptr) > 0))
    model = _reduce(sp.csr_array(matrix[rows]), weight[rows], cost)
    n, m = model.own.size, model.weight.size
    position = np.full(matrix.shape[1], -1, dtype=np.int64)
    position[model.candidates] = np.arange(n)
    # the whole budget was solved on the same reductions, so its sites are all kept here; one
    # that were not would only be left out of the start, which stays feasible
    placed = position[start_sites] >= 0
    picked, picked_years = position[start_sites[placed]], start_years[placed]
    start_value = _value(model, picked)
    if n * (years + 1) + m > max_variables:
        logger.warning(
            "yearly model has %d variables (max_variables=%d); the sites that fit kept",
            n * (years + 1) + m,
            max_variables,
        )
        return start_sites, start_years, bound, HEURISTIC, MILP
    c, constraints, upper, integrality = _yearly_program(
        model, cost[model.candidates], yearly, years
    )
    start = np.zeros(c.size)
    start[picked] = 1.0
    start[n : n + m] = np.minimum(model.matrix[:, picked].sum(axis=1), 1.0)
    start[n + m + picked * years + picked_years] = 1.0
    run = _highs(
        c,
        constraints,
        upper,
        integrality,
        deadline=deadline,
        mip_rel_gap=0.0,
        maximize=True,
        start=start,
    )
    proved = min(bound, run.bound) if run.bound is not None else bound
    if run.x is None or run.value is None or run.value <= start_value:
        status = OPTIMAL if run.optimal else TIME_LIMIT
        logger.debug(
            "yearly model: the sites that fit (%.8g) kept, bound %.8g", start_value, proved
        )
        return start_sites, start_years, proved, status, MILP
    x = run.x
    built = np.flatnonzero(x[:n] > 0.5)
    when = np.argmax(x[n + m :].reshape(n, years)[built], axis=1).astype(np.int64)
    return (
        model.candidates[built],
        when,
        proved,
        OPTIMAL if run.optimal else TIME_LIMIT,
        MILP,
    )


def _yearly_program(
    model: _Reduced, cost: np.ndarray, yearly: float, years: int
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
    turn are left out, as :func:`carecircle._solve._order_by_gain` does.
    """
    left = np.ones(matrix.shape[0], dtype=bool)
    csc = sp.csc_array(matrix)
    order: list[np.ndarray] = []
    gains: list[np.ndarray] = []
    when: list[np.ndarray] = []
    for t in range(years):
        these = chosen[year == t]
        rows = np.flatnonzero(left)
        ordered, gained = _order_by_gain(sp.csr_array(matrix[rows]), weight[rows], these)
        order.append(ordered)
        gains.append(gained)
        when.append(np.full(ordered.size, t, dtype=np.int64))
        if ordered.size:
            left[_reached(csc, ordered)] = False
    return np.concatenate(order), np.concatenate(gains), np.concatenate(when)


def _reached(csc: sp.csc_array, sites: np.ndarray) -> np.ndarray:
    """Rows any of ``sites`` reaches."""
    return np.unique(csc[:, sites].indices)
