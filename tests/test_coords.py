"""Tests for carecircle.coords: GCJ-02 / BD-09 to and from WGS-84."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from carecircle import coords
from carecircle.errors import InputError

GEOD = Geod(ellps="WGS84")

# Tiananmen area: a widely published WGS-84 / GCJ-02 pair.
WGS = (116.404, 39.915)
GCJ = (116.41024449916938, 39.91640428150164)


def _public_bd09_from_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The public GCJ-02 -> BD-09 formula (as published with Baidu's coordinate notes).

    Written out here only, as an independent check of the library; the package itself
    never hand-codes the offsets.
    """
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _metres(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def test_systems_constant() -> None:
    assert coords.SYSTEMS == ("wgs84", "gcj02", "bd09")


def test_known_wgs84_gcj02_pair_both_ways() -> None:
    lon, lat = coords.from_wgs84(np.array([WGS[0]]), np.array([WGS[1]]), system="gcj02")
    assert lon[0] == pytest.approx(GCJ[0], abs=1e-9)
    assert lat[0] == pytest.approx(GCJ[1], abs=1e-9)
    back_lon, back_lat = coords.to_wgs84(np.array([GCJ[0]]), np.array([GCJ[1]]), system="gcj02")
    assert _metres(back_lon, back_lat, np.array([WGS[0]]), np.array([WGS[1]]))[0] < 0.5


def test_bd09_matches_public_formula() -> None:
    expected = _public_bd09_from_gcj02(*GCJ)
    lon, lat = coords.from_wgs84(np.array([WGS[0]]), np.array([WGS[1]]), system="bd09")
    assert lon[0] == pytest.approx(expected[0], abs=1e-9)
    assert lat[0] == pytest.approx(expected[1], abs=1e-9)
    # and BD-09 -> WGS-84 lands back on the WGS-84 point
    back_lon, back_lat = coords.to_wgs84(
        np.array([expected[0]]), np.array([expected[1]]), system="bd09"
    )
    assert _metres(back_lon, back_lat, np.array([WGS[0]]), np.array([WGS[1]]))[0] < 1.0


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_under_half_a_metre(system: str) -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(100.0, 122.0, 200)
    lat = rng.uniform(22.0, 45.0, 200)
    fwd_lon, fwd_lat = coords.from_wgs84(lon, lat, system=system)
    back_lon, back_lat = coords.to_wgs84(fwd_lon, fwd_lat, system=system)
    assert _metres(lon, lat, back_lon, back_lat).max() < 0.5


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_offset_in_china_is_hundreds_of_metres(system: str) -> None:
    lon = np.array([116.404, 121.4737, 113.2644, 104.0665])  # Beijing, Shanghai, Guangzhou, Chengdu
    lat = np.array([39.915, 31.2304, 23.1291, 30.5723])
    out_lon, out_lat = coords.from_wgs84(lon, lat, system=system)
    shift = _metres(lon, lat, out_lon, out_lat)
    assert (shift > 100).all()
    assert (shift < 2000).all()


def test_gcj02_is_identity_outside_china() -> None:
    lon = np.array([2.35, -74.006, 139.69])  # Paris, New York, Tokyo
    lat = np.array([48.85, 40.7128, 35.69])
    for convert in (coords.to_wgs84, coords.from_wgs84):
        out_lon, out_lat = convert(lon, lat, system="gcj02")
        np.testing.assert_allclose(out_lon, lon, atol=1e-12)
        np.testing.assert_allclose(out_lat, lat, atol=1e-12)


def test_wgs84_returns_copies_and_input_is_not_mutated() -> None:
    lon = np.array([116.404, 116.5])
    lat = np.array([39.915, 39.9])
    out_lon, out_lat = coords.to_wgs84(lon, lat, system="wgs84")
    assert out_lon is not lon and out_lat is not lat
    out_lon[0] = 0.0
    assert lon[0] == 116.404
    coords.to_wgs84(lon, lat, system="gcj02")
    np.testing.assert_array_equal(lon, [116.404, 116.5])


def test_nan_stays_nan_and_shape_is_kept() -> None:
    lon = np.array([[116.41, np.nan]])
    lat = np.array([[39.91, 39.9]])
    out_lon, out_lat = coords.to_wgs84(lon, lat, system="gcj02")
    assert out_lon.shape == (1, 2)
    assert np.isnan(out_lon[0, 1]) and np.isnan(out_lat[0, 1])
    assert np.isfinite(out_lon[0, 0])


def test_unknown_system_names_accepted_values() -> None:
    with pytest.raises(InputError, match=r"'gcj-02'.*'wgs84', 'gcj02', 'bd09'"):
        coords.to_wgs84(np.array([116.0]), np.array([39.0]), system="gcj-02")
    with pytest.raises(InputError, match="expected one of"):
        coords.from_wgs84(np.array([116.0]), np.array([39.0]), system="baidu")


def test_out_of_range_and_shape_mismatch() -> None:
    with pytest.raises(InputError, match=r"point 1.*latitude within ±90"):
        coords.to_wgs84(np.array([116.0, 116.0]), np.array([39.0, 116.0]), system="gcj02")
    with pytest.raises(InputError, match="differ in shape"):
        coords.to_wgs84(np.array([116.0, 117.0]), np.array([39.0]), system="gcj02")


def test_geometries_to_wgs84_converts_every_vertex() -> None:
    ring = [(116.40, 39.90), (116.42, 39.90), (116.42, 39.92), (116.40, 39.92)]
    polygon = shapely.Polygon(ring)
    geoms = gpd.GeoSeries(
        [polygon, None, shapely.Polygon(), shapely.Point(GCJ)],
        index=[10, 11, 12, 13],
        crs="EPSG:4326",
        name="g",
    )
    out = coords.geometries_to_wgs84(geoms, system="gcj02")
    assert list(out.index) == [10, 11, 12, 13]
    assert out.name == "g"
    assert out.crs == geoms.crs
    assert out.iloc[1] is None
    assert out.iloc[2].is_empty
    # each vertex equals the array conversion of that vertex
    xy = shapely.get_coordinates(polygon)
    exp_lon, exp_lat = coords.to_wgs84(xy[:, 0], xy[:, 1], system="gcj02")
    np.testing.assert_allclose(
        shapely.get_coordinates(out.iloc[0]), np.column_stack([exp_lon, exp_lat])
    )
    assert out.iloc[0].is_valid
    # the point comes back to the published WGS-84 position
    point = out.iloc[3]
    assert (
        _metres(np.array([point.x]), np.array([point.y]), np.array([WGS[0]]), np.array([WGS[1]]))[0]
        < 0.5
    )
    # the input series is untouched
    assert geoms.iloc[0].equals(polygon)


def test_geometries_to_wgs84_keeps_z() -> None:
    geoms = gpd.GeoSeries([shapely.Point(GCJ[0], GCJ[1], 42.0)], crs="EPSG:4326")
    out = coords.geometries_to_wgs84(geoms, system="gcj02")
    assert out.iloc[0].has_z
    assert out.iloc[0].z == 42.0


def test_geometries_to_wgs84_requires_epsg4326() -> None:
    geoms = gpd.GeoSeries([shapely.Point(0, 0)], crs="EPSG:3857")
    with pytest.raises(InputError, match=r"EPSG:3857.*expected EPSG:4326"):
        coords.geometries_to_wgs84(geoms, system="gcj02")
    with pytest.raises(InputError, match="no CRS"):
        coords.geometries_to_wgs84(gpd.GeoSeries([shapely.Point(0, 0)]), system="gcj02")


def test_bd09_shift_applies_outside_china_as_the_public_formula_does() -> None:
    # Documented behaviour: unlike GCJ-02, BD-09's constant shift is not switched off abroad.
    lon, lat = coords.from_wgs84(np.array([2.35]), np.array([48.85]), system="bd09")
    expected = _public_bd09_from_gcj02(2.35, 48.85)
    assert lon[0] == pytest.approx(expected[0], abs=1e-9)
    assert lat[0] == pytest.approx(expected[1], abs=1e-9)
