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
from ._reduction import merge_rows
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
    full.sort_indices()
    values = weight[rows]
    first = float(solution.objective)
    prices = None if cost is None or budget is None else np.asarray(cost, dtype=float)

    def checked(sites: np.ndarray, bound: int, *, solved: bool = True) -> Solution:
        """The solution with ``sites`` (in order of gain), or the first one, and ``bound``.

        ``sites`` replace the first solution's only when checked as good on the first
        objective, within the budget, with no more sites and more preferred ones.
        """
        ordered, gains = order_by_gain(full, values, np.asarray(sites, dtype=np.int64))
        count = int(want[ordered].sum())
        as_good = (
            bool(np.all(np.asarray(full[:, ordered].sum(axis=1)).ravel() > 0))
            if cover_all
            else float(gains.sum()) >= first - _REL_TOL * max(1.0, abs(first))
        )
        cheap = prices is None or float(prices[ordered].sum()) <= float(budget or 0.0)
        if not (count > now and as_good and cheap and ordered.size <= chosen.size):
            return kept(now, max(bound, now), solved=solved)
        return kept(count, max(bound, count), solved=solved, sites=ordered, gains=gains)

    # swaps first (a site out, a preferred one in, no resident lost): cheap, and the start of
    # the exact model
    swapped = _swaps(
        full,
        np.ones(rows.size) if cover_all else values,
        chosen,
        want,
        cost=prices,
        room=0.0 if prices is None else float(budget or 0.0) - float(prices[chosen].sum()),
        deadline=start + 0.5 * time_limit_s,
    )
    after_swaps = int(want[swapped].sum())
    if after_swaps >= most:
        return checked(swapped, most, solved=False)
    # candidates reaching no open point can add nothing (and are never proposed)
    useful = np.flatnonzero(np.bincount(full.indices, minlength=cover.shape[1]) > 0)
    merged, merged_values = merge_rows(sp.csr_array(full[:, useful]), values)
    matrix = merged.astype(np.float64)
    n, m = useful.size, merged.shape[0]
    if n + (0 if cover_all else m) > max_variables:
        return checked(swapped, most, solved=False)
    pick = np.zeros(n)
    pick[np.searchsorted(useful, swapped)] = 1.0
    count_row = sp.csr_array(np.ones((1, n)))
    if cover_all:
        objective = want[useful].astype(float)
        constraints = [
            LinearConstraint(matrix, lb=1.0, ub=np.inf),
            LinearConstraint(count_row, ub=float(chosen.size)),
        ]
        upper, integrality, begin = np.ones(n), np.ones(n), pick
    else:
        # x (sites) then z (merged points reached, 0..1): z_i <= sum_j a_ij x_j
        links = sp.hstack([-matrix, sp.identity(m, format="csr")], format="csr")
        floor = first - _REL_TOL * max(1.0, abs(first))
        weights = np.concatenate([np.zeros(n), merged_values])[None, :]
        constraints = [
            LinearConstraint(links, ub=0.0),
            LinearConstraint(sp.csr_array(weights), lb=floor),
            LinearConstraint(sp.hstack([count_row, sp.csr_array((1, m))]), ub=float(chosen.size)),
        ]
        if prices is not None:
            spend = np.concatenate([prices[useful], np.zeros(m)])
            constraints.append(
                LinearConstraint(sp.csr_array(spend[None, :]), ub=float(budget or 0))
            )
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
    if run.x is not None:
        found = checked(useful[np.flatnonzero(run.x[:n] > 0.5)], bound)
        if found.preference is not None and found.preference.count >= after_swaps:
            return found
    return checked(swapped, bound)


def _swaps(
    full: sp.csr_array,
    values: np.ndarray,
    chosen: np.ndarray,
    want: np.ndarray,
    *,
    cost: np.ndarray | None,
    room: float,
    deadline: float,
) -> np.ndarray:
    """Swap chosen sites that are not preferred for preferred ones, losing no weight.

    One swap at a time, the one gaining most over what it loses first, until none is left or
    the deadline passes. With ``cost``, the swaps may spend at most ``room`` more in all.
    """
    matrix = sp.csc_array(full).astype(np.float64)
    sites = np.asarray(chosen, dtype=np.int64).copy()
    while time.perf_counter() < deadline:
        outside = np.setdiff1d(np.flatnonzero(want), sites)
        out_of = np.flatnonzero(~want[sites])
        if not outside.size or not out_of.size:
            break
        reached = matrix[:, sites]
        times = reached @ np.ones(sites.size)  # how many chosen sites reach each point
        # what each site going out loses (the points only it reaches) and what each coming
        # in gains then (the open points, and those the outgoing site alone reached)
        alone = sp.csc_array(sp.diags_array(np.where(times == 1, values, 0.0)) @ reached[:, out_of])
        loss = np.asarray(alone.sum(axis=0)).ravel()
        incoming = sp.csc_array(matrix[:, outside])
        gain = (incoming.T @ np.where(times == 0, values, 0.0))[:, None] + (
            incoming.T @ alone
        ).toarray()
        fits = gain >= loss[None, :] - _REL_TOL * np.maximum(1.0, loss)[None, :]
        if cost is not None:
            fits &= cost[outside][:, None] - cost[sites[out_of]][None, :] <= room + 1e-9
        if not fits.any():
            break
        come, go = np.unravel_index(np.argmax(np.where(fits, gain - loss, -np.inf)), fits.shape)
        incoming_site, position = int(outside[come]), int(out_of[go])
        if cost is not None:
            room -= float(cost[incoming_site] - cost[sites[position]])
        sites[position] = incoming_site
    return sites


def _frozen(array: object, dtype: npt.DTypeLike) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out
