"""QGIS styles in the GeoPackage: the layer_styles table as QGIS makes and reads it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from carecircle import circles as circles_mod
from carecircle.errors import InputError
from carecircle.outputs import maps, qgis
from carecircle.terms import TIERS

# The columns QGIS creates (QgsOgrProviderMetadata::saveStyle), in order.
QGIS_COLUMNS = [
    "id",
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
]


@pytest.fixture
def gpkg(tmp_path: Path) -> Path:
    """communities (2 polygons), facilities (2 points), circles (1 polygon), in EPSG:4326."""
    path = tmp_path / "coverage.gpkg"
    communities = gpd.GeoDataFrame(
        {"id": ["D01", "D02"], "eldercare_status": ["covered", "uncovered"]},
        geometry=[
            shapely.box(106.50, 29.55, 106.51, 29.56),
            shapely.box(106.51, 29.55, 106.52, 29.56),
        ],
        crs="EPSG:4326",
    )
    facilities = gpd.GeoDataFrame(
        {"id": ["F01", "F02"], "tier": ["street_center", "clinic"]},
        geometry=[shapely.Point(106.505, 29.555), shapely.Point(106.515, 29.555)],
        crs="EPSG:4326",
    )
    circles = gpd.GeoDataFrame(
        {"facility_id": ["F01"], "circle": ["eldercare"], "minutes": [10.0]},
        geometry=[shapely.Point(106.505, 29.555).buffer(0.004)],
        crs="EPSG:4326",
    )
    for name, layer in (
        ("communities", communities),
        ("facilities", facilities),
        ("circles", circles),
    ):
        pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG")
    return path


@pytest.fixture
def siting_gpkg(tmp_path: Path) -> Path:
    """The layers siting adds, with the columns export.write_geopackage gives them."""
    path = tmp_path / "coverage.gpkg"
    spots = [shapely.Point(106.505, 29.555), shapely.Point(106.515, 29.555)]
    proposed = gpd.GeoDataFrame(
        {"order": [1, 2], "id": ["G1", "G2"], "name": ["一号", "二号"], "cost_yuan": [2e5, 2e5]},
        geometry=spots,
        crs="EPSG:4326",
    )
    reach = gpd.GeoDataFrame(
        {"facility_id": ["G1", "G2"], "tier": "community_station", "circle": "eldercare"},
        geometry=[spot.buffer(0.004) for spot in spots],
        crs="EPSG:4326",
    )
    candidates = gpd.GeoDataFrame(
        {
            "order": [1.0, 2.0, None],
            "id": ["G1", "G2", "G3"],
            "network_status": ["ok", "ok", "off_network"],
        },
        geometry=[*spots, shapely.Point(106.52, 29.56)],
        crs="EPSG:4326",
    )
    for name, layer in (
        ("proposed_sites", proposed),
        ("proposed_circles", reach),
        ("candidates", candidates),
    ):
        pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG")
    return path


def fields_used(qml: str) -> set[str]:
    """The attributes a style reads: its renderer's field and its labels' field."""
    root = ET.fromstring(qml)
    used = {e.get("attr") for e in root.iter("renderer-v2") if e.get("attr")}
    used |= {e.get("fieldName") for e in root.iter("text-style") if e.get("isExpression") == "0"}
    return {str(name) for name in used}


def _rows(path: Path) -> pd.DataFrame:
    with sqlite3.connect(path) as con:
        frame = pd.read_sql_query("SELECT * FROM layer_styles ORDER BY id", con)
    con.close()
    return frame


def _renderer(qml: str) -> ET.Element:
    root = ET.fromstring(qml)
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer is not None
    return renderer


def test_table_is_created_as_qgis_creates_it(gpkg):
    qgis.add_styles(gpkg, qgis.default_styles(["eldercare", "medical"]))
    con = sqlite3.connect(gpkg)
    try:
        columns = [row[1] for row in con.execute("PRAGMA table_info(layer_styles)")]
        contents = con.execute(
            "SELECT data_type, identifier FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchall()
        count = con.execute(
            "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'layer_styles'"
        ).fetchone()
        geometry_columns = dict(
            con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
        )
    finally:
        con.close()
    assert columns == QGIS_COLUMNS
    assert contents == [("attributes", "layer_styles")]
    assert count == (3,)

    rows = _rows(gpkg)
    assert sorted(rows["f_table_name"]) == ["circles", "communities", "facilities"]
    assert (rows["useAsDefault"] == 1).all()
    # the key columns QGIS's loadStyle filters on
    assert (rows["f_table_schema"] == "").all()
    assert all(
        row.f_geometry_column == geometry_columns[row.f_table_name] for row in rows.itertuples()
    )
    assert (rows["styleName"] == rows["f_table_name"]).all()


def test_styles_are_categorized_on_the_expected_fields(gpkg):
    qgis.add_styles(gpkg, qgis.default_styles(["eldercare", "medical"]))
    rows = _rows(gpkg).set_index("f_table_name")

    communities = _renderer(rows.loc["communities", "styleQML"])
    assert communities.get("type") == "categorizedSymbol"
    assert communities.get("attr") == "eldercare_status"
    values = [c.get("value") for c in communities.iter("category")]
    assert values[:3] == ["covered", "partial", "uncovered"]
    assert set(circles_mod.STATUSES) <= set(values)
    labels = {c.get("value"): c.get("label") for c in communities.iter("category")}
    assert labels["uncovered"] == "未覆盖"
    assert {s.get("type") for s in communities.find("symbols")} == {"fill"}

    facilities = _renderer(rows.loc["facilities", "styleQML"])
    assert facilities.get("attr") == "tier"
    tiers = [c.get("value") for c in facilities.iter("category") if c.get("type") == "string"]
    assert sorted(tiers) == sorted(TIERS)
    assert {s.get("type") for s in facilities.find("symbols")} == {"marker"}

    circles = _renderer(rows.loc["circles", "styleQML"])
    assert circles.get("attr") == "circle"
    assert [c.get("value") for c in circles.iter("category")][:2] == ["eldercare", "medical"]


def test_geopackage_still_reads_with_gdal(gpkg):
    before = {
        name: gpd.read_file(gpkg, layer=name) for name in ("communities", "facilities", "circles")
    }
    qgis.add_styles(gpkg, qgis.default_styles(["eldercare"]))
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers["communities"] == "Polygon"
    assert layers["facilities"] == "Point"
    assert layers["layer_styles"] is None  # a table without geometry
    for name, frame in before.items():
        pd.testing.assert_frame_equal(gpd.read_file(gpkg, layer=name), frame)
    info = pyogrio.read_info(gpkg, layer="layer_styles")
    assert info["fid_column"] == "id"
    assert info["features"] == 3
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    assert styles["useAsDefault"].dtype == bool
    assert styles["useAsDefault"].all()


def test_adding_twice_leaves_one_default_per_layer(gpkg):
    styles = qgis.default_styles(["eldercare", "medical"])
    qgis.add_styles(gpkg, styles)
    qgis.add_styles(gpkg, qgis.default_styles(["medical", "eldercare"], lang="en"))
    rows = _rows(gpkg)
    assert len(rows) == 3
    assert rows.groupby("f_table_name")["useAsDefault"].sum().to_dict() == {
        "circles": 1,
        "communities": 1,
        "facilities": 1,
    }
    communities = rows.loc[rows["f_table_name"] == "communities", "styleQML"].item()
    assert _renderer(communities).get("attr") == "medical_status"  # replaced, not kept
    assert pyogrio.read_info(gpkg, layer="layer_styles")["features"] == 3


def test_a_users_own_styles_are_kept_but_no_longer_default(gpkg):
    qgis.add_styles(gpkg, {"communities": qgis.default_styles(["eldercare"])["communities"]})
    user_qml = qgis.categorized_qml("id", [("D01", "one", "#000000")], geometry="polygon")
    qgis.add_styles(gpkg, {"communities": user_qml}, style_name="mine")
    rows = _rows(gpkg)
    assert rows.set_index("styleName")["useAsDefault"].to_dict() == {"communities": 0, "mine": 1}

    qgis.add_styles(gpkg, {"communities": user_qml}, style_name="draft", default=False)
    rows = _rows(gpkg).set_index("styleName")
    assert rows["useAsDefault"].to_dict() == {"communities": 0, "mine": 1, "draft": 0}


def test_unknown_layer_fails_without_touching_the_file(gpkg):
    with pytest.raises(InputError, match=r"'roads'.*communities"):
        qgis.add_styles(gpkg, {"communities": "<qgis/>", "roads": "<qgis/>"})
    assert "layer_styles" not in dict(pyogrio.list_layers(gpkg))


def test_not_a_geopackage(tmp_path):
    path = tmp_path / "plain.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="not a GeoPackage"):
        qgis.add_styles(path, {"t": "<qgis/>"})
    with pytest.raises(InputError, match="not found"):
        qgis.add_styles(tmp_path / "missing.gpkg", {})


def test_symbols_follow_the_geometry():
    categories = [("a", "A", "#1a9850"), ("b", "B", "#d73027")]
    polygon = _renderer(qgis.categorized_qml("f", categories, geometry="polygon"))
    colours = [layer.find("prop[@k='color']").get("v") for layer in polygon.iter("layer")][:2]
    assert colours == ["26,152,80,153", "215,48,39,153"]  # semi-transparent fill
    outline = [p.get("v") for p in polygon.iter("prop") if p.get("k") == "outline_color"]
    assert outline[0] == "51,51,51,255"  # dark outline

    points = _renderer(
        qgis.categorized_qml("f", categories, geometry="point", sizes_mm={"a": 4.2, "b": 2.8})
    )
    layers = list(points.find("symbols").iter("layer"))
    assert {layer.get("class") for layer in layers} == {"SimpleMarker"}
    assert [layer.find("prop[@k='size']").get("v") for layer in layers] == ["4.2", "2.8"]
    assert {layer.find("prop[@k='name']").get("v") for layer in layers} == {"circle"}

    rings = _renderer(qgis.categorized_qml("f", categories, geometry="outline"))
    styles = {p.get("v") for p in rings.find("symbols").iter("prop") if p.get("k") == "style"}
    assert styles == {"no"}  # no fill, outline only


def test_bad_arguments():
    with pytest.raises(ValueError, match="geometry"):
        qgis.categorized_qml("f", [("a", "A", "#000000")], geometry="line")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="#rrggbb"):
        qgis.categorized_qml("f", [("a", "A", "green")], geometry="polygon")
    with pytest.raises(ValueError, match="no categories"):
        qgis.categorized_qml("f", [], geometry="polygon")
    with pytest.raises(ValueError, match="language"):
        qgis.default_styles(["eldercare"], lang="fr")
    with pytest.raises(ValueError, match="no circles"):
        qgis.default_styles([])


def test_english_labels_and_circle_labels():
    styles = qgis.default_styles(
        ["eldercare", "medical"], lang="en", circle_labels={"eldercare": "Elderly-care circle"}
    )
    labels = {
        c.get("value"): c.get("label") for c in _renderer(styles["communities"]).iter("category")
    }
    assert labels["partial"] == "partly covered"
    rings = {c.get("value"): c.get("label") for c in _renderer(styles["circles"]).iter("category")}
    assert rings["eldercare"] == "Elderly-care circle"
    assert rings["medical"] == "medical"


def test_siting_styles_draw_the_layers_as_the_map_does(siting_gpkg):
    styles = qgis.siting_styles(["eldercare", "medical"], circle_labels={"eldercare": "养老服务圈"})
    assert set(styles) == {"proposed_sites", "proposed_circles", "candidates"}
    qgis.add_styles(siting_gpkg, styles)
    rows = _rows(siting_gpkg).set_index("f_table_name")
    assert (rows["useAsDefault"] == 1).all()
    for layer, qml in rows["styleQML"].items():  # every field a style reads is in its layer
        assert fields_used(qml) <= set(pyogrio.read_info(siting_gpkg, layer=layer)["fields"])

    # proposed sites: a near-black disc, labelled with its order of building, in white
    root = ET.fromstring(rows.loc["proposed_sites", "styleQML"])
    assert root.get("labelsEnabled") == "1"
    assert "Labeling" in root.get("styleCategories").split("|")
    sites = _renderer(rows.loc["proposed_sites", "styleQML"])
    assert sites.get("type") == "singleSymbol"
    [disc] = sites.iter("layer")
    assert disc.get("class") == "SimpleMarker"
    assert disc.find("prop[@k='color']").get("v") == qgis._rgba(maps.PROPOSED_COLOUR)
    [text] = root.iter("text-style")
    assert (text.get("fieldName"), text.get("isExpression")) == ("order", "0")
    assert text.get("textColor") == "255,255,255,255"
    [placement] = root.iter("placement")
    assert (placement.get("placement"), placement.get("quadOffset")) == ("1", "4")  # centred
    [rendering] = root.iter("rendering")
    assert rendering.get("drawLabels") == "1"

    # their walking circles: dashed near-black outlines, unfilled
    rings = _renderer(rows.loc["proposed_circles", "styleQML"])
    assert rings.get("attr") == "circle"
    labels = {c.get("value"): c.get("label") for c in rings.iter("category")}
    assert labels == {"eldercare": "养老服务圈（建议选址）", "medical": "medical（建议选址）"}
    props = [
        {p.get("k"): p.get("v") for p in layer} for layer in rings.find("symbols").iter("layer")
    ]
    assert {(p["outline_style"], p["outline_color"], p["style"]) for p in props} == {
        ("dash", qgis._rgba(maps.PROPOSED_COLOUR), "no")
    }

    # candidates: grey dots, red where off the walking network
    dots = _renderer(rows.loc["candidates", "styleQML"])
    assert dots.get("attr") == "network_status"
    colours = {
        c.get("value"): layer.find("prop[@k='color']").get("v")
        for c, layer in zip(dots.iter("category"), dots.find("symbols").iter("layer"), strict=True)
    }
    assert colours == {
        "ok": qgis._rgba(maps.CANDIDATE_COLOUR),
        "off_network": qgis._rgba(maps.OFF_NETWORK_COLOUR),
    }

    english = qgis.siting_styles(["eldercare"], lang="en")
    dots = _renderer(english["candidates"])
    assert [c.get("label") for c in dots.iter("category")] == [
        "candidate site",
        "candidate site (off the walking network)",
    ]
    with pytest.raises(ValueError, match="language"):
        qgis.siting_styles(["eldercare"], lang="fr")
    with pytest.raises(ValueError, match="no circles"):
        qgis.siting_styles([])


def _qgis_python() -> str | None:
    """A Python that can import PyQGIS (the venv's, or the system's from python3-qgis)."""
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if not candidate or not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-c", "import qgis.core"], capture_output=True, check=False, timeout=120
        )
        if probe.returncode == 0:
            return candidate
    return None


QGIS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from qgis.core import QgsApplication, QgsVectorLayer, QgsRenderContext
    app = QgsApplication([], False)
    app.initQgis()
    out = {}
    for name in sys.argv[2:]:
        layer = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
        renderer = layer.renderer()
        context = QgsRenderContext()
        renderer.startRender(context, layer.fields())
        drawn = sum(renderer.symbolForFeature(f, context) is not None for f in layer.getFeatures())
        renderer.stopRender(context)
        categorized = renderer.type() == "categorizedSymbol"
        categories = renderer.categories() if categorized else []
        out[name] = {
            "valid": layer.isValid(),
            "type": renderer.type(),
            "attr": renderer.classAttribute() if categorized else "",
            "values": [str(c.value()) for c in categories],
            "colours": [c.symbol().color().name() for c in categories]
            or [renderer.symbol().color().name()],
            "drawn": drawn,
            "count": layer.featureCount(),
            "labels": layer.labelsEnabled(),
        }
        if layer.labelsEnabled():
            settings = layer.labeling().settings()
            out[name]["label_field"] = settings.fieldName
            out[name]["label_placement"] = int(settings.placement)
    print(json.dumps(out), flush=True)
    del layer, renderer, categories  # layers outliving exitQgis() crash PyQGIS on exit
    app.exitQgis()
    """
)


def _in_qgis(gpkg: Path, layers: list[str], tmp_path: Path) -> dict[str, dict]:
    """What PyQGIS makes of each layer with its default style (see QGIS_SCRIPT)."""
    script = tmp_path / "check.py"
    script.write_text(QGIS_SCRIPT, encoding="utf-8")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    result = subprocess.run(
        [str(_qgis_python()), str(script), str(gpkg), *layers],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(_qgis_python() is None, reason="PyQGIS not installed")
def test_qgis_applies_the_default_styles(gpkg, tmp_path):
    qgis.add_styles(gpkg, qgis.default_styles(["eldercare"]))
    found = _in_qgis(gpkg, ["communities", "facilities", "circles"], tmp_path)
    assert found["communities"]["type"] == "categorizedSymbol"
    assert found["communities"]["attr"] == "eldercare_status"
    assert found["communities"]["colours"][0] == "#1a9850"  # covered, as on the HTML map
    assert found["facilities"]["attr"] == "tier"
    assert found["circles"]["attr"] == "circle"
    for layer in found.values():
        assert layer["valid"]
        assert layer["drawn"] == layer["count"] > 0


@pytest.mark.skipif(_qgis_python() is None, reason="PyQGIS not installed")
def test_qgis_applies_the_siting_styles(siting_gpkg, tmp_path):
    qgis.add_styles(siting_gpkg, qgis.siting_styles(["eldercare"]))
    found = _in_qgis(siting_gpkg, ["proposed_sites", "proposed_circles", "candidates"], tmp_path)
    sites = found["proposed_sites"]
    assert sites["type"] == "singleSymbol"
    assert sites["colours"] == [maps.PROPOSED_COLOUR]
    assert sites["labels"] and sites["label_field"] == "order"
    assert sites["label_placement"] == 1  # QgsPalLayerSettings.OverPoint: on the disc
    assert found["proposed_circles"]["attr"] == "circle"
    assert found["candidates"]["attr"] == "network_status"
    assert found["candidates"]["colours"] == [maps.CANDIDATE_COLOUR, maps.OFF_NETWORK_COLOUR]
    for layer in found.values():
        assert layer["valid"]
        assert layer["drawn"] == layer["count"] > 0


def _qgis_class(renderer: ET.Element, value: float | None) -> str | None:
    """The colour QGIS gives ``value`` (None: NULL): the first range holding it, ends included."""
    matched = -1.0 if value is None else value  # the style's coalesce("people", -1)
    for row in renderer.iter("range"):
        if float(row.get("lower", "nan")) <= matched <= float(row.get("upper", "nan")):
            symbol = renderer.find(f"symbols/symbol[@name='{row.get('symbol')}']")
            assert symbol is not None
            return symbol.find("layer/prop[@k='color']").get("v")
    return None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_care_style_shades_as_the_html_map_does(lang):
    people = np.array([0, 1, 3, 7, 7, 12, 40, 41, 90, np.nan, 250, np.nan], dtype=float)
    qml = qgis.care_style(people, lang=lang)
    renderer = _renderer(qml)
    assert renderer.get("type") == "graduatedSymbol"
    assert renderer.get("attr") == 'coalesce("people", -1)'
    _, shade = maps.care_classes(people)
    expected = [
        maps.CARE_COLOURS[k] if k >= 0 else maps.CARE_WITHHELD_COLOUR for k in shade.tolist()
    ]
    found = [_qgis_class(renderer, None if np.isnan(v) else float(v)) for v in people]
    assert found == [qgis._rgba(c, 0.6) for c in expected]
    labels = [row.get("label") for row in renderer.iter("range")]
    assert labels[-1] == (
        "未公布（人数过少或未填）" if lang == "zh" else "withheld (too few) or not given"
    )
    assert len(labels) == len(set(shade.tolist()))  # one legend entry per class drawn


def test_the_care_style_reads_a_renamed_field_and_needs_a_known_language():
    qml = qgis.care_style(np.array([4.0, np.nan]), field='pe"ople')
    assert _renderer(qml).get("attr") == 'coalesce("pe""ople", -1)'
    only_withheld = _renderer(qgis.care_style(np.array([np.nan, np.nan])))
    assert [(r.get("lower"), r.get("upper")) for r in only_withheld.iter("range")] == [
        ("-1.000000", "-1.000000")
    ]
    with pytest.raises(ValueError, match="language"):
        qgis.care_style(np.array([1.0]), lang="fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no ranges"):
        qgis.graduated_qml("people", [])
