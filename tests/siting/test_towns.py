"""The exact search's restart on the free sites, and its search by parts (towns no demand links)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, milp
from siting_instances import all_sets, town_instance

from carecircle.siting import _reduction, _solve, _towns
from carecircle.siting import models as siting


def _weak_start(monkeypatch):
    """The exact search starts from the first k sites, so it must improve and fix, then restart."""
    for module in (siting, _towns):  # the modules that call greedy
        monkeypatch.setattr(module, "greedy_sites", lambda model, k, **_: (np.arange(k), np.inf))
    for module in (siting, _towns, _solve):  # and the swaps
        monkeypatch.setattr(module, "swap_search", lambda model, picked, **_: picked)
    monkeypatch.setattr(_towns, "_RESTART_SHARE", 1e-9)  # restart at the first new fixing


def test_a_restart_on_the_free_sites_reaches_the_same_optimum(monkeypatch, caplog):
    instances = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        points, sites = rng.uniform(0, 20, (800, 2)), rng.uniform(0, 20, (120, 2))
        cover = np.linalg.norm(points[:, None] - sites[None], axis=2) < 3.0
        weight = rng.integers(1, 20, 800).astype(float)
        instances.append((cover, weight, siting.maximal_covering(cover, weight, 10)))
    assert _weak_start_runs_saying(monkeypatch, caplog, instances, 10, "restart on") >= 2


def _weak_start_runs_saying(monkeypatch, caplog, instances, k, message):
    """Solve each (cover, weight, plain answer) again from a weak start: the same optimum,
    proved. Returns how many of those runs logged ``message``."""
    _weak_start(monkeypatch)
    saying = 0
    for cover, weight, plain in instances:
        caplog.clear()
        with caplog.at_level("DEBUG", logger="carecircle.siting._towns"):
            again = siting.maximal_covering(cover, weight, k)
        saying += any(message in record.getMessage() for record in caplog.records)
        assert plain.status == again.status == "optimal"
        assert again.objective == pytest.approx(plain.objective)
        assert weight[cover[:, again.chosen].any(axis=1)].sum() == again.objective
        assert again.bound == pytest.approx(again.objective, rel=1e-6)
        assert again.chosen.size <= k
    return saying


# ---------------------------------------------------------------------------------------------
# Independent parts: each solved alone, the count shared out between them.


def test_parts_are_the_sites_linked_by_shared_patterns():
    matrix = np.array([[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 1, 0, 0, 0]], dtype=float)
    model = _reduction.Reduced(sp.csr_array(matrix), np.ones(3), np.zeros(5), np.arange(5))
    labels = _towns.part_labels(model.matrix)
    assert labels[0] == labels[1]
    assert labels[2] == labels[3]
    assert len({labels[0], labels[2], labels[4]}) == 3  # site 4 shares nothing: alone


@pytest.mark.parametrize("seed", range(20))
def test_sharing_the_count_out_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    tables = [rng.integers(0, 20, int(rng.integers(1, 5))).astype(float) for _ in range(3)]
    k = int(rng.integers(0, 7))
    value, counts = _towns._allocate(tables, k)
    best = max(
        sum(table[m] for table, m in zip(tables, ms, strict=True))
        for ms in itertools.product(*(range(table.size) for table in tables))
        if sum(ms) <= k
    )
    assert value == best
    assert sum(counts) <= k
    assert sum(table[m] for table, m in zip(tables, counts, strict=True)) == best


@pytest.mark.parametrize("seed", range(20))
def test_a_concave_bound_is_never_below_the_function(seed):
    rng = np.random.default_rng(seed)
    steps = np.sort(rng.uniform(0, 10, 12))[::-1]  # falling increments: concave
    function = np.concatenate([[0.0], np.cumsum(steps)])
    counts = rng.choice(13, size=int(rng.integers(1, 5)), replace=False)
    known: dict[int, float | None] = {int(m): float(function[m]) for m in counts}
    known[int(rng.integers(0, 13))] = None  # a count whose LP failed is left out
    bound = _towns._concave_bound(known, 13)
    assert np.all(bound >= function - 1e-9)
    for m, value in known.items():
        if value is not None:
            assert bound[m] == pytest.approx(value)


def _solved_by_parts(model, k, start, *, floor=None, workers=1, deadline=np.inf):
    """:func:`_towns._by_parts` on a model's own parts, exactly, with no bound known."""
    return _towns._by_parts(
        model,
        _towns.part_labels(model.matrix),
        k,
        start=start,
        bound=np.inf,
        deadline=deadline,
        mip_rel_gap=0.0,
        floor=floor,
        workers=workers,
    )


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("seed", range(20))
def test_solving_by_parts_matches_brute_force(seed, workers):
    pytest.importorskip("highspy")
    rng, cover, weight, model = town_instance(seed)
    k = int(rng.integers(1, 6))
    best = max(weight[cover[:, s].any(axis=1)].sum() for s in all_sets(cover.shape[1], k))
    start, _ = _solve.greedy_sites(model, k=k, cost=None, budget=None)
    for floor, exact in ((None, True), (best - 0.5, True), (best + 0.5, False)):
        outcome = _solved_by_parts(model, k, start, floor=floor, workers=workers)
        assert outcome.status == "optimal"
        assert outcome.picked.size <= k
        value = _reduction.objective_of(model, outcome.picked)
        if exact:
            assert value == best
            assert outcome.bound == pytest.approx(best, rel=1e-6)
        else:  # nothing beats the floor, and the bound shows it
            assert value <= best <= outcome.bound <= floor * (1 + 1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_solving_by_parts_past_its_deadline_keeps_the_start_and_a_true_bound(seed):
    rng, cover, weight, model = town_instance(seed)
    k = int(rng.integers(2, 6))
    best = max(weight[cover[:, s].any(axis=1)].sum() for s in all_sets(cover.shape[1], k))
    start, _ = _solve.greedy_sites(model, k=k, cost=None, budget=None)
    outcome = _solved_by_parts(model, k, start, deadline=0.0)  # long past
    assert outcome.picked.size <= k
    assert _reduction.objective_of(model, outcome.picked) >= _reduction.objective_of(model, start)
    assert outcome.bound >= best - 1e-9
    assert outcome.status in ("optimal", "time_limit")
    if outcome.status == "optimal":  # greedy values alone met the bounds
        assert _reduction.objective_of(model, outcome.picked) == best


@pytest.mark.parametrize("seed", range(20))
def test_the_upper_hull_is_the_least_concave_function_above(seed):
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.uniform(0, 10, int(rng.integers(1, 12))))
    hull = _towns._upper_hull(values)
    assert np.all(hull >= values - 1e-9)
    assert np.all(np.diff(hull, 2) <= 1e-9)  # concave
    assert hull[0] == values[0] and hull[-1] == values[-1]
    # least: every value of the hull lies on a chord between two of the values
    for c in range(values.size):
        chords = [
            values[a] + (values[b] - values[a]) * (c - a) / (b - a)
            for a in range(c + 1)
            for b in range(c, values.size)
            if a < b
        ]
        assert hull[c] == pytest.approx(max(chords, default=values[c]))
    steps = np.sort(rng.uniform(0, 10, 8))[::-1]
    concave = np.concatenate([[0.0], np.cumsum(steps)])
    assert np.allclose(_towns._upper_hull(concave), concave)


@pytest.mark.parametrize("seed", range(20))
def test_a_part_searched_with_its_count_free_matches_brute_force(seed):
    pytest.importorskip("highspy")
    rng, cover, weight, model = town_instance(seed, n_towns=1, n_points=14, n_sites=7)
    k = int(rng.integers(2, 8))
    n = cover.shape[1]
    value = [
        max(weight[cover[:, s].any(axis=1)].sum() for s in all_sets(n, min(m, n)))
        for m in range(k + 1)
    ]
    # what the other parts give with c sites: known (low) and a bound (high); not concave
    low = np.concatenate([[0.0], np.cumsum(rng.integers(0, 12, k))]).astype(float)
    exact = seed % 2 == 0
    high = low if exact else low + rng.integers(0, 4, k + 1)
    first = int(rng.integers(0, k))
    last = int(rng.integers(first, k + 1))
    sites, theirs, bound = _towns._free_search(
        model,
        k,
        low=low,
        high=high,
        counts=(first, last),
        known=None,
        floor=-np.inf,
        deadline=np.inf,
        mip_rel_gap=0.0,
        stop=None,
    )
    assert first <= theirs <= last
    assert sites.size <= k - theirs
    got = _reduction.objective_of(model, sites) + low[theirs]
    best_low = max(value[k - c] + low[c] for c in range(first, last + 1))
    best_high = max(value[k - c] + high[c] for c in range(first, last + 1))
    assert bound >= best_high - 1e-6
    if exact and got < best_low - 1e-6:
        # low meets high but its hull may rise above it where low is not concave: the search
        # then cannot tell, and its bound says so
        assert bound > got + 1e-6
    if exact and np.allclose(_towns._upper_hull(low[first : last + 1]), low[first : last + 1]):
        assert got == best_low
        assert bound == pytest.approx(best_low, rel=1e-6)


def _multi_town(seed):
    """Two to four towns of 150 points and 10 to 40 sites, a count, and one MILP's optimum."""
    rng = np.random.default_rng(seed)
    towns = []
    for _ in range(int(rng.integers(2, 5))):
        points = rng.uniform(0, 10, (150, 2))
        sites = rng.uniform(0, 10, (int(rng.integers(10, 40)), 2))
        towns.append(np.linalg.norm(points[:, None] - sites[None], axis=2) < rng.uniform(1.5, 3))
    cover = sp.block_diag(towns).toarray().astype(bool)
    cover = cover[cover.any(axis=1)]
    weight = rng.integers(1, 20, cover.shape[0]).astype(float)
    k = int(rng.integers(3, 20))
    m, n = cover.shape
    model = _reduction.Reduced(sp.csr_array(cover.astype(float)), weight, np.zeros(n), np.arange(n))
    link = sp.hstack([-sp.csr_array(cover.astype(float)), sp.identity(m)], format="csr")
    count = np.concatenate([np.ones(n), np.zeros(m)])[None, :]
    whole = milp(
        -np.concatenate([np.zeros(n), weight]),
        constraints=[LinearConstraint(link, -np.inf, 0), LinearConstraint(count, -np.inf, k)],
        integrality=np.concatenate([np.ones(n), np.zeros(m)]),
        bounds=(0, 1),
    )
    return model, k, -whole.fun


def test_solving_by_parts_with_the_largest_count_free_matches_one_milp(monkeypatch):
    pytest.importorskip("highspy")
    free = _towns._free_search
    seen = []
    monkeypatch.setattr(_towns, "_free_search", lambda *a, **kw: seen.append(1) or free(*a, **kw))
    used = 0
    for seed in range(12):
        model, k, best = _multi_town(seed)
        start, _ = _solve.greedy_sites(model, k=k, cost=None, budget=None)
        before = len(seen)
        for workers in (1, 2):
            outcome = _solved_by_parts(model, k, start, workers=workers)
            value = _reduction.objective_of(model, outcome.picked)
            assert outcome.status == "optimal"
            assert outcome.picked.size <= k
            assert value == pytest.approx(best)
            assert outcome.bound == pytest.approx(value, rel=1e-6)
        used += len(seen) > before
    # most of these instances need the exact search on their largest town, with the count free
    assert used >= 3


def test_maximal_covering_on_towns_shares_the_sites_out_after_a_restart(monkeypatch, caplog):
    instances = []
    for seed in range(6):
        _, cover, weight, _ = town_instance(seed, n_towns=4, n_points=40, n_sites=10)
        instances.append((cover, weight, siting.maximal_covering(cover, weight, 6)))
    assert _weak_start_runs_saying(monkeypatch, caplog, instances, 6, "parts:") >= 3
