from __future__ import annotations

import numpy as np
import pytest
import shapely

from carecircle import isochrones, network, travel


def _polygon(net, x, y, *, limit_s, speed=1.0, buffer_m=10.0):
    sources = travel.snap(net, np.array([x]), np.array([y]))
    ((_, shape),) = list(
        isochrones.polygons(net, sources, speed_m_s=speed, limit_s=limit_s, buffer_m=buffer_m)
    )
    return shape


def test_partial_last_edge_on_a_street(street):
    x0, y0 = street.x[0], street.y[0]
    shape = _polygon(street, x0 + 150, y0, limit_s=120)  # from x = 150, 120 m each way
    assert shape.contains(shapely.Point(x0 + 35, y0))
    assert shape.contains(shapely.Point(x0 + 265, y0))
    assert not shape.contains(shapely.Point(x0 + 15, y0))  # 135 m away + more than 10 m buffer
    assert not shape.contains(shapely.Point(x0 + 285, y0))


def test_ring_of_streets_leaves_the_block_inside_as_a_hole():
    # a 200 m square block, all four sides reached, nothing inside
    ox, oy = 600_000.0, 3_300_000.0
    x = np.array([0.0, 200.0, 200.0, 0.0]) + ox
    y = np.array([0.0, 0.0, 200.0, 200.0]) + oy
    net = network.from_arrays(x, y, np.arange(4), np.array([1, 2, 3, 0]), crs="EPSG:32648")
    shape = _polygon(net, ox + 100, oy, limit_s=1000, buffer_m=20.0)
    for px, py in [(100, 0), (200, 100), (100, 200), (0, 100)]:
        assert shape.contains(shapely.Point(ox + px, oy + py))
    assert not shape.contains(shapely.Point(ox + 100, oy + 100))  # the block's middle
    assert len(shape.interiors) == 1
    hull = shape.convex_hull
    assert hull.contains(shapely.Point(ox + 100, oy + 100))  # what a convex hull gets wrong


def test_reached_edge_points_inside_far_points_outside():
    rng = np.random.default_rng(5)
    grid = network.synthetic_grid(12, 12, spacing_m=60.0)
    lengths = grid.length_m * rng.uniform(1.0, 1.8, size=grid.n_edges)
    net = network.from_arrays(grid.x, grid.y, grid.u, grid.v, crs=grid.crs, length_m=lengths)
    cx, cy = net.x[66] + 20.0, net.y[66]
    limit, speed, buffer_m = 300.0, 1.0, 15.0
    shape = _polygon(net, cx, cy, limit_s=limit, speed=speed, buffer_m=buffer_m)
    # sample points along every edge and compute their true walking time
    fractions = np.linspace(0, 1, 7)
    edge = np.repeat(np.arange(net.n_edges), fractions.size)
    frac = np.tile(fractions, net.n_edges)
    points = shapely.line_interpolate_point(net.geometry[edge], frac, normalized=True)
    sources = travel.snap(net, np.array([cx]), np.array([cy]))
    targets = travel.Snap(edge, frac, np.zeros(edge.size))
    time_s, _ = travel.nearest_times(net, sources, targets, speed_m_s=speed)
    inside = shapely.contains(shape, points) | shapely.touches(shape, points)
    assert inside[time_s <= limit - 1e-6].all()
    # the reached lines themselves, and points farther than the buffer from all of them
    ((_, nodes, seconds),) = list(travel.reach(net, sources, speed_m_s=speed, limit_s=limit))
    lines = isochrones.reached_lines(
        net,
        nodes,
        seconds * speed,
        budget_m=limit * speed,
        own_edge=int(sources.edge[0]),
        own_fraction=float(sources.fraction[0]),
        own_access_m=float(sources.access_m[0]),
    )
    reached = shapely.union_all(lines)
    far = shapely.distance(points, reached) > buffer_m + 0.5
    assert far.any() and (~far).any()
    assert not inside[far].any()
    # walking times along the reached lines are within the limit
    assert (time_s[shapely.distance(points, reached) < 1e-6] <= limit + 1e-6).all()


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_curved_edges_are_cut_along_their_shape(fraction):
    ox, oy = 600_000.0, 3_300_000.0
    curve = shapely.LineString([(ox, oy), (ox + 100, oy), (ox + 100, oy + 100)])
    net = network.WalkNetwork(
        crs=network.CRS.from_user_input("EPSG:32648"),
        node_id=np.array([1, 2]),
        x=np.array([ox, ox + 100]),
        y=np.array([oy, oy + 100]),
        u=np.array([0]),
        v=np.array([1]),
        length_m=np.array([200.0]),
        geometry=np.array([curve], dtype=object),
    )
    lines = isochrones.reached_lines(
        net,
        np.array([0]),
        np.array([0.0]),
        budget_m=150.0,
        own_edge=0,
        own_fraction=fraction,
        own_access_m=1e9,
    )
    reach = shapely.union_all(lines)
    assert reach.length == pytest.approx(150.0)
    assert reach.distance(shapely.Point(ox + 100, oy + 50)) < 1e-6  # round the corner


def test_the_merged_polygon_is_the_union_of_the_sources_polygons():
    # a 12 x 12 grid of 100 m blocks, eight sources: off a node, on edges, two on one edge
    net = network.synthetic_grid(12, 12, spacing_m=100.0)
    ox, oy = net.x.min(), net.y.min()
    xs = ox + np.array([130.0, 150.0, 420.0, 800.0, 805.0, 1000.0, 260.0, 1100.0])
    ys = oy + np.array([0.0, 0.0, 310.0, 700.0, 650.0, 200.0, 900.0, 1090.0])
    sources = travel.snap(net, xs, ys)
    for limit_s in (90.0, 240.0):
        each = [
            shape
            for _, shape in isochrones.polygons(
                net, sources, speed_m_s=1.0, limit_s=limit_s, buffer_m=15.0
            )
        ]
        union = shapely.union_all(each)
        merged = isochrones.merged_polygon(
            net, sources, speed_m_s=1.0, limit_s=limit_s, buffer_m=15.0
        )
        assert merged.area == pytest.approx(union.area, rel=1e-6)
        assert merged.symmetric_difference(union).area < 1e-6 * union.area
    empty = travel.snap(net, np.empty(0), np.empty(0))
    assert isochrones.merged_polygon(net, empty, speed_m_s=1.0, limit_s=60.0).is_empty
