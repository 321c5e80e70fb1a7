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


def _raster(path: Path, values: np.ndarray, *, west: float, north: float) -> Path:
    """A 100 m GeoTIFF in UTM with its top-left corner at (west, north)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype="float32",
        crs=UTM,
        transform=Affine(100.0, 0.0, west, 0.0, -100.0, north),
        nodata=-1.0,
    ) as dst:
        dst.write(values.astype("float32"), 1)
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
