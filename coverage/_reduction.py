"""Reducing a covering model before the search, without changing its optimum.

:func:`_reduce` merges demand points reached by the same sites (:func:`_merge_rows`), drops
dominated sites (:func:`_dominated_columns`) and folds points one site alone reaches into that
site's own coefficient (:func:`_folded`). The :class:`_Reduced` model it returns is what the
searches of :mod:`carecircle._solve` and :mod:`carecircle._towns` work on; :func:`_restricted`
narrows it to some of its sites and :func:`_value` is the objective of a site set on it.
:func:`_dominated_rows` serves set covering's reductions (:mod:`carecircle._set_cover`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

_DOMINANCE_WORK = 50_000_000
"""Most pairwise products the dominance checks may compute (about that many bytes × 16)."""


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


def _value(model: _Reduced, picked: np.ndarray) -> float:
    """Objective of a site set on a reduced model."""
    reached = np.diff(sp.csc_array(model.matrix)[:, picked].tocsr().indptr) > 0
    return float(model.own[picked].sum() + model.weight[reached].sum())
