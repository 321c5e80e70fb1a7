"""Where to build next: covering models on a coverage matrix, solved exactly with HiGHS.

The core works on arrays. ``cover`` is a sparse boolean matrix with one row per demand point and
one column per candidate site, True where the candidate would reach the point within the
circle's minutes (built from walking times by :mod:`carecircle.siting.candidates`). ``weight`` holds
the older residents at each point. Existing facilities always stay and keep their coverage:
the points they already reach (``covered``) count for nothing new.

Four models:

- :func:`maximal_covering` (MCLP): ``k`` new sites covering the most residents not yet covered.
- :func:`set_covering` (LSCP): the fewest sites covering every point not yet covered that some
  candidate can reach; the points none can reach are listed, never an error.
- :func:`budgeted_covering`: the most residents newly covered for a budget in yuan, spent at
  once or in equal yearly budgets, each site paid for out of one of them.
- :func:`capacitated_covering`: ``k`` new sites, each serving at most its capacity, next to the
  existing facilities with their own reach and capacities.

Each is an exact mixed-integer programme solved with HiGHS under a time limit, on a reduced
model that has the same optimum (see :func:`maximal_covering`). The covering models first build
a heuristic solution (greedy; for maximal covering improved by swaps) and solve the LP
relaxation by interior point: when the heuristic meets that bound it is optimal and
branch-and-bound is skipped. Maximal and budgeted covering then run carecircle's own
branch-and-bound on HiGHS's warm simplex (:mod:`carecircle.siting._highs`), restarting once on a
smaller model when a better incumbent excludes enough sites; for a number of sites that smaller
model is solved part by part when no demand links its parts. Set covering and capacitated
covering run HiGHS's MIP solver. At the time limit the best solution found is returned with
the best bound proved; when the model has more variables than ``max_variables``, the heuristic
is returned with its gap to the LP bound. :func:`greedy_maximal_covering` is the greedy alone.

Every result is a frozen :class:`Solution` whose sites are in order of marginal gain (the
optimal set re-ordered greedily), so a plan can be phased year by year.

This module holds the public functions and :class:`Solution`; their input checks are in
:mod:`carecircle._validate`, and the work they hand on lives in private modules, each read on its
own: :mod:`carecircle.siting._reduction` (the reductions), :mod:`carecircle.siting._solve` (greedy,
swaps, the covering programme and its run through HiGHS), :mod:`carecircle.siting._towns` (the exact
search with its restart and the search by parts), :mod:`carecircle.siting._set_cover` and
:mod:`carecircle.siting._capacity` (the internals of set covering and of the capacitated model),
:mod:`carecircle.siting._years` (a budget spent in yearly budgets) and
:mod:`carecircle.siting._outcome` (the statuses and methods, exported here).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import LinearConstraint

from .._validate import as_number
from ..errors import InputError
from ._capacity import Flow, flow_constraints, lazy_greedy, max_served
from ._checks import as_count, as_cover, as_mask, as_values, solver_options
from ._highs import relaxation, solve_highs
from ._outcome import GREEDY, HEURISTIC, MILP, OPTIMAL, PROOF_TOL, TIME_LIMIT, Preference
from ._reduction import objective_of, reduce_model, row_groups
from ._set_cover import set_cover_part, set_cover_reduce
from ._solve import greedy_sites, lagrangian_bound, order_by_gain, swap_search
from ._towns import exact_search, label_groups, part_labels
from ._years import affordable, by_year, in_years, prefer_at_once

logger = logging.getLogger(__name__)

__all__ = [
    "GREEDY",
    "HEURISTIC",
    "MILP",
    "OPTIMAL",
    "TIME_LIMIT",
    "Solution",
    "budgeted_covering",
    "capacitated_covering",
    "greedy_maximal_covering",
    "maximal_covering",
    "set_covering",
]

DEFAULT_MAX_VARIABLES = 5_000_000
"""Largest model (binary plus continuous variables, after reduction) handed to the MILP."""

_TINY = 1e-12
"""Denominator floor for the relative gap."""

_WORKERS = min(os.cpu_count() or 1, 4)
"""Most exact searches on parts of a model run at a time (threads; one core each)."""

_WHOLE_BUDGET_SHARE = 0.5
"""Share of the time limit for the whole budget when yearly budgets meet differing prices; the
rest is left for the model with one budget per year, should its sites not fit the years."""

_LAGRANGIAN_SHARE = 0.05
"""Most of the time limit the Lagrangian bound may take before the LP."""


@dataclass(frozen=True)
class Solution:
    """Sites proposed by a covering model, in the order to build them.

    Attributes
    ----------
    chosen : numpy.ndarray
        Candidate indices (columns of ``cover``), int64, in order of marginal gain: each site
        adds the most given the ones before it, so the first ``n`` are a sensible phase ``n``.
        Sites that would add nothing are left out, so there can be fewer than ``k``.
    gains : numpy.ndarray
        What each chosen site adds in that order, float64: newly covered weight (older
        residents) for the covering models, newly served weight for the capacitated model,
        newly covered weight (or points, when no weight is given) for set covering.
    objective : float
        Newly covered (or, capacitated, newly served) weight in residents; for set covering the
        number of sites.
    bound : float
        The best bound on the optimum known: an upper bound for the maximising models, a lower
        bound for set covering (HiGHS's dual bound, or the LP relaxation's optimum).
    gap : float
        ``|bound - objective| / max(|bound|, 1e-12)``; when optimal, 0 or within the tolerance
        of ``status``. For a maximising model
        the optimum is at most ``objective / (1 - gap)``, so the solution is within ``gap`` of
        it (relative to the bound); greedy's gap is never smaller than its true gap.
    status : str
        ``"optimal"`` (proved: ``objective`` meets ``bound`` within ``mip_rel_gap``, which is 0
        by default, or a relative 1e-6; this is checked on every result), ``"time_limit"``
        (not proved: HiGHS stopped at the limit, or its claim of optimality fell short of the
        bound; the best solution found is returned) or ``"heuristic"``
        (greedy without a MILP: asked for, or the model exceeds ``max_variables``, and the bound
        does not prove it optimal).
    method : str
        ``"milp"`` or ``"greedy"``: where the sites come from.
    uncoverable : numpy.ndarray
        Demand indices (rows of ``cover``), int64, not covered now and reachable by no candidate
        (capacitated: by no candidate and no existing facility), whatever their weight.
    runtime_s : float
        Wall-clock seconds spent, validation and reductions included.
    assignment : scipy.sparse.csr_array or None
        Capacitated model only: shape ``(n_demand, n_existing + len(chosen))``, the share
        (0 to 1) of each point's residents served by each existing facility (first columns, in
        their order) and each chosen site (in ``chosen`` order); rows sum to at most 1. Residents
        served are ``assignment.multiply(weight[:, None])``. None for the other models.
    year : numpy.ndarray or None
        Budgeted covering over several years only: the year each chosen site is paid for in
        (0 for the first), int64, in ``chosen`` order, which then runs year by year. None for
        the other models.
    preference : Preference or None
        Set when a second objective chose among the solutions as good on this one (the sites
        beside a health centre, :func:`carecircle.siting.propose`): how many chosen sites are
        preferred, the bound on that number and what was proved. None otherwise.

    """

    chosen: np.ndarray
    gains: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    method: str
    uncoverable: np.ndarray
    runtime_s: float
    assignment: sp.csr_array | None = None
    year: np.ndarray | None = None
    preference: Preference | None = None


def _frozen(array: Any, dtype: npt.DTypeLike) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out


def _gap(objective: float, bound: float) -> float:
    return abs(bound - objective) / max(abs(bound), _TINY)


_ABS_GAP = 1e-6
"""Absolute difference between objective and bound at which HiGHS stops as optimal (its
``mip_abs_gap``, as :mod:`carecircle.siting._highs` sets it)."""


def _checked(
    status: str, objective: float, bound: float, *, mip_rel_gap: float, proof_tol: float
) -> str:
    """The status a solution may claim, given its objective and bound.

    ``"optimal"`` only when the objective meets the bound within the solver's tolerance: a
    relative gap within ``mip_rel_gap`` or ``proof_tol``, or an absolute one within
    :data:`_ABS_GAP`. A claim of optimality short of that is reported as ``"time_limit"``
    (not proved; the gap says how far off), with a warning. A heuristic whose gap is within
    ``proof_tol`` is proved optimal.
    """
    gap = _gap(objective, bound)
    if status == HEURISTIC and gap <= proof_tol:
        return OPTIMAL
    met = gap <= max(mip_rel_gap, proof_tol) or abs(bound - objective) <= _ABS_GAP
    if status == OPTIMAL and not met:
        logger.warning(
            "the search called its solution optimal, but its objective %.10g is %.4g%% short "
            "of its bound %.10g; reported as %s",
            objective,
            100.0 * gap,
            bound,
            TIME_LIMIT,
        )
        return TIME_LIMIT
    return status


def _solution(
    chosen: npt.ArrayLike,
    gains: npt.ArrayLike,
    objective: float,
    bound: float,
    status: str,
    method: str,
    *,
    uncoverable: np.ndarray,
    start: float,
    mip_rel_gap: float,
    proof_tol: float = PROOF_TOL,
    assignment: sp.csr_array | None = None,
    year: np.ndarray | None = None,
) -> Solution:
    """The frozen :class:`Solution`, with its gap and its running time since ``start``.

    Every model's result is made here, and its status is checked here (:func:`_checked`):
    optimal only when ``objective`` meets ``bound`` within ``mip_rel_gap`` (or ``proof_tol``).
    """
    gap = _gap(objective, bound)
    status = _checked(status, objective, bound, mip_rel_gap=mip_rel_gap, proof_tol=proof_tol)
    return Solution(
        chosen=_frozen(chosen, np.int64),
        gains=_frozen(gains, np.float64),
        objective=objective,
        bound=float(bound),
        gap=gap,
        status=status,
        method=method,
        uncoverable=_frozen(uncoverable, np.int64),
        runtime_s=time.perf_counter() - start,
        assignment=assignment,
        year=None if year is None else _frozen(year, np.int64),
    )


# --------------------------------------------------------------------------------------------
# the covering models (maximal and budgeted share one engine)


def _prepare(
    cover: Any, weight: Any | None, covered: Any
) -> tuple[sp.csr_array, np.ndarray, np.ndarray, np.ndarray]:
    """Validated cover, weights (ones when None), covered flags and uncoverable rows."""
    matrix = as_cover(cover)
    n_demand = matrix.shape[0]
    values = (
        np.ones(n_demand)
        if weight is None
        else as_values(weight, n_demand, "weight", "demand point")
    )
    mask = as_mask(covered, n_demand)
    reachable = np.diff(matrix.indptr) > 0
    uncoverable = np.flatnonzero(~mask & ~reachable)
    return matrix, values, mask, uncoverable


def _solve_coverage(
    matrix: sp.csr_array,
    weight: np.ndarray,
    mask: np.ndarray,
    uncoverable: np.ndarray,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    time_limit_s: float,
    mip_rel_gap: float,
    max_variables: int,
    exact: bool,
    start: float,
) -> Solution:
    """Maximal (``k``) or budgeted (``cost``, ``budget``) covering, exact or greedy."""
    deadline = start + time_limit_s
    rows = np.flatnonzero(~mask & (weight > 0) & (np.diff(matrix.indptr) > 0))
    usable = np.arange(matrix.shape[1])
    if cost is not None and budget is not None:
        usable = np.flatnonzero(cost <= budget)
    active = sp.csr_array(matrix[rows][:, usable])
    live = np.diff(active.indptr) > 0
    rows, active = rows[live], sp.csr_array(active[np.flatnonzero(live)])
    full = sp.csr_array(matrix[rows])  # for the final ordering, all candidates
    model = reduce_model(active, weight[rows], None if cost is None else cost[usable])
    n, m = model.own.size, model.weight.size
    kept_cost: np.ndarray | None = None if cost is None else cost[usable][model.candidates]

    def done(picked: np.ndarray, bound: float, status: str, method: str) -> Solution:
        sites = usable[model.candidates[picked]]
        chosen, gains = order_by_gain(full, weight[rows], sites)
        objective = float(gains.sum())
        return _solution(
            chosen,
            gains,
            objective,
            max(bound, objective),
            status,
            method,
            uncoverable=uncoverable,
            start=start,
            mip_rel_gap=mip_rel_gap,
        )

    everything = float(model.own.sum() + model.weight.sum())
    if n == 0 or (k is not None and k == 0) or (k is not None and k >= n):
        # nothing to choose, or room for every useful site: all of them is optimal
        picked = np.arange(n) if k else np.zeros(0, dtype=np.int64)
        return done(picked, everything if k else 0.0, OPTIMAL, MILP if exact else GREEDY)
    if kept_cost is not None and budget is not None and float(kept_cost.sum()) <= budget:
        return done(np.arange(n), everything, OPTIMAL, MILP if exact else GREEDY)

    heuristic, heuristic_bound = greedy_sites(model, k=k, cost=kept_cost, budget=budget)
    if exact and k is not None:
        heuristic = swap_search(model, heuristic, deadline=deadline)
    # a bound near the LP's for a few per cent of the time, should the LP itself not finish
    lagrangian = lagrangian_bound(
        model,
        k=k,
        cost=kept_cost,
        budget=budget,
        floor=objective_of(model, heuristic),
        deadline=min(deadline, time.perf_counter() + _LAGRANGIAN_SHARE * time_limit_s),
    )
    bound = min(everything, heuristic_bound, lagrangian)
    outcome = exact_search(
        model,
        k=k,
        cost=kept_cost,
        budget=budget,
        heuristic=heuristic,
        bound=bound,
        deadline=deadline,
        mip_rel_gap=mip_rel_gap,
        use_milp=exact and n + m <= max_variables,
        workers=_WORKERS,
    )
    if exact and n + m > max_variables:
        logger.warning(
            "model has %d variables (max_variables=%d); greedy used", n + m, max_variables
        )
    return done(outcome.picked, outcome.bound, outcome.status, outcome.method)


def maximal_covering(
    cover: Any,
    weight: Any,
    k: int,
    *,
    covered: Any | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    max_variables: int = DEFAULT_MAX_VARIABLES,
) -> Solution:
    """Choose ``k`` sites covering the most older residents not yet covered (MCLP).

    Solved exactly as a MILP by HiGHS: one binary per site, one continuous ``z_i ∈ [0, 1]`` per
    demand pattern with ``z_i ≤ Σ x_j`` over the sites reaching it, ``Σ x_j ≤ k``, maximise
    ``Σ weight_i z_i``. Before solving, the model is reduced without changing its optimum:

    - demand already covered, of weight 0, or reachable by no candidate is dropped;
    - demand points reached by the same set of candidates are merged, their weights summed;
    - a candidate is dropped when another reaches every point it reaches (and, for the same set,
      has a lower index): swapping it in never loses coverage; candidates reaching nothing new
      are dropped;
    - a merged point that only one remaining candidate reaches adds its weight to that
      candidate's own objective coefficient instead of keeping a row.

    Then the greedy set, improved by best-improvement swaps (one site out, one in), is compared
    with the LP relaxation's bound; if it meets the bound it is returned as optimal with
    ``method="greedy"``. Otherwise a branch-and-bound runs in the time left: each node's LP
    is re-solved by HiGHS's dual simplex from the last basis, sites are fixed by reduced costs,
    the search branches on a demand pattern reached fractionally (either it is covered, or none
    of its candidates is built), dives and then takes the best open node, and rounds node LPs
    into solutions improved by swaps. Once a better solution has fixed a quarter of the sites,
    it restarts once on a model rebuilt without them. When that smaller model falls apart into
    parts no demand point links (towns, once the sites between them are excluded), each part is
    solved on its own for the numbers of sites that matter (several at a time, in threads, up
    to one per core and four), and a knapsack over the parts' values and bounds shares the
    ``k`` sites out between them. At the time limit the best
    solution found is returned (``status="time_limit"``, ``method`` saying whether it is the
    swapped greedy set) with the best bound proved.

    Parameters
    ----------
    cover : scipy.sparse matrix or array of bool, shape (n_demand, n_candidates)
        True where candidate ``j`` reaches demand point ``i`` within the circle's minutes.
    weight : array of float, shape (n_demand,)
        Older residents at each point (persons, finite, ≥ 0).
    k : int
        Number of sites to build (≥ 0). When fewer sites already cover every coverable point,
        ``chosen`` holds only those: sites that would add nothing are not proposed (each gain
        is > 0).
    covered : array of bool, shape (n_demand,), optional, keyword-only
        True where an existing facility already reaches the point; such points add nothing.
    time_limit_s : float, keyword-only
        Wall-clock limit in seconds for the whole solve (HiGHS gets what is left after the
        reductions).
    mip_rel_gap : float, keyword-only
        Relative gap at which HiGHS may stop and call the solution optimal; 0 (default) asks for
        the exact optimum.
    max_variables : int, keyword-only
        Largest reduced model (sites plus demand patterns) given to the MILP; larger ones are
        solved greedily with the LP relaxation as bound.

    Returns
    -------
    Solution
        Sites in order of marginal gain, gains and the objective in residents.

    Raises
    ------
    InputError
        If shapes disagree, a weight is negative or not finite, ``k`` is not a whole number
        ≥ 0, or an option is out of range.

    """
    start = time.perf_counter()
    matrix, values, mask, uncoverable = _prepare(cover, weight, covered)
    count = as_count(k)
    limit, gap, most = solver_options(time_limit_s, mip_rel_gap, max_variables)
    return _solve_coverage(
        matrix,
        values,
        mask,
        uncoverable,
        k=count,
        cost=None,
        budget=None,
        time_limit_s=limit,
        mip_rel_gap=gap,
        max_variables=most,
        exact=True,
        start=start,
    )


def greedy_maximal_covering(
    cover: Any,
    weight: Any,
    k: int,
    *,
    covered: Any | None = None,
    time_limit_s: float = 60.0,
) -> Solution:
    """Choose ``k`` sites greedily, each covering the most residents not yet covered.

    Marginal gains are kept for every site and updated with one sparse product per pick, on the
    same reduced model as :func:`maximal_covering`. The greedy set is within ``1 - 1/e`` of the
    optimum in theory; the reported ``bound`` (the lesser of the LP relaxation's optimum,
    solved by HiGHS within ``time_limit_s``, and the submodular bound ``f(S) + the k best
    gains w.r.t. S`` over the sets ``S`` met along the way) gives the actual ``gap``, which is
    never smaller than the true gap to the optimum.

    Parameters
    ----------
    cover : scipy.sparse matrix or array of bool, shape (n_demand, n_candidates)
        True where candidate ``j`` reaches demand point ``i`` within the circle's minutes.
    weight : array of float, shape (n_demand,)
        Older residents at each point (persons, finite, ≥ 0).
    k : int
        Most sites to pick (≥ 0); the greedy stops early when nothing more can be covered.
    covered : array of bool, shape (n_demand,), optional, keyword-only
        True where an existing facility already reaches the point.
    time_limit_s : float, keyword-only
        Seconds allowed for the whole call, the LP relaxation included.

    Returns
    -------
    Solution
        ``method="greedy"``; ``status="heuristic"``, or ``"optimal"`` when the bound proves it.

    Raises
    ------
    InputError
        As :func:`maximal_covering`.

    """
    start = time.perf_counter()
    matrix, values, mask, uncoverable = _prepare(cover, weight, covered)
    count = as_count(k)
    limit, _, _ = solver_options(time_limit_s, 0.0, 1)
    return _solve_coverage(
        matrix,
        values,
        mask,
        uncoverable,
        k=count,
        cost=None,
        budget=None,
        time_limit_s=limit,
        mip_rel_gap=0.0,
        max_variables=1,
        exact=False,
        start=start,
    )


def budgeted_covering(
    cover: Any,
    weight: Any,
    cost: Any,
    budget: float,
    *,
    covered: Any | None = None,
    years: int = 1,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    max_variables: int = DEFAULT_MAX_VARIABLES,
) -> Solution:
    """Choose sites covering the most residents not yet covered for at most ``budget`` yuan.

    The MILP of :func:`maximal_covering` with ``Σ cost_j x_j ≤ budget`` in place of the number
    of sites, on the same reductions; a candidate is dropped as dominated only when another
    reaching every point it reaches costs no more. Candidates dearer than the whole budget are
    never chosen. The greedy fallback picks by gain per yuan and keeps the better of that and
    the best single affordable site. When every candidate costs the same (a flat subsidy per
    station, say), the budget buys a number of sites and the model is solved as
    :func:`maximal_covering` for that number, whose search can split a district into towns.

    With ``years`` > 1 the budget is spent in that many equal yearly budgets and each site is
    paid for out of one of them: candidates dearer than a year's budget are never chosen. At
    one price for all, each year buys what its own budget pays for. Otherwise the best set for
    the whole budget is kept when its sites can be spread over the years. When they cannot,
    the model with one budget per year is solved exactly with HiGHS's MIP solver, started from
    the sites that fit, and the whole budget's bound stays a bound. Over a few prices (at most
    a thousand ways of filling a year with them) that model is written over those ways, and
    when greedy's sites for the whole budget do not fit the years it is solved at once, with
    the whole time limit. :attr:`Solution.year` then says which year pays for each site.

    Parameters
    ----------
    cover : scipy.sparse matrix or array of bool, shape (n_demand, n_candidates)
        True where candidate ``j`` reaches demand point ``i`` within the circle's minutes.
    weight : array of float, shape (n_demand,)
        Older residents at each point (persons, finite, ≥ 0).
    cost : array of float, shape (n_candidates,)
        What building each candidate costs, yuan (finite, ≥ 0; 0 is allowed).
    budget : float
        Most that may be spent, yuan (finite, ≥ 0).
    covered : array of bool, shape (n_demand,), optional, keyword-only
        True where an existing facility already reaches the point.
    years : int, keyword-only
        Equal yearly budgets the budget is spent in (whole number ≥ 1; default 1).
    time_limit_s, mip_rel_gap, max_variables : keyword-only
        As :func:`maximal_covering`.

    Returns
    -------
    Solution
        Sites in order of marginal gain (residents, not per yuan); with ``years`` > 1 year by
        year, each year's in order of marginal gain given the years before.

    Raises
    ------
    InputError
        As :func:`maximal_covering`; also when a cost is NaN, infinite or negative (the message
        names the candidate index), the budget is not a finite number ≥ 0 or ``years`` is not
        a whole number ≥ 1.

    """
    start = time.perf_counter()
    matrix, values, mask, uncoverable = _prepare(cover, weight, covered)
    costs = as_values(cost, matrix.shape[1], "cost", "candidate")
    money = as_number(budget, "budget", "a finite amount of yuan ≥ 0")
    if isinstance(years, bool | np.bool_) or not isinstance(years, int | np.integer) or years < 1:
        msg = f"years is {years!r}; expected a whole number of years ≥ 1"
        raise InputError(msg)
    n_years = int(years)
    limit, gap, most = solver_options(time_limit_s, mip_rel_gap, max_variables)
    yearly = money / n_years
    buildable = np.flatnonzero(costs <= yearly)  # a site is paid for out of one year
    usable, usable_cost = sp.csr_array(matrix[:, buildable]), costs[buildable]
    each = float(costs[0]) if costs.size else 0.0
    flat = costs.size > 0 and bool(np.all(costs == each))
    # one price for all: each year buys a number of sites (every site when they are free)
    count = None if not flat else costs.size if each == 0 else n_years * affordable(yearly, each)
    if (
        n_years > 1
        and not flat
        and prefer_at_once(usable, values, mask, usable_cost, yearly=yearly, years=n_years)
    ):
        phased = by_year(
            usable,
            values,
            mask,
            usable_cost,
            first_choice=None,
            bound=math.inf,
            yearly=yearly,
            years=n_years,
            deadline=start + limit,
            mip_rel_gap=gap,
            max_variables=most,
        )
    else:
        # the whole budget first; over differing prices the yearly model may follow
        share = 1.0 if n_years == 1 or flat else _WHOLE_BUDGET_SHARE
        whole = _solve_coverage(
            usable,
            values,
            mask,
            uncoverable,
            k=count,
            cost=None if flat else usable_cost,
            budget=None if flat else money,
            time_limit_s=share * limit,
            mip_rel_gap=gap,
            max_variables=most,
            exact=True,
            start=start,
        )
        if n_years == 1:
            return replace(whole, chosen=_frozen(buildable[whole.chosen], np.int64))
        phased = in_years(
            usable,
            values,
            mask,
            usable_cost,
            chosen=whole.chosen,
            bound=whole.bound,
            status=whole.status,
            method=whole.method,
            yearly=yearly,
            years=n_years,
            deadline=start + limit,
            mip_rel_gap=gap,
            max_variables=most,
        )
    objective = float(phased.gains.sum())
    return _solution(
        buildable[phased.chosen],
        phased.gains,
        objective,
        max(phased.bound, objective),
        phased.status,
        phased.method,
        uncoverable=uncoverable,
        start=start,
        mip_rel_gap=gap,
        year=phased.year,
    )


# --------------------------------------------------------------------------------------------
# set covering


def set_covering(
    cover: Any,
    *,
    covered: Any | None = None,
    weight: Any | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    max_variables: int = DEFAULT_MAX_VARIABLES,
) -> Solution:
    """The fewest sites covering every point not yet covered that some candidate reaches (LSCP).

    Points no candidate reaches are returned in ``uncoverable`` and left out; this never
    raises for them. Solved exactly as a MILP (``min Σ x_j`` with every remaining point reached
    at least once) after reductions that keep the optimum: identical points merged; a point one
    site alone reaches forces that site; a site is dropped when another reaches every point it
    reaches; a point is dropped when every site reaching some other point also reaches it.
    What the reductions leave often falls apart into parts no point links (towns): each is an
    independent problem, solved on its own, smallest first. The bound is the sum of the parts'
    HiGHS dual bounds (or LP relaxation optima), each rounded up since numbers of sites are
    whole.

    Parameters
    ----------
    cover : scipy.sparse matrix or array of bool, shape (n_demand, n_candidates)
        True where candidate ``j`` reaches demand point ``i`` within the circle's minutes.
    covered : array of bool, shape (n_demand,), optional, keyword-only
        True where an existing facility already reaches the point; such points need no site.
    weight : array of float, shape (n_demand,), optional, keyword-only
        Older residents at each point (persons, ≥ 0), used only to order the sites and report
        ``gains``; when None each point counts 1. Points of weight 0 are still covered.
    time_limit_s, mip_rel_gap, max_variables : keyword-only
        As :func:`maximal_covering`.

    Returns
    -------
    Solution
        ``objective`` is the number of sites, ``bound`` a lower bound on the fewest possible.

    Raises
    ------
    InputError
        If shapes disagree, a weight is negative or not finite, or an option is out of range.

    """
    start = time.perf_counter()
    matrix, values, mask, uncoverable = _prepare(cover, weight, covered)
    limit, gap_limit, most = solver_options(time_limit_s, mip_rel_gap, max_variables)
    deadline = start + limit
    rows = np.flatnonzero(~mask & (np.diff(matrix.indptr) > 0))
    full = sp.csr_array(matrix[rows])
    reduced, sites, forced = set_cover_reduce(full)
    m, n = reduced.shape

    def done(picked: np.ndarray, bound: float, status: str, method: str) -> Solution:
        chosen, gains = order_by_gain(full, values[rows], np.concatenate([forced, picked]))
        objective = float(chosen.size)
        return _solution(
            chosen,
            gains,
            objective,
            min(math.ceil(bound - 1e-6), objective),
            status,
            method,
            uncoverable=uncoverable,
            start=start,
            mip_rel_gap=gap_limit,
            proof_tol=0.0,  # whole numbers of sites: proved only when equal
        )

    if m == 0:
        return done(np.zeros(0, dtype=np.int64), float(forced.size), OPTIMAL, MILP)
    # parts no point links are independent set-covering problems: solved one by one, the
    # smallest first, their numbers of sites and bounds add up
    outcomes = [
        set_cover_part(
            sp.csr_array(reduced[:, part]),
            part,
            deadline=deadline,
            mip_rel_gap=gap_limit,
            use_milp=n <= most,
        )
        for part in label_groups(part_labels(reduced))
    ]
    if n > most:
        logger.warning("set cover has %d sites (max_variables=%d); greedy used", n, most)
    statuses = {outcome.status for outcome in outcomes}
    status = next(worst for worst in (HEURISTIC, TIME_LIMIT, OPTIMAL) if worst in statuses)
    method = MILP if any(outcome.method == MILP for outcome in outcomes) else GREEDY
    picked = np.concatenate([outcome.picked for outcome in outcomes])
    bound = sum(math.ceil(outcome.bound - 1e-6) for outcome in outcomes)
    return done(sites[picked], forced.size + bound, status, method)


# --------------------------------------------------------------------------------------------
# capacitated covering


def capacitated_covering(
    cover: Any,
    weight: Any,
    capacity: Any,
    k: int,
    *,
    covered_capacity: Any | None = None,
    existing_cover: Any | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    max_variables: int = DEFAULT_MAX_VARIABLES,
) -> Solution:
    """Choose ``k`` sites, each serving at most its capacity, to serve the most residents.

    Residents are assigned (fractions allowed) only to open sites that reach them, each
    resident at most once, each site at most its capacity. Existing facilities are always open,
    with their own reach (``existing_cover``) and capacities. The MILP maximises the total
    served with existing facilities fixed open; the reported ``objective`` is the newly served
    weight, the total minus the most the existing facilities serve alone (the same LP with no
    new site). Its variables: a binary per candidate, a continuous flow per (point, site) pair,
    with the strong link ``y_ij ≤ min(weight_i, capacity_j) x_j``. Demand points with the same
    reach (new and existing) are merged first, their weights summed (the flows split back in
    proportion to weight); points of weight 0 or reachable by nothing are dropped.

    The order of gain and the greedy fallback use the served weight as a set function of the
    open sites (submodular: a transportation problem's value), evaluated by LP, lazily.

    Parameters
    ----------
    cover : scipy.sparse matrix or array of bool, shape (n_demand, n_candidates)
        True where candidate ``j`` reaches demand point ``i`` within the circle's minutes.
    weight : array of float, shape (n_demand,)
        Older residents at each point (persons, finite, ≥ 0).
    capacity : array of float, shape (n_candidates,)
        Most residents each candidate could serve (persons, ≥ 0; ``inf`` for unlimited).
    k : int
        Number of sites to build (≥ 0); sites that would serve no one more are not proposed.
    covered_capacity : array of float, shape (n_existing,), optional, keyword-only
        Most residents each existing facility serves (persons, ≥ 0; ``inf`` for unlimited).
        Required with ``existing_cover``.
    existing_cover : scipy.sparse matrix or array of bool, shape (n_demand, n_existing),
        optional, keyword-only
        True where existing facility ``e`` reaches demand point ``i``. None: no existing
        facility.
    time_limit_s, mip_rel_gap, max_variables : keyword-only
        As :func:`maximal_covering`; ``max_variables`` counts binaries and flow variables.

    Returns
    -------
    Solution
        With ``assignment``: shares of each point's residents served by each existing
        facility and each chosen site (see :class:`Solution`).

    Raises
    ------
    InputError
        If shapes disagree, a weight or capacity is negative or NaN, ``k`` is not a whole
        number ≥ 0, only one of ``existing_cover`` and ``covered_capacity`` is given, or an
        option is out of range.

    """
    start = time.perf_counter()
    matrix = as_cover(cover)
    n_demand, n_sites = matrix.shape
    values = as_values(weight, n_demand, "weight", "demand point")
    cap = as_values(capacity, n_sites, "capacity", "candidate", allow_inf=True)
    count = as_count(k)
    limit, gap_limit, most = solver_options(time_limit_s, mip_rel_gap, max_variables)
    if (existing_cover is None) != (covered_capacity is None):
        given = "existing_cover" if existing_cover is not None else "covered_capacity"
        missing = "covered_capacity" if existing_cover is not None else "existing_cover"
        msg = f"{given} was given without {missing}; give both for existing facilities, or neither"
        raise InputError(msg)
    if existing_cover is None:
        existing = sp.csr_array((n_demand, 0), dtype=np.bool_)
    else:
        existing = as_cover(existing_cover, "existing_cover")
        if existing.shape[0] != n_demand:
            msg = (
                f"existing_cover has {existing.shape[0]} rows; expected {n_demand}, one per "
                "demand point (row of cover)"
            )
            raise InputError(msg)
    n_old = existing.shape[1]
    old_cap = (
        np.zeros(0)
        if covered_capacity is None
        else as_values(
            covered_capacity, n_old, "covered_capacity", "existing facility", allow_inf=True
        )
    )
    reach_new = np.diff(matrix.indptr) > 0
    reach_old = np.diff(existing.indptr) > 0
    uncoverable = np.flatnonzero(~reach_new & ~reach_old)
    rows = np.flatnonzero((values > 0) & (reach_new | reach_old))

    # merge points with the same reach (new sites, then existing ones, side by side)
    both = sp.hstack([matrix[rows], existing[rows]], format="csr")
    both.sort_indices()
    group, first = row_groups(both)
    group_weight = np.bincount(group, weights=values[rows], minlength=first.size)
    new = sp.coo_array(matrix[rows[first]])
    old = sp.coo_array(existing[rows[first]])
    reach_weight = np.bincount(new.col, weights=group_weight[new.row], minlength=n_sites)
    old_reach = np.bincount(old.col, weights=group_weight[old.row], minlength=n_old)
    flow = Flow(
        weight=group_weight,
        new_group=new.row.astype(np.int64),
        new_site=new.col.astype(np.int64),
        old_group=old.row.astype(np.int64),
        old_site=old.col.astype(np.int64),
        cap=np.minimum(cap, reach_weight),
        old_cap=np.minimum(old_cap, old_reach),
    )
    tol = 1e-9 * max(1.0, float(group_weight.sum()))
    baseline, _, _ = max_served(flow, np.zeros(0, dtype=np.int64))
    useful = np.flatnonzero(flow.cap > tol)
    evaluations: dict[tuple[int, ...], float] = {}

    def evaluate(sites: list[int]) -> float:
        key = tuple(sorted(sites))
        if key not in evaluations:
            evaluations[key] = max_served(flow, np.asarray(key, dtype=np.int64))[0]
        return evaluations[key]

    def done(picked: np.ndarray, total_bound: float, status: str, method: str) -> Solution:
        picked = np.sort(picked)
        order, gains, _ = lazy_greedy(evaluate, flow.cap[picked], picked, len(picked), tol)
        chosen = np.asarray(order, dtype=np.int64)
        total, y, u = max_served(flow, chosen)
        objective = max(total - baseline, 0.0)
        bound = max(total_bound - baseline, objective)
        # flows per merged group → shares of each original point
        column = np.full(n_sites, -1)
        column[chosen] = n_old + np.arange(chosen.size)
        on = y > 0
        g = np.concatenate([flow.new_group[on], flow.old_group[u > 0]])
        col = np.concatenate([column[flow.new_site[on]], flow.old_site[u > 0]])
        share = np.concatenate([y[on], u[u > 0]]) / flow.weight[g]
        per_group = sp.csr_array((share, (g, col)), shape=(first.size, n_old + chosen.size))
        members = sp.csr_array((np.ones(rows.size), (rows, group)), shape=(n_demand, first.size))
        assignment = sp.csr_array(members @ per_group)
        assignment.eliminate_zeros()
        return _solution(
            chosen,
            gains,
            objective,
            bound,
            status,
            method,
            uncoverable=uncoverable,
            start=start,
            mip_rel_gap=gap_limit,
            assignment=assignment,
        )

    everything = min(
        float(group_weight.sum()), baseline + float(np.sort(flow.cap)[::-1][:count].sum())
    )
    if useful.size == 0 or count == 0:
        return done(np.zeros(0, dtype=np.int64), baseline, OPTIMAL, MILP)
    if count >= useful.size:
        return done(useful, evaluate(useful.tolist()), OPTIMAL, MILP)

    c, constraints, upper, n_x = flow_constraints(flow, None)
    constraints.append(
        LinearConstraint(
            sp.csr_array(np.concatenate([np.ones(n_x), np.zeros(c.size - n_x)])[None, :]),
            -np.inf,
            count,
        )
    )
    deadline = start + limit
    timed_out = False
    if c.size <= most:
        integrality = np.concatenate([np.ones(n_x), np.zeros(c.size - n_x)])
        run = solve_highs(
            c,
            constraints,
            upper,
            integrality,
            deadline=deadline,
            mip_rel_gap=gap_limit,
            maximize=True,
        )
        if run.x is not None:
            picked = np.flatnonzero(run.x[:n_x] > 0.5)
            bound = min(everything, run.bound) if run.bound is not None else everything
            return done(picked, bound, OPTIMAL if run.optimal else TIME_LIMIT, MILP)
        timed_out = run.timed_out
        logger.warning("HiGHS found no capacitated solution in %.1f s; greedy used", limit)
    else:
        logger.warning(
            "capacitated model has %d variables (max_variables=%d); greedy used", c.size, most
        )
    greedy, _, greedy_bound = lazy_greedy(evaluate, flow.cap[useful], useful, count, tol)
    bound = min(everything, greedy_bound)
    status = TIME_LIMIT if timed_out else HEURISTIC
    if c.size > most:
        relaxed = relaxation(c, constraints, upper, deadline=deadline, maximize=True)
        if relaxed is not None:
            bound = min(bound, relaxed.value + tol)
    return done(np.asarray(greedy, dtype=np.int64), bound, status, GREEDY)
