"""A second objective that never worsens the first: prefer some candidates (医养结合).

:func:`prefer` takes a covering model's :class:`~carecircle.siting.models.Solution` and, among the
site sets that are at least as good on the model's own objective (the same residents newly
covered for a number of sites or a budget; every coverable point covered by no more sites for
set covering) and have no more sites, looks for one with the most preferred candidates: the
candidates beside a health centre. It is lexicographic, not a weighted sum, so no weight has to
be proved small enough: the first objective is a constraint of the second model, and the answer
is checked against the first objective on the full rows before it replaces the first solution.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import LinearConstraint

from ._highs import solve_highs
from ._outcome import OPTIMAL, TIME_LIMIT, Preference
from ._solve import order_by_gain
from .models import DEFAULT_MAX_VARIABLES, Solution

__all__ = ["prefer"]

_REL_TOL = 1e-9
"""Relative slack on the first objective (sums of float weights in another order)."""


def prefer(
    solution: Solution,
    cover: sp.csr_array,
    weight: np.ndarray,
    preferred: np.ndarray,
    *,
    covered: np.ndarray,
    cost: np.ndarray | None = None,
    budget: float | None = None,
    cover_all: bool = False,
    time_limit_s: float,
    max_variables: int = DEFAULT_MAX_VARIABLES,
) -> Solution:
    """The solution with the most preferred sites among those as good on the first objective.

    Parameters
    ----------
    solution : Solution
        The first model's solution (:func:`~carecircle.siting.maximal_covering`,
        :func:`~carecircle.siting.budgeted_covering` with one budget, or
        :func:`~carecircle.siting.set_covering`), its ``chosen`` columns of ``cover``.
    cover : scipy.sparse.csr_array, shape (n_demand, n_candidates)
        The coverage matrix the first model was solved on.
    weight : numpy.ndarray, shape (n_demand,)
        Older residents at each point (persons).
    preferred : numpy.ndarray of bool, shape (n_candidates,)
        The candidates to prefer.
    covered : numpy.ndarray of bool, shape (n_demand,), keyword-only
        Points existing facilities reach already.
    cost, budget : keyword-only
        The costs of the candidates (yuan) and the budget, for budgeted covering.
    cover_all : bool, keyword-only
        The first model was set covering: every coverable point stays covered.
    time_limit_s : float, keyword-only
        Wall-clock limit of the second model, seconds. At the limit the best set found (never
        worse than the first solution on either objective) is kept with status ``time_limit``.
    max_variables : int, keyword-only
        Largest second model (sites plus points) solved; beyond it the first solution is kept,
        its bound the number of preferred sites it could have (status ``time_limit`` unless
        that is met).

    Returns
    -------
    Solution
        ``chosen`` and ``gains`` perhaps changed (in order of marginal gain again), its first
        ``objective``, ``bound``, ``gap`` and ``status`` unchanged, and ``preference`` set.

    """
    start = time.perf_counter()
    chosen = np.asarray(solution.chosen, dtype=np.int64)
    want = np.asarray(preferred, dtype=bool)
    now = int(want[chosen].sum())
    most = min(int(chosen.size), int(want.sum()))

    def kept(
        count: int,
        bound: int,
        *,
        solved: bool,
        sites: np.ndarray | None = None,
        gains: np.ndarray | None = None,
    ) -> Solution:
        status = OPTIMAL if count >= bound else TIME_LIMIT
        preference = Preference(count, bound, status, solved, time.perf_counter() - start)
        if sites is None:
            return replace(solution, preference=preference)
        return replace(
            solution,
            chosen=_frozen(sites, np.int64),
            gains=_frozen(gains, np.float64),
            preference=preference,
        )

    if now >= most:
        return kept(now, now, solved=False)
    reachable = np.diff(cover.indptr) > 0
    rows = np.flatnonzero(~covered & reachable & (cover_all | (weight > 0)))
    full = sp.csr_array(cover[rows])
    values = weight[rows]
    # candidates reaching no open point can add nothing (and are never proposed)
    useful = np.flatnonzero(np.bincount(full.indices, minlength=cover.shape[1]) > 0)
    matrix = sp.csr_array(full[:, useful]).astype(np.float64)
    n, m = useful.size, rows.size
    if n + (0 if cover_all else m) > max_variables:
        return kept(now, most, solved=False)
    first = float(solution.objective)
    pick = np.zeros(n)
    pick[np.searchsorted(useful, chosen)] = 1.0
    count_row = sp.csr_array(np.ones((1, n)))
    if cover_all:
        objective = want[useful].astype(float)
        constraints = [
            LinearConstraint(matrix, lb=1.0, ub=np.inf),
            LinearConstraint(count_row, ub=float(chosen.size)),
        ]
        upper, integrality, begin = np.ones(n), np.ones(n), pick
    else:
        # x (sites) then z (points reached, 0..1): z_i <= sum_j a_ij x_j
        links = sp.hstack([-matrix, sp.identity(m, format="csr")], format="csr")
        floor = first - _REL_TOL * max(1.0, abs(first))
        rows_ = [
            LinearConstraint(links, ub=0.0),
            LinearConstraint(
                sp.csr_array(np.concatenate([np.zeros(n), values])[None, :]), lb=floor
            ),
            LinearConstraint(sp.hstack([count_row, sp.csr_array((1, m))]), ub=float(chosen.size)),
        ]
        if cost is not None and budget is not None:
            spend = np.concatenate([np.asarray(cost, dtype=float)[useful], np.zeros(m)])
            rows_.append(LinearConstraint(sp.csr_array(spend[None, :]), ub=float(budget)))
        constraints = rows_
        objective = np.concatenate([want[useful].astype(float), np.zeros(m)])
        upper = np.ones(n + m)
        integrality = np.concatenate([np.ones(n), np.zeros(m)])
        begin = np.concatenate([pick, np.minimum(1.0, matrix @ pick)])
    run = solve_highs(
        objective,
        constraints,
        upper,
        integrality,
        deadline=start + time_limit_s,
        mip_rel_gap=0.0,
        maximize=True,
        start=begin,
    )
    bound = most
    if run.bound is not None and math.isfinite(run.bound):
        bound = min(most, math.floor(run.bound + 1e-6))
    if run.x is None:
        return kept(now, max(bound, now), solved=True)
    sites = useful[np.flatnonzero(run.x[:n] > 0.5)]
    ordered, gains = order_by_gain(full, values, sites)
    better = int(want[ordered].sum()) > now
    as_good = (
        np.all(np.asarray(full[:, ordered].sum(axis=1)).ravel() > 0)
        if cover_all
        else float(gains.sum()) >= first - _REL_TOL * max(1.0, abs(first))
    )
    cheap = cost is None or budget is None or float(np.asarray(cost)[ordered].sum()) <= budget
    if not (better and as_good and cheap and ordered.size <= chosen.size):
        return kept(now, max(bound, now), solved=True)
    count = int(want[ordered].sum())
    return kept(count, max(bound, count), solved=True, sites=ordered, gains=gains)


def _frozen(array: object, dtype: npt.DTypeLike) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out
