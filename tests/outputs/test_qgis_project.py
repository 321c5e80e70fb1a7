"""coverage.qgz: the QGIS project beside coverage.gpkg, read as XML and, where present, by QGIS."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pyogrio
import pyproj
import pytest

import carecircle as cc
from carecircle import cli
from carecircle.care import CareMap
from carecircle.outputs import export, qgis_project
from carecircle.outputs._files import ANALYSIS_FILES, RECORD

LOCAL = "+proj=tmerc +lat_0=0 +lon_0=24.94 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
CASES = {
    "wgs84-zh": {"crs": None, "lang": "zh", "shapefile_safe": False},
    "cgcs2000-en-safe": {"crs": "EPSG:4490", "lang": "en", "shapefile_safe": True},
    "local-zh-safe": {"crs": LOCAL, "lang": "zh", "shapefile_safe": True},
}


@pytest.fixture(scope="module")
def sited(demo_analysis):
    """The demo with two proposed sites, so the project has its siting group too."""
    question = {"count": 2, "tier": "community_station", "spacing_m": 150.0}
    return cc.siting.attach(demo_analysis, cc.siting.propose(demo_analysis, **question))


@pytest.fixture(scope="module", params=list(CASES))
def project(request, sited, tmp_path_factory):
    """(folder, case) of a GeoPackage and its project, written as write_all writes them."""
    case = CASES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    gpkg = folder / ANALYSIS_FILES["geopackage"]
    options = {k: case[k] for k in ("crs", "shapefile_safe")}
    export.write_geopackage(sited, gpkg, lang=case["lang"], **options)
    qgis_project.write_project(
        sited, gpkg, folder / ANALYSIS_FILES["qgis_project"], lang=case["lang"]
    )
    return folder, case


def _qgs(folder: Path) -> ET.Element:
    with zipfile.ZipFile(folder / ANALYSIS_FILES["qgis_project"]) as archive:
        (name,) = archive.namelist()
        assert name == "coverage.qgs"
        return ET.fromstring(archive.read(name).decode("utf-8"))


def _source(text: str) -> tuple[str, str, str]:
    """(path, layer, subset) of an OGR data source."""
    path, *parts = text.split("|")
    options = dict(part.split("=", 1) for part in parts)
    return path, options["layername"], options.get("subset", "")


def _groups(root: ET.Element) -> dict[str, tuple[bool, list[ET.Element]]]:
    """Each group of the layer tree by name: ticked, and its layers."""
    tree = root.find("layer-tree-group")
    assert tree is not None
    return {
        g.get("name", ""): (g.get("checked") == "Qt::Checked", g.findall("layer-tree-layer"))
        for g in tree.findall("layer-tree-group")
    }


def _fields(gpkg: Path) -> dict[str, set[str]]:
    return {
        str(name): set(pyogrio.read_info(gpkg, layer=name)["fields"])
        for name, kind in pyogrio.list_layers(gpkg)
        if kind
    }


def test_every_layer_is_a_layer_of_the_geopackage_beside_it(project):
    folder, _ = project
    root = _qgs(folder)
    fields = _fields(folder / "coverage.gpkg")
    maplayers = root.findall("projectlayers/maplayer")
    ids = [layer.findtext("id") for layer in maplayers]
    assert len(ids) == len(set(ids)) >= 8
    tree_ids = [node.get("id") for node in root.iter("layer-tree-layer")]
    assert sorted(tree_ids) == sorted(ids)
    assert [e.get("id") for e in root.findall("layerorder/layer")] == ids
    for layer in maplayers:
        path, table, subset = _source(layer.findtext("datasource", ""))
        assert path == "./coverage.gpkg"  # relative: the folder moves as a whole
        assert (folder / path).is_file()
        assert table in fields
        assert layer.findtext("provider") == "ogr"
        renderer = layer.find("renderer-v2")
        assert renderer is not None
        used = {e.get("attr") for e in layer.iter("renderer-v2") if e.get("attr")}
        used |= {e.get("fieldName") for e in layer.iter("text-style")}
        assert used <= fields[table], (table, used)
        if subset:  # a filter the GeoPackage answers, keeping some features and not all
            kept = pyogrio.read_dataframe(folder / path, layer=table, where=subset)
            every = pyogrio.read_info(folder / path, layer=table)["features"]
            assert 0 < len(kept) < every, (table, subset)
    assert str(folder) not in ET.tostring(root, encoding="unicode")


def test_one_circle_shown_the_others_hidden_each_in_its_colour(project, sited):
    folder, case = project
    root = _qgs(folder)
    groups = _groups(root)
    measured = list(sited.circles_measured)
    assert len(measured) == 2
    labels = {
        c.name: c.label_zh if case["lang"] == "zh" else c.label_en for c in sited.policy.circles
    }
    circle_groups = {}
    for name in measured:
        (title,) = [t for t in groups if t.startswith(labels[name])]
        circle_groups[name] = groups[title]
    assert circle_groups[measured[0]][0] is True
    assert all(circle_groups[name][0] is False for name in measured[1:])
    colours = {}
    for name, (_, nodes) in circle_groups.items():
        assert {n.get("id") for n in nodes} == {
            f"{t}_{name}" for t in ("facilities", "circles", "uncovered", "communities")
        }
        assert all(labels[name] in n.get("name", "") for n in nodes)
        layer = next(m for m in root.iter("maplayer") if m.findtext("id") == f"circles_{name}")
        category = next(c for c in layer.iter("category") if c.get("value") == name)
        symbol = next(s for s in layer.iter("symbol") if s.get("name") == category.get("symbol"))
        colours[name] = next(
            p.get("v") for p in symbol.iter("prop") if p.get("k") == "outline_color"
        )
        communities = next(
            m for m in root.iter("maplayer") if m.findtext("id") == f"communities_{name}"
        )
        status = communities.find("renderer-v2").get("attr")
        safe = cc.outputs.shapefile_names([f"{name}_status"])[f"{name}_status"]
        assert status == (safe if case["shapefile_safe"] else f"{name}_status")
    assert len(set(colours.values())) == len(measured)
    siting = [v for t, v in groups.items() if t in ("选址", "siting")]
    assert len(siting) == 1 and siting[0][0]
    shown = {n.get("id"): n.get("checked") == "Qt::Checked" for n in siting[0][1]}
    assert shown == {"proposed_sites": True, "proposed_circles": True, "candidates": False}


def test_names_are_in_the_runs_language(project):
    folder, case = project
    root = _qgs(folder)
    names = [n.get("name", "") for n in root.iter("layer-tree-layer")]
    names += list(_groups(root))
    names += [m.findtext("layername", "") for m in root.iter("maplayer")]
    chinese = [any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names]
    if case["lang"] == "zh":
        assert all(chinese), names
    else:
        assert not any(chinese), names
        assert any(name.startswith("communities") for name in names)


def test_the_project_crs_is_the_geopackages_and_the_view_holds_the_communities(project):
    folder, case = project
    root = _qgs(folder)
    info = pyogrio.read_info(folder / "coverage.gpkg", layer="communities", force_total_bounds=True)
    layer_crs = pyproj.CRS.from_user_input(info["crs"])
    wanted = pyproj.CRS.from_user_input(case["crs"] or "EPSG:4326")
    assert layer_crs.equals(wanted, ignore_axis_order=True)
    for srs in root.iter("spatialrefsys"):
        assert pyproj.CRS.from_wkt(srs.findtext("wkt", "")).equals(wanted, ignore_axis_order=True)
        assert srs.findtext("geographicflag") == ("true" if wanted.is_geographic else "false")
    code = wanted.to_epsg()
    assert root.findtext("projectCrs/spatialrefsys/authid") == (f"EPSG:{code}" if code else "")
    extent = root.find("mapcanvas/extent")
    xmin, ymin, xmax, ymax = (float(extent.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
    cx0, cy0, cx1, cy1 = info["total_bounds"]
    assert xmin < cx0 < cx1 < xmax and ymin < cy0 < cy1 < ymax
    assert (xmax - xmin) < 1.2 * (cx1 - cx0) + 1.2 * (cy1 - cy0)  # the district, not the world
    units = root.findtext("mapcanvas/units")
    assert units == ("degrees" if wanted.is_geographic else "meters")


def test_the_command_line_writes_the_project_beside_the_geopackage(tmp_path):
    out = tmp_path / "out"
    args = ["demo", "--out", str(out), "--no-progress", "--lang", "en"]
    assert cli.main([*args, "--crs", "EPSG:4490", "--shapefile-safe"]) == 0
    record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    assert {"coverage.gpkg", "coverage.qgz"} <= set(record["files"])
    root = _qgs(out)
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:4490"
    names = [m.findtext("layername") for m in root.iter("maplayer")]
    assert "communities by coverage (Elderly-care circle)" in names
    assert "field_names" in {name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")}


def test_a_project_needs_a_circle_and_a_language(demo_analysis, tmp_path):
    with pytest.raises(ValueError, match="language"):
        qgis_project.write_project(
            demo_analysis, tmp_path / "a.gpkg", tmp_path / "a.qgz", lang="fr"
        )
    status = [f"{name}_status" for name in demo_analysis.circles_measured]
    unmeasured = dataclasses.replace(
        demo_analysis, communities=demo_analysis.communities.drop(columns=status)
    )
    with pytest.raises(ValueError, match="no circles measured"):
        qgis_project.write_project(unmeasured, tmp_path / "a.gpkg", tmp_path / "a.qgz")


# --- QGIS itself, where PyQGIS is installed --------------------------------------------------


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
    from qgis.core import QgsApplication, QgsProject
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    ok = project.read(sys.argv[1])
    root = project.layerTreeRoot()
    out = {"read": ok, "crs": project.crs().authid(), "layers": {}}
    for layer_id, layer in project.mapLayers().items():
        renderer = layer.renderer()
        out["layers"][layer_id] = {
            "valid": layer.isValid(),
            "count": layer.featureCount(),
            "visible": root.findLayer(layer_id).isVisible(),
            "type": renderer.type() if renderer else "",
            "attr": renderer.classAttribute() if renderer.type() == "categorizedSymbol" else "",
            "source": layer.source(),
        }
    print(json.dumps(out), flush=True)
    del layer, renderer, root
    project.clear()
    app.exitQgis()
    """
)


@pytest.mark.skipif(_qgis_python() is None, reason="PyQGIS not installed")
def test_qgis_opens_the_project(project, tmp_path):
    folder, _ = project
    moved = tmp_path / "moved"  # the folder copied elsewhere: the relative path follows it
    shutil.copytree(folder, moved)
    script = tmp_path / "check.py"
    script.write_text(QGIS_SCRIPT, encoding="utf-8")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    result = subprocess.run(
        [str(_qgis_python()), str(script), str(moved / "coverage.qgz")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["read"]
    root = _qgs(folder)
    srs = root.find("projectCrs/spatialrefsys")
    wanted = pyproj.CRS.from_wkt(srs.findtext("wkt"))
    assert pyproj.CRS.from_user_input(found["crs"]).equals(wanted, ignore_axis_order=True)
    layers = found["layers"]
    assert len(layers) == len(root.findall("projectlayers/maplayer"))
    for layer_id, layer in layers.items():
        assert layer["valid"], layer_id
        assert layer["count"] > 0, layer_id
        assert str(moved) in layer["source"], layer_id
    assert layers["communities_eldercare"]["visible"]
    assert not layers["communities_medical"]["visible"]
    assert not layers["candidates"]["visible"]
    assert layers["communities_medical"]["attr"].startswith("med")


@pytest.fixture(scope="module")
def cared(demo_analysis):
    """The demo with a care map of invented counts, one withheld."""
    comm = demo_analysis.communities
    people = pd.array([pd.NA, *range(5, 5 * len(comm), 5)], dtype="Int64")
    table = pd.DataFrame({"id": comm["id"].to_numpy(), "people": people})
    totals = pd.DataFrame(columns=["field", "value", "flag", "basis"])
    care = CareMap(table=table, totals=totals, exact=False, min_count=5)
    return dataclasses.replace(demo_analysis, care=care)


@pytest.mark.parametrize("case", ["wgs84-zh", "cgcs2000-en-safe"])
def test_the_care_map_is_styled_and_in_the_project_hidden(cared, tmp_path, case):
    options = CASES[case]
    gpkg = tmp_path / ANALYSIS_FILES["geopackage"]
    export.write_geopackage(
        cared,
        gpkg,
        crs=options["crs"],
        lang=options["lang"],
        shapefile_safe=options["shapefile_safe"],
    )
    with contextlib.closing(sqlite3.connect(gpkg)) as con:
        rows = con.execute(
            "SELECT styleQML FROM layer_styles WHERE f_table_name = 'care_map' AND useAsDefault"
        ).fetchall()
    assert len(rows) == 1
    renderer = ET.fromstring(rows[0][0]).find("renderer-v2")
    assert renderer is not None
    assert renderer.get("type") == "graduatedSymbol"
    field = renderer.get("attr", "").split('"')[1]
    assert field in pyogrio.read_info(gpkg, layer="care_map")["fields"]
    assert len(list(renderer.iter("range"))) >= 3  # shades and the grey withheld class

    qgis_project.write_project(
        cared, gpkg, tmp_path / ANALYSIS_FILES["qgis_project"], lang=options["lang"]
    )
    root = _qgs(tmp_path)
    care_layers = [
        layer
        for layer in root.findall("projectlayers/maplayer")
        if _source(layer.findtext("datasource", ""))[1] == "care_map"
    ]
    assert len(care_layers) == 1
    nodes = [n for n in root.iter("layer-tree-layer") if n.get("id") == "care_map"]
    assert [n.get("checked") for n in nodes] == ["Qt::Unchecked"]  # off, as on the HTML map
    assert care_layers[0].find("renderer-v2").get("type") == "graduatedSymbol"
