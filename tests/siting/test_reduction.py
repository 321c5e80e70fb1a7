"""Reducing a covering model: restricted models keep their values; dominance by brute force."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from siting_instances import all_sets, random_instance

from carecircle.siting import _reduction


@pytest.mark.parametrize("seed", range(20))
def test_a_restricted_model_keeps_the_value_of_every_set_of_kept_sites(seed):
    rng, cover, weight, _ = random_instance(seed, n_demand=30, n_sites=10)
    active = sp.csr_array(cover[cover.any(axis=1)])
    model = _reduction.reduce_model(active, weight[cover.any(axis=1)], None)
    keep = np.flatnonzero(rng.random(model.own.size) < 0.6)
    smaller = _reduction.restricted(model, keep)
    assert smaller.candidates.tolist() == model.candidates[keep].tolist()
    assert smaller.weight.size <= model.weight.size
    for sites in all_sets(keep.size, 3):
        at = np.asarray(sites, dtype=np.int64)
        assert _reduction.objective_of(smaller, at) == pytest.approx(
            _reduction.objective_of(model, keep[at])
        )


def _subsets(sets):
    """Brute force: pairs (i, r), i != r, with set i within set r."""
    return {(i, r) for i, a in enumerate(sets) for r, b in enumerate(sets) if i != r and a <= b}


@pytest.mark.parametrize("chunk", [1, 7, 20_000_000])
@pytest.mark.parametrize("seed", range(6))
def test_dominance_matches_brute_force_whatever_the_blocks(monkeypatch, seed, chunk):
    monkeypatch.setattr(_reduction, "_CHUNK_WORK", chunk)
    rng = np.random.default_rng(seed)
    dense = rng.random((40, 12)) < 0.25
    dense[:, 3] = False  # an empty column, always dropped
    dense = dense[dense.any(axis=1)]
    matrix, _ = _reduction.merge_rows(sp.csr_array(dense), np.zeros(len(dense)))
    rows = [set(np.flatnonzero(row)) for row in matrix.toarray()]
    cols = [set(np.flatnonzero(col)) for col in matrix.toarray().T]

    implied = {r for i, r in _subsets(rows) if len(rows[r]) > len(rows[i])}
    assert set(np.flatnonzero(_reduction.dominated_rows(matrix))) == implied
    cost = rng.integers(1, 3, len(cols)).astype(float)
    beaten = {
        i
        for i, j in _subsets(cols)
        if (len(cols[j]) > len(cols[i]) and cost[j] <= cost[i])
        or (len(cols[j]) == len(cols[i]) and (cost[j] < cost[i] or (cost[j] == cost[i] and j < i)))
    } | {i for i, col in enumerate(cols) if not col}
    assert set(np.flatnonzero(_reduction.dominated_columns(matrix, cost))) == beaten
    assert 3 in beaten and implied  # the instance has something to find


def test_dominance_on_no_rows():
    empty = sp.csr_array((0, 3), dtype=np.bool_)
    assert _reduction.dominated_rows(empty).size == 0
    assert _reduction.dominated_columns(empty, None).tolist() == [True, True, True]


def test_dominance_is_skipped_beyond_its_work_limit(monkeypatch, caplog):
    monkeypatch.setattr(_reduction, "_DOMINANCE_WORK", 2)
    matrix = sp.csr_array(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0]], dtype=bool))
    with caplog.at_level("DEBUG", logger="carecircle.siting._reduction"):
        assert not _reduction.dominated_rows(matrix).any()
        assert _reduction.dominated_columns(matrix, None).tolist() == [False, False, True]
    assert "row dominance skipped" in caplog.text and "column dominance skipped" in caplog.text
