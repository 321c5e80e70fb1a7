"""Where to build next: covering models on a coverage matrix, solved exactly with HiGHS.

The core works on arrays. ``cover`` is a sparse boolean matrix with one row per demand point and
one column per candidate site, True where the candidate would reach the point within the
circle's minutes (built from walking times by :mod:`carecircle.candidates`). ``weight`` holds
the older residents at each point. Existing facilities always stay and keep their coverage:
the points they already reach (``covered``) count for nothing new.

Four models:

- :func:`maximal_covering` (MCLP): ``k`` new sites covering the most residents not yet covered.
- :func:`set_covering` (LSCP): the fewest sites covering every point not yet covered that some
  candidate can reach; the points none can reach are listed, never an error.
- :func:`budgeted_covering`: the most residents newly covered for a budget in yuan.
- :func:`capacitated_covering`: ``k`` new sites, each serving at most its capacity, next to the
  existing facilities with their own reach and capacities.

Each is an exact mixed-integer programme solved with HiGHS under a time limit, on a reduced
model that has the same optimum (see :func:`maximal_covering`). The covering models first build
a heuristic solution (greedy; for maximal covering improved by swaps) and solve the LP
relaxation by interior point: when the heuristic meets that bound it is optimal and
branch-and-bound is skipped. Maximal and budgeted covering then run carecircle's own
branch-and-bound on HiGHS's warm simplex (:mod:`carecircle._highs`), restarting once on a
smaller model when a better incumbent excludes enough sites; for a number of sites that smaller
model is solved part by part when no demand links its parts. Set covering and capacitated
covering run HiGHS's MIP solver. At the time limit the best solution found is returned with
the best bound proved; when the model has more variables than ``max_variables``, the heuristic
is returned with its gap to the LP bound. :func:`greedy_maximal_covering` is the greedy alone.

Every result is a frozen :class:`Solution` whose sites are in order of marginal gain (the
optimal set re-ordered greedily), so a plan can be phased year by year.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import LinearConstraint
from scipy.sparse.csgraph import connected_components

from ._errors import InputError
from ._highs import (
    _BRANCH_TOL,
    _branch_and_bound,
    _fixings,
    _highs,
    _moved,
    _relaxation,
    _Relaxed,
)

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

OPTIMAL = "optimal"
"""Status: the objective is proved optimal (within ``mip_rel_gap``, exactly by default)."""

TIME_LIMIT = "time_limit"
"""Status: the time limit stopped HiGHS before it proved optimality; ``gap`` says how far off."""

HEURISTIC = "heuristic"
"""Status: greedy without a MILP (asked for, or the model exceeds ``max_variables``)."""

MILP = "milp"
"""Method: the sites come from the exact search (branch-and-bound on HiGHS)."""

GREEDY = "greedy"
"""Method: the sites come from the greedy heuristic."""

DEFAULT_MAX_VARIABLES = 5_000_000
"""Largest model (binary plus continuous variables, after reduction) handed to the MILP."""

_TINY = 1e-12
"""Denominator floor for the relative gap."""

_PROOF_TOL = 1e-6
"""Relative difference between objective and bound taken as proof of optimality (the LP bound
is loosened by 1e-7 for solver tolerances)."""

_RESTART_SHARE = 0.25
"""Share of the sites the incumbent's reduced-cost fixing must exclude before the exact search
restarts on a model rebuilt without them (fewer patterns, faster LPs)."""

_WORKERS = min(os.cpu_count() or 1, 4)
"""Most exact searches on parts of a model run at a time (threads; one core each)."""

_DOMINANCE_WORK = 50_000_000
"""Most pairwise products the dominance checks may compute (about that many bytes × 16)."""


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
        ``|bound - objective| / max(|bound|, 1e-12)``; 0 when optimal. For a maximising model
        the optimum is at most ``objective / (1 - gap)``, so the solution is within ``gap`` of
        it (relative to the bound); greedy's gap is never smaller than its true gap.
    status : str
        ``"optimal"`` (proved; within ``mip_rel_gap``, which is 0 by default), ``"time_limit"``
        (HiGHS stopped at the limit; the best solution found is returned) or ``"heuristic"``
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


# --------------------------------------------------------------------------------------------
# validation


def _as_cover(cover: Any, name: str = "cover") -> sp.csr_array:
    """A canonical boolean CSR copy of a coverage matrix (sorted indices, no stored zeros)."""
    if sp.issparse(cover):
        matrix = sp.csr_array(cover, copy=True)
    else:
        array = np.asarray(cover)
        if array.ndim != 2:
            msg = (
                f"{name} has {array.ndim} dimension(s) (shape {array.shape}); expected a 2-D "
                "matrix, demand points × sites"
            )
            raise InputError(msg)
        matrix = sp.csr_array(array)
    if matrix.ndim != 2:
        msg = f"{name} has shape {matrix.shape}; expected a 2-D matrix, demand points × sites"
        raise InputError(msg)
    matrix.sum_duplicates()
    data = matrix.data
    if data.dtype != np.bool_:
        if not np.issubdtype(data.dtype, np.number):
            msg = f"{name} holds {data.dtype} values; expected booleans (True/False or 0/1)"
            raise InputError(msg)
        bad = np.flatnonzero(~np.isin(data, (0, 1)))
        if bad.size:
            rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
            at = bad[0]
            msg = (
                f"{name}[{rows[at]}, {matrix.indices[at]}] is {data[at].item()!r}; expected "
                "booleans (True/False or 0/1): True where the site reaches the point in time"
            )
            raise InputError(msg)
    matrix = matrix.astype(np.bool_)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def _as_values(values: Any, n: int, name: str, what: str, *, allow_inf: bool = False) -> np.ndarray:
    """A float64 copy of one non-negative number per row or column, checked."""
    array = np.asarray(values)
    if array.shape != (n,):
        msg = f"{name} has shape {array.shape}; expected ({n},), one value per {what}"
        raise InputError(msg)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        msg = f"{name} holds {array.dtype} values; expected numbers"
        raise InputError(msg)
    array = array.astype(np.float64)
    bad = np.isnan(array) | (array < 0) | (np.isinf(array) & (not allow_inf))
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        expected = "a number ≥ 0 (inf for unlimited)" if allow_inf else "a finite number ≥ 0"
        msg = (
            f"{name}[{at}] ({what} {at}) is {float(array[at])!r}; expected {expected}"
            f"{f' ({int(bad.sum())} bad values in all)' if bad.sum() > 1 else ''}"
        )
        raise InputError(msg)
    return array


def _as_mask(covered: Any, n: int, name: str = "covered") -> np.ndarray:
    """A boolean copy of the already-covered flags, all False when None."""
    if covered is None:
        return np.zeros(n, dtype=np.bool_)
    array = np.asarray(covered)
    if array.shape != (n,):
        msg = f"{name} has shape {array.shape}; expected ({n},), one flag per demand point"
        raise InputError(msg)
    if array.dtype != np.bool_ and (
        not np.issubdtype(array.dtype, np.number) or not np.isin(array, (0, 1)).all()
    ):
        msg = f"{name} holds {array.dtype} values; expected booleans (True/False or 0/1)"
        raise InputError(msg)
    return array.astype(np.bool_)


def _as_count(k: Any, name: str = "k") -> int:
    """A whole number ≥ 0 (Python or NumPy integer; bool is refused)."""
    if isinstance(k, bool | np.bool_) or not isinstance(k, int | np.integer) or k < 0:
        msg = f"{name} is {k!r}; expected a whole number of sites ≥ 0"
        raise InputError(msg)
    return int(k)


def _as_number(value: Any, name: str, expected: str, *, positive: bool = False) -> float:
    """A finite real number ≥ 0 (> 0 when ``positive``)."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    number = float(value) if ok else math.nan
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        msg = f"{name} is {value!r}; expected {expected}"
        raise InputError(msg)
    return number


def _options(time_limit_s: Any, mip_rel_gap: Any, max_variables: Any) -> tuple[float, float, int]:
    limit = _as_number(time_limit_s, "time_limit_s", "a number of seconds > 0", positive=True)
    gap = _as_number(mip_rel_gap, "mip_rel_gap", "a relative gap from 0 (exact) to below 1")
    if gap >= 1:
        msg = f"mip_rel_gap is {mip_rel_gap!r}; expected a relative gap from 0 (exact) to below 1"
        raise InputError(msg)
    if (
        isinstance(max_variables, bool | np.bool_)
        or not isinstance(max_variables, int | np.integer)
        or max_variables < 1
    ):
        msg = f"max_variables is {max_variables!r}; expected a whole number ≥ 1"
        raise InputError(msg)
    return limit, gap, int(max_variables)


def _frozen(array: Any, dtype: npt.DTypeLike) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out


def _gap(objective: float, bound: float) -> float:
    return abs(bound - objective) / max(abs(bound), _TINY)


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
    proof_tol: float = _PROOF_TOL,
    assignment: sp.csr_array | None = None,
) -> Solution:
    """The frozen :class:`Solution`, with its gap and its running time since ``start``.

    A heuristic whose gap is within ``proof_tol`` is reported optimal.
    """
    gap = _gap(objective, bound)
    if status == HEURISTIC and gap <= proof_tol:
        status = OPTIMAL
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
    )


# --------------------------------------------------------------------------------------------
# reductions


def _merge_rows(matrix: sp.csr_array, weight: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Rows with the same set of columns merged into one, their weights summed.

    ``matrix`` must have sorted indices. The merged rows keep the order of first appearance.
    """
    indptr, indices = matrix.indptr, matrix.indices
    seen: dict[bytes, int] = {}
    group = np.fromiter(
        (
            seen.setdefault(indices[indptr[i] : indptr[i + 1]].tobytes(), len(seen))
            for i in range(matrix.shape[0])
        ),
        dtype=np.int64,
        count=matrix.shape[0],
    )
    _, first = np.unique(group, return_index=True)
    merged = sp.csr_array(matrix[first])
    return merged, np.bincount(group, weights=weight, minlength=len(first))


def _work(matrix: sp.csr_array | sp.csc_array) -> int:
    """Products needed for ``M.T @ M`` (sum of squared counts along the other axis)."""
    counts = np.diff(matrix.indptr).astype(np.int64)
    return int(counts @ counts)


def _dominated_columns(matrix: sp.csr_array, cost: np.ndarray | None) -> np.ndarray:
    """Columns that can be dropped without changing the optimum.

    Column ``i`` is dropped when another column ``j`` covers every row ``i`` covers and costs no
    more (``cost`` None: all equal), and ``j`` covers a row more, is cheaper, or is the same
    set at the same cost with a lower index. That relation is a strict partial order, so every
    dropped column has a kept one that beats it, and swapping it in never loses coverage nor
    adds cost. Empty columns are always dropped. Skipped (only empty columns dropped) when the
    pairwise overlap would take more than ``_DOMINANCE_WORK`` products.
    """
    size = np.diff(matrix.tocsc().indptr)
    dropped = size == 0
    if _work(matrix) > _DOMINANCE_WORK:
        logger.debug("dominance check skipped: %d products", _work(matrix))
        return dropped
    ones = matrix.astype(np.int32)
    overlap = sp.coo_array(ones.T @ ones)
    i, j, shared = overlap.row, overlap.col, overlap.data
    subset = (i != j) & (shared == size[i])
    i, j = i[subset], j[subset]
    c = np.zeros(matrix.shape[1]) if cost is None else cost
    strict = size[j] > size[i]
    beats = (strict & (c[j] <= c[i])) | (~strict & ((c[j] < c[i]) | ((c[j] == c[i]) & (j < i))))
    dropped[i[beats]] = True
    return dropped


def _dominated_rows(matrix: sp.csr_array) -> np.ndarray:
    """Rows implied by another: any column covering row ``i`` also covers row ``r`` ⊋ ``i``.

    For set covering only (rows are constraints "cover me"; covering the smaller set covers the
    larger). Rows must be distinct (merged) and non-empty. Skipped when too much work.
    """
    size = np.diff(matrix.indptr)
    dropped = np.zeros(matrix.shape[0], dtype=np.bool_)
    if _work(matrix.tocsc()) > _DOMINANCE_WORK:
        logger.debug("row dominance skipped: %d products", _work(matrix.tocsc()))
        return dropped
    ones = matrix.astype(np.int32)
    overlap = sp.coo_array(ones @ ones.T)
    i, r, shared = overlap.row, overlap.col, overlap.data
    implied = (i != r) & (shared == size[i]) & (size[r] > size[i])
    dropped[r[implied]] = True
    return dropped


@dataclass(frozen=True)
class _Reduced:
    """A covering model reduced for the MILP: distinct demand patterns × kept candidates.

    The objective of a site set is ``own[S].sum() + weight[rows touched by S].sum()``, equal to
    the newly covered weight of the same sites on the full data.
    """

    matrix: sp.csr_array
    weight: np.ndarray
    own: np.ndarray
    candidates: np.ndarray


def _reduce(active: sp.csr_array, weight: np.ndarray, cost: np.ndarray | None) -> _Reduced:
    """Merge identical rows, drop dominated candidates, fold single-candidate rows into sites.

    ``active`` holds only rows that count (not yet covered, reachable, weight > 0) and the
    candidates that may be chosen.
    """
    matrix, merged = _merge_rows(active, weight)
    keep = np.flatnonzero(~_dominated_columns(matrix, cost))
    matrix, merged = _merge_rows(sp.csr_array(matrix[:, keep]), merged)
    model = _folded(matrix, merged, np.zeros(keep.size), keep)
    logger.debug(
        "reduced %d×%d to %d patterns (+%d folded) × %d sites",
        active.shape[0],
        active.shape[1],
        model.weight.size,
        matrix.shape[0] - model.weight.size,
        keep.size,
    )
    return model


def _restricted(model: _Reduced, keep: np.ndarray) -> _Reduced:
    """The model on the sites ``keep`` only (positions), with the same objective on them.

    Patterns no kept site reaches are dropped, patterns reached by the same kept sites merged,
    and those reached by one kept site folded into its own coefficient. Nothing is dropped as
    dominated, so every set of kept sites keeps its position and value.
    """
    sub = sp.csr_array(model.matrix[:, keep])
    sub.sort_indices()
    live = np.flatnonzero(np.diff(sub.indptr) > 0)
    matrix, merged = _merge_rows(sp.csr_array(sub[live]), model.weight[live])
    return _folded(matrix, merged, model.own[keep], model.candidates[keep])


def _folded(
    matrix: sp.csr_array, weight: np.ndarray, own: np.ndarray, candidates: np.ndarray
) -> _Reduced:
    """The model with rows reached by one site folded into that site's ``own`` coefficient.

    Such a row adds its weight to that site alone: ``z_i = x_j`` at any optimum.
    """
    single = np.diff(matrix.indptr) == 1
    own = own + np.bincount(
        matrix.indices[matrix.indptr[:-1][single]], weights=weight[single], minlength=own.size
    )
    rest = np.flatnonzero(~single)
    return _Reduced(
        matrix=sp.csr_array(matrix[rest]).astype(np.float64),
        weight=weight[rest],
        own=own,
        candidates=candidates,
    )


# --------------------------------------------------------------------------------------------
# HiGHS


@dataclass(frozen=True)
class _Outcome:
    """Sites (positions among a programme's binaries), the best bound, status and method."""

    picked: np.ndarray
    bound: float
    status: str
    method: str
    free: np.ndarray | None = None
    """Set when the search stopped for a restart: the binaries left free (see ``_Run.free``)."""


def _drive(
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
    relaxed: _Relaxed | None = None,
    stop: threading.Event | None = None,
) -> _Outcome:
    """Heuristic first, then the LP relaxation's bound, then the MILP in the time left.

    ``heuristic`` holds the positions of the binaries (the first variables) a heuristic set to
    1, ``value_of`` the objective of such a set and ``bound`` a bound known without solving
    anything. The LP relaxation (interior point) tightens the bound; when it proves the
    heuristic optimal the MILP is skipped. Otherwise its reduced costs fix the binaries that no
    solution at least as good as the heuristic (strictly better when ``integral`` and
    minimising) can move, and branch-and-bound runs on the rest until ``deadline``, started
    from the heuristic. Programmes with continuous variables (maximal and budgeted covering)
    use :func:`_branch_and_bound` on the warm root LP; set covering, and any model where that
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
        relaxed = _relaxation(c, constraints, upper, deadline=deadline, maximize=maximize)
    if relaxed is not None:
        bound = better(bound, relaxed.value)

    def proved(value: float, limit: float) -> bool:
        tol = _PROOF_TOL * max(1.0, abs(limit))
        if integral and not maximize:
            return value <= math.ceil(limit - 1e-6) + tol
        return value >= limit - tol if maximize else value <= limit + tol

    reach = best_value if floor is None or not maximize else max(best_value, floor)
    if proved(reach, bound):
        return _Outcome(best, bound, OPTIMAL, GREEDY)
    if not use_milp:
        return _Outcome(best, bound, HEURISTIC, GREEDY)
    strict = integral and not maximize
    cutoff = best_value - 1.0 if strict else reach
    lower = np.zeros(c.size)
    upper = np.array(upper, dtype=np.float64)
    if relaxed is not None:
        zero, one = _fixings(relaxed, n_x, cutoff, maximize=maximize)
        upper[zero] = 0.0
        lower[one] = 1.0
        logger.debug("reduced costs fix %d binaries to 0 and %d to 1", zero.size, one.size)
    run = None
    if relaxed is not None and not strict and n_x < c.size:
        run = _branch_and_bound(
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
            return _Outcome(found, better(bound, run.bound), TIME_LIMIT, MILP, free=run.free)
    if run is None:
        start = None
        if not strict:
            start = np.zeros(c.size) if complete is None else complete(best)
            start[best] = 1.0
        run = _highs(
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
        return _Outcome(best, best_value, OPTIMAL, GREEDY)
    if run.bound is not None:
        bound = better(bound, worse(run.bound, reach))
    if run.x is None:
        logger.warning("HiGHS found no solution in the time allowed; the heuristic is used")
        return _Outcome(best, bound, TIME_LIMIT if run.timed_out else HEURISTIC, GREEDY)
    picked = np.flatnonzero(run.x[:n_x] > 0.5)
    value = value_of(picked)
    improved = (value > best_value) if maximize else (value < best_value)
    status = OPTIMAL if run.optimal else TIME_LIMIT
    if improved or (run.optimal and value == best_value):
        return _Outcome(picked, bound, status, MILP)
    return _Outcome(best, bound, status, GREEDY)


def _swap_search(
    model: _Reduced, picked: np.ndarray, *, deadline: float, most_pairs: int = 20_000_000
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


def _coverage_program(
    model: _Reduced, row: np.ndarray, rhs: float
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
    fits = (cost <= budget) & (value > 0)
    value, cost = value[fits], cost[fits]
    free = cost == 0
    total = float(value[free].sum())
    value, cost = value[~free], cost[~free]
    order = np.argsort(-value / cost, kind="stable")
    spent = np.cumsum(cost[order])
    whole = int(np.searchsorted(spent, budget, side="right"))
    total += float(value[order[:whole]].sum())
    if whole < order.size:
        left = budget - (spent[whole - 1] if whole else 0.0)
        total += float(value[order[whole]]) * left / float(cost[order[whole]])
    return total


def _greedy(
    model: _Reduced, *, k: int | None, cost: np.ndarray | None, budget: float | None
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


def _order_by_gain(
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
# the covering models (maximal and budgeted share one engine)


def _prepare(
    cover: Any, weight: Any | None, covered: Any
) -> tuple[sp.csr_array, np.ndarray, np.ndarray, np.ndarray]:
    """Validated cover, weights (ones when None), covered flags and uncoverable rows."""
    matrix = _as_cover(cover)
    n_demand = matrix.shape[0]
    values = (
        np.ones(n_demand)
        if weight is None
        else _as_values(weight, n_demand, "weight", "demand point")
    )
    mask = _as_mask(covered, n_demand)
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
    model = _reduce(active, weight[rows], None if cost is None else cost[usable])
    n, m = model.own.size, model.weight.size
    kept_cost: np.ndarray | None = None if cost is None else cost[usable][model.candidates]

    def done(picked: np.ndarray, bound: float, status: str, method: str) -> Solution:
        sites = usable[model.candidates[picked]]
        chosen, gains = _order_by_gain(full, weight[rows], sites)
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
        )

    everything = float(model.own.sum() + model.weight.sum())
    if n == 0 or (k is not None and k == 0) or (k is not None and k >= n):
        # nothing to choose, or room for every useful site: all of them is optimal
        picked = np.arange(n) if k else np.zeros(0, dtype=np.int64)
        return done(picked, everything if k else 0.0, OPTIMAL, MILP if exact else GREEDY)
    if kept_cost is not None and budget is not None and float(kept_cost.sum()) <= budget:
        return done(np.arange(n), everything, OPTIMAL, MILP if exact else GREEDY)

    heuristic, heuristic_bound = _greedy(model, k=k, cost=kept_cost, budget=budget)
    if exact and k is not None:
        heuristic = _swap_search(model, heuristic, deadline=deadline)
    bound = min(everything, heuristic_bound)
    outcome = _search(
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


def _drive_coverage(
    model: _Reduced,
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
    relaxed: _Relaxed | None = None,
    stop: threading.Event | None = None,
) -> _Outcome:
    """:func:`_drive` on the covering programme of ``model`` for ``k`` sites or a ``budget``."""
    side = np.ones(model.own.size) if cost is None else cost
    rhs = float(k) if k is not None else float(budget or 0.0)
    c, constraints, upper, integrality = _coverage_program(model, side, rhs)
    return _drive(
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


def _search(
    model: _Reduced,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    heuristic: np.ndarray,
    bound: float,
    deadline: float,
    mip_rel_gap: float,
    use_milp: bool,
    floor: float | None = None,
    root: _Relaxed | None = None,
    workers: int = 1,
    stop: threading.Event | None = None,
) -> _Outcome:
    """The exact search on a reduced model from a heuristic site set; positions in ``model``.

    :func:`_drive` runs on the whole model until a better solution has fixed
    :data:`_RESTART_SHARE` of the sites, then once more on a model of the sites left
    (:func:`_restricted`). For a count of sites, that smaller model often falls apart into
    parts no pattern links (the towns of a district, once the sites between them are
    excluded): then each part is solved on its own for the counts that matter and the counts
    are shared out between the parts (:func:`_by_parts`), instead of one search over the
    product of their trees, with up to ``workers`` searches on parts at a time. ``floor``,
    ``root`` (the model's LP relaxation when already solved) and ``stop``: as in
    :func:`_drive`.
    """
    at, at_cost, kept = model, cost, np.arange(model.own.size)
    for phase in range(2):
        outcome = _drive_coverage(
            at,
            k=k,
            cost=at_cost,
            budget=budget,
            heuristic=heuristic,
            value_of=partial(_value, at),
            bound=bound,
            deadline=deadline,
            mip_rel_gap=mip_rel_gap,
            use_milp=use_milp,
            restart_share=_RESTART_SHARE if phase == 0 else 0.0,
            floor=floor,
            relaxed=root if phase == 0 else None,
            stop=stop,
        )
        if outcome.free is None:
            break
        keep = np.union1d(outcome.free, outcome.picked)
        heuristic = np.searchsorted(keep, outcome.picked)
        bound = outcome.bound
        at, kept = _restricted(at, keep), kept[keep]
        at_cost = None if at_cost is None else at_cost[keep]
        labels = _parts(at.matrix)
        logger.debug(
            "restart on %d of %d sites, %d patterns, %d parts",
            keep.size,
            model.own.size,
            at.weight.size,
            labels.max() + 1 if labels.size else 0,
        )
        if k is not None and labels.size and labels.max() > 0:
            outcome = _by_parts(
                at,
                labels,
                k,
                start=heuristic,
                bound=bound,
                deadline=deadline,
                mip_rel_gap=mip_rel_gap,
                floor=floor,
                workers=workers,
                stop=stop,
            )
            break
    return _Outcome(kept[outcome.picked], outcome.bound, outcome.status, outcome.method)


def _parts(matrix: sp.csr_array) -> np.ndarray:
    """A part label per column (site): sites sharing a row, directly or through others, share one.

    Sites that share no row with any other (in a covering model, their patterns all folded
    into ``own``) are each a part of their own.
    """
    n = matrix.shape[1]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    link = sp.csr_array(matrix != 0).astype(np.int8)
    graph = sp.block_array([[None, link.T], [link, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    _, dense = np.unique(labels[:n], return_inverse=True)
    return dense.astype(np.int64)


def _groups(labels: np.ndarray) -> list[np.ndarray]:
    """The positions holding each label, smallest group first."""
    order = np.argsort(labels, kind="stable")
    groups = np.split(order, np.cumsum(np.bincount(labels))[:-1]) if labels.size else []
    return sorted(groups, key=len)


@dataclass
class _Part:
    """One part of a model while :func:`_by_parts` shares the sites out (working state).

    ``low[m]`` is the best value known of ``m`` sites in the part (``sets[m]`` holds them,
    positions in ``model``), ``high[m]`` a bound on it; ``lp`` the LP relaxation's value at
    the counts solved so far (None where it could not be solved), and ``tried`` the counts the
    exact search has run on.
    """

    sites: np.ndarray
    model: _Reduced
    low: np.ndarray
    high: np.ndarray
    sets: list[np.ndarray]
    lp: dict[int, float | None]
    tried: set[int]
    relaxed: _Relaxed | None = None
    """The part's LP relaxation with its warm solver, re-solved for each count."""

    def settle(self, count: int, picked: np.ndarray, value: float, bound: float) -> None:
        """Record a set of at most ``count`` sites with its value, and a bound for ``count``.

        The value is non-decreasing in the count: a set serves every larger count it beats,
        and a bound every smaller count.
        """
        better = np.flatnonzero(self.low[count:] < value) + count
        self.low[better] = value
        for m in better:
            self.sets[m] = np.asarray(picked, dtype=np.int64)
        self.high[count] = min(self.high[count], max(bound, self.low[count]))
        self.carry_bounds_down()

    def carry_bounds_down(self) -> None:
        """A bound on a count bounds every smaller count too (the value never falls)."""
        self.high[:] = np.minimum.accumulate(self.high[::-1])[::-1]


def _part(model: _Reduced, sites: np.ndarray, k: int) -> _Part:
    """A part of ``model`` (its ``sites``) with greedy values for every count up to ``k``."""
    rows = np.flatnonzero(np.diff(sp.csc_array(model.matrix[:, sites]).tocsr().indptr) > 0)
    sub = _Reduced(
        matrix=sp.csr_array(model.matrix[rows][:, sites]),
        weight=model.weight[rows],
        own=model.own[sites],
        candidates=sites,
    )
    top = min(k, sites.size)
    total = float(sub.own.sum() + sub.weight.sum())
    low = np.zeros(top + 1)
    high = np.full(top + 1, total)
    high[0] = 0.0
    empty = np.zeros(0, dtype=np.int64)
    part = _Part(sites, sub, low, high, [empty] * (top + 1), {0: 0.0}, {0})
    if sub.weight.size == 0:
        # sites alone: the best m are the m largest own values
        order = np.argsort(-sub.own, kind="stable")
        part.low[:] = part.high[:] = np.concatenate([[0.0], np.cumsum(sub.own[order[:top]])])
        part.sets[:] = [order[:m] for m in range(top + 1)]
        part.tried.update(range(top + 1))
        return part
    picked, _ = _greedy(sub, k=top, cost=None, budget=None)
    for m in range(1, picked.size + 1):
        part.settle(m, picked[:m], _value(sub, picked[:m]), total)
    if top == sites.size:
        part.settle(top, np.arange(top), total, total)
        part.tried.add(top)
    return part


def _concave_bound(known: dict[int, float | None], size: int) -> np.ndarray:
    """Upper bounds at counts ``0..size-1`` on a concave function known at a few counts.

    A concave function lies below the line through two of its points outside the interval
    between them, so each count takes the lowest such line (and the value where known).
    Counts whose value is None are left out.
    """
    counts = np.arange(size, dtype=np.float64)
    bound = np.full(size, np.inf)
    values = {m: value for m, value in known.items() if value is not None}
    at = sorted(values)
    for a, b in itertools.pairwise(at):
        line = values[a] + (values[b] - values[a]) / (b - a) * (counts - a)
        outside = (counts <= a) | (counts >= b)
        bound = np.where(outside, np.minimum(bound, line), bound)
    for a in at:
        if a < size:
            bound[a] = values[a]
    return bound


def _knapsack(tables: list[np.ndarray], k: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The most the tables give together with at most ``t`` sites, for every ``t`` in ``0..k``.

    ``tables[p][m]`` is part ``p``'s value with ``m`` sites (dynamic programming, one max-plus
    convolution per part). Also returns, per table, the count it takes at each total, for
    :func:`_counts`.
    """
    best = np.zeros(k + 1)  # best[t]: the most with at most t sites in the parts so far
    choices = []
    total = np.arange(k + 1)[:, None]
    for table in tables:
        counts = np.arange(table.size)[None, :]
        before = best[np.clip(total - counts, 0, None)]
        options = np.where(counts <= total, before + table[None, :], -np.inf)
        choice = np.argmax(options, axis=1)
        best = options[np.arange(k + 1), choice]
        choices.append(choice)
    return best, choices


def _counts(choices: list[np.ndarray], t: int) -> list[int]:
    """The count of each table in :func:`_knapsack`'s best use of at most ``t`` sites."""
    counts = []
    for choice in reversed(choices):
        counts.append(int(choice[t]))
        t -= counts[-1]
    return counts[::-1]


def _allocate(tables: list[np.ndarray], k: int) -> tuple[float, list[int]]:
    """The counts, one per table, summing to at most ``k`` whose table entries sum the most."""
    best, choices = _knapsack(tables, k)
    return float(best[k]), _counts(choices, k)


def _upper_hull(values: np.ndarray) -> np.ndarray:
    """The least concave function at least ``values`` (at counts 0, 1, ...), at those counts."""
    hull: list[int] = []
    for c in range(values.size):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # b lies on or below the line from a to c: not a corner of the hull
            if (values[b] - values[a]) * (c - a) <= (values[c] - values[a]) * (b - a):
                hull.pop()
            else:
                break
        hull.append(c)
    return np.interp(np.arange(values.size), hull, values[hull])


def _free_search(
    model: _Reduced,
    k: int,
    *,
    low: np.ndarray,
    high: np.ndarray,
    counts: tuple[int, int],
    known: np.ndarray | None,
    floor: float,
    deadline: float,
    mip_rel_gap: float,
    stop: threading.Event | None,
) -> tuple[np.ndarray, int, float]:
    """One part searched with the count it leaves the others free: its sites, their count, a bound.

    The other parts, together, give ``low[c]`` (known) and at most ``high[c]`` with ``c``
    sites, for ``c`` in ``counts`` (the interval where the whole could still improve); the
    part gets ``k - c``. The others become ``c_max - c_min`` sites without patterns whose own
    values are the increments of the least concave function over ``high`` (any ``t`` of them
    give at most its value at ``c_min + t``, the best ``t`` exactly that), on top of ``c_min``
    sites counted as a constant. One branch-and-bound then decides the part's sites and its
    count together, where a search per count would repeat the work for each. Solutions are
    valued with ``low`` and bounded with the hull over ``high``, so the bound holds and, where
    ``low`` meets ``high``, the value is the whole's. ``known`` is a site set of the part to
    start from (positions; None: greedy with swaps only) and ``floor`` what the whole must
    beat. Returns the part's sites (positions in ``model``), the count ``c`` the others get and
    a bound on the whole over that interval.
    """
    first, last = counts
    hull = _upper_hull(high[first : last + 1])
    n = model.own.size
    base = float(hull[0])
    extra = last - first
    aug = _Reduced(
        matrix=sp.csr_array(sp.hstack([model.matrix, sp.csr_array((model.weight.size, extra))])),
        weight=model.weight,
        own=np.concatenate([model.own, np.diff(hull)]),
        candidates=np.arange(n + extra),
    )
    budget = k - first

    def value_of(picked: np.ndarray) -> float:
        mine = picked[picked < n]
        return _value(model, mine) + float(low[first + picked.size - mine.size]) - base

    picked, bound = _greedy(aug, k=budget, cost=None, budget=None)
    picked = _swap_search(aug, picked, deadline=deadline)
    if known is not None:
        others = min(max(k - known.size, first), last) - first
        given = np.concatenate([known, n + np.arange(min(others, budget - known.size))])
        if given.size <= budget and value_of(given) > value_of(picked):
            picked = given
    outcome = _drive_coverage(
        aug,
        k=budget,
        cost=None,
        budget=None,
        heuristic=picked,
        value_of=value_of,
        bound=bound,
        deadline=deadline,
        mip_rel_gap=mip_rel_gap,
        use_milp=True,
        floor=floor - base,
        stop=stop,
    )
    mine = outcome.picked[outcome.picked < n]
    return mine, first + outcome.picked.size - mine.size, outcome.bound + base


def _by_parts(
    model: _Reduced,
    labels: np.ndarray,
    k: int,
    *,
    start: np.ndarray,
    bound: float,
    deadline: float,
    mip_rel_gap: float,
    floor: float | None = None,
    workers: int = 1,
    stop: threading.Event | None = None,
) -> _Outcome:
    """``k`` sites on a model of independent parts: each part solved alone, counts shared out.

    The optimum is the best sum of ``f_p(m_p)`` with ``Σ m_p ≤ k``, where ``f_p(m)`` is part
    ``p``'s optimum with ``m`` sites. Each part holds a value and a bound for every count: the
    values from greedy prefixes and the start's own sites, the bounds from LP relaxations
    (concave in ``m``, so a few counts bound all others). A knapsack over the bounds gives the
    best allocation that might exist; each round refines it where value and bound still
    differ, first by the part's LP at that count, then by the exact search (:func:`_search`,
    which may split the part again), until the allocation of the bounds is met by known values
    or the time runs out. ``bound`` is a bound known for the whole model, ``floor`` as in
    :func:`_drive`.

    A part's exact search at a count only has to show whether that count can lead to a better
    whole: it gets as its own floor what the part must exceed for that, given the best the
    other parts could do with the sites left.

    The largest part is searched once with its count free (:func:`_free_search`) rather than
    once per count, as soon as the other parts are known exactly at every count that could
    still improve the whole; until then the counts that would make them so are searched first.

    Up to ``workers`` searches run at a time, in threads (HiGHS releases the GIL while it
    solves), on different parts, or, when no other part needs one, on a count next to the one
    a part is being searched at, which the knapsack is likely to ask for next. Searches still
    running when the answer is known are stopped. ``stop`` (set by a caller's caller) ends
    this call as the deadline would.
    """
    beat = -math.inf if floor is None else floor
    groups = _groups(labels)
    alone = np.concatenate([g for g in groups if g.size == 1] + [np.zeros(0, dtype=np.int64)])
    linked = [g for g in groups if g.size > 1]
    parts = [_part(model, sites, k) for sites in [*linked, np.sort(alone)] if sites.size]
    tol = _BRANCH_TOL * max(1.0, float(model.own.sum() + model.weight.sum()))
    for part in parts:
        mine = np.flatnonzero(np.isin(part.sites, start))
        part.settle(mine.size, mine, _value(part.model, mine), part.high[mine.size])
        if part.model.weight.size:
            # the LP around the start's count bounds the others by concavity
            for m in range(max(mine.size - 1, 1), min(mine.size + 1, part.high.size - 1) + 1):
                _bound_by_lp(part, m, deadline=deadline)
    halt = threading.Event() if stop is None else stop
    running: dict[Future[Any], tuple[int, int, bool]] = {}  # part, count (-1: free), holds LP
    largest = max(range(len(parts)), key=lambda i: parts[i].model.own.size)
    whole = math.inf  # a bound on the whole from the free-count search on the largest part
    outside = math.inf  # what nothing outside that search's interval of counts beats
    free_tried = len(parts) < 2 or parts[largest].model.weight.size == 0

    def need(i: int, m: int, low: float) -> float:
        """What part ``i`` must beat with ``m`` sites for the whole to beat ``low``."""
        others = [other.high for j, other in enumerate(parts) if j != i]
        return max(low, beat) - _allocate(others, k - m)[0]

    def submit(i: int, m: int, low: float, *, lend: bool) -> None:
        part = parts[i]
        part.tried.add(m)
        root = _part_lp(part, m, deadline=deadline) if lend else None
        job = pool.submit(
            _count_search,
            part.model,
            m,
            known=part.sets[m].copy() if part.low[m] > 0 else None,
            high=float(part.high[m]),
            floor=need(i, m, low),
            root=root,
            deadline=deadline,
            mip_rel_gap=mip_rel_gap,
            stop=halt,
        )
        running[job] = (i, m, root is not None)

    def free(low: float) -> bool:
        """Search the largest part with its count free, once the others are exact where needed.

        Or, while they are not, search the other parts at the counts that would make them so.
        False when neither can be done now.
        """
        nonlocal free_tried, outside
        target = max(low, beat)
        others = [j for j in range(len(parts)) if j != largest]
        rest_low, _ = _knapsack([parts[j].low for j in others], k)
        rest_high, choices = _knapsack([parts[j].high for j in others], k)
        own = parts[largest].high
        theirs = np.arange(k + 1)
        mine = own[np.minimum(k - theirs, own.size - 1)]
        open_ = np.flatnonzero(rest_high + mine > target + tol)
        if open_.size == 0:
            return False
        first, last = int(open_[0]), int(open_[-1])
        inexact = open_[rest_high[open_] > rest_low[open_] + tol]
        busy = {i for i, _, _ in running.values()}
        wanted = []
        for c in inexact:
            for j, m in zip(others, _counts(choices, int(c)), strict=True):
                part = parts[j]
                if part.high[m] > part.low[m] + tol and m not in part.tried and j not in busy:
                    wanted.append((part.model.own.size, j, m))
        if inexact.size:
            for _, j, m in sorted(set(wanted)):
                if len(running) < workers and j not in busy:
                    submit(j, m, low, lend=False)
                    busy.add(j)
            return bool(wanted) or any(i != largest for i, _, _ in running.values())
        free_tried = True
        best_count = _allocate([part.low for part in parts], k)[1][largest]
        job = pool.submit(
            _free_search,
            parts[largest].model,
            k,
            low=rest_low,
            high=rest_high,
            counts=(first, last),
            known=parts[largest].sets[best_count].copy(),
            floor=target,
            deadline=deadline,
            mip_rel_gap=mip_rel_gap,
            stop=halt,
        )
        running[job] = (largest, -1, False)
        outside = target + tol  # the interval holds every count that could beat the target
        return True

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        while True:
            high, counts = _allocate([part.high for part in parts], k)
            high = min(high, whole)
            low, best = _allocate([part.low for part in parts], k)
            slack = max(mip_rel_gap, _PROOF_TOL) * max(1.0, abs(high))
            if high <= max(low, beat) + slack or time.perf_counter() >= deadline:
                break
            if stop is not None and stop.is_set():
                break
            lent = {i for i, _, holds in running.values() if holds}
            busy = {i for i, _, _ in running.values()}
            # the smallest parts first: they are quick, and exact values there raise the
            # floors the large parts' searches get
            open_ = [
                (part.model.own.size, i, m)
                for i, (part, m) in enumerate(zip(parts, counts, strict=True))
                if part.high[m] > part.low[m] + tol
            ]
            open_.sort()
            refined = False
            for _, i, m in open_:
                if m not in parts[i].lp and i not in lent:
                    _bound_by_lp(parts[i], m, deadline=deadline)
                    refined = True
            if refined:
                continue
            for _, i, m in open_:
                if len(running) < workers and m not in parts[i].tried and i not in busy:
                    if i == largest and not free_tried and free(low):
                        break
                    submit(i, m, low, lend=True)
                    busy.add(i)
            if len(running) < workers:
                ahead = _next_count(parts, running, low, need, tol)
                if ahead is not None:
                    submit(*ahead, low, lend=False)
            if not running:
                break  # every open count has had its exact search: nothing more to learn
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for job in finished:
                i, m, _ = running.pop(job)
                if m < 0:
                    sites, theirs, bound_there = job.result()
                    m = min(k - theirs, parts[i].high.size - 1)
                    value = _value(parts[i].model, sites)
                    parts[i].settle(m, sites, value, parts[i].high[m])
                    whole = min(whole, max(bound_there, outside))
                    continue
                solved = job.result()
                value = _value(parts[i].model, solved.picked)
                parts[i].settle(m, solved.picked, value, solved.bound)
    finally:
        if stop is None:
            halt.set()  # searches the answer no longer needs
        pool.shutdown(wait=True)
    picked = np.concatenate([part.sites[part.sets[m]] for part, m in zip(parts, best, strict=True)])
    optimal = high <= max(low, beat) + max(mip_rel_gap, _PROOF_TOL) * max(1.0, abs(high))
    logger.debug(
        "%d parts: %.8g with the counts %s, bound %.8g", len(parts), low, best, min(bound, high)
    )
    return _Outcome(
        np.sort(picked), min(bound, max(high, low)), OPTIMAL if optimal else TIME_LIMIT, MILP
    )


def _next_count(
    parts: list[_Part],
    running: dict[Future[_Outcome], tuple[int, int, bool]],
    low: float,
    need: Callable[[int, int, float], float],
    tol: float,
) -> tuple[int, int] | None:
    """A count next to one a part is being searched at, still open: the part and the count.

    Of those whose bound exceeds both the value known and what the part must beat, the one
    with the widest margin; None when there is none.
    """
    best: tuple[float, int, int] | None = None
    for i, m, _ in running.values():
        if m < 0:
            continue  # a search with the count free
        part = parts[i]
        for ahead in (m + 1, m - 1):
            if not 0 < ahead < part.high.size or ahead in part.tried:
                continue
            margin = part.high[ahead] - max(part.low[ahead], need(i, ahead, low))
            if margin > tol and (best is None or margin > best[0]):
                best = (margin, i, ahead)
    return None if best is None else (best[1], best[2])


def _part_lp(part: _Part, count: int, *, deadline: float) -> _Relaxed | None:
    """The LP relaxation of ``count`` sites on a part, with its warm solver (None: no time).

    The first call solves the LP by interior point; later ones move the count and re-solve
    from the last basis.
    """
    model = part.model
    if part.relaxed is not None and part.relaxed.solver is not None:
        moved = _moved(part.relaxed, model.weight.size, count, deadline=deadline, maximize=True)
        if moved is not None:
            part.relaxed = moved
            return moved
    c, constraints, upper, _ = _coverage_program(model, np.ones(model.own.size), float(count))
    part.relaxed = _relaxation(c, constraints, upper, deadline=deadline, maximize=True)
    return part.relaxed


def _bound_by_lp(part: _Part, count: int, *, deadline: float) -> None:
    """Solve a part's LP relaxation at ``count`` sites and tighten its bounds at every count."""
    relaxed = _part_lp(part, count, deadline=deadline)
    part.lp[count] = None if relaxed is None else relaxed.value
    if relaxed is not None:
        part.high[:] = np.minimum(part.high, _concave_bound(part.lp, part.high.size))
        part.carry_bounds_down()


def _count_search(
    model: _Reduced,
    count: int,
    *,
    known: np.ndarray | None,
    high: float,
    floor: float,
    root: _Relaxed | None,
    deadline: float,
    mip_rel_gap: float,
    stop: threading.Event | None,
) -> _Outcome:
    """The exact search for ``count`` sites on one part, needing only to beat ``floor``.

    It starts from the better of greedy with swaps and the ``known`` set (None: none), with
    ``high`` a bound known for the count and ``root`` the part's LP at that count when the
    caller lends it (its solver is the search's until it returns). It runs in a worker thread
    and touches nothing else the caller holds. Positions are in ``model``.
    """
    picked, bound = _greedy(model, k=count, cost=None, budget=None)
    picked = _swap_search(model, picked, deadline=deadline)
    if known is not None and _value(model, known) > _value(model, picked):
        picked = known
    return _search(
        model,
        root=root,
        k=count,
        cost=None,
        budget=None,
        heuristic=picked,
        bound=min(bound, high),
        deadline=deadline,
        mip_rel_gap=mip_rel_gap,
        use_milp=True,
        floor=floor,
        stop=stop,
    )


def _rounded(
    model: _Reduced,
    x: np.ndarray,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    deadline: float,
) -> np.ndarray:
    """A site set from LP values ``x``: the largest first while the count or the budget allows.

    For a count, the ``k`` largest, improved by swaps (:func:`_swap_search`).
    """
    order = np.argsort(-x, kind="stable")
    if k is not None:
        return _swap_search(model, order[:k], deadline=deadline)
    assert cost is not None and budget is not None
    picked, spent = [], 0.0
    for j in order[x[order] > 0]:
        if spent + cost[j] <= budget:
            picked.append(int(j))
            spent += float(cost[j])
    return np.asarray(picked, dtype=np.int64)


def _start(model: _Reduced, picked: np.ndarray) -> np.ndarray:
    """The variables of :func:`_coverage_program` for a site set: ``x``, then ``z``."""
    x = np.zeros(model.own.size)
    x[picked] = 1.0
    return np.concatenate([x, np.minimum(model.matrix @ x, 1.0)])


def _value(model: _Reduced, picked: np.ndarray) -> float:
    """Objective of a site set on a reduced model."""
    reached = np.diff(sp.csc_array(model.matrix)[:, picked].tocsr().indptr) > 0
    return float(model.own[picked].sum() + model.weight[reached].sum())


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
    count = _as_count(k)
    limit, gap, most = _options(time_limit_s, mip_rel_gap, max_variables)
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
    count = _as_count(k)
    limit, _, _ = _options(time_limit_s, 0.0, 1)
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
    time_limit_s, mip_rel_gap, max_variables : keyword-only
        As :func:`maximal_covering`.

    Returns
    -------
    Solution
        Sites in order of marginal gain (residents, not per yuan).

    Raises
    ------
    InputError
        As :func:`maximal_covering`; also when a cost is NaN, infinite or negative (the message
        names the candidate index) or the budget is not a finite number ≥ 0.

    """
    start = time.perf_counter()
    matrix, values, mask, uncoverable = _prepare(cover, weight, covered)
    costs = _as_values(cost, matrix.shape[1], "cost", "candidate")
    money = _as_number(budget, "budget", "a finite amount of yuan ≥ 0")
    limit, gap, most = _options(time_limit_s, mip_rel_gap, max_variables)
    each = float(costs[0]) if costs.size else 0.0
    flat = costs.size > 0 and bool(np.all(costs == each))
    # one price for all: the budget buys a number of sites (every site when they are free)
    count = None if not flat else costs.size if each == 0 else _affordable(money, each)
    return _solve_coverage(
        matrix,
        values,
        mask,
        uncoverable,
        k=count,
        cost=None if flat else costs,
        budget=None if flat else money,
        time_limit_s=limit,
        mip_rel_gap=gap,
        max_variables=most,
        exact=True,
        start=start,
    )


def _affordable(budget: float, price: float) -> int:
    """How many sites at ``price`` (> 0) yuan a ``budget`` pays for, never more."""
    count = int(budget // price)
    while (count + 1) * price <= budget:
        count += 1
    while count > 0 and count * price > budget:
        count -= 1
    return count


# --------------------------------------------------------------------------------------------
# set covering


def _set_cover_reduce(
    active: sp.csr_array,
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Reduce a set-covering instance (every row must be covered) to a smaller one.

    Repeats until nothing changes: merge identical rows; a row reached by one site forces that
    site (it is chosen, and the rows it reaches are done); drop dominated sites; drop rows
    implied by a smaller row. Returns the remaining matrix (rows × kept sites), the original
    indices of the kept sites, and the forced sites.
    """
    matrix = active
    sites = np.arange(active.shape[1])
    forced: list[np.ndarray] = []
    while matrix.shape[0]:
        before = matrix.shape
        matrix, _ = _merge_rows(matrix, np.zeros(matrix.shape[0]))
        single = np.diff(matrix.indptr) == 1
        if single.any():
            must = np.unique(matrix.indices[matrix.indptr[:-1][single]])
            forced.append(sites[must])
            hit = np.diff(sp.csc_array(matrix)[:, must].tocsr().indptr) > 0
            matrix = sp.csr_array(matrix[np.flatnonzero(~hit)])
            if not matrix.shape[0]:
                break
        keep = np.flatnonzero(~_dominated_columns(matrix, None))
        matrix, sites = sp.csr_array(matrix[:, keep]), sites[keep]
        matrix, _ = _merge_rows(matrix, np.zeros(matrix.shape[0]))
        matrix = sp.csr_array(matrix[np.flatnonzero(~_dominated_rows(matrix))])
        if matrix.shape == before:
            break
    if not matrix.shape[0]:
        matrix, sites = sp.csr_array((0, 0), dtype=np.bool_), np.zeros(0, dtype=np.int64)
    done = np.concatenate(forced) if forced else np.zeros(0, dtype=np.int64)
    return matrix, sites, done


def _greedy_set_cover(matrix: sp.csr_array) -> np.ndarray:
    """Classic greedy (the site covering the most uncovered rows), then redundant sites dropped.

    A site is redundant when every row it reaches is reached by another chosen site; they are
    checked in reverse order of choice.
    """
    model = _Reduced(
        matrix=matrix.astype(np.float64),
        weight=np.ones(matrix.shape[0]),
        own=np.zeros(matrix.shape[1]),
        candidates=np.arange(matrix.shape[1]),
    )
    picked, _ = _greedy(model, k=None, cost=None, budget=None)
    csc = matrix.tocsc()
    count = np.diff(sp.csc_array(csc[:, picked]).tocsr().indptr)
    keep = np.ones(picked.size, dtype=np.bool_)
    for position in range(picked.size - 1, -1, -1):
        j = picked[position]
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if (count[rows] >= 2).all():
            keep[position] = False
            count[rows] -= 1
    return picked[keep]


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
    limit, gap_limit, most = _options(time_limit_s, mip_rel_gap, max_variables)
    deadline = start + limit
    rows = np.flatnonzero(~mask & (np.diff(matrix.indptr) > 0))
    full = sp.csr_array(matrix[rows])
    reduced, sites, forced = _set_cover_reduce(full)
    m, n = reduced.shape

    def done(picked: np.ndarray, bound: float, status: str, method: str) -> Solution:
        chosen, gains = _order_by_gain(full, values[rows], np.concatenate([forced, picked]))
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
            proof_tol=0.0,  # whole numbers of sites: proved only when equal
        )

    if m == 0:
        return done(np.zeros(0, dtype=np.int64), float(forced.size), OPTIMAL, MILP)
    # parts no point links are independent set-covering problems: solved one by one, the
    # smallest first, their numbers of sites and bounds add up
    outcomes = [
        _set_cover_part(
            sp.csr_array(reduced[:, part]),
            part,
            deadline=deadline,
            mip_rel_gap=gap_limit,
            use_milp=n <= most,
        )
        for part in _groups(_parts(reduced))
    ]
    if n > most:
        logger.warning("set cover has %d sites (max_variables=%d); greedy used", n, most)
    statuses = {outcome.status for outcome in outcomes}
    status = next(worst for worst in (HEURISTIC, TIME_LIMIT, OPTIMAL) if worst in statuses)
    method = MILP if any(outcome.method == MILP for outcome in outcomes) else GREEDY
    picked = np.concatenate([outcome.picked for outcome in outcomes])
    bound = sum(math.ceil(outcome.bound - 1e-6) for outcome in outcomes)
    return done(sites[picked], forced.size + bound, status, method)


def _set_cover_part(
    columns: sp.csr_array,
    part: np.ndarray,
    *,
    deadline: float,
    mip_rel_gap: float,
    use_milp: bool,
) -> _Outcome:
    """Set covering on one part: the reduced model's columns ``part`` and the rows they reach.

    ``columns`` holds those columns over all rows; the sites returned are positions in the
    reduced model.
    """
    matrix = sp.csr_array(columns[np.flatnonzero(np.diff(columns.indptr) > 0)])
    n = part.size
    # a cheap lower bound: every site covers at most the largest column's rows
    trivial = math.ceil(matrix.shape[0] / max(int(np.diff(matrix.tocsc().indptr).max()), 1))
    outcome = _drive(
        np.ones(n),
        [LinearConstraint(matrix.astype(np.float64), 1.0, np.inf)],
        np.ones(n),
        np.ones(n),
        heuristic=_greedy_set_cover(matrix),
        value_of=lambda picked: float(picked.size),
        bound=float(trivial),
        maximize=False,
        deadline=deadline,
        mip_rel_gap=mip_rel_gap,
        use_milp=use_milp,
        integral=True,
    )
    return _Outcome(part[outcome.picked], outcome.bound, outcome.status, outcome.method)


# --------------------------------------------------------------------------------------------
# capacitated covering


@dataclass(frozen=True)
class _Flow:
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


def _flow_constraints(
    flow: _Flow, open_new: np.ndarray | None
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


def _served(flow: _Flow, open_new: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Most weight served with the existing facilities and the ``open_new`` candidates.

    Returns the value and the flows on the new pairs (zero where the site is closed) and on the
    old pairs. Solved by HiGHS as an LP (a transportation problem), with no time limit: it is
    polynomial and small next to the MILP.
    """
    c, constraints, upper, _ = _flow_constraints(flow, open_new)
    if c.size == 0:
        return 0.0, np.zeros(flow.new_site.size), np.zeros(flow.old_site.size)
    run = _highs(c, constraints, upper, None, deadline=math.inf, mip_rel_gap=0.0, maximize=True)
    if run.x is None or run.value is None:  # pragma: no cover - an LP this simple always solves
        msg = "HiGHS could not solve the assignment LP"
        raise RuntimeError(msg)
    pairs = np.flatnonzero(np.isin(flow.new_site, open_new))
    y = np.zeros(flow.new_site.size)
    y[pairs] = run.x[: pairs.size]
    return run.value, y, run.x[pairs.size :]


def _lazy_greedy(
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
    matrix = _as_cover(cover)
    n_demand, n_sites = matrix.shape
    values = _as_values(weight, n_demand, "weight", "demand point")
    cap = _as_values(capacity, n_sites, "capacity", "candidate", allow_inf=True)
    count = _as_count(k)
    limit, gap_limit, most = _options(time_limit_s, mip_rel_gap, max_variables)
    if (existing_cover is None) != (covered_capacity is None):
        given = "existing_cover" if existing_cover is not None else "covered_capacity"
        missing = "covered_capacity" if existing_cover is not None else "existing_cover"
        msg = f"{given} was given without {missing}; give both for existing facilities, or neither"
        raise InputError(msg)
    if existing_cover is None:
        existing = sp.csr_array((n_demand, 0), dtype=np.bool_)
    else:
        existing = _as_cover(existing_cover, "existing_cover")
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
        else _as_values(
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
    indptr, indices = both.indptr, both.indices
    seen: dict[bytes, int] = {}
    group = np.fromiter(
        (
            seen.setdefault(indices[indptr[i] : indptr[i + 1]].tobytes(), len(seen))
            for i in range(rows.size)
        ),
        dtype=np.int64,
        count=rows.size,
    )
    _, first = np.unique(group, return_index=True)
    group_weight = np.bincount(group, weights=values[rows], minlength=first.size)
    new = sp.coo_array(matrix[rows[first]])
    old = sp.coo_array(existing[rows[first]])
    reach_weight = np.bincount(new.col, weights=group_weight[new.row], minlength=n_sites)
    old_reach = np.bincount(old.col, weights=group_weight[old.row], minlength=n_old)
    flow = _Flow(
        weight=group_weight,
        new_group=new.row.astype(np.int64),
        new_site=new.col.astype(np.int64),
        old_group=old.row.astype(np.int64),
        old_site=old.col.astype(np.int64),
        cap=np.minimum(cap, reach_weight),
        old_cap=np.minimum(old_cap, old_reach),
    )
    tol = 1e-9 * max(1.0, float(group_weight.sum()))
    baseline, _, _ = _served(flow, np.zeros(0, dtype=np.int64))
    useful = np.flatnonzero(flow.cap > tol)
    evaluations: dict[tuple[int, ...], float] = {}

    def evaluate(sites: list[int]) -> float:
        key = tuple(sorted(sites))
        if key not in evaluations:
            evaluations[key] = _served(flow, np.asarray(key, dtype=np.int64))[0]
        return evaluations[key]

    def done(picked: np.ndarray, total_bound: float, status: str, method: str) -> Solution:
        picked = np.sort(picked)
        order, gains, _ = _lazy_greedy(evaluate, flow.cap[picked], picked, len(picked), tol)
        chosen = np.asarray(order, dtype=np.int64)
        total, y, u = _served(flow, chosen)
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
            assignment=assignment,
        )

    everything = min(
        float(group_weight.sum()), baseline + float(np.sort(flow.cap)[::-1][:count].sum())
    )
    if useful.size == 0 or count == 0:
        return done(np.zeros(0, dtype=np.int64), baseline, OPTIMAL, MILP)
    if count >= useful.size:
        return done(useful, evaluate(useful.tolist()), OPTIMAL, MILP)

    c, constraints, upper, n_x = _flow_constraints(flow, None)
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
        run = _highs(
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
    greedy, _, greedy_bound = _lazy_greedy(evaluate, flow.cap[useful], useful, count, tol)
    bound = min(everything, greedy_bound)
    status = TIME_LIMIT if timed_out else HEURISTIC
    if c.size > most:
        relaxed = _relaxation(c, constraints, upper, deadline=deadline, maximize=True)
        if relaxed is not None:
            bound = min(bound, relaxed.value + tol)
    return done(np.asarray(greedy, dtype=np.int64), bound, status, GREEDY)
