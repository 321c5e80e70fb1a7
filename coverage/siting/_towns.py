"""The exact search on a reduced covering model: its restart, and the search by parts.

:func:`exact_search` runs :func:`~carecircle.siting._solve.drive_coverage` until a better solution
has fixed :data:`_RESTART_SHARE` of the sites, then once more on the sites left. For a number of
sites that smaller model often falls apart into parts no demand links (the towns of a district):
:func:`_by_parts` then solves each part on its own for the counts that matter
(:func:`_count_search`, or :func:`_free_search` with the largest part's count free, several at a
time in threads) and shares the sites out by a knapsack over the parts' values and bounds
(:func:`_allocate`). :func:`part_labels` and :func:`label_groups` also split set covering into its
towns.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._highs import BRANCH_TOL, Relaxed, relaxation, with_row_bound
from ._outcome import MILP, OPTIMAL, PROOF_TOL, TIME_LIMIT, Outcome
from ._reduction import Reduced, objective_of, restricted
from ._solve import coverage_program, drive_coverage, greedy_sites, swap_search

logger = logging.getLogger(__name__)

_RESTART_SHARE = 0.25
"""Share of the sites the incumbent's reduced-cost fixing must exclude before the exact search
restarts on a model rebuilt without them (fewer patterns, faster LPs)."""


def exact_search(
    model: Reduced,
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
    root: Relaxed | None = None,
    workers: int = 1,
    stop: threading.Event | None = None,
) -> Outcome:
    """The exact search on a reduced model from a heuristic site set; positions in ``model``.

    :func:`~carecircle.siting._solve.drive_program` runs on the whole model until a better solution
    has fixed :data:`_RESTART_SHARE` of the sites, then once more on a model of the sites left
    (:func:`restricted`). For a count of sites, that smaller model often falls apart into parts no
    pattern links (the towns of a district, once the sites between them are excluded): then each
    part is solved on its own for the counts that matter and the counts are shared out between the
    parts (:func:`_by_parts`), instead of one search over the product of their trees, with up to
    ``workers`` searches on parts at a time. ``floor``, ``root`` (the model's LP relaxation when
    already solved) and ``stop``: as in :func:`~carecircle.siting._solve.drive_program`.
    """
    at, at_cost, kept = model, cost, np.arange(model.own.size)
    for phase in range(2):
        outcome = drive_coverage(
            at,
            k=k,
            cost=at_cost,
            budget=budget,
            heuristic=heuristic,
            value_of=partial(objective_of, at),
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
        at, kept = restricted(at, keep), kept[keep]
        at_cost = None if at_cost is None else at_cost[keep]
        labels = part_labels(at.matrix)
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
    return Outcome(kept[outcome.picked], outcome.bound, outcome.status, outcome.method)


# --------------------------------------------------------------------------------------------
# parts


def part_labels(matrix: sp.csr_array) -> np.ndarray:
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


def label_groups(labels: np.ndarray) -> list[np.ndarray]:
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
    model: Reduced
    low: np.ndarray
    high: np.ndarray
    sets: list[np.ndarray]
    lp: dict[int, float | None]
    tried: set[int]
    relaxed: Relaxed | None = None
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


def _part(model: Reduced, sites: np.ndarray, k: int) -> _Part:
    """A part of ``model`` (its ``sites``) with greedy values for every count up to ``k``."""
    rows = np.flatnonzero(np.diff(sp.csc_array(model.matrix[:, sites]).tocsr().indptr) > 0)
    sub = Reduced(
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
    picked, _ = greedy_sites(sub, k=top, cost=None, budget=None)
    for m in range(1, picked.size + 1):
        part.settle(m, picked[:m], objective_of(sub, picked[:m]), total)
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


# --------------------------------------------------------------------------------------------
# the search by parts


def _free_search(
    model: Reduced,
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
    aug = Reduced(
        matrix=sp.csr_array(sp.hstack([model.matrix, sp.csr_array((model.weight.size, extra))])),
        weight=model.weight,
        own=np.concatenate([model.own, np.diff(hull)]),
        candidates=np.arange(n + extra),
    )
    budget = k - first

    def value_of(picked: np.ndarray) -> float:
        mine = picked[picked < n]
        return objective_of(model, mine) + float(low[first + picked.size - mine.size]) - base

    picked, bound = greedy_sites(aug, k=budget, cost=None, budget=None)
    picked = swap_search(aug, picked, deadline=deadline)
    if known is not None:
        others = min(max(k - known.size, first), last) - first
        given = np.concatenate([known, n + np.arange(min(others, budget - known.size))])
        if given.size <= budget and value_of(given) > value_of(picked):
            picked = given
    outcome = drive_coverage(
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
    model: Reduced,
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
) -> Outcome:
    """``k`` sites on a model of independent parts: each part solved alone, counts shared out.

    The optimum is the best sum of ``f_p(m_p)`` with ``Σ m_p ≤ k``, where ``f_p(m)`` is part
    ``p``'s optimum with ``m`` sites. Each part holds a value and a bound for every count: the
    values from greedy prefixes and the start's own sites, the bounds from LP relaxations
    (concave in ``m``, so a few counts bound all others). A knapsack over the bounds gives the
    best allocation that might exist; each round refines it where value and bound still
    differ, first by the part's LP at that count, then by the exact search (:func:`exact_search`,
    which may split the part again), until the allocation of the bounds is met by known values
    or the time runs out. ``bound`` is a bound known for the whole model, ``floor`` as in
    :func:`~carecircle.siting._solve.drive_program`.

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
    groups = label_groups(labels)
    alone = np.concatenate([g for g in groups if g.size == 1] + [np.zeros(0, dtype=np.int64)])
    linked = [g for g in groups if g.size > 1]
    parts = [_part(model, sites, k) for sites in [*linked, np.sort(alone)] if sites.size]
    tol = BRANCH_TOL * max(1.0, float(model.own.sum() + model.weight.sum()))
    for part in parts:
        mine = np.flatnonzero(np.isin(part.sites, start))
        part.settle(mine.size, mine, objective_of(part.model, mine), part.high[mine.size])
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
            slack = max(mip_rel_gap, PROOF_TOL) * max(1.0, abs(high))
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
                    value = objective_of(parts[i].model, sites)
                    parts[i].settle(m, sites, value, parts[i].high[m])
                    whole = min(whole, max(bound_there, outside))
                    continue
                solved = job.result()
                value = objective_of(parts[i].model, solved.picked)
                parts[i].settle(m, solved.picked, value, solved.bound)
    finally:
        if stop is None:
            halt.set()  # searches the answer no longer needs
        pool.shutdown(wait=True)
    picked = np.concatenate([part.sites[part.sets[m]] for part, m in zip(parts, best, strict=True)])
    optimal = high <= max(low, beat) + max(mip_rel_gap, PROOF_TOL) * max(1.0, abs(high))
    logger.debug(
        "%d parts: %.8g with the counts %s, bound %.8g", len(parts), low, best, min(bound, high)
    )
    return Outcome(
        np.sort(picked), min(bound, max(high, low)), OPTIMAL if optimal else TIME_LIMIT, MILP
    )


def _next_count(
    parts: list[_Part],
    running: dict[Future[Outcome], tuple[int, int, bool]],
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


def _part_lp(part: _Part, count: int, *, deadline: float) -> Relaxed | None:
    """The LP relaxation of ``count`` sites on a part, with its warm solver (None: no time).

    The first call solves the LP by interior point; later ones move the count and re-solve
    from the last basis.
    """
    model = part.model
    if part.relaxed is not None and part.relaxed.solver is not None:
        moved = with_row_bound(
            part.relaxed, model.weight.size, count, deadline=deadline, maximize=True
        )
        if moved is not None:
            part.relaxed = moved
            return moved
    c, constraints, upper, _ = coverage_program(model, np.ones(model.own.size), float(count))
    part.relaxed = relaxation(c, constraints, upper, deadline=deadline, maximize=True)
    return part.relaxed


def _bound_by_lp(part: _Part, count: int, *, deadline: float) -> None:
    """Solve a part's LP relaxation at ``count`` sites and tighten its bounds at every count."""
    relaxed = _part_lp(part, count, deadline=deadline)
    part.lp[count] = None if relaxed is None else relaxed.value
    if relaxed is not None:
        part.high[:] = np.minimum(part.high, _concave_bound(part.lp, part.high.size))
        part.carry_bounds_down()


def _count_search(
    model: Reduced,
    count: int,
    *,
    known: np.ndarray | None,
    high: float,
    floor: float,
    root: Relaxed | None,
    deadline: float,
    mip_rel_gap: float,
    stop: threading.Event | None,
) -> Outcome:
    """The exact search for ``count`` sites on one part, needing only to beat ``floor``.

    It starts from the better of greedy with swaps and the ``known`` set (None: none), with
    ``high`` a bound known for the count and ``root`` the part's LP at that count when the
    caller lends it (its solver is the search's until it returns). It runs in a worker thread
    and touches nothing else the caller holds. Positions are in ``model``.
    """
    picked, bound = greedy_sites(model, k=count, cost=None, budget=None)
    picked = swap_search(model, picked, deadline=deadline)
    if known is not None and objective_of(model, known) > objective_of(model, picked):
        picked = known
    return exact_search(
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
