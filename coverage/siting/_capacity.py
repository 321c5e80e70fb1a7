"""The capacitated model's internals: the flow programme, its LP and the lazy greedy.

:class:`Flow` is an instance on merged demand groups; :func:`flow_constraints` writes its
max-flow programme (a binary per candidate, or flows over a given set of open sites),
:func:`max_served` solves that LP for a set of open sites, and :func:`lazy_greedy` picks sites by
the weight they newly serve, evaluated lazily. :func:`carecircle.siting.capacitated_covering`
builds the instance and runs the MILP.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint

from ._highs import solve_highs


@dataclass(frozen=True)
class Flow:
    """A capacitated instance on merged demand groups.

    ``new`` and ``old`` are the (group, site) pairs a new candidate or an existing facility
    could serve; ``cap`` and ``old_cap`` are capacities clipped to what a site could ever
    serve (finite).
    """

    weight: np.ndarray
    new_group: np.ndarray
    new_site: np.ndarray
    old_group: np.ndarray
    old_site: np.ndarray
    cap: np.ndarray
    old_cap: np.ndarray


def flow_constraints(
    flow: Flow, open_new: np.ndarray | None
) -> tuple[np.ndarray, list[LinearConstraint], np.ndarray, int]:
    """Max-flow LP over the pairs of the open sites (all candidates as binaries when None).

    Variables: ``[x (candidates, only when open_new is None), y (new pairs), u (old pairs)]``.
    Returns the objective, constraints, upper bounds and the number of ``x`` variables.
    """
    n_sites = flow.cap.size
    if open_new is None:
        pairs = np.arange(flow.new_site.size)
        n_x = n_sites
    else:
        pairs = np.flatnonzero(np.isin(flow.new_site, open_new))
        n_x = 0
    g_new, s_new = flow.new_group[pairs], flow.new_site[pairs]
    n_y, n_u = pairs.size, flow.old_site.size
    n_var = n_x + n_y + n_u
    groups = flow.weight.size
    y_cols = n_x + np.arange(n_y)
    u_cols = n_x + n_y + np.arange(n_u)
    demand = sp.csr_array(
        (
            np.ones(n_y + n_u),
            (np.concatenate([g_new, flow.old_group]), np.concatenate([y_cols, u_cols])),
        ),
        shape=(groups, n_var),
    )
    old = sp.csr_array((np.ones(n_u), (flow.old_site, u_cols)), shape=(flow.old_cap.size, n_var))
    constraints = [
        LinearConstraint(demand, -np.inf, flow.weight),
        LinearConstraint(old, -np.inf, flow.old_cap),
    ]
    pair_cap = np.minimum(flow.weight[g_new], flow.cap[s_new])
    if open_new is None:
        site_rows = np.concatenate([s_new, np.arange(n_sites)])
        site_cols = np.concatenate([y_cols, np.arange(n_sites)])
        site_vals = np.concatenate([np.ones(n_y), -flow.cap])
        capacity = sp.csr_array((site_vals, (site_rows, site_cols)), shape=(n_sites, n_var))
        link = sp.csr_array(
            (
                np.concatenate([np.ones(n_y), -pair_cap]),
                (np.concatenate([np.arange(n_y), np.arange(n_y)]), np.concatenate([y_cols, s_new])),
            ),
            shape=(n_y, n_var),
        )
        constraints += [
            LinearConstraint(capacity, -np.inf, 0.0),
            LinearConstraint(link, -np.inf, 0.0),
        ]
    else:
        capacity = sp.csr_array((np.ones(n_y), (s_new, y_cols)), shape=(n_sites, n_var))
        constraints.append(LinearConstraint(capacity, -np.inf, flow.cap))
    c = np.concatenate([np.zeros(n_x), np.ones(n_y + n_u)])
    upper = np.concatenate(
        [
            np.ones(n_x),
            pair_cap,
            np.minimum(flow.weight[flow.old_group], flow.old_cap[flow.old_site]),
        ]
    )
    return c, constraints, upper, n_x


def max_served(flow: Flow, open_new: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Most weight served with the existing facilities and the ``open_new`` candidates.

    Returns the value and the flows on the new pairs (zero where the site is closed) and on the
    old pairs. Solved by HiGHS as an LP (a transportation problem), with no time limit: it is
    polynomial and small next to the MILP.
    """
    c, constraints, upper, _ = flow_constraints(flow, open_new)
    if c.size == 0:
        return 0.0, np.zeros(flow.new_site.size), np.zeros(flow.old_site.size)
    run = solve_highs(
        c, constraints, upper, None, deadline=math.inf, mip_rel_gap=0.0, maximize=True
    )
    if run.x is None or run.value is None:  # pragma: no cover - an LP this simple always solves
        msg = "HiGHS could not solve the assignment LP"
        raise RuntimeError(msg)
    pairs = np.flatnonzero(np.isin(flow.new_site, open_new))
    y = np.zeros(flow.new_site.size)
    y[pairs] = run.x[: pairs.size]
    return run.value, y, run.x[pairs.size :]


def lazy_greedy(
    evaluate: Callable[[list[int]], float],
    upper: np.ndarray,
    candidates: np.ndarray,
    k: int,
    tol: float,
) -> tuple[list[int], list[float], float]:
    """Lazy greedy for a submodular set function given by ``evaluate`` (value of a set).

    ``upper`` holds an upper bound on each candidate's first marginal gain. Stale gains are
    upper bounds (submodularity), so a candidate whose fresh gain is still the largest key is
    the greedy pick. Returns the picks, their gains and the bound ``f(S) + top-k keys`` (the
    least met along the way).
    """
    heap = [(-float(upper[i]), int(j)) for i, j in enumerate(candidates)]
    heapq.heapify(heap)
    fresh = dict.fromkeys(candidates.tolist(), -1)
    picked: list[int] = []
    gains: list[float] = []
    value = evaluate([])
    bound = math.inf
    while True:
        best_keys = heapq.nsmallest(k, heap)
        bound = min(bound, value + sum(max(-key, 0.0) for key, _ in best_keys))
        if not heap or len(picked) >= k or -heap[0][0] <= tol:
            break
        key, j = heapq.heappop(heap)
        if fresh[j] == len(picked):
            picked.append(j)
            gains.append(-key)
            value += -key
            continue
        gain = evaluate([*picked, j]) - value
        fresh[j] = len(picked)
        heapq.heappush(heap, (-max(gain, 0.0), j))
    return picked, gains, bound
