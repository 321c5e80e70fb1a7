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
from carecircle._errors import InputError

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
