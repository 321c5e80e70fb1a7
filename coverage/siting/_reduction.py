"""Reducing a covering model before the search, without changing its optimum.

:func:`reduce_model` merges demand points reached by the same sites (:func:`merge_rows`), drops
dominated sites (:func:`dominated_columns`) and folds points one site alone reaches into that site's
own coefficient (:func:`_folded`). The :class:`Reduced` model it returns is what the searches of
:mod:`carecircle.siting._solve` and :mod:`carecircle.siting._towns` work on; :func:`restricted`
narrows it to some of its sites and :func:`objective_of` is the objective of a site set on it.
:func:`dominated_rows` serves set covering's reductions (:mod:`carecircle.siting._set_cover`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

_DOMINANCE_WORK = 500_000_000
"""Most pairwise products the dominance checks may compute: about 5 s (1,000 million took 10 s)."""

_CHUNK_WORK = 20_000_000
"""Products per block of rows, so that one block's overlaps stay within a few hundred MB."""


def row_groups(matrix: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group (rows with the same set of columns share one) and each group's first row.

    ``matrix`` must have sorted indices. Groups are numbered in order of first appearance.
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
    return group, first


def merge_rows(matrix: sp.csr_array, weight: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Rows with the same set of columns merged into one, their weights summed.

    ``matrix`` must have sorted indices. The merged rows keep the order of first appearance.
    """
    group, first = row_groups(matrix)
    merged = sp.csr_array(matrix[first])
    return merged, np.bincount(group, weights=weight, minlength=len(first))


def _contained(rows: sp.csr_array, what: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Pairs ``(i, r)``, ``i != r``, where every column of row ``i`` is also in row ``r``.

    The overlaps ``rows @ rows.T`` are computed a block of rows at a time, so memory stays
    bounded whatever the size. None (and a debug line naming ``what``) when that would take
    more than ``_DOMINANCE_WORK`` products.
    """
    ones = rows.astype(np.int32)
    across = sp.csr_array(ones.T)
    size = np.diff(ones.indptr)
    # products row i needs: the lengths of the columns it touches
    owner = np.repeat(np.arange(ones.shape[0]), size)
    per_row = np.bincount(owner, weights=np.diff(across.indptr)[ones.indices], minlength=size.size)
    total = int(per_row.sum())
    if total > _DOMINANCE_WORK:
        logger.debug("%s dominance skipped: %d products", what, total)
        return None
    block = (np.cumsum(per_row) - per_row) // _CHUNK_WORK
    starts = np.flatnonzero(np.diff(block, prepend=-1))  # none when there are no rows
    found_i, found_r = [], []
    for start, stop in zip(starts, [*starts[1:], size.size][: starts.size], strict=True):
        overlap = sp.coo_array(ones[start:stop] @ across)
        i, r = overlap.row + start, overlap.col
        hit = (i != r) & (overlap.data == size[i])
        found_i.append(i[hit])
        found_r.append(r[hit])
    empty = [np.zeros(0, dtype=np.int64)]
    return np.concatenate(found_i or empty), np.concatenate(found_r or empty)


def dominated_columns(matrix: sp.csr_array, cost: np.ndarray | None) -> np.ndarray:
    """Columns that can be dropped without changing the optimum.

    Column ``i`` is dropped when another column ``j`` covers every row ``i`` covers and costs no
    more (``cost`` None: all equal), and ``j`` covers a row more, is cheaper, or is the same
    set at the same cost with a lower index. That relation is a strict partial order, so every
    dropped column has a kept one that beats it, and swapping it in never loses coverage nor
    adds cost. Empty columns are always dropped. Skipped (only empty columns dropped) when the
    pairwise overlap would take more than ``_DOMINANCE_WORK`` products.
    """
    columns = sp.csr_array(matrix.T)
    size = np.diff(columns.indptr)
    dropped = size == 0
    pairs = _contained(columns, "column")
    if pairs is None:
        return dropped
    i, j = pairs
    c = np.zeros(matrix.shape[1]) if cost is None else cost
    strict = size[j] > size[i]
    beats = (strict & (c[j] <= c[i])) | (~strict & ((c[j] < c[i]) | ((c[j] == c[i]) & (j < i))))
    dropped[i[beats]] = True
    return dropped


def dominated_rows(matrix: sp.csr_array) -> np.ndarray:
    """Rows implied by another: any column covering row ``i`` also covers row ``r`` ⊋ ``i``.

    For set covering only (rows are constraints "cover me"; covering the smaller set covers the
    larger). Rows must be distinct (merged) and non-empty. Skipped when too much work.
    """
    dropped = np.zeros(matrix.shape[0], dtype=np.bool_)
    pairs = _contained(matrix, "row")
    if pairs is None:
        return dropped
    i, r = pairs
    size = np.diff(matrix.indptr)
    dropped[r[size[r] > size[i]]] = True
    return dropped


@dataclass(frozen=True)
class Reduced:
    """A covering model reduced for the MILP: distinct demand patterns × kept candidates.

    The objective of a site set is ``own[S].sum() + weight[rows touched by S].sum()``, equal to
    the newly covered weight of the same sites on the full data.
    """

    matrix: sp.csr_array
    weight: np.ndarray
    own: np.ndarray
    candidates: np.ndarray


def reduce_model(active: sp.csr_array, weight: np.ndarray, cost: np.ndarray | None) -> Reduced:
    """Merge identical rows, drop dominated candidates, fold single-candidate rows into sites.

    ``active`` holds only rows that count (not yet covered, reachable, weight > 0) and the
    candidates that may be chosen.
    """
    matrix, merged = merge_rows(active, weight)
    keep = np.flatnonzero(~dominated_columns(matrix, cost))
    matrix, merged = merge_rows(sp.csr_array(matrix[:, keep]), merged)
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


def restricted(model: Reduced, keep: np.ndarray) -> Reduced:
    """The model on the sites ``keep`` only (positions), with the same objective on them.

    Patterns no kept site reaches are dropped, patterns reached by the same kept sites merged,
    and those reached by one kept site folded into its own coefficient. Nothing is dropped as
    dominated, so every set of kept sites keeps its position and value.
    """
    sub = sp.csr_array(model.matrix[:, keep])
    sub.sort_indices()
    live = np.flatnonzero(np.diff(sub.indptr) > 0)
    matrix, merged = merge_rows(sp.csr_array(sub[live]), model.weight[live])
    return _folded(matrix, merged, model.own[keep], model.candidates[keep])


def _folded(
    matrix: sp.csr_array, weight: np.ndarray, own: np.ndarray, candidates: np.ndarray
) -> Reduced:
    """The model with rows reached by one site folded into that site's ``own`` coefficient.

    Such a row adds its weight to that site alone: ``z_i = x_j`` at any optimum.
    """
    single = np.diff(matrix.indptr) == 1
    own = own + np.bincount(
        matrix.indices[matrix.indptr[:-1][single]], weights=weight[single], minlength=own.size
    )
    rest = np.flatnonzero(~single)
    return Reduced(
        matrix=sp.csr_array(matrix[rest]).astype(np.float64),
        weight=weight[rest],
        own=own,
        candidates=candidates,
    )


def objective_of(model: Reduced, picked: np.ndarray) -> float:
    """Objective of a site set on a reduced model."""
    reached = np.diff(sp.csc_array(model.matrix)[:, picked].tocsr().indptr) > 0
    return float(model.own[picked].sum() + model.weight[reached].sum())
