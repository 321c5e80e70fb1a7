"""Tests for carecircle.demand: residents placed from a population raster or an even grid."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from carecircle import demand
from carecircle.errors import InputError

UTM = "EPSG:32650"
OX, OY = 500_000.0, 4_400_000.0


def _communities() -> gpd.GeoDataFrame:
    boxes = [shapely.box(OX, OY, OX + 200, OY + 200), shapely.box(OX + 200, OY, OX + 400, OY + 200)]
    return gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=boxes, crs=UTM)


def _raster(
    path: Path,
    values: np.ndarray,
    *,
    west: float,
    north: float,
    nodata: float | None = -1.0,
    dtype: str = "float32",
) -> Path:
    """A 100 m GeoTIFF in UTM with its top-left corner at (west, north)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype=dtype,
        crs=UTM,
        transform=Affine(100.0, 0.0, west, 0.0, -100.0, north),
        nodata=nodata,
    ) as dst:
        dst.write(values.astype(dtype), 1)
    return path


def test_raster_cells_weight_the_points(tmp_path: Path) -> None:
    values = np.array([[1.0, 3.0, 0.0, 2.0], [1.0, 3.0, 0.0, 2.0]])
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200)
    points = demand.place(_communities(), spacing_m=50.0, raster=path)
    assert points.method.tolist() == ["raster", "raster"]
    # one point per populated 100 m cell, at its centre, weighted by the cell's share of its
    # community: A's cells hold 1, 3, 1 and 3 people; B's hold 0 (no point), 2 and 2
    table = np.column_stack([points.x - OX, points.y - OY, points.weight, points.community])
    cells = table[np.lexsort((table[:, 1], table[:, 0]))]
    expected = [
        (50, 50, 0.125, 0),
        (50, 150, 0.125, 0),
        (150, 50, 0.375, 0),
        (150, 150, 0.375, 0),
        (350, 50, 0.5, 1),
        (350, 150, 0.5, 1),
    ]
    np.testing.assert_allclose(cells, np.array(expected, dtype=float))


def test_raster_outside_the_district_is_refused(tmp_path: Path) -> None:
    values = np.ones((2, 4))
    path = _raster(tmp_path / "pop.tif", values, west=OX + 500_000, north=OY + 200)
    with pytest.raises(InputError) as info:
        demand.place(_communities(), spacing_m=50.0, raster=path)
    assert str(info.value) == (
        f"{path}: the raster (x 1000000..1000400, y 4400000..4400200 in EPSG:32650) does not "
        "overlap the communities (x 500000..500400, y 4400000..4400200 in the same CRS); "
        "expected a raster of the district (check the raster's CRS and its area)"
    )


def test_negative_cell_is_shown_as_a_plain_number(tmp_path: Path) -> None:
    values = np.ones((3, 5))
    values[2, 3] = -50.0
    path = _raster(tmp_path / "pop.tif", values, west=OX - 100, north=OY + 300)
    with pytest.raises(InputError) as info:
        demand.place(_communities(), spacing_m=50.0, raster=path)
    assert str(info.value) == (
        f"{path}: cell (row 3, column 4) holds -50; expected residents per cell, 0 or more "
        "(or nodata)"
    )


def _refusal(path: Path) -> str:
    with pytest.raises(InputError) as info:
        demand.place(_communities(), spacing_m=50.0, raster=path)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_an_infinite_cell_is_refused(tmp_path: Path, value: float) -> None:
    # one +inf cell made every weight of its community NaN: its residents were lost
    values = np.ones((2, 4))
    values[1, 2] = value
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200)
    assert _refusal(path) == (
        f"{path}: cell (row 2, column 3) holds {value}; expected residents per cell, a finite "
        "number ≥ 0 (or nodata)"
    )


@pytest.mark.parametrize(
    ("sentinel", "shown"), [(-3.4028235e38, "-3.4028235e+38"), (3.4028235e38, "3.4028235e+38")]
)
def test_an_undeclared_float_nodata_value_is_named(
    tmp_path: Path, sentinel: float, shown: str
) -> None:
    values = np.ones((2, 4))
    values[0, 1:3] = sentinel
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200, nodata=None)
    assert _refusal(path) == (
        f"{path}: cell (row 1, column 2) holds {shown}, as does 1 other cell: a nodata value "
        f"the raster does not declare; declare it (e.g. gdal_edit.py -a_nodata {shown} pop.tif) "
        "and retry"
    )


def test_one_negative_value_in_many_cells_is_named_as_nodata(tmp_path: Path) -> None:
    values = np.ones((2, 4))
    values[:, 3] = -9999
    values[0, 0] = -9999
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200, nodata=None)
    assert _refusal(path) == (
        f"{path}: cell (row 1, column 1) holds -9999, as do 2 other cells: a nodata value the "
        "raster does not declare; declare it (e.g. gdal_edit.py -a_nodata -9999 pop.tif) and "
        "retry"
    )


def test_a_declared_nodata_value_is_nobody(tmp_path: Path) -> None:
    values = np.ones((2, 4))
    values[:, 3] = -9999
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200, nodata=-9999)
    points = demand.place(_communities(), spacing_m=50.0, raster=path)
    assert points.method.tolist() == ["raster", "raster"]
    assert np.bincount(points.community).tolist() == [4, 2]


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_a_cell_denser_than_any_city_is_refused(tmp_path: Path, dtype: str) -> None:
    values = np.ones((2, 4))
    values[1, 1] = 150_000  # on 10,000 m²: 15 per m²
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200, dtype=dtype)
    assert _refusal(path) == (
        f"{path}: cell (row 2, column 2) holds 150000 residents on 10,000 m² (15 per m²); "
        "expected at most 10 per m², far beyond any city (or nodata)"
    )


def test_the_densest_accepted_cell_takes_its_share(tmp_path: Path) -> None:
    values = np.ones((2, 4))
    values[1, 1] = 100_000  # 10 per m², the limit
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200)
    points = demand.place(_communities(), spacing_m=50.0, raster=path)
    a = points.community == 0
    assert points.weight[a].max() == pytest.approx(100_000 / 100_003)


def test_density_in_a_longitude_latitude_raster_uses_the_cells_area(tmp_path: Path) -> None:
    # cells of 0.001° at about 39.7° N: 111.2 km x 85.5 km per degree, 9,506 m² each
    lon, lat = _communities().to_crs(4326).total_bounds[[0, 3]]
    values = np.ones((4, 8))
    values[1, 1] = 100_000  # 10.5 per m² here, though under 10 per m² of a 10,000 m² cell
    path = tmp_path / "pop.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=4,
        width=8,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(0.001, 0.0, lon - 0.001, 0.0, -0.001, lat + 0.001),
    ) as dst:
        dst.write(values.astype("float32"), 1)
    message = _refusal(path)
    assert message.startswith(f"{path}: cell (row 2, column 2) holds 100000 residents on 9,5")
    assert "(11 per m²)" in message


def test_nan_cells_are_read_as_nodata_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    values = np.ones((2, 4))
    values[0, 0] = np.nan
    values[1, 0] = np.nan
    path = _raster(tmp_path / "pop.tif", values, west=OX, north=OY + 200, nodata=None)
    with caplog.at_level("WARNING", logger="carecircle.demand"):
        points = demand.place(_communities(), spacing_m=50.0, raster=path)
    assert np.bincount(points.community).tolist() == [2, 4]  # A's two NaN cells hold nobody
    assert np.isfinite(points.weight).all()
    assert (
        f"{path}: 2 cell(s) hold NaN (not a number), first at row 1, column 1, and the raster "
        "declares no nodata value for them; read as nodata (nobody there)"
    ) in caplog.messages


def _strip(dy: float) -> gpd.GeoDataFrame:
    """A 500 m x 10 m strip (along x) from y = dy to dy + 10, and a 200 m square beside it."""
    return gpd.GeoDataFrame(
        {"id": ["strip", "square"]},
        geometry=[
            shapely.box(OX + 50, OY + dy, OX + 550, OY + dy + 10),
            shapely.box(OX, OY + 100, OX + 200, OY + 300),
        ],
        crs=UTM,
    )


@pytest.mark.parametrize(
    ("dy", "spacing_m"),
    [
        (20.0, 50.0),  # the 50 m grid's row y = 25 runs inside: 10 points, 50 m apart
        (37.0, 25.0),  # no 50 m row inside (25, 75): halved once, the row y = 37.5, 20 points
        (26.0, 12.5),  # none at 50 or 25 m (25; 12.5, 37.5): at 12.5 m, y = 31.25, 40 points
    ],
)
def test_a_strip_narrower_than_the_grid_gets_a_row_of_points(dy: float, spacing_m: float) -> None:
    points = demand.place(_strip(dy), spacing_m=50.0)
    strip = points.community == 0
    x, y = points.x[strip] - OX, points.y[strip] - OY
    assert strip.sum() >= demand.MIN_GRID_POINTS
    assert strip.sum() == 500 / spacing_m
    np.testing.assert_allclose(np.sort(x), 50 + spacing_m / 2 + spacing_m * np.arange(x.size))
    assert np.unique(y).size == 1 and dy < y[0] < dy + 10
    # the square holds 16 points of the 50 m grid already: not gridded finer
    assert (points.community == 1).sum() == 16
    np.testing.assert_allclose(np.bincount(points.community, weights=points.weight), [1.0, 1.0])
    assert np.allclose(points.weight[strip], 1 / strip.sum())


def test_a_community_too_small_for_the_finest_grid_gets_one_point() -> None:
    tiny = gpd.GeoDataFrame(
        {"id": ["kiosk"]}, geometry=[shapely.box(OX + 0.2, OY + 0.2, OX + 0.8, OY + 0.8)], crs=UTM
    )
    points = demand.place(tiny, spacing_m=50.0)
    assert len(points) == 1 and points.weight.tolist() == [1.0]
    assert shapely.box(OX + 0.2, OY + 0.2, OX + 0.8, OY + 0.8).contains(
        shapely.Point(points.x[0], points.y[0])
    )


def test_a_block_with_too_few_points_is_gridded_finer_and_only_finer() -> None:
    """A 100 m block holds 4 points of the 50 m grid: it gets the 16 of the 25 m grid instead."""
    block = gpd.GeoDataFrame(
        {"id": ["block"]}, geometry=[shapely.box(OX, OY, OX + 100, OY + 100)], crs=UTM
    )
    points = demand.place(block, spacing_m=50.0)
    centres = 12.5 + 25.0 * np.arange(4)
    expected = np.array([(x, y) for y in centres for x in centres])
    got = np.column_stack([points.x - OX, points.y - OY])
    np.testing.assert_allclose(got[np.lexsort((got[:, 0], got[:, 1]))], expected)
    np.testing.assert_allclose(points.weight, 1 / 16)
