"""The compound rules (小区), each at its own number, read as its document words it.

A small district in metres (EPSG:32648, Chongqing's UTM zone): an urban community U
(0..1000 m) beside a rural one R (1000..2000 m), one elderly-care station inside U at
(100, 100). Compounds are written to a CSV of lon/lat points or a GeoPackage of polygons and
read with :func:`carecircle.inputs.read_compounds`, as a user's file would be.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from carecircle import cli, compounds, pipeline, policy
from carecircle.errors import InputError
from carecircle.inputs.compounds import read_compounds

CRS = 32648


@pytest.fixture
def district():
    communities = gpd.GeoDataFrame(
        {
            "id": ["U", "R"],
            "name": ["城市社区", "某村"],
            "kind": ["urban", "rural"],
            "township": ["甲街道", "乙镇"],
        },
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        crs=CRS,
    )
    facilities = gpd.GeoDataFrame(
        {"id": ["S1", "H1"], "tier": ["community_station", "health_center"]},
        geometry=[shapely.Point(100, 100), shapely.Point(500, 500)],
        crs=CRS,
    )
    return communities, facilities


def _lonlat(x, y):
    points = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=CRS).to_crs(4326)
    return points.x.round(8).to_numpy(), points.y.round(8).to_numpy()


def _points(tmp_path, rows: dict[str, list], *, x=None, y=None):
    """A CSV of compounds at (x, y) metres (default: inside U), read as a user's file."""
    n = len(next(iter(rows.values())))
    x = np.full(n, 500.0) if x is None else np.asarray(x, dtype=float)
    y = np.full(n, 600.0) if y is None else np.asarray(y, dtype=float)
    lon, lat = _lonlat(x, y)
    table = pd.DataFrame({"id": [f"C{i}" for i in range(n)], "lon": lon, "lat": lat, **rows})
    path = tmp_path / "compounds.csv"
    table.to_csv(path, index=False)
    return read_compounds(path)


def _check(comp, district, name, **options):
    communities, facilities = district
    return compounds.check_compounds(
        comp, communities, facilities, policy.load(name), **options
    ).set_index("id")


# --- 渝府办发〔2018〕99号 §二(一) ---------------------------------------------------------------


def test_750_m2_per_facility_of_a_new_community_includes_750(tmp_path, district):
    # 每个社区养老服务中心（站）面积应达到750平方米以上 (以上 includes 750); 新建社区
    comp = _points(
        tmp_path,
        {
            "care_room_area_m2": [749.9, 750, 750.1],
            "residents": [100] * 3,
            "build_year": [2018] * 3,
        },
    )
    out = _check(comp, district, "chongqing")
    assert out["min_area_status"].tolist() == ["below", "meets", "meets"]
    assert (out["min_area_required"] == 750).all()
    assert out["min_area_source"].str.contains("渝府办发〔2018〕99号").all()
    assert "749.9 m² < 750 m²" in out.loc["C0", "min_area_reason"]


def test_an_old_compound_takes_the_new_community_rules_as_a_reference_only(tmp_path, district):
    # 老社区应参照新建社区标准: built before 2018 (the document's year), not held to 750 m²
    comp = _points(
        tmp_path,
        {"care_room_area_m2": [0, 0], "residents": [3000, 3000], "build_year": [2017, 2018]},
    )
    out = _check(comp, district, "chongqing")
    assert out["min_area_status"].tolist() == ["not_applicable", "below"]
    assert out["per_resident_status"].tolist() == ["not_applicable", "below"]
    assert "参照" in out.loc["C0", "min_area_reason"]
    assert "before 2018" in out.loc["C0", "min_area_reason"]


def test_0_1_m2_per_resident_of_a_new_compound(tmp_path, district):
    # 新建社区按人均不低于0.1平方米的标准配建: 3000 residents need 300 m²
    comp = _points(
        tmp_path,
        {"care_room_area_m2": [299.9, 300], "residents": [3000, 3000], "new": ["新建", "新建"]},
    )
    out = _check(comp, district, "chongqing")
    assert out["per_resident_status"].tolist() == ["below", "meets"]
    assert (out["per_resident_required"] == 300).all()


# --- 万州府办发〔2020〕28号 §二(五)12, 运〔2021〕—2 §三(四) ------------------------------------


def test_yuncheng_20_m2_per_100_households_of_a_new_compound(tmp_path, district):
    # 新建住宅小区…每百户20平方米: 1000 households need 200 m²
    comp = _points(
        tmp_path,
        {"households": [1000, 1000], "care_room_area_m2": [199.9, 200], "build_year": [2021] * 2},
    )
    out = _check(comp, district, "yuncheng")
    assert out["per_100_households_status"].tolist() == ["below", "meets"]
    assert (out["per_100_households_required"] == 200).all()
    assert out["per_100_households_source"].eq("运〔2021〕—2 §三(四)").all()


def test_wanzhou_20_to_30_m2_per_100_households_the_lower_end_is_the_minimum(tmp_path, district):
    # 新建住宅小区按照每百户20至30平方米: 200 m² for 1000 households meets, 300 m² too
    comp = _points(
        tmp_path,
        {
            "households": [1000] * 3,
            "care_room_area_m2": [199.9, 200, 300.1],
            "build_year": [2020] * 3,
        },
    )
    out = _check(comp, district, "wanzhou")
    assert out["per_100_households_status"].tolist() == ["below", "meets", "meets"]
    assert "200–300 m²" in out.loc["C1", "per_100_households_reason"]


def test_per_100_households_is_for_new_compounds_only(tmp_path, district):
    comp = _points(
        tmp_path,
        {"households": [1000], "care_room_area_m2": [0], "new": ["老旧"]},
    )
    out = _check(comp, district, "wanzhou")
    assert out.loc["C0", "per_100_households_status"] == "not_applicable"


# --- 垫江府办〔2020〕8号 §二(一) ----------------------------------------------------------------


def test_dianjiang_0_2_m2_of_land_per_resident_for_every_compound(tmp_path, district):
    # 按照人均不低于0.2平方米的养老用地标准: land, 5000 residents need 1000 m²; new and old
    comp = _points(
        tmp_path,
        {
            "residents": [5000] * 3,
            "care_land_area_m2": [999, 1000, 999],
            "care_room_area_m2": [5000] * 3,  # floor area does not count for land
            "build_year": [2020, 2020, 1990],
        },
    )
    out = _check(comp, district, "dianjiang")
    assert out["land_per_resident_status"].tolist() == ["below", "meets", "below"]
    assert (out["land_per_resident_actual"] == [999, 1000, 999]).all()
    assert "未达标" in out.loc["C2", "land_per_resident_reason"]


# --- 运〔2021〕—2 §二(一) ---------------------------------------------------------------------


def test_old_compounds_without_a_facility_need_one_those_of_200000_m2_first(tmp_path, district):
    # 对无养老服务设施的老旧小区，特别是建筑面积在20万平方米以上的住宅小区，要…解决
    comp = _points(
        tmp_path,
        {
            "floor_area_m2": [199_999, 200_000],
            "care_room_area_m2": [0, 0],
            "build_year": [1995] * 2,
        },
    )
    out = _check(comp, district, "yuncheng")
    assert out["old_compound_status"].tolist() == ["needs_centre", "needs_centre"]
    assert out["old_compound_priority"].tolist() == [False, True]
    assert "特别是" in out.loc["C1", "old_compound_reason"]
    assert "特别是" not in out.loc["C0", "old_compound_reason"]


def test_an_old_compound_with_a_facility_inside_or_care_rooms_meets(tmp_path, district):
    polygons = gpd.GeoDataFrame(
        {
            "id": ["with_station", "without", "with_rooms"],
            "floor_area_m2": [200_000, 200_000, 199_999],
            "care_room_area_m2": [0.0, 0.0, 50.0],
            "build_year": [1995, 1995, 1995],
        },
        geometry=[
            shapely.box(50, 50, 150, 150),
            shapely.box(300, 300, 400, 400),
            shapely.box(0, 500, 100, 600),
        ],
        crs=CRS,
    )
    path = tmp_path / "compounds.gpkg"
    polygons.to_file(path, layer="compounds")
    out = _check(read_compounds(path), district, "yuncheng")
    assert out["old_compound_status"].tolist() == ["meets", "needs_centre", "meets"]
    assert out.loc["with_station", "eldercare_facilities"] == "S1"  # not the health centre
    assert "facility S1 inside" in out.loc["with_station", "old_compound_basis"]
    assert "care rooms 50 m²" in out.loc["with_rooms", "old_compound_basis"]


def test_a_point_compound_has_the_facility_within_the_stated_distance(tmp_path, district):
    comp = _points(
        tmp_path,
        {"floor_area_m2": [250_000] * 2, "care_room_area_m2": [0, 0], "build_year": [1990] * 2},
        x=[100 + compounds.POINT_RADIUS_M - 1, 100 + compounds.POINT_RADIUS_M + 1],
        y=[100, 100],
    )
    out = _check(comp, district, "yuncheng")
    assert out["old_compound_status"].tolist() == ["meets", "needs_centre"]


def test_a_new_compound_is_not_held_to_the_old_compound_rule(tmp_path, district):
    comp = _points(tmp_path, {"floor_area_m2": [300_000], "build_year": [2021]})
    out = _check(comp, district, "yuncheng")
    assert out.loc["C0", "old_compound_status"] == "not_applicable"
    assert pd.isna(out.loc["C0", "old_compound_priority"])


def test_yuncheng_rules_leave_a_village_compound_out(tmp_path, district):
    # 运〔2021〕—2 is for urban communities only (applies_to = ["urban"])
    comp = _points(
        tmp_path,
        {"floor_area_m2": [250_000], "care_room_area_m2": [0], "build_year": [1990]},
        x=[1500],
        y=[500],
    )
    out = _check(comp, district, "yuncheng")
    assert out.loc["C0", "community_id"] == "R"
    assert out.loc["C0", "old_compound_status"] == "not_applicable"
    assert "urban communities only" in out.loc["C0", "old_compound_reason"]


# --- new or old, missing columns, where a compound lies ----------------------------------------


def test_new_from_year_overrides_each_documents_year(tmp_path, district):
    comp = _points(tmp_path, {"care_room_area_m2": [0, 0], "build_year": [2010, 2009]})
    default = _check(comp, district, "chongqing")
    assert set(default["min_area_status"]) == {"not_applicable"}  # before 2018
    chosen = _check(comp, district, "chongqing", new_from_year=2010)
    assert chosen["min_area_status"].tolist() == ["below", "not_applicable"]
    assert "2010 (--new-from)" in chosen.loc["C0", "min_area_reason"]


def test_a_missing_column_makes_its_rules_unknown_with_the_reason(tmp_path, district):
    comp = _points(tmp_path, {"residents": [3000], "households": [1000]})
    out = _check(comp, district, "wanzhou")
    assert out.loc["C0", "min_area_status"] == "unknown"
    assert "no build_year or new column" in out.loc["C0", "min_area_reason"]
    dated = _points(tmp_path, {"residents": [3000], "build_year": [2020]})
    out = _check(dated, district, "wanzhou")
    assert out.loc["C0", "per_resident_status"] == "unknown"
    assert out.loc["C0", "per_resident_reason"].endswith("; no care_room_area_m2 column")
    assert out.loc["C0", "per_100_households_status"] == "unknown"
    assert out.loc["C0", "per_100_households_reason"].endswith(
        "no care_room_area_m2 or households column"
    )
    assert out.loc["C0", "status"] == "unknown"


def test_a_compound_outside_every_community_stays(tmp_path, district):
    comp = _points(
        tmp_path,
        {"care_room_area_m2": [800, 800], "build_year": [2019, 2019]},
        x=[500, 5000],
        y=[600, 5000],
    )
    out = _check(comp, district, "chongqing")
    assert out.index.tolist() == ["C0", "C1"]
    assert out.loc["C1", "community_id"] == ""
    assert out.loc["C1", "location"] == compounds.OUTSIDE
    assert out.loc["C1", "min_area_status"] == "meets"  # checked on its own figures
    rows = compounds.district_rows(out.reset_index(), policy.load("chongqing")).set_index("rule")
    assert rows.loc["compounds", "value"] == 2
    assert "1 outside every community" in rows.loc["compounds", "basis"]


def test_a_users_column_named_like_an_output_is_kept_renamed(tmp_path, district):
    comp = _points(tmp_path, {"status": ["在建"], "community_id": ["X9"]})
    out = _check(comp, district, "chongqing")
    assert out.loc["C0", "status_input"] == "在建"
    assert out.loc["C0", "community_id_input"] == "X9"
    assert out.loc["C0", "community_id"] == "U"


def test_a_polygon_compound_belongs_to_its_largest_overlap(tmp_path, district):
    frame = gpd.GeoDataFrame(
        {"id": ["mostly_rural", "mostly_urban"]},
        geometry=[shapely.box(900, 0, 1200, 100), shapely.box(800, 0, 1100, 100)],
        crs=CRS,
    )
    path = tmp_path / "compounds.gpkg"
    frame.to_file(path, layer="compounds")
    out = _check(read_compounds(path), district, "chongqing")
    assert out["community_id"].tolist() == ["R", "U"]
    assert out["shape"].eq("polygon").all()


def test_the_worst_rule_is_the_compounds_status_and_district_counts_it(tmp_path, district):
    comp = _points(
        tmp_path,
        {
            "households": [1000, 1000, 1000],
            "care_room_area_m2": [0, 500, 0],
            "floor_area_m2": [250_000, 10_000, 10_000],
            "build_year": [1990, 2021, 2021],
        },
    )
    out = _check(comp, district, "yuncheng")
    assert out["status"].tolist() == ["needs_centre", "meets", "below"]
    rows = compounds.district_rows(out.reset_index(), policy.load("yuncheng")).set_index("rule")
    assert rows.loc["compounds_needing_centre", "value"] == 1
    assert rows.loc["compounds_below", "value"] == 1
    assert rows.loc["compounds_needing_centre", "basis"].startswith("1 of 200,000 m²")


def test_check_only_keeps_every_compound_and_adds_the_counts(tmp_path, district):
    communities, facilities = district
    comp = _points(tmp_path, {"care_room_area_m2": [800], "build_year": [2019]})
    table, rows = pipeline.check_compounds(
        comp, communities, facilities, policy.load("chongqing"), pd.DataFrame()
    )
    assert len(table) == 1 and rows["rule"].iloc[0] == "compounds"
    with pytest.raises(InputError, match="missing column 'households'"):
        pipeline.check_compounds(
            comp.drop(columns="households"), communities, facilities, policy.load("chongqing"), rows
        )


# --- the command line ----------------------------------------------------------------------------


def test_check_command_writes_compounds_csv(tmp_path, capsys):
    from importlib import resources

    demo = resources.files("carecircle.data") / "demo"
    with resources.as_file(demo) as folder:
        args = [
            "check",
            "--communities",
            str(folder / "communities.gpkg"),
            "--facilities",
            str(folder / "facilities.csv"),
            "--compounds",
            str(folder / "compounds.csv"),
            "--policy",
            "yuncheng",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
            "--lang",
            "en",
        ]
        assert cli.main(args) == 0
        given = pd.read_csv(folder / "compounds.csv")
    written = pd.read_csv(tmp_path / "out" / "compounds.csv", encoding="utf-8-sig")
    assert written["id"].tolist() == given["id"].tolist()  # every compound, in order
    assert "old_compound_status" in written
    assert written["note"].str.startswith("invented").all()  # the demo's are invented
    district = pd.read_csv(tmp_path / "out" / "district.csv", encoding="utf-8-sig")
    assert {"compounds", "compounds_needing_centre"} <= set(district["rule"])
    assert "compounds checked" in capsys.readouterr().out
    book = openpyxl.load_workbook(tmp_path / "out" / "coverage.xlsx", read_only=True)
    assert "compounds" in book.sheetnames
    rows = list(book["compounds"].iter_rows(values_only=True))
    assert len(rows) == 1 + len(given)
    assert "needs a facility" in {cell for row in rows for cell in row}  # statuses in words
    book.close()


def test_a_layer_may_mix_polygons_and_points(tmp_path, district):
    frame = gpd.GeoDataFrame(
        {"id": ["P", "Q"], "build_year": [1990, 1990], "floor_area_m2": [1.0, 1.0]},
        geometry=[shapely.box(50, 50, 150, 150), shapely.Point(1500, 500)],
        crs=CRS,
    )
    path = tmp_path / "mixed.geojson"
    frame.to_crs(4326).to_file(path)
    out = _check(read_compounds(path), district, "yuncheng")
    assert out["shape"].tolist() == ["polygon", "point"]
    assert out["community_id"].tolist() == ["U", "R"]


def test_new_from_without_compounds_is_refused(tmp_path, capsys):
    code = cli.main(
        ["check", "--communities", "c.gpkg", "--facilities", "f.csv", "--new-from", "2018"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--new-from applies to compounds given with --compounds" in err
    assert "Traceback" not in err


def test_the_map_layer_shows_names_as_text_and_each_rules_figures(tmp_path, district):
    import types

    import folium

    from carecircle.outputs import maps

    comp = _points(
        tmp_path,
        {
            "name": ["<img src=x onerror=alert(1)>"],
            "care_room_area_m2": [300],
            "build_year": [2020],
        },
    )
    communities, facilities = district
    table = compounds.check_compounds(comp, communities, facilities, policy.load("chongqing"))
    fmap = folium.Map()
    analysis = types.SimpleNamespace(policy=policy.load("chongqing"))
    maps._add_compounds(fmap, table.to_crs(4326), analysis, maps.TEXT["en"], "en")
    raw = fmap.get_root().render()
    assert "<img src=x" not in raw
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), raw)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "750 m² per facility" in page and "渝府办发〔2018〕99号 §二(一)" in page
