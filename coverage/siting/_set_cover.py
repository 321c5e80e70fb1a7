"""Set covering's internals: its reductions, its greedy and its search on one part.

:func:`set_cover_reduce` merges points, forces the sites a point alone needs and drops dominated
sites and points until nothing changes; :func:`_greedy_set_cover` is the classic greedy with
redundant sites dropped; :func:`set_cover_part` solves one part that no point links to the others
with :func:`~carecircle.siting._solve.drive_program`. :func:`carecircle.siting.set_covering` puts
them together.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint

from ._outcome import Outcome
from ._reduction import Reduced, dominated_columns, dominated_rows, merge_rows
from ._solve import drive_program, greedy_sites


def set_cover_reduce(
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
        matrix, _ = merge_rows(matrix, np.zeros(matrix.shape[0]))
        single = np.diff(matrix.indptr) == 1
        if single.any():
            must = np.unique(matrix.indices[matrix.indptr[:-1][single]])
            forced.append(sites[must])
            hit = np.diff(sp.csc_array(matrix)[:, must].tocsr().indptr) > 0
            matrix = sp.csr_array(matrix[np.flatnonzero(~hit)])
            if not matrix.shape[0]:
                break
        keep = np.flatnonzero(~dominated_columns(matrix, None))
        matrix, sites = sp.csr_array(matrix[:, keep]), sites[keep]
        matrix, _ = merge_rows(matrix, np.zeros(matrix.shape[0]))
        matrix = sp.csr_array(matrix[np.flatnonzero(~dominated_rows(matrix))])
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
    model = Reduced(
        matrix=matrix.astype(np.float64),
        weight=np.ones(matrix.shape[0]),
        own=np.zeros(matrix.shape[1]),
        candidates=np.arange(matrix.shape[1]),
    )
    picked, _ = greedy_sites(model, k=None, cost=None, budget=None)
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


def set_cover_part(
    columns: sp.csr_array,
    part: np.ndarray,
    *,
    deadline: float,
    mip_rel_gap: float,
    use_milp: bool,
) -> Outcome:
    """Set covering on one part: the reduced model's columns ``part`` and the rows they reach.

    ``columns`` holds those columns over all rows; the sites returned are positions in the
    reduced model.
    """
    matrix = sp.csr_array(columns[np.flatnonzero(np.diff(columns.indptr) > 0)])
    n = part.size
    # a cheap lower bound: every site covers at most the largest column's rows
    trivial = math.ceil(matrix.shape[0] / max(int(np.diff(matrix.tocsc().indptr).max()), 1))
    outcome = drive_program(
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
    return Outcome(part[outcome.picked], outcome.bound, outcome.status, outcome.method)
