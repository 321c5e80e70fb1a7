"""Reading residential compounds (小区): every field but the id optional, each error one line."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from carecircle.errors import InputError, MissingColumnError
from carecircle.inputs.compounds import COMPOUND_COLUMNS, read_compounds


def _csv(tmp_path, text: str):
    path = tmp_path / "compounds.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_table_of_points_with_chinese_headers(tmp_path):
    path = _csv(
        tmp_path,
        "小区编号,小区名称,经度,纬度,户数,居住人口,建成年份,新旧,养老用房面积,养老用地面积,建筑面积,备注\n"
        "A,甲小区,106.5,29.5,1000,2800,2019,,200,300,120000,x\n"
        "B,,106.51,29.51,,,,老旧,0,,,\n",
    )
    comp = read_compounds(path)
    assert list(comp.columns[: len(COMPOUND_COLUMNS)]) == list(COMPOUND_COLUMNS)
    assert comp.crs.to_epsg() == 4326
    assert comp["name"].tolist() == ["甲小区", "B"]  # a blank name is the id
    assert comp["households"].tolist()[0] == 1000 and np.isnan(comp["households"].iloc[1])
    assert comp["new"].tolist()[1] is False and pd.isna(comp["new"].iloc[0])
    assert "备注" in comp  # other columns kept
    assert set(comp.attrs["columns"]) >= {"id", "households", "floor_area_m2", "new"}


def test_only_the_id_is_required(tmp_path):
    comp = read_compounds(_csv(tmp_path, "id,lon,lat\nA,106.5,29.5\n"))
    assert comp[["households", "care_room_area_m2"]].isna().all().all()
    assert set(comp.attrs["columns"]) == {"id"}
    with pytest.raises(MissingColumnError, match="'id'"):
        read_compounds(_csv(tmp_path, "name,lon,lat\nA,106.5,29.5\n"))


def test_the_column_mapping_names_the_users_column(tmp_path):
    path = _csv(tmp_path, "id,lon,lat,hh\nA,106.5,29.5,40\n")
    comp = read_compounds(path, columns={"households": "hh"})
    assert comp["households"].iloc[0] == 40


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "B,106.5,29.5,many,0,2000,",
            r"compounds.csv: row 2 \(line 3\), column 'households': found 'many'; expected a "
            r"number of households",
        ),
        (
            "B,106.5,29.5,10,-5,2000,",
            r"row 2 \(line 3\), column 'care_room_area_m2': found '-5'; expected a floor area "
            r"in m² ≥ 0",
        ),
        (
            "B,106.5,29.5,10,0,2019.5,",
            r"column 'build_year': found '2019.5'; expected a whole year",
        ),
        ("B,106.5,29.5,10,0,1700,", r"column 'build_year': found '1700'"),
        ("B,106.5,29.5,10,0,2000,maybe", r"column 'new': found 'maybe'; expected 新建/new/true"),
        ("B,,29.5,10,0,2000,", r"row 2 \(line 3\), column 'lon'"),
        ("A,106.5,29.5,10,0,2000,", r"column 'id': found 'A' twice"),
    ],
)
def test_a_bad_cell_is_one_line_naming_row_and_column(tmp_path, row, message):
    header = "id,lon,lat,households,care_room_area_m2,build_year,new\n"
    path = _csv(tmp_path, header + "A,106.5,29.5,10,0,2000,\n" + row + "\n")
    with pytest.raises(InputError, match=message) as caught:
        read_compounds(path)
    assert "\n" not in str(caught.value)


def test_a_layer_without_crs_or_without_geometry_is_refused(tmp_path):
    frame = gpd.GeoDataFrame({"id": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)])
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(path)
    with pytest.raises(InputError, match="CRS"):
        read_compounds(path)
    empty = gpd.GeoDataFrame(
        {"id": ["A", "B"]}, geometry=[shapely.box(0, 0, 1, 1), None], crs=32648
    )
    path = tmp_path / "empty.gpkg"
    empty.to_file(path, layer="compounds")
    with pytest.raises(InputError, match=r"row 2, column 'geometry': the cell is empty; expected "):
        read_compounds(path)


def test_a_line_is_neither_a_polygon_nor_a_point(tmp_path):
    frame = gpd.GeoDataFrame(
        {"id": ["A"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=32648
    )
    path = tmp_path / "lines.gpkg"
    frame.to_file(path, layer="compounds")
    with pytest.raises(InputError, match="found 'LineString'; expected a Polygon or a Point"):
        read_compounds(path)


def test_an_empty_table_is_refused(tmp_path):
    with pytest.raises(InputError, match="no data rows"):
        read_compounds(_csv(tmp_path, "id,lon,lat\n"))
