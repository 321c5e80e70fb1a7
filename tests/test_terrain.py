"""Slopes from a DEM: hand-computable walking metres up and down, and the DEM's problems."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from carecircle import network, terrain, travel
from carecircle.errors import InputError
from carecircle.policy import Walking

CRS = "EPSG:32648"  # UTM 48N, Chongqing
X0, Y0 = 600_000.0, 3_300_000.0
AROUND = (X0 - 1000.0, Y0 - 1000.0, X0 + 1000.0, Y0 + 1000.0)
CENTRED = (X0 - 1005.0, Y0 - 1005.0, X0 + 1005.0, Y0 + 1005.0)  # 10 m cells centred on X0 + 10k

# Tobler normalised: f(S) = exp(-3.5 (|S + 0.05| - 0.05)), worked out by hand.
UP_10 = math.exp(-3.5 * 0.10)  # S = +0.10: |0.15| - 0.05 = 0.10
DOWN_10 = 1.0  # S = -0.10: |-0.05| - 0.05 = 0
DOWN_4 = math.exp(3.5 * 0.04)  # S = -0.04: |0.01| - 0.05 = -0.04, faster than flat


def _street(length_m: float) -> network.WalkNetwork:
    """One straight street from (X0, Y0) east for ``length_m`` metres."""
    return network.from_arrays([X0, X0 + length_m], [Y0, Y0], [0], [1], crs=CRS)


def _dem(tmp_path: Path, surface, *, name: str = "dem.tif", **options) -> terrain.Elevation:  # type: ignore[no-untyped-def]
    options.setdefault("bounds", AROUND)
    options.setdefault("cell", 10.0)
    options.setdefault("crs", CRS)
    path = terrain.write_synthetic_dem(tmp_path / name, surface, dtype="float64", **options)
    return terrain.read_dem(path, net_crs=CRS, bounds=AROUND, margin_m=0.0)


def _plane(grade_x: float, grade_y: float = 0.0):  # type: ignore[no-untyped-def]
    return lambda x, y: 300.0 + grade_x * (x - X0) + grade_y * (y - Y0)


def test_uniform_grade_street_up_and_down(tmp_path: Path) -> None:
    net = _street(100.0)
    costs = terrain.slope_costs(net, _dem(tmp_path, _plane(0.10)), Walking())
    assert costs.uv_m[0] == pytest.approx(100.0 / UP_10, rel=1e-9)  # 141.91 m uphill
    assert costs.vu_m[0] == pytest.approx(100.0 / DOWN_10, rel=1e-9)  # 100 m down
    assert costs.rise_m[0] == pytest.approx(10.0, rel=1e-9)
    assert costs.climb_m[0] == pytest.approx(10.0, rel=1e-9)
    assert costs.n_nodata_edges == costs.n_outside_edges == 0


def test_cap_on_downhill_speed(tmp_path: Path) -> None:
    net = _street(100.0)
    elev = _dem(tmp_path, _plane(-0.04))  # downhill from u to v
    capped = terrain.slope_costs(net, elev, Walking(max_speed_factor=1.0))
    free = terrain.slope_costs(net, elev, Walking(max_speed_factor=1.5))
    assert capped.uv_m[0] == pytest.approx(100.0, rel=1e-9)  # never faster than flat
    assert free.uv_m[0] == pytest.approx(100.0 / DOWN_4, rel=1e-9)  # 86.94 m
    up_4 = math.exp(-3.5 * 0.04)  # S = +0.04: |0.09| - 0.05
    assert capped.vu_m[0] == pytest.approx(100.0 / up_4, rel=1e-9)


def test_samples_follow_a_bent_geometry(tmp_path: Path) -> None:
    # 50 m east up a 10 % grade, then 50 m north along the contour
    net = network.from_arrays([X0, X0 + 50.0], [Y0, Y0 + 50.0], [0], [1], crs=CRS)
    bent = shapely.linestrings([[X0, Y0], [X0 + 50.0, Y0], [X0 + 50.0, Y0 + 50.0]])
    net = dataclasses.replace(net, geometry=np.array([bent]), length_m=np.array([100.0]))
    costs = terrain.slope_costs(net, _dem(tmp_path, _plane(0.10)), Walking())
    assert costs.uv_m[0] == pytest.approx(50.0 / UP_10 + 50.0, rel=1e-9)
    assert costs.vu_m[0] == pytest.approx(100.0, rel=1e-9)


def test_street_over_a_ridge_costs_more_both_ways(tmp_path: Path) -> None:
    # a tent roof along x, its ridge (10 m above the ends) at X0 + 100 on a cell centre
    net = _street(200.0)
    elev = _dem(tmp_path, lambda x, y: 50.0 - 0.10 * np.abs(x - (X0 + 100.0)), bounds=CENTRED)
    costs = terrain.slope_costs(net, elev, Walking())
    both = 100.0 / UP_10 + 100.0 / DOWN_10
    assert costs.uv_m[0] == pytest.approx(both, rel=1e-9)
    assert costs.vu_m[0] == pytest.approx(both, rel=1e-9)
    assert costs.rise_m[0] == pytest.approx(0.0, abs=1e-9)
    assert costs.climb_m[0] == pytest.approx(10.0, rel=1e-9)


def test_ridge_shorter_than_the_spacing_is_still_sampled(tmp_path: Path) -> None:
    # samples every 500 m on a 100 m street: the middle is sampled all the same
    net = _street(100.0)
    elev = _dem(tmp_path, lambda x, y: 50.0 - 0.10 * np.abs(x - (X0 + 50.0)), bounds=CENTRED)
    costs = terrain.slope_costs(net, elev, Walking(dem_spacing_m=500.0))
    assert costs.uv_m[0] == pytest.approx(50.0 / UP_10 + 50.0, rel=1e-9)
    assert costs.climb_m[0] == pytest.approx(5.0, rel=1e-9)


def test_no_slope_model_gives_lengths(tmp_path: Path) -> None:
    net = _street(100.0)
    costs = terrain.slope_costs(net, _dem(tmp_path, _plane(0.10)), Walking(slope_model="none"))
    np.testing.assert_array_equal(costs.uv_m, net.length_m)
    np.testing.assert_array_equal(costs.vu_m, net.length_m)


def test_dem_in_degrees_gives_the_same_as_in_utm(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    x = X0 + rng.uniform(-600, 600, 40)
    y = Y0 + rng.uniform(-600, 600, 40)
    u, v = rng.integers(0, 40, 60), rng.integers(0, 40, 60)
    keep = u != v
    net = network.from_arrays(x, y, u[keep], v[keep], crs=CRS)
    plane = _plane(0.06, -0.03)
    utm = terrain.slope_costs(net, _dem(tmp_path, plane), Walking())

    to_utm = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    lon0, lat0, lon1, lat1 = to_utm.transform_bounds(*AROUND, direction="INVERSE")

    def plane_of_degrees(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return plane(*to_utm.transform(lon, lat))

    geographic = _dem(
        tmp_path,
        plane_of_degrees,
        name="srtm_like.tif",
        bounds=(lon0, lat0, lon1, lat1),
        cell=1.0 / 3600.0,  # one arc-second, as SRTM
        crs="EPSG:4326",
    )
    assert geographic.crs.is_geographic
    costs = terrain.slope_costs(net, geographic, Walking())
    np.testing.assert_allclose(costs.rise_m, utm.rise_m, atol=0.01)
    np.testing.assert_allclose(costs.uv_m, utm.uv_m, rtol=1e-4)
    np.testing.assert_allclose(costs.vu_m, utm.vu_m, rtol=1e-4)
    assert not np.allclose(costs.uv_m, net.length_m)


def test_nodata_along_an_edge_counts_flat_and_is_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # cells centred 45 m and 55 m along the street (x in 40..60) hold nodata: the samples
    # at 40, 50 and 60 m need them, so stretches 30-40 .. 60-70 m are flat; six 10 m
    # stretches stay at 10 %
    net = _street(100.0)
    plane = _plane(0.10)

    def holed(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        hole = (x > X0 + 40.0) & (x < X0 + 60.0)
        return np.where(hole, np.nan, plane(x, y))

    elev = _dem(tmp_path, holed)
    with caplog.at_level(logging.WARNING, logger="carecircle.terrain"):
        costs = terrain.slope_costs(net, elev, Walking())
    assert costs.uv_m[0] == pytest.approx(60.0 / UP_10 + 40.0, rel=1e-9)
    assert costs.vu_m[0] == pytest.approx(100.0, rel=1e-9)
    assert costs.climb_m[0] == pytest.approx(6.0, rel=1e-9)
    assert costs.rise_m[0] == pytest.approx(10.0, rel=1e-9)
    assert (costs.n_nodata_edges, costs.n_outside_edges) == (1, 0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "1 of 1 edges" in lines[0]


@pytest.mark.parametrize("kind", ["int16 -32768", "NaN, no nodata tag", "internal mask"])
def test_every_way_of_marking_nodata_is_unknown(tmp_path: Path, kind: str) -> None:
    # the hole of the test above, marked as SRTM and AW3D30 (int16), as a float file
    # without a nodata value, and as a GDAL mask band
    import rasterio

    net = _street(100.0)
    plane = _plane(0.10)

    def hole(x: np.ndarray) -> np.ndarray:
        return (x > X0 + 40.0) & (x < X0 + 60.0)

    def holed(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where(hole(x), np.nan, plane(x, y))

    path = tmp_path / "dem.tif"
    if kind == "int16 -32768":  # heights 300.5, 301.5 ... kept as 300, 301 ...
        options = {"dtype": "int16", "nodata": -32768}
        terrain.write_synthetic_dem(path, holed, bounds=AROUND, cell=10.0, crs=CRS, **options)
    elif kind == "NaN, no nodata tag":
        options = {"dtype": "float32", "nodata": None}
        terrain.write_synthetic_dem(path, holed, bounds=AROUND, cell=10.0, crs=CRS, **options)
    else:
        terrain.write_synthetic_dem(path, plane, bounds=AROUND, cell=10.0, crs=CRS, nodata=None)
        with rasterio.open(path, "r+") as dem:
            cols = AROUND[0] + 10.0 * (np.arange(dem.width) + 0.5)
            valid = np.where(hole(cols), 0, 255).astype("uint8")
            dem.write_mask(np.tile(valid, (dem.height, 1)))
    with rasterio.open(path) as check:
        assert (check.nodata is None) == (kind != "int16 -32768")
    elev = terrain.read_dem(path, net_crs=CRS, bounds=AROUND, margin_m=0.0)
    costs = terrain.slope_costs(net, elev, Walking())
    assert costs.uv_m[0] == pytest.approx(60.0 / UP_10 + 40.0, rel=1e-6)
    assert costs.n_nodata_edges == 1


def test_sample_spacing_must_be_positive(tmp_path: Path) -> None:
    elev = _dem(tmp_path, _plane(0.1))
    message = _one_line_error(
        lambda: terrain.slope_costs(_street(100.0), elev, Walking(dem_spacing_m=0.0))
    )
    assert "dem_spacing_m" in message


def test_edge_leaving_the_dem_is_flat_outside_and_counted(tmp_path: Path) -> None:
    # the DEM ends 50 m along the street (x = X0 + 50): no samples beyond it are known
    net = network.from_arrays([X0, X0 + 40.0, X0 + 100.0], [Y0, Y0, Y0], [0, 1], [1, 2], crs=CRS)
    path = terrain.write_synthetic_dem(
        tmp_path / "half.tif",
        _plane(0.10),
        bounds=(X0 - 1000.0, Y0 - 1000.0, X0 + 50.0, Y0 + 1000.0),
        cell=10.0,
        crs=CRS,
        dtype="float64",
    )
    elev = terrain.read_dem(path, net_crs=CRS, bounds=net.bounds())
    costs = terrain.slope_costs(net, elev, Walking())
    assert (costs.n_nodata_edges, costs.n_outside_edges) == (0, 1)
    assert costs.uv_m[0] == pytest.approx(40.0 / UP_10, rel=1e-9)
    # samples at 40, 50 (edge cell: 45..50 m holds the last centre's value) then outside
    assert costs.uv_m[1] < 60.0 / UP_10
    assert np.isnan(costs.rise_m[1])


def test_access_walks_up_down_and_unknown(tmp_path: Path) -> None:
    elev = _dem(tmp_path, _plane(0.10))
    x0 = np.array([X0, X0 + 100.0, X0, X0 + 5000.0])
    x1 = np.array([X0 + 100.0, X0, X0, X0 + 5100.0])
    y = np.full(4, Y0)
    walk = terrain.access_walk_m(elev, Walking(), x0, y, x1, y)
    np.testing.assert_allclose(walk, [100.0 / UP_10, 100.0, 0.0, 100.0], rtol=1e-9)
    flat = terrain.access_walk_m(elev, Walking(slope_model="none"), x0, y, x1, y)
    np.testing.assert_array_equal(flat, [100.0, 100.0, 0.0, 100.0])


def test_elevation_is_bilinear_between_cell_centres(tmp_path: Path) -> None:
    # cells of 10 m holding 1000 + x * y / 1000 at their centres (0 to 2000 m, elevations):
    # bilinear gives exactly that
    elev = _dem(tmp_path, lambda x, y: 1000.0 + (x - X0) * (y - Y0) / 1000.0)
    x = X0 + np.array([5.0, 12.0, 33.3])
    y = Y0 + np.array([5.0, 27.0, -41.0])
    np.testing.assert_allclose(elev.at(x, y), 1000.0 + (x - X0) * (y - Y0) / 1000.0, atol=1e-9)
    assert np.isnan(terrain.elevation_at(elev, np.array([X0 + 9999.0]), np.array([Y0])))[0]


def test_elevation_needs_only_the_cells_it_weighs(tmp_path: Path) -> None:
    # the cell centred (X0 + 15, Y0 + 5) holds nodata: at the centre next to it the elevation
    # is that cell's own; between the two it is unknown
    def holed(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where((np.abs(x - X0 - 15.0) < 1) & (np.abs(y - Y0 - 5.0) < 1), np.nan, 7.0)

    elev = _dem(tmp_path, holed)
    z = elev.at(X0 + np.array([5.0, 10.0, 5.0]), Y0 + np.array([5.0, 5.0, 10.0]))
    np.testing.assert_array_equal(z[[0, 2]], [7.0, 7.0])
    assert np.isnan(z[1])


def _one_line_error(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_dem_without_crs_is_one_line(tmp_path: Path) -> None:
    path = terrain.write_synthetic_dem(
        tmp_path / "bare.tif", _plane(0.1), bounds=AROUND, cell=10.0, crs=None
    )
    message = _one_line_error(lambda: terrain.read_dem(path, net_crs=CRS, bounds=AROUND))
    assert "bare.tif" in message
    assert "no coordinate reference system (CRS)" in message


def test_dem_elsewhere_is_one_line(tmp_path: Path) -> None:
    far = (X0 + 50_000.0, Y0, X0 + 52_000.0, Y0 + 2_000.0)
    path = terrain.write_synthetic_dem(
        tmp_path / "far.tif", _plane(0.1), bounds=far, cell=10.0, crs=CRS
    )
    message = _one_line_error(lambda: terrain.read_dem(path, net_crs=CRS, bounds=AROUND))
    assert "does not overlap the network" in message


def test_dem_all_nodata_is_one_line(tmp_path: Path) -> None:
    path = terrain.write_synthetic_dem(
        tmp_path / "empty.tif",
        lambda x, y: np.full(np.shape(x), np.nan),
        bounds=AROUND,
        cell=10.0,
        crs=CRS,
    )
    message = _one_line_error(lambda: terrain.read_dem(path, net_crs=CRS, bounds=AROUND))
    assert "only nodata" in message


def test_not_a_raster_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "dem.tif"
    path.write_text("id,height\n1,20\n")
    message = _one_line_error(lambda: terrain.read_dem(path, net_crs=CRS, bounds=AROUND))
    assert "cannot be read as a DEM raster" in message
    missing = tmp_path / "nowhere.tif"
    assert "nowhere.tif" in _one_line_error(
        lambda: terrain.read_dem(missing, net_crs=CRS, bounds=AROUND)
    )


@pytest.mark.parametrize("seed", range(12))
def test_times_to_a_facility_match_networkx_on_a_random_dem(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 30))
    x = X0 + rng.uniform(-800, 800, n)
    y = Y0 + rng.uniform(-800, 800, n)
    m = int(rng.integers(n, 3 * n))
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = u != v
    net = network.from_arrays(x, y, u[keep], v[keep], crs=CRS)
    # a rough random DEM: 100 m cells, 0..60 m, so grades up to tens of per cent
    heights = rng.uniform(0.0, 60.0, (20, 20))

    def rough(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        col = np.clip(((px - AROUND[0]) // 100).astype(int), 0, 19)
        row = np.clip(((py - AROUND[1]) // 100).astype(int), 0, 19)
        return heights[row, col]

    elev = _dem(tmp_path, rough, cell=100.0)
    costs = terrain.slope_costs(net, elev, Walking())
    assert not np.allclose(costs.uv_m, costs.vu_m)
    net = dataclasses.replace(net, walk_uv_m=costs.uv_m, walk_vu_m=costs.vu_m)

    speed_m_s = 0.9
    facility = int(net.u[0])
    at_facility = travel.Snap(np.array([0]), np.array([0.0]), np.array([0.0]))
    ours = travel.node_times(net, at_facility, speed_m_s=speed_m_s).time_s

    graph = network.to_graph(net, speed_m_s=speed_m_s).reverse(copy=True)
    towards = nx.single_source_dijkstra_path_length(
        graph, int(net.node_id[facility]), weight="travel_time"
    )
    expected = np.array([towards.get(int(i), np.inf) for i in net.node_id])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)


def _street_and_steps() -> network.WalkNetwork:
    """A 100 m street east from (X0, Y0), then a 20 m flight of 10 steps on, eastwards."""
    net = network.from_arrays([X0, X0 + 100.0, X0 + 120.0], [Y0, Y0, Y0], [0, 1], [1, 2], crs=CRS)
    tags = {
        "highway": np.array(["footway", "steps"], dtype=object),
        "step_count": np.array(["", "10"], dtype=object),
    }
    return dataclasses.replace(net, edge_tags=tags)


def test_apply_puts_slopes_and_steps_together(tmp_path: Path) -> None:
    walking = Walking()
    net = _street_and_steps()
    flat = terrain.apply(net, walking, speed_m_s=0.9)
    # no DEM: the street is flat, the flight (direction unknown) costs the slower way both ways
    slower = 10 * max(walking.steps_up_s_per_step, walking.steps_down_s_per_step) * 0.9
    assert flat.uv_m.tolist() == pytest.approx([100.0, slower])
    assert flat.vu_m.tolist() == pytest.approx([100.0, slower])
    assert flat.walking["slope_model"] == "none (no DEM)"
    assert flat.walking["edges_steps"] == 1
    # a 10 % plane rising eastwards: the street is climbed u -> v, so are the steps
    hilly = terrain.apply(net, walking, speed_m_s=0.9, elevation=_dem(tmp_path, _plane(0.10)))
    assert hilly.uv_m.tolist() == pytest.approx(
        [100.0 / UP_10, 10 * walking.steps_up_s_per_step * 0.9]
    )
    assert hilly.vu_m.tolist() == pytest.approx(
        [100.0 / DOWN_10, 10 * walking.steps_down_s_per_step * 0.9]
    )
    assert hilly.walking["slope_model"] == "tobler"
    assert hilly.walking["dem_samples"] > 0
    # and home-to-facility times follow: a facility at the top is further from the bottom
    top = travel.Snap(np.array([1]), np.array([1.0]), np.zeros(1))
    bottom = travel.Snap(np.array([0]), np.array([0.0]), np.zeros(1))
    up_s, _ = travel.nearest_times(hilly, top, bottom, speed_m_s=0.9)
    down_s, _ = travel.nearest_times(hilly, bottom, top, speed_m_s=0.9)
    assert up_s[0] == pytest.approx((100.0 / UP_10) / 0.9 + 10 * walking.steps_up_s_per_step)
    assert down_s[0] == pytest.approx(100.0 / 0.9 + 10 * walking.steps_down_s_per_step)


def test_cells_that_are_no_elevations_are_refused_in_one_line(tmp_path: Path) -> None:
    # -32768 everywhere west of X0 - 500, and the file declares no nodata value
    path = terrain.write_synthetic_dem(
        tmp_path / "marked.tif",
        lambda x, y: np.where(x < X0 - 500.0, -32768.0, 300.0),
        bounds=AROUND,
        cell=10.0,
        crs=CRS,
        nodata=None,
    )
    with pytest.raises(InputError, match=r"marked\.tif: band 1, row \d+, column 0 holds -32768"):
        terrain.read_dem(path, net_crs=CRS, bounds=AROUND, margin_m=0.0)
