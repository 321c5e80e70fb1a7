"""Solving one reduced covering model: greedy, swaps, the covering programme and HiGHS.

:func:`greedy_sites` (with its submodular bound) and :func:`swap_search` give a heuristic site set
on a :class:`~carecircle.siting._reduction.Reduced` model; :func:`coverage_program` writes the MILP
of maximal or budgeted covering on it. :func:`drive_program` takes a heuristic and a programme
through the LP bound, reduced-cost fixing and the branch-and-bound of
:mod:`carecircle.siting._highs` (or HiGHS's MIP solver); :func:`drive_coverage` does that for the
covering programme. :func:`order_by_gain` puts a chosen set in the order to build it. The exact
search that restarts on fewer sites and splits a model into towns is in
:mod:`carecircle.siting._towns`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint

from ._highs import Relaxed, branch_and_bound, fixings, relaxation, solve_highs
from ._outcome import GREEDY, HEURISTIC, MILP, OPTIMAL, PROOF_TOL, TIME_LIMIT, Outcome
from ._reduction import Reduced

logger = logging.getLogger(__name__)


def drive_program(
    c: np.ndarray,
    constraints: list[LinearConstraint],
    upper: np.ndarray,
    integrality: np.ndarray,
    *,
    heuristic: np.ndarray,
    value_of: Callable[[np.ndarray], float],
    bound: float,
    maximize: bool,
    deadline: float,
    mip_rel_gap: float,
    use_milp: bool,
    integral: bool = False,
    complete: Callable[[np.ndarray], np.ndarray] | None = None,
    rounding: Callable[[np.ndarray], np.ndarray] | None = None,
    patterns: sp.csr_array | None = None,
    restart_share: float = 0.0,
    floor: float | None = None,
    relaxed: Relaxed | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Heuristic first, then the LP relaxation's bound, then the MILP in the time left.

    ``heuristic`` holds the positions of the binaries (the first variables) a heuristic set to
    1, ``value_of`` the objective of such a set and ``bound`` a bound known without solving
    anything. The LP relaxation (interior point) tightens the bound; when it proves the
    heuristic optimal the MILP is skipped. Otherwise its reduced costs fix the binaries that no
    solution at least as good as the heuristic (strictly better when ``integral`` and
    minimising) can move, and branch-and-bound runs on the rest until ``deadline``, started
    from the heuristic. Programmes with continuous variables (maximal and budgeted covering)
    use :func:`branch_and_bound` on the warm root LP; set covering, and any model where that
    fails, uses HiGHS's MIP solver (``complete`` gives the full variable vector of a site set
    for its MIP start; None: the binaries are all the variables). Solutions the fixing cuts
    off are no better than the heuristic, so the bound is the weaker of the dual bound and the
    heuristic's value. On the time limit the better of the incumbent and the heuristic is
    kept, with the tighter of that bound and the LP bound. ``integral``: the objective is a
    whole number (a bound can be rounded). ``rounding`` turns LP values of the binaries into a
    site set, for the branch-and-bound's heuristic. ``floor`` (maximising only) is a value the
    caller only needs beaten: the search stops, as optimal, once nothing better than it or the
    heuristic can exist, and the bound it returns may then be ``floor``. ``relaxed`` is the LP
    relaxation when the caller has solved it already (with its warm solver, which the search
    then uses and leaves at the same LP); None: solved here. ``stop``, once set, ends the
    branch-and-bound as the deadline would.
    """
    better = min if maximize else max
    worse = max if maximize else min
    n_x = int(np.count_nonzero(integrality))
    best = heuristic
    best_value = value_of(heuristic)
    if relaxed is None:
        relaxed = relaxation(c, constraints, upper, deadline=deadline, maximize=maximize)
    if relaxed is not None:
        bound = better(bound, relaxed.value)

    def proved(value: float, limit: float) -> bool:
        tol = PROOF_TOL * max(1.0, abs(limit))
        if integral and not maximize:
            return value <= math.ceil(limit - 1e-6) + tol
        return value >= limit - tol if maximize else value <= limit + tol

    reach = best_value if floor is None or not maximize else max(best_value, floor)
    if proved(reach, bound):
        return Outcome(best, bound, OPTIMAL, GREEDY)
    if not use_milp:
        return Outcome(best, bound, HEURISTIC, GREEDY)
    strict = integral and not maximize
    cutoff = best_value - 1.0 if strict else reach
    lower = np.zeros(c.size)
    upper = np.array(upper, dtype=np.float64)
    if relaxed is not None:
        zero, one = fixings(relaxed, n_x, cutoff, maximize=maximize)
        upper[zero] = 0.0
        lower[one] = 1.0
        logger.debug("reduced costs fix %d binaries to 0 and %d to 1", zero.size, one.size)
    run = None
    if relaxed is not None and not strict and n_x < c.size:
        run = branch_and_bound(
            relaxed,
            n_x,
            lower=lower,
            upper=upper,
            start=best,
            value_of=value_of,
            maximize=maximize,
            deadline=deadline,
            mip_rel_gap=mip_rel_gap,
            rounding=rounding,
            patterns=patterns,
            restart_share=restart_share,
            floor=floor if maximize else None,
            stop=stop,
        )
        if run is not None and run.free is not None:
            assert run.x is not None and run.bound is not None
            found = np.flatnonzero(run.x[:n_x] > 0.5)
            return Outcome(found, better(bound, run.bound), TIME_LIMIT, MILP, free=run.free)
    if run is None:
        start = None
        if not strict:
            start = np.zeros(c.size) if complete is None else complete(best)
            start[best] = 1.0
        run = solve_highs(
            c,
            constraints,
            upper,
            integrality,
            deadline=deadline,
            mip_rel_gap=mip_rel_gap,
            maximize=maximize,
            lower=lower,
            start=start,
        )
    if strict and run.infeasible:
        # nothing strictly better survives the fixing: the heuristic is optimal
        return Outcome(best, best_value, OPTIMAL, GREEDY)
    if run.bound is not None:
        bound = better(bound, worse(run.bound, reach))
    if run.x is None:
        logger.warning("HiGHS found no solution in the time allowed; the heuristic is used")
        return Outcome(best, bound, TIME_LIMIT if run.timed_out else HEURISTIC, GREEDY)
    picked = np.flatnonzero(run.x[:n_x] > 0.5)
    value = value_of(picked)
    improved = (value > best_value) if maximize else (value < best_value)
    status = OPTIMAL if run.optimal else TIME_LIMIT
    if improved or (run.optimal and value == best_value):
        return Outcome(picked, bound, status, MILP)
    return Outcome(best, bound, status, GREEDY)


def swap_search(
    model: Reduced, picked: np.ndarray, *, deadline: float, most_pairs: int = 20_000_000
) -> np.ndarray:
    """Improve a site set by best-improvement swaps (one site out, one in) until none helps.

    All swaps are scored at once: with ``cnt`` the number of chosen sites reaching each
    pattern, swapping ``s`` out for ``j`` changes the objective by ``gain_j + M[j, s] -
    loss_s``, where ``gain_j`` is what ``j`` adds to the set, ``loss_s`` what only ``s``
    covers and ``M[j, s]`` what ``j`` reaches of that. Skipped when the matrix ``M`` would hold
    more than ``most_pairs`` entries; stops at ``deadline``.
    """
    sites = np.array(picked, dtype=np.int64)
    n = model.own.size
    if sites.size == 0 or sites.size >= n or n * sites.size > most_pairs:
        return sites
    csc = model.matrix.tocsc()
    tol = 1e-9 * max(1.0, float(model.own.sum() + model.weight.sum()))
    while time.perf_counter() < deadline:
        chosen = sp.csc_array(csc[:, sites])
        count = chosen @ np.ones(sites.size)
        gain = model.own + csc.T @ np.where(count > 0, 0.0, model.weight)
        only = np.where(count == 1, model.weight, 0.0)
        alone = sp.csc_array(chosen.multiply(only[:, None]))
        loss = model.own[sites] + alone.T @ np.ones(model.weight.size)
        shared = csc.T @ alone
        delta = gain[:, None] + (shared.toarray() if sp.issparse(shared) else shared)
        delta -= loss[None, :]
        delta[sites, :] = -np.inf
        j, s = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[j, s] <= tol:
            break
        sites[s] = j
    return sites


def coverage_program(
    model: Reduced, row: np.ndarray, rhs: float
) -> tuple[np.ndarray, list[LinearConstraint], np.ndarray, np.ndarray]:
    """The MCLP-style programme on a reduced model, with one side constraint ``row @ x ≤ rhs``.

    Variables: ``x`` (one binary per kept site), then ``z`` (one continuous in [0, 1] per
    pattern). ``max own @ x + weight @ z`` subject to ``z_i ≤ sum of x_j over the sites
    reaching pattern i`` and the side constraint (number of sites ≤ k, or cost ≤ budget).
    """
    n, m = model.own.size, model.weight.size
    link = sp.hstack(
        [-model.matrix, sp.csr_array((np.ones(m), (np.arange(m), np.arange(m))), shape=(m, m))],
        format="csr",
    )
    side = sp.csr_array(np.concatenate([row, np.zeros(m)])[None, :])
    constraints = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(side, -np.inf, rhs),
    ]
    c = np.concatenate([model.own, model.weight])
    integrality = np.concatenate([np.ones(n), np.zeros(m)])
    return c, constraints, np.ones(n + m), integrality


# --------------------------------------------------------------------------------------------
# greedy


def _fractional_knapsack(value: np.ndarray, cost: np.ndarray, budget: float) -> float:
    """Largest ``value @ t`` with ``cost @ t ≤ budget``, ``0 ≤ t ≤ 1`` (items dearer excluded)."""
    return float(value @ _knapsack_shares(value, cost, budget))


def _knapsack_shares(value: np.ndarray, cost: np.ndarray, budget: float) -> np.ndarray:
    """The ``t`` of :func:`_fractional_knapsack`: free items whole, then the best value per yuan."""
    t = np.zeros(value.size)
    fits = (cost <= budget) & (value > 0)
    t[fits & (cost == 0)] = 1.0
    paid = np.flatnonzero(fits & (cost > 0))
    order = paid[np.argsort(-value[paid] / cost[paid], kind="stable")]
    spent = np.cumsum(cost[order])
    whole = int(np.searchsorted(spent, budget, side="right"))
    t[order[:whole]] = 1.0
    if whole < order.size:
        left = budget - (spent[whole - 1] if whole else 0.0)
        t[order[whole]] = left / float(cost[order[whole]])
    return t


def lagrangian_bound(
    model: Reduced,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    floor: float,
    deadline: float,
    steps: int = 300,
) -> float:
    """An upper bound on the optimum from the Lagrangian relaxation of the coverage links.

    With multipliers ``0 ≤ u ≤ weight`` on the patterns' links ``z_i ≤ Σ x_j``, ``L(u) =
    Σ (weight − u) + own-and-multiplier scores of the best sites`` (the ``k`` largest, or the
    fractional knapsack under ``budget``) bounds the optimum from above for every ``u``, and
    its least value is the LP bound. Up to ``steps`` subgradient steps (Polyak's, towards
    ``floor``, the value of a known solution), two sparse products each, come close to it
    without solving the LP, which on large models may not finish in time. Returns the least
    ``L(u)`` seen; stops at ``deadline``.
    """
    patterns = model.matrix
    across = sp.csr_array(patterns.T)
    weight = model.weight
    u = weight / 2.0
    best, theta, since = math.inf, 1.0, 0
    for _ in range(steps):
        if time.perf_counter() > deadline:
            break
        score = model.own + across @ u
        if cost is None:
            x = np.zeros(score.size)
            take = min(int(k or 0), score.size)
            if take:
                x[np.argpartition(-score, take - 1)[:take]] = 1.0
        else:
            x = _knapsack_shares(score, cost, float(budget or 0.0))
        value = float((weight - u).sum() + score @ x)
        if value < best - 1e-9 * max(1.0, abs(value)):
            best, since = value, 0
        else:
            since += 1
            if since >= 10:
                theta, since = theta / 2.0, 0
        step = patterns @ x - 1.0  # the subgradient: reached by the chosen sites, less z = 1
        norm = float(step @ step)
        if norm == 0.0 or value - floor <= 1e-9 * max(1.0, abs(value)):
            break
        u = np.clip(u - theta * (value - floor) / norm * step, 0.0, weight)
    return best


def greedy_sites(
    model: Reduced, *, k: int | None, cost: np.ndarray | None, budget: float | None
) -> tuple[np.ndarray, float]:
    """Greedy on a reduced model: best marginal gain (per yuan when ``cost`` is given).

    Gains are kept for every site and updated with one sparse product per pick (only the rows
    the pick newly covers). Returns the picked positions (into ``model.candidates``) and an
    upper bound on the optimum from submodularity: for any set ``S`` picked along the way,
    ``OPT ≤ f(S) + the best k gains w.r.t. S`` (or the fractional knapsack of the gains under
    the budget).
    """
    csr = model.matrix
    csc = csr.tocsc()
    left = model.weight.copy()
    gains = model.own + csr.T @ left
    taken = np.zeros(gains.size, dtype=np.bool_)
    tol = 1e-9 * max(1.0, float(model.own.sum() + model.weight.sum()))
    picked: list[int] = []
    value, spent, bound = 0.0, 0.0, math.inf
    limit = gains.size if k is None else k
    while True:
        if cost is None:
            best = np.partition(gains, gains.size - limit)[gains.size - limit :]
            bound = min(bound, value + (float(best.sum()) if limit else 0.0))
        else:
            assert budget is not None
            bound = min(bound, value + _fractional_knapsack(gains, cost, budget))
        if len(picked) >= limit:
            break
        usable = ~taken & (gains > tol)
        if cost is not None:
            assert budget is not None
            usable &= cost <= budget - spent + 1e-9 * max(1.0, budget)
        if not usable.any():
            break
        if cost is None:
            j = int(np.argmax(np.where(usable, gains, -np.inf)))
        else:
            free = usable & (cost == 0)
            if free.any():
                j = int(np.argmax(np.where(free, gains, -np.inf)))
            else:
                ratio = np.where(usable, gains / np.where(cost > 0, cost, 1.0), -np.inf)
                j = int(np.argmax(ratio))
            spent += float(cost[j])
        picked.append(j)
        value += float(gains[j])
        taken[j] = True
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        rows = rows[left[rows] > 0]
        if rows.size:
            gains -= sp.csr_array(csr[rows]).T @ left[rows]
            left[rows] = 0.0
        gains[j] = 0.0
        np.maximum(gains, 0.0, out=gains)
    if cost is not None and budget is not None:
        # the better of the ratio greedy and the best single affordable site
        start = model.own + csr.T @ model.weight
        single = np.where(cost <= budget, start, -np.inf)
        if single.size and float(single.max()) > value + tol:
            picked = [int(np.argmax(single))]
    return np.asarray(picked, dtype=np.int64), max(bound, 0.0)


def order_by_gain(
    active: sp.csr_array, weight: np.ndarray, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Re-order a site set greedily by marginal gain, on the full (unreduced) rows.

    Ties go to the site covering more new points, then the lower index. Sites covering no new
    point at their turn are left out (the rest still covers everything the set covered).
    Returns the ordered candidate indices and their gains in ``weight`` units.
    """
    remaining = np.sort(np.asarray(chosen, dtype=np.int64))
    if remaining.size == 0:
        return remaining, np.zeros(0)
    sub = sp.csc_array(active[:, remaining]).astype(np.float64)
    left = np.ones(active.shape[0], dtype=np.bool_)
    open_ = np.ones(remaining.size, dtype=np.bool_)
    order: list[int] = []
    gains: list[float] = []
    while open_.any():
        gain = sub.T @ np.where(left, weight, 0.0)
        count = sub.T @ left.astype(np.float64)
        score = np.where(open_ & (count > 0), gain, -np.inf)
        best = float(score.max())
        if best == -np.inf:
            break
        ties = np.flatnonzero(score >= best - 1e-9 * max(1.0, abs(best)))
        j = int(ties[np.argmax(count[ties])])
        order.append(j)
        gains.append(max(float(gain[j]), 0.0))
        open_[j] = False
        left[sub.indices[sub.indptr[j] : sub.indptr[j + 1]]] = False
    return remaining[order], np.asarray(gains, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# the covering programme (maximal and budgeted covering)


def drive_coverage(
    model: Reduced,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    heuristic: np.ndarray,
    value_of: Callable[[np.ndarray], float],
    bound: float,
    deadline: float,
    mip_rel_gap: float,
    use_milp: bool,
    restart_share: float = 0.0,
    floor: float | None = None,
    relaxed: Relaxed | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """:func:`drive_program` on the covering programme of ``model``, for ``k`` sites or a budget."""
    side = np.ones(model.own.size) if cost is None else cost
    rhs = float(k) if k is not None else float(budget or 0.0)
    c, constraints, upper, integrality = coverage_program(model, side, rhs)
    return drive_program(
        c,
        constraints,
        upper,
        integrality,
        heuristic=heuristic,
        value_of=value_of,
        bound=bound,
        maximize=True,
        deadline=deadline,
        mip_rel_gap=mip_rel_gap,
        use_milp=use_milp,
        complete=partial(_start, model),
        rounding=partial(_rounded, model, k=k, cost=cost, budget=budget, deadline=deadline),
        patterns=model.matrix,
        restart_share=restart_share,
        floor=floor,
        relaxed=relaxed,
        stop=stop,
    )


def _rounded(
    model: Reduced,
    x: np.ndarray,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    deadline: float,
) -> np.ndarray:
    """A site set from LP values ``x``: the largest first while the count or the budget allows.

    For a count, the ``k`` largest, improved by swaps (:func:`swap_search`).
    """
    order = np.argsort(-x, kind="stable")
    if k is not None:
        return swap_search(model, order[:k], deadline=deadline)
    assert cost is not None and budget is not None
    picked, spent = [], 0.0
    for j in order[x[order] > 0]:
        if spent + cost[j] <= budget:
            picked.append(int(j))
            spent += float(cost[j])
    return np.asarray(picked, dtype=np.int64)


def _start(model: Reduced, picked: np.ndarray) -> np.ndarray:
    """The variables of :func:`coverage_program` for a site set: ``x``, then ``z``."""
    x = np.zeros(model.own.size)
    x[picked] = 1.0
    return np.concatenate([x, np.minimum(model.matrix @ x, 1.0)])
