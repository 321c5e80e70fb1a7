"""Tests for carecircle.inputs.readers: reading and checking community and facility files.

Every file is made in ``tmp_path`` by the test that reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from refusals import refusal

from carecircle.errors import InputError
from carecircle.inputs import readers as inputs

GEOD = Geod(ellps="WGS84")

SQUARE = shapely.box(116.40, 39.90, 116.41, 39.91)
BOWTIE = shapely.Polygon([(116.40, 39.90), (116.41, 39.91), (116.41, 39.90), (116.40, 39.91)])
SLIVER = shapely.Polygon([(116.40, 39.90), (116.42, 39.90), (116.44, 39.90), (116.40, 39.90)])


def _layer(
    path: Path,
    data: dict[str, list[Any]],
    geometry: list[Any],
    *,
    crs: Any = "EPSG:4326",
    layer: str | None = None,
) -> Path:
    frame = gpd.GeoDataFrame(data, geometry=geometry, crs=crs)
    frame.to_file(path, layer=layer)
    return path


def _communities(path: Path, **columns: list[Any]) -> Path:
    n = len(next(iter(columns.values())))
    data = {"id": [f"c{i}" for i in range(n)], "name": [f"幸福社区{i}" for i in range(n)]}
    data.update(columns)
    return _layer(path, data, [shapely.affinity.translate(SQUARE, 0.01 * i) for i in range(n)])


def _csv(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _metres(a: shapely.Point, b: shapely.Point) -> float:
    return float(GEOD.inv(a.x, a.y, b.x, b.y)[2])


FACILITY_CSV = "id,name,tier,lon,lat\nf1,甲,hospital,116.404,39.915\nf2,乙,clinic,116.41,39.92\n"


# --- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [inputs.read_communities, inputs.read_facilities])
def test_missing_file(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "nothing.gpkg"
    message = refusal(reader, path)
    assert message == f"{path}: file not found"


@pytest.mark.parametrize("reader", [inputs.read_communities, inputs.read_facilities])
def test_unsupported_suffix_names_accepted_ones(tmp_path: Path, reader: Any) -> None:
    path = tmp_path / "list.txt"
    path.write_text("id,name\n1,a\n", encoding="utf-8")
    message = refusal(reader, path)
    assert str(path) in message
    assert ".gpkg .geojson .json .shp .csv .xlsx .xls (facilities only)" in message


def test_garbage_gpkg_is_an_inputrefusal(tmp_path: Path) -> None:
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"this is not a geopackage")
    message = refusal(inputs.read_communities, path)
    assert message.startswith(f"{path}: cannot be read as a GIS layer")
    assert ".gpkg .geojson" in message
    with pytest.raises(InputError) as info:
        inputs.read_facilities(path)
    assert info.value.__cause__ is not None  # chained from the pyogrio error, no bare traceback


def test_communities_as_csv_are_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path / "communities.csv", "id,name,population\n1,a,100\n")
    message = refusal(inputs.read_communities, path)
    assert message.startswith(f"{path}: communities must be a polygon layer")


def test_point_layer_as_communities_is_refused(tmp_path: Path) -> None:
    path = _layer(
        tmp_path / "points.gpkg",
        {"id": ["1"], "name": ["a"], "population": [5]},
        [shapely.Point(116.4, 39.9)],
    )
    message = refusal(inputs.read_communities, path)
    assert "communities must be a polygon layer; found Point" in message


def test_layer_without_crs(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        _layer(path, {"id": ["1"], "name": ["a"], "population": [5]}, [SQUARE], crs=None)
    message = refusal(inputs.read_communities, path)
    assert str(path) in message
    assert "no coordinate reference system" in message
    assert "EPSG:4326" in message


def test_multi_layer_file_needs_layer_option(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    _layer(path, {"id": ["1"], "name": ["a"], "population": [5]}, [SQUARE], layer="first")
    _layer(path, {"id": ["2"], "name": ["b"], "population": [7]}, [SQUARE], layer="second")
    message = refusal(inputs.read_communities, path)
    assert "'first', 'second'" in message
    assert "layer=" in message
    out = inputs.read_communities(path, layer="second")
    assert out["id"].tolist() == ["2"]
    assert "no layer 'third'" in refusal(inputs.read_communities, path, layer="third")


# --- columns -------------------------------------------------------------------------------


def test_output_columns_order_and_other_columns_kept(tmp_path: Path) -> None:
    path = _layer(
        tmp_path / "c.gpkg",
        {
            "households": [40, 50],
            "社区名称": ["幸福社区居委会", "张家村委会"],
            "编号": ["110101001001", "110101001002"],
            "人口": [120, 300],
            "老年人口": [30, 80],
            "所属街道": ["东华门街道", "东华门街道"],
            "remark": ["x", "y"],
        },
        [SQUARE, shapely.affinity.translate(SQUARE, 0.01)],
    )
    out = inputs.read_communities(path)
    assert list(out.columns) == [*inputs.COMMUNITY_COLUMNS, "households", "remark", "geometry"]
    assert list(inputs.COMMUNITY_COLUMNS) == [
        "id",
        "name",
        "population",
        "elderly",
        "kind",
        "township",
        "input_status",
        "input_note",
    ]
    assert out["id"].tolist() == ["110101001001", "110101001002"]
    assert out["population"].tolist() == [120.0, 300.0]
    assert out["elderly"].tolist() == [30.0, 80.0]
    assert out["kind"].tolist() == ["urban", "rural"]
    assert out["township"].tolist() == ["东华门街道", "东华门街道"]
    assert out["input_status"].tolist() == ["ok", "ok"]
    assert out["input_note"].tolist() == ["", ""]
    assert out["households"].tolist() == [40, 50]
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].equals(SQUARE)


def test_optional_columns_absent(tmp_path: Path) -> None:
    out = inputs.read_communities(_communities(tmp_path / "c.gpkg", population=[10]))
    assert np.isnan(out["elderly"].iloc[0])
    assert out["township"].iloc[0] == ""


def test_missing_required_column(tmp_path: Path) -> None:
    path = _layer(tmp_path / "c.gpkg", {"id": ["1"], "名称": ["a"], "户数": [5]}, [SQUARE])
    message = refusal(inputs.read_communities, path)
    assert message.startswith(f"{path}: missing required column for 'population'")
    assert "columns found: 'id', '名称', '户数'" in message
    assert "'常住人口'" in message  # the accepted headers are listed


def test_columns_mapping_overrides_aliases(tmp_path: Path) -> None:
    path = _layer(
        tmp_path / "c.gpkg",
        {"code": ["1"], "label": ["a"], "常住人口": [5], "户籍人口": [9]},
        [SQUARE],
    )
    # both 常住人口 and 户籍人口 are aliases of population: ambiguous without a mapping
    message = refusal(inputs.read_communities, path, columns={"id": "code", "name": "label"})
    assert "several columns could hold 'population' ('常住人口', '户籍人口')" in message
    out = inputs.read_communities(
        path, columns={"id": "code", "name": "label", "population": "户籍人口"}
    )
    assert out["population"].iloc[0] == 9.0
    assert "常住人口" in out.columns and "户籍人口" not in out.columns


def test_columns_mapping_to_absent_column_lists_columns(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[10])
    message = refusal(inputs.read_communities, path, columns={"population": "人口数"})
    assert str(path) in message
    assert "'人口数'" in message
    assert "columns found: 'id', 'name', 'population'" in message
    assert "unknown field 'pop'" in refusal(inputs.read_communities, path, columns={"pop": "x"})


# --- numbers -------------------------------------------------------------------------------


def test_non_numeric_population(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", 人口=["100", "about 50"])
    message = refusal(inputs.read_communities, path)
    assert message == (
        f"{path}: row 2, column '人口': found 'about 50'; expected a number of people ≥ 0"
    )


def test_negative_population(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[100, 20, -3])
    message = refusal(inputs.read_communities, path)
    assert message.startswith(f"{path}: row 3, column 'population': found -3")


def test_elderly_more_than_population(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[100, 50], elderly=[10, 60])
    message = refusal(inputs.read_communities, path)
    assert f"{path}: row 2, column 'elderly': found 60.0" in message
    assert "at most the population (50)" in message


def test_no_population_is_flagged_not_dropped(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[100.0, np.nan, 0.0])
    out = inputs.read_communities(path)
    assert len(out) == 3
    assert out["input_status"].tolist() == ["ok", "no_population", "no_population"]
    assert np.isnan(out["population"].iloc[1])
    assert "population missing" in out["input_note"].iloc[1]
    assert "population is 0" in out["input_note"].iloc[2]


# --- geometry ------------------------------------------------------------------------------


def test_bowtie_is_repaired_and_ok(tmp_path: Path) -> None:
    assert not BOWTIE.is_valid
    path = _layer(
        tmp_path / "c.gpkg", {"id": ["1"], "name": ["a社区"], "population": [10]}, [BOWTIE]
    )
    out = inputs.read_communities(path)
    geom = out.geometry.iloc[0]
    assert out["input_status"].iloc[0] == "ok"
    assert "geometry repaired" in out["input_note"].iloc[0]
    assert geom.is_valid
    assert geom.geom_type == "MultiPolygon"
    assert geom.area == pytest.approx(0.5 * SQUARE.area)


def test_empty_and_missing_geometry_are_kept_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "c.geojson"
    _layer(
        path,
        {"id": ["1", "2", "3"], "name": ["a", "b", "c"], "population": [10, 20, 30]},
        [SQUARE, None, shapely.Polygon()],
    )
    out = inputs.read_communities(path)
    assert out["id"].tolist() == ["1", "2", "3"]
    assert out["input_status"].tolist() == ["ok", "empty_geometry", "empty_geometry"]
    assert out.geometry.iloc[1].is_empty and out.geometry.iloc[2].is_empty
    assert out["input_note"].iloc[1] != ""


def test_geometry_with_no_area_is_invalid_geometry(tmp_path: Path) -> None:
    assert not SLIVER.is_valid
    path = tmp_path / "c.geojson"
    _layer(
        path,
        {"id": ["1", "2", "3"], "name": ["a", "b", "c"], "population": [10, 20, 30]},
        [SQUARE, SLIVER, shapely.LineString([(116.4, 39.9), (116.5, 39.9)])],
    )
    out = inputs.read_communities(path)
    assert out["input_status"].tolist() == ["ok", "invalid_geometry", "invalid_geometry"]
    assert "no polygonal area" in out["input_note"].iloc[1]
    assert all(g.geom_type in ("Polygon", "MultiPolygon") for g in out.geometry)


def test_layer_in_3857_equals_same_layer_in_4326(tmp_path: Path) -> None:
    shapes = [SQUARE, shapely.Polygon([(116.42, 39.90), (116.43, 39.92), (116.41, 39.93)])]
    data = {"id": ["1", "2"], "name": ["a", "b"], "population": [10, 20]}
    wgs = gpd.GeoDataFrame(data, geometry=shapes, crs="EPSG:4326")
    path_4326 = tmp_path / "c4326.gpkg"
    path_3857 = tmp_path / "c3857.gpkg"
    wgs.to_file(path_4326)
    wgs.to_crs(3857).to_file(path_3857)
    a = inputs.read_communities(path_4326)
    b = inputs.read_communities(path_3857)
    assert b.crs.to_epsg() == 4326
    for ga, gb in zip(a.geometry, b.geometry, strict=True):
        np.testing.assert_allclose(
            shapely.get_coordinates(gb), shapely.get_coordinates(ga), atol=1e-6
        )
    assert gpd.read_file(path_3857).total_bounds[0] > 1e6  # the file really holds metres


def test_gcj02_communities_move_and_projected_layer_refuses_gcj02(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[10])
    out = inputs.read_communities(path, coords="gcj02")
    moved = _metres(out.geometry.iloc[0].centroid, SQUARE.centroid)
    assert 300 < moved < 1000
    projected = tmp_path / "c3857.gpkg"
    gpd.read_file(path).to_crs(3857).to_file(projected)
    message = refusal(inputs.read_communities, projected, coords="gcj02")
    assert "EPSG:3857" in message and "coords='gcj02'" in message
    assert "--community-coords gcj02 (coords='gcj02' in Python) needs" in message
    assert "expected one of" in refusal(inputs.read_communities, path, coords="mars")


# --- ids, names, kinds ---------------------------------------------------------------------


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    path = _layer(
        tmp_path / "c.gpkg",
        {"id": ["a", "b", "a"], "name": ["x", "y", "z"], "population": [1, 2, 3]},
        [SQUARE] * 3,
    )
    message = refusal(inputs.read_communities, path)
    assert message.startswith(f"{path}: row 1 and row 3, column 'id': found 'a' twice")


def test_blank_id_is_anrefusal(tmp_path: Path) -> None:
    path = _layer(
        tmp_path / "c.gpkg",
        {"id": ["a", None], "name": ["x", "y"], "population": [1, 2]},
        [SQUARE] * 2,
    )
    message = refusal(inputs.read_communities, path)
    assert message == f"{path}: row 2, column 'id': the cell is empty; expected an id"


def test_kind_inferred_from_names(tmp_path: Path) -> None:
    names = [
        "东华门社区居委会",
        "某某居民委员会",
        "张家村委会",
        "李家村民委员会",
        "朝阳社区",
        "桃园村",
        "金色家园",
    ]
    path = _layer(
        tmp_path / "c.gpkg",
        {"id": [str(i) for i in range(7)], "name": names, "population": [1] * 7},
        [SQUARE] * 7,
    )
    out = inputs.read_communities(path)
    assert out["kind"].tolist() == ["urban", "urban", "rural", "rural", "urban", "rural", "urban"]
    assert out["input_note"].iloc[0] == ""
    assert "assumed urban" in out["input_note"].iloc[6]
    assert out["input_status"].iloc[6] == "ok"


def test_kind_column_values_and_bad_value(tmp_path: Path) -> None:
    path = _communities(
        tmp_path / "c.gpkg",
        population=[1, 2, 3, 4, 5],
        类型=["城镇", "农村", "Urban", None, "村"],
    )
    out = inputs.read_communities(path)
    assert out["kind"].tolist() == ["urban", "rural", "urban", "urban", "rural"]
    bad = _communities(tmp_path / "bad.gpkg", population=[1, 2], 城乡类型=["urban", "郊区"])
    message = refusal(inputs.read_communities, bad)
    assert message.startswith(f"{bad}: row 2, column '城乡类型': found '郊区'; expected one of")


# --- facilities ----------------------------------------------------------------------------


def test_facility_csv_columns_and_text_kept(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "f.csv",
        " id ,name,tier,lon,lat,beds,phone\n"
        "001,甲,hospital,116.404,39.915,120,01065132255\n"
        "002,乙,clinic,116.41,39.92,,\n",
    )
    out = inputs.read_facilities(path)
    assert list(out.columns) == [*inputs.FACILITY_COLUMNS, "phone", "geometry"]
    assert list(inputs.FACILITY_COLUMNS) == [
        "id",
        "name",
        "tier",
        "area_m2",
        "beds",
        "nursing_beds",
    ]
    assert out["id"].tolist() == ["001", "002"]
    assert out["phone"].tolist() == ["01065132255", ""]
    assert out["beds"].iloc[0] == 120.0 and np.isnan(out["beds"].iloc[1])
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].equals(shapely.Point(116.404, 39.915))


def test_gbk_csv_with_chinese_headers(tmp_path: Path) -> None:
    text = (
        "编号,设施名称,设施类型,经度,纬度,建筑面积,床位数,护理型床位\n"
        "1,东华门街道养老服务中心,街道养老服务中心,116.404,39.915,1200,50,30\n"
        "2,东华门社区卫生服务中心,社区卫生服务中心,116.41,39.92,800,,\n"
    )
    path = _csv(tmp_path / "f.csv", text, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    out = inputs.read_facilities(path)
    assert out["name"].tolist() == ["东华门街道养老服务中心", "东华门社区卫生服务中心"]
    assert out["tier"].tolist() == ["street_center", "health_center"]
    assert out["area_m2"].tolist() == [1200.0, 800.0]
    assert out["nursing_beds"].iloc[0] == 30.0
    assert list(out.columns) == [*inputs.FACILITY_COLUMNS, "geometry"]


def test_utf8_bom_csv(tmp_path: Path) -> None:
    path = _csv(tmp_path / "f.csv", FACILITY_CSV, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    out = inputs.read_facilities(path)
    assert out["id"].tolist() == ["f1", "f2"]


def test_undecodable_csv_names_encodings(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"id,name\n\xff\xfe\xff,\x80\n")
    message = refusal(inputs.read_facilities, path)
    assert str(path) in message
    assert "utf-8-sig, gb18030" in message


def test_chinese_tier_names(tmp_path: Path) -> None:
    names = list(inputs.TIER_LABELS_ZH)
    rows = [
        ("街道养老服务中心", "street_center"),
        ("社区养老服务站", "community_station"),
        ("乡镇养老服务中心", "township_center"),
        ("村级互助养老点", "village_point"),
        ("乡镇卫生院", "health_center"),
        ("村卫生室", "clinic"),
        ("诊所", "clinic"),
        (" 医院 ", "hospital"),
        ("Community_Station", "community_station"),
        # meal assistance (助餐): an elderly canteen or meal point, tier of its own
        ("老年食堂", "meal_point"),
        ("助餐点", "meal_point"),
        ("老年食堂/助餐点", "meal_point"),
    ]
    text = "id,name,等级,lng,latitude\n" + "".join(
        f"{i},n{i},{zh},116.4,39.9\n" for i, (zh, _) in enumerate(rows)
    )
    out = inputs.read_facilities(_csv(tmp_path / "f.csv", text))
    assert out["tier"].tolist() == [tier for _, tier in rows]
    assert names == list(inputs.TIERS)
    assert inputs.TIERS == inputs.ELDERCARE_TIERS + inputs.HEALTH_TIERS + inputs.MEAL_TIERS
    bad = _csv(tmp_path / "bad.csv", "id,name,tier,lon,lat\n1,a,养老院,116.4,39.9\n")
    message = refusal(inputs.read_facilities, bad)
    assert message.startswith(f"{bad}: row 1 (line 2), column 'tier': found '养老院'; expected")


def test_gcj02_facility_csv_is_converted(tmp_path: Path) -> None:
    text = "id,name,tier,lon,lat\nf1,甲,hospital,116.41024449916938,39.91640428150164\n"
    path = _csv(tmp_path / "f.csv", text)
    raw = inputs.read_facilities(path).geometry.iloc[0]
    out = inputs.read_facilities(path, coords="gcj02").geometry.iloc[0]
    assert 300 < _metres(raw, out) < 1000
    assert _metres(out, shapely.Point(116.404, 39.915)) < 0.5


def test_bd09_facility_csv_is_converted(tmp_path: Path) -> None:
    text = "id,name,tier,lon,lat\nf1,甲,hospital,116.41662724378733,39.922699552216216\n"
    out = inputs.read_facilities(_csv(tmp_path / "f.csv", text), coords="bd09")
    assert _metres(out.geometry.iloc[0], shapely.Point(116.404, 39.915)) < 1.0


def test_a_missing_column_says_how_to_map_it_on_the_command_line(tmp_path: Path) -> None:
    no_tier = _csv(tmp_path / "f.csv", "id,name,级别,lon,lat\n1,a,clinic,116.4,39.9\n")
    message = refusal(inputs.read_facilities, no_tier)
    assert message.endswith(
        "rename the column, or map it with --column facilities.tier=<your column> "
        "(columns={'tier': '<your column>'} in Python)"
    )
    no_id = _csv(tmp_path / "k.csv", "名字,lon,lat\n甲,116.4,39.9\n")
    message = refusal(inputs.read_candidates, no_id)  # candidates have no --column
    assert message.endswith("rename the column, or map it with columns={'id': '<your column>'}")
    unknown = refusal(inputs.read_facilities, no_tier, columns={"grade": "级别"})
    assert "the column mapping (--column, --columns; columns= in Python) names unknown" in unknown
    unknown = refusal(inputs.read_candidates, no_id, columns={"grade": "名字"})
    assert f"{no_id}: columns= names unknown field 'grade'" in unknown  # no --column for these


def test_a_row_with_more_fields_than_the_header_is_refused(tmp_path: Path) -> None:
    header = "id,name,tier,lon,lat\n"
    row = "f1,甲,clinic,116.4,39.9"
    for rows, where in (
        (f"{row},extra\n{row}\n", "row 1 (line 2)"),  # pandas took the first column as index
        (f"{row}\n{row},extra\n", "row 2 (line 3)"),
    ):
        path = _csv(tmp_path / "f.csv", header + rows)
        assert refusal(inputs.read_facilities, path) == (
            f"{path}: {where} has 6 fields; expected at most 5, as in the header (a comma "
            "inside a value needs quotes)"
        )
    other = row.replace("f1", "f2")
    trailing = _csv(tmp_path / "t.csv", f"{header}{row},\n{other},,\n")  # as some exports write
    assert inputs.read_facilities(trailing)["id"].tolist() == ["f1", "f2"]
    twice = _csv(tmp_path / "d.csv", "id,name,tier,lon,lat,id\nf1,甲,clinic,116.4,39.9,g1\n")
    assert refusal(inputs.read_facilities, twice) == (  # pandas read the second as 'id.1'
        f"{twice}: column 'id' appears more than once (columns 1 and 6 of the header); "
        "expected each column once"
    )


def test_a_column_mapped_to_another_field_is_named(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[10])
    message = refusal(inputs.read_communities, path, columns={"elderly": "population"})
    assert message == (
        f"{path}: no column left for 'population': the column 'population' is mapped to "
        "'elderly'; expected a column of its own for each"
    )


def test_a_column_left_unused_beside_the_fields_own_is_named(tmp_path: Path, caplog) -> None:
    text = "id,name,tier,lon,lat,经度\nf1,甲,clinic,116.4,39.9,0\n"
    path = _csv(tmp_path / "f.csv", text)
    with caplog.at_level("WARNING", logger="carecircle"):
        assert inputs.read_facilities(path).geometry.x.iloc[0] == pytest.approx(116.4)
    assert (
        f"{path}: 'lon' is read from the column 'lon'; '经度' left unused (map it with "
        "--column facilities.lon=经度 (columns={'lon': '经度'} in Python) instead)"
    ) in caplog.messages


def test_lat_lon_swapped_csv(tmp_path: Path) -> None:
    path = _csv(tmp_path / "f.csv", "id,name,tier,lon,lat\n1,a,clinic,39.915,116.404\n")
    message = refusal(inputs.read_facilities, path)
    assert message == (
        f"{path}: columns 'lon' and 'lat' look swapped: 1 of 1 rows have 'lat' outside ±90 "
        "(first row 1 (line 2): 116.404), and would be valid swapped; swap them"
    )


def test_one_latitude_out_of_range_is_not_called_swapped(tmp_path: Path) -> None:
    text = "id,name,tier,lon,lat\n1,a,clinic,24.9,60.1\n2,b,clinic,24.9,95\n3,c,clinic,24.9,60.2\n"
    path = _csv(tmp_path / "f.csv", text)
    message = refusal(inputs.read_facilities, path)
    assert message == (
        f"{path}: row 2 (line 3), column 'lat': found 95.0; expected a latitude within ±90 degrees"
    )


def test_lat_lon_swapped_point_layer(tmp_path: Path) -> None:
    path = _layer(
        tmp_path / "f.geojson",
        {"id": ["1"], "name": ["a"], "tier": ["clinic"]},
        [shapely.Point(39.915, 116.404)],
    )
    message = refusal(inputs.read_facilities, path)
    assert message.startswith(f"{path}: columns 'x' and 'y' look swapped: 1 of 1 rows")


def test_out_of_range_and_missing_coordinates(tmp_path: Path) -> None:
    far = _csv(
        tmp_path / "far.csv", "id,name,tier,lon,lat\n1,a,clinic,116.4,39.9\n2,b,clinic,216.4,39.9\n"
    )
    message = refusal(inputs.read_facilities, far)
    assert message.startswith(f"{far}: row 2 (line 3), column 'lon': found 216.4")
    lat = _csv(tmp_path / "lat.csv", "id,name,tier,lon,lat\n1,a,clinic,116.4,99.9\n")
    assert "column 'lat': found 99.9" in refusal(inputs.read_facilities, lat)
    blank = _csv(tmp_path / "blank.csv", "id,name,tier,经度,纬度\n1,a,clinic,116.4,\n")
    message = refusal(inputs.read_facilities, blank)
    assert message.startswith(f"{blank}: row 1 (line 2), column '纬度': found ''")


def test_non_numeric_and_negative_beds(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "f.csv",
        "id,name,tier,lon,lat,床位\n1,a,clinic,116.4,39.9,10\n2,b,clinic,116.4,39.9,十张\n",
    )
    message = refusal(inputs.read_facilities, path)
    assert message == (
        f"{path}: row 2 (line 3), column '床位': found '十张'; expected a number of beds ≥ 0"
    )
    neg = _csv(tmp_path / "neg.csv", "id,name,tier,lon,lat,area_m2\n1,a,clinic,116.4,39.9,-5\n")
    assert re.search(
        r"row 1 \(line 2\), column 'area_m2': found '-5'",
        refusal(inputs.read_facilities, neg),
    )


def test_duplicate_facility_ids(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "f.csv",
        "id,name,tier,lon,lat\n7,a,clinic,116.4,39.9\n8,b,clinic,116.4,39.9\n7,c,clinic,116.4,39.9\n",
    )
    message = refusal(inputs.read_facilities, path)
    assert message.startswith(f"{path}: row 1 (line 2) and row 3 (line 4), column 'id': found '7'")


def test_facility_missing_required_column(tmp_path: Path) -> None:
    path = _csv(tmp_path / "f.csv", "id,name,lon,lat\n1,a,116.4,39.9\n")
    message = refusal(inputs.read_facilities, path)
    assert message.startswith(f"{path}: missing required column for 'tier'")
    assert "columns found: 'id', 'name'" in message


def test_facility_point_layer_and_polygon_layer(tmp_path: Path) -> None:
    data = {"编号": [1, 2], "名称": ["a", "b"], "层级": ["医院", "诊所"], "note": ["x", "y"]}
    points = [shapely.Point(116.404, 39.915), shapely.Point(116.41, 39.92)]
    path = _layer(tmp_path / "f.gpkg", data, points)
    out = inputs.read_facilities(path)
    assert out["id"].tolist() == ["1", "2"]
    assert out["tier"].tolist() == ["hospital", "clinic"]
    assert list(out.columns) == [*inputs.FACILITY_COLUMNS, "note", "geometry"]
    projected = tmp_path / "f3857.gpkg"
    gpd.read_file(path).to_crs(3857).to_file(projected)
    back = inputs.read_facilities(projected)
    assert back.geometry.iloc[0].distance(points[0]) < 1e-6
    polygons = _layer(tmp_path / "poly.gpkg", data, [SQUARE, SQUARE])
    message = refusal(inputs.read_facilities, polygons)
    assert message.startswith(f"{polygons}: row 1, column 'geometry': found 'Polygon'")
    assert "(lon/lat apply to CSV and Excel tables only)" in refusal(
        inputs.read_facilities, path, columns={"lon": "x"}
    )


def test_clashing_input_columns_are_renamed_not_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _csv(
        tmp_path / "f.csv",
        "id,name,tier,lon,lat,geometry,beds,nursing_beds\n"
        "1,a,clinic,116.4,39.9,POINT (0 0),10,20\n",
    )
    with caplog.at_level("WARNING", logger="carecircle.inputs.readers"):
        out = inputs.read_facilities(path)
    assert out["geometry_input"].tolist() == ["POINT (0 0)"]
    assert out.geometry.iloc[0].equals(shapely.Point(116.4, 39.9))
    assert "geometry_input" in caplog.text
    assert "more nursing beds than beds" in caplog.text and "'1'" in caplog.text


def test_candidate_columns_named_like_sitings_outputs_are_kept(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", "id,lon,lat,order,reach\nK1,116.4,39.9,7,far\n")
    out = inputs.read_candidates(path)
    assert out["order_input"].tolist() == ["7"]  # kept as read
    assert out["reach_input"].tolist() == ["far"]
    assert "order" not in out and "reach" not in out


def test_reading_own_output_again(tmp_path: Path) -> None:
    first = inputs.read_communities(_communities(tmp_path / "c.gpkg", population=[10, np.nan]))
    again_path = tmp_path / "again.gpkg"
    first.to_file(again_path)
    again = inputs.read_communities(again_path)
    assert list(again.columns[:8]) == list(inputs.COMMUNITY_COLUMNS)
    assert again["input_status"].tolist() == ["ok", "no_population"]
    assert "input_status_input" in again.columns


def test_shapefile_without_prj(tmp_path: Path) -> None:
    path = tmp_path / "c.shp"
    with pytest.warns(UserWarning, match="crs"):
        _layer(path, {"id": ["1"], "name": ["a"], "population": [5]}, [SQUARE], crs=None)
    assert not path.with_suffix(".prj").exists()
    assert "no coordinate reference system" in refusal(inputs.read_communities, path)


def _shapefile_without_cpg(path: Path, names: list[str], *, encoding: str) -> Path:
    """A shapefile whose .dbf is in ``encoding`` and that has no .cpg naming it."""
    n = len(names)
    frame = gpd.GeoDataFrame(
        {"id": [f"c{i}" for i in range(n)], "name": names, "人口": [5] * n},
        geometry=[shapely.affinity.translate(SQUARE, 0.01 * i) for i in range(n)],
        crs="EPSG:4326",
    )
    frame.to_file(path, encoding=encoding)
    path.with_suffix(".cpg").unlink()
    return path


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_shapefile_without_cpg_is_decoded(
    tmp_path: Path, encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    names = ["七星岗社区居委会", "新民村委会"]
    path = _shapefile_without_cpg(tmp_path / "c.shp", names, encoding=encoding)
    with caplog.at_level("WARNING", logger="carecircle.inputs.readers"):
        out = inputs.read_communities(path)
    assert out["name"].tolist() == names
    assert out["population"].tolist() == [5.0, 5.0]  # the Chinese header 人口 is found
    assert out["kind"].tolist() == ["urban", "rural"]  # 村委会 is read, so the village is rural
    assumed = "GB18030" if encoding == "GBK" else "UTF-8"
    assert f"no .cpg file names the encoding of c.dbf; read as {assumed}" in caplog.text


def test_shapefile_without_cpg_undecodable(tmp_path: Path) -> None:
    path = _shapefile_without_cpg(tmp_path / "c.shp", ["aaaa", "bbbb"], encoding="UTF-8")
    dbf = path.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes().replace(b"aaaa", b"\xff\xfe\xff\x80"))
    message = refusal(inputs.read_communities, path)
    assert message.startswith(f"{dbf}: no .cpg file names the encoding")
    assert "UTF-8 nor GB18030" in message
    assert "expected a .cpg file beside c.shp" in message


def test_shapefile_with_cpg_keeps_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "c.shp"
    _layer(path, {"id": ["1"], "name": ["新民村委会"], "population": [5]}, [SQUARE])
    assert path.with_suffix(".cpg").exists()
    assert inputs.read_communities(path)["name"].tolist() == ["新民村委会"]


# --- optional columns and the columns that name rows of the other layer ---------------------


def _linked(tmp_path: Path, *, shared: list[str], community_id: str = "") -> tuple[Path, Path]:
    """Two communities c0, c1 (the second shares ``shared``) and three facilities."""
    comm = _communities(tmp_path / "c.gpkg", population=[100, 200], 共享站=shared)
    fac = _csv(
        tmp_path / "f.csv",
        "id,name,tier,lon,lat,所在社区,社会运营,医养结合,所属街道\n"
        "s1,甲,community_station,116.404,39.905,,是,否,\n"
        f"h1,乙,health_center,116.414,39.905,{community_id},,true,乙街道\n"
        "p1,丙,village_point,116.404,39.905,c0,0,,\n",
    )
    return comm, fac


FACILITY_MAP = {
    "community_id": "所在社区",
    "social_operated": "社会运营",
    "medical_capable": "医养结合",
    "township": "所属街道",
}


def test_optional_columns_can_be_mapped(tmp_path: Path) -> None:
    comm_path, fac_path = _linked(tmp_path, shared=["", "s1"])
    comm = inputs.read_communities(comm_path, columns={"shared_station": "共享站"})
    assert comm["shared_station"].tolist() == ["", "s1"]
    assert "共享站" not in comm
    fac = inputs.read_facilities(fac_path, columns=FACILITY_MAP)
    assert fac["community_id"].tolist() == ["", "", "c0"]
    assert fac["social_operated"].tolist() == ["是", "", "0"]
    assert fac["medical_capable"].tolist() == ["否", "true", ""]
    assert fac["township"].tolist() == ["", "乙街道", ""]
    assert not set(FACILITY_MAP.values()) & set(fac.columns)
    inputs.check_community_ids(fac, comm)
    inputs.check_shared_stations(comm, fac)


def test_mapped_optional_column_renames_a_clash(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "f.csv", "id,name,tier,lon,lat,community_id,社区\nf1,甲,clinic,116.4,39.9,x,c0\n"
    )
    out = inputs.read_facilities(path, columns={"community_id": "社区"})
    assert out["community_id"].tolist() == ["c0"]
    assert out["community_id_input"].tolist() == ["x"]


def test_bad_yes_no_names_file_row_and_line(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "f.csv",
        "id,name,tier,lon,lat,social_operated\nf1,甲,clinic,116.4,39.9,是\nf2,乙,clinic,116.4,39.9,maybe\n",
    )
    message = refusal(inputs.read_facilities, path)
    assert message.startswith(
        f"{path}: row 2 (line 3), column 'social_operated': found 'maybe'; expected yes/no"
    )


def test_unknown_community_id_names_file_row_and_column(tmp_path: Path) -> None:
    comm_path, fac_path = _linked(tmp_path, shared=["", ""], community_id="c9")
    comm = inputs.read_communities(comm_path)
    fac = inputs.read_facilities(fac_path, columns=FACILITY_MAP)
    message = refusal(inputs.check_community_ids, fac, comm)
    assert message == (
        "f.csv: row 2 (line 3), column '所在社区': found 'c9'; "
        "expected blank or the id of a community in c.gpkg"
    )


def test_unknown_shared_station_names_file_row_and_column(tmp_path: Path) -> None:
    comm_path, fac_path = _linked(tmp_path, shared=["", "s9"])
    comm = inputs.read_communities(comm_path, columns={"shared_station": "共享站"})
    fac = inputs.read_facilities(fac_path)
    message = refusal(inputs.check_shared_stations, comm, fac)
    assert message.startswith(
        "c.gpkg: row 2, column '共享站': found 's9'; expected blank or the id"
    )


def test_shared_station_must_be_an_eldercare_facility(tmp_path: Path) -> None:
    comm_path, fac_path = _linked(tmp_path, shared=["p1", "h1"])
    comm = inputs.read_communities(comm_path, columns={"shared_station": "共享站"})
    fac = inputs.read_facilities(fac_path)
    message = refusal(inputs.check_shared_stations, comm, fac)
    assert message == (
        "c.gpkg: row 2, column '共享站': found 'h1', a health_center in f.csv; expected blank or "
        "the id of an elderly-care facility in f.csv (street_center, community_station, "
        "township_center, village_point)"
    )


# --- columns that look like a field but are not read -----------------------------------------


@pytest.mark.parametrize("header", ["老年人数", "60周岁及以上人口", "65岁以上", "Elderly Pop"])
def test_an_older_residents_column_left_unmapped_is_named(
    tmp_path: Path, header: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[100], **{header: [30]})
    with caplog.at_level("WARNING", logger="carecircle"):
        out = inputs.read_communities(path)
    assert np.isnan(out["elderly"].iloc[0])  # not read silently
    assert (
        f"{path}: column {header!r} looks like the older residents count (elderly) but is not "
        f"read; map it with --column communities.elderly={header} (columns={{'elderly': "
        f"{header!r}}} in Python); without it the shares are of all residents, not of the "
        "older ones"
    ) in caplog.messages


def test_a_lookalike_beside_the_field_is_named_as_shadowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _communities(tmp_path / "c.gpkg", population=[100], elderly=[20], 户籍人口数=[90])
    with caplog.at_level("WARNING", logger="carecircle"):
        assert inputs.read_communities(path)["population"].iloc[0] == 100
    assert (
        f"{path}: column '户籍人口数' also looks like the residents count (population), which is "
        "read from 'population'; map it with --column communities.population=户籍人口数 "
        "(columns={'population': '户籍人口数'} in Python) to read it instead"
    ) in caplog.messages


def test_columns_that_are_read_give_no_lookalike_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _communities(tmp_path / "c.gpkg", 人口=[100], 老年人数=[30], 备注=["x"])
    with caplog.at_level("WARNING", logger="carecircle"):
        out = inputs.read_communities(path, columns={"elderly": "老年人数"})
    assert out["elderly"].iloc[0] == 30
    assert caplog.messages == []


def test_a_header_with_a_unit_looks_like_its_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "编号,名称,等级,经度,纬度,建筑面积（㎡）,床位数(张)\n1,甲,clinic,116.4,39.9,120,3\n"
    path = _csv(tmp_path / "f.csv", text)
    with caplog.at_level("WARNING", logger="carecircle"):
        out = inputs.read_facilities(path)
    assert np.isnan(out["area_m2"].iloc[0]) and np.isnan(out["beds"].iloc[0])
    assert (
        f"{path}: column '建筑面积（㎡）' looks like the floor area (area_m2) but is not read; map "
        "it with --column facilities.area_m2=建筑面积（㎡） (columns={'area_m2': '建筑面积（㎡）'} "
        "in Python)"
    ) in caplog.messages
    assert any("column '床位数(张)' looks like the beds count (beds)" in m for m in caplog.messages)
    mapped = inputs.read_facilities(path, columns={"area_m2": "建筑面积（㎡）"})
    assert mapped["area_m2"].iloc[0] == 120


def test_a_missing_required_column_names_the_one_that_looks_like_it(tmp_path: Path) -> None:
    path = _communities(tmp_path / "c.gpkg", **{"人口（人）": [100]})
    assert refusal(inputs.read_communities, path) == (
        f"{path}: missing required column for 'population' (accepted headers: 'population', "
        "'人口', '常住人口', '户籍人口', '总人口', 'pop'); the column '人口（人）' looks like the "
        "residents count: map it with --column communities.population=人口（人） "
        "(columns={'population': '人口（人）'} in Python)"
    )


def test_x_and_y_columns_are_named_for_lon_and_lat(tmp_path: Path) -> None:
    path = _csv(tmp_path / "f.csv", "id,name,tier,X,Y\n1,甲,clinic,116.4,39.9\n")
    assert refusal(inputs.read_facilities, path) == (
        f"{path}: missing required column for 'lon' (accepted headers: 'lon', '经度', 'lng', "
        "'longitude'); the column 'X' looks like the longitude: map it with --column "
        "facilities.lon=X (columns={'lon': 'X'} in Python)"
    )


# --- Big5 ------------------------------------------------------------------------------------

BIG5_NAMES = ["臺北市中正區", "長者照顧中心"]
BIG5_CSV = (
    "id,name,tier,lon,lat\nF1,臺北市中正區,clinic,121.51,25.03\n"
    "F2,長者照顧中心,clinic,121.52,25.04\n"
)


def test_a_big5_csv_is_refused_not_garbled(tmp_path: Path) -> None:
    text = BIG5_CSV
    path = _csv(tmp_path / "f.csv", text, encoding="big5")
    assert refusal(inputs.read_facilities, path) == (
        f"{path}: the file appears to be in Big5 (traditional Chinese: '臺北市中正區'), which "
        "would be read as GB18030 into '籓\\ue665カいタ跋'; save it as UTF-8 and retry"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_traditional_names_in_utf8_or_gb18030_are_read(tmp_path: Path, encoding: str) -> None:
    text = BIG5_CSV
    path = _csv(tmp_path / "f.csv", text, encoding=encoding)
    assert inputs.read_facilities(path)["name"].tolist() == BIG5_NAMES


def test_a_gbk_csv_of_simplified_names_is_not_taken_for_big5(tmp_path: Path) -> None:
    # the bytes decode as Big5 too; 璟 and 瑄 are outside GB2312, but 2 of 26 are few
    names = ["幸福社区养老服务站", "康乐居委会养老服务中心", "璟瑄颐和敬老院"]
    rows = "".join(f"F{i},{n},street_center,106.5,29.5\n" for i, n in enumerate(names))
    path = _csv(tmp_path / "f.csv", "id,name,tier,lon,lat\n" + rows, encoding="gbk")
    assert inputs.read_facilities(path)["name"].tolist() == names


def test_rare_gbk_characters_that_big5_reads_as_kana_are_not_taken_for_big5(
    tmp_path: Path,
) -> None:
    # all four are outside GB2312, but as Big5 the bytes read クノ, タジ: not Chinese either
    path = _csv(
        tmp_path / "f.csv", "id,name,tier,lon,lat\nF1,荊莊,clinic,1,1\nF2,荳荘,clinic,1,1\n"
    )
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    assert inputs.read_facilities(path)["name"].tolist() == ["荊莊", "荳荘"]


def test_a_big5_shapefile_without_cpg_is_refused(tmp_path: Path) -> None:
    path = _shapefile_without_cpg(tmp_path / "c.shp", BIG5_NAMES, encoding="big5")
    dbf = path.with_suffix(".dbf")
    assert refusal(inputs.read_communities, path) == (
        f"{dbf}: no .cpg file names the encoding and the attributes appear to be in Big5 "
        "(traditional Chinese: '人口'), which would be read as GB18030 into "
        "'\\ue5ee\\ue60c'; write BIG5 in c.cpg beside c.shp, or save the layer as UTF-8"
    )
    path.with_suffix(".cpg").write_text("BIG5")  # the way out the message gives
    assert inputs.read_communities(path)["name"].tolist() == BIG5_NAMES
